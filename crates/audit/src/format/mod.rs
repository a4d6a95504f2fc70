//! Report renderers, one module per `--format`: the formats of `haechi scan` (its
//! [`Format`] enum, SARIF rules and table colours), laid out for benchmark results.

mod junit;
mod sarif;
mod table;

use std::io::{self, Write};

pub use haechi_scan::format::Format;

use crate::report::Report;

/// Writes `report` in `format`. `color` applies to the table only.
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, color, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Sarif => sarif::render(report, out),
        Format::Junit => junit::render(report, out),
    }
}

/// A location as SARIF wants it: a relative URI (`etc/kubernetes/...`) for node files.
fn uri(location: &str) -> String {
    location.trim_start_matches('/').to_string()
}
