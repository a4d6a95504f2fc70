//! The image report in haechi's formats (`haechi-report`): its JSON is [`Report`] itself
//! (documented in docs/image.md), its SARIF run has each advisory and secret rule as a rule
//! (with GitHub's `security-severity`, the CVSS score where there is one) and each vulnerable
//! package and each secret as a result located at its file in the image (`IMAGEROOT`), and its
//! table is Trivy's layout ([`table`]). CycloneDX 1.5 is the SBOM ([`cyclonedx`]).

mod cyclonedx;
mod table;

use std::collections::BTreeMap;
use std::io::{self, Write};

use haechi_report::sarif::Log;
use haechi_report::table::Painter;
use haechi_report::{Finding, Location, Problem, Root, Rule, Severity};

use crate::report::Report;

pub use cyclonedx::{CycloneDx, cyclonedx, purl};

fn rule(
    id: &str,
    title: &str,
    help: String,
    severity: Severity,
    score: Option<f64>,
    uri: Option<&str>,
) -> Rule {
    Rule {
        id: id.to_string(),
        name: id.to_string(),
        title: title.to_string(),
        description: None,
        help,
        help_markdown: None,
        help_uri: uri.map(str::to_string),
        severity,
        score,
        tags: vec!["security".to_string(), severity.as_str().to_string()],
    }
}

impl haechi_report::Report for Report {
    fn sarif(&self) -> Log {
        let mut rules: Vec<Rule> = Vec::new();
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        let mut findings = Vec::new();
        for v in &self.vulnerabilities {
            if seen.insert(v.id.clone(), ()).is_none() {
                let title = v.title.clone().unwrap_or_else(|| v.id.clone());
                let help = format!(
                    "{title}\nAliases: {}\nSeverity: {}{}",
                    v.aliases.join(", "),
                    v.severity.as_upper(),
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
            }
            let fix = v
                .fixed_version
                .as_ref()
                .map_or("no fixed version yet".to_string(), |f| {
                    format!("fixed in {f}")
                });
            findings.push(
                Finding::new(
                    v.id.clone(),
                    v.severity,
                    format!(
                        "Package {} {} is affected by {} ({}); {fix}. Layer {}.",
                        v.package,
                        v.installed_version,
                        v.id,
                        v.severity.as_upper(),
                        v.layer
                    ),
                )
                .at(Location::line(v.path.clone(), 1))
                .about(&v.package),
            );
        }
        for s in &self.secrets {
            let id = format!("secret/{}", s.rule);
            if seen.insert(id.clone(), ()).is_none() {
                let help = format!(
                    "{} found in an image layer. Remove it from the layer that adds it (and \
                     from the build history), then rotate it.",
                    s.title
                );
                rules.push(rule(&id, s.title, help, s.severity, None, None));
            }
            findings.push(
                Finding::new(
                    id,
                    s.severity,
                    format!("{} in layer {}: {}", s.title, s.layer, s.excerpt),
                )
                .at(Location::line(
                    s.path.clone(),
                    u32::try_from(s.line).unwrap_or(u32::MAX),
                ))
                .about(&s.excerpt),
            );
        }
        let problems = self
            .problems
            .iter()
            .map(|p| Problem::text(p.clone(), false))
            .collect();
        let mut log = Log::new(
            Some(Root::image(&self.artifact.name)),
            rules,
            findings,
            problems,
        );
        log.successful = !self.incomplete;
        log
    }

    fn table(&self, _: Painter, out: &mut dyn Write) -> io::Result<()> {
        table::render(self, out)
    }
}
