//! The audit report: one result per benchmark item or probe, with its evidence.

use std::collections::BTreeMap;

use haechi_policy::{CheckMeta, Severity};
use serde::Serialize;

/// A benchmark item or a probe: what it checks, independent of any node.
#[derive(Debug)]
pub struct Item {
    /// Identity, title, severity, why and remediation (`id` is the CIS number, e.g. `1.2.6`,
    /// or a probe name such as `probe/etcd-client`).
    pub meta: CheckMeta,
    /// The benchmark section, e.g. `1.2 API Server`.
    pub section: &'static str,
    /// Whether the benchmark marks the item Automated. A Manual item that does not hold is a
    /// `warn`, as kube-bench reports it, never a `fail`.
    pub automated: bool,
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The item holds.
    Pass,
    /// An automated item does not hold.
    Fail,
    /// A manual item does not hold, or the files do not say enough to decide.
    Warn,
}

impl Status {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
        }
    }
}

/// One fact a verdict rests on: where it was read and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The file as a path on the node (`/etc/kubernetes/manifests/kube-apiserver.yaml`), or the
    /// URL a probe requested.
    pub location: String,
    /// 1-based line in the file, when the fact comes from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What was looked at: a flag (`--anonymous-auth`), a config key (`authentication.anonymous.enabled`),
    /// `mode`, `owner`, or `HTTP GET`.
    pub key: String,
    /// What it was, or null when it is not set.
    pub value: Option<String>,
}

/// The verdict on one item.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The item's id.
    pub id: &'static str,
    /// The item's title.
    pub title: &'static str,
    /// The section.
    pub section: &'static str,
    /// Severity of the item.
    pub severity: Severity,
    /// Whether the benchmark marks the item Automated.
    pub automated: bool,
    /// The verdict.
    pub status: Status,
    /// What was found, in one sentence.
    pub message: String,
    /// The facts behind the verdict.
    pub evidence: Vec<Evidence>,
    /// What to do.
    pub remediation: &'static str,
}

/// A part of the benchmark that was not checked, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The section (`1.2 API Server`) or endpoint (`10.0.0.1:2379`).
    pub target: String,
    /// Why.
    pub reason: String,
}

/// Counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Results by status.
    pub status: BTreeMap<Status, usize>,
    /// Failed results by severity.
    pub failures: BTreeMap<Severity, usize>,
    /// Skipped sections or endpoints.
    pub skipped: usize,
    /// Input that could not be read.
    pub problems: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `node` or `probe`.
    pub kind: &'static str,
    /// The benchmark the item numbers follow (`CIS Kubernetes Benchmark v1.9`), for node audits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<&'static str>,
    /// The root directory audited, or the hosts probed.
    pub targets: Vec<String>,
    /// The items that ran (for SARIF rules and JUnit test cases).
    #[serde(skip)]
    pub items: Vec<&'static Item>,
    /// One result per item and target.
    pub results: Vec<CheckResult>,
    /// What was not checked.
    pub skipped: Vec<Skipped>,
    /// Files that exist but could not be read or parsed (file: message).
    pub problems: Vec<String>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// A report from its results; counts are computed here.
    pub fn new(
        kind: &'static str,
        benchmark: Option<&'static str>,
        targets: Vec<String>,
        items: Vec<&'static Item>,
        results: Vec<CheckResult>,
        skipped: Vec<Skipped>,
        problems: Vec<String>,
    ) -> Report {
        let mut summary = Summary {
            skipped: skipped.len(),
            problems: problems.len(),
            ..Summary::default()
        };
        for r in &results {
            *summary.status.entry(r.status).or_default() += 1;
            if r.status == Status::Fail {
                *summary.failures.entry(r.severity).or_default() += 1;
            }
        }
        Report {
            kind,
            benchmark,
            targets,
            items,
            results,
            skipped,
            problems,
            summary,
        }
    }

    /// Whether a failed result at or above `severity` exists (`--fail-on`; warnings never count).
    pub fn has_failure_at_least(&self, severity: Severity) -> bool {
        self.results
            .iter()
            .any(|r| r.status == Status::Fail && r.severity >= severity)
    }

    /// The result for an item id (the first, for probes that run per endpoint).
    pub fn result(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }
}

impl Item {
    /// A result for this item.
    pub fn result(&self, status: Status, message: String, evidence: Vec<Evidence>) -> CheckResult {
        CheckResult {
            id: self.meta.id,
            title: self.meta.title,
            section: self.section,
            severity: self.meta.severity,
            automated: self.automated,
            status,
            message,
            evidence,
            remediation: self.meta.remediation,
        }
    }

    /// `pass` when `holds`, else `fail` (automated) or `warn` (manual).
    pub fn judge(&self, holds: bool, message: String, evidence: Vec<Evidence>) -> CheckResult {
        let status = if holds {
            Status::Pass
        } else if self.automated {
            Status::Fail
        } else {
            Status::Warn
        };
        self.result(status, message, evidence)
    }
}
