//! Linting a profile, comparing it with Docker's default, and combining profiles (merge, diff).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::arch::{self, Arch};
use crate::profile::{ACTIONS, Allowance, ArgCondition, Condition, EPERM, Profile, Rule};

/// Docker Engine's default profile, vendored unchanged (see `data/SOURCE`).
const DOCKER_DEFAULT: &str = include_str!("../data/docker-default.json");

/// Docker's default profile.
pub fn docker_default() -> Profile {
    Profile::parse(DOCKER_DEFAULT, "docker-default.json").expect("the vendored profile parses")
}

/// Syscalls that let a container escape or weaken its isolation, and why.
pub const DANGEROUS: [(&str, &str); 16] = [
    ("ptrace", "reads and writes other processes' memory"),
    ("process_vm_writev", "writes other processes' memory"),
    ("bpf", "loads eBPF programs into the kernel"),
    (
        "mount",
        "changes the filesystem view; with CAP_SYS_ADMIN, escapes",
    ),
    ("umount2", "removes mounts that hide host paths"),
    ("pivot_root", "changes the root filesystem"),
    (
        "unshare",
        "creates namespaces (user namespaces open kernel attack surface)",
    ),
    ("setns", "joins other namespaces"),
    ("keyctl", "the kernel keyring is not namespaced"),
    ("add_key", "the kernel keyring is not namespaced"),
    ("kexec_load", "replaces the running kernel"),
    ("init_module", "loads kernel modules"),
    ("finit_module", "loads kernel modules"),
    (
        "open_by_handle_at",
        "opens host files by handle (the 'shocker' escape)",
    ),
    (
        "userfaultfd",
        "stalls kernel threads; a staple of kernel exploits",
    ),
    (
        "perf_event_open",
        "kernel profiling; frequent exploit vector",
    ),
];

pub use haechi_report::Severity;

/// One problem in a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Short identifier (`unknown-syscall`, `duplicate`, `dangerous`, ...).
    pub kind: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// What `check` found, and the comparison with Docker's default.
#[derive(Clone, Debug)]
pub struct Report {
    /// Problems, worst first.
    pub findings: Vec<Finding>,
    /// Per architecture: syscalls the profile allows, and Docker's default allows.
    pub counts: BTreeMap<Arch, (usize, usize)>,
}

fn finding(severity: Severity, kind: &'static str, message: String) -> Finding {
    Finding {
        severity,
        kind,
        message,
    }
}

/// Lints `profile` and compares it with Docker's default on each of its architectures (the
/// native one when it names none).
pub fn check(profile: &Profile) -> Report {
    let mut findings = Vec::new();
    if !profile.is_allow_list() {
        findings.push(finding(
            Severity::High,
            "not-allow-list",
            format!(
                "defaultAction {} allows every syscall no rule names; use SCMP_ACT_ERRNO \
                 (with defaultErrnoRet {EPERM}) and list what the workload needs",
                profile.default_action
            ),
        ));
    }
    for action in
        std::iter::once(&profile.default_action).chain(profile.syscalls.iter().map(|r| &r.action))
    {
        if !ACTIONS.contains(&action.as_str()) {
            findings.push(finding(
                Severity::High,
                "unknown-action",
                format!("unknown action {action}; one of {}", ACTIONS.join(", ")),
            ));
        }
    }
    let named_arches = profile.architectures.iter().chain(
        (profile.arch_map.iter())
            .flat_map(|m| std::iter::once(&m.architecture).chain(&m.sub_architectures)),
    );
    for name in named_arches {
        if !arch::is_known_arch(name) {
            findings.push(finding(
                Severity::High,
                "unknown-architecture",
                format!(
                    "architecture {name} is not one libseccomp knows (SCMP_ARCH_X86_64, \
                     SCMP_ARCH_AARCH64, ...); runtimes refuse the profile"
                ),
            ));
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, rule) in profile.syscalls.iter().enumerate() {
        if rule.names.is_empty() {
            findings.push(finding(
                Severity::Medium,
                "empty-rule",
                format!("rule {} ({}) names no syscall", index + 1, rule.action),
            ));
        }
        for name in &rule.names {
            if !arch::is_known(name) {
                findings.push(finding(
                    Severity::High,
                    "unknown-syscall",
                    format!(
                        "rule {}: no architecture has a syscall called `{name}`; runtimes \
                         refuse or skip it, so check the spelling",
                        index + 1
                    ),
                ));
            }
            // Docker repeats a name under different conditions on purpose.
            if unconditional(rule) {
                *seen.entry(name).or_default() += 1;
            }
        }
    }
    for (name, times) in &seen {
        if *times > 1 {
            findings.push(finding(
                Severity::Low,
                "duplicate",
                format!("`{name}` is listed {times} times; keep one"),
            ));
        }
    }
    let mut arches = profile.arches();
    if arches.is_empty() {
        arches.extend(Arch::native());
    }
    let docker = docker_default();
    let mut counts = BTreeMap::new();
    let mut dangerous = BTreeSet::new();
    for arch in arches {
        let allowed = profile.allowed(arch);
        if profile.is_allow_list() {
            dangerous.extend(DANGEROUS.iter().filter(|(n, _)| allowed.contains(n)));
        }
        counts.insert(arch, (allowed.len(), docker.allowed(arch).len()));
    }
    for (name, why) in dangerous {
        findings.push(finding(
            Severity::High,
            "dangerous",
            format!("allows `{name}`: {why}; remove it unless the workload truly needs it"),
        ));
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Report { findings, counts }
}

fn unconditional(rule: &Rule) -> bool {
    rule.args.is_empty()
        && rule.includes.caps.is_empty()
        && rule.includes.arches.is_empty()
        && rule.excludes.caps.is_empty()
        && rule.excludes.arches.is_empty()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(
                f,
                "  {:<6} {:<20} {}",
                finding.severity, finding.kind, finding.message
            )?;
        }
        if self.findings.is_empty() {
            writeln!(f, "  no findings")?;
        }
        for (arch, (ours, docker)) in &self.counts {
            let fewer = docker.saturating_sub(*ours);
            writeln!(
                f,
                "  {arch}: allows {ours} syscalls; Docker's default allows {docker}: {fewer} fewer \
                 ({:.0}% of Docker's)",
                100.0 * *ours as f64 / (*docker).max(1) as f64
            )?;
        }
        Ok(())
    }
}

/// The union of allow-list profiles: every syscall any of them allows on each architecture
/// they name, as one plain profile. A syscall one of them allows only under argument
/// conditions stays conditional (unless another allows it always), and every architecture
/// they list is kept, sub-architectures (`SCMP_ARCH_X86`, `SCMP_ARCH_X32`) included.
pub fn merge(profiles: &[(String, Profile)]) -> Result<Profile, crate::Error> {
    let mut allowed: BTreeMap<&'static str, Allowance> = BTreeMap::new();
    let mut architectures: Vec<String> = Vec::new();
    for (origin, profile) in profiles {
        if !profile.is_allow_list() {
            return Err(crate::Error::Convert(format!(
                "{origin}: defaultAction {} is not an allow list; only allow lists merge",
                profile.default_action
            )));
        }
        let mut arches = profile.arches();
        if arches.is_empty() {
            arches.extend(Arch::native());
        }
        let mut names = profile.architecture_names();
        if names.is_empty() {
            names.extend(arches.iter().map(|a| a.scmp().to_owned()));
        }
        for name in names {
            if !architectures.contains(&name) {
                architectures.push(name);
            }
        }
        for arch in arches {
            for (name, allowance) in profile.allowances(arch) {
                allowed
                    .entry(name)
                    .or_insert_with(|| Allowance::When(BTreeSet::new()))
                    .union(&allowance);
            }
        }
    }
    let always: Vec<String> = (allowed.iter())
        .filter(|(_, a)| **a == Allowance::Always)
        .map(|(n, _)| (*n).to_owned())
        .collect();
    // Conditional allows: one rule per condition, with every syscall that shares it.
    let mut conditional: BTreeMap<&Condition, Vec<String>> = BTreeMap::new();
    for (name, allowance) in &allowed {
        if let Allowance::When(conditions) = allowance {
            for condition in conditions {
                conditional
                    .entry(condition)
                    .or_default()
                    .push((*name).to_owned());
            }
        }
    }
    let mut syscalls = vec![Rule {
        names: always,
        action: "SCMP_ACT_ALLOW".into(),
        ..Rule::default()
    }];
    syscalls.extend(conditional.into_iter().map(|(condition, names)| Rule {
        names,
        action: "SCMP_ACT_ALLOW".into(),
        args: condition.iter().map(ArgCondition::arg).collect(),
        ..Rule::default()
    }));
    Ok(Profile {
        default_action: "SCMP_ACT_ERRNO".into(),
        default_errno_ret: Some(EPERM),
        architectures,
        syscalls,
        ..Profile::default()
    })
}

/// What two profiles allow differently on one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// The architecture compared.
    pub arch: Arch,
    /// Allowed by the first profile only.
    pub only_a: Vec<&'static str>,
    /// Allowed by the second profile only.
    pub only_b: Vec<&'static str>,
    /// Allowed by both, under different argument conditions: (name, first, second).
    pub conditions: Vec<(&'static str, Allowance, Allowance)>,
    /// Allowed by both alike.
    pub common: usize,
}

impl Diff {
    /// Whether the two profiles allow the same on this architecture.
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty() && self.conditions.is_empty()
    }
}

/// Compares what `a` and `b` allow on each architecture either names, argument conditions
/// included.
pub fn diff(a: &Profile, b: &Profile) -> Vec<Diff> {
    let mut arches = a.arches();
    arches.extend(b.arches());
    if arches.is_empty() {
        arches.extend(Arch::native());
    }
    arches
        .into_iter()
        .map(|arch| {
            let (x, y) = (a.allowed(arch), b.allowed(arch));
            let (ax, ay) = (a.allowances(arch), b.allowances(arch));
            let mut conditions = Vec::new();
            let mut common = 0;
            for name in x.intersection(&y) {
                match (ax.get(name), ay.get(name)) {
                    (Some(p), Some(q)) if p != q => conditions.push((*name, p.clone(), q.clone())),
                    _ => common += 1,
                }
            }
            Diff {
                arch,
                only_a: x.difference(&y).copied().collect(),
                only_b: y.difference(&x).copied().collect(),
                conditions,
                common,
            }
        })
        .collect()
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} in both, {} only in the first, {} only in the second, {} under other \
             argument conditions",
            self.arch,
            self.common,
            self.only_a.len(),
            self.only_b.len(),
            self.conditions.len()
        )?;
        for name in &self.only_a {
            writeln!(f, "- {name}")?;
        }
        for name in &self.only_b {
            writeln!(f, "+ {name}")?;
        }
        for (name, first, second) in &self.conditions {
            writeln!(f, "~ {name}: first {first}; second {second}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        Profile::parse(text, "test.json").unwrap()
    }

    #[test]
    fn docker_default_allows_about_three_hundred_syscalls() {
        let docker = docker_default();
        let x86 = docker.allowed(Arch::X86_64);
        let arm = docker.allowed(Arch::Aarch64);
        assert!((280..330).contains(&x86.len()), "{}", x86.len());
        assert!((250..330).contains(&arm.len()), "{}", arm.len());
        // Capability-gated and blocked ones stay out; argument-filtered ones count, and so
        // does ptrace (Docker allows it from kernel 4.8 on).
        assert!(x86.contains("ptrace"));
        for blocked in ["mount", "bpf", "kexec_load", "unshare", "keyctl"] {
            assert!(!x86.contains(blocked), "{blocked}");
        }
        assert!(
            x86.contains("chroot"),
            "CAP_SYS_CHROOT is a default capability"
        );
        assert!(x86.contains("personality") && x86.contains("clone"));
        assert!(x86.contains("arch_prctl") && !arm.contains("arch_prctl"));
    }

    #[test]
    fn check_reports_unknown_duplicate_and_dangerous_names() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","opne","read","ptrace","mount"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let report = check(&p);
        let kinds: Vec<&str> = report.findings.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&"unknown-syscall"), "{kinds:?}");
        assert!(kinds.contains(&"duplicate"));
        assert_eq!(kinds.iter().filter(|k| **k == "dangerous").count(), 2);
        assert_eq!(report.findings[0].severity, Severity::High, "worst first");
        assert_eq!(report.counts[&Arch::X86_64].0, 3, "read, ptrace, mount");
        assert!(report.to_string().contains("fewer"));
    }

    #[test]
    fn a_deny_list_is_flagged() {
        let report = check(&profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#));
        assert_eq!(report.findings[0].kind, "not-allow-list");
    }

    #[test]
    fn merge_is_the_union_and_diff_shows_both_sides() {
        let a = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let b = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","openat"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let merged = merge(&[("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
        let allowed = merged.allowed(Arch::X86_64);
        assert_eq!(
            allowed.into_iter().collect::<Vec<_>>(),
            ["openat", "read", "write"]
        );
        assert_eq!(merged.default_errno_ret, Some(EPERM));
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1);
        assert!(d[0].conditions.is_empty());
        assert_eq!(d[0].only_a, ["write"]);
        assert_eq!(d[0].only_b, ["openat"]);
        assert_eq!(d[0].common, 1);
        let deny = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
        assert!(
            merge(&[("deny.json".into(), deny)])
                .unwrap_err()
                .to_string()
                .contains("deny.json")
        );
    }

    #[test]
    fn merge_keeps_argument_conditions_and_sub_architectures() {
        let only_linux = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO",
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
                  {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                   "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        let plain = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let merged = merge(&[
            ("a".into(), only_linux.clone()),
            ("b".into(), plain.clone()),
        ])
        .unwrap();
        assert_eq!(
            merged.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        let allowances = merged.allowances(Arch::X86_64);
        assert_eq!(allowances["read"], Allowance::Always);
        assert_eq!(allowances["write"], Allowance::Always);
        assert_eq!(
            allowances["personality"].to_string(),
            "when arg0 == 0x0",
            "still conditional"
        );
        assert_eq!(merged.syscalls[1].args.len(), 1);
        // Allowed always by one profile: always in the union.
        let always = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let merged = merge(&[
            ("a".into(), only_linux.clone()),
            ("c".into(), always.clone()),
        ])
        .unwrap();
        assert_eq!(
            merged.allowances(Arch::X86_64)["personality"],
            Allowance::Always
        );

        // diff sees the condition.
        let d = diff(&only_linux, &always);
        let x86 = d.iter().find(|d| d.arch == Arch::X86_64).unwrap();
        assert_eq!(
            (x86.only_a.as_slice(), x86.only_b.len()),
            (["read"].as_slice(), 0)
        );
        assert_eq!(x86.conditions.len(), 1, "{x86}");
        assert!(!x86.is_empty());
        assert!(
            x86.to_string()
                .contains("~ personality: first when arg0 == 0x0; second always"),
            "{x86}"
        );
    }

    #[test]
    fn docker_default_checks_clean_of_unknown_names_and_arches() {
        let report = check(&docker_default());
        let unknown: Vec<&Finding> = (report.findings.iter())
            .filter(|f| f.kind.starts_with("unknown"))
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
        let z80 =
            profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_Z80"]}"#);
        assert!(
            check(&z80)
                .findings
                .iter()
                .any(|f| f.kind == "unknown-architecture")
        );
    }
}
