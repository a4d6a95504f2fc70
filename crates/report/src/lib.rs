//! haechi's findings and their formats: what `haechi scan`, `haechi audit`, `haechi image` and
//! `haechi seccomp check` report, and how.
//!
//! This crate owns the one [`Severity`] scale, [`Location`]s relative to a scanned [`Root`],
//! the report model ([`Rule`]: what is checked; [`Finding`]: what was found, with a fingerprint
//! that survives edits; [`Problem`]: what could not be checked) and the formats: [`sarif`]
//! (2.1.0), [`junit`], the [`table`] conventions and the [`json`] conventions. A command's
//! report implements [`Report`] — its JSON schema, its SARIF run, its JUnit suites, its table
//! layout — and [`render`] writes whichever `--format` the user asked for. It must not know what
//! a manifest, a node, an image or a profile is: the commands map their results onto this
//! model, and nothing here decides what is a finding.
//!
//! The design decision: the model is data, not a trait per format. Each command builds a
//! [`sarif::Log`] and a [`junit::Junit`] from its own report, so the SARIF envelope, URIs,
//! fingerprints, notifications and JUnit conventions are written once, here, while the table —
//! the one format whose layout differs by command — stays the command's, painted with the
//! shared [`table`] conventions.
//!
//! Falco's rule priorities are not a [`Severity`]: alerts keep Falco's JSON shape, and
//! `haechi_rules::Priority::severity` maps them onto this scale where a report needs one.

pub mod json;
pub mod junit;
pub mod sarif;
pub mod table;

mod finding;
mod location;
mod severity;

use std::io::{self, Write};

use serde::Serialize;

pub use finding::{Finding, Level, Problem, Reference, Rule};
pub use location::{Location, Root};
pub use severity::Severity;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable.
    Table,
    /// The command's documented JSON schema.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// JUnit XML for CI test dashboards.
    Junit,
}

/// A command's report in the shapes the formats take.
pub trait Report: Serialize {
    /// The report as one SARIF run.
    fn sarif(&self) -> sarif::Log;

    /// The report as JUnit test suites, when it has that shape.
    fn junit(&self) -> Option<junit::Junit> {
        None
    }

    /// The table for people, painted by `painter`.
    fn table(&self, painter: table::Painter, out: &mut dyn Write) -> io::Result<()>;
}

/// Writes `report` in `format`; `color` applies to the table only.
pub fn render<R: Report>(
    report: &R,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => report.table(table::Painter::new(color), out),
        Format::Json => json::write(out, report),
        Format::Sarif => report.sarif().write(out),
        Format::Junit => match report.junit() {
            Some(junit) => junit.write(out),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this report has no JUnit form",
            )),
        },
    }
}
