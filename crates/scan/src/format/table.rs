//! `--format table`: findings grouped by object, worst first within each, then a summary.
//! Problems with the input are not part of the table: the binary prints them to standard error.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};
use haechi_policy::Severity;

use crate::report::Report;

/// How a severity is painted in the table.
pub fn severity_style(severity: Severity) -> Style {
    let color = match severity {
        Severity::Critical => AnsiColor::Magenta,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Blue,
        Severity::Info => AnsiColor::White,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

/// Paints text with a style when colour is on.
pub struct Painter {
    color: bool,
}

impl Painter {
    /// A painter that paints only when `color` is true.
    pub fn new(color: bool) -> Painter {
        Painter { color }
    }

    /// "N critical", "N high", … down to info, each painted in its severity's style when N > 0.
    pub fn severity_counts(&self, counts: &BTreeMap<Severity, usize>) -> Vec<String> {
        Severity::ALL
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

pub(super) fn render(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let p = Painter::new(color);
    let bold = Style::new().effects(Effects::BOLD);
    let dim = Style::new().effects(Effects::DIMMED);
    let mut first = true;
    for (object, mut findings) in report.objects.iter().zip(report.findings_by_object()) {
        if findings.is_empty() {
            continue;
        }
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.line.cmp(&b.line)));
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(
            out,
            "{}  {}  score {}/100",
            p.paint(bold, &object.object.to_string()),
            p.paint(dim, &format!("{}:{}", object.file, object.line)),
            object.score
        )?;
        for f in findings {
            let severity = format!("{:<8}", f.severity.as_str().to_uppercase());
            let ignored = f
                .ignored
                .as_ref()
                .map(|r| format!(" (ignored: {r})"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {} {}{}",
                p.paint(severity_style(f.severity), &severity),
                p.paint(bold, f.check),
                f.message,
                ignored
            )?;
            writeln!(
                out,
                "           {}",
                p.paint(
                    dim,
                    &format!("{}:{}:{}  {}", f.file, f.line, f.column, f.path)
                )
            )?;
        }
    }
    let s = &report.summary;
    if !report.findings.is_empty() {
        writeln!(out)?;
    }
    let counts = p.severity_counts(&s.findings);
    let skipped: usize = s.skipped_kinds.values().sum();
    let problems = if s.problems > 0 {
        p.paint(
            severity_style(Severity::High),
            &format!("{} problems (not checked: see standard error)", s.problems),
        )
    } else {
        "0 problems".to_string()
    };
    writeln!(
        out,
        "{} {} files, {} objects checked, {} skipped (other kinds), {problems}",
        p.paint(bold, "Scanned"),
        s.files,
        s.objects,
        skipped,
    )?;
    writeln!(
        out,
        "{} {}; {} ignored",
        p.paint(bold, "Findings"),
        counts.join(", "),
        s.ignored
    )
}
