//! The scan report: findings with their sources, per-object scores and a summary. Its JSON form
//! is the documented, stable `haechi scan --format json` schema (docs/scan.md).

use std::collections::BTreeMap;

use haechi_manifest::Node;
use haechi_policy::fix::Fix;
use haechi_policy::{
    Check, Checked, Engine, Finding, Object, ObjectRef, PssLevel, Session, Severity,
};
use serde::Serialize;

use crate::load::{Input, LoadOptions, Problem, Visitor, load};

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
    /// Problems with the input: what could not be checked.
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

    /// Whether something could not be checked.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
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

/// Reads `inputs`, runs the engine over every object as it is read, and assembles the report.
/// Only one object's tree is held at a time; the report keeps findings and one small entry per
/// checked object.
pub fn scan(
    inputs: &[Input],
    options: &LoadOptions,
    engine: &Engine,
    show_ignored: bool,
) -> Report {
    let mut builder = Builder {
        engine,
        session: engine.session(),
        show_ignored,
        objects: Vec::new(),
        findings: Vec::new(),
        summary: Summary::default(),
        provisional: None,
    };
    let loaded = load(inputs, options, &mut builder);
    let Builder {
        session,
        mut objects,
        mut findings,
        mut summary,
        ..
    } = builder;
    for finding in session.finish() {
        let object = &mut objects[finding.object];
        match report_finding(object, show_ignored, finding) {
            Some(finding) => findings.push(finding),
            None => summary.ignored += 1,
        }
    }
    for finding in &findings {
        match finding.ignored {
            Some(_) => summary.ignored += 1,
            None => *summary.findings.entry(finding.severity).or_default() += 1,
        }
    }
    findings.sort_by(|a, b| {
        (a.object_index, a.line, a.column, a.check).cmp(&(
            b.object_index,
            b.line,
            b.column,
            b.check,
        ))
    });
    summary.files = loaded.files;
    summary.not_objects = loaded.not_objects;
    summary.objects = objects.len();
    for (kind, n) in loaded.skipped_kinds {
        *summary.skipped_kinds.entry(kind).or_default() += n;
    }
    summary.problems = loaded.problems.len();
    Report {
        checks: engine.checks().to_vec(),
        findings,
        objects,
        problems: loaded.problems,
        summary,
    }
}

/// Builds the report as objects come.
struct Builder<'e> {
    engine: &'e Engine,
    session: Session<'e>,
    show_ignored: bool,
    objects: Vec<ObjectReport>,
    findings: Vec<ReportFinding>,
    summary: Summary,
    /// Provisional objects (items of a document not yet known to be a list): their entries and
    /// findings are already in `objects` and `findings`, from these lengths on; what the
    /// session must keep of them, and what they add to the summary, waits here.
    provisional: Option<Provisional>,
}

#[derive(Default)]
struct Provisional {
    objects: usize,
    findings: usize,
    checked: Vec<Checked>,
    skipped_kinds: BTreeMap<String, usize>,
    hidden: usize,
}

impl Visitor for Builder<'_> {
    fn object(&mut self, file: &str, node: &Node, provisional: bool) {
        let Some(object) = Object::new(node) else {
            return;
        };
        if provisional && self.provisional.is_none() {
            self.provisional = Some(Provisional {
                objects: self.objects.len(),
                findings: self.findings.len(),
                ..Provisional::default()
            });
        }
        // Where what this object adds to the summary goes.
        let waiting = self.provisional.as_mut().filter(|_| provisional);
        if !haechi_policy::kinds::is_checked(object.kind) {
            let kinds = match waiting {
                Some(p) => &mut p.skipped_kinds,
                None => &mut self.summary.skipped_kinds,
            };
            *kinds.entry(object.kind.to_string()).or_default() += 1;
            return;
        }
        let mut report = ObjectReport {
            object: object.reference(),
            file: file.to_string(),
            line: node.pos.line,
            score: 100,
            findings: 0,
        };
        let mut checked = self.engine.check(&object);
        let index = self.objects.len();
        let mut hidden = 0;
        for finding in checked.take_findings() {
            match report_finding(&mut report, self.show_ignored, finding) {
                Some(mut finding) => {
                    finding.object_index = index;
                    self.findings.push(finding);
                }
                None => hidden += 1,
            }
        }
        self.objects.push(report);
        match self.provisional.as_mut().filter(|_| provisional) {
            Some(p) => {
                p.checked.push(checked);
                p.hidden += hidden;
            }
            None => {
                let (committed, _) = self.session.commit(checked);
                debug_assert_eq!(committed, index);
                self.summary.ignored += hidden;
            }
        }
    }

    fn settle(&mut self, keep: bool) {
        let Some(p) = self.provisional.take() else {
            return;
        };
        if keep {
            for checked in p.checked {
                self.session.commit(checked);
            }
            for (kind, n) in p.skipped_kinds {
                *self.summary.skipped_kinds.entry(kind).or_default() += n;
            }
            self.summary.ignored += p.hidden;
        } else {
            self.objects.truncate(p.objects);
            self.findings.truncate(p.findings);
        }
    }
}

/// Scores `report` for a finding and returns the finding as the report shows it (`None` for an
/// ignored finding when ignored ones are not shown). Its `object_index` is set on commit.
fn report_finding(
    report: &mut ObjectReport,
    show_ignored: bool,
    finding: Finding,
) -> Option<ReportFinding> {
    if finding.ignored.is_none() {
        report.findings += 1;
        report.score = report.score.saturating_sub(weight(finding.severity));
    } else if !show_ignored {
        return None;
    }
    Some(ReportFinding {
        check: finding.check.id,
        title: finding.check.title,
        severity: finding.severity,
        pss: finding.check.pss,
        object: report.object.clone(),
        object_index: finding.object,
        file: report.file.clone(),
        line: finding.violation.pos.line,
        column: finding.violation.pos.column,
        path: finding.violation.path.to_string(),
        message: finding.violation.message,
        remediation: finding.check.remediation,
        fix: finding.violation.fix,
        ignored: finding.ignored.map(|i| i.reason().to_string()),
    })
}
