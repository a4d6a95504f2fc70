//! `--format table`: results grouped by section in benchmark order, failures and warnings with
//! their evidence and remediation, passes on one line; then skipped sections and the summary.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};
use haechi_report::Severity;
use haechi_report::table::{BOLD, DIM, Painter, severity_style};

use crate::report::{Report, Status};

fn status_style(status: Status) -> Style {
    let color = match status {
        Status::Pass => AnsiColor::Green,
        Status::Fail => AnsiColor::Red,
        Status::Warn => AnsiColor::Yellow,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

pub(super) fn render(report: &Report, p: Painter, out: &mut dyn Write) -> io::Result<()> {
    let (bold, dim) = (BOLD, DIM);
    writeln!(
        out,
        "{} on {}",
        p.paint(bold, report.benchmark.unwrap_or("Exposure probes")),
        report.targets.join(" ")
    )?;
    let mut section = "";
    for r in &report.results {
        if r.section != section {
            section = r.section;
            writeln!(out)?;
            writeln!(out, "{}", p.paint(bold, section))?;
        }
        let status = format!("[{}]", r.status.as_str().to_uppercase());
        if r.status == Status::Pass {
            // A benchmark title says what should hold; a probe's says what would be wrong, so a
            // passed probe shows what was found instead.
            let text = if report.benchmark.is_some() {
                r.title
            } else {
                r.message.as_str()
            };
            writeln!(
                out,
                "  {} {} {text}",
                p.paint(status_style(r.status), &status),
                r.id
            )?;
            continue;
        }
        writeln!(
            out,
            "  {} {} {} {}",
            p.paint(status_style(r.status), &status),
            p.paint(
                severity_style(r.severity),
                &r.severity.as_str().to_uppercase()
            ),
            p.paint(bold, r.id),
            r.title
        )?;
        writeln!(out, "         {}", r.message)?;
        for e in &r.evidence {
            let location = match e.line {
                Some(line) => format!("{}:{line}", e.location),
                None => e.location.clone(),
            };
            let value = e.value.as_deref().unwrap_or("(not set)");
            writeln!(
                out,
                "         {}",
                p.paint(dim, &format!("{location}  {} = {value}", e.key))
            )?;
        }
        let remediation = r
            .remediation
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        writeln!(out, "         fix: {remediation}")?;
    }
    if !report.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.paint(bold, "Not checked"))?;
        // Targets with the same reason share a line (a probe of a quiet host has many).
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for s in &report.skipped {
            match reasons.iter_mut().find(|(reason, _)| *reason == s.reason) {
                Some((_, targets)) => targets.push(&s.target),
                None => reasons.push((&s.reason, vec![&s.target])),
            }
        }
        for (reason, targets) in reasons {
            writeln!(out, "  {}: {reason}", targets.join(", "))?;
        }
    }
    let s = &report.summary;
    let count = |status| s.status.get(&status).copied().unwrap_or(0);
    let failures = p.severity_counts(&s.failures, &Severity::RATED);
    writeln!(out)?;
    writeln!(
        out,
        "{} {} pass, {} fail, {} warn; {} not checked, {} problems",
        p.paint(bold, "Checked"),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Warn),
        s.skipped,
        s.problems
    )?;
    writeln!(out, "{} {}", p.paint(bold, "Failures"), failures.join(", "))
}
