//! Baseline: Host Probes / Lifecycle Hooks (v1.34+): probes and lifecycle handlers may not set
//! `httpGet.host` or `tcpSocket.host`, which would let the kubelet reach any address for the pod.

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{PSS, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-host-probes",
        title: "Probe or lifecycle hook with a host",
        severity: Severity::Medium,
        pss: Some(PssLevel::Baseline),
        description: "A probe or lifecycle handler with `host` makes the kubelet connect to an \
                      arbitrary address from the node: a server-side request forgery primitive.",
        remediation: "Remove `host` from httpGet and tcpSocket probes and lifecycle handlers; they \
                      default to the pod's IP.",
        references: &[PSS, mitre!("T1090", "T1090")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

const HANDLERS: &[&[&str]] = &[
    &["livenessProbe"],
    &["readinessProbe"],
    &["startupProbe"],
    &["lifecycle", "postStart"],
    &["lifecycle", "preStop"],
];

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !ctx.options.pss_version.at_least(34) {
        return;
    }
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        for handler in HANDLERS {
            for action in ["httpGet", "tcpSocket"] {
                let path = container.path.keys(handler).keys(&[action, "host"]);
                let Some(host) = path.resolve(ctx.object.root).and_then(|h| h.as_str()) else {
                    continue;
                };
                if host.is_empty() {
                    continue;
                }
                out.push(ctx.violation(
                    path.clone(),
                    format!(
                        "{} {} {action} targets host {host}",
                        container.describe(),
                        handler.join(".")
                    ),
                    Some(fix::remove(&path)),
                ));
            }
        }
    }
}
