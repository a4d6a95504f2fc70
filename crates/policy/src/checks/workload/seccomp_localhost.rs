//! Localhost seccomp profiles that are not on the node. The kubelet resolves
//! `localhostProfile` below its seccomp directory (`/var/lib/kubelet/seccomp`); a missing
//! file makes every start of the container fail. Runs only when the scan is given that
//! directory (`haechi scan --seccomp-dir`), so the admission webhook never reads the disk.

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::PSS;
use crate::kinds::WORKLOADS;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "seccomp-localhost-missing",
        title: "Localhost seccomp profile not installed",
        severity: Severity::High,
        pss: None,
        description: "A `seccompProfile` of type `Localhost` names a file below the kubelet's \
                      seccomp directory that does not exist there (checked with `haechi scan \
                      --seccomp-dir DIR`); the container fails to start with \
                      CreateContainerError.",
        remediation: "Install the profile on every node at DIR/<localhostProfile> (docs/seccomp.md \
                      shows a DaemonSet that does), or fix `localhostProfile`. Record one with \
                      `haechi seccomp record`.",
        references: &[PSS],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(dir) = &ctx.options.seccomp_dir else {
        return;
    };
    let Some(pod) = ctx.object.pod() else { return };
    let mut profiles = vec![("pod".to_string(), pod.security_path("seccompProfile"))];
    profiles.extend(
        pod.containers()
            .map(|c| (c.describe(), c.security_path("seccompProfile"))),
    );
    for (owner, profile) in profiles {
        let root = ctx.object.root;
        if profile.key("type").resolve(root).and_then(|t| t.as_str()) != Some("Localhost") {
            continue;
        }
        let path = profile.key("localhostProfile");
        match path.resolve(root).and_then(|p| p.as_str()) {
            None => out.push(ctx.violation(
                profile.key("type"),
                format!("{owner} seccompProfile is Localhost but names no localhostProfile"),
                None,
            )),
            Some(name) if !dir.join(name).is_file() => {
                let message = format!(
                    "{owner} seccomp profile {name} is not installed ({} does not exist)",
                    dir.join(name).display()
                );
                out.push(ctx.violation(path, message, None));
            }
            Some(_) => {}
        }
    }
}
