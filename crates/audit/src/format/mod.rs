//! The audit report in haechi's formats (`haechi-report`), laid out for benchmark results: its
//! JSON is [`Report`] itself; its SARIF run has every item that ran as a rule and every failure
//! and warning as a result (a warning a note), located in the node file that holds the evidence
//! relative to the audited root (`NODEROOT`), probes' results by endpoint without a file; its
//! JUnit has a suite per section and a case per result (a warning is skipped with its reason);
//! its table groups results by section ([`table`]).

mod table;

use std::io::{self, Write};
use std::path::Path;

use haechi_report::junit::{Case, Junit, Outcome, Suite};
use haechi_report::sarif::Log;
use haechi_report::table::Painter;
use haechi_report::{Finding, Level, Location, Problem, Root, Rule};
use serde_json::json;

use crate::report::{Evidence, Report, Status};

fn evidence_line(e: &Evidence) -> String {
    let location = match e.line {
        Some(line) => format!("{}:{line}", e.location),
        None => e.location.clone(),
    };
    format!(
        "{location} {} = {}",
        e.key,
        e.value.as_deref().unwrap_or("(not set)")
    )
}

impl Report {
    fn problems(&self) -> Vec<Problem> {
        // A file that exists but could not be read or parsed leaves its items undecided.
        self.problems
            .iter()
            .map(|p| Problem::text(p.clone(), true))
            .collect()
    }
}

impl haechi_report::Report for Report {
    fn sarif(&self) -> Log {
        let rules = self
            .items
            .iter()
            .map(|item| {
                let meta = &item.meta;
                Rule::check(
                    meta.id,
                    meta.title,
                    meta.severity,
                    meta.description,
                    meta.remediation,
                    meta.references,
                    vec!["security".to_string(), "kubernetes".to_string()],
                )
            })
            .collect();
        let findings = self
            .results
            .iter()
            .filter(|r| r.status != Status::Pass)
            .map(|r| {
                let file = r.evidence.iter().find(|e| !e.location.contains("://"));
                let mut finding = Finding::new(r.id, r.severity, r.message.clone())
                    .property("status", json!(r.status))
                    .property("severity", json!(r.severity))
                    .property("section", json!(r.section))
                    .property("evidence", json!(r.evidence));
                if r.status != Status::Fail {
                    finding.level = Level::Note;
                }
                match file {
                    Some(e) => finding.at(Location {
                        file: e.location.clone(),
                        line: e.line,
                        column: None,
                        path: Some(e.key.clone()),
                    }),
                    // A probe's result is about the endpoint it asked.
                    None => finding.about(
                        r.evidence
                            .first()
                            .map(|e| e.location.clone())
                            .unwrap_or_default(),
                    ),
                }
            })
            .collect();
        let root = (self.kind == "node")
            .then(|| self.targets.first().map(|t| Root::node(Path::new(t))))
            .flatten();
        Log::new(root, rules, findings, self.problems())
    }

    fn junit(&self) -> Option<Junit> {
        let mut suites: Vec<Suite> = Vec::new();
        for r in &self.results {
            if suites.last().is_none_or(|s| s.name != r.section) {
                suites.push(Suite {
                    name: r.section.to_string(),
                    cases: Vec::new(),
                });
            }
            let evidence: Vec<String> = r.evidence.iter().map(evidence_line).collect();
            let outcome = match r.status {
                Status::Pass => Outcome::Passed,
                Status::Fail => Outcome::Failed {
                    message: r.message.clone(),
                    severity: r.severity,
                    details: format!("{}\n\nRemediation: {}", evidence.join("\n"), r.remediation),
                },
                Status::Warn => Outcome::Skipped(format!("warn: {}", r.message)),
            };
            if let Some(suite) = suites.last_mut() {
                suite.cases.push(Case {
                    name: format!("{} {}", r.id, r.title),
                    classname: r.section.to_string(),
                    outcome,
                });
            }
        }
        Some(Junit {
            name: format!("haechi audit {}", self.kind),
            suites,
            problems: self.problems(),
        })
    }

    fn table(&self, painter: Painter, out: &mut dyn Write) -> io::Result<()> {
        table::render(self, painter, out)
    }
}
