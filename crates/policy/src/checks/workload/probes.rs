//! Liveness and readiness probes on serving containers.

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::NSA_CISA;
use crate::kinds::WORKLOADS;
use crate::object::ContainerKind;

pub const LIVENESS: Check = Check {
    meta: CheckMeta {
        id: "liveness-probe",
        title: "No liveness probe",
        severity: Severity::Low,
        pss: None,
        description: "Without a liveness probe a hung process keeps its pod Running forever; \
                      nothing restarts it.",
        remediation: "Add a `livenessProbe` (httpGet, tcpSocket, grpc or exec) that fails when the \
                      program is stuck.",
        references: &[NSA_CISA],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(liveness),
};

pub const READINESS: Check = Check {
    meta: CheckMeta {
        id: "readiness-probe",
        title: "No readiness probe",
        severity: Severity::Low,
        pss: None,
        description: "Without a readiness probe a pod receives traffic before it can serve and \
                      while it cannot, and rollouts cannot tell a broken version from a good one.",
        remediation: "Add a `readinessProbe` that succeeds only when the program can serve \
                      requests.",
        references: &[NSA_CISA],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(readiness),
};

fn liveness(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    missing_probe(ctx, "livenessProbe", out);
}

fn readiness(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    missing_probe(ctx, "readinessProbe", out);
}

/// Whether the object runs to completion (Jobs, CronJobs and the pods a Job owns) rather than
/// serving: probes make no sense there.
fn is_batch(ctx: &Context<'_>) -> bool {
    matches!(ctx.object.kind, "Job" | "CronJob")
        || ctx
            .object
            .root
            .path(&["metadata", "ownerReferences"])
            .map(|refs| refs.items())
            .unwrap_or_default()
            .iter()
            .any(|r| r.get("kind").and_then(|k| k.as_str()) == Some("Job"))
}

fn missing_probe(ctx: &Context<'_>, probe: &str, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    if is_batch(ctx) {
        return;
    }
    for container in pod.containers() {
        // Init containers run to completion; ephemeral containers are debug shells. Sidecars
        // (init containers with restartPolicy: Always) serve like regular containers.
        let sidecar = container.kind == ContainerKind::Init
            && container.node.get("restartPolicy").and_then(|p| p.as_str()) == Some("Always");
        if container.kind != ContainerKind::Regular && !sidecar {
            continue;
        }
        if container.node.get(probe).is_some_and(|p| !p.is_null()) {
            continue;
        }
        out.push(ctx.violation(
            container.path.key(probe),
            format!("{} has no {probe}", container.describe()),
            None,
        ));
    }
}
