//! Report renderers: one module per `--format`. The pieces another report can share (SARIF
//! levels and rules, table colours) are public so `haechi audit` writes the same formats.

mod json;
mod junit;
mod sarif;
mod table;

use std::io::{self, Write};

use crate::report::Report;

pub use sarif::{SARIF_SCHEMA, sarif_level, sarif_rule, write_run};
pub use table::{Painter, severity_style};

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
    match format {
        Format::Table => table::render(report, color, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Junit => junit::render(report, out),
    }
}
