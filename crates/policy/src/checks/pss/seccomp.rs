//! Seccomp. Baseline: v1.0–v1.18 the `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/<name>` annotations may not be `unconfined`;
//! v1.19+ the `seccompProfile.type` fields may not be `Unconfined`. Restricted (v1.19+): every
//! container runs with `RuntimeDefault` or `Localhost`, set on the container or inherited from
//! the pod; Windows pods are exempt from v1.25.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::path::FieldPath;

pub const BASELINE: Check = Check {
    meta: CheckMeta {
        id: "pss-seccomp-baseline",
        title: "Seccomp disabled",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "An Unconfined seccomp profile lets the container call every system call, \
                      including the ones most kernel exploits need.",
        remediation: "Set `securityContext.seccompProfile.type` to `RuntimeDefault` or `Localhost`.",
        references: &[PSS, NSA_CISA, cis!("5.7.2"), mitre!("T1068", "T1068")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(baseline),
};

pub const RESTRICTED: Check = Check {
    meta: CheckMeta {
        id: "pss-seccomp-restricted",
        title: "No seccomp profile",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "Without a seccomp profile most runtimes run containers unconfined; the \
                      restricted level requires RuntimeDefault or a Localhost profile.",
        remediation: "Set `spec.securityContext.seccompProfile.type: RuntimeDefault` (or per \
                      container), or `Localhost` with a recorded profile (`haechi seccomp record`).",
        references: &[PSS, NSA_CISA, cis!("5.7.2")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(restricted),
};

fn baseline(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    if !ctx.options.pss_version.at_least(19) {
        for (key, value) in pod.annotations() {
            let seccomp = key == "seccomp.security.alpha.kubernetes.io/pod"
                || key.starts_with("container.seccomp.security.alpha.kubernetes.io/");
            if seccomp && value == "unconfined" {
                let path = pod.metadata_path.keys(&["annotations", key]);
                let fix = fix::set(ctx.object.root, &path, json!("runtime/default"));
                out.push(ctx.violation(path, format!("annotation {key} is unconfined"), Some(fix)));
            }
        }
        return;
    }
    let mut profiles: Vec<FieldPath> = vec![pod.security_path("seccompProfile")];
    profiles.extend(pod.containers().map(|c| c.security_path("seccompProfile")));
    for profile in profiles {
        let path = profile.key("type");
        if path.resolve(ctx.object.root).and_then(|t| t.as_str()) == Some("Unconfined") {
            let fix = fix::set(ctx.object.root, &profile, json!({"type": "RuntimeDefault"}));
            out.push(ctx.violation(path, "seccompProfile type is Unconfined", Some(fix)));
        }
    }
}

fn valid(profile_type: Option<&str>) -> bool {
    matches!(profile_type, Some("RuntimeDefault" | "Localhost"))
}

fn restricted(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !ctx.options.pss_version.at_least(19) {
        return;
    }
    let Some(pod) = ctx.object.pod() else { return };
    if ctx.options.pss_version.at_least(25) && pod.is_windows() {
        return;
    }
    let pod_profile = pod.security_path("seccompProfile");
    let pod_type = pod_profile
        .key("type")
        .resolve(ctx.object.root)
        .and_then(|t| t.as_str());
    if pod_type.is_some() && !valid(pod_type) {
        let fix = fix::set(
            ctx.object.root,
            &pod_profile,
            json!({"type": "RuntimeDefault"}),
        );
        out.push(ctx.violation(
            pod_profile.key("type"),
            format!("pod seccompProfile type is {}", pod_type.unwrap_or("")),
            Some(fix),
        ));
    }
    for container in pod.containers() {
        let profile = container.security_path("seccompProfile");
        let own = profile
            .key("type")
            .resolve(ctx.object.root)
            .and_then(|t| t.as_str());
        match own {
            Some(t) if !valid(Some(t)) => {
                let fix = fix::set(ctx.object.root, &profile, json!({"type": "RuntimeDefault"}));
                out.push(ctx.violation(
                    profile.key("type"),
                    format!("{} seccompProfile type is {t}", container.describe()),
                    Some(fix),
                ));
            }
            None if pod_type.is_none() => {
                let fix = fix::set(
                    ctx.object.root,
                    &pod_profile,
                    json!({"type": "RuntimeDefault"}),
                );
                out.push(ctx.violation(
                    profile,
                    format!(
                        "{} has no seccomp profile (none set for the pod either)",
                        container.describe()
                    ),
                    Some(fix),
                ));
            }
            _ => {}
        }
    }
}
