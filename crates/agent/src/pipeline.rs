//! What the agent does with each input, whatever its source: an event is attributed (the
//! process table of the host or of its sandbox, the container its cgroup path or its sandbox
//! names, user and group names, the names DNS answers gave servers), held while its
//! container's engine has not described it yet, then judged (its Falco fields, the rules) and
//! handed to [`Delivery`]. Events from gVisor sandboxes join at the process table (one per
//! sandboxed container, since their pids are not the host's) and share everything after it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use haechi_events::{Event, Task, boot_to_epoch_ns};
use haechi_gvisor::Sandboxed;
use haechi_gvisor::runsc::{self, SandboxProcess};
use haechi_rules::Ruleset;

use crate::accounts::{Accounts, PerContainer};
use crate::containers::{Containers, Engines};
use crate::delivery::Delivery;
use crate::dns::ServerNames;
use crate::fields::{self, ContainerView, Context, Field, Named};
use crate::held::Held;
use crate::process::{Process, ProcessTable};
use crate::rules::Rules;
use crate::sources::Input;

/// A host event with its process, ancestry and accounts as they were when it happened.
struct HeldEvent {
    event: Event,
    process: Arc<Process>,
    ancestors: Vec<Arc<Process>>,
    accounts: Arc<Accounts>,
}

/// The state every input passes through.
pub struct Pipeline {
    /// The host's processes.
    host: ProcessTable,
    /// Each sandboxed container's processes.
    sandboxes: HashMap<String, ProcessTable>,
    containers: Containers,
    /// User and group names, the host's and each container's.
    accounts: PerContainer,
    /// Shared with the event being judged, so that its context can borrow a name while the
    /// pipeline judges it; changed only between events.
    server_names: Arc<ServerNames>,
    /// Events of containers the engine has not described yet.
    held: Held<HeldEvent>,
    boot_to_epoch_ns: u64,
    rules: Option<Rules>,
    hostname: String,
    /// Inputs a source could not read.
    unreadable: u64,
}

impl Pipeline {
    /// A pipeline judging with `rules`, asking `engines` about containers. `live`: the host's
    /// events are this host's, as they happen (the kernel's), so a process the table never saw
    /// is read from /proc; else they are a recording's, and only what it holds is known.
    pub fn new(engines: Engines, rules: Option<Ruleset>, live: bool) -> Pipeline {
        let (host, accounts) = if live {
            (ProcessTable::default(), PerContainer::new())
        } else {
            (ProcessTable::recorded(), PerContainer::recorded())
        };
        Pipeline {
            host,
            sandboxes: HashMap::new(),
            containers: Containers::new(engines),
            accounts,
            server_names: Arc::default(),
            held: Held::default(),
            boot_to_epoch_ns: boot_to_epoch_ns(),
            rules: rules.map(Rules::new),
            hostname: haechi_rules::alert::hostname(),
            unreadable: 0,
        }
    }

    /// Judges with `rules` from now on.
    pub fn set_rules(&mut self, rules: Option<Ruleset>) {
        self.rules = rules.map(Rules::new);
    }

    /// The host name alerts carry.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The offset from the events' clock (CLOCK_BOOTTIME) to Unix time, in nanoseconds.
    pub fn boot_to_epoch_ns(&self) -> u64 {
        self.boot_to_epoch_ns
    }

    /// What is known now of the container that cgroup path `cgroup` names (a look-up starts
    /// the first time).
    pub fn container(&mut self, cgroup: &str) -> ContainerView {
        self.containers.view(cgroup)
    }

    /// How many inputs the sources could not read.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// Takes one input. For an event of the host, returns the cgroup it came from and its
    /// container, which enforcement scopes.
    pub fn take(
        &mut self,
        input: Input,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<Option<(u64, ContainerView)>> {
        match input {
            Input::Host(event) => return self.host(event, to, out).map(Some),
            Input::Running(process) => self.host.insert(process),
            Input::Dns(reply) => Arc::make_mut(&mut self.server_names).learn(
                reply.cgroup_id,
                &reply.payload,
                reply.ts_ns,
            ),
            Input::Sandboxed(sandboxed) => self.sandboxed(*sandboxed, to, out)?,
            Input::SandboxProcesses {
                container_id,
                processes,
            } => self.seed_sandbox(&container_id, &processes),
            Input::SandboxClosed(containers) => {
                for id in containers {
                    self.sandboxes.remove(&id);
                }
            }
            Input::Unreadable(why) => {
                self.unreadable += 1;
                tracing::warn!("{why}");
            }
        }
        Ok(None)
    }

    /// Judges the events held for containers whose metadata arrived (or that waited long
    /// enough); returns the containers whose metadata arrived.
    pub fn between_batches(
        &mut self,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<Vec<ContainerView>> {
        let fresh = self.containers.take_fresh();
        for view in &fresh {
            self.release(&view.id, to, out)?;
        }
        for (id, held) in self.held.expire(Instant::now()) {
            self.judge_all_in(&id, held, to, out)?;
        }
        Ok(fresh)
    }

    /// Waits up to `limit` for the container look-ups in flight, then judges everything still
    /// held: the pipeline's last work before the agent stops.
    pub async fn finish(
        &mut self,
        limit: Duration,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        self.containers.settle(limit).await;
        for (id, held) in self.held.release_all() {
            self.judge_all_in(&id, held, to, out)?;
        }
        Ok(())
    }

    /// Seeds the process table of sandboxed container `id` with the processes it ran before
    /// haechi attached (`runsc trace procfs`).
    fn seed_sandbox(&mut self, id: &str, processes: &[SandboxProcess]) {
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
    fn sandboxed(
        &mut self,
        sandboxed: Sandboxed,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let Sandboxed {
            container_id,
            mut event,
        } = sandboxed;
        let table = self
            .sandboxes
            .entry(container_id.clone())
            .or_insert_with(ProcessTable::sandboxed);
        let task = event.task_mut();
        // The sandbox stamps Unix time; the pipeline counts from boot like the kernel.
        task.ts_ns = task.ts_ns.saturating_sub(self.boot_to_epoch_ns);
        task.ppid = table.get(task.pid).map_or(0, |p| p.ppid);
        table.apply(&event);
        let task = event.task();
        let process = table
            .get(task.pid)
            .unwrap_or_else(|| Arc::new(fallback(task)));
        let ancestors = table.ancestors(&process);
        if let Event::Exit { .. } = &event {
            table.remove(task.pid);
        }
        let container = if runsc::plausible_id(&container_id) {
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
        self.judge(&event, &cx, to, out)
    }

    /// An event of the host: the process table, its container, then judged (or held until its
    /// container is described).
    fn host(
        &mut self,
        event: Event,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<(u64, ContainerView)> {
        self.host.apply(&event);
        let task = event.task();
        let cgroup_id = task.cgroup_id;
        let process = self
            .host
            .get(task.pid)
            .unwrap_or_else(|| Arc::new(fallback(task)));
        let ancestors = self.host.ancestors(&process);
        let container = self.containers.view(&process.cgroup);
        if let Event::Exit { task, .. } = &event {
            self.host.remove(task.pid);
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
                    return Ok((cgroup_id, container));
                };
                self.judge_in(&held, &container, to, out)?;
                return Ok((cgroup_id, container));
            }
            if self.held.holds(&container.id) {
                self.release(&container.id, to, out)?;
            }
        }
        self.judge_in(&held, &container, to, out)?;
        Ok((cgroup_id, container))
    }

    /// Judges what was held for container `id`, with what is now known of it.
    fn release(&mut self, id: &str, to: &mut Delivery, out: &mut dyn Write) -> std::io::Result<()> {
        let held = self.held.release(id);
        self.judge_all_in(id, held, to, out)
    }

    fn judge_all_in(
        &mut self,
        id: &str,
        held: Vec<HeldEvent>,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        if held.is_empty() {
            return Ok(());
        }
        let container = self.containers.view_id(id);
        for event in &held {
            self.judge_in(event, &container, to, out)?;
        }
        Ok(())
    }

    /// Judges a host event in `container`.
    fn judge_in(
        &mut self,
        held: &HeldEvent,
        container: &ContainerView,
        to: &mut Delivery,
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
        self.judge(&held.event, &cx, to, out)
    }

    /// Delivers an event and tests it against the rules: the same for the host's events and
    /// the sandboxes'. The rules read the fields straight from the event.
    fn judge(
        &mut self,
        event: &Event,
        cx: &Context<'_>,
        to: &mut Delivery,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        to.event(event, cx, out)?;
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        to.evaluated();
        let view = rules.view(event, cx);
        if let Some(rule) = rules.set().first_match(&view) {
            let alert = rules.set().alert(rule, &view, &self.hostname);
            let container = match fields::value(Field::Named(Named::ContainerId), event, cx) {
                Some(fields::Value::Str(id)) => id,
                _ => Default::default(),
            };
            to.alert(alert, &container, out)?;
        }
        Ok(())
    }
}

/// A process the table never saw (it was gone from /proc before it could be read, or a
/// recording began after it started).
fn fallback(task: &Task) -> Process {
    Process {
        pid: task.pid,
        ppid: task.ppid,
        name: task.comm.clone(),
        uid: task.uid,
        ..Process::default()
    }
}

/// What the agent knows of accounts inside gVisor sandboxes.
static SANDBOX_ACCOUNTS: LazyLock<Accounts> = LazyLock::new(Accounts::root_only);
