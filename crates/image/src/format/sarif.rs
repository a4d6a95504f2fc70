//! `--format sarif`: SARIF 2.1.0. Each advisory is a rule (with GitHub's `security-severity`),
//! each vulnerable package and each secret a result located at the file it was found in.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    Region, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool,
    ToolComponent,
};

use crate::Severity;
use crate::report::Report;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Unknown => ResultLevel::Note,
    }
}

fn security_severity(severity: Severity, score: Option<f64>) -> String {
    let score = score.unwrap_or(match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 3.0,
        Severity::Unknown => 0.0,
    });
    format!("{score:.1}")
}

fn location(path: &str, line: usize) -> Location {
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(path.trim_start_matches('/').to_string())
                        .build(),
                )
                .region(Region::builder().start_line(line.max(1) as i64).build())
                .build(),
        )
        .build()
}

fn rule(
    id: &str,
    title: &str,
    help: String,
    severity: Severity,
    score: Option<f64>,
    uri: Option<&str>,
) -> ReportingDescriptor {
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        json!(security_severity(severity, score)),
    );
    let builder = ReportingDescriptor::builder()
        .id(id)
        .name(id)
        .short_description(MultiformatMessageString::builder().text(title).build())
        .help(MultiformatMessageString::builder().text(help).build())
        .properties(
            PropertyBag::builder()
                .tags(vec![
                    "security".to_string(),
                    severity.as_str().to_lowercase(),
                ])
                .additional_properties(extra)
                .build(),
        );
    match uri {
        Some(uri) => builder.help_uri(uri).build(),
        None => builder.build(),
    }
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for v in &report.vulnerabilities {
        let i = *index.entry(v.id.clone()).or_insert_with(|| {
            let title = v.title.clone().unwrap_or_else(|| v.id.clone());
            let help = format!(
                "{title}\nAliases: {}\nSeverity: {}{}",
                v.aliases.join(", "),
                v.severity.as_str(),
                v.vector
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            );
            rules.push(rule(
                &v.id,
                &title,
                help,
                v.severity,
                v.score,
                v.url.as_deref(),
            ));
            rules.len() - 1
        });
        let fix = v
            .fixed_version
            .as_ref()
            .map_or("no fixed version yet".to_string(), |f| {
                format!("fixed in {f}")
            });
        let mut result = SarifResult::builder()
            .rule_id(v.id.clone())
            .level(level(v.severity))
            .message(
                Message::builder()
                    .text(format!(
                        "Package {} {} is affected by {} ({}); {fix}. Layer {}.",
                        v.package,
                        v.installed_version,
                        v.id,
                        v.severity.as_str(),
                        v.layer
                    ))
                    .build(),
            )
            .locations(vec![location(&v.path, 1)])
            .build();
        result.rule_index = Some(i as i64);
        results.push(result);
    }
    for s in &report.secrets {
        let i = *index.entry(format!("secret/{}", s.rule)).or_insert_with(|| {
            let help = format!("{} found in an image layer. Remove it from the layer that adds it (and from the build history), then rotate it.", s.title);
            rules.push(rule(&format!("secret/{}", s.rule), s.title, help, s.severity, None, None));
            rules.len() - 1
        });
        let mut result = SarifResult::builder()
            .rule_id(format!("secret/{}", s.rule))
            .level(level(s.severity))
            .message(
                Message::builder()
                    .text(format!("{} in layer {}: {}", s.title, s.layer, s.excerpt))
                    .build(),
            )
            .locations(vec![location(&s.path, s.line)])
            .build();
        result.rule_index = Some(i as i64);
        results.push(result);
    }
    let driver = ToolComponent::builder()
        .name("haechi")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/haechi-dev/haechi")
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}
