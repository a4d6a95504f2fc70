//! The runtime pipeline: sensor records → decoded events → process table → container view →
//! Falco fields → rules → alerts, deduplicated → the output and the sinks. Events from gVisor
//! sandboxes join at the process table (one per sandboxed container, since their pids are not
//! the host's) and share everything after it.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use haechi_events::{Event, Observation, Task};
use haechi_gvisor::runsc::SandboxProcess;
use haechi_gvisor::{Listener, Received, Sandboxed};
use haechi_rules::Ruleset;
use haechi_rules::alert::Alert;
use haechi_sensor::enforce::Lost;
use haechi_sensor::{DRAIN_INTERVAL, Filter, Sensor, SensorError, Stats, decode};
use serde_json::Value;

use crate::accounts::{Accounts, PerContainer};
use crate::containers::{Containers, Sources};
use crate::dedup::Dedup;
use crate::dns::ServerNames;
use crate::enforcement::Enforcement;
use crate::fields::{self, ContainerView, Context, Field, Named};
use crate::held::Held;
use crate::metrics::{AlertLabels, Metrics, RuleLabels, TypeLabels};
use crate::process::{Process, ProcessTable};
use crate::sinks::Sinks;
use crate::view::Rules;

/// How often open dedup windows are closed and the kernel's counters read into the metrics.
const TICK: Duration = Duration::from_secs(1);

/// Events handled between two looks at enforcement (records, DNS answers, containers to
/// scope): small enough that a flood of events delays a learned address by a millisecond or
/// so, large enough that the looks cost nothing.
const BATCH: usize = 1024;

/// Batches handled before the agent looks at its signals, reloads and timers again.
const BATCHES: usize = 64;
/// Sandbox events handled in one go before the kernel's ring buffer gets its turn.
const SANDBOX_BATCH: usize = 256;

/// How events and alerts are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line: events keyed by Falco field names, alerts in Falco's shape.
    Json,
    /// One readable line each (an alert's line is Falco's `output`).
    Text,
}

/// What the agent is asked to do.
#[derive(Debug)]
pub struct Options {
    /// What the kernel side lets through.
    pub filter: Filter,
    /// Where container metadata comes from.
    pub sources: Sources,
    /// Output format of events and alerts.
    pub format: Format,
    /// Write every event.
    pub events: bool,
    /// Rules whose alerts are written (the first rule an event matches, as Falco does).
    pub rules: Option<Ruleset>,
    /// Policies the kernel enforces, and where their programs and maps are pinned.
    pub enforce: Option<(haechi_enforce::Compiled, std::path::PathBuf)>,
    /// Where alerts go besides the output.
    pub sinks: Sinks,
    /// Emit the same rule on the same container once per this window (with a summary of how
    /// many were held back when it closes); `None` emits every alert.
    pub dedup: Option<Duration>,
    /// The counters `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// gVisor sandboxes' trace stream, when watched.
    pub gvisor: Option<Listener>,
}

/// New rules, and the kernel filter they need, taken in while the agent runs (SIGHUP).
#[derive(Debug)]
pub struct Reload {
    /// The rules from now on.
    pub rules: Option<Ruleset>,
    /// Which syscalls the kernel reports from now on (path prefixes and ignore lists stay).
    pub filter: Filter,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The sensor failed.
    #[error(transparent)]
    Sensor(#[from] SensorError),
    /// Writing events failed.
    #[error("writing events: {0}")]
    Output(#[from] std::io::Error),
}

/// What the agent saw, for the summary on exit and the metrics.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Events handled, by `evt.type`.
    pub by_type: BTreeMap<&'static str, u64>,
    /// Records that did not decode.
    pub undecodable: u64,
    /// Alerts raised, by rule (before deduplication).
    pub alerts: BTreeMap<String, u64>,
    /// Alerts held back by deduplication.
    pub suppressed: u64,
    /// Kernel-side counters (lost events among them).
    pub kernel: Stats,
    /// What enforcement lost to full ring buffers; `None` without policies.
    pub enforcement_lost: Option<Lost>,
    /// What the gVisor listener saw, when it ran.
    pub gvisor: Option<haechi_gvisor::Stats>,
}

/// A host kernel event with its process, ancestry and accounts as they were when it happened.
struct HeldEvent {
    event: Event,
    process: Arc<Process>,
    ancestors: Vec<Arc<Process>>,
    accounts: Arc<Accounts>,
}

/// The running agent.
pub struct Agent {
    sensor: Sensor,
    table: ProcessTable,
    containers: Containers,
    /// User and group names, the host's and each container's.
    accounts: PerContainer,
    /// Shared with the event being judged, so that its context can borrow a name while the
    /// agent judges it; changed only between events.
    server_names: Arc<ServerNames>,
    /// Events of containers the engine has not described yet.
    held: Held<HeldEvent>,
    boot_to_epoch_ns: u64,
    format: Format,
    events: bool,
    rules: Option<Rules>,
    enforcement: Option<Enforcement>,
    sinks: Sinks,
    dedup: Option<Dedup>,
    metrics: Arc<Metrics>,
    /// The kernel's lost-event count already added to the metrics.
    lost_reported: u64,
    /// The kernel's enforcement loss counts already added to the metrics.
    enforcement_lost_reported: Lost,
    gvisor: Option<Listener>,
    /// Each sandboxed container's processes.
    sandboxes: HashMap<String, ProcessTable>,
    /// The gVisor counters already added to the metrics.
    gvisor_reported: haechi_gvisor::Stats,
    hostname: String,
    summary: Summary,
}

impl Agent {
    /// Seeds the process table from /proc and starts the sensor. Needs root and a tokio
    /// runtime.
    pub fn start(options: Options) -> Result<Self, AgentError> {
        let table = ProcessTable::from_proc();
        let sensor = Sensor::start(&options.filter)?;
        let mut containers = Containers::new(options.sources);
        let enforcement = match options.enforce {
            Some((policies, pin_dir)) => {
                let mut enforcement = Enforcement::start(policies, &pin_dir)?;
                for (cgroup_id, id) in Enforcement::running_containers() {
                    enforcement.observe(cgroup_id, &containers.view(&format!("/{id}")));
                }
                Some(enforcement)
            }
            None => None,
        };
        Ok(Agent {
            sensor,
            table,
            containers,
            accounts: PerContainer::new(),
            server_names: Arc::default(),
            held: Held::default(),
            boot_to_epoch_ns: boot_to_epoch_ns(),
            format: options.format,
            events: options.events,
            rules: options.rules.map(Rules::new),
            enforcement,
            sinks: options.sinks,
            dedup: options.dedup.map(Dedup::new),
            metrics: options.metrics,
            lost_reported: 0,
            enforcement_lost_reported: Lost::default(),
            gvisor: options.gvisor,
            sandboxes: HashMap::new(),
            gvisor_reported: haechi_gvisor::Stats::default(),
            hostname: haechi_rules::alert::hostname(),
            summary: Summary::default(),
        })
    }

    /// Reports events to `out` until `stop` completes, taking in what `reloads` sends; returns
    /// what was seen.
    pub async fn run(
        &mut self,
        out: &mut dyn Write,
        stop: impl Future<Output = ()>,
        reloads: &mut tokio::sync::mpsc::UnboundedReceiver<Reload>,
    ) -> Result<Summary, AgentError> {
        tokio::pin!(stop);
        let mut reloads_open = true;
        // The kernel wakes the agent only once many events wait: drain on this tick too (and
        // enforcement scopes containers whose look-ups finished in the background).
        let mut tick = tokio::time::interval(DRAIN_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let enforcing = self.enforcement.is_some();
        let sandboxes = self.gvisor.is_some();
        let mut housekeeping = tokio::time::interval(TICK);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => break,
                ready = self.sensor.readable() => ready?,
                ready = enforcement_readable(&mut self.enforcement), if enforcing => ready?,
                _ = tick.tick() => {},
                received = sandbox_message(&mut self.gvisor), if sandboxes => {
                    self.sandbox_messages(received, out)?;
                }
                reload = reloads.recv(), if reloads_open => match reload {
                    Some(reload) => self.reload(reload, out)?,
                    None => reloads_open = false,
                },
                _ = housekeeping.tick() => self.housekeeping(out, Instant::now())?,
            }
            self.drain(out)?;
        }
        // What the ring buffers hold now; bounded (about a million events) should a flood go on.
        for _ in 0..16 {
            if self.drain(out)? < BATCH * BATCHES {
                break;
            }
        }
        for (id, held) in self.held.release_all() {
            self.judge_all_in(&id, held, out)?;
        }
        for summary in self
            .dedup
            .as_mut()
            .map(Dedup::close_all)
            .unwrap_or_default()
        {
            self.emit(&summary, out)?;
        }
        while let Some(received) = self.gvisor.as_mut().and_then(Listener::try_recv) {
            self.sandbox_message(received, out)?;
        }
        out.flush()?;
        self.summary.kernel = self.kernel_stats();
        self.summary.enforcement_lost = self.enforcement.as_ref().map(Enforcement::lost);
        self.summary.gvisor = self.gvisor_stats();
        Ok(self.summary.clone())
    }

    /// Emits the summaries of dedup windows that have closed, and brings the kernel's
    /// lost-event count into the metrics.
    fn housekeeping(&mut self, out: &mut dyn Write, now: Instant) -> std::io::Result<()> {
        for summary in self
            .dedup
            .as_mut()
            .map(|d| d.expire(now))
            .unwrap_or_default()
        {
            self.emit(&summary, out)?;
        }
        if let Some(enforcement) = &mut self.enforcement {
            enforcement.expire(now);
        }
        self.kernel_stats();
        self.gvisor_stats();
        Ok(())
    }

    /// Handles `first` and what else the gVisor listener holds now, up to a batch.
    fn sandbox_messages(
        &mut self,
        first: Option<Received>,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let Some(first) = first else {
            // The listener failed (it said why); the host's events carry on.
            self.gvisor = None;
            return Ok(());
        };
        self.sandbox_message(first, out)?;
        for _ in 1..SANDBOX_BATCH {
            match self.gvisor.as_mut().and_then(Listener::try_recv) {
                Some(received) => self.sandbox_message(received, out)?,
                None => break,
            }
        }
        Ok(())
    }

    fn sandbox_message(&mut self, received: Received, out: &mut dyn Write) -> std::io::Result<()> {
        match received {
            Received::Event(sandboxed) => self.sandboxed(sandboxed, out),
            Received::Closed { containers } => {
                for id in containers {
                    self.sandboxes.remove(&id);
                }
                Ok(())
            }
        }
    }

    /// Seeds the process table of sandboxed container `id` with the processes it ran before
    /// haechi attached (`runsc trace procfs`).
    pub fn seed_sandbox(&mut self, id: &str, processes: &[SandboxProcess]) {
        let table = self
            .sandboxes
            .entry(id.to_owned())
            .or_insert_with(ProcessTable::sandboxed);
        for p in processes {
            table.insert(Process {
                pid: p.pid,
                ppid: p.ppid,
                name: p.comm.clone(),
                exe_path: p.exe.clone(),
                argv: p.args.clone(),
                cwd: p.cwd.clone(),
                uid: p.uid,
                vpid: Some(p.pid),
                ..Process::default()
            });
        }
    }

    /// An event from a sandbox: its container's process table, then the shared pipeline.
    fn sandboxed(&mut self, sandboxed: Box<Sandboxed>, out: &mut dyn Write) -> std::io::Result<()> {
        let Sandboxed {
            container_id,
            mut event,
        } = *sandboxed;
        let table = self
            .sandboxes
            .entry(container_id.clone())
            .or_insert_with(ProcessTable::sandboxed);
        let task = match &mut event {
            Event::Exec(e) => &mut e.task,
            Event::Fork { task, .. } | Event::Exit { task, .. } => task,
            Event::Syscall(s) => &mut s.task,
        };
        // The sandbox stamps Unix time; the pipeline counts from boot like the kernel.
        task.ts_ns = task.ts_ns.saturating_sub(self.boot_to_epoch_ns);
        task.ppid = table.get(task.pid).map_or(0, |p| p.ppid);
        table.apply(&event);
        let task = event.task();
        let process = table
            .get(task.pid)
            .unwrap_or_else(|| std::sync::Arc::new(fallback(task)));
        let ancestors = table.ancestors(&process);
        if let Event::Exit { .. } = &event {
            table.remove(task.pid);
        }
        let container = if haechi_gvisor::runsc::plausible_id(&container_id) {
            self.containers.view_id(&container_id)
        } else {
            // Not a name to look up anywhere; shown as the sandbox sent it.
            ContainerView {
                id: container_id,
                resolved: true,
                ..ContainerView::default()
            }
        };
        let cx = Context {
            process: &process,
            ancestors: &ancestors,
            container: &container,
            // The sandbox's own account files are not read: root is root.
            accounts: &SANDBOX_ACCOUNTS,
            boot_to_epoch_ns: self.boot_to_epoch_ns,
            sandbox: Some("gvisor"),
            server_names: &ServerNames::default(),
        };
        self.judge(&event, &cx, out)
    }

    /// Handles the records now in the ring buffers, up to [`BATCHES`] batches of events so
    /// that a flood never keeps the agent from its signals; returns how many events.
    pub fn drain(&mut self, out: &mut dyn Write) -> Result<usize, AgentError> {
        let mut count = 0;
        for _ in 0..BATCHES {
            self.between_batches(out)?;
            let batch = self.drain_events(out)?;
            count += batch;
            if batch < BATCH {
                break;
            }
        }
        self.metrics.queue_depth.set(count as i64);
        Ok(count)
    }

    /// Judges the events held for containers whose metadata arrived (or that waited long
    /// enough), scopes those containers, learns from DNS answers and raises an alert for what
    /// the kernel enforced: done between every batch of events, so a busy sensor never holds
    /// up enforcement.
    fn between_batches(&mut self, out: &mut dyn Write) -> Result<(), AgentError> {
        let fresh = self.containers.take_fresh();
        for view in &fresh {
            self.release(&view.id, out)?;
        }
        for (id, held) in self.held.expire(Instant::now()) {
            self.judge_all_in(&id, held, out)?;
        }
        if let Some(enforcement) = &mut self.enforcement {
            for view in &fresh {
                enforcement.resolved(view);
            }
            for alert in enforcement.drain(self.boot_to_epoch_ns, &self.hostname) {
                let container = match alert.output_fields.get("container.id") {
                    Some(Value::String(id)) => id.clone(),
                    _ => String::new(),
                };
                self.raise(alert, &container, out)?;
            }
        }
        Ok(())
    }

    /// Handles up to [`BATCH`] events from the ring buffer; returns how many.
    fn drain_events(&mut self, out: &mut dyn Write) -> Result<usize, AgentError> {
        let mut records = Vec::with_capacity(BATCH);
        self.sensor
            .drain_at_most(BATCH, |record| records.push(decode(record)));
        let count = records.len();
        for record in records {
            match record {
                Ok(Observation::Event(event)) => self.handle(event, out)?,
                Ok(Observation::Dns(reply)) => Arc::make_mut(&mut self.server_names).learn(
                    reply.cgroup_id,
                    &reply.payload,
                    reply.ts_ns,
                ),
                Err(err) => {
                    self.summary.undecodable += 1;
                    tracing::warn!("undecodable kernel record: {err}");
                }
            }
        }
        Ok(count)
    }

    /// Swaps in new rules and syscalls. What the ring buffer holds is judged by the old rules
    /// first; nothing is dropped meanwhile (the kernel keeps writing to the ring buffer).
    pub fn reload(&mut self, reload: Reload, out: &mut dyn Write) -> Result<(), AgentError> {
        self.drain(out)?;
        self.sensor.set_filter(&reload.filter)?;
        self.rules = reload.rules.map(Rules::new);
        tracing::info!("rules reloaded");
        Ok(())
    }

    /// The kernel-side counters now (and the lost-event metrics brought up to date).
    pub fn kernel_stats(&mut self) -> Stats {
        let stats = self.sensor.stats();
        catch_up(
            &self.metrics.events_lost,
            &mut self.lost_reported,
            stats.lost,
        );
        if let Some(enforcement) = &self.enforcement {
            let lost = enforcement.lost();
            let reported = &mut self.enforcement_lost_reported;
            catch_up(
                &self.metrics.enforcement_lost,
                &mut reported.records,
                lost.records,
            );
            catch_up(
                &self.metrics.dns_answers_lost,
                &mut reported.dns_answers,
                lost.dns_answers,
            );
        }
        stats
    }

    /// The gVisor listener's counters now (and its metrics brought up to date).
    pub fn gvisor_stats(&mut self) -> Option<haechi_gvisor::Stats> {
        let stats = self.gvisor.as_ref()?.stats();
        let was = std::mem::replace(&mut self.gvisor_reported, stats);
        let m = &self.metrics;
        m.gvisor_connections
            .inc_by(stats.connections.saturating_sub(was.connections));
        for (reason, now, then) in [
            ("handshake", stats.refused, was.refused),
            ("malformed", stats.malformed, was.malformed),
            ("unknown_type", stats.unknown, was.unknown),
        ] {
            m.gvisor_skipped
                .get_or_create(&crate::metrics::ReasonLabels { reason })
                .inc_by(now.saturating_sub(then));
        }
        m.gvisor_dropped
            .inc_by(stats.dropped.saturating_sub(was.dropped));
        Some(stats)
    }

    fn handle(&mut self, event: Event, out: &mut dyn Write) -> std::io::Result<()> {
        self.table.apply(&event);
        let task = event.task();
        let process = self
            .table
            .get(task.pid)
            .unwrap_or_else(|| std::sync::Arc::new(fallback(task)));
        let ancestors = self.table.ancestors(&process);
        let container = self.containers.view(&process.cgroup);
        if let Some(enforcement) = &mut self.enforcement {
            enforcement.observe(task.cgroup_id, &container);
        }
        if let Event::Exit { task, .. } = &event {
            self.table.remove(task.pid);
        }
        // Read while the process (or an ancestor in the container) is still there to read
        // its root through.
        let pids = std::iter::once(task.pid).chain(ancestors.iter().map(|a| a.pid));
        let accounts = self.accounts.of(&container.id, pids);
        let held = HeldEvent {
            event,
            process,
            ancestors,
            accounts,
        };
        if !container.id.is_empty() {
            if !container.resolved {
                // Judged once the engine has answered (or it takes too long).
                let Err(held) = self.held.hold(&container.id, held, Instant::now()) else {
                    return Ok(());
                };
                return self.judge_in(&held, &container, out);
            }
            if self.held.holds(&container.id) {
                self.release(&container.id, out)?;
            }
        }
        self.judge_in(&held, &container, out)
    }

    /// Judges what was held for container `id`, with what is now known of it.
    fn release(&mut self, id: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let held = self.held.release(id);
        self.judge_all_in(id, held, out)
    }

    fn judge_all_in(
        &mut self,
        id: &str,
        held: Vec<HeldEvent>,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        if held.is_empty() {
            return Ok(());
        }
        let container = self.containers.view_id(id);
        for event in &held {
            self.judge_in(event, &container, out)?;
        }
        Ok(())
    }

    /// Judges a host kernel event in `container`.
    fn judge_in(
        &mut self,
        held: &HeldEvent,
        container: &ContainerView,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let server_names = Arc::clone(&self.server_names);
        let cx = Context {
            process: &held.process,
            ancestors: &held.ancestors,
            container,
            accounts: &held.accounts,
            boot_to_epoch_ns: self.boot_to_epoch_ns,
            sandbox: None,
            server_names: &server_names,
        };
        self.judge(&held.event, &cx, out)
    }

    /// Counts, writes and tests an event against the rules: the same for the host's events and
    /// the sandboxes'. The fields are rendered as a map only when events are written; the rules
    /// read them straight from the event.
    fn judge(
        &mut self,
        event: &Event,
        cx: &Context<'_>,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let kind = fields::event_type(event);
        *self.summary.by_type.entry(kind).or_default() += 1;
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
        if let Some(rules) = &self.rules {
            self.metrics.evaluated.inc();
            let view = rules.view(event, cx);
            if let Some(rule) = rules.set().first_match(&view) {
                let alert = rules.set().alert(rule, &view, &self.hostname);
                let container = match fields::value(Field::Named(Named::ContainerId), event, cx) {
                    Some(fields::Value::Str(id)) => id,
                    _ => Default::default(),
                };
                self.raise(alert, &container, out)?;
            }
        }
        Ok(())
    }

    /// Counts `alert`, raised on `container`, and emits it unless deduplication holds it
    /// back.
    fn raise(&mut self, alert: Alert, container: &str, out: &mut dyn Write) -> std::io::Result<()> {
        *self.summary.alerts.entry(alert.rule.clone()).or_default() += 1;
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
            self.summary.suppressed += 1;
            self.metrics
                .suppressed
                .get_or_create(&RuleLabels { rule })
                .inc();
        }
        Ok(())
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

/// The next message from the sandboxes; never completes without the gVisor listener.
async fn sandbox_message(gvisor: &mut Option<Listener>) -> Option<Received> {
    match gvisor {
        Some(listener) => listener.recv().await,
        None => std::future::pending().await,
    }
}

/// Waits for enforcement records; never completes without enforcement.
async fn enforcement_readable(enforcement: &mut Option<Enforcement>) -> Result<(), SensorError> {
    match enforcement {
        Some(enforcement) => enforcement.readable().await,
        None => std::future::pending().await,
    }
}

/// A process the table never saw (it was gone from /proc before it could be read).
fn fallback(task: &Task) -> Process {
    Process {
        pid: task.pid,
        ppid: task.ppid,
        name: task.comm.clone(),
        uid: task.uid,
        ..Process::default()
    }
}

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

/// What the agent knows of accounts inside gVisor sandboxes.
static SANDBOX_ACCOUNTS: std::sync::LazyLock<Accounts> =
    std::sync::LazyLock::new(Accounts::root_only);

/// Nanoseconds to add to CLOCK_BOOTTIME (the kernel's event clock) to get Unix time.
fn boot_to_epoch_ns() -> u64 {
    let now = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid, writable timespec.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    };
    now(libc::CLOCK_REALTIME).saturating_sub(now(libc::CLOCK_BOOTTIME))
}

/// Adds to `counter` what the kernel's running `total` gained since `reported`.
fn catch_up(
    counter: &prometheus_client::metrics::counter::Counter,
    reported: &mut u64,
    total: u64,
) {
    counter.inc_by(total.saturating_sub(*reported));
    *reported = (*reported).max(total);
}
