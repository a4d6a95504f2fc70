//! `--format junit`: one test suite per section, one test case per result; a failure is a
//! failure, a warning a skip with its reason, so CI dashboards show both apart.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::report::{Report, Status};

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut junit = JunitReport::new(format!("haechi audit {}", report.kind));
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in &report.results {
        if suites.last().is_none_or(|s| s.name.as_str() != r.section) {
            suites.push(TestSuite::new(r.section));
        }
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .map(|e| {
                let location = match e.line {
                    Some(line) => format!("{}:{line}", e.location),
                    None => e.location.clone(),
                };
                format!(
                    "{location} {} = {}",
                    e.key,
                    e.value.as_deref().unwrap_or("(not set)")
                )
            })
            .collect();
        let status = match r.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(r.message.clone());
                status.set_type(r.severity.as_str());
                status.set_description(format!(
                    "{}\n\nRemediation: {}",
                    evidence.join("\n"),
                    r.remediation
                ));
                status
            }
            Status::Warn => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("warn: {}", r.message));
                status
            }
        };
        let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
        case.set_classname(r.section);
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(case);
        }
    }
    junit.add_test_suites(suites);
    let xml = junit.to_string().map_err(io::Error::other)?;
    out.write_all(xml.as_bytes())
}
