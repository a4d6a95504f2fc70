//! Baseline: Host Namespaces (v1.0+): `hostNetwork`, `hostPID` and `hostIPC` must be unset or false.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-host-namespaces",
        title: "Host namespaces shared with the pod",
        severity: Severity::Critical,
        pss: Some(PssLevel::Baseline),
        description: "Sharing the host's network, PID or IPC namespace lets the pod see and reach \
                      the node's processes, sockets and shared memory.",
        remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` or set them to false.",
        references: &[
            PSS,
            NSA_CISA,
            cis!("5.2.3"),
            cis!("5.2.4"),
            cis!("5.2.5"),
            MITRE_ESCAPE_TO_HOST,
        ],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod.field(field).and_then(|v| v.as_bool()) == Some(true) {
            let path = pod.spec_path.key(field);
            let fix = fix::set(ctx.object.root, &path, json!(false));
            out.push(ctx.violation(path, format!("{field} is true"), Some(fix)));
        }
    }
}
