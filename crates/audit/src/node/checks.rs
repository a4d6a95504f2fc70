//! How each item is judged from the node's files: the flag and kubelet tables of
//! [`super::items`], and the items that need code (file modes and owners, authorization modes,
//! encryption providers, etcd's CA).

use std::collections::BTreeMap;
use std::path::Path;

use haechi_manifest::{Limits, Node, parse_documents};

use super::BENCHMARK;
use super::fs::NodeFs;
use super::items::*;
use super::kubelet::{Kubelet, Value};
use super::pods::{self, Component};
use crate::report::{CheckResult, Evidence, Item, Report, Skipped, Status};

struct Audit {
    fs: NodeFs,
    items: Vec<&'static Item>,
    results: Vec<CheckResult>,
    skipped: Vec<Skipped>,
    problems: Vec<String>,
}

impl Audit {
    fn add(&mut self, item: &'static Item, result: CheckResult) {
        self.items.push(item);
        self.results.push(result);
    }

    fn skip(&mut self, target: &str, reason: String) {
        self.skipped.push(Skipped {
            target: target.to_string(),
            reason,
        });
    }

    /// Items that cannot be judged because what they look at could not be read: each reason is
    /// a problem, and the items are skipped (a directory that cannot be listed is not empty).
    fn not_judged(&mut self, items: &str, unread: Vec<String>) {
        self.skip(
            items,
            format!(
                "not judged: {}",
                unread.first().cloned().unwrap_or_default()
            ),
        );
        self.problems.extend(unread);
    }

    /// Permission bits beyond `max` on any of `files` (absent files are left out).
    fn permissions(&mut self, item: &'static Item, files: &[String], max: u32, absent: Absent) {
        let mut evidence = Vec::new();
        let mut bad = Vec::new();
        for file in files {
            if let Ok(stat) = self.fs.stat(file) {
                if stat.mode & !max != 0 {
                    bad.push(format!("{file} is {:03o}", stat.mode));
                }
                evidence.push(Evidence {
                    location: file.clone(),
                    line: None,
                    key: "mode".into(),
                    value: Some(format!("{:03o}", stat.mode)),
                });
            }
        }
        let result = self.verdict(
            item,
            evidence,
            bad,
            files,
            absent,
            &format!("{max:03o} or more restrictive"),
        );
        self.add(item, result);
    }

    /// An owner other than `want` (`user:group`) on any of `files`.
    fn ownership(&mut self, item: &'static Item, files: &[String], want: &str, absent: Absent) {
        let mut evidence = Vec::new();
        let mut bad = Vec::new();
        for file in files {
            if let Ok(stat) = self.fs.stat(file) {
                let owner = self.fs.owner(&stat);
                if owner != want {
                    bad.push(format!("{file} is owned by {owner}"));
                }
                evidence.push(Evidence {
                    location: file.clone(),
                    line: None,
                    key: "owner".into(),
                    value: Some(owner),
                });
            }
        }
        let result = self.verdict(item, evidence, bad, files, absent, want);
        self.add(item, result);
    }

    fn verdict(
        &self,
        item: &'static Item,
        evidence: Vec<Evidence>,
        mut bad: Vec<String>,
        files: &[String],
        absent: Absent,
        want: &str,
    ) -> CheckResult {
        if evidence.is_empty() {
            let names = if files.is_empty() {
                "none found".to_string()
            } else {
                files.join(", ")
            };
            return match absent {
                Absent::Pass => item.result(Status::Pass, format!("not present ({names})"), vec![]),
                Absent::Warn => item.result(
                    Status::Warn,
                    format!("{names}: not found, so it cannot be checked"),
                    vec![],
                ),
            };
        }
        if bad.is_empty() {
            return item.judge(
                true,
                format!("{} checked, all {want}", evidence.len()),
                evidence,
            );
        }
        let total = bad.len();
        bad.truncate(5);
        let more = if total > 5 {
            format!(" and {} more", total - 5)
        } else {
            String::new()
        };
        let evidence = evidence
            .into_iter()
            .filter(|e| {
                bad.iter()
                    .any(|b| b.starts_with(&format!("{} ", e.location)))
            })
            .collect();
        item.judge(
            false,
            format!("{}{more}; expected {want}", bad.join(", ")),
            evidence,
        )
    }
}

#[derive(Clone, Copy)]
enum Absent {
    /// The item only applies if the file exists.
    Pass,
    /// The file should exist; its absence is worth a look.
    Warn,
}

/// A component flag's effective value (etcd also reads `ETCD_*` environment variables).
fn component_value(c: &Component, flag: &str, default: Option<&str>) -> Value {
    let occurrences: Vec<_> = c.flags.flags.iter().filter(|f| f.name == flag).collect();
    if let Some(last) = occurrences.last() {
        let value = if LIST_FLAGS.contains(&flag) {
            c.flags.list(flag).join(",")
        } else {
            last.value.clone()
        };
        return Value {
            value: Some(value.clone()),
            evidence: Evidence {
                location: last.file.clone(),
                line: last.line,
                key: format!("--{flag}"),
                value: Some(value),
            },
        };
    }
    if c.name == "etcd" {
        let var = format!("ETCD_{}", flag.to_uppercase().replace('-', "_"));
        if let Some((_, value, line)) = c.env.iter().rev().find(|(name, _, _)| *name == var) {
            return Value {
                value: Some(value.clone()),
                evidence: Evidence {
                    location: c.file.clone(),
                    line: Some(*line),
                    key: var,
                    value: Some(value.clone()),
                },
            };
        }
    }
    Value {
        value: default.map(str::to_string),
        evidence: Evidence {
            location: c.file.clone(),
            line: None,
            key: format!("--{flag}"),
            value: default.map(|d| format!("{d} (default)")),
        },
    }
}

fn judge_all<'a>(
    item: &Item,
    checks: impl Iterator<Item = (String, Value, Test)> + 'a,
) -> CheckResult {
    let mut holds = true;
    let mut messages = Vec::new();
    let mut evidence = Vec::new();
    for (key, value, test) in checks {
        let ok = test.holds(value.value.as_deref());
        holds &= ok;
        messages.push(describe(&key, &value, test));
        evidence.push(value.evidence);
    }
    item.judge(holds, messages.join("; "), evidence)
}

fn flag_items(audit: &mut Audit, c: &Component, items: &'static [FlagItem]) {
    for fi in items {
        let result = judge_all(
            &fi.item,
            fi.tests.iter().map(|(flag, test, default)| {
                (
                    format!("--{flag}"),
                    component_value(c, flag, *default),
                    *test,
                )
            }),
        );
        audit.add(&fi.item, result);
    }
}

/// Reads a YAML file a flag names, through the pod's mounts.
fn read_yaml(audit: &mut Audit, c: &Component, path: &str) -> Option<(String, Node)> {
    let file = c.host_path(path);
    match audit.fs.read(&file) {
        Ok(text) => match parse_documents(&text, &Limits::default())
            .into_iter()
            .next()
        {
            Some(Ok(doc)) => Some((file, doc)),
            Some(Err(e)) => {
                audit.problems.push(format!("{file}:{e}: not valid YAML"));
                None
            }
            None => {
                audit.problems.push(format!("{file}: empty"));
                None
            }
        },
        Err(e) => {
            audit.problems.push(format!(
                "{file}: cannot read: {e} (named by {} in {})",
                path, c.file
            ));
            None
        }
    }
}

fn authorization(audit: &mut Audit, api: &Component) {
    let mut modes: Vec<String>;
    let evidence: Evidence;
    let config = api
        .flags
        .get("authorization-config")
        .map(|f| f.value.clone());
    if let Some(path) = config {
        let Some((file, doc)) = read_yaml(audit, api, &path) else {
            for item in [&AUTHZ_NOT_ALWAYS_ALLOW, &AUTHZ_NODE, &AUTHZ_RBAC] {
                let r = item.result(
                    Status::Warn,
                    format!("--authorization-config {path} could not be read"),
                    vec![],
                );
                audit.add(item, r);
            }
            return;
        };
        let authorizers = doc.get("authorizers").map(Node::items).unwrap_or_default();
        modes = authorizers
            .iter()
            .filter_map(|a| a.get("type").and_then(Node::as_str).map(str::to_string))
            .collect();
        evidence = Evidence {
            location: file,
            line: doc.get("authorizers").map(|n| n.pos.line),
            key: "authorizers[].type".into(),
            value: Some(modes.join(",")),
        };
    } else {
        let value = component_value(api, "authorization-mode", Some("AlwaysAllow"));
        modes = value
            .value
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        modes.retain(|m| !m.is_empty());
        evidence = value.evidence;
    }
    let shown = modes.join(",");
    let has = |m: &str| modes.iter().any(|x| x == m);
    for (item, ok, expect) in [
        (
            &AUTHZ_NOT_ALWAYS_ALLOW,
            !has("AlwaysAllow"),
            "not to include AlwaysAllow",
        ),
        (&AUTHZ_NODE, has("Node"), "to include Node"),
        (&AUTHZ_RBAC, has("RBAC"), "to include RBAC"),
    ] {
        let r = item.judge(
            ok,
            format!("authorization modes are {shown}; expected {expect}"),
            vec![evidence.clone()],
        );
        audit.add(item, r);
    }
}

/// 1.2.28: the first provider of the entry that covers secrets must encrypt (aescbc, kms,
/// secretbox); identity first means new writes are stored in clear text.
fn encryption_providers(audit: &mut Audit, api: &Component) {
    let item = &ENCRYPTION_PROVIDERS;
    let Some(path) = api
        .flags
        .get("encryption-provider-config")
        .map(|f| f.value.clone())
    else {
        let r = item.judge(
            false,
            "--encryption-provider-config is not set: Secrets are stored unencrypted".into(),
            vec![],
        );
        audit.add(item, r);
        return;
    };
    let Some((file, doc)) = read_yaml(audit, api, &path) else {
        let r = item.result(
            Status::Warn,
            format!("{path} could not be read (see problems)"),
            vec![],
        );
        audit.add(item, r);
        return;
    };
    let covers_secrets = |entry: &Node| {
        entry
            .get("resources")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .any(|r| matches!(r.as_str(), Some("secrets" | "*.*" | "*.")))
    };
    let entry = doc
        .get("resources")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .find(|e| covers_secrets(e));
    let Some(entry) = entry else {
        let r = item.judge(
            false,
            format!("{file}: no resources entry covers secrets"),
            vec![Evidence {
                location: file.clone(),
                line: Some(doc.pos.line),
                key: "resources[].resources".into(),
                value: None,
            }],
        );
        audit.add(item, r);
        return;
    };
    let providers: Vec<(String, u32)> = entry
        .get("providers")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            p.entries()
                .first()
                .map(|(k, _)| (k.text.clone(), k.pos.line))
        })
        .collect();
    let names: Vec<&str> = providers.iter().map(|(n, _)| n.as_str()).collect();
    let first = providers.first();
    let ok = first.is_some_and(|(n, _)| matches!(n.as_str(), "aescbc" | "kms" | "secretbox"));
    let message = match first {
        None => "no providers for secrets".to_string(),
        Some((n, _)) if ok => format!(
            "secrets are encrypted with {n} (providers: {})",
            names.join(", ")
        ),
        Some((n, _)) => format!(
            "the first provider for secrets is {n}, so new Secrets are {}; expected aescbc, kms or secretbox first (providers: {})",
            if n == "identity" {
                "written unencrypted"
            } else {
                "not encrypted with a benchmark provider"
            },
            names.join(", ")
        ),
    };
    let r = item.judge(
        ok,
        message,
        vec![Evidence {
            location: file,
            line: first.map(|(_, l)| *l),
            key: "providers[0]".into(),
            value: first.map(|(n, _)| n.clone()),
        }],
    );
    audit.add(item, r);
}

/// 2.7: etcd's client CA must not be the CA the API server trusts for clients.
fn etcd_unique_ca(audit: &mut Audit, etcd: &Component, api: Option<&Component>) {
    let item = &ETCD_UNIQUE_CA;
    let ca = component_value(etcd, "trusted-ca-file", None);
    let Some(etcd_ca) = ca.value.clone() else {
        let r = item.judge(
            false,
            "--trusted-ca-file is not set".into(),
            vec![ca.evidence],
        );
        audit.add(item, r);
        return;
    };
    let mut evidence = vec![ca.evidence];
    let shared = api.and_then(|api| {
        let client_ca = component_value(api, "client-ca-file", None);
        let same =
            client_ca.value.as_deref().map(|p| api.host_path(p)) == Some(etcd.host_path(&etcd_ca));
        evidence.push(client_ca.evidence);
        same.then_some(())
    });
    let r = if shared.is_some() {
        item.judge(
            false,
            format!("etcd trusts {etcd_ca}, the same CA the API server trusts for all clients"),
            evidence,
        )
    } else {
        item.judge(true, format!("etcd trusts its own CA {etcd_ca}"), evidence)
    };
    audit.add(item, r);
}

fn kubelet_items(audit: &mut Audit, kubelet: &Kubelet) {
    for ki in KUBELET {
        let result = judge_all(
            &ki.item,
            ki.tests.iter().map(|(setting, test)| {
                let value = if setting.path.is_empty() {
                    match kubelet.flags.get(setting.flag) {
                        Some(f) => Value {
                            value: Some(f.value.clone()),
                            evidence: Evidence {
                                location: f.file.clone(),
                                line: f.line,
                                key: format!("--{}", setting.flag),
                                value: Some(f.value.clone()),
                            },
                        },
                        None => Value {
                            value: None,
                            evidence: Evidence {
                                location: kubelet.unit_files.last().cloned().unwrap_or_default(),
                                line: None,
                                key: format!("--{}", setting.flag),
                                value: None,
                            },
                        },
                    }
                } else {
                    kubelet.value(setting)
                };
                (value.evidence.key.clone(), value, *test)
            }),
        );
        let mut result = result;
        for (setting, _) in ki.tests {
            if setting.path.is_empty() {
                continue;
            }
            if let Some(config) = kubelet.overridden(setting) {
                result.message.push_str(&format!(
                    " (the flag overrides {} = {} in {})",
                    config.key,
                    config.value.as_deref().unwrap_or(""),
                    config.location
                ));
                result.evidence.push(config);
            }
        }
        audit.add(&ki.item, result);
        if ki.item.meta.id == "4.2.10" {
            let item = &ROTATE_SERVER_CERT;
            let r = match kubelet.feature_gate("RotateKubeletServerCertificate") {
                Some(v) => {
                    let on = !v
                        .value
                        .as_deref()
                        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
                    item.judge(
                        on,
                        format!(
                            "RotateKubeletServerCertificate is {}",
                            v.value.as_deref().unwrap_or("")
                        ),
                        vec![v.evidence],
                    )
                }
                None => item.judge(
                    true,
                    "RotateKubeletServerCertificate is not set (on by default since 1.12)".into(),
                    vec![],
                ),
            };
            audit.add(item, r);
        }
    }
}

pub(super) fn run(root: &Path) -> Report {
    let mut audit = Audit {
        fs: NodeFs::new(root),
        items: Vec::new(),
        results: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
    };
    let kubelet = Kubelet::load(&audit.fs, &mut audit.problems);
    let manifest_dir = kubelet
        .as_ref()
        .and_then(Kubelet::static_pod_path)
        .unwrap_or_else(|| "/etc/kubernetes/manifests".to_string());
    let mut components: BTreeMap<&'static str, Component> = BTreeMap::new();
    for file in audit.fs.list(&manifest_dir) {
        if !file.ends_with(".yaml")
            && !file.ends_with(".yml")
            && !file.ends_with(".json")
            && !file.ends_with(".manifest")
        {
            continue;
        }
        let text = match audit.fs.read(&file) {
            Ok(text) => text,
            Err(e) => {
                audit.problems.push(format!("{file}: cannot read: {e}"));
                continue;
            }
        };
        match pods::parse(&text, &file) {
            Ok(Some(c)) => {
                if let Some(first) = components.get(c.name) {
                    audit.problems.push(format!(
                        "{file}: a second {} manifest (the first is {}); only the first is audited",
                        c.name, first.file
                    ));
                } else {
                    components.insert(c.name, c);
                }
            }
            Ok(None) => {}
            Err(e) => audit.problems.push(format!("{file}: {e}")),
        }
    }
    control_plane(&mut audit, &components, &manifest_dir);
    match &kubelet {
        Some(kubelet) => worker(&mut audit, kubelet),
        None => audit.skip(
            "4 Worker Nodes",
            "no kubelet unit (kubelet.service or kubelet.service.d drop-ins) under /etc, /run, /usr/lib or /lib systemd directories".into(),
        ),
    }
    Report::new(
        "node",
        Some(BENCHMARK),
        vec![root.display().to_string()],
        audit.items,
        audit.results,
        audit.skipped,
        audit.problems,
    )
}

fn control_plane(audit: &mut Audit, components: &BTreeMap<&'static str, Component>, dir: &str) {
    let api = components.get("kube-apiserver");
    let cm = components.get("kube-controller-manager");
    let sched = components.get("kube-scheduler");
    let etcd = components.get("etcd");
    if components.is_empty() {
        audit.skip(
            "1, 2, 3.2 (control plane, etcd, logging)",
            format!(
                "no static pod manifest for kube-apiserver, kube-controller-manager, kube-scheduler or etcd in {dir}: not a control-plane node"
            ),
        );
        return;
    }
    let one = |c: Option<&Component>| c.map(|c| vec![c.file.clone()]).unwrap_or_default();
    for (component, perm, own) in [
        (api, &F_1_1_1, &F_1_1_2),
        (cm, &F_1_1_3, &F_1_1_4),
        (sched, &F_1_1_5, &F_1_1_6),
        (etcd, &F_1_1_7, &F_1_1_8),
    ] {
        if component.is_some() {
            audit.permissions(perm, &one(component), 0o600, Absent::Warn);
            audit.ownership(own, &one(component), "root:root", Absent::Warn);
        }
    }
    let mut cni = audit.fs.walk("/etc/cni/net.d");
    let networks = audit.fs.walk("/var/lib/cni/networks");
    cni.paths.extend(networks.paths);
    cni.unread.extend(networks.unread);
    if cni.unread.is_empty() {
        let files: Vec<String> = (cni.paths.into_iter())
            .filter(|f| audit.fs.stat(f).is_ok_and(|s| !s.is_dir))
            .collect();
        audit.permissions(&F_1_1_9, &files, 0o600, Absent::Pass);
        audit.ownership(&F_1_1_10, &files, "root:root", Absent::Pass);
    } else {
        audit.not_judged("1.1.9-1.1.10", cni.unread);
    }
    if let Some(etcd) = etcd {
        let data_dir = component_value(etcd, "data-dir", Some("/var/lib/etcd"))
            .value
            .unwrap_or_default();
        let data_dir = vec![etcd.host_path(&data_dir)];
        audit.permissions(&F_1_1_11, &data_dir, 0o700, Absent::Warn);
        audit.ownership(&F_1_1_12, &data_dir, "etcd:etcd", Absent::Warn);
    }
    if api.is_some() {
        let admin: Vec<String> = [
            "/etc/kubernetes/admin.conf",
            "/etc/kubernetes/super-admin.conf",
        ]
        .map(String::from)
        .to_vec();
        audit.permissions(&F_1_1_13, &admin, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_14, &admin, "root:root", Absent::Warn);
    }
    let kubeconfig = |c: &Component, default: &str| {
        vec![
            c.flags
                .get("kubeconfig")
                .map_or_else(|| default.to_string(), |f| c.host_path(&f.value)),
        ]
    };
    if let Some(sched) = sched {
        let files = kubeconfig(sched, "/etc/kubernetes/scheduler.conf");
        audit.permissions(&F_1_1_15, &files, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_16, &files, "root:root", Absent::Warn);
    }
    if let Some(cm) = cm {
        let files = kubeconfig(cm, "/etc/kubernetes/controller-manager.conf");
        audit.permissions(&F_1_1_17, &files, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_18, &files, "root:root", Absent::Warn);
    }
    let walk = audit.fs.walk("/etc/kubernetes/pki");
    let pki = walk.paths;
    if !walk.unread.is_empty() {
        audit.not_judged("1.1.19-1.1.21", walk.unread);
    } else if audit.fs.exists("/etc/kubernetes/pki") {
        audit.ownership(&F_1_1_19, &pki, "root:root", Absent::Warn);
        let crt: Vec<String> = pki
            .iter()
            .filter(|f| f.ends_with(".crt"))
            .cloned()
            .collect();
        let key: Vec<String> = pki
            .iter()
            .filter(|f| f.ends_with(".key"))
            .cloned()
            .collect();
        audit.permissions(&F_1_1_20, &crt, 0o600, Absent::Pass);
        audit.permissions(&F_1_1_21, &key, 0o600, Absent::Pass);
    } else {
        audit.skip("1.1.19-1.1.21", "no /etc/kubernetes/pki directory".into());
    }
    match api {
        Some(api) => {
            let (before, after) = API_SERVER.split_at(5);
            flag_items(audit, api, before);
            authorization(audit, api);
            let (before, after) = after.split_at(after.len() - 1);
            flag_items(audit, api, before);
            encryption_providers(audit, api);
            flag_items(audit, api, after);
        }
        None => audit.skip(S12, format!("no kube-apiserver manifest in {dir}")),
    }
    match cm {
        Some(cm) => flag_items(audit, cm, CONTROLLER_MANAGER),
        None => audit.skip(S13, format!("no kube-controller-manager manifest in {dir}")),
    }
    match sched {
        Some(sched) => flag_items(audit, sched, SCHEDULER),
        None => audit.skip(S14, format!("no kube-scheduler manifest in {dir}")),
    }
    match etcd {
        Some(etcd) => {
            flag_items(audit, etcd, ETCD);
            etcd_unique_ca(audit, etcd, api);
        }
        None => audit.skip(
            S2,
            format!("no etcd manifest in {dir} (an external etcd is audited on its own node)"),
        ),
    }
    if let Some(api) = api {
        flag_items(audit, api, std::slice::from_ref(&AUDIT_POLICY));
    }
}

fn worker(audit: &mut Audit, kubelet: &Kubelet) {
    let dropins: Vec<String> = kubelet
        .unit_files
        .iter()
        .filter(|f| f.contains(".service.d/"))
        .cloned()
        .collect();
    let service = if dropins.is_empty() {
        kubelet.unit_files.clone()
    } else {
        dropins
    };
    audit.permissions(&F_4_1_1, &service, 0o600, Absent::Warn);
    audit.ownership(&F_4_1_2, &service, "root:root", Absent::Warn);
    let proxy: Vec<String> = [
        "/etc/kubernetes/proxy.conf",
        "/var/lib/kube-proxy/kubeconfig.conf",
        "/var/lib/kube-proxy/kubeconfig",
    ]
    .map(String::from)
    .to_vec();
    audit.permissions(&F_4_1_3, &proxy, 0o600, Absent::Pass);
    audit.ownership(&F_4_1_4, &proxy, "root:root", Absent::Pass);
    let kubeconfig = vec![kubelet.flags.get("kubeconfig").map_or_else(
        || "/etc/kubernetes/kubelet.conf".to_string(),
        |f| f.value.clone(),
    )];
    audit.permissions(&F_4_1_5, &kubeconfig, 0o600, Absent::Warn);
    audit.ownership(&F_4_1_6, &kubeconfig, "root:root", Absent::Warn);
    let ca = kubelet.value(&setting(
        "client-ca-file",
        &["authentication", "x509", "clientCAFile"],
        None,
        None,
    ));
    match ca.value {
        Some(ca) => {
            audit.permissions(&F_4_1_7, std::slice::from_ref(&ca), 0o600, Absent::Warn);
            audit.ownership(&F_4_1_8, &[ca], "root:root", Absent::Warn);
        }
        None => {
            for item in [&F_4_1_7, &F_4_1_8] {
                let r = item.result(
                    Status::Warn,
                    "the kubelet names no client CA file (authentication.x509.clientCAFile or --client-ca-file; see 4.2.3)".into(),
                    vec![ca.evidence.clone()],
                );
                audit.add(item, r);
            }
        }
    }
    match &kubelet.config_file {
        Some(file) => {
            let files = vec![file.clone()];
            audit.permissions(&F_4_1_9, &files, 0o600, Absent::Warn);
            audit.ownership(&F_4_1_10, &files, "root:root", Absent::Warn);
        }
        None => audit.skip("4.1.9-4.1.10", "the kubelet has no --config file".into()),
    }
    kubelet_items(audit, kubelet);
}
