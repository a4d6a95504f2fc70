//! The running agent: sources → pipeline → delivery, with enforcement beside the pipeline.
//! It takes from every source in turn, in batches, so that a flood from one never keeps the
//! agent from the others, from its signals or from enforcement.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use haechi_enforce::Compiled;
use haechi_rules::Ruleset;
use haechi_sensor::enforce::Lost;
use haechi_sensor::{SensorError, Stats};
use serde_json::Value;

use crate::containers::Engines;
use crate::delivery::{Delivery, Format};
use crate::enforcement::Enforcement;
use crate::held::HOLD_FOR;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::sinks::Sinks;
use crate::sources::{Replayed, Source, SourceError, Tally};

/// How often the agent takes from every source even when none said it is ready (the kernel
/// wakes its reader only once many events wait: see [`haechi_sensor::DRAIN_INTERVAL`]), and
/// looks at what finished in the background (container look-ups, held events).
const SHORT_TICK: Duration = Duration::from_millis(10);

/// How often open dedup windows are closed and the sources' counters read into the metrics.
const TICK: Duration = Duration::from_secs(1);

/// Inputs taken from one source between two looks at enforcement (records, DNS answers,
/// containers to scope): small enough that a flood of events delays a learned address by a
/// millisecond or so, large enough that the looks cost nothing.
const BATCH: usize = 1024;

/// Batches handled before the agent looks at its signals, reloads and timers again.
const BATCHES: usize = 64;

/// What the agent is asked to do.
pub struct Options {
    /// Where events come from: the kernel, gVisor sandboxes, a recording.
    pub sources: Vec<Box<dyn Source>>,
    /// Where container metadata comes from.
    pub engines: Engines,
    /// Output format of events and alerts.
    pub format: Format,
    /// Write every event.
    pub events: bool,
    /// Rules whose alerts are written (the first rule an event matches, as Falco does).
    pub rules: Option<Ruleset>,
    /// Policies the kernel enforces, and where their programs and maps are pinned.
    pub enforce: Option<(haechi_enforce::Compiled, PathBuf)>,
    /// Where alerts go besides the output.
    pub sinks: Sinks,
    /// Emit the same rule on the same container once per this window (with a summary of how
    /// many were held back when it closes); `None` emits every alert.
    pub dedup: Option<Duration>,
    /// The counters `/metrics` serves.
    pub metrics: Arc<Metrics>,
}

/// New rules, taken in while the agent runs (SIGHUP): the sources report what they need from
/// then on.
#[derive(Debug)]
pub struct Reload {
    /// The rules from now on.
    pub rules: Option<Ruleset>,
    /// The enforcement policies from now on, when they were reloaded too (only an agent that
    /// enforces takes them).
    pub policies: Option<Compiled>,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Enforcement's programs failed.
    #[error(transparent)]
    Enforcement(#[from] SensorError),
    /// Writing events failed.
    #[error("writing events: {0}")]
    Output(#[from] std::io::Error),
}

/// What the agent saw, for the summary on exit.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Events handled, by `evt.type`.
    pub by_type: BTreeMap<&'static str, u64>,
    /// Inputs the sources could not read (kernel records that did not decode).
    pub undecodable: u64,
    /// Alerts raised, by rule (before deduplication).
    pub alerts: BTreeMap<String, u64>,
    /// Alerts held back by deduplication.
    pub suppressed: u64,
    /// The kernel's counters (lost events among them), when it was a source.
    pub kernel: Option<Stats>,
    /// What enforcement lost to full ring buffers; `None` without policies.
    pub enforcement_lost: Option<Lost>,
    /// What the gVisor listener saw, when it was a source.
    pub gvisor: Option<haechi_gvisor::Stats>,
    /// What a replay read, when a recording was a source.
    pub replayed: Option<Replayed>,
}

/// A source and whether it has ended.
struct Fed {
    source: Box<dyn Source>,
    ended: bool,
}

/// The running agent.
pub struct Agent {
    sources: Vec<Fed>,
    pipeline: Pipeline,
    enforcement: Option<Enforcement>,
    delivery: Delivery,
}

impl Agent {
    /// Sets the pipeline up for `options`' sources (started already) and starts enforcement.
    /// Needs a tokio runtime; root with policies.
    pub fn start(options: Options) -> Result<Self, AgentError> {
        let live = options.sources.iter().any(|s| s.live());
        let mut pipeline = Pipeline::new(options.engines, options.rules, live);
        let enforcement = match options.enforce {
            Some((policies, pin_dir)) => {
                let mut enforcement = Enforcement::start(policies, &pin_dir)?;
                for (cgroup_id, id) in Enforcement::running_containers() {
                    enforcement.observe(cgroup_id, &pipeline.container(&format!("/{id}")));
                }
                Some(enforcement)
            }
            None => None,
        };
        let delivery = Delivery::new(
            options.format,
            options.events,
            options.sinks,
            options.dedup,
            options.metrics,
        );
        Ok(Agent {
            sources: options
                .sources
                .into_iter()
                .map(|source| Fed {
                    source,
                    ended: false,
                })
                .collect(),
            pipeline,
            enforcement,
            delivery,
        })
    }

    /// Reports events to `out` until `stop` completes or every source has ended, taking in
    /// what `reloads` sends; returns what was seen.
    pub async fn run(
        &mut self,
        out: &mut dyn Write,
        stop: impl Future<Output = ()>,
        reloads: &mut tokio::sync::mpsc::UnboundedReceiver<Reload>,
    ) -> Result<Summary, AgentError> {
        tokio::pin!(stop);
        let mut reloads_open = true;
        let mut short = tokio::time::interval(SHORT_TICK);
        short.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(TICK);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let enforcing = self.enforcement.is_some();
        while self.sources.iter().any(|fed| !fed.ended) {
            tokio::select! {
                () = &mut stop => break,
                ready = ready(&mut self.sources) => ready?,
                ready = enforcement_readable(&mut self.enforcement), if enforcing => ready?,
                _ = short.tick() => {},
                reload = reloads.recv(), if reloads_open => match reload {
                    Some(reload) => self.reload(reload, out)?,
                    None => reloads_open = false,
                },
                _ = housekeeping.tick() => self.housekeeping(out, Instant::now())?,
            }
            self.drain(out)?;
        }
        // What the sources hold now; bounded (about a million events) should a flood go on.
        for _ in 0..16 {
            if self.drain(out)? < BATCH * BATCHES {
                break;
            }
        }
        self.pipeline
            .finish(HOLD_FOR, &mut self.delivery, out)
            .await?;
        self.delivery.close(out)?;
        Ok(self.summary())
    }

    /// Takes what the sources hold now, up to `BATCHES` batches from each so that a flood
    /// never keeps the agent from its signals; returns how many inputs.
    pub fn drain(&mut self, out: &mut dyn Write) -> Result<usize, AgentError> {
        let mut count = 0;
        let mut inputs = Vec::with_capacity(BATCH);
        for _ in 0..BATCHES {
            self.between_batches(out)?;
            let mut more = false;
            for fed in &mut self.sources {
                let taken = fed.source.take(BATCH, &mut inputs);
                more |= taken == BATCH;
                count += taken;
                for input in inputs.drain(..) {
                    let seen = self.pipeline.take(input, &mut self.delivery, out)?;
                    if let (Some(enforcement), Some((cgroup_id, container))) =
                        (&mut self.enforcement, seen)
                    {
                        enforcement.observe(cgroup_id, &container);
                    }
                }
            }
            if !more {
                break;
            }
        }
        self.delivery.metrics().queue_depth.set(count as i64);
        Ok(count)
    }

    /// Judges the events held for containers whose metadata arrived (or that waited long
    /// enough), scopes those containers, learns from DNS answers and raises an alert for what
    /// the kernel enforced: done between every batch of inputs, so a busy source never holds
    /// up enforcement.
    fn between_batches(&mut self, out: &mut dyn Write) -> Result<(), AgentError> {
        let fresh = self.pipeline.between_batches(&mut self.delivery, out)?;
        if let Some(enforcement) = &mut self.enforcement {
            for view in &fresh {
                enforcement.resolved(view);
            }
            let alerts =
                enforcement.drain(self.pipeline.boot_to_epoch_ns(), self.pipeline.hostname());
            for alert in alerts {
                let container = match alert.output_fields.get("container.id") {
                    Some(Value::String(id)) => id.clone(),
                    _ => String::new(),
                };
                self.delivery.alert(alert, &container, out)?;
            }
        }
        Ok(())
    }

    /// Swaps in new rules. What the sources hold is judged by the old rules first; nothing is
    /// dropped meanwhile (the kernel keeps writing to its ring buffer).
    pub fn reload(&mut self, reload: Reload, out: &mut dyn Write) -> Result<(), AgentError> {
        self.drain(out)?;
        for fed in &mut self.sources {
            fed.source.reload(reload.rules.as_ref())?;
        }
        self.pipeline.set_rules(reload.rules);
        tracing::info!("rules reloaded");
        if let (Some(enforcement), Some(policies)) = (&mut self.enforcement, reload.policies) {
            enforcement.replace(policies)?;
            tracing::info!("policies reloaded");
        }
        Ok(())
    }

    /// Emits the summaries of dedup windows that have closed, stops denying learned addresses
    /// whose time is up, and brings the sources' counters into the metrics.
    fn housekeeping(&mut self, out: &mut dyn Write, now: Instant) -> std::io::Result<()> {
        self.delivery.expire(now, out)?;
        if let Some(enforcement) = &mut self.enforcement {
            enforcement.expire(now);
        }
        self.tally();
        Ok(())
    }

    /// The counters of every source and of enforcement, brought into the metrics.
    fn tally(&mut self) -> (Vec<Tally>, Option<Lost>) {
        let metrics = self.delivery.metrics();
        let tallies = self
            .sources
            .iter_mut()
            .map(|fed| fed.source.tally(metrics))
            .collect();
        let lost = self.enforcement.as_mut().map(|e| e.tally(metrics));
        (tallies, lost)
    }

    /// What was seen so far.
    pub fn summary(&mut self) -> Summary {
        let (tallies, enforcement_lost) = self.tally();
        let counts = self.delivery.counts();
        let mut summary = Summary {
            by_type: counts.by_type.clone(),
            undecodable: self.pipeline.unreadable(),
            alerts: counts.alerts.clone(),
            suppressed: counts.suppressed,
            enforcement_lost,
            ..Summary::default()
        };
        for tally in tallies {
            match tally {
                Tally::Kernel(stats) => summary.kernel = Some(stats),
                Tally::Sandboxes(stats) => summary.gvisor = Some(stats),
                Tally::Replay(replayed) => summary.replayed = Some(replayed),
            }
        }
        summary
    }
}

/// Completes when a source that has not ended is ready, or has ended (which it marks).
async fn ready(sources: &mut [Fed]) -> Result<(), SourceError> {
    let mut waiting: Vec<_> = sources
        .iter_mut()
        .enumerate()
        .filter(|(_, fed)| !fed.ended)
        .map(|(i, fed)| (i, fed.source.ready()))
        .collect();
    if waiting.is_empty() {
        return std::future::pending().await;
    }
    let (i, ready) = std::future::poll_fn(|cx| {
        for (i, future) in &mut waiting {
            if let std::task::Poll::Ready(ready) = future.as_mut().poll(cx) {
                return std::task::Poll::Ready((*i, ready));
            }
        }
        std::task::Poll::Pending
    })
    .await;
    drop(waiting);
    if !ready? {
        sources[i].ended = true;
    }
    Ok(())
}

/// Waits for enforcement records; never completes without enforcement.
async fn enforcement_readable(enforcement: &mut Option<Enforcement>) -> Result<(), SensorError> {
    match enforcement {
        Some(enforcement) => enforcement.readable().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_short_tick_drains_the_kernel_as_often_as_it_asks() {
        assert!(super::SHORT_TICK <= haechi_sensor::DRAIN_INTERVAL);
    }
}
