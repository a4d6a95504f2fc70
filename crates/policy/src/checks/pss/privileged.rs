//! Baseline: Privileged Containers.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-privileged",
        title: "Privileged container",
        severity: Severity::Critical,
        pss: Some(PssLevel::Baseline),
        description: "A privileged container runs with every capability and every host device; \
                      it is root on the node.",
        remediation: "Remove `securityContext.privileged` or set it to false.",
        references: &[PSS, NSA_CISA, cis!("5.2.2"), MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        if container.security("privileged").and_then(|v| v.as_bool()) == Some(true) {
            let path = container.security_path("privileged");
            let fix = fix::set(ctx.object.root, &path, json!(false));
            out.push(ctx.violation(
                path,
                format!("{} is privileged", container.describe()),
                Some(fix),
            ));
        }
    }
}
