//! Read-only root filesystem, with emptyDir volumes for the paths that must stay writable.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis};
use crate::fix::{self, Fix};
use crate::kinds::WORKLOADS;
use crate::object::{Container, ContainerKind, PodTemplate};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "readonly-root-filesystem",
        title: "Writable root filesystem",
        severity: Severity::Medium,
        pss: None,
        description: "A writable root filesystem lets an intruder drop tools, rewrite binaries and \
                      persist inside the container.",
        remediation: "Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` \
                      volume on each path the program must write, e.g. /tmp, /var/run, \
                      /var/cache/nginx (the paths are configurable: `writablePaths`).",
        references: &[NSA_CISA, cis!("5.7.3")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        // Ephemeral containers cannot have volume mounts added after the fact; they are debug
        // tools attached by hand.
        if container.kind == ContainerKind::Ephemeral {
            continue;
        }
        if container
            .security("readOnlyRootFilesystem")
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            continue;
        }
        let fix = read_only_with_scratch(ctx, pod, &container);
        out.push(ctx.violation(
            container.security_path("readOnlyRootFilesystem"),
            format!(
                "{} does not set readOnlyRootFilesystem: true",
                container.describe()
            ),
            Some(fix),
        ));
    }
}

/// Sets `readOnlyRootFilesystem: true` and gives every configured writable path the container
/// does not mount yet an `emptyDir`.
fn read_only_with_scratch(
    ctx: &Context<'_>,
    pod: &PodTemplate<'_>,
    container: &Container<'_>,
) -> Fix {
    let root = ctx.object.root;
    let mut patch = fix::set(
        root,
        &container.security_path("readOnlyRootFilesystem"),
        json!(true),
    );
    let mounted: Vec<&str> = container
        .node
        .get("volumeMounts")
        .map(|m| m.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.get("mountPath")?.as_str())
        .collect();
    let mut taken: Vec<String> = pod
        .volumes()
        .filter_map(|(_, v)| Some(v.get("name")?.as_str()?.to_string()))
        .collect();
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for path in &ctx.options.writable_paths {
        if mounted
            .iter()
            .any(|m| m.trim_end_matches('/') == path.trim_end_matches('/'))
        {
            continue;
        }
        let name = volume_name(path, &taken);
        taken.push(name.clone());
        mounts.push(json!({"name": name, "mountPath": path}));
        volumes.push(json!({"name": name, "emptyDir": {}}));
    }
    // Each append is computed against the original object; appending with `-` keeps them valid
    // when applied in sequence.
    let mounts_path = container.path.key("volumeMounts");
    let volumes_path = pod.spec_path.key("volumes");
    append_all(root, &mounts_path, mounts, &mut patch);
    append_all(root, &volumes_path, volumes, &mut patch);
    patch
}

fn append_all(
    root: &haechi_manifest::Node,
    path: &crate::path::FieldPath,
    values: Vec<serde_json::Value>,
    patch: &mut Fix,
) {
    let exists = path.resolve(root).is_some_and(|n| n.is_seq());
    if exists {
        for value in values {
            patch.extend(fix::append(root, path, value));
        }
    } else if !values.is_empty() {
        patch.extend(fix::set(root, path, serde_json::Value::Array(values)));
    }
}

/// A volume name for `path` (`/var/cache/nginx` → `var-cache-nginx`) not in `taken`.
fn volume_name(path: &str, taken: &[String]) -> String {
    let base: String = path
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "scratch".to_string()
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::volume_name;

    #[test]
    fn volume_names_are_dns_labels_and_unique() {
        assert_eq!(volume_name("/var/cache/nginx", &[]), "var-cache-nginx");
        assert_eq!(volume_name("/tmp", &["tmp".into()]), "tmp-2");
        assert_eq!(volume_name("/", &[]), "scratch");
    }
}
