//! Golden tests: `haechi scan tests/golden/input` in every format, compared byte for byte with
//! `tests/golden/expected.<format>`. After an intended change, regenerate them with
//! `HAECHI_BLESS=1 cargo test -p haechi --test golden` and review the diff.

use std::fs;
use std::path::Path;
use std::process::Command;

fn check(format: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args([
            "scan",
            "tests/golden/input",
            "--format",
            format,
            "--show-ignored",
            "--color",
            "never",
        ])
        .current_dir(root)
        .output()
        .expect("runs haechi");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let actual = String::from_utf8(out.stdout).expect("UTF-8 output");
    let expected_path = root.join(format!("tests/golden/expected.{format}"));
    if std::env::var_os("HAECHI_BLESS").is_some() {
        fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_default();
    if actual != expected {
        let first = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or(actual.lines().count().min(expected.lines().count()));
        panic!(
            "{format} output differs from {} at line {}:\n  actual:   {:?}\n  expected: {:?}\n(HAECHI_BLESS=1 regenerates)",
            expected_path.display(),
            first + 1,
            actual.lines().nth(first),
            expected.lines().nth(first)
        );
    }
}

#[test]
fn table() {
    check("table");
}

#[test]
fn json() {
    check("json");
}

#[test]
fn sarif() {
    check("sarif");
    // What GitHub code scanning requires beyond the schema: every result names a rule that the
    // driver lists, with a physical location whose region starts at line 1 or later.
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/expected.sarif"),
    )
    .unwrap();
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for rule in rules {
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(rule["properties"]["security-severity"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn junit() {
    check("junit");
}
