//! Baseline: HostProcess (v1.0+): `windowsOptions.hostProcess` must not be true, at pod or
//! container level.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, PSS};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-windows-host-process",
        title: "Windows HostProcess container",
        severity: Severity::Critical,
        pss: Some(PssLevel::Baseline),
        description: "A Windows HostProcess container runs directly on the host, with access to \
                      its network, processes and files.",
        remediation: "Remove `securityContext.windowsOptions.hostProcess` or set it to false.",
        references: &[PSS, MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    let mut paths = vec![pod.security_path("windowsOptions").key("hostProcess")];
    paths.extend(
        pod.containers()
            .map(|c| c.security_path("windowsOptions").key("hostProcess")),
    );
    for path in paths {
        if path.resolve(ctx.object.root).and_then(|v| v.as_bool()) == Some(true) {
            let fix = fix::set(ctx.object.root, &path, json!(false));
            out.push(ctx.violation(path, "hostProcess is true", Some(fix)));
        }
    }
}
