//! Restricted: Running as Non-root (v1.0+): `runAsNonRoot: true` at pod level or on every
//! container, and never explicitly false.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-run-as-non-root",
        title: "May run as root",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "Unless `runAsNonRoot: true` is set, a container whose image runs as root \
                      does so: one kernel or runtime flaw away from root on the node.",
        remediation: "Set `spec.securityContext.runAsNonRoot: true` (and a non-zero `runAsUser` \
                      if the image has no non-root USER).",
        references: &[PSS, NSA_CISA, cis!("5.2.7")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    let pod_path = pod.security_path("runAsNonRoot");
    let pod_value = pod.security("runAsNonRoot").and_then(|v| v.as_bool());
    if pod_value == Some(false) {
        let fix = fix::set(ctx.object.root, &pod_path, json!(true));
        out.push(ctx.violation(pod_path.clone(), "pod sets runAsNonRoot: false", Some(fix)));
    }
    for container in pod.containers() {
        let path = container.security_path("runAsNonRoot");
        match container.security("runAsNonRoot").and_then(|v| v.as_bool()) {
            Some(true) => {}
            Some(false) => {
                let fix = fix::set(ctx.object.root, &path, json!(true));
                out.push(ctx.violation(
                    path,
                    format!("{} sets runAsNonRoot: false", container.describe()),
                    Some(fix),
                ));
            }
            None if pod_value != Some(true) => {
                let fix = fix::set(ctx.object.root, &pod_path, json!(true));
                out.push(ctx.violation(
                    path,
                    format!(
                        "{} does not set runAsNonRoot (nor does the pod)",
                        container.describe()
                    ),
                    Some(fix),
                ));
            }
            None => {}
        }
    }
}
