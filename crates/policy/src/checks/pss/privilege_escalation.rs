//! Restricted: Privilege Escalation (v1.8+): every container sets
//! `allowPrivilegeEscalation: false`; pods with `spec.os.name: windows` are exempt from v1.25.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::normalise_capability;
use crate::checks::refs::{NSA_CISA, PSS, cis, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::object::Container;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-privilege-escalation",
        title: "Privilege escalation allowed",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "Without `allowPrivilegeEscalation: false`, a process can gain privileges \
                      through setuid binaries or file capabilities (no_new_privs is not set).",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
        references: &[PSS, NSA_CISA, cis!("5.2.6"), mitre!("T1548", "T1548")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if !ctx.options.pss_version.at_least(8) {
        return;
    }
    let Some(pod) = ctx.object.pod() else { return };
    if ctx.options.pss_version.at_least(25) && pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        if container
            .security("allowPrivilegeEscalation")
            .and_then(|v| v.as_bool())
            != Some(false)
        {
            let path = container.security_path("allowPrivilegeEscalation");
            let mut message = format!(
                "{} does not set allowPrivilegeEscalation: false",
                container.describe()
            );
            // The API server rejects allowPrivilegeEscalation: false next to privileged: true
            // or an added SYS_ADMIN, so the fix would make the object invalid.
            let fix = match escalation_required(&container) {
                Some(why) => {
                    message.push_str(&format!(
                        " (no automatic fix while it {why}: Kubernetes rejects the combination)"
                    ));
                    None
                }
                None => Some(fix::set(ctx.object.root, &path, json!(false))),
            };
            out.push(ctx.violation(path, message, fix));
        }
    }
}

/// Why `container` needs privilege escalation in the API server's eyes, if it does.
fn escalation_required(container: &Container<'_>) -> Option<&'static str> {
    if container.security("privileged").and_then(|v| v.as_bool()) == Some(true) {
        return Some("is privileged");
    }
    let adds_sys_admin = container
        .security("capabilities")
        .and_then(|c| c.get("add"))
        .is_some_and(|add| {
            add.items()
                .iter()
                .filter_map(|c| c.as_str())
                .any(|c| normalise_capability(c) == "SYS_ADMIN")
        });
    adds_sys_admin.then_some("adds SYS_ADMIN")
}
