//! Replaying recorded events (one flat JSON object per line, as `haechi agent --events` writes
//! them) through a ruleset.

use std::io::BufRead;

use serde_json::{Map, Value};

use crate::alert::Alert;
use crate::ruleset::Ruleset;

/// Which matching rules raise an alert for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// The first in rule order, Falco's default (`rule_matching: first`).
    #[default]
    First,
    /// Every one (`rule_matching: all`).
    All,
}

/// What a replay saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Events evaluated.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Lines that were not JSON objects: line number and why.
    pub skipped: Vec<(u64, String)>,
}

/// Evaluates every line of `input` and hands each alert to `on_alert`. Blank lines are
/// ignored; a line that is not a JSON object is skipped and recorded. Reading stops at the
/// first I/O error, which is returned.
pub fn replay<R: BufRead>(
    rules: &Ruleset,
    input: R,
    matching: Matching,
    hostname: &str,
    mut on_alert: impl FnMut(Alert),
) -> std::io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    let mut matched = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let line_no = n as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let event: Map<String, Value> = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(e) => {
                stats
                    .skipped
                    .push((line_no, format!("not a JSON object: {e}")));
                continue;
            }
        };
        stats.events += 1;
        matched.clear();
        match matching {
            Matching::First => matched.extend(rules.first_match(&event)),
            Matching::All => rules.matches(&event, &mut matched),
        }
        for &rule in &matched {
            stats.alerts += 1;
            on_alert(rules.alert(rule, &event, hostname));
        }
    }
    Ok(stats)
}
