//! Property tests: every check and the fixer accept any object shape without panicking, and every
//! fix a check offers applies to the object it was computed for.

use haechi_manifest::Node;
use haechi_policy::{Config, Engine, Object, ObjectSet};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Field names the checks read, so random objects reach deep into the check code.
const KEYS: &[&str] = &[
    "spec",
    "template",
    "jobTemplate",
    "metadata",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "privileged",
    "capabilities",
    "add",
    "drop",
    "runAsUser",
    "runAsNonRoot",
    "seccompProfile",
    "type",
    "localhostProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "procMount",
    "sysctls",
    "name",
    "value",
    "volumes",
    "hostPath",
    "path",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "ports",
    "hostPort",
    "image",
    "env",
    "valueFrom",
    "resources",
    "limits",
    "requests",
    "annotations",
    "labels",
    "namespace",
    "rules",
    "verbs",
    "resources",
    "apiGroups",
    "subjects",
    "roleRef",
    "kind",
    "podSelector",
    "policyTypes",
    "ingress",
    "egress",
    "to",
    "from",
    "ipBlock",
    "cidr",
    "windowsOptions",
    "hostProcess",
    "livenessProbe",
    "httpGet",
    "host",
    "lifecycle",
    "os",
    "runtimeClassName",
    "hostUsers",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "volumeMounts",
    "mountPath",
    "automountServiceAccountToken",
    "externalIPs",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..70000).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "",
            "*",
            "ALL",
            "SYS_ADMIN",
            "Unconfined",
            "RuntimeDefault",
            "Localhost",
            "/",
            "/var/run/docker.sock",
            "0.0.0.0/0",
            "windows",
            "Unmasked",
            "nginx:latest",
            "true",
            "cluster-admin",
            "system:anonymous",
            "secrets",
            "pods/exec",
            "kube-system",
            "0",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "CronJob"),
            ("v1", "Namespace"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
            ("v1", "Service"),
            ("v1", "ServiceAccount"),
            ("v1", "PodTemplate"),
        ]),
        value(),
        value(),
        value(),
    )
        .prop_map(|((api, kind), spec, metadata, extra)| {
            json!({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec,
                   "template": extra.clone(), "rules": extra.clone(), "subjects": extra})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn checks_and_fixes_never_panic(objects in prop::collection::vec(object(), 1..4)) {
        let engine = Engine::new(Config::default());
        let nodes: Vec<Node> = objects.iter().map(Node::from_json).collect();
        let set = ObjectSet::new(nodes.iter().filter_map(Object::new).collect());
        for finding in engine.evaluate(&set) {
            if let Some(fix) = &finding.violation.fix {
                let mut json = objects[finding.object].clone();
                prop_assert!(
                    json_patch::patch(&mut json, fix).is_ok(),
                    "{} fix does not apply at {}", finding.check.id, finding.violation.path
                );
            }
        }
        for node in &nodes {
            let fixed = engine.fix(node);
            let mut original = node.to_json();
            prop_assert!(json_patch::patch(&mut original, &fixed.patch).is_ok());
        }
    }
}
