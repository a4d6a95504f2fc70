//! Hardening beyond the Pod Security Standards: what kubesec, kube-score, Polaris and checkov
//! flag on workloads and their neighbours (ServiceAccounts, Namespaces, Services, ConfigMaps and
//! Secrets). Controls the Pod Security Standards already define (privileged, host namespaces,
//! capabilities drop ALL, seccomp, AppArmor, …) live in [`super::pss`] and are not repeated here.

mod capabilities;
mod host_path;
mod image;
mod namespace;
mod probes;
mod readonly_root;
mod resources;
mod sandbox;
mod seccomp_localhost;
mod secrets;
mod service;
mod service_account;

use crate::check::Check;

/// The workload hardening checks.
pub static CHECKS: &[Check] = &[
    readonly_root::CHECK,
    capabilities::DANGEROUS,
    capabilities::NET_RAW,
    host_path::CHECK,
    service_account::POD_AUTOMOUNT,
    service_account::SERVICE_ACCOUNT_AUTOMOUNT,
    secrets::LITERAL,
    secrets::REFERENCE,
    secrets::CONFIG_MAP,
    secrets::SECRET_MANIFEST,
    image::TAG,
    image::DIGEST,
    image::PULL_POLICY,
    resources::REQUESTS,
    resources::LIMITS,
    probes::LIVENESS,
    probes::READINESS,
    sandbox::CHECK,
    seccomp_localhost::CHECK,
    namespace::DEFAULT_NAMESPACE,
    namespace::PSS_LABEL,
    service::EXTERNAL_IPS,
    service::NODE_PORT,
];
