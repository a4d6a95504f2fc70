//! /proc mount type. Baseline (v1.0+): `procMount` unset or `Default`; from v1.35 `Unmasked` is
//! allowed for pods in a user namespace (`hostUsers: false`). Restricted (v1.35+): `Default` only,
//! user namespace or not.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, PSS};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const BASELINE: Check = Check {
    meta: CheckMeta {
        id: "pss-proc-mount",
        title: "Unmasked /proc",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "An unmasked /proc exposes kernel interfaces the runtime hides (sysrq, \
                      kcore, …) to the container.",
        remediation: "Remove `securityContext.procMount` or set it to `Default`.",
        references: &[PSS, MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(baseline),
};

pub const RESTRICTED: Check = Check {
    meta: CheckMeta {
        id: "pss-proc-mount-restricted",
        title: "Unmasked /proc in a user namespace",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "The restricted level keeps /proc masked even for pods in a user namespace.",
        remediation: "Remove `securityContext.procMount` or set it to `Default`.",
        references: &[PSS],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(restricted),
};

fn baseline(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let user_namespace = ctx
        .object
        .pod()
        .and_then(|pod| pod.field("hostUsers").and_then(|v| v.as_bool()))
        == Some(false);
    let unmasked_allowed = ctx.options.pss_version.at_least(35) && user_namespace;
    report(ctx, out, unmasked_allowed);
}

fn restricted(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if ctx.options.pss_version.at_least(35) {
        report(ctx, out, false);
    }
}

fn report(ctx: &Context<'_>, out: &mut Vec<Violation>, unmasked_allowed: bool) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        let Some(value) = container.security("procMount").and_then(|v| v.as_str()) else {
            continue;
        };
        if value == "Default" || (unmasked_allowed && value == "Unmasked") {
            continue;
        }
        let path = container.security_path("procMount");
        let fix = fix::set(ctx.object.root, &path, json!("Default"));
        out.push(ctx.violation(
            path,
            format!("{} sets procMount {value}", container.describe()),
            Some(fix),
        ));
    }
}
