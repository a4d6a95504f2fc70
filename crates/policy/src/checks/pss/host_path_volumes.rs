//! Baseline: HostPath Volumes (v1.0+): no `hostPath` volumes.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-host-path-volumes",
        title: "hostPath volume",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "A hostPath volume mounts a directory of the node into the pod: the node's \
                      files become the workload's files, and a writable one is a way out.",
        remediation: "Replace hostPath volumes with emptyDir, configMap, secret, projected or \
                      persistentVolumeClaim volumes.",
        references: &[PSS, NSA_CISA, cis!("5.2.12"), MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for (path, volume) in pod.volumes() {
        let Some(host_path) = volume.get("hostPath") else {
            continue;
        };
        let name = volume.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let dir = host_path.get("path").and_then(|p| p.as_str()).unwrap_or("");
        out.push(ctx.violation(
            path.key("hostPath"),
            format!("volume \"{name}\" mounts host path {dir}"),
            Some(fix::set(
                ctx.object.root,
                &path,
                json!({"name": name, "emptyDir": {}}),
            )),
        ));
    }
}
