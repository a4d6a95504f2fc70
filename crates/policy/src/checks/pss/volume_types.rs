//! Restricted: Volume Types (v1.0+): only configMap, csi, downwardAPI, emptyDir, ephemeral,
//! persistentVolumeClaim, projected and secret volumes.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS};
use crate::fix;
use crate::kinds::WORKLOADS;

const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-volume-types",
        title: "Volume type outside the restricted set",
        severity: Severity::Medium,
        pss: Some(PssLevel::Restricted),
        description: "In-tree volume types other than the restricted set (nfs, iscsi, rbd, \
                      hostPath, …) give the pod direct access to storage the cluster does not mediate.",
        remediation: "Use configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, \
                      projected or secret volumes; reach other storage through a PersistentVolumeClaim.",
        references: &[PSS, NSA_CISA],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for (path, volume) in pod.volumes() {
        let name = volume.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let disallowed = volume
            .entries()
            .iter()
            .find(|(k, v)| k.text != "name" && !v.is_null() && !ALLOWED.contains(&k.text.as_str()));
        if let Some((kind, _)) = disallowed {
            out.push(ctx.violation(
                path.key(&kind.text),
                format!("volume \"{name}\" is of type {}", kind.text),
                Some(fix::set(
                    ctx.object.root,
                    &path,
                    json!({"name": name, "emptyDir": {}}),
                )),
            ));
        }
    }
}
