//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it — every enabled check is a rule
//! with help text and a `security-severity`, every finding a result with a physical location.

use std::collections::BTreeMap;
use std::io::{self, Write};

use haechi_policy::{CheckMeta, Severity};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif, Tool, ToolComponent,
};

use crate::report::Report;

/// The SARIF 2.1.0 schema URI written in `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF result level of a finding of `severity`.
pub fn sarif_level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

/// GitHub's `security-severity`: critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn uri(file: &str) -> String {
    if file == "-" {
        return "stdin".to_string();
    }
    file.strip_prefix("./").unwrap_or(file).to_string()
}

/// A SARIF rule for a check: help text with the remediation and references, tags and the
/// `security-severity` GitHub sorts by.
pub fn sarif_rule(meta: &CheckMeta) -> ReportingDescriptor {
    let references: Vec<String> = meta
        .references
        .iter()
        .map(|r| format!("- [{}]({})", r.name, r.url))
        .collect();
    let help_text = format!("{}\n\nRemediation: {}", meta.description, meta.remediation);
    let help_markdown = format!(
        "{}\n\n**Remediation:** {}\n\n**References:**\n{}",
        meta.description,
        meta.remediation,
        references.join("\n")
    );
    let mut tags = vec!["security".to_string(), "kubernetes".to_string()];
    if let Some(level) = meta.pss {
        tags.push(format!("pss-{level}"));
    }
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        json!(security_severity(meta.severity)),
    );
    ReportingDescriptor::builder()
        .id(meta.id)
        .name(meta.title)
        .short_description(MultiformatMessageString::builder().text(meta.title).build())
        .full_description(
            MultiformatMessageString::builder()
                .text(meta.description)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_markdown)
                .build(),
        )
        .help_uri(meta.references.first().map_or("", |r| r.url))
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(extra)
                .build(),
        )
        .build()
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<ReportingDescriptor> = report.checks.iter().map(|m| sarif_rule(m)).collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            let region = Region::builder()
                .start_line(i64::from(f.line.max(1)))
                .start_column(i64::from(f.column.max(1)))
                .build();
            let location = Location::builder()
                .physical_location(
                    PhysicalLocation::builder()
                        .artifact_location(ArtifactLocation::builder().uri(uri(&f.file)).build())
                        .region(region)
                        .build(),
                )
                .build();
            let mut extra = BTreeMap::new();
            extra.insert("object".to_string(), json!(f.object));
            extra.insert("path".to_string(), json!(f.path));
            extra.insert("severity".to_string(), json!(f.severity));
            let mut result = SarifResult::builder()
                .rule_id(f.check)
                .level(sarif_level(f.severity))
                .message(
                    Message::builder()
                        .text(format!("{} ({}: {})", f.message, f.object, f.path))
                        .build(),
                )
                .locations(vec![location])
                .properties(PropertyBag::builder().additional_properties(extra).build())
                .build();
            result.rule_index = report
                .checks
                .iter()
                .position(|m| m.id == f.check)
                .and_then(|i| i64::try_from(i).ok());
            if let Some(reason) = &f.ignored {
                result.suppressions = Some(vec![
                    serde_sarif::sarif::Suppression::builder()
                        .kind(json!("inSource"))
                        .justification(reason.clone())
                        .build(),
                ]);
            }
            result
        })
        .collect();
    let notifications: Vec<Notification> = report
        .problems
        .iter()
        .map(|p| {
            let mut location = PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(uri(&p.file)).build())
                .build();
            if let Some(line) = p.line {
                location.region = Some(
                    Region::builder()
                        .start_line(i64::from(line))
                        .start_column(i64::from(p.column.unwrap_or(1)))
                        .build(),
                );
            }
            Notification::builder()
                .level(json!(if p.fatal { "error" } else { "warning" }))
                .message(Message::builder().text(p.message.clone()).build())
                .locations(vec![
                    Location::builder().physical_location(location).build(),
                ])
                .build()
        })
        .collect();
    let invocation = Invocation::builder()
        .execution_successful(!report.has_fatal_problem())
        .tool_execution_notifications(notifications)
        .build();
    write_run(out, rules, results, invocation)
}

/// Writes one SARIF 2.1.0 log of one run of haechi with `rules`, `results` and `invocation`:
/// the envelope every haechi report shares.
pub fn write_run(
    out: &mut dyn Write,
    rules: Vec<ReportingDescriptor>,
    results: Vec<SarifResult>,
    invocation: Invocation,
) -> io::Result<()> {
    let driver = ToolComponent::builder()
        .name("haechi")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/haechi-dev/haechi")
        .rules(rules)
        .build();
    let sarif = Sarif::builder()
        .schema(SARIF_SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![
            Run::builder()
                .tool(Tool::builder().driver(driver).build())
                .results(results)
                .invocations(vec![invocation])
                .build(),
        ])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}
