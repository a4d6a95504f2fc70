//! hostPath volumes onto the node's most sensitive places. The Pod Security Standards' baseline
//! forbids every hostPath; this check says which ones hand over the node outright, so that an
//! exemption for a node agent can still be judged.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

/// Container runtime API sockets: whoever reaches one starts privileged containers on the node.
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/podman/podman.sock",
    "/run/podman/podman.sock",
];

/// Directories whose contents (or whose subtrees) give away the node: its configuration,
/// credentials, kernel interfaces, logs, and the state of the kubelet and the runtimes.
const SENSITIVE_DIRS: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/var/run",
    "/run",
    "/var/log",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/etcd",
    "/etc/kubernetes",
];

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sensitive-host-path",
        title: "hostPath onto a sensitive node path",
        severity: Severity::Critical,
        pss: None,
        description: "Mounting the node's root, /etc, /proc, /sys, /dev, /var/run, /var/log, the \
                      kubelet's or the runtime's state, or a container runtime socket gives the \
                      pod the node: credentials, other pods' files, or the power to start \
                      privileged containers.",
        remediation: "Remove the hostPath volume; use emptyDir, configMap, secret or a \
                      PersistentVolumeClaim. A node agent that truly needs it should be exempted \
                      by name with a reason (`.haechi.yaml` exemptions).",
        references: &[NSA_CISA, cis!("5.2.12"), MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for (path, volume) in pod.volumes() {
        let Some(dir) = volume.path(&["hostPath", "path"]).and_then(|p| p.as_str()) else {
            continue;
        };
        let Some(why) = sensitivity(dir) else {
            continue;
        };
        let name = volume.get("name").and_then(|n| n.as_str()).unwrap_or("");
        out.push(ctx.violation(
            path.keys(&["hostPath", "path"]),
            format!("volume \"{name}\" mounts {dir} from the node ({why})"),
            Some(fix::set(
                ctx.object.root,
                &path,
                json!({"name": name, "emptyDir": {}}),
            )),
        ));
    }
}

/// Why mounting `dir` from the node is dangerous, or `None` when it is not one of the known
/// sensitive places.
fn sensitivity(dir: &str) -> Option<&'static str> {
    let dir = normalise(dir);
    if RUNTIME_SOCKETS.contains(&dir.as_str()) {
        return Some("a container runtime socket: control of every container on the node");
    }
    if dir == "/" {
        return Some("the node's whole filesystem");
    }
    SENSITIVE_DIRS
        .iter()
        .any(|s| dir == *s || dir.starts_with(&format!("{s}/")))
        .then_some("node configuration, credentials or kernel interfaces")
}

/// Resolves `.`, `..` and repeated or trailing slashes, as the kubelet's path cleaning does.
fn normalise(dir: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_before_matching() {
        assert_eq!(normalise("/etc/../etc/"), "/etc");
        assert_eq!(normalise("//var//run/docker.sock/"), "/var/run/docker.sock");
        assert_eq!(normalise("/"), "/");
    }

    #[test]
    fn sensitive_paths() {
        assert!(sensitivity("/var/run/docker.sock/").is_some());
        assert!(sensitivity("/etc/kubernetes/pki").is_some());
        assert!(sensitivity("/./").is_some());
        assert!(sensitivity("/data/cache").is_none());
        assert!(sensitivity("/etcd-backup").is_none());
    }
}
