//! Where everything the pipeline decides goes, behind one seam: each event counted (and
//! written, with `--events`), each alert counted, deduplicated, written to the output and handed
//! to the sinks (which never hold up detection), and the Prometheus metrics of all of it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use haechi_events::Event;
use haechi_rules::alert::Alert;
use serde_json::Value;

use crate::dedup::Dedup;
use crate::fields::{self, Context};
use crate::metrics::{AlertLabels, Metrics, RuleLabels, TypeLabels};
use crate::sinks::Sinks;

/// How events and alerts are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line: events keyed by Falco field names, alerts in Falco's shape.
    Json,
    /// One readable line each (an alert's line is Falco's `output`).
    Text,
}

/// What was delivered, for the summary.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Events handled, by `evt.type`.
    pub by_type: BTreeMap<&'static str, u64>,
    /// Alerts raised, by rule (before deduplication).
    pub alerts: BTreeMap<String, u64>,
    /// Alerts held back by deduplication.
    pub suppressed: u64,
}

/// The output's format, deduplication, the sinks and the metrics.
#[derive(Debug)]
pub struct Delivery {
    format: Format,
    events: bool,
    dedup: Option<Dedup>,
    sinks: Sinks,
    metrics: Arc<Metrics>,
    counts: Counts,
}

impl Delivery {
    /// Writes alerts (and, with `events`, every event) in `format`; emits the same rule on the
    /// same container once per `dedup` window (`None`: every alert); hands alerts to `sinks`;
    /// counts everything in `metrics`.
    pub fn new(
        format: Format,
        events: bool,
        sinks: Sinks,
        dedup: Option<Duration>,
        metrics: Arc<Metrics>,
    ) -> Delivery {
        Delivery {
            format,
            events,
            dedup: dedup.map(Dedup::new),
            sinks,
            metrics,
            counts: Counts::default(),
        }
    }

    /// The metrics everything is counted in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// What was delivered so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Counts `event` and, when every event is written, writes it with its Falco fields. The
    /// fields are rendered as a map only for the text format; JSON is written straight.
    pub fn event(
        &mut self,
        event: &Event,
        cx: &Context<'_>,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let kind = fields::event_type(event);
        *self.counts.by_type.entry(kind).or_default() += 1;
        self.metrics
            .events
            .get_or_create(&TypeLabels { r#type: kind })
            .inc();
        if self.events {
            match self.format {
                Format::Json => {
                    fields::write_json(event, cx, out)?;
                    out.write_all(b"\n")?;
                }
                Format::Text => writeln!(out, "{}", text_line(&fields::render(event, cx)))?,
            }
        }
        Ok(())
    }

    /// Counts an event tested against the rules.
    pub fn evaluated(&self) {
        self.metrics.evaluated.inc();
    }

    /// Counts `alert`, raised on `container`, and emits it unless deduplication holds it
    /// back.
    pub fn alert(
        &mut self,
        alert: Alert,
        container: &str,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        *self.counts.alerts.entry(alert.rule.clone()).or_default() += 1;
        self.metrics
            .alerts
            .get_or_create(&AlertLabels {
                rule: alert.rule.clone(),
                priority: alert.priority.name(),
            })
            .inc();
        let Some(dedup) = &mut self.dedup else {
            return self.emit(&alert, out);
        };
        let rule = alert.rule.clone();
        let admitted = dedup.admit(alert, container, Instant::now());
        for alert in admitted.closed.iter().chain(&admitted.alert) {
            self.emit(alert, out)?;
        }
        if admitted.alert.is_none() {
            self.counts.suppressed += 1;
            self.metrics
                .suppressed
                .get_or_create(&RuleLabels { rule })
                .inc();
        }
        Ok(())
    }

    /// Emits the summaries of the dedup windows that have closed by `now`.
    pub fn expire(&mut self, now: Instant, out: &mut dyn Write) -> std::io::Result<()> {
        let closed = self.dedup.as_mut().map(|d| d.expire(now));
        for summary in closed.unwrap_or_default() {
            self.emit(&summary, out)?;
        }
        Ok(())
    }

    /// Closes every dedup window, emitting their summaries, and flushes the output: the last
    /// delivery before the agent stops.
    pub fn close(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let closed = self.dedup.as_mut().map(Dedup::close_all);
        for summary in closed.unwrap_or_default() {
            self.emit(&summary, out)?;
        }
        out.flush()
    }

    /// Writes `alert` to the output and hands it to the sinks (which never wait).
    fn emit(&self, alert: &Alert, out: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut *out, alert)?;
                out.write_all(b"\n")?;
            }
            Format::Text => writeln!(out, "{}", alert.text())?,
        }
        self.sinks.send(alert);
        Ok(())
    }
}

/// An event's readable line: time, type, process, user, container, and what it was about.
fn text_line(fields: &serde_json::Map<String, Value>) -> String {
    let get = |k: &str| match fields.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    let mut line = format!(
        "{} {} {}({}) user={} container={}",
        get("evt.time"),
        get("evt.type"),
        get("proc.name"),
        get("proc.pid"),
        get("user.name"),
        get("container.id"),
    );
    for key in ["proc.cmdline", "fd.name", "evt.res"] {
        if fields.contains_key(key) {
            line.push_str(&format!(" {key}={}", get(key)));
        }
    }
    line
}
