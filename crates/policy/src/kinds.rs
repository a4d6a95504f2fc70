//! The object kinds haechi checks, and the groups of them checks declare they apply to
//! ([`crate::Check::kinds`]). Every other kind is counted and skipped by the front doors.

/// Kinds that are a Pod or carry a pod template.
pub const WORKLOADS: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodTemplate",
    "Rollout",
];

/// Kinds that live in a namespace and that haechi checks.
pub const NAMESPACED: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodTemplate",
    "Rollout",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "Service",
];

/// RBAC roles.
pub const ROLES: &[&str] = &["Role", "ClusterRole"];

/// RBAC bindings.
pub const BINDINGS: &[&str] = &["RoleBinding", "ClusterRoleBinding"];

/// Kinds haechi checks: the union of what the checks apply to.
pub const CHECKED: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodTemplate",
    "Rollout",
    "Namespace",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "Service",
    "ConfigMap",
    "Secret",
];

/// Whether haechi checks objects of `kind`.
pub fn is_checked(kind: &str) -> bool {
    CHECKED.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_is_what_the_checks_apply_to() {
        let mut applied: Vec<&str> = crate::checks::all()
            .flat_map(|c| c.kinds.iter().copied())
            .collect();
        applied.sort_unstable();
        applied.dedup();
        let mut checked = CHECKED.to_vec();
        checked.sort_unstable();
        assert_eq!(applied, checked);
    }
}
