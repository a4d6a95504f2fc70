//! Capabilities beyond what the Pod Security Standards' baseline says: the ones that are a way
//! out of the container (critical on their own) and NET_RAW, which the runtimes grant by default.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::normalise_capability;
use crate::checks::refs::{MITRE_ESCAPE_TO_HOST, NSA_CISA, cis, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::object::Container;

/// Capabilities that hand a container the kernel or the node.
const ESCAPE_CAPABILITIES: &[&str] = &[
    "ALL",
    "BPF",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
    "PERFMON",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
];

pub const DANGEROUS: Check = Check {
    meta: CheckMeta {
        id: "dangerous-capabilities",
        title: "Dangerous capability added",
        severity: Severity::Critical,
        pss: None,
        description: "SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, BPF, PERFMON, NET_ADMIN, \
                      DAC_READ_SEARCH and SYS_BOOT each allow known container escapes or \
                      control of the node's kernel (mounting, loading modules, reading other \
                      processes' memory, rewriting the network).",
        remediation: "Remove the capability from `securityContext.capabilities.add`; grant the \
                      narrow one the program needs (e.g. NET_BIND_SERVICE) instead.",
        references: &[NSA_CISA, cis!("5.2.9"), MITRE_ESCAPE_TO_HOST],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(dangerous),
};

pub const NET_RAW: Check = Check {
    meta: CheckMeta {
        id: "net-raw-capability",
        title: "NET_RAW not dropped",
        severity: Severity::High,
        pss: None,
        description: "Container runtimes grant NET_RAW by default. It allows raw and packet \
                      sockets: ARP and DNS spoofing of neighbouring pods, and several kernel \
                      exploits.",
        remediation: "Add NET_RAW (or ALL) to `securityContext.capabilities.drop` and do not add \
                      it back.",
        references: &[NSA_CISA, cis!("5.2.8"), mitre!("T1557", "T1557")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(net_raw),
};

/// Reports each entry of `capabilities.add` that `bad` names and offers to remove it.
fn added(
    ctx: &Context<'_>,
    container: &Container<'_>,
    bad: impl Fn(&str) -> bool,
    what: &str,
    out: &mut Vec<Violation>,
) {
    let path = container
        .path
        .keys(&["securityContext", "capabilities", "add"]);
    let Some(adds) = path.resolve(ctx.object.root) else {
        return;
    };
    // From the end, so that each removal's index holds when the fixes apply one after another.
    for (i, cap) in adds.items().iter().enumerate().rev() {
        let Some(name) = cap.as_str() else { continue };
        if bad(&normalise_capability(name)) {
            let entry = path.index(i);
            out.push(ctx.violation(
                entry.clone(),
                format!("{} adds {what} capability {name}", container.describe()),
                Some(fix::remove(&entry)),
            ));
        }
    }
}

fn dangerous(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        added(
            ctx,
            &container,
            |c| ESCAPE_CAPABILITIES.contains(&c),
            "dangerous",
            out,
        );
    }
}

fn net_raw(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    if pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        added(ctx, &container, |c| c == "NET_RAW", "the", out);
        let drop_path = container
            .path
            .keys(&["securityContext", "capabilities", "drop"]);
        let dropped = drop_path.resolve(ctx.object.root).is_some_and(|d| {
            d.items()
                .iter()
                .filter_map(|c| c.as_str())
                .any(|c| matches!(normalise_capability(c).as_str(), "ALL" | "NET_RAW"))
        });
        if !dropped {
            out.push(ctx.violation(
                drop_path.clone(),
                format!("{} does not drop NET_RAW", container.describe()),
                Some(fix::append(ctx.object.root, &drop_path, json!("ALL"))),
            ));
        }
    }
}
