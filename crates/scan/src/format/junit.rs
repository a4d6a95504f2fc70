//! `--format junit`: one test suite per object, one test case per enabled check; a finding is a
//! failure, an ignored finding a skip with its reason.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::report::Report;

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut junit = JunitReport::new("haechi scan");
    for (object, object_findings) in report.objects.iter().zip(report.findings_by_object()) {
        let mut suite = TestSuite::new(format!(
            "{} ({}:{})",
            object.object, object.file, object.line
        ));
        for meta in &report.checks {
            let findings: Vec<_> = object_findings
                .iter()
                .filter(|f| f.check == meta.id)
                .collect();
            let counted: Vec<_> = findings.iter().filter(|f| f.ignored.is_none()).collect();
            let status = if let Some(first) = counted.first() {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(first.message.clone());
                status.set_type(first.severity.as_str());
                let details: Vec<String> = counted
                    .iter()
                    .map(|f| {
                        format!(
                            "{}:{}:{} {} — {}",
                            f.file, f.line, f.column, f.path, f.message
                        )
                    })
                    .collect();
                status.set_description(format!(
                    "{}\n\nRemediation: {}",
                    details.join("\n"),
                    meta.remediation
                ));
                status
            } else if let Some(ignored) = findings.first() {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!(
                    "ignored: {}",
                    ignored.ignored.as_deref().unwrap_or("")
                ));
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(meta.id, status);
            case.set_classname(object.object.to_string());
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    let xml = junit.to_string().map_err(io::Error::other)?;
    out.write_all(xml.as_bytes())
}
