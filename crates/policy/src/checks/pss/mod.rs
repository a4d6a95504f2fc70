//! The controls of the Pod Security Standards, one check per control, as Pod Security Admission
//! evaluates them for each policy version (`v1.0` … `latest`). The conformance fixtures of
//! kubernetes/pod-security-admission are the test oracle (tests/pss_conformance.rs).

mod privileged;

use crate::check::Check;

/// The PSS checks, baseline first.
pub static CHECKS: &[Check] = &[privileged::CHECK];
