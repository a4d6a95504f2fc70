//! `--format table`: a summary line, then vulnerabilities, secrets and configuration findings.

use std::io::{self, Write};

use haechi_report::table::columns;

use crate::Severity;
use crate::report::Report;

fn counts(severities: impl Iterator<Item = Severity>) -> String {
    let mut n = std::collections::BTreeMap::new();
    let mut total = 0;
    for s in severities {
        *n.entry(s).or_insert(0usize) += 1;
        total += 1;
    }
    let each: Vec<String> = Severity::ADVISORY
        .iter()
        .rev()
        .map(|s| format!("{}: {}", s.as_upper(), n.get(s).copied().unwrap_or(0)))
        .collect();
    format!("{total} ({})", each.join(", "))
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let os = report.os.as_ref().map_or("OS unknown".to_string(), |o| {
        format!("{} {}", o.family, o.version)
    });
    writeln!(
        out,
        "{} ({}, {os}, {} layers, {} packages)",
        report.artifact.name,
        report.artifact.kind,
        report.layers.len(),
        report.packages.len()
    )?;
    writeln!(
        out,
        "Vulnerabilities: {}",
        counts(report.vulnerabilities.iter().map(|v| v.severity))
    )?;
    if !report.vulnerabilities.is_empty() {
        let mut rows = vec![
            [
                "SEVERITY",
                "ID",
                "PACKAGE",
                "INSTALLED",
                "FIXED",
                "LAYER",
                "PATH",
                "TITLE",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for v in &report.vulnerabilities {
            let title: String = v.title.as_deref().unwrap_or("").chars().take(60).collect();
            rows.push(vec![
                v.severity.as_upper().into(),
                v.id.clone(),
                v.package.clone(),
                v.installed_version.clone(),
                v.fixed_version.clone().unwrap_or_else(|| "(none)".into()),
                v.layer.to_string(),
                v.path.clone(),
                title,
            ]);
        }
        writeln!(out)?;
        columns(&rows, out)?;
    }
    if !report.ignored_vulnerabilities.is_empty() {
        writeln!(out, "\nIgnored vulnerabilities:")?;
        for i in &report.ignored_vulnerabilities {
            writeln!(out, "  {} in {}: {}", i.item.id, i.item.package, i.reason)?;
        }
    }
    writeln!(
        out,
        "\nSecrets: {}",
        counts(report.secrets.iter().map(|s| s.severity))
    )?;
    if !report.secrets.is_empty() {
        let mut rows = vec![
            ["SEVERITY", "RULE", "LAYER", "LOCATION", "MATCH"]
                .map(String::from)
                .to_vec(),
        ];
        for s in &report.secrets {
            rows.push(vec![
                s.severity.as_upper().into(),
                s.rule.into(),
                s.layer.to_string(),
                format!("{}:{}", s.path, s.line),
                s.excerpt.clone(),
            ]);
        }
        writeln!(out)?;
        columns(&rows, out)?;
    }
    for m in &report.misconfigurations {
        writeln!(out, "\nImage config: {}: {}", m.id, m.message)?;
    }
    Ok(())
}
