//! JUnit XML, as CI dashboards read it: a test suite per object, section or file, a test case
//! per check. A finding is a failure (its type the severity); a check that cannot apply to what
//! is checked (a Pod Security control on a Service) is skipped with the reason, never a pass; an
//! accepted or undecided finding is skipped with its reason too; a problem is an error, so a run
//! that could not check everything fails the build.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::finding::Problem;
use crate::severity::Severity;

/// How one test case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check holds.
    Passed,
    /// The check does not hold.
    Failed {
        /// The first finding's message.
        message: String,
        /// Its severity (the failure's `type`).
        severity: Severity,
        /// Every finding with its location, and what to do.
        details: String,
    },
    /// The check was not decided here: why.
    Skipped(String),
}

impl Outcome {
    /// A check that cannot apply to an object of `kind`.
    pub fn not_applicable(kind: &str) -> Outcome {
        Outcome::Skipped(format!("does not apply to {kind}"))
    }
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The check.
    pub name: String,
    /// What it checked (the object, the section).
    pub classname: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// One test suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The object, section or file.
    pub name: String,
    /// Its cases.
    pub cases: Vec<Case>,
}

/// A whole JUnit report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junit {
    /// The report's name (`haechi scan`).
    pub name: String,
    /// The suites.
    pub suites: Vec<Suite>,
    /// What could not be checked: a last suite, `problems`, with one errored case each.
    pub problems: Vec<Problem>,
}

impl Junit {
    /// Writes the report as JUnit XML.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut report = Report::new(self.name.as_str());
        for suite in &self.suites {
            let mut junit = TestSuite::new(suite.name.as_str());
            for case in &suite.cases {
                let status = match &case.outcome {
                    Outcome::Passed => TestCaseStatus::success(),
                    Outcome::Failed {
                        message,
                        severity,
                        details,
                    } => {
                        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        status.set_message(message.as_str());
                        status.set_type(severity.as_str());
                        status.set_description(details.as_str());
                        status
                    }
                    Outcome::Skipped(reason) => {
                        let mut status = TestCaseStatus::skipped();
                        status.set_message(reason.as_str());
                        status
                    }
                };
                let mut junit_case = TestCase::new(case.name.as_str(), status);
                junit_case.set_classname(case.classname.as_str());
                junit.add_test_case(junit_case);
            }
            report.add_test_suite(junit);
        }
        if !self.problems.is_empty() {
            let mut suite = TestSuite::new("problems");
            for problem in &self.problems {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(problem.message.as_str());
                status.set_type(if problem.fatal { "fatal" } else { "problem" });
                let name = match problem.location() {
                    Some(location) => location.display(),
                    None => "input".to_string(),
                };
                let mut case = TestCase::new(name, status);
                case.set_classname("problems");
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        let xml = report.to_string().map_err(io::Error::other)?;
        out.write_all(xml.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(junit: &Junit) -> String {
        let mut out = Vec::new();
        junit.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn checks_that_cannot_apply_are_skipped_not_passed() {
        let junit = Junit {
            name: "haechi scan".into(),
            suites: vec![Suite {
                name: "Service web (svc.yaml:1)".into(),
                cases: vec![
                    Case {
                        name: "pss-privileged".into(),
                        classname: "Service web".into(),
                        outcome: Outcome::not_applicable("Service"),
                    },
                    Case {
                        name: "service-node-port".into(),
                        classname: "Service web".into(),
                        outcome: Outcome::Passed,
                    },
                    Case {
                        name: "service-external-ips".into(),
                        classname: "Service web".into(),
                        outcome: Outcome::Failed {
                            message: "externalIPs are set".into(),
                            severity: Severity::High,
                            details: "svc.yaml:9:3 spec.externalIPs".into(),
                        },
                    },
                ],
            }],
            problems: Vec::new(),
        };
        let xml = xml(&junit);
        assert!(
            xml.contains(r#"tests="3" skipped="1" failures="1" errors="0""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<testcase name="pss-privileged" classname="Service web">
            <skipped message="does not apply to Service"/>"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="service-node-port" classname="Service web"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="externalIPs are set" type="high">"#),
            "{xml}"
        );
        assert!(!xml.contains("problems"), "{xml}");
    }

    #[test]
    fn problems_are_errors() {
        let junit = Junit {
            name: "haechi scan".into(),
            suites: Vec::new(),
            problems: vec![Problem {
                file: "broken.yaml".into(),
                line: Some(2),
                column: Some(1),
                message: "not valid YAML".into(),
                fatal: false,
            }],
        };
        let xml = xml(&junit);
        assert!(xml.contains(r#"errors="1""#), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="broken.yaml:2:1" classname="problems">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="not valid YAML" type="problem"/>"#),
            "{xml}"
        );
    }
}
