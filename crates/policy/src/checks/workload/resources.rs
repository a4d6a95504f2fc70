//! CPU and memory requests and limits.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::object::{Container, ContainerKind};

pub const REQUESTS: Check = Check {
    meta: CheckMeta {
        id: "resource-requests",
        title: "No CPU or memory request",
        severity: Severity::Low,
        pss: None,
        description: "Without requests the scheduler places the pod blind and it is the first \
                      evicted under pressure; a noisy neighbour can starve it.",
        remediation: "Set `resources.requests.cpu` and `resources.requests.memory` to what the \
                      program needs at steady state.",
        references: &[NSA_CISA],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(requests),
};

pub const LIMITS: Check = Check {
    meta: CheckMeta {
        id: "resource-limits",
        title: "No CPU or memory limit",
        severity: Severity::Medium,
        pss: None,
        description: "A container without limits can take the node's memory and CPU: a \
                      compromised or buggy workload becomes a denial of service for every pod \
                      on the node (and a cryptominer's free lunch).",
        remediation: "Set `resources.limits.memory` and `resources.limits.cpu` (or enforce them \
                      with a LimitRange in the namespace).",
        references: &[NSA_CISA, mitre!("T1496", "T1496")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(limits),
};

/// Values a fix fills in: (resource, request, limit).
const DEFAULTS: [(&str, &str, &str); 2] = [("cpu", "100m", "500m"), ("memory", "128Mi", "512Mi")];

/// Containers that can have resources (ephemeral containers cannot).
fn resourced<'a>(ctx: &Context<'a>) -> Vec<Container<'a>> {
    ctx.object
        .pod()
        .map(|pod| {
            pod.containers()
                .filter(|c| c.kind != ContainerKind::Ephemeral)
                .collect()
        })
        .unwrap_or_default()
}

fn quantity<'a>(container: &Container<'a>, section: &str, resource: &str) -> Option<&'a str> {
    container
        .node
        .path(&["resources", section, resource])?
        .as_str()
}

fn requests(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    for container in resourced(ctx) {
        for (resource, request, _) in DEFAULTS {
            if quantity(&container, "requests", resource).is_some() {
                continue;
            }
            // Kubernetes defaults a missing request to the limit; stay at or below it.
            let value = match quantity(&container, "limits", resource) {
                Some(limit) if smaller(limit, request) => limit,
                _ => request,
            };
            let path = container.path.keys(&["resources", "requests", resource]);
            let fix = fix::set(ctx.object.root, &path, json!(value));
            out.push(ctx.violation(
                path,
                format!("{} has no {resource} request", container.describe()),
                Some(fix),
            ));
        }
    }
}

fn limits(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    for container in resourced(ctx) {
        for (resource, _, limit) in DEFAULTS {
            if quantity(&container, "limits", resource).is_some() {
                continue;
            }
            // A limit below the request is invalid; never suggest one.
            let value = match quantity(&container, "requests", resource) {
                Some(request) if smaller(limit, request) => request,
                _ => limit,
            };
            let path = container.path.keys(&["resources", "limits", resource]);
            let fix = fix::set(ctx.object.root, &path, json!(value));
            out.push(ctx.violation(
                path,
                format!("{} has no {resource} limit", container.describe()),
                Some(fix),
            ));
        }
    }
}

/// Whether quantity `a` is smaller than `b`; `false` when either does not parse.
fn smaller(a: &str, b: &str) -> bool {
    matches!((parse_quantity(a), parse_quantity(b)), (Some(a), Some(b)) if a < b)
}

/// A Kubernetes resource quantity (`500m`, `1.5`, `128Mi`, `1G`, `1e3`) as a number.
fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare() {
        assert!(smaller("100m", "1"));
        assert!(smaller("128Mi", "1G"));
        assert!(!smaller("2Gi", "512Mi"));
        assert!(!smaller("bogus", "1"));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1.5Gi"), Some(1.5 * 1024f64.powi(3)));
    }
}
