//! `--format table`: findings grouped by object, worst first within each, then a summary.
//! Problems with the input are not part of the table: the binary prints them to standard error.

use std::io::{self, Write};

use haechi_report::Severity;
use haechi_report::table::{BOLD, DIM, Painter, severity_style};

use crate::report::Report;

pub(super) fn render(report: &Report, p: Painter, out: &mut dyn Write) -> io::Result<()> {
    let (bold, dim) = (BOLD, DIM);
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
    let counts = p.severity_counts(&s.findings, &Severity::RATED);
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
