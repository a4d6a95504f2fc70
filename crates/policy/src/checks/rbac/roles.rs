//! What a Role or ClusterRole grants.

use crate::check::{Check, CheckMeta, Condition, Context, Pending, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::kinds::ROLES;
use crate::object::Object;
use crate::path::FieldPath;

use super::{PolicyRule, is_bootstrap, is_rbac, rules};

pub const WILDCARD: Check = Check {
    meta: CheckMeta {
        id: "rbac-wildcard",
        title: "RBAC rule with wildcards",
        severity: Severity::High,
        pss: None,
        description: "`*` in verbs or resources grants everything that exists now and everything \
                      added later (new resources, CRDs, subresources): far more than any \
                      workload needs, and impossible to review.",
        remediation: "List the verbs and resources the subject needs explicitly.",
        references: &[NSA_CISA, cis!("5.1.3"), mitre!("T1078", "T1078")],
    },
    kinds: ROLES,
    rule: Rule::Object(wildcard),
};

pub const ESCALATION: Check = Check {
    meta: CheckMeta {
        id: "rbac-escalate-bind-impersonate",
        title: "RBAC grants privilege escalation",
        severity: Severity::Critical,
        pss: None,
        description: "`escalate` and `bind` on roles let a subject grant itself any permission; \
                      `impersonate` on users, groups or service accounts lets it act as any of \
                      them. Each is cluster-admin in a few steps.",
        remediation: "Remove escalate, bind and impersonate (and `*`) from the rule; grant them \
                      only to cluster administrators.",
        references: &[NSA_CISA, cis!("5.1.8"), mitre!("T1078", "T1078")],
    },
    kinds: ROLES,
    rule: Rule::Object(escalation),
};

pub const SECRETS: Check = Check {
    meta: CheckMeta {
        id: "rbac-secrets-read",
        title: "RBAC grants reading Secrets",
        severity: Severity::High,
        pss: None,
        description: "get, list or watch on secrets reveals their contents: `list` and `watch` \
                      return every Secret of the namespace (or the cluster), service account \
                      tokens and TLS keys included. Rules restricted by resourceNames are still \
                      reported, with the names.",
        remediation: "Mount the Secrets the workload needs instead of reading them through the \
                      API; where the API is needed, restrict `get` with `resourceNames` and drop \
                      list and watch.",
        references: &[NSA_CISA, cis!("5.1.2"), mitre!("T1552.007", "T1552/007")],
    },
    kinds: ROLES,
    rule: Rule::Object(secrets),
};

pub const POD_EXEC: Check = Check {
    meta: CheckMeta {
        id: "rbac-pod-exec",
        title: "RBAC grants exec or attach into pods",
        severity: Severity::High,
        pss: None,
        description: "pods/exec and pods/attach run commands inside any pod the role reaches, \
                      with that pod's service account, secrets and network position. kubectl \
                      exec uses `create` (and used `get` before Kubernetes 1.31's websocket \
                      change), so both count.",
        remediation: "Remove pods/exec and pods/attach; give humans time-bound access for \
                      debugging instead of standing grants.",
        references: &[NSA_CISA, mitre!("T1609", "T1609")],
    },
    kinds: ROLES,
    rule: Rule::Object(pod_exec),
};

pub const NODES_PROXY: Check = Check {
    meta: CheckMeta {
        id: "rbac-nodes-proxy",
        title: "RBAC grants nodes/proxy",
        severity: Severity::High,
        pss: None,
        description: "nodes/proxy reaches the kubelet API of every node: it can run commands in \
                      any pod on the node, bypassing pods/exec authorization and audit logging.",
        remediation: "Remove nodes/proxy; monitoring agents read metrics from nodes/metrics \
                      instead.",
        references: &[NSA_CISA, mitre!("T1609", "T1609")],
    },
    kinds: ROLES,
    rule: Rule::Object(nodes_proxy),
};

pub const KUBE_SYSTEM_WORKLOADS: Check = Check {
    meta: CheckMeta {
        id: "rbac-workload-create-kube-system",
        title: "RBAC grants creating workloads in kube-system",
        severity: Severity::High,
        pss: None,
        description: "Whoever creates a pod in kube-system can run it with kube-system's service \
                      accounts (controllers with cluster-wide rights) and usually outside Pod \
                      Security Admission. Reported on Roles in kube-system, and on RoleBindings \
                      in kube-system to a scanned ClusterRole that grants it.",
        remediation: "Do not grant create, update or patch on pods or pod-bearing workloads in \
                      kube-system; deploy add-ons from a namespace of their own.",
        references: &[NSA_CISA, cis!("5.1.4"), mitre!("T1610", "T1610")],
    },
    kinds: &["Role", "RoleBinding"],
    rule: Rule::Depends(kube_system_workloads),
};

fn wildcard(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    // Only the built-in cluster-admin is meant to grant everything; other bootstrap roles with
    // wildcards (the garbage collector's, the namespace controller's) are still shown.
    if is_bootstrap(ctx.object)
        && is_rbac(ctx.object, "ClusterRole")
        && ctx.object.name == "cluster-admin"
    {
        return;
    }
    for rule in rules(ctx.object) {
        for field in ["verbs", "resources"] {
            if let Some((i, _)) = rule.strings(field).find(|(_, v)| *v == "*") {
                out.push(ctx.violation(
                    rule.path.key(field).index(i),
                    format!(
                        "{} \"{}\" grants `*` {field}",
                        ctx.object.kind, ctx.object.name
                    ),
                    None,
                ));
            }
        }
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

fn escalation(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if is_bootstrap(ctx.object) {
        return;
    }
    for rule in rules(ctx.object) {
        for resource in ["roles", "clusterroles"] {
            for verb in ["escalate", "bind"] {
                report(ctx, &rule, &[RBAC], resource, &[verb], out, |v| {
                    format!("grants {v} on {resource}: a subject can give itself any permission")
                });
            }
        }
        for resource in ["users", "groups", "serviceaccounts", "uids", "userextras/*"] {
            let groups: &[&str] =
                if resource == "users" || resource == "groups" || resource == "serviceaccounts" {
                    &["", "authentication.k8s.io"]
                } else {
                    &["authentication.k8s.io"]
                };
            report(ctx, &rule, groups, resource, &["impersonate"], out, |v| {
                format!("grants {v} on {resource}: a subject can act as anyone")
            });
        }
    }
}

/// Reports each rule granting `verbs` on `resource` once, at the granting verb.
fn report(
    ctx: &Context<'_>,
    rule: &PolicyRule<'_>,
    groups: &[&str],
    resource: &str,
    verbs: &[&str],
    out: &mut Vec<Violation>,
    message: impl Fn(&str) -> String,
) {
    let Some(path) = rule.grants(groups, resource, verbs) else {
        return;
    };
    // One finding per rule and field: a `*` verb would otherwise be reported once per verb.
    if out.iter().any(|v| v.path == path) {
        return;
    }
    let verb = path
        .resolve(ctx.object.root)
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let verb = if verb == "*" {
        "every verb (`*`)"
    } else {
        verb
    };
    out.push(ctx.violation(
        path.clone(),
        format!(
            "{} \"{}\" {}",
            ctx.object.kind,
            ctx.object.name,
            message(verb)
        ),
        None,
    ));
}

fn secrets(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if is_bootstrap(ctx.object) {
        return;
    }
    for rule in rules(ctx.object) {
        let named = if rule.is_named() {
            " (restricted by resourceNames)"
        } else {
            ""
        };
        report(
            ctx,
            &rule,
            &[""],
            "secrets",
            &["get", "list", "watch"],
            out,
            |v| format!("grants {v} on secrets{named}"),
        );
    }
}

fn pod_exec(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if is_bootstrap(ctx.object) {
        return;
    }
    for rule in rules(ctx.object) {
        for resource in ["pods/exec", "pods/attach"] {
            report(ctx, &rule, &[""], resource, &["create", "get"], out, |v| {
                format!("grants {v} on {resource}")
            });
        }
    }
}

fn nodes_proxy(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if is_bootstrap(ctx.object) {
        return;
    }
    for rule in rules(ctx.object) {
        report(
            ctx,
            &rule,
            &[""],
            "nodes/proxy",
            &["get", "create"],
            out,
            |v| format!("grants {v} on nodes/proxy (the kubelet API)"),
        );
    }
}

/// Pods and the kinds that create them, with their API groups.
const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

const WRITE: &[&str] = &["create", "update", "patch"];

/// Every rule of `role` that lets a subject write pods or pod-bearing workloads: the path of the
/// granting verb, the verb and the resource.
fn workload_writes<'a>(role: &Object<'a>) -> Vec<(FieldPath, &'a str, &'static str)> {
    let mut found = Vec::new();
    for rule in rules(role) {
        for (group, resource) in WORKLOADS {
            if let Some(path) = rule.grants(&[group], resource, WRITE) {
                let verb = path
                    .resolve(role.root)
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                found.push((path, verb, *resource));
            }
        }
    }
    found
}

/// The workload resources a ClusterRole lets write, one per granting rule: what a binding to
/// it in kube-system hands out.
pub(crate) fn workload_write_resources(role: &Object<'_>) -> Vec<&'static str> {
    workload_writes(role).iter().map(|(_, _, r)| *r).collect()
}

fn kube_system_workloads(ctx: &Context<'_>, out: &mut Vec<Pending>) {
    let object = ctx.object;
    if object.namespace != Some("kube-system") || is_bootstrap(object) {
        return;
    }
    if is_rbac(object, "Role") {
        for (path, verb, resource) in workload_writes(object) {
            if !out.iter().any(|p| p.violation.path == path) {
                let message = format!(
                    "Role \"{}\" grants {verb} on {resource} in kube-system",
                    object.name
                );
                out.push(Pending {
                    violation: ctx.violation(path, message, None),
                    condition: None,
                });
            }
        }
        return;
    }
    let role_ref = |field| {
        object
            .root
            .path(&["roleRef", field])
            .and_then(|v| v.as_str())
    };
    if !is_rbac(object, "RoleBinding") || role_ref("kind") != Some("ClusterRole") {
        return;
    }
    let Some(name) = role_ref("name") else { return };
    // Whether the ClusterRole grants writing workloads is known once every object is seen.
    out.push(Pending {
        violation: ctx.violation(FieldPath::of(&["roleRef", "name"]), String::new(), None),
        condition: Some(Condition::ClusterRoleWritesWorkloads {
            name: name.to_string(),
            message: |name, resources| {
                format!(
                    "binds ClusterRole \"{name}\" in kube-system, which grants writing {resources}"
                )
            },
        }),
    });
}
