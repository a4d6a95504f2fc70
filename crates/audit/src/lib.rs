//! `haechi audit`: the CIS Kubernetes Benchmark judged from a node's files (what kube-bench does),
//! and read-only exposure probes of cluster endpoints (what kube-hunter does).
//!
//! [`node::audit`] reads the node's configuration as it is on disk under a root directory —
//! static pod manifests, the kubelet's systemd drop-ins and config file, kubeconfigs, the PKI
//! directory, the encryption-provider config — and never runs `ps`: the files are what the
//! components start from, so an audit of a mounted host, an image of a node or a test fixture
//! gives the same answer as one on the node itself. What cannot be judged from files (a running
//! process's flags that differ from its manifest, cluster policies) is out of scope and listed
//! in docs/audit.md. [`probe::probe`] talks to endpoints the user names with anonymous GETs and
//! etcd read requests only; it never writes.
//!
//! Both produce one [`Report`], which `haechi-report` writes in the formats and with the
//! severities of every other haechi report ([`format`] maps it onto that crate's model), so one
//! pipeline consumes them all.
pub mod format;
pub mod node;
pub mod probe;
mod report;

pub use report::{CheckResult, Evidence, Item, Report, Skipped, Status, Summary};
