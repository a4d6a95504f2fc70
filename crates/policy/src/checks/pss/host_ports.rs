//! Baseline: Host Ports (v1.0+): `ports[].hostPort` unset or 0.

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-host-ports",
        title: "Host port",
        severity: Severity::Medium,
        pss: Some(PssLevel::Baseline),
        description: "A hostPort binds the node's own address, bypassing Services and most \
                      NetworkPolicy implementations, and pins the pod to nodes where the port is free.",
        remediation: "Remove `hostPort` and expose the port through a Service.",
        references: &[PSS, NSA_CISA, cis!("5.2.13")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        for (i, port) in container
            .node
            .get("ports")
            .map(|p| p.items())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(host_port) = port.get("hostPort") else {
                continue;
            };
            if host_port.as_i64() == Some(0) || host_port.is_null() {
                continue;
            }
            let path = container.path.key("ports").index(i).key("hostPort");
            out.push(ctx.violation(
                path.clone(),
                format!(
                    "{} binds host port {}",
                    container.describe(),
                    host_port.as_str().unwrap_or("?")
                ),
                Some(fix::remove(&path)),
            ));
        }
    }
}
