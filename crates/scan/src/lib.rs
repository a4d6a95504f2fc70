//! `haechi scan`: finding manifests, reading them into objects, running the policy engine over
//! them, and the scan report, which `haechi-report` writes as a table, JSON, SARIF or JUnit
//! ([`format`] maps it onto that crate's model).
//!
//! Everything a user can get wrong in the input (a missing path, a file that is not YAML, a
//! binary or oversized file, a template that does not parse) becomes a [`Problem`] in the report
//! with its file and line, and the scan goes on. Checks themselves live in `haechi-policy`; this
//! crate never decides what is a violation.
pub mod format;
mod load;
mod report;

pub use load::{Input, LoadOptions, Loaded, Problem, SourceObject, load};
pub use report::{ObjectReport, Report, ReportFinding, Summary, build_report};
