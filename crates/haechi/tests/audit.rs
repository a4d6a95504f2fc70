//! End-to-end tests of `haechi audit`: the real binary on kubeadm-shaped node trees (the
//! fixtures of crates/audit, given real modes and owners) and on a real etcd on loopback.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn haechi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .output()
        .expect("runs haechi")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            stdout(output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../audit/tests/fixtures/node")
        .join(name)
}

fn copy_tree(from: &Path, to: &Path, file_mode: u32) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target, file_mode);
        } else if entry.file_name() != "layout" {
            fs::copy(entry.path(), &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(file_mode)).unwrap();
            chown(&target, Some(0), Some(0)).unwrap();
        }
    }
}

/// The fixture with the modes and owners its `layout` file gives; `None` when not root.
fn node(name: &str, file_mode: u32) -> Option<tempfile::TempDir> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: setting file owners needs root (run the tests as root; CI does)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(name), dir.path(), file_mode);
    let layout = fs::read_to_string(fixture(name).join("layout")).unwrap();
    for line in layout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let path = dir.path().join(fields[0]);
        let (uid, gid) = fields[2].split_once(':').unwrap();
        fs::set_permissions(
            &path,
            fs::Permissions::from_mode(u32::from_str_radix(fields[1], 8).unwrap()),
        )
        .unwrap();
        chown(
            &path,
            Some(uid.parse().unwrap()),
            Some(gid.parse().unwrap()),
        )
        .unwrap();
    }
    Some(dir)
}

#[test]
fn node_json_and_fail_on_follow_scan() {
    let (Some(weak), Some(hardened)) = (node("weak", 0o644), node("hardened", 0o600)) else {
        return;
    };
    let weak = weak.path().to_str().unwrap();
    let output = haechi(&["audit", "node", "--root", weak, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = json(&output);
    assert_eq!(report["kind"], "node");
    assert_eq!(report["benchmark"], "CIS Kubernetes Benchmark v1.9");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 89);
    let authz = results.iter().find(|r| r["id"] == "1.2.6").unwrap();
    assert_eq!(authz["status"], "fail");
    assert_eq!(authz["severity"], "critical");
    assert_eq!(
        authz["evidence"][0]["location"],
        "/etc/kubernetes/manifests/kube-apiserver.yaml"
    );
    assert_eq!(authz["evidence"][0]["key"], "--authorization-mode");
    assert_eq!(authz["evidence"][0]["value"], "AlwaysAllow");
    assert!(authz["remediation"].as_str().unwrap().contains("Node,RBAC"));
    // 1.2.6 AlwaysAllow, 2.2 etcd client-cert-auth, 4.2.1 and 4.2.2 kubelet anonymous and AlwaysAllow.
    assert_eq!(report["summary"]["failures"]["critical"], 4);

    let output = haechi(&["audit", "node", "--root", weak, "--fail-on", "critical"]);
    assert_eq!(output.status.code(), Some(1));
    let table = stdout(&output);
    assert!(table.contains("[FAIL] CRITICAL 1.2.6 Ensure that the --authorization-mode argument is not set to AlwaysAllow"), "{table}");
    assert!(
        table.contains("/etc/kubernetes/manifests/kube-apiserver.yaml:"),
        "{table}"
    );

    let hardened = hardened.path().to_str().unwrap();
    let output = haechi(&["audit", "node", "--root", hardened, "--fail-on", "low"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("Checked 89 pass, 0 fail, 0 warn"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn node_sarif_and_junit() {
    let Some(weak) = node("weak", 0o644) else {
        return;
    };
    let weak = weak.path().to_str().unwrap();
    let sarif = json(&haechi(&["audit", "node", "--root", weak, "-f", "sarif"]));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 89);
    let results = run["results"].as_array().unwrap();
    let authz = results.iter().find(|r| r["ruleId"] == "1.2.6").unwrap();
    assert_eq!(authz["level"], "error");
    let location = &authz["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "etc/kubernetes/manifests/kube-apiserver.yaml"
    );
    assert!(location["region"]["startLine"].as_i64().unwrap() > 1);
    let index = authz["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "1.2.6");
    assert_eq!(rules[index]["properties"]["security-severity"], "9.5");
    // Warnings are notes; passes are not results.
    let warn = results.iter().find(|r| r["ruleId"] == "1.2.1").unwrap();
    assert_eq!(warn["level"], "note");
    assert!(results.iter().all(|r| r["ruleId"] != "1.2.4"));

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("audit.xml");
    let output = haechi(&[
        "audit",
        "node",
        "--root",
        weak,
        "-f",
        "junit",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let xml = fs::read_to_string(&file).unwrap();
    assert!(xml.contains(r#"<testsuite name="1.2 API Server""#), "{xml}");
    assert!(xml.contains(r#"<testcase name="1.2.6 Ensure that the --authorization-mode argument is not set to AlwaysAllow""#), "{xml}");
    assert!(xml.contains("<skipped"), "{xml}");
}

#[test]
fn list_checks() {
    let output = haechi(&["audit", "node", "--list-checks"]);
    assert_eq!(output.status.code(), Some(0));
    let list = stdout(&output);
    assert_eq!(list.lines().count(), 89);
    assert!(
        list.lines()
            .any(|l| l.starts_with("1.2.6 ") && l.contains("critical") && l.contains("automated")),
        "{list}"
    );
    let output = haechi(&["audit", "probe", "--list-checks"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("probe/etcd-client"));
}

#[test]
fn usage_errors_exit_2() {
    let output = haechi(&["audit", "node", "--root", "/nonexistent/haechi-root"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a directory"));
    let output = haechi(&["audit", "probe", "https://10.0.0.1:6443"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("give a host name or IP address"));
    assert_eq!(haechi(&["audit", "probe"]).status.code(), Some(2));
    let output = haechi(&["audit", "probe", "127.0.0.1", "--port", "etcd=99999"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        haechi(&["audit", "probe", "127.0.0.1", "--timeout", "0"])
            .status
            .code(),
        Some(2)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn probe_finds_a_real_etcd_without_tls() {
    let Some(etcd) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("etcd"))
            .find(|p| p.is_file())
    }) else {
        eprintln!("skipped: no etcd binary (Debian package etcd-server; CI installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let mut child = Command::new(etcd)
        .arg("--name=cli-test")
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=cli-test={peer_url}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", client)).is_err() {
        assert!(Instant::now() < deadline, "etcd did not listen within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (client, peer) = (format!("etcd={client}"), format!("etcd-peer={peer}"));
    let args = [
        "audit",
        "probe",
        "127.0.0.1",
        "--port",
        &client,
        "--port",
        &peer,
        "--port",
        "apiserver=",
        "--port",
        "kubelet=",
        "--port",
        "kubelet-readonly=",
        "--port",
        "dashboard=",
        "--port",
        "metrics=",
        "--fail-on",
        "critical",
        "-f",
        "json",
    ];
    // etcd may still be electing itself: its range read then fails, so retry briefly.
    let mut output = haechi(&args);
    while output.status.code() != Some(1) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        output = haechi(&args);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let report = json(&output);
    assert_eq!(report["kind"], "probe");
    let ids: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["probe/etcd-client", "probe/etcd-peer"]);
    assert_eq!(report["results"][0]["status"], "fail");
}

#[test]
fn hostile_node_trees_end_with_a_verdict_or_a_problem() {
    let Some(tree) = node("hardened", 0o600) else {
        return;
    };
    let root = tree.path();
    // Ten links to the PKI directory itself: each real file is still looked at once.
    for i in 0..10 {
        std::os::unix::fs::symlink(".", root.join(format!("etc/kubernetes/pki/loop{i}"))).unwrap();
    }
    // A FIFO and a device where manifests are read: neither is read.
    let manifests = root.join("etc/kubernetes/manifests");
    fs::remove_file(manifests.join("kube-scheduler.yaml")).unwrap();
    let fifo =
        std::ffi::CString::new(manifests.join("kube-scheduler.yaml").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let zero = std::ffi::CString::new(manifests.join("zero.yaml").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; /dev/zero's device number.
    assert_eq!(
        unsafe { libc::mknod(zero.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 5)) },
        0
    );
    let output = haechi(&[
        "audit",
        "node",
        "--root",
        root.to_str().unwrap(),
        "-f",
        "json",
    ]);
    let report = json(&output);
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().all(|p| p.contains("not a regular file")),
        "{problems:?}"
    );
    assert_eq!(output.status.code(), Some(2), "problems exit 2");
    let pki = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "1.1.19")
        .unwrap();
    assert_eq!(pki["status"], "pass");
    let looked_at = pki["evidence"].as_array().unwrap().len();
    assert!(
        looked_at < 40,
        "{looked_at} paths for a PKI directory of a few files"
    );
    let allowed = haechi(&[
        "audit",
        "node",
        "--root",
        root.to_str().unwrap(),
        "--allow-problems",
    ]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));

    // A PKI directory its reader cannot list is a problem, and its items are not judged.
    let Some(weak) = node("weak", 0o644) else {
        return;
    };
    let root = weak.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        root.join("etc/kubernetes/pki"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // The unprivileged reader runs a copy of the binary it can reach: the build's own may sit
    // under a directory only root may enter (a checkout in a mktemp directory).
    let bin = tempfile::tempdir().unwrap();
    fs::set_permissions(bin.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let haechi = bin.path().join("haechi");
    fs::copy(env!("CARGO_BIN_EXE_haechi"), &haechi).unwrap();
    let output = Command::new(&haechi)
        .args([
            "audit",
            "node",
            "--root",
            root.to_str().unwrap(),
            "-f",
            "json",
        ])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(output.status.code(), Some(2));
    let results = report["results"].as_array().unwrap();
    for id in ["1.1.19", "1.1.20", "1.1.21"] {
        assert!(
            results.iter().all(|r| r["id"] != id),
            "{id} judged from a directory that could not be read"
        );
    }
    let problems = report["problems"].to_string();
    assert!(problems.contains("/etc/kubernetes/pki"), "{problems}");
    assert!(report["skipped"].to_string().contains("1.1.19-1.1.21"));
}
