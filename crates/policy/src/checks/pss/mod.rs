//! The controls of the Pod Security Standards, one check per control, as Pod Security Admission
//! evaluates them for each policy version (`v1.0` … `latest`, chosen by
//! [`Options::pss_version`](crate::Options)). The conformance fixtures of
//! kubernetes/pod-security-admission are the test oracle (tests/pss_conformance.rs): every fixture
//! of every version passes or fails here exactly as it does there.

mod apparmor;
mod capabilities;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod privilege_escalation;
mod privileged;
mod proc_mount;
mod run_as_non_root;
mod run_as_user;
mod seccomp;
mod selinux;
mod sysctls;
mod volume_types;
mod windows_host_process;

use crate::check::{Check, Context, PssLevel, Rule, Violation};
use crate::object::Object;
use crate::options::Options;
use crate::standards::PssVersion;

/// The PSS checks, baseline first.
pub static CHECKS: &[Check] = &[
    host_namespaces::CHECK,
    privileged::CHECK,
    capabilities::BASELINE,
    host_path_volumes::CHECK,
    host_ports::CHECK,
    host_probes::CHECK,
    apparmor::CHECK,
    selinux::CHECK,
    proc_mount::BASELINE,
    seccomp::BASELINE,
    sysctls::CHECK,
    windows_host_process::CHECK,
    volume_types::CHECK,
    privilege_escalation::CHECK,
    run_as_non_root::CHECK,
    run_as_user::CHECK,
    seccomp::RESTRICTED,
    capabilities::RESTRICTED,
    proc_mount::RESTRICTED,
];

/// Evaluates `object` against one level of the Pod Security Standards at one version, as Pod
/// Security Admission would: the baseline controls for `baseline`, baseline and restricted ones
/// for `restricted`, nothing for `privileged`.
pub fn evaluate(
    object: &Object<'_>,
    level: PssLevel,
    version: PssVersion,
) -> Vec<(&'static Check, Violation)> {
    let options = Options {
        pss_version: version,
        ..Options::default()
    };
    let ctx = Context {
        object,
        options: &options,
    };
    let mut found = Vec::new();
    let mut violations = Vec::new();
    for check in CHECKS {
        let applies = check.meta.pss.is_some_and(|l| l <= level) && level != PssLevel::Privileged;
        if let (true, Rule::Object(rule)) = (applies, check.rule) {
            rule(&ctx, &mut violations);
            found.extend(violations.drain(..).map(|v| (check, v)));
        }
    }
    found
}
