//! `haechi audit node` on kubeadm-shaped node trees (tests/fixtures/node): a hardened control
//! plane node, a weak one, a worker. The trees are copied into a temporary directory and given
//! real modes and owners (from each fixture's `layout` file), so the checks read real metadata.
//! Owners need root; without it the tests say so and skip.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};

use haechi_audit::{Report, Status, node};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/node")
        .join(name)
}

fn copy_tree(from: &Path, to: &Path, file_mode: u32) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
            copy_tree(&entry.path(), &target, file_mode);
        } else if entry.file_name() != "layout" {
            fs::copy(entry.path(), &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(file_mode)).unwrap();
            chown(&target, Some(0), Some(0)).unwrap();
        }
    }
}

/// Installs a fixture with its modes and owners; `None` (with a note) when not root.
fn install(name: &str, file_mode: u32) -> Option<tempfile::TempDir> {
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
        let mode = u32::from_str_radix(fields[1], 8).unwrap();
        let (uid, gid) = fields[2].split_once(':').unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        chown(
            &path,
            Some(uid.parse().unwrap()),
            Some(gid.parse().unwrap()),
        )
        .unwrap();
    }
    Some(dir)
}

fn verdicts(report: &Report) -> BTreeMap<&str, Status> {
    report.results.iter().map(|r| (r.id, r.status)).collect()
}

/// Every item a control-plane node that also runs a kubelet gets, in report order.
const ALL_ITEMS: &[&str] = &[
    "1.1.1",
    "1.1.2",
    "1.1.3",
    "1.1.4",
    "1.1.5",
    "1.1.6",
    "1.1.7",
    "1.1.8",
    "1.1.9",
    "1.1.10",
    "1.1.11",
    "1.1.12",
    "1.1.13",
    "1.1.14",
    "1.1.15",
    "1.1.16",
    "1.1.17",
    "1.1.18",
    "1.1.19",
    "1.1.20",
    "1.1.21",
    "1.2.1",
    "1.2.2",
    "1.2.3",
    "1.2.4",
    "1.2.5",
    "1.2.6",
    "1.2.7",
    "1.2.8",
    "1.2.9",
    "1.2.10",
    "1.2.11",
    "1.2.12",
    "1.2.13",
    "1.2.14",
    "1.2.15",
    "1.2.16",
    "1.2.17",
    "1.2.18",
    "1.2.19",
    "1.2.21",
    "1.2.22",
    "1.2.23",
    "1.2.24",
    "1.2.25",
    "1.2.26",
    "1.2.27",
    "1.2.28",
    "1.2.29",
    "1.3.1",
    "1.3.2",
    "1.3.3",
    "1.3.4",
    "1.3.5",
    "1.3.6",
    "1.3.7",
    "1.4.1",
    "1.4.2",
    "2.1",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.7",
    "3.2.1",
    "4.1.1",
    "4.1.2",
    "4.1.3",
    "4.1.4",
    "4.1.5",
    "4.1.6",
    "4.1.7",
    "4.1.8",
    "4.1.9",
    "4.1.10",
    "4.2.1",
    "4.2.2",
    "4.2.3",
    "4.2.4",
    "4.2.5",
    "4.2.6",
    "v1.8/4.2.6",
    "4.2.7",
    "4.2.9",
    "4.2.10",
    "4.2.11",
    "4.2.12",
    "4.2.13",
];

#[test]
fn hardened_kubeadm_node_passes_every_item() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    let report = node::audit(root.path()).unwrap();
    let ids: Vec<&str> = report.results.iter().map(|r| r.id).collect();
    assert_eq!(ids, ALL_ITEMS);
    let catalogue: Vec<&str> = node::items().iter().map(|i| i.meta.id).collect();
    assert_eq!(catalogue, ALL_ITEMS);
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| format!("{} {:?}: {}", r.id, r.status, r.message))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    // The encryption config is found through the pod's hostPath mount, not at the container path.
    let providers = report.result("1.2.28").unwrap();
    assert_eq!(
        providers.evidence[0].location,
        "/etc/kubernetes/enc/config.yaml"
    );
    assert_eq!(providers.evidence[0].value.as_deref(), Some("aescbc"));
    // `--data-dir /var/lib/etcd` (two words) is read like `--data-dir=/var/lib/etcd`.
    let data_dir = report.result("1.1.12").unwrap();
    assert_eq!(data_dir.evidence[0].location, "/var/lib/etcd");
    assert_eq!(data_dir.evidence[0].value.as_deref(), Some("etcd:etcd"));
}

#[test]
fn weak_kubeadm_node_gets_the_expected_verdict_on_every_item() {
    use Status::{Fail as F, Pass as P, Warn as W};
    let Some(root) = install("weak", 0o644) else {
        return;
    };
    let report = node::audit(root.path()).unwrap();
    let expected: BTreeMap<&str, Status> = [
        ("1.1.1", F),
        ("1.1.2", P),
        ("1.1.3", F),
        ("1.1.4", P),
        ("1.1.5", F),
        ("1.1.6", P),
        ("1.1.7", F),
        ("1.1.8", P),
        ("1.1.9", W),
        ("1.1.10", P),
        ("1.1.11", F),
        ("1.1.12", F),
        ("1.1.13", F),
        ("1.1.14", P),
        ("1.1.15", F),
        ("1.1.16", F),
        ("1.1.17", F),
        ("1.1.18", P),
        ("1.1.19", F),
        ("1.1.20", W),
        ("1.1.21", W),
        ("1.2.1", W),
        ("1.2.2", F),
        ("1.2.3", W),
        ("1.2.4", P),
        ("1.2.5", F),
        ("1.2.6", F),
        ("1.2.7", F),
        ("1.2.8", F),
        ("1.2.9", W),
        ("1.2.10", F),
        ("1.2.11", W),
        ("1.2.12", F),
        ("1.2.13", P),
        ("1.2.14", F),
        ("1.2.15", F),
        ("1.2.16", F),
        ("1.2.17", F),
        ("1.2.18", F),
        ("1.2.19", F),
        ("1.2.21", P),
        ("1.2.22", P),
        ("1.2.23", P),
        ("1.2.24", P),
        ("1.2.25", P),
        ("1.2.26", F),
        ("1.2.27", P),
        ("1.2.28", W),
        ("1.2.29", W),
        ("1.3.1", W),
        ("1.3.2", F),
        ("1.3.3", F),
        ("1.3.4", P),
        ("1.3.5", P),
        ("1.3.6", F),
        ("1.3.7", F),
        ("1.4.1", F),
        ("1.4.2", F),
        ("2.1", F),
        ("2.2", F),
        ("2.3", F),
        ("2.4", P),
        ("2.5", F),
        ("2.6", F),
        ("2.7", W),
        ("3.2.1", W),
        ("4.1.1", F),
        ("4.1.2", P),
        ("4.1.3", P),
        ("4.1.4", P),
        ("4.1.5", F),
        ("4.1.6", P),
        ("4.1.7", W),
        ("4.1.8", W),
        ("4.1.9", F),
        ("4.1.10", P),
        ("4.2.1", F),
        ("4.2.2", F),
        ("4.2.3", F),
        ("4.2.4", W),
        ("4.2.5", W),
        ("4.2.6", F),
        ("v1.8/4.2.6", F),
        ("4.2.7", W),
        ("4.2.9", W),
        ("4.2.10", F),
        ("4.2.11", W),
        ("4.2.12", W),
        ("4.2.13", W),
    ]
    .into_iter()
    .collect();
    let got = verdicts(&report);
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(id, want)| got.get(*id) != Some(want))
        .map(|(id, want)| {
            let r = report.result(id);
            format!(
                "{id}: want {want:?}, got {:?} ({})",
                got.get(id),
                r.map_or("", |r| &r.message)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(got.len(), expected.len());

    // A flag in /etc/default/kubelet beats the config file, as in the kubelet.
    let anonymous = report.result("4.2.1").unwrap();
    assert_eq!(anonymous.evidence[0].location, "/etc/default/kubelet");
    assert_eq!(anonymous.evidence[0].line, Some(1));
    assert_eq!(anonymous.evidence[0].key, "--anonymous-auth");
    assert_eq!(anonymous.evidence[0].value.as_deref(), Some("true"));
    assert_eq!(
        anonymous.evidence[1].location,
        "/var/lib/kubelet/config.yaml"
    );
    assert_eq!(
        anonymous.evidence[1].key,
        "authentication.anonymous.enabled"
    );
    assert_eq!(anonymous.evidence[1].value.as_deref(), Some("false"));
    assert!(
        anonymous.message.contains("overrides"),
        "{}",
        anonymous.message
    );
    // `--authorization-mode AlwaysAllow` (two words), with the manifest line.
    let authz = report.result("1.2.6").unwrap();
    assert_eq!(
        authz.evidence[0].location,
        "/etc/kubernetes/manifests/kube-apiserver.yaml"
    );
    assert_eq!(authz.evidence[0].value.as_deref(), Some("AlwaysAllow"));
    let line = authz.evidence[0].line.unwrap() as usize;
    let manifest =
        fs::read_to_string(fixture("weak/etc/kubernetes/manifests/kube-apiserver.yaml")).unwrap();
    assert_eq!(
        manifest.lines().nth(line - 1).unwrap().trim(),
        "- --authorization-mode"
    );
    // etcd settings given as ETCD_* environment variables count like flags.
    let peer_auto_tls = report.result("2.6").unwrap();
    assert_eq!(peer_auto_tls.evidence[0].key, "ETCD_PEER_AUTO_TLS");
    // identity first in the encryption config.
    let providers = report.result("1.2.28").unwrap();
    assert_eq!(providers.evidence[0].value.as_deref(), Some("identity"));
    assert!(
        providers.message.contains("written unencrypted"),
        "{}",
        providers.message
    );
    // Real modes and owners.
    let data_dir = report.result("1.1.11").unwrap();
    assert_eq!(data_dir.evidence[0].value.as_deref(), Some("755"));
    let owner = report.result("1.1.16").unwrap();
    assert_eq!(owner.evidence[0].value.as_deref(), Some("ubuntu:ubuntu"));
    let pki = report.result("1.1.19").unwrap();
    assert_eq!(pki.evidence.len(), 1, "{:?}", pki.evidence);
    assert_eq!(pki.evidence[0].location, "/etc/kubernetes/pki/sa.key");
    // --fail-on semantics: warnings never count.
    assert!(report.has_failure_at_least(haechi_policy::Severity::Critical));
}

#[test]
fn worker_node_skips_the_control_plane_sections() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    fs::remove_dir_all(root.path().join("etc/kubernetes/manifests")).unwrap();
    fs::remove_dir_all(root.path().join("etc/kubernetes/pki/etcd")).unwrap();
    let report = node::audit(root.path()).unwrap();
    let worker = |id: &str| id.starts_with("4.") || id.starts_with("v1.8/4.");
    assert!(
        report.results.iter().all(|r| worker(r.id)),
        "{:?}",
        verdicts(&report)
    );
    assert!(
        report.results.iter().all(|r| r.status == Status::Pass),
        "{:?}",
        verdicts(&report)
    );
    assert_eq!(
        report.results.len(),
        ALL_ITEMS.iter().filter(|id| worker(id)).count()
    );
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(skipped, ["1, 2, 3.2 (control plane, etcd, logging)"]);
}

#[test]
fn broken_files_are_problems_with_their_path_not_panics() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    let manifests = root.path().join("etc/kubernetes/manifests");
    fs::write(manifests.join("kube-apiserver.yaml"), "spec: [unclosed\n").unwrap();
    fs::write(
        root.path().join("var/lib/kubelet/config.yaml"),
        [0xff, 0xfe, 0x00],
    )
    .unwrap();
    let report = node::audit(root.path()).unwrap();
    let problems = report.problems.join("\n");
    assert!(
        problems.contains("/etc/kubernetes/manifests/kube-apiserver.yaml"),
        "{problems}"
    );
    assert!(
        problems.contains("/var/lib/kubelet/config.yaml"),
        "{problems}"
    );
    assert!(report.skipped.iter().any(|s| s.target == "1.2 API Server"));
    assert!(node::audit(&root.path().join("no-such-dir")).is_err());
}

#[test]
fn kubelet_without_a_config_file_gets_the_flag_defaults() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    let dropin = root
        .path()
        .join("etc/systemd/system/kubelet.service.d/10-kubeadm.conf");
    let text = fs::read_to_string(&dropin).unwrap();
    fs::write(
        &dropin,
        text.replace(
            "Environment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"\n",
            "",
        ),
    )
    .unwrap();
    let report = node::audit(root.path()).unwrap();
    // Without --config the kubelet's flag defaults apply: anonymous auth on, AlwaysAllow, 10255.
    for (id, status, value) in [
        ("4.2.1", Status::Fail, "true (default)"),
        ("4.2.2", Status::Fail, "AlwaysAllow (default)"),
        ("4.2.4", Status::Warn, "10255 (default)"),
    ] {
        let r = report.result(id).unwrap();
        assert_eq!(r.status, status, "{id}: {}", r.message);
        assert_eq!(r.evidence[0].value.as_deref(), Some(value), "{id}");
        assert_eq!(
            r.evidence[0].location,
            "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
        );
    }
    assert!(report.result("4.1.9").is_none());
    assert!(report.skipped.iter().any(|s| s.target == "4.1.9-4.1.10"));
}

#[test]
fn structured_authorization_config_is_read_through_the_pod_mounts() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    let manifest = root
        .path()
        .join("etc/kubernetes/manifests/kube-apiserver.yaml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(
            "    - --authorization-mode=Node,RBAC\n",
            "    - --authorization-config=/etc/kubernetes/encryption/authz.yaml\n",
        ),
    )
    .unwrap();
    fs::write(
        root.path().join("etc/kubernetes/enc/authz.yaml"),
        "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthorizationConfiguration\nauthorizers:\n  - type: Node\n    name: node\n  - type: Webhook\n    name: opa\n",
    )
    .unwrap();
    let report = node::audit(root.path()).unwrap();
    let got: Vec<(&str, Status)> = ["1.2.6", "1.2.7", "1.2.8"]
        .iter()
        .map(|id| (*id, report.result(id).unwrap().status))
        .collect();
    assert_eq!(
        got,
        [
            ("1.2.6", Status::Pass),
            ("1.2.7", Status::Pass),
            ("1.2.8", Status::Fail)
        ]
    );
    let evidence = &report.result("1.2.8").unwrap().evidence[0];
    assert_eq!(evidence.location, "/etc/kubernetes/enc/authz.yaml");
    assert_eq!(evidence.value.as_deref(), Some("Node,Webhook"));
}

#[test]
fn symlinks_resolve_inside_the_root() {
    let Some(root) = install("hardened", 0o600) else {
        return;
    };
    let k8s = root.path().join("etc/kubernetes");
    // An absolute link, as on a node that keeps its manifests elsewhere.
    fs::rename(
        k8s.join("manifests/kube-scheduler.yaml"),
        k8s.join("scheduler-manifest.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/etc/kubernetes/scheduler-manifest.yaml",
        k8s.join("manifests/kube-scheduler.yaml"),
    )
    .unwrap();
    // A link that climbs out: it must stop at the root, not reach this machine's /etc/shadow.
    fs::remove_file(k8s.join("admin.conf")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../etc/shadow", k8s.join("admin.conf"))
        .unwrap();
    let report = node::audit(root.path()).unwrap();
    let scheduler = report.result("1.4.2").unwrap();
    assert_eq!(scheduler.status, Status::Pass, "{}", scheduler.message);
    let admin = report.result("1.1.13").unwrap();
    assert!(
        admin
            .evidence
            .iter()
            .all(|e| e.location != "/etc/kubernetes/admin.conf"),
        "{admin:?}"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
