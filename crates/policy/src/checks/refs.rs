//! References the checks cite.

use crate::check::Reference;

/// A Pod Security Standards control.
pub const PSS: Reference = Reference {
    name: "Pod Security Standards",
    url: "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
};

/// The NSA/CISA Kubernetes Hardening Guide (v1.2).
pub const NSA_CISA: Reference = Reference {
    name: "NSA/CISA Kubernetes Hardening Guide",
    url: "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF",
};

/// Builds a CIS Kubernetes Benchmark reference for item `5.x.y`.
macro_rules! cis {
    ($item:literal) => {
        $crate::check::Reference {
            name: concat!("CIS Kubernetes Benchmark ", $item),
            url: "https://www.cisecurity.org/benchmark/kubernetes",
        }
    };
}
pub(crate) use cis;

/// Builds a MITRE ATT&CK technique reference.
macro_rules! mitre {
    ($id:literal, $path:literal) => {
        $crate::check::Reference {
            name: concat!("MITRE ATT&CK ", $id),
            url: concat!("https://attack.mitre.org/techniques/", $path, "/"),
        }
    };
}
pub(crate) use mitre;

/// Escape to Host (T1611).
pub const MITRE_ESCAPE_TO_HOST: Reference = mitre!("T1611", "T1611");
