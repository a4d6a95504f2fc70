//! Services that reach past the cluster network.

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, mitre};
use crate::fix;
use crate::path::FieldPath;

pub const EXTERNAL_IPS: Check = Check {
    meta: CheckMeta {
        id: "service-external-ips",
        title: "Service with externalIPs",
        severity: Severity::High,
        pss: None,
        description: "Whoever may create a Service with `externalIPs` can intercept traffic the \
                      cluster sends to those addresses (CVE-2020-8554, unpatchable; the \
                      DenyServiceExternalIPs admission plugin exists for it).",
        remediation: "Remove `spec.externalIPs`; expose the Service with a LoadBalancer or an \
                      Ingress instead.",
        references: &[NSA_CISA, mitre!("T1557", "T1557")],
    },
    kinds: &["Service"],
    rule: Rule::Object(external_ips),
};

pub const NODE_PORT: Check = Check {
    meta: CheckMeta {
        id: "service-node-port",
        title: "Service opens a port on every node",
        severity: Severity::Low,
        pss: None,
        description: "A NodePort Service listens on every node's address, bypassing the load \
                      balancer, the Ingress and whatever filtering sits in front of them.",
        remediation: "Use a ClusterIP Service behind an Ingress or Gateway, or a LoadBalancer.",
        references: &[NSA_CISA],
    },
    kinds: &["Service"],
    rule: Rule::Object(node_port),
};

fn is_service(ctx: &Context<'_>) -> bool {
    ctx.object.kind == "Service" && ctx.object.api_version == "v1"
}

fn external_ips(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !is_service(ctx) {
        return;
    }
    let path = FieldPath::of(&["spec", "externalIPs"]);
    let Some(ips) = path.resolve(ctx.object.root) else {
        return;
    };
    if ips.items().is_empty() {
        return;
    }
    let list: Vec<&str> = ips.items().iter().filter_map(|ip| ip.as_str()).collect();
    out.push(ctx.violation(
        path.clone(),
        format!(
            "Service \"{}\" claims external IPs {}",
            ctx.object.name,
            list.join(", ")
        ),
        Some(fix::remove(&path)),
    ));
}

fn node_port(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !is_service(ctx) {
        return;
    }
    let type_path = FieldPath::of(&["spec", "type"]);
    if type_path.resolve(ctx.object.root).and_then(|t| t.as_str()) == Some("NodePort") {
        out.push(ctx.violation(
            type_path,
            format!("Service \"{}\" is of type NodePort", ctx.object.name),
            None,
        ));
    }
}
