//! Namespaces: workloads in `default`, and Namespaces without a Pod Security Admission level.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::NAMESPACED;
use crate::path::FieldPath;

pub const DEFAULT_NAMESPACE: Check = Check {
    meta: CheckMeta {
        id: "default-namespace",
        title: "Object in the default namespace",
        severity: Severity::Low,
        pss: None,
        description: "The default namespace is where everything lands by accident: it rarely has \
                      NetworkPolicies, quotas or a Pod Security level, and RBAC granted there \
                      covers unrelated workloads. Only an explicit `namespace: default` is \
                      flagged; a manifest without a namespace gets one when it is applied \
                      (kubectl -n, Helm, Kustomize).",
        remediation: "Put the object in a namespace of its own application.",
        references: &[NSA_CISA, cis!("5.7.4")],
    },
    kinds: NAMESPACED,
    rule: Rule::Object(default_namespace),
};

pub const PSS_LABEL: Check = Check {
    meta: CheckMeta {
        id: "namespace-pss-label",
        title: "Namespace without a Pod Security level",
        severity: Severity::Low,
        pss: None,
        description: "Without a `pod-security.kubernetes.io/enforce` label the cluster's default \
                      Pod Security Admission level (usually privileged) applies: any pod is \
                      admitted.",
        remediation: "Label the Namespace `pod-security.kubernetes.io/enforce: restricted` (or \
                      `baseline` where restricted is not yet possible). The fix sets baseline, \
                      the level that breaks no common workload.",
        references: &[PSS, NSA_CISA, cis!("5.2.1")],
    },
    kinds: &["Namespace"],
    rule: Rule::Object(pss_label),
};

const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

fn default_namespace(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if NAMESPACED.contains(&ctx.object.kind) && ctx.object.namespace == Some("default") {
        out.push(ctx.violation(
            FieldPath::of(&["metadata", "namespace"]),
            format!(
                "{} \"{}\" is in the default namespace",
                ctx.object.kind, ctx.object.name
            ),
            None,
        ));
    }
}

fn pss_label(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if ctx.object.kind != "Namespace" || ctx.object.api_version != "v1" {
        return;
    }
    if ctx.object.label(ENFORCE_LABEL).is_some() {
        return;
    }
    let path = FieldPath::of(&["metadata", "labels", ENFORCE_LABEL]);
    let fix = fix::set(ctx.object.root, &path, json!("baseline"));
    out.push(ctx.violation(
        path,
        format!(
            "Namespace \"{}\" has no {ENFORCE_LABEL} label",
            ctx.object.name
        ),
        Some(fix),
    ));
}
