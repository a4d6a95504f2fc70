//! Capabilities. Baseline (v1.0+): `capabilities.add` only from the default set Docker grants.
//! Restricted (v1.22+): `capabilities.drop` must include ALL and `add` may only hold
//! NET_BIND_SERVICE; pods with `spec.os.name: windows` are exempt from v1.25.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

/// Capabilities the baseline level allows to add.
const BASELINE_ALLOWED: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub const BASELINE: Check = Check {
    meta: CheckMeta {
        id: "pss-capabilities-baseline",
        title: "Capability added beyond the default set",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "Capabilities beyond the container runtime's default set (SYS_ADMIN, \
                      NET_ADMIN, SYS_PTRACE, …) give root-like powers over the node's kernel.",
        remediation: "Remove capabilities outside AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, \
                      KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT \
                      from `securityContext.capabilities.add`.",
        references: &[PSS, NSA_CISA, cis!("5.2.9"), MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(baseline),
};

pub const RESTRICTED: Check = Check {
    meta: CheckMeta {
        id: "pss-capabilities-restricted",
        title: "Capabilities not dropped",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "A restricted container drops every capability and adds back at most \
                      NET_BIND_SERVICE.",
        remediation: "Set `securityContext.capabilities.drop: [ALL]` and add only NET_BIND_SERVICE \
                      when the container binds a port below 1024.",
        references: &[PSS, NSA_CISA, cis!("5.2.10")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(restricted),
};

fn baseline(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    disallowed_adds(ctx, out, |cap| BASELINE_ALLOWED.contains(&cap));
}

fn disallowed_adds(ctx: &Context<'_>, out: &mut Vec<Violation>, allowed: fn(&str) -> bool) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        let add_path = container
            .path
            .keys(&["securityContext", "capabilities", "add"]);
        let Some(adds) = add_path.resolve(ctx.object.root) else {
            continue;
        };
        // Report and remove from the end so that each fix's index stays valid on its own.
        for (i, cap) in adds.items().iter().enumerate().rev() {
            let name = cap.as_str().unwrap_or("");
            if !allowed(name) {
                let path = add_path.index(i);
                out.push(ctx.violation(
                    path.clone(),
                    format!("{} adds capability {name}", container.describe()),
                    Some(fix::remove(&path)),
                ));
            }
        }
    }
}

fn restricted(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !ctx.options.pss_version.at_least(22) {
        return;
    }
    let Some(pod) = ctx.object.pod() else { return };
    if ctx.options.pss_version.at_least(25) && pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        let drop_path = container
            .path
            .keys(&["securityContext", "capabilities", "drop"]);
        let drops_all = drop_path
            .resolve(ctx.object.root)
            .is_some_and(|d| d.items().iter().any(|c| c.as_str() == Some("ALL")));
        if !drops_all {
            out.push(ctx.violation(
                drop_path.clone(),
                format!("{} does not drop ALL capabilities", container.describe()),
                Some(fix::append(ctx.object.root, &drop_path, json!("ALL"))),
            ));
        }
    }
    disallowed_adds(ctx, out, |cap| cap == "NET_BIND_SERVICE");
}
