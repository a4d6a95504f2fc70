//! Report formats: a table for people, JSON (documented in docs/image.md), SARIF 2.1.0 for code
//! scanning dashboards, and CycloneDX 1.5 for the SBOM.

mod cyclonedx;
mod sarif;
mod table;

use std::io::{self, Write};

use crate::report::Report;

pub use cyclonedx::{CycloneDx, cyclonedx, purl};

/// A report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text tables.
    Table,
    /// The JSON report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Writes `report` in `format`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Sarif => sarif::render(report, out),
    }
}
