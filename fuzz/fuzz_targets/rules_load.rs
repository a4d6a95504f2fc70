//! Any text as a rules file and as a condition: no panic, and every rule that compiles can be
//! evaluated and rendered against an empty and a typical event.
#![no_main]

use haechi_rules::parse::parse_condition;
use haechi_rules::{Options, Ruleset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_condition(text);
    let Ok(set) = Ruleset::from_text("fuzz.yaml", text, Options::default()) else { return };
    let empty = serde_json::Map::new();
    let typical = serde_json::json!({"evt.type": "openat", "proc.name": "bash", "fd.name": "/etc/shadow",
        "evt.rawres": 3, "fd.cip": "10.0.0.1", "proc.aname[1]": "sh"});
    let serde_json::Value::Object(typical) = typical else { return };
    for ev in [&empty, &typical] {
        let mut out = Vec::new();
        set.matches(ev, &mut out);
        for i in 0..set.rules().len() {
            let _ = set.alert(i, ev, "fuzz");
        }
    }
});
