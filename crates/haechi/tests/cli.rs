//! End-to-end tests of `haechi scan`: the real binary on real files.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Runs haechi on input that made it hang or exhaust memory before: the test fails (instead of
/// hanging the suite) when it does not finish. The assertions are on counts, not on time.
fn haechi_bounded(args: &[&str], dir: &Path, stdin: Stdio) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .current_dir(dir)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs haechi");
    wait_or_kill(child, args)
}

fn wait_or_kill(mut child: Child, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(300);
    // Drain the pipes on threads so a large report cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("haechi {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

fn problems_of(report: &Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
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
    assert_eq!(
        out.status.code(),
        Some(2),
        "what was not checked fails the scan"
    );
    let allowed = haechi(
        &["scan", "deploy", "-f", "json", "--allow-problems"],
        dir.path(),
    );
    assert_eq!(allowed.status.code(), Some(0));
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
fn oversized_files_and_standard_input_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = haechi(
        &[
            "scan",
            "pod.yaml",
            "-f",
            "json",
            "--max-file-size",
            "10",
            "--fail-on",
            "high",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], 0);
    assert_eq!(report["summary"]["problems"], 1);
    assert_eq!(
        problems_of(&report),
        [("pod.yaml".into(), "too-large".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
    let out = haechi_stdin(
        &["scan", "-", "-f", "json", "--max-file-size", "10"],
        dir.path(),
        PRIVILEGED_POD,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(problems_of(&json(&out)), [("-".into(), "too-large".into())]);
}

#[test]
fn a_syntax_error_fails_the_gate_unless_problems_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.yaml"), "a: [1, 2\n").unwrap();
    let out = haechi(&["scan", "bad.yaml", "--fail-on", "low"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 problems"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:1:4: not valid YAML/JSON"),
        "{stderr}"
    );
    let out = haechi(
        &["scan", "bad.yaml", "-f", "json", "--allow-problems"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["summary"]["problems"], 1);
    assert_eq!(report["problems"][0]["reason"], "syntax");
    assert_eq!(report["problems"][0]["line"], 1);
    // Findings at --fail-on with --allow-problems still exit 1.
    fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = haechi(
        &[
            "scan",
            "bad.yaml",
            "pod.yaml",
            "--fail-on",
            "high",
            "--allow-problems",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    // Without it, problems decide: the verdict is incomplete.
    let out = haechi(
        &["scan", "bad.yaml", "pod.yaml", "--fail-on", "high"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn symlink_cycles_and_fan_outs_read_each_file_once() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::write(tree.join("sub/pod.yaml"), PRIVILEGED_POD).unwrap();
    // Each link makes every directory reachable again: 2^depth paths without cycle detection.
    symlink(".", tree.join("a")).unwrap();
    symlink(".", tree.join("b")).unwrap();
    symlink("..", tree.join("sub/up")).unwrap();
    symlink("sub/pod.yaml", tree.join("again.yaml")).unwrap();
    let out = haechi_bounded(&["scan", "tree", "-f", "json"], dir.path(), Stdio::null());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(report["summary"]["objects"], 1);
    assert_eq!(report["summary"]["problems"], 0);
    // The same file named twice on the command line is read once too.
    let out = haechi(
        &["scan", "tree/sub/pod.yaml", "tree/again.yaml", "-f", "json"],
        dir.path(),
    );
    assert_eq!(json(&out)["summary"]["objects"], 1);
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_problems_not_hangs() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let made = Command::new("mkfifo")
        .arg(tree.join("pipe.yaml"))
        .status()
        .expect("mkfifo (coreutils)");
    assert!(made.success());
    symlink("/dev/zero", tree.join("zero.yaml")).unwrap();
    let out = haechi_bounded(
        &["scan", "tree", "-f", "json", "--fail-on", "critical"],
        dir.path(),
        Stdio::null(),
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(
        report["summary"]["objects"], 1,
        "the regular file is still checked"
    );
    assert_eq!(
        problems_of(&report),
        [
            ("tree/pipe.yaml".into(), "not-regular".into()),
            ("tree/zero.yaml".into(), "not-regular".into())
        ]
    );
    // Named on the command line, the same.
    let out = haechi_bounded(
        &["scan", "tree/pipe.yaml", "tree/zero.yaml", "-f", "json"],
        dir.path(),
        Stdio::null(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["summary"]["problems"], 2);
    // Standard input is read up to the limit at most: /dev/zero is binary at its first byte.
    let zero = fs::File::open("/dev/zero").unwrap();
    let out = haechi_bounded(&["scan", "-", "-f", "json"], dir.path(), Stdio::from(zero));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(problems_of(&json(&out)), [("-".into(), "binary".into())]);
}

/// A pod as `kubectl get pods -A -o json` lists it.
fn exported_pod(i: usize) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "creationTimestamp": "2026-10-01T12:00:00Z",
            "generateName": format!("web-{i}-7d9f8c6b5-"),
            "labels": {"app": format!("web-{}", i % 300), "pod-template-hash": "7d9f8c6b5"},
            "name": format!("web-{i}-7d9f8c6b5-x{:02}", i % 97),
            "namespace": format!("team-{}", i % 40),
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                                  "kind": "ReplicaSet", "name": format!("web-{i}-7d9f8c6b5"), "uid": format!("5f1c2d3e-{i:04x}")}],
            "resourceVersion": format!("{}", 1_000_000 + i), "uid": format!("0a1b2c3d-{i:04x}"),
        },
        "spec": {
            "containers": [{
                "name": "app", "image": format!("registry.example/team/web:1.{}.3", i % 50),
                "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "LOG_LEVEL", "value": "info"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "securityContext": {"privileged": true},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "token", "readOnly": true}],
            }],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": true, "nodeName": format!("node-{}", i % 200),
            "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
            "serviceAccount": "default", "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}],
        },
        "status": {
            "containerStatuses": [{"containerID": format!("containerd://{i:064x}"), "image": "registry.example/team/web",
                                   "lastState": {}, "name": "app", "ready": true, "restartCount": 0, "started": true,
                                   "state": {"running": {"startedAt": "2026-10-01T12:00:04Z"}}}],
            "hostIP": "10.0.0.1", "phase": "Running", "podIP": "10.244.0.1", "qosClass": "Burstable",
        },
    })
}

/// Values in a JSON tree, as the parser counted them before (keys not counted).
fn values(json: &Value) -> usize {
    1 + match json {
        Value::Array(items) => items.iter().map(values).sum(),
        Value::Object(map) => map.values().map(values).sum(),
        _ => 0,
    }
}

#[test]
fn a_cluster_export_is_checked_pod_by_pod() {
    let dir = tempfile::tempdir().unwrap();
    let pods = 12_000;
    // kubectl's key order: `items` before `kind`, so a list is known as one only at its end.
    let list = serde_json::json!({
        "apiVersion": "v1",
        "items": (0..pods).map(exported_pod).collect::<Vec<_>>(),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    });
    assert!(
        values(&list) > 1_000_000,
        "more values than one document could hold before"
    );
    fs::write(
        dir.path().join("pods.json"),
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    drop(list);
    let out = haechi_bounded(
        &["scan", "pods.json", "-f", "json", "--fail-on", "high"],
        dir.path(),
        Stdio::null(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], pods);
    assert_eq!(report["summary"]["problems"], 0);
    assert_eq!(
        report["summary"]["findings"]["critical"], pods,
        "every pod is privileged"
    );
    let first = &report["findings"][0];
    assert_eq!(first["file"], "pods.json");
    assert_eq!(first["object"]["name"], "web-0-7d9f8c6b5-x00");
}

#[test]
fn deep_managed_fields_are_read_and_a_limit_hit_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    // managedFields mirror the object with `f:` keys, and nest deep.
    let mut fields = serde_json::json!({});
    for level in (0..130).rev() {
        fields = serde_json::json!({ format!("f:level{level}"): fields });
    }
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "deep", "namespace": "shop",
                     "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields}]},
        "spec": {"selector": {"matchLabels": {"app": "deep"}},
                 "template": {"metadata": {"labels": {"app": "deep"}},
                              "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}}},
    });
    fs::write(
        dir.path().join("deep.json"),
        serde_json::to_vec_pretty(&deployment).unwrap(),
    )
    .unwrap();
    let out = haechi(
        &["scan", "deep.json", "-f", "json", "--fail-on", "high"],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], 1);
    assert!(checks_of(&report).contains(&"pss-privileged".to_string()));
    // Past the documented limit (1000 levels), the document is a problem, never dropped quietly.
    let deeper = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{x: {}{}}}\n",
        "[".repeat(1001),
        "]".repeat(1001)
    );
    fs::write(dir.path().join("deeper.yaml"), deeper).unwrap();
    let out = haechi(&["scan", "deeper.yaml", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(
        problems_of(&report),
        [("deeper.yaml".into(), "limit".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1000 levels")
    );
    // An alias bomb: a problem too, with bounded work.
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        bomb.push_str(&format!(
            "  a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    fs::write(dir.path().join("bomb.yaml"), bomb).unwrap();
    let out = haechi_bounded(
        &["scan", "bomb.yaml", "-f", "json"],
        dir.path(),
        Stdio::null(),
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(problems_of(&report), [("bomb.yaml".into(), "limit".into())]);
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("alias")
    );
}

#[test]
fn two_kinds_are_one_verdict_for_scan_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    // A ConfigMap to a reader of the first `kind:`, a privileged Pod to a reader of the last.
    let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext:\n      privileged: true\nkind: Pod\n";
    fs::write(dir.path().join("two.yaml"), doc).unwrap();
    let out = haechi(
        &["scan", "two.yaml", "-f", "json", "--fail-on", "high"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["summary"]["objects"], 0);
    assert_eq!(report["summary"]["skippedKinds"], serde_json::json!({}));
    let problem = &report["problems"][0];
    assert_eq!(problem["reason"], "duplicate-key");
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(11), Some(1))
    );
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("\"kind\" (first at line 2")
    );
    let fixed = haechi(&["scan", "two.yaml", "--fix"], dir.path());
    assert_eq!(fixed.status.code(), Some(2));
    assert!(
        fixed.stdout.is_empty(),
        "nothing written for a document that does not read"
    );
    assert!(String::from_utf8_lossy(&fixed.stderr).contains("two.yaml:11:1: duplicate key"));
}

#[test]
fn credentials_in_env_config_maps_and_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let key = "-----BEGIN RSA PRIVATE KEY-----\n    MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n    -----END RSA PRIVATE KEY-----";
    let manifests = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: keys, namespace: ci}}\ndata:\n  deploy_key: |\n    {key}\n  LOG_LEVEL: info\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: up, namespace: ci}}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    env:\n    - name: GCP_JSON\n      value: '{{\"type\": \"service_account\", \"private_key\": \"x\"}}'\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: aws, namespace: ci}}\nstringData:\n  credentials: |\n    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    );
    fs::write(dir.path().join("app.yaml"), manifests).unwrap();
    let out = haechi(&["scan", "app.yaml", "-f", "json"], dir.path());
    let report = json(&out);
    assert_eq!(
        report["summary"]["objects"], 3,
        "ConfigMaps and Secrets are read now"
    );
    let secrets: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("secret-"))
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    assert_eq!(secrets[0].0, "secret-in-config-map");
    assert!(secrets[0].1.contains("Private key") && secrets[0].1.contains("deploy_key"));
    assert_eq!(secrets[1].0, "secret-in-env");
    assert!(secrets[1].1.contains("Google Cloud service account key"));
    assert_eq!(secrets[2].0, "secret-manifest-credential");
    assert!(secrets[2].1.contains("AWS secret access key"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("MIIEow") && !text.contains("wJalrXUtnFEMI"),
        "values are never repeated"
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
    assert_eq!(report["summary"]["objects"], 2, "the pod and the ConfigMap");

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
