//! RoleBindings and ClusterRoleBindings.

use haechi_manifest::Node;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::kinds::BINDINGS;
use crate::path::FieldPath;

use super::is_rbac;

pub const CLUSTER_ADMIN: Check = Check {
    meta: CheckMeta {
        id: "rbac-cluster-admin-binding",
        title: "cluster-admin bound to a service account",
        severity: Severity::Critical,
        pss: None,
        description: "A service account's token is mounted into pods: binding cluster-admin to \
                      one makes every compromise of such a pod a compromise of the cluster.",
        remediation: "Bind a role with the permissions the workload needs; keep cluster-admin \
                      for break-glass human access.",
        references: &[NSA_CISA, cis!("5.1.1"), mitre!("T1078", "T1078")],
    },
    kinds: BINDINGS,
    rule: Rule::Object(cluster_admin),
};

pub const ANONYMOUS: Check = Check {
    meta: CheckMeta {
        id: "rbac-anonymous-binding",
        title: "Role bound to anonymous users",
        severity: Severity::Critical,
        pss: None,
        description: "Subjects `system:anonymous` and `system:unauthenticated` are whoever reaches \
                      the API server without credentials: anything bound to them is public.",
        remediation: "Remove the subject; bind the role to authenticated users or groups that \
                      need it.",
        references: &[NSA_CISA, cis!("5.1.1"), mitre!("T1078.001", "T1078/001")],
    },
    kinds: BINDINGS,
    rule: Rule::Object(anonymous),
};

fn is_binding(ctx: &Context<'_>) -> bool {
    is_rbac(ctx.object, "RoleBinding") || is_rbac(ctx.object, "ClusterRoleBinding")
}

fn subjects<'a>(ctx: &Context<'a>) -> impl Iterator<Item = (FieldPath, &'a Node)> {
    let list = FieldPath::of(&["subjects"]);
    ctx.object
        .root
        .get("subjects")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(move |(i, s)| (list.index(i), s))
}

fn text<'a>(node: &'a Node, field: &str) -> &'a str {
    node.get(field).and_then(Node::as_str).unwrap_or("")
}

fn cluster_admin(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !is_binding(ctx) {
        return;
    }
    let role_ref = ctx.object.root.get("roleRef");
    let to_cluster_admin = role_ref
        .is_some_and(|r| text(r, "kind") == "ClusterRole" && text(r, "name") == "cluster-admin");
    if !to_cluster_admin {
        return;
    }
    for (path, subject) in subjects(ctx) {
        let account = match text(subject, "kind") {
            "ServiceAccount" => format!("{}/{}", text(subject, "namespace"), text(subject, "name")),
            // The same thing spelled as a user or a group of service accounts.
            "User" if text(subject, "name").starts_with("system:serviceaccount:") => {
                text(subject, "name").to_string()
            }
            "Group" if text(subject, "name").starts_with("system:serviceaccounts") => {
                text(subject, "name").to_string()
            }
            _ => continue,
        };
        out.push(ctx.violation(
            path,
            format!(
                "{} \"{}\" gives cluster-admin to service account {account}",
                ctx.object.kind, ctx.object.name
            ),
            None,
        ));
    }
}

fn anonymous(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !is_binding(ctx) {
        return;
    }
    let role = ctx
        .object
        .root
        .path(&["roleRef", "name"])
        .and_then(Node::as_str)
        .unwrap_or("");
    for (path, subject) in subjects(ctx) {
        let name = text(subject, "name");
        let anonymous = matches!(
            (text(subject, "kind"), name),
            ("User", "system:anonymous") | ("Group", "system:anonymous" | "system:unauthenticated")
        );
        if anonymous {
            out.push(ctx.violation(
                path,
                format!(
                    "{} \"{}\" grants role \"{role}\" to {name}",
                    ctx.object.kind, ctx.object.name
                ),
                None,
            ));
        }
    }
}
