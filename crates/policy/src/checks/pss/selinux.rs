//! Baseline: SELinux (v1.0+): `seLinuxOptions.type` may only be a container type
//! (`container_t`, `container_init_t`, `container_kvm_t`), and `user` and `role` must be unset,
//! at pod and container level.

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::path::FieldPath;

const ALLOWED_TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-selinux",
        title: "Custom SELinux user, role or type",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "Setting an SELinux user, role or a non-container type can lift the \
                      container out of the confinement the runtime's policy gives it.",
        remediation: "Remove `seLinuxOptions.user` and `.role`, and use only container_t, \
                      container_init_t or container_kvm_t as `.type`.",
        references: &[PSS, NSA_CISA],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    let mut options: Vec<FieldPath> = vec![pod.security_path("seLinuxOptions")];
    options.extend(pod.containers().map(|c| c.security_path("seLinuxOptions")));
    for base in options {
        for field in ["type", "user", "role"] {
            let path = base.key(field);
            let Some(value) = path.resolve(ctx.object.root).and_then(|v| v.as_str()) else {
                continue;
            };
            let allowed = match field {
                "type" => ALLOWED_TYPES.contains(&value),
                _ => value.is_empty(),
            };
            if !allowed {
                let fix = fix::remove(&path);
                out.push(ctx.violation(
                    path,
                    format!("seLinuxOptions.{field} is {value}"),
                    Some(fix),
                ));
            }
        }
    }
}
