//! The scan report in haechi's formats (`haechi-report`): its JSON is [`Report`] itself, its
//! SARIF run has every enabled check as a rule and every finding located in its file relative
//! to the directory the scan ran in, its JUnit has a suite per object and a case per enabled
//! check (skipped where the check cannot apply to the object's kind), and its table groups
//! findings by object ([`table`]).

mod table;

use std::io::{self, Write};

use haechi_policy::CheckMeta;
use haechi_report::junit::{Case, Junit, Outcome, Suite};
use haechi_report::sarif::Log;
use haechi_report::table::Painter;
use haechi_report::{Finding, Location, Root, Rule};
use serde_json::json;

use crate::load::Problem;
use crate::report::Report;

/// A check as a SARIF rule: its help carries the remediation and references, its tags the
/// Pod Security level.
pub fn rule(meta: &CheckMeta) -> Rule {
    let mut tags = vec!["security".to_string(), "kubernetes".to_string()];
    if let Some(level) = meta.pss {
        tags.push(format!("pss-{level}"));
    }
    Rule::check(
        meta.id,
        meta.title,
        meta.severity,
        meta.description,
        meta.remediation,
        meta.references,
        tags,
    )
}

impl haechi_report::Report for Report {
    fn sarif(&self) -> Log {
        let rules = self.checks.iter().map(|c| rule(&c.meta)).collect();
        let findings = self
            .findings
            .iter()
            .map(|f| {
                let mut finding = Finding::new(
                    f.check,
                    f.severity,
                    format!("{} ({}: {})", f.message, f.object, f.path),
                )
                .at(Location {
                    file: f.file.clone(),
                    line: Some(f.line),
                    column: Some(f.column),
                    path: Some(f.path.clone()),
                })
                .about(f.object.to_string())
                .property("object", json!(f.object))
                .property("path", json!(f.path))
                .property("severity", json!(f.severity));
                finding.suppressed.clone_from(&f.ignored);
                finding
            })
            .collect();
        Log::new(
            Some(Root::current_dir()),
            rules,
            findings,
            self.problems.iter().map(Problem::to_report).collect(),
        )
    }

    fn junit(&self) -> Option<Junit> {
        let mut suites = Vec::new();
        for (object, object_findings) in self.objects.iter().zip(self.findings_by_object()) {
            let classname = object.object.to_string();
            let cases = self
                .checks
                .iter()
                .map(|check| {
                    let meta = &check.meta;
                    let findings: Vec<_> = object_findings
                        .iter()
                        .filter(|f| f.check == meta.id)
                        .collect();
                    let counted: Vec<_> = findings.iter().filter(|f| f.ignored.is_none()).collect();
                    let outcome = if !check.kinds.contains(&object.object.kind.as_str()) {
                        Outcome::not_applicable(&object.object.kind)
                    } else if let Some(first) = counted.first() {
                        let details: Vec<String> = counted
                            .iter()
                            .map(|f| {
                                format!(
                                    "{}:{}:{} {} — {}",
                                    f.file, f.line, f.column, f.path, f.message
                                )
                            })
                            .collect();
                        Outcome::Failed {
                            message: first.message.clone(),
                            severity: first.severity,
                            details: format!(
                                "{}\n\nRemediation: {}",
                                details.join("\n"),
                                meta.remediation
                            ),
                        }
                    } else if let Some(ignored) = findings.first() {
                        Outcome::Skipped(format!(
                            "ignored: {}",
                            ignored.ignored.as_deref().unwrap_or("")
                        ))
                    } else {
                        Outcome::Passed
                    };
                    Case {
                        name: meta.id.to_string(),
                        classname: classname.clone(),
                        outcome,
                    }
                })
                .collect();
            suites.push(Suite {
                name: format!("{} ({}:{})", object.object, object.file, object.line),
                cases,
            });
        }
        Some(Junit {
            name: "haechi scan".to_string(),
            suites,
            problems: self.problems.iter().map(Problem::to_report).collect(),
        })
    }

    fn table(&self, painter: Painter, out: &mut dyn Write) -> io::Result<()> {
        table::render(self, painter, out)
    }
}
