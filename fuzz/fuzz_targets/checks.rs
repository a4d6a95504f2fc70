//! Any document through every check and the fixer: no panic, and every fix applies.
#![no_main]

use haechi_manifest::{Limits, Node, parse_documents};
use haechi_policy::{Config, Engine, Object, ObjectSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits {
        max_depth: 64,
        max_nodes: 100_000,
        ..Limits::default()
    };
    let nodes: Vec<Node> = parse_documents(text, &limits).into_iter().flatten().collect();
    let engine = Engine::new(Config::default());
    let set = ObjectSet::new(nodes.iter().filter_map(Object::new).collect());
    for finding in engine.evaluate(&set) {
        if let Some(fix) = finding.violation.fix {
            let mut json = set.objects[finding.object].root.to_json();
            json_patch_apply(&mut json, &fix);
        }
    }
    for node in &nodes {
        if Object::new(node).is_some() {
            let _ = engine.fix(node);
        }
    }
});

fn json_patch_apply(json: &mut serde_json::Value, fix: &[json_patch::PatchOperation]) {
    if let Err(e) = json_patch::patch(json, fix) {
        panic!("a fix does not apply to the object it was made for: {e}");
    }
}
