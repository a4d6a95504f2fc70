//! Conformance with Pod Security Admission: every fixture of kubernetes/pod-security-admission
//! (copied unchanged into `tests/pod-security-admission/testdata/<level>/<version>/{pass,fail}/`,
//! see SOURCE.md there) must be accepted or rejected by haechi's PSS checks exactly as PSA does,
//! for every level and version.

use std::fs;
use std::path::{Path, PathBuf};

use haechi_manifest::{Limits, parse_documents};
use haechi_policy::checks::pss;
use haechi_policy::{Object, PssLevel, PssVersion};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pod-security-admission/testdata")
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

#[test]
fn every_fixture_agrees_with_pod_security_admission() {
    let root = testdata();
    assert!(root.is_dir(), "PSA fixtures missing at {}", root.display());
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (level_name, level) in [
        ("baseline", PssLevel::Baseline),
        ("restricted", PssLevel::Restricted),
    ] {
        for version_dir in sorted(&root.join(level_name)) {
            let version_name = version_dir
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let version: PssVersion = version_name.parse().unwrap();
            for (expect_fail, sub) in [(true, "fail"), (false, "pass")] {
                for file in sorted(&version_dir.join(sub)) {
                    let text = fs::read_to_string(&file).unwrap();
                    for doc in parse_documents(&text, &Limits::default()) {
                        let node = doc.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                        if node.is_null() {
                            continue;
                        }
                        let object = Object::new(&node).expect("fixture is an object");
                        let found = pss::evaluate(&object, level, version);
                        checked += 1;
                        if found.is_empty() == expect_fail {
                            let got: Vec<String> = found
                                .iter()
                                .map(|(c, v)| format!("{} at {}", c.meta.id, v.path))
                                .collect();
                            mismatches.push(format!(
                                "{level_name}/{version_name}/{sub}/{}: got {got:?}",
                                file.file_name().unwrap().to_str().unwrap()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 4000, "only {checked} fixtures found");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} fixtures disagree with PSA:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
