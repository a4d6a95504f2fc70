//! Baseline: AppArmor. v1.0+: the `container.apparmor.security.beta.kubernetes.io/<container>`
//! annotations may only name `runtime/default` or a `localhost/` profile. v1.30+: also the
//! `securityContext.appArmorProfile.type` fields (pod and containers) may not be `Unconfined`.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::path::FieldPath;

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-apparmor",
        title: "AppArmor disabled",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "An unconfined AppArmor profile removes the mandatory access control that \
                      the runtime's default profile puts around the container.",
        remediation: "Use `securityContext.appArmorProfile.type: RuntimeDefault` (or `Localhost` \
                      with a profile); on older clusters the annotation value `runtime/default`.",
        references: &[PSS, NSA_CISA, mitre!("T1562.001", "T1562/001")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for (key, value) in pod.annotations() {
        if !key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let allowed =
            value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if !allowed {
            let path = pod.metadata_path.keys(&["annotations", key]);
            let fix = fix::set(ctx.object.root, &path, json!("runtime/default"));
            out.push(ctx.violation(path, format!("annotation {key} is {value}"), Some(fix)));
        }
    }
    if !ctx.options.pss_version.at_least(30) {
        return;
    }
    let mut fields: Vec<FieldPath> = vec![pod.security_path("appArmorProfile")];
    fields.extend(pod.containers().map(|c| c.security_path("appArmorProfile")));
    for profile in fields {
        let path = profile.key("type");
        if path.resolve(ctx.object.root).and_then(|t| t.as_str()) == Some("Unconfined") {
            let fix = fix::set(ctx.object.root, &profile, json!({"type": "RuntimeDefault"}));
            out.push(ctx.violation(path, "appArmorProfile type is Unconfined", Some(fix)));
        }
    }
}
