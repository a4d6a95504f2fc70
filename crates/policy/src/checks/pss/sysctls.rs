//! Baseline: Sysctls. Only namespaced sysctls known to be safe may be set; the list grew in
//! v1.27 (`ip_local_reserved_ports`), v1.29 (TCP keepalive and fin timeout), v1.32 (TCP
//! buffer sizes) and v1.37 (slow start after idle, notsent low-water mark).

use crate::check::{Check, CheckMeta, Context, PssLevel, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, PSS, cis};
use crate::fix;
use crate::kinds::WORKLOADS;

/// Safe sysctls and the version that allowed them.
const SAFE: &[(&str, u16)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37),
    ("net.ipv4.tcp_notsent_lowat", 37),
];

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "pss-sysctls",
        title: "Unsafe sysctl",
        severity: Severity::High,
        pss: Some(PssLevel::Baseline),
        description: "Sysctls outside the safe, namespaced set can change the node's kernel \
                      behaviour for every pod on it or disable security mechanisms.",
        remediation: "Remove the sysctl from `spec.securityContext.sysctls`, or set it on the node \
                      and schedule the workload there.",
        references: &[PSS, NSA_CISA, cis!("5.2.1")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(run),
};

fn run(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    let list = pod.security_path("sysctls");
    let Some(sysctls) = list.resolve(ctx.object.root) else {
        return;
    };
    let version = ctx.options.pss_version;
    for (i, sysctl) in sysctls.items().iter().enumerate().rev() {
        let name = sysctl.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let safe = SAFE
            .iter()
            .any(|(s, since)| *s == name && version.at_least(*since));
        if !safe {
            let path = list.index(i);
            out.push(ctx.violation(
                path.key("name"),
                format!("sysctl {name} is not in the safe set of {version}"),
                Some(fix::remove(&path)),
            ));
        }
    }
}
