//! Fixture tests for every check: `tests/fixtures/<check-id>/fail/*.yaml` must raise the check at
//! least once, `pass/*.yaml` never. A fixture file is one object set (several documents are
//! checked together, so set-level checks such as NetworkPolicy coverage can be tested). For every
//! fixture, applying the engine's fixes must leave no finding that has a fix.

use std::fs;
use std::path::{Path, PathBuf};

use haechi_manifest::{Limits, Node, parse_documents};
use haechi_policy::{Config, Engine, Object, ObjectSet, checks};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> Vec<Node> {
    let text = fs::read_to_string(path).unwrap();
    parse_documents(&text, &Limits::default())
        .into_iter()
        .map(|d| d.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|n| !n.is_null())
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Check IDs raised (not ignored) for the objects of one fixture file.
fn raised(engine: &Engine, nodes: &[Node]) -> Vec<(String, String)> {
    let set = ObjectSet::new(
        nodes
            .iter()
            .map(|n| Object::new(n).expect("fixture is an object"))
            .collect(),
    );
    engine
        .evaluate(&set)
        .into_iter()
        .filter(|f| f.ignored.is_none())
        .map(|f| (f.check.id.to_string(), f.violation.path.to_string()))
        .collect()
}

/// The defaults, with the node's seccomp directory of the `seccomp-localhost-missing`
/// fixtures (checks that read the disk need one).
fn config() -> Config {
    let mut config = Config::default();
    config.options.seccomp_dir =
        Some(fixtures_dir().join("seccomp-localhost-missing/node-seccomp"));
    config
}

#[test]
fn fixtures_fail_and_pass_their_check() {
    let engine = Engine::new(config());
    let mut failures = Vec::new();
    for dir in files(&fixtures_dir()) {
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            checks::find(&id).is_some(),
            "fixture directory for unknown check {id}"
        );
        for file in files(&dir.join("fail")) {
            let found = raised(&engine, &read(&file));
            if !found.iter().any(|(c, _)| *c == id) {
                failures.push(format!("{}: expected {id}, got {found:?}", file.display()));
            }
        }
        for file in files(&dir.join("pass")) {
            let found = raised(&engine, &read(&file));
            if let Some((_, path)) = found.iter().find(|(c, _)| *c == id) {
                failures.push(format!("{}: unexpected {id} at {path}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_check_has_failing_and_passing_fixtures() {
    let missing: Vec<&str> = checks::all()
        .map(|c| c.meta.id)
        .filter(|id| {
            let dir = fixtures_dir().join(id);
            files(&dir.join("fail")).is_empty() || files(&dir.join("pass")).is_empty()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "checks without fail/ and pass/ fixtures: {missing:?}"
    );
}

#[test]
fn fixes_leave_no_fixable_finding() {
    let engine = Engine::new(config());
    let mut failures = Vec::new();
    for dir in files(&fixtures_dir()) {
        for file in files(&dir.join("fail"))
            .into_iter()
            .chain(files(&dir.join("pass")))
        {
            for node in read(&file) {
                let fixed = engine.fix(&node);
                let again = Node::from_json(&fixed.object);
                let set = ObjectSet::new(vec![Object::new(&again).unwrap()]);
                for f in engine.evaluate(&set) {
                    if f.ignored.is_none() && f.violation.fix.is_some() {
                        failures.push(format!(
                            "{}: {} still fixable at {} after fixes {:?}",
                            file.display(),
                            f.check.id,
                            f.violation.path,
                            fixed.applied
                        ));
                    }
                }
                // The concatenated patch applies to the original in one go.
                let mut original = node.to_json();
                json_patch::patch(&mut original, &fixed.patch).unwrap();
                assert_eq!(original, fixed.object, "{}", file.display());
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Kubernetes rejects `allowPrivilegeEscalation: false` next to `privileged: true` or an added
/// SYS_ADMIN: the finding stands, without a fix that would make the object invalid.
#[test]
fn privilege_escalation_offers_no_fix_the_api_server_would_reject() {
    let engine = Engine::new(Config::default());
    let path = fixtures_dir().join("pss-privilege-escalation/fail/privileged-and-sys-admin.yaml");
    let nodes = read(&path);
    let set = ObjectSet::new(vec![Object::new(&nodes[0]).unwrap()]);
    let findings: Vec<_> = engine
        .evaluate(&set)
        .into_iter()
        .filter(|f| f.check.id == "pss-privilege-escalation")
        .collect();
    assert_eq!(findings.len(), 2);
    for finding in &findings {
        assert!(finding.violation.fix.is_none());
    }
    assert!(findings[0].violation.message.ends_with(
        "(no automatic fix while it is privileged: Kubernetes rejects the combination)"
    ));
    assert!(
        findings[1]
            .violation
            .message
            .contains("while it adds SYS_ADMIN")
    );
    // Once the privileged fix has been applied, the escalation fix follows.
    let fixed = engine.fix(&nodes[0]);
    assert!(fixed.applied.contains(&"pss-privileged"));
    assert_eq!(
        fixed.object["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
}
