//! What the checks of one object may need to know about the others, kept small.
//!
//! A scan hands objects to the engine one at a time and drops each tree once it is checked, so
//! nothing can look an object up later. What other objects' checks need is extracted from every
//! object as it passes — a ServiceAccount's token setting, a Namespace's labels, what a
//! ClusterRole lets write, which directions a NetworkPolicy denies, where each namespace's first
//! workload is — and the checks that depend on it (conditions, set rules) are decided from
//! these facts once every object has been seen. The facts of an object are a few strings; its
//! tree may be megabytes.

use std::collections::{BTreeMap, HashMap};

use haechi_manifest::Pos;

use crate::options::Options;

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
pub(crate) enum Fact {
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
    pub(crate) named: Option<((String, String, String), Fact)>,
    /// A workload's namespace and the position of `metadata.namespace`.
    pub(crate) workload: Option<(String, Pos)>,
    /// A NetworkPolicy's namespace and the directions it denies by default.
    pub(crate) policy: Option<(String, [bool; 2])>,
}

impl ObjectFacts {
    /// Whether the object may carry findings of set rules (it is a workload).
    pub fn is_workload(&self) -> bool {
        self.workload.is_some()
    }
}

impl Facts {
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

    pub(crate) fn named(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Fact> {
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
}
