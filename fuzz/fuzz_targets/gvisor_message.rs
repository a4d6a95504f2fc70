//! gVisor remote-sink messages: the framing and the protobuf points, one datagram as a sandbox
//! sends it, must become an event, a skip or an error; the first input byte chooses whether the
//! datagram is read as a handshake.
#![no_main]

use haechi_gvisor::{Decoder, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, datagram)) = data.split_first() else {
        return;
    };
    if first & 1 == 0 {
        let _ = wire::read_handshake(datagram);
        return;
    }
    if let Ok((header, payload)) = wire::split(datagram) {
        let _ = Decoder::default().decode(header.message_type, payload);
    }
});
