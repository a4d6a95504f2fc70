//! `haechi scan`: finding manifests, reading them into objects, running the policy engine over
//! them, and the scan report, which `haechi-report` writes as a table, JSON, SARIF or JUnit
//! ([`format`] maps it onto that crate's model).
//!
//! Everything that could not be checked (a missing path, a FIFO, a file that is not YAML, a
//! binary or oversized file, a template that does not parse, a document over a limit) becomes a
//! [`Problem`] in the report with its file, position and reason, and the scan goes on; the
//! binary exits with status 2 when there is one. Objects stream through the policy engine one at
//! a time, so memory follows the largest file and the findings, not the size of the input.
//! Checks themselves live in `haechi-policy`; this crate never decides what is a violation.
pub mod format;
mod load;
mod report;

pub use load::{DEFAULT_MAX_FILE_SIZE, Input, LoadOptions, Loaded, Problem, Reason, Visitor, load};
pub use report::{ObjectReport, Report, ReportFinding, Summary, scan};
