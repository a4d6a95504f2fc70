//! Service account tokens mounted into pods that never talk to the Kubernetes API.

use serde_json::json;

use crate::check::{Check, CheckMeta, Condition, Context, Pending, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::path::FieldPath;

pub const POD_AUTOMOUNT: Check = Check {
    meta: CheckMeta {
        id: "automount-service-account-token",
        title: "Service account token mounted",
        severity: Severity::Medium,
        pss: None,
        description: "Unless told otherwise, Kubernetes mounts an API token into every container. \
                      An intruder uses it to explore and attack the cluster with the service \
                      account's rights. A pod passes when it, or its ServiceAccount (when \
                      scanned with it), sets automountServiceAccountToken: false.",
        remediation: "Set `automountServiceAccountToken: false` in the pod spec (or on its \
                      ServiceAccount) unless the program calls the Kubernetes API.",
        references: &[NSA_CISA, cis!("5.1.6"), mitre!("T1552.007", "T1552/007")],
    },
    kinds: WORKLOADS,
    rule: Rule::Depends(pod_automount),
};

pub const SERVICE_ACCOUNT_AUTOMOUNT: Check = Check {
    meta: CheckMeta {
        id: "service-account-automount",
        title: "ServiceAccount mounts its token by default",
        severity: Severity::Low,
        pss: None,
        description: "A ServiceAccount without automountServiceAccountToken: false has its token \
                      mounted into every pod that uses it, including pods that never need it.",
        remediation: "Set `automountServiceAccountToken: false` on the ServiceAccount and opt in \
                      per pod where the API is needed.",
        references: &[NSA_CISA, cis!("5.1.6"), mitre!("T1552.007", "T1552/007")],
    },
    kinds: &["ServiceAccount"],
    rule: Rule::Object(service_account),
};

fn pod_automount(ctx: &Context<'_>, out: &mut Vec<Pending>) {
    let Some(pod) = ctx.object.pod() else { return };
    let path = pod.spec_path.key("automountServiceAccountToken");
    let condition = match pod
        .field("automountServiceAccountToken")
        .and_then(|v| v.as_bool())
    {
        Some(false) => return,
        // Explicitly true: the pod overrides its ServiceAccount.
        Some(true) => None,
        // Unset: the ServiceAccount decides, when it is scanned too. A ServiceAccount manifest
        // without a namespace lands where the workload does.
        None => Some(Condition::TokenNotRefused {
            namespace: ctx.object.namespace.map(str::to_string),
            account: pod
                .field("serviceAccountName")
                .or(pod.field("serviceAccount"))
                .and_then(|n| n.as_str())
                .unwrap_or("default")
                .to_string(),
        }),
    };
    let fix = fix::set(ctx.object.root, &path, json!(false));
    out.push(Pending {
        violation: ctx.violation(
            path,
            "the pod mounts a service account token (automountServiceAccountToken is not false)",
            Some(fix),
        ),
        condition,
    });
}

fn service_account(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    if ctx.object.kind != "ServiceAccount" || ctx.object.api_version != "v1" {
        return;
    }
    let path = FieldPath::of(&["automountServiceAccountToken"]);
    if path.resolve(ctx.object.root).and_then(|v| v.as_bool()) != Some(false) {
        let fix = fix::set(ctx.object.root, &path, json!(false));
        out.push(ctx.violation(
            path,
            format!(
                "ServiceAccount \"{}\" does not set automountServiceAccountToken: false",
                ctx.object.name
            ),
            Some(fix),
        ));
    }
}
