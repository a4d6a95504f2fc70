//! `--format sarif`: SARIF 2.1.0 as `haechi scan` writes it. Every item that ran is a rule (from
//! `haechi-scan`'s rule writer); every failure and warning is a result, located in the node file
//! that holds the evidence (paths relative to the audited root) or, for probes, named by URL.

use std::collections::BTreeMap;
use std::io::{self, Write};

use haechi_scan::format::{sarif_level, sarif_rule, write_run};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, PhysicalLocation, PropertyBag, Region,
    ReportingDescriptor, Result as SarifResult, ResultLevel,
};

use super::uri;
use crate::report::{Report, Status};

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<ReportingDescriptor> = report
        .items
        .iter()
        .map(|item| sarif_rule(&item.meta))
        .collect();
    let results: Vec<SarifResult> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| {
            let locations: Vec<Location> = r
                .evidence
                .iter()
                .filter(|e| !e.location.contains("://"))
                .take(1)
                .map(|e| {
                    let mut physical = PhysicalLocation::builder()
                        .artifact_location(
                            ArtifactLocation::builder().uri(uri(&e.location)).build(),
                        )
                        .build();
                    if let Some(line) = e.line {
                        physical.region =
                            Some(Region::builder().start_line(i64::from(line.max(1))).build());
                    }
                    Location::builder().physical_location(physical).build()
                })
                .collect();
            let mut extra = BTreeMap::new();
            extra.insert("status".to_string(), json!(r.status));
            extra.insert("severity".to_string(), json!(r.severity));
            extra.insert("section".to_string(), json!(r.section));
            extra.insert("evidence".to_string(), json!(r.evidence));
            let level = match r.status {
                Status::Fail => sarif_level(r.severity),
                _ => ResultLevel::Note,
            };
            let mut result = SarifResult::builder()
                .rule_id(r.id)
                .level(level)
                .message(Message::builder().text(r.message.clone()).build())
                .locations(locations)
                .properties(PropertyBag::builder().additional_properties(extra).build())
                .build();
            result.rule_index = report
                .items
                .iter()
                .position(|item| item.meta.id == r.id)
                .and_then(|i| i64::try_from(i).ok());
            result
        })
        .collect();
    let invocation = Invocation::builder()
        .execution_successful(report.problems.is_empty())
        .build();
    write_run(out, rules, results, invocation)
}
