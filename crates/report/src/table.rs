//! The conventions of haechi's tables: severities painted in one palette (critical magenta,
//! high red, medium yellow, low blue), colour only when asked for, counts from the worst
//! severity down, and columns padded to their widest cell.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use crate::severity::Severity;

/// How a severity is painted.
pub fn severity_style(severity: Severity) -> Style {
    let color = match severity {
        Severity::Critical => AnsiColor::Magenta,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Blue,
        Severity::Info | Severity::Unknown => AnsiColor::White,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

/// Bold text: titles, check ids.
pub const BOLD: Style = Style::new().effects(Effects::BOLD);

/// Dimmed text: locations.
pub const DIM: Style = Style::new().effects(Effects::DIMMED);

/// Paints text with a style when colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    color: bool,
}

impl Painter {
    /// A painter that paints only when `color` is true.
    pub fn new(color: bool) -> Painter {
        Painter { color }
    }

    /// "N critical", "N high", … for each severity of `scale` from the worst down, each painted
    /// in its severity's style when N > 0.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use haechi_report::{Severity, table::Painter};
    /// let counts = BTreeMap::from([(Severity::High, 2)]);
    /// let text = Painter::new(false).severity_counts(&counts, &Severity::RATED).join(", ");
    /// assert_eq!(text, "0 critical, 2 high, 0 medium, 0 low, 0 info");
    /// ```
    pub fn severity_counts(
        &self,
        counts: &BTreeMap<Severity, usize>,
        scale: &[Severity],
    ) -> Vec<String> {
        scale
            .iter()
            .rev()
            .map(|sev| {
                let n = counts.get(sev).copied().unwrap_or(0);
                let text = format!("{n} {sev}");
                if n > 0 {
                    self.paint(severity_style(*sev), &text)
                } else {
                    text
                }
            })
            .collect()
    }

    /// `text` in `style`, or plain.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// Writes `rows` as columns: every cell but the last padded to its column's widest cell and
/// two spaces, trailing blanks cut.
///
/// ```
/// let rows = vec![vec!["ID".to_string(), "TITLE".into()], vec!["GHSA-1".into(), "x".into()]];
/// let mut out = Vec::new();
/// haechi_report::table::columns(&rows, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "ID      TITLE\nGHSA-1  x\n");
/// ```
pub fn columns(rows: &[Vec<String>], out: &mut dyn Write) -> io::Result<()> {
    let mut widths = vec![0; rows.first().map_or(0, Vec::len)];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    for row in rows {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let width = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
