//! Untrusted workloads in a sandbox RuntimeClass (gVisor, Kata).

use serde_json::json;

use crate::check::{Check, CheckMeta, Condition, Context, Pending, Rule, Severity};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::options::Trust;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sandbox-runtime-class",
        title: "Untrusted workload outside a sandbox",
        severity: Severity::High,
        pss: None,
        description: "A workload marked untrusted (by label, by its Namespace's label, or by its \
                      namespace, as configured) shares the node's kernel unless it runs in a \
                      sandbox RuntimeClass such as gVisor or Kata; one kernel bug is then a \
                      way out.",
        remediation: "Set `runtimeClassName` in the pod spec to a sandbox RuntimeClass (default \
                      list: gvisor, runsc, kata, kata-qemu, kata-clh, kata-fc; configurable with \
                      `sandboxRuntimeClasses`). haechi ships the `gvisor` RuntimeClass \
                      (handler runsc) in deploy/gvisor/runtimeclass.yaml.",
        references: &[NSA_CISA, MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Depends(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Pending>) {
    let Some(pod) = ctx.object.pod() else { return };
    let Some(sandbox) = ctx.options.sandbox_runtime_classes.first() else {
        return;
    };
    let condition = match ctx.options.untrusted.judge(ctx.object) {
        Trust::Trusted => return,
        Trust::Untrusted => None,
        Trust::IfNamespaceMarked(namespace) => Some(Condition::NamespaceUntrusted { namespace }),
    };
    let class = pod.field("runtimeClassName").and_then(|c| c.as_str());
    if class.is_some_and(|c| ctx.options.sandbox_runtime_classes.iter().any(|s| s == c)) {
        return;
    }
    let path = pod.spec_path.key("runtimeClassName");
    let message = match class {
        Some(c) => format!("untrusted workload runs with RuntimeClass \"{c}\", not a sandbox"),
        None => "untrusted workload has no sandbox runtimeClassName".to_string(),
    };
    let fix = fix::set(ctx.object.root, &path, json!(sandbox));
    out.push(Pending {
        violation: ctx.violation(path, message, Some(fix)),
        condition,
    });
}
