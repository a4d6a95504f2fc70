//! RBAC: Roles and ClusterRoles that grant too much, and bindings that hand powerful roles to
//! workloads or to anyone at all.
//!
//! Rules are read as the API server's authorizer reads them: `*` matches every verb, resource or
//! API group; `*/exec` matches the exec subresource of every resource; the core group is `""`.
//! `pods/*` is read as every subresource of pods: the authorizer does not expand it, but that is
//! what its author asked for, and an authorizer webhook or a later edit may grant it.

mod bindings;
mod roles;

use haechi_manifest::Node;

use crate::check::Check;
use crate::object::Object;
use crate::path::FieldPath;
pub(crate) use roles::workload_write_resources;

/// The RBAC checks.
pub static CHECKS: &[Check] = &[
    roles::WILDCARD,
    roles::ESCALATION,
    roles::SECRETS,
    roles::POD_EXEC,
    roles::NODES_PROXY,
    roles::KUBE_SYSTEM_WORKLOADS,
    bindings::CLUSTER_ADMIN,
    bindings::ANONYMOUS,
];

/// The API version prefix of RBAC objects.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io/";

/// Whether `object` is an RBAC object of `kind`.
pub(crate) fn is_rbac(object: &Object<'_>, kind: &str) -> bool {
    object.kind == kind && object.api_version.starts_with(RBAC_GROUP)
}

/// One entry of a role's `rules`.
struct PolicyRule<'a> {
    node: &'a Node,
    path: FieldPath,
}

impl<'a> PolicyRule<'a> {
    fn strings(&self, field: &str) -> impl Iterator<Item = (usize, &'a str)> {
        self.node
            .get(field)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, n.as_str()?)))
    }

    /// Whether the rule covers API group `group` (`""` is the core group).
    fn covers_group(&self, group: &str) -> bool {
        self.strings("apiGroups")
            .any(|(_, g)| g == "*" || g == group)
    }

    /// The index of the first entry of `resources` that covers `resource` (`pods`, `pods/exec`;
    /// `userextras/*` asks for any subresource of userextras).
    fn covering_resource(&self, resource: &str) -> Option<usize> {
        self.strings("resources")
            .find(|(_, r)| resource_covers(r, resource))
            .map(|(i, _)| i)
    }

    /// The index of the first entry of `verbs` that is one of `verbs` or `*`.
    fn covering_verb(&self, verbs: &[&str]) -> Option<usize> {
        self.strings("verbs")
            .find(|(_, v)| *v == "*" || verbs.contains(v))
            .map(|(i, _)| i)
    }

    /// Whether the rule grants one of `verbs` on `resource` of `group`; returns the path of the
    /// verb that does (the field a reviewer must change).
    fn grants(&self, groups: &[&str], resource: &str, verbs: &[&str]) -> Option<FieldPath> {
        if !groups.iter().any(|g| self.covers_group(g)) {
            return None;
        }
        self.covering_resource(resource)?;
        let verb = self.covering_verb(verbs)?;
        Some(self.path.key("verbs").index(verb))
    }

    /// `resourceNames` restricts the rule to named objects.
    fn is_named(&self) -> bool {
        self.node
            .get("resourceNames")
            .is_some_and(|n| !n.items().is_empty())
    }
}

/// Whether the `resources` entry `granted` covers `wanted`: `*` covers everything; a
/// subresource is covered by its own name, by `*/<sub>` and by `<resource>/*`.
fn resource_covers(granted: &str, wanted: &str) -> bool {
    if granted == "*" || granted == wanted {
        return true;
    }
    let (Some((granted, granted_sub)), Some((wanted, wanted_sub))) =
        (granted.split_once('/'), wanted.split_once('/'))
    else {
        return false;
    };
    (granted == "*" || granted == wanted)
        && (granted_sub == "*" || wanted_sub == "*" || granted_sub == wanted_sub)
}

/// The rules of a Role or ClusterRole.
fn rules<'a>(object: &Object<'a>) -> Vec<PolicyRule<'a>> {
    if !is_rbac(object, "Role") && !is_rbac(object, "ClusterRole") {
        return Vec::new();
    }
    let list = FieldPath::of(&["rules"]);
    object
        .root
        .get("rules")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, node)| PolicyRule {
            node,
            path: list.index(i),
        })
        .collect()
}

/// Kubernetes' own bootstrap roles and bindings: they are defined by the API server, which
/// reconciles them at start, so editing a manifest cannot change them. They carry the
/// `kubernetes.io/bootstrapping: rbac-defaults` label and a name Kubernetes reserves
/// (cluster-admin, admin, edit, view, system:*); the label alone is not enough, as anyone can set
/// it on a role of their own.
fn is_bootstrap(object: &Object<'_>) -> bool {
    object.label("kubernetes.io/bootstrapping") == Some("rbac-defaults")
        && (matches!(object.name, "cluster-admin" | "admin" | "edit" | "view")
            || object.name.starts_with("system:"))
}

#[cfg(test)]
mod tests {
    use haechi_manifest::{Limits, parse_documents};

    use super::*;

    fn rule(yaml: &str) -> Node {
        parse_documents(yaml, &Limits::default()).remove(0).unwrap()
    }

    #[test]
    fn wildcards_and_subresources_match() {
        let node = rule("{apiGroups: [''], resources: ['pods/*'], verbs: [get, create]}");
        let r = PolicyRule {
            node: &node,
            path: FieldPath::of(&["rules"]).index(0),
        };
        assert!(r.grants(&[""], "pods/exec", &["create"]).is_some());
        assert!(r.grants(&[""], "pods", &["create"]).is_none());
        assert!(r.grants(&["apps"], "pods/exec", &["create"]).is_none());
        assert!(r.grants(&[""], "nodes/proxy", &["create"]).is_none());
        assert_eq!(
            r.grants(&[""], "pods/attach", &["create"])
                .unwrap()
                .to_string(),
            "rules[0].verbs[1]"
        );
        let node = rule("{apiGroups: ['*'], resources: ['*'], verbs: ['*']}");
        let r = PolicyRule {
            node: &node,
            path: FieldPath::root(),
        };
        assert!(
            r.grants(
                &["rbac.authorization.k8s.io"],
                "clusterroles",
                &["escalate"]
            )
            .is_some()
        );
    }

    #[test]
    fn any_resource_subresource_matches_that_subresource_only() {
        let node = rule("{apiGroups: [''], resources: [pods, '*/exec'], verbs: [create]}");
        let r = PolicyRule {
            node: &node,
            path: FieldPath::root(),
        };
        assert!(r.grants(&[""], "pods/exec", &["create"]).is_some());
        assert!(r.grants(&[""], "pods/attach", &["create"]).is_none());
        assert!(r.grants(&[""], "nodes/proxy", &["create"]).is_none());
        assert!(r.grants(&[""], "pods", &["create"]).is_some());
        assert!(r.grants(&[""], "secrets", &["create"]).is_none());
        assert!(r.grants(&[""], "pods/exec", &["get"]).is_none());
    }

    #[test]
    fn resources_cover_like_the_authorizer() {
        assert!(resource_covers("*", "secrets"));
        assert!(resource_covers("*", "pods/exec"));
        assert!(resource_covers("secrets", "secrets"));
        assert!(!resource_covers("secrets/status", "secrets"));
        assert!(!resource_covers("secrets", "secrets/status"));
        assert!(resource_covers("*/exec", "pods/exec"));
        assert!(!resource_covers("*/exec", "pods"));
        assert!(resource_covers("pods/*", "pods/attach"));
        assert!(!resource_covers("pods/*", "nodes/proxy"));
        assert!(resource_covers("userextras/scopes", "userextras/*"));
        assert!(resource_covers("*/scopes", "userextras/*"));
        assert!(!resource_covers("users", "userextras/*"));
        assert!(!resource_covers("", "pods/exec"));
        assert!(!resource_covers("/", "pods/exec"));
    }

    #[test]
    fn resource_names_narrow_a_rule() {
        let named = rule("{resourceNames: [tls]}");
        let empty = rule("{resourceNames: []}");
        let odd = rule("{resourceNames: tls}");
        let is_named = |node: &Node| {
            PolicyRule {
                node,
                path: FieldPath::root(),
            }
            .is_named()
        };
        assert!(is_named(&named) && !is_named(&empty) && !is_named(&odd));
    }

    #[test]
    fn malformed_rules_grant_nothing() {
        let node = rule("{apiGroups: '*', resources: {a: b}, verbs: '*'}");
        let r = PolicyRule {
            node: &node,
            path: FieldPath::root(),
        };
        assert!(r.grants(&[""], "secrets", &["get"]).is_none());
    }
}
