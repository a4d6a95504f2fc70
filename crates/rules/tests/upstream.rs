//! The upstream Falco rulesets in shared/compat/falco: the stable file compiles completely, the
//! incubating and sandbox files load with whatever is unsupported reported by name.

use std::path::PathBuf;

use haechi_rules::{Options, Ruleset};

fn compat(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat/falco")
        .join(name)
}

fn load(files: &[&str]) -> Ruleset {
    let paths: Vec<PathBuf> = files.iter().map(|f| compat(f)).collect();
    match Ruleset::from_files(&paths, Options::default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn stable_rules_compile_completely() {
    let set = load(&["falco_rules.yaml"]);
    let report = set.report();
    println!("{report}");
    assert_eq!(report.rules, 25);
    assert!(report.unsupported.is_empty(), "{report}");
    assert_eq!(report.compiled, 25);
}

#[test]
fn incubating_and_sandbox_load() {
    for file in ["falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let set = load(&["falco_rules.yaml", file]);
        println!("{file}: {}", set.report());
    }
}
