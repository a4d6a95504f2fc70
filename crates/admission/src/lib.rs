//! `haechi admit`: the Kubernetes admission webhook. This crate owns the HTTPS server (rustls,
//! certificate hot reload, limits, metrics), the `admission.k8s.io/v1` AdmissionReview types,
//! the webhook's policy file (Pod Security levels per namespace as Pod Security Admission sets
//! them, haechi's own checks per mode, exemptions, mutation) and the mapping from findings to
//! verdicts, warnings, audit records and JSON Patches. It has no check logic of its own: every
//! check and every fix is the shared [`haechi_policy::Engine`]'s, so the webhook and
//! `haechi scan` judge an object alike. The server reads one thing from the cluster: Namespace
//! labels ([`namespaces`], through kube-rs), into [`policy::NamespaceLabels`]. Apart from it,
//! [`certs`] makes the serving certificate, and [`certs::cluster`] keeps it in a Secret and its
//! CA in the webhook configurations (`haechi admit certs --secret`).
pub mod certs;
pub mod evaluate;
pub mod metrics;
pub mod namespaces;
pub mod policy;
pub mod review;
pub mod server;
pub mod tls;

pub use policy::{NamespaceLabels, Policy, PolicyFile};
pub use server::{Options, Server, StartError};
