//! End-to-end tests of `haechi scan`: the real binary on real files.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn haechi(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs haechi")
}

fn haechi_stdin(args: &[&str], dir: &Path, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs haechi");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn checks_of(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

const PRIVILEGED_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: team
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: true
";

#[test]
fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = haechi(
        &["scan", "pod.yaml", "--fail-on", "critical", "-f", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = haechi(&["scan", "pod.yaml", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let out = haechi(&["scan", "missing.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml"));
    let out = haechi(&["scan", "--fail-on", "severe", "pod.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn findings_carry_file_line_column_and_path() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let report = json(&haechi(&["scan", "pod.yaml", "-f", "json"], dir.path()));
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "pss-privileged")
        .expect("privileged finding");
    assert_eq!(finding["file"], "pod.yaml");
    assert_eq!(finding["line"], 11);
    assert_eq!(finding["column"], 7);
    assert_eq!(
        finding["path"],
        "spec.containers[0].securityContext.privileged"
    );
    assert_eq!(finding["pss"], "baseline");
    assert_eq!(finding["object"]["kind"], "Pod");
    assert_eq!(finding["object"]["namespace"], "team");
    assert_eq!(finding["fix"][0]["op"], "replace");
}

#[test]
fn stdin_multi_document_lists_json_and_crds() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "{PRIVILEGED_POD}---\napiVersion: v1\nkind: List\nitems:\n- {}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\n",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"}, "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}}"#
    );
    let out = haechi_stdin(&["scan", "-", "-f", "json"], dir.path(), &input);
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], 2);
    assert_eq!(report["summary"]["skippedKinds"]["Widget"], 1);
    let names: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"p") && names.contains(&"q"), "{names:?}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["file"] == "-")
    );
}

#[test]
fn directories_are_walked_and_bad_files_reported_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("deploy/nested");
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("pod.yml"), PRIVILEGED_POD).unwrap();
    fs::write(
        dir.path().join("deploy/broken.yaml"),
        format!("a: [1, 2\n---\n{PRIVILEGED_POD}"),
    )
    .unwrap();
    fs::write(dir.path().join("deploy/binary.json"), b"\x00\x01\x02").unwrap();
    fs::write(dir.path().join("deploy/notes.txt"), PRIVILEGED_POD).unwrap();
    let out = haechi(&["scan", "deploy", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(
        report["summary"]["objects"], 2,
        "both pods, the .txt ignored"
    );
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["file"] == "deploy/broken.yaml" && p["line"] == 1)
    );
    assert!(
        problems.iter().any(|p| p["file"] == "deploy/binary.json"
            && p["message"].as_str().unwrap().contains("binary"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deploy/broken.yaml:1:4:"), "{stderr}");
}

#[test]
fn oversized_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = haechi(
        &["scan", "pod.yaml", "-f", "json", "--max-file-size", "10"],
        dir.path(),
    );
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], 0);
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
}

#[test]
fn config_exemptions_and_ignore_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let annotated = PRIVILEGED_POD.replace(
        "  namespace: team\n",
        "  namespace: team\n  annotations:\n    haechi.dev/ignore: \"pss-privileged: node agent needs it\"\n",
    );
    fs::create_dir(dir.path().join("apps")).unwrap();
    fs::write(dir.path().join("apps/pod.yaml"), annotated).unwrap();
    let report = json(&haechi(&["scan", "apps", "-f", "json"], dir.path()));
    assert!(!checks_of(&report).contains(&"pss-privileged".to_string()));
    assert!(report["summary"]["ignored"].as_u64().unwrap() >= 1);
    let report = json(&haechi(
        &["scan", "apps", "-f", "json", "--show-ignored"],
        dir.path(),
    ));
    let ignored = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "pss-privileged")
        .unwrap();
    assert_eq!(ignored["ignored"], "node agent needs it");

    // A config file found upward from the scanned path exempts by namespace.
    fs::write(
        dir.path().join("apps/other.yaml"),
        PRIVILEGED_POD.replace("name: p", "name: o"),
    )
    .unwrap();
    fs::write(
        dir.path().join(".haechi.yaml"),
        "exemptions:\n- checks: [pss-privileged]\n  namespace: team\n  name: o\n  reason: accepted until Q3\n",
    )
    .unwrap();
    let report = json(&haechi(&["scan", "apps", "-f", "json"], dir.path()));
    assert!(!checks_of(&report).contains(&"pss-privileged".to_string()));

    // A config naming an unknown check is a usage error that names the field.
    fs::write(
        dir.path().join("bad.yaml"),
        "checks:\n  disable: [no-such-check]\n",
    )
    .unwrap();
    let out = haechi(&["scan", "apps", "--config", "bad.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("checks.disable[0]") && stderr.contains("no-such-check"),
        "{stderr}"
    );
}

#[test]
fn fixed_output_has_no_fixable_finding() {
    let dir = tempfile::tempdir().unwrap();
    let config_map =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";
    fs::write(
        dir.path().join("pod.yaml"),
        format!("{PRIVILEGED_POD}---\n{config_map}"),
    )
    .unwrap();
    let fixed = haechi(&["scan", "--fix", "pod.yaml"], dir.path());
    assert_eq!(fixed.status.code(), Some(0));
    let text = String::from_utf8_lossy(&fixed.stdout);
    assert!(
        text.contains("kind: ConfigMap") && text.contains("a: b"),
        "unchecked kinds are written back: {text}"
    );
    let out = haechi_stdin(
        &["scan", "-", "-f", "json"],
        dir.path(),
        &String::from_utf8_lossy(&fixed.stdout),
    );
    let report = json(&out);
    let fixable: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["fix"].is_null())
        .collect();
    assert!(fixable.is_empty(), "{fixable:?}");
    assert_eq!(report["summary"]["objects"], 1);

    let out = haechi(
        &["scan", "--fix", "--fix-dir", "fixed", "pod.yaml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        fs::read_to_string(dir.path().join("fixed/pod.yaml"))
            .unwrap()
            .contains("privileged: false")
    );
}

#[test]
fn every_format_renders() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    for format in ["table", "json", "sarif", "junit"] {
        let out = haechi(
            &["scan", "pod.yaml", "-f", format, "-o", "report.out"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = fs::read_to_string(dir.path().join("report.out")).unwrap();
        assert!(text.contains("pss-privileged"), "{format}: {text}");
    }
}
