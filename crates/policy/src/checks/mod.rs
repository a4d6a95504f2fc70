//! The check catalogue. Each family lives in its own module and lists its checks in a `CHECKS`
//! table; a new check goes into exactly one of them.

pub mod network;
pub mod pss;
pub mod rbac;
pub mod refs;
pub mod workload;

use crate::check::Check;

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
