//! Any bytes through the manifest parser: no panic, bounded memory (alias bombs, nesting).
#![no_main]

use haechi_manifest::{Limits, parse_documents};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let limits = Limits {
            max_depth: 64,
            max_nodes: 100_000,
        };
        for doc in parse_documents(text, &limits).into_iter().flatten() {
            let _ = doc.to_json();
        }
    }
});
