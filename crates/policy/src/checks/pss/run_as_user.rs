//! Restricted: Running as Non-root user (v1.23+): `runAsUser` may not be 0, at pod or container
//! level.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::path::FieldPath;

/// The uid a fix gives: the conventional "nonroot" user of distroless images.
const NON_ROOT_UID: i64 = 65532;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-run-as-user",
        title: "Runs as uid 0",
        severity: Severity::High,
        pss: Some(PssLevel::Restricted),
        description: "`runAsUser: 0` runs the container as root whatever the image says.",
        remediation: "Set `runAsUser` to a non-zero uid (or remove it and set `runAsNonRoot: true`).",
        references: &[PSS, NSA_CISA, cis!("5.2.7")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !ctx.options.pss_version.at_least(23) {
        return;
    }
    let Some(pod) = ctx.object.pod() else { return };
    let mut paths: Vec<FieldPath> = vec![pod.security_path("runAsUser")];
    paths.extend(pod.containers().map(|c| c.security_path("runAsUser")));
    for path in paths {
        if path.resolve(ctx.object.root).and_then(|v| v.as_i64()) == Some(0) {
            let fix = fix::set(ctx.object.root, &path, json!(NON_ROOT_UID));
            out.push(ctx.violation(path, "runAsUser is 0", Some(fix)));
        }
    }
}
