//! Kernel event records: the decoder must turn any byte string into an event or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haechi_sensor::decode(data);
});
