//! DNS answers as containers receive them: untrusted, possibly truncated by the kernel's copy.
//! Reading one must give a resolution or nothing, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haechi_events::dns::resolution(data);
});
