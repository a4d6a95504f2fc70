//! A profile check in haechi's formats (`haechi-report`): the table `haechi seccomp check` has
//! always printed, JSON, SARIF (each lint a rule, each finding a result located at the profile
//! file) and JUnit (a suite per profile, a case per lint).

use std::io::{self, Write};

use haechi_report::junit::{Case, Junit, Outcome, Suite};
use haechi_report::sarif::Log;
use haechi_report::table::Painter;
use haechi_report::{Finding, Location, Root, Rule, Severity};
use serde::Serialize;

use crate::check::Report;

/// The lints `check` runs: kind, severity, title, what to do.
pub const LINTS: [(&str, Severity, &str, &str); 7] = [
    (
        "not-allow-list",
        Severity::High,
        "The profile is not an allow list",
        "Use defaultAction SCMP_ACT_ERRNO and list the syscalls the workload needs.",
    ),
    (
        "unknown-action",
        Severity::High,
        "Unknown action",
        "Use one of the actions runtimes know (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...).",
    ),
    (
        "unknown-architecture",
        Severity::High,
        "Unknown architecture",
        "Name architectures as libseccomp does (SCMP_ARCH_X86_64, ...).",
    ),
    (
        "empty-rule",
        Severity::Medium,
        "A rule names no syscall",
        "Remove the rule or name its syscalls.",
    ),
    (
        "unknown-syscall",
        Severity::High,
        "Unknown syscall name",
        "Check the spelling: runtimes refuse or skip names no architecture has.",
    ),
    (
        "duplicate",
        Severity::Low,
        "A syscall is listed more than once",
        "Keep one entry.",
    ),
    (
        "dangerous",
        Severity::High,
        "The profile allows a dangerous syscall",
        "Remove it unless the workload truly needs it.",
    ),
];

/// What one architecture allows, beside Docker's default.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchCount {
    /// The architecture.
    pub arch: String,
    /// Syscalls the profile allows.
    pub allowed: usize,
    /// Syscalls Docker's default allows.
    pub docker_default: usize,
}

/// One finding in the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct JsonFinding {
    /// Its severity.
    pub severity: Severity,
    /// The lint.
    pub kind: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// A checked profile file: what `haechi seccomp check --format` writes. Its JSON is
/// `{file, findings: [{severity, kind, message}], architectures: [{arch, allowed,
/// dockerDefault}]}`.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The profile file as given.
    pub file: String,
    /// Findings, worst first.
    pub findings: Vec<JsonFinding>,
    /// Per architecture: what the profile and Docker's default allow.
    pub architectures: Vec<ArchCount>,
    /// The report, for the table.
    #[serde(skip)]
    pub report: Report,
}

impl Checked {
    /// The report of checking `file`.
    pub fn new(file: impl Into<String>, report: Report) -> Checked {
        Checked {
            file: file.into(),
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding {
                    severity: f.severity,
                    kind: f.kind,
                    message: f.message.clone(),
                })
                .collect(),
            architectures: report
                .counts
                .iter()
                .map(|(arch, (allowed, docker))| ArchCount {
                    arch: arch.to_string(),
                    allowed: *allowed,
                    docker_default: *docker,
                })
                .collect(),
            report,
        }
    }
}

impl haechi_report::Report for Checked {
    fn sarif(&self) -> Log {
        let rules = LINTS
            .iter()
            .map(|(kind, severity, title, fix)| {
                Rule::check(
                    kind,
                    title,
                    *severity,
                    title,
                    fix,
                    &[],
                    vec!["security".to_string(), "seccomp".to_string()],
                )
            })
            .collect();
        let findings = self
            .report
            .findings
            .iter()
            .map(|f| {
                Finding::new(f.kind, f.severity, f.message.clone())
                    .at(Location::file(self.file.clone()))
                    .about(f.message.clone())
            })
            .collect();
        Log::new(Some(Root::current_dir()), rules, findings, Vec::new())
    }

    fn junit(&self) -> Option<Junit> {
        let cases = LINTS
            .iter()
            .map(|(kind, _, _, fix)| {
                let found: Vec<_> = self
                    .report
                    .findings
                    .iter()
                    .filter(|f| f.kind == *kind)
                    .collect();
                let outcome = match found.first() {
                    None => Outcome::Passed,
                    Some(first) => Outcome::Failed {
                        message: first.message.clone(),
                        severity: first.severity,
                        details: format!(
                            "{}\n\nRemediation: {fix}",
                            found
                                .iter()
                                .map(|f| f.message.as_str())
                                .collect::<Vec<_>>()
                                .join("\n")
                        ),
                    },
                };
                Case {
                    name: kind.to_string(),
                    classname: self.file.clone(),
                    outcome,
                }
            })
            .collect();
        Some(Junit {
            name: "haechi seccomp check".to_string(),
            suites: vec![Suite {
                name: self.file.clone(),
                cases,
            }],
            problems: Vec::new(),
        })
    }

    fn table(&self, _: Painter, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}\n{}", self.file, self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    #[test]
    fn every_finding_kind_is_a_lint() {
        let profile = Profile::parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["X86"],
                "syscalls": [{"names": ["ptrace", "ptrace", "no_such_call"], "action": "SCMP_ACT_NOPE"},
                             {"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
            "risky.json",
        )
        .unwrap();
        let report = crate::check(&profile);
        for finding in &report.findings {
            let lint = LINTS.iter().find(|(kind, ..)| *kind == finding.kind);
            assert!(lint.is_some(), "{} is not in LINTS", finding.kind);
        }
        let checked = Checked::new("risky.json", report);
        let log = haechi_report::Report::sarif(&checked);
        assert_eq!(log.findings.len(), checked.findings.len());
    }
}
