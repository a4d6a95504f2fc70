//! What the checks of one object may need to know about the others, kept small.
//!
//! A scan hands objects to the engine one at a time and drops each tree once it is checked, so
//! nothing can look an object up later. What other objects' checks need is extracted from every
//! object as it passes — a ServiceAccount's token setting, a Namespace's labels, what a
//! ClusterRole lets write, which directions a NetworkPolicy denies, where each namespace's first
//! workload is — and the checks that depend on it ([`Condition`]s, set rules) are decided from
//! these facts once every object has been seen. The facts of an object are a few strings; its
//! tree may be megabytes.

use std::collections::{BTreeMap, HashMap};

use haechi_manifest::{Node, Pos};

use crate::check::{Condition, Violation};
use crate::checks::{network, rbac};
use crate::object::Object;
use crate::options::Options;
use crate::path::FieldPath;

/// The facts kept of every object of a scan.
#[derive(Debug, Default)]
pub struct Facts {
    /// Kind, namespace (`""` for none) and name → what the first such object says.
    named: HashMap<(String, String, String), Fact>,
    /// Namespace → its NetworkPolicy coverage.
    namespaces: BTreeMap<String, Coverage>,
}

/// What one object says that others' checks read.
#[derive(Debug, Clone, PartialEq)]
enum Fact {
    ServiceAccount {
        refuses_token: bool,
    },
    Namespace {
        v1: bool,
        labels: Vec<(String, String)>,
    },
    ClusterRole {
        rbac: bool,
        writes: Vec<&'static str>,
    },
}

/// How a namespace's workloads are covered by NetworkPolicies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The first pod-bearing object in the namespace (its number in the scan) and where its
    /// `metadata.namespace` is (or its closest present ancestor).
    pub first_workload: Option<(usize, Pos)>,
    /// Whether a NetworkPolicy of the namespace denies all ingress, and all egress, by default.
    pub denied: [bool; 2],
}

/// The facts of one object, taken while its tree is at hand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectFacts {
    named: Option<((String, String, String), Fact)>,
    /// A workload's namespace and the position of `metadata.namespace`.
    workload: Option<(String, Pos)>,
    /// A NetworkPolicy's namespace and the directions it denies by default.
    policy: Option<(String, [bool; 2])>,
}

impl ObjectFacts {
    /// Whether the object may carry findings of set rules (it is a workload).
    pub fn is_workload(&self) -> bool {
        self.workload.is_some()
    }
}

fn owned_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    labels
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Facts {
    /// Takes the facts of `object`.
    pub fn of(object: &Object<'_>) -> ObjectFacts {
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

    /// Adds the facts of object number `index`. Returns whether it is the first workload of its
    /// namespace (the object set rules report on).
    pub fn add(&mut self, index: usize, facts: ObjectFacts) -> bool {
        if let Some((key, fact)) = facts.named {
            self.named.entry(key).or_insert(fact);
        }
        if let Some((namespace, denied)) = facts.policy {
            let coverage = self.namespaces.entry(namespace).or_default();
            coverage.denied[0] |= denied[0];
            coverage.denied[1] |= denied[1];
        }
        if let Some((namespace, pos)) = facts.workload {
            let coverage = self.namespaces.entry(namespace).or_default();
            if coverage.first_workload.is_none() {
                coverage.first_workload = Some((index, pos));
                return true;
            }
        }
        false
    }

    /// Every namespace seen, with its NetworkPolicy coverage, by name.
    pub fn coverage(&self) -> impl Iterator<Item = (&str, &Coverage)> {
        self.namespaces.iter().map(|(ns, c)| (ns.as_str(), c))
    }

    fn named(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Fact> {
        // The key is owned; looking up by borrowed parts would need a custom key type for a
        // lookup that runs once per deferred finding.
        self.named.get(&(
            kind.to_string(),
            namespace.unwrap_or("").to_string(),
            name.to_string(),
        ))
    }

    /// Whether the labels of the Namespace `name` (when it is in the scan) mark it untrusted.
    pub fn namespace_untrusted(&self, name: &str, options: &Options) -> bool {
        match self.named("Namespace", None, name) {
            Some(Fact::Namespace { v1: true, labels }) => options
                .untrusted
                .marks(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            _ => false,
        }
    }

    /// Whether `condition` holds over these facts; `violation` gets the message the condition
    /// completes.
    pub fn holds(
        &self,
        condition: &Condition,
        options: &Options,
        violation: &mut Violation,
    ) -> bool {
        match condition {
            Condition::TokenNotRefused { namespace, account } => {
                let found = [namespace.as_deref(), None]
                    .into_iter()
                    .find_map(|ns| self.named("ServiceAccount", ns, account));
                !matches!(
                    found,
                    Some(Fact::ServiceAccount {
                        refuses_token: true
                    })
                )
            }
            Condition::NamespaceUntrusted { namespace } => {
                self.namespace_untrusted(namespace, options)
            }
            Condition::ClusterRoleWritesWorkloads { name, message } => {
                match self.named("ClusterRole", None, name) {
                    Some(Fact::ClusterRole { rbac: true, writes }) if !writes.is_empty() => {
                        violation.message = message(name, &writes.join(", "));
                        true
                    }
                    _ => false,
                }
            }
        }
    }
}
