//! The check catalogue. Each family lives in its own module and lists its checks in a `CHECKS`
//! table; a new check goes into exactly one of them.

pub mod network;
pub mod pss;
pub mod rbac;
pub mod refs;
pub mod workload;

use haechi_manifest::Node;

use crate::check::Check;
use crate::facts::{Fact, ObjectFacts};
use crate::object::Object;
use crate::path::FieldPath;

/// Every check haechi has, in catalogue order.
pub fn all() -> impl Iterator<Item = &'static Check> {
    pss::CHECKS
        .iter()
        .chain(workload::CHECKS)
        .chain(rbac::CHECKS)
        .chain(network::CHECKS)
}

/// The check with this ID.
pub fn find(id: &str) -> Option<&'static Check> {
    all().find(|c| c.meta.id == id)
}

/// A capability name as Kubernetes and runtimes accept it: case-insensitive, `CAP_` optional.
pub(crate) fn normalise_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

/// The facts `object` gives other objects' checks (the set rules and the checks that depend on
/// other objects), taken while its tree is at hand. Here, beside the checks whose helpers they
/// use, so that the facts themselves depend on no check.
pub(crate) fn facts_of(object: &Object<'_>) -> ObjectFacts {
    let identity = |kind: &str| {
        (
            kind.to_string(),
            object.namespace.unwrap_or("").to_string(),
            object.name.to_string(),
        )
    };
    let named = match object.kind {
        "ServiceAccount" => Some((
            identity("ServiceAccount"),
            Fact::ServiceAccount {
                refuses_token: object
                    .root
                    .get("automountServiceAccountToken")
                    .and_then(Node::as_bool)
                    == Some(false),
            },
        )),
        "Namespace" => Some((
            identity("Namespace"),
            Fact::Namespace {
                v1: object.api_version == "v1",
                labels: owned_labels(object.labels()),
            },
        )),
        "ClusterRole" => Some((
            identity("ClusterRole"),
            Fact::ClusterRole {
                rbac: rbac::is_rbac(object, "ClusterRole"),
                writes: rbac::workload_write_resources(object),
            },
        )),
        _ => None,
    };
    let namespace = || object.namespace.unwrap_or("default").to_string();
    ObjectFacts {
        named,
        workload: object.pod().is_some().then(|| {
            (
                namespace(),
                FieldPath::of(&["metadata", "namespace"]).locate(object.root),
            )
        }),
        policy: network::default_denies(object).map(|denied| (namespace(), denied)),
    }
}

fn owned_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    labels
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn capability_names_normalise() {
        assert_eq!(normalise_capability("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(normalise_capability("NET_RAW"), "NET_RAW");
    }

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for check in all() {
            let id = check.meta.id;
            assert!(seen.insert(id), "duplicate check id {id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id} is not kebab-case"
            );
            assert!(
                !check.meta.remediation.is_empty(),
                "{id} has no remediation"
            );
            assert!(!check.meta.references.is_empty(), "{id} has no reference");
        }
    }
}
