//! The scan report: findings with their sources, per-object scores and a summary. Its JSON form
//! is the documented, stable `haechi scan --format json` schema (docs/scan.md).

use std::collections::BTreeMap;

use haechi_policy::fix::Fix;
use haechi_policy::kinds::is_checked;
use haechi_policy::{Check, Engine, Object, ObjectRef, ObjectSet, PssLevel, Severity};
use serde::Serialize;

use crate::load::{Loaded, Problem};

/// One finding, with everything a reader needs.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFinding {
    /// Check ID.
    pub check: &'static str,
    /// Check title.
    pub title: &'static str,
    /// Severity (after configuration overrides).
    pub severity: Severity,
    /// Pod Security Standards level of the control, or null.
    pub pss: Option<PssLevel>,
    /// The object.
    pub object: ObjectRef,
    /// Index of the object in [`Report::objects`].
    #[serde(skip)]
    pub object_index: usize,
    /// The file (`-` for standard input).
    pub file: String,
    /// 1-based line of the offending field (or its closest present ancestor).
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Field path, e.g. `spec.containers[0].securityContext.privileged`.
    pub path: String,
    /// What is wrong here.
    pub message: String,
    /// What to do.
    pub remediation: &'static str,
    /// RFC 6902 JSON Patch that fixes it, or null.
    pub fix: Option<Fix>,
    /// Why it is ignored (annotation or exemption), or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// One checked object and its score.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    /// The object.
    pub object: ObjectRef,
    /// The file.
    pub file: String,
    /// Line of the object's start.
    pub line: u32,
    /// 0–100: 100 minus a weight per finding (critical 40, high 20, medium 10, low 4, info 0).
    pub score: u32,
    /// Findings, ignored ones excluded.
    pub findings: usize,
}

/// Counts.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Objects checked.
    pub objects: usize,
    /// Objects of kinds haechi does not check (CRDs …), by kind.
    pub skipped_kinds: BTreeMap<String, usize>,
    /// Documents that are not Kubernetes objects.
    pub not_objects: usize,
    /// Findings by severity, ignored ones excluded.
    pub findings: BTreeMap<Severity, usize>,
    /// Findings silenced by annotations or exemptions.
    pub ignored: usize,
    /// Problems with the input.
    pub problems: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The checks that ran (for SARIF rules and JUnit test cases).
    #[serde(skip)]
    pub checks: Vec<&'static Check>,
    /// Findings, ignored ones included only when asked for.
    pub findings: Vec<ReportFinding>,
    /// Every checked object with its score.
    pub objects: Vec<ObjectReport>,
    /// Input that could not be scanned.
    pub problems: Vec<Problem>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// Whether a counted finding at or above `severity` exists.
    pub fn has_finding_at_least(&self, severity: Severity) -> bool {
        self.findings
            .iter()
            .any(|f| f.ignored.is_none() && f.severity >= severity)
    }

    /// The findings of each object, indexed like [`Report::objects`], in report order.
    pub fn findings_by_object(&self) -> Vec<Vec<&ReportFinding>> {
        let mut grouped = vec![Vec::new(); self.objects.len()];
        for finding in &self.findings {
            grouped[finding.object_index].push(finding);
        }
        grouped
    }

    /// Whether some input could not be read at all.
    pub fn has_fatal_problem(&self) -> bool {
        self.problems.iter().any(|p| p.fatal)
    }
}

fn weight(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 40,
        Severity::High => 20,
        Severity::Medium => 10,
        Severity::Low => 4,
        Severity::Info | Severity::Unknown => 0,
    }
}

/// Runs the engine over the loaded objects and assembles the report.
pub fn build_report(engine: &Engine, loaded: &Loaded, show_ignored: bool) -> Report {
    let mut summary = Summary {
        files: loaded.files,
        not_objects: loaded.not_objects,
        skipped_kinds: loaded.skipped_kinds.clone(),
        problems: loaded.problems.len(),
        ..Summary::default()
    };
    let mut checked = Vec::new();
    let mut objects = Vec::new();
    for source in &loaded.objects {
        let Some(object) = Object::new(&source.node) else {
            continue;
        };
        if is_checked(object.kind) {
            checked.push(source);
            objects.push(object);
        } else {
            *summary
                .skipped_kinds
                .entry(object.kind.to_string())
                .or_default() += 1;
        }
    }
    summary.objects = objects.len();
    let set = ObjectSet::new(objects);
    let mut object_reports: Vec<ObjectReport> = set
        .objects
        .iter()
        .zip(&checked)
        .map(|(object, source)| ObjectReport {
            object: object.reference(),
            file: source.file.clone(),
            line: source.node.pos.line,
            score: 100,
            findings: 0,
        })
        .collect();
    let mut findings = Vec::new();
    for finding in engine.evaluate(&set) {
        if finding.ignored.is_some() {
            summary.ignored += 1;
            if !show_ignored {
                continue;
            }
        } else {
            *summary.findings.entry(finding.severity).or_default() += 1;
            let report = &mut object_reports[finding.object];
            report.findings += 1;
            report.score = report.score.saturating_sub(weight(finding.severity));
        }
        let object = &set.objects[finding.object];
        findings.push(ReportFinding {
            check: finding.check.id,
            title: finding.check.title,
            severity: finding.severity,
            pss: finding.check.pss,
            object: object.reference(),
            object_index: finding.object,
            file: checked[finding.object].file.clone(),
            line: finding.violation.pos.line,
            column: finding.violation.pos.column,
            path: finding.violation.path.to_string(),
            message: finding.violation.message,
            remediation: finding.check.remediation,
            fix: finding.violation.fix,
            ignored: finding.ignored.map(|i| i.reason().to_string()),
        });
    }
    Report {
        checks: engine.checks().to_vec(),
        findings,
        objects: object_reports,
        problems: loaded.problems.clone(),
        summary,
    }
}
