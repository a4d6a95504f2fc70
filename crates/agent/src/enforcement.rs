//! Enforcement in the pipeline: which container cgroups the kernel enforces which policies on,
//! decided as containers appear and their metadata arrives, and the alerts that say what the
//! kernel did.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use haechi_enforce::dns::LearnedAddresses;
use haechi_enforce::{Compiled, Target};
use haechi_events::dns;
use haechi_events::syscalls;
use haechi_rules::alert::{self, Alert, Priority};
use haechi_sensor::SensorError;
use haechi_sensor::abi::{self, Enforcement as Record};
use haechi_sensor::enforce::{Enforcer, Lost};
use haechi_sensor::probe::cgroup2_root;
use serde_json::{Value, json};

use crate::containers::container_id;
use crate::fields::ContainerView;
use crate::metrics::{Metrics, catch_up};

/// The enforcer, the compiled policies and what has been decided.
pub struct Enforcement {
    enforcer: Enforcer,
    policies: Compiled,
    /// Cgroups whose scope is written, with the container they hold.
    decided: HashMap<u64, ContainerView>,
    /// Cgroups seen whose container's metadata is still being looked up, by container id.
    waiting: HashMap<String, HashSet<u64>>,
    /// The container id of every cgroup seen, decided or not (records can name a cgroup
    /// before its metadata arrives, e.g. those written while no agent ran).
    container_ids: HashMap<u64, String>,
    /// Whether any selector needs more than a container id.
    needs_metadata: bool,
    /// Addresses denied because a domain rule's name resolved to them.
    learned: LearnedAddresses,
    /// The kernel's loss counts already added to the metrics.
    lost_reported: Lost,
}

impl Enforcement {
    /// Loads the programs (reusing pins under `pin_dir`), writes the policy tables and scopes
    /// the containers running now. Needs root, bpffs and a tokio runtime.
    pub fn start(policies: Compiled, pin_dir: &Path) -> Result<Self, SensorError> {
        let mut enforcer = Enforcer::start_with(pin_dir, policies.hooks().lsm)?;
        enforcer.load_tables(policies.tables())?;
        enforcer.watch_dns(policies.dns_policies())?;
        let needs_metadata = policies
            .policies()
            .iter()
            .any(|p| p.selector.needs_metadata());
        Ok(Enforcement {
            enforcer,
            policies,
            decided: HashMap::new(),
            waiting: HashMap::new(),
            container_ids: HashMap::new(),
            needs_metadata,
            learned: LearnedAddresses::default(),
            lost_reported: Lost::default(),
        })
    }

    /// Enforces `policies` instead of the ones in force, without a gap: the kernel's tables are
    /// rewritten (new entries first, stale ones after), addresses learned for the old policies
    /// are let go, and every container seen so far is scoped again.
    pub fn replace(&mut self, policies: Compiled) -> Result<(), SensorError> {
        self.enforcer.load_tables(policies.tables())?;
        self.enforcer.watch_dns(policies.dns_policies())?;
        for (policy, addr) in self.learned.take_all() {
            self.enforcer.forget_address(policy, addr)?;
        }
        self.needs_metadata = (policies.policies().iter()).any(|p| p.selector.needs_metadata());
        self.policies = policies;
        for (cgroup_id, container) in std::mem::take(&mut self.decided) {
            self.decide(cgroup_id, &container);
        }
        Ok(())
    }

    /// The containers running now, from /proc: (cgroup v2 id, container id).
    pub fn running_containers() -> Vec<(u64, String)> {
        let Ok(root) = cgroup2_root() else {
            return Vec::new();
        };
        let mut found = HashSet::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("cgroup")) else {
                continue;
            };
            let Some(id) = text
                .lines()
                .filter_map(|line| line.splitn(3, ':').nth(2))
                .find_map(container_id)
            else {
                continue;
            };
            let Some(v2) = text.lines().find_map(|line| line.strip_prefix("0::")) else {
                continue;
            };
            if let Ok(meta) = std::fs::metadata(root.join(v2.trim_start_matches('/'))) {
                found.insert((meta.ino(), id.to_owned()));
            }
        }
        found.into_iter().collect()
    }

    /// Takes note of a process in `cgroup_id` running in `container`; decides the cgroup's
    /// scope now if it can, else when the container's metadata arrives.
    pub fn observe(&mut self, cgroup_id: u64, container: &ContainerView) {
        if container.id.is_empty() || self.decided.contains_key(&cgroup_id) {
            return;
        }
        self.container_ids
            .entry(cgroup_id)
            .or_insert_with(|| container.id.clone());
        if container.resolved || !self.needs_metadata {
            self.decide(cgroup_id, container);
        } else {
            self.waiting
                .entry(container.id.clone())
                .or_default()
                .insert(cgroup_id);
        }
    }

    /// Decides the cgroups that waited for `container`'s metadata.
    pub fn resolved(&mut self, container: &ContainerView) {
        for cgroup_id in self.waiting.remove(&container.id).unwrap_or_default() {
            self.decide(cgroup_id, container);
        }
    }

    fn decide(&mut self, cgroup_id: u64, container: &ContainerView) {
        let image = match (&container.image_repository, &container.image_tag) {
            (Some(repo), Some(tag)) => Some(format!("{repo}:{tag}")),
            (Some(repo), None) => Some(repo.clone()),
            _ => None,
        };
        let target = Target {
            id: &container.id,
            name: container.name.as_deref(),
            image: image.as_deref(),
            namespace: container.pod_namespace.as_deref(),
            labels: &container.labels,
        };
        let mask = self.policies.scope(&target);
        match self.enforcer.set_scope(cgroup_id, mask) {
            Ok(()) => {
                if mask != 0 {
                    tracing::info!(
                        "enforcing {} on container {} (cgroup {cgroup_id})",
                        self.policies.names(mask).join(", "),
                        container.id
                    );
                    if self.policies.has_process_selectors() {
                        self.seed(cgroup_id, &container.id);
                    }
                }
                self.decided.insert(cgroup_id, container.clone());
            }
            Err(err) => tracing::error!("cannot scope container {}: {err}", container.id),
        }
    }

    /// Tells the kernel which process selectors select the processes of `cgroup_id` that
    /// were running before it was scoped (the kernel follows a process from its first exec
    /// or fork in a scoped cgroup): from each one's executable and those of its parents in
    /// the same cgroup, as /proc shows them. What the kernel saw itself is kept.
    fn seed(&mut self, cgroup_id: u64, container: &str) {
        let Ok(root) = cgroup2_root() else { return };
        let processes = processes_in(&root, cgroup_id);
        let mut seeded = 0;
        for (&pid, process) in &processes {
            let mut chain = vec![process.exe.as_str()];
            let mut parent = process.ppid;
            while let Some(up) = processes.get(&parent) {
                if chain.len() > processes.len() {
                    break;
                }
                chain.push(up.exe.as_str());
                parent = up.ppid;
            }
            let selection = self.policies.selection(&chain);
            if selection == Default::default() {
                continue;
            }
            match self.enforcer.seed_selection(pid, selection) {
                Ok(true) => seeded += 1,
                Ok(false) => {}
                Err(err) => tracing::error!("cannot seed process {pid}: {err}"),
            }
        }
        if seeded > 0 {
            tracing::info!(
                "selected {seeded} running process(es) of container {container} by binary or \
                 ancestry"
            );
        }
    }

    /// Waits until the kernel has reported what it did.
    pub async fn readable(&mut self) -> Result<(), SensorError> {
        self.enforcer.readable().await
    }

    /// What the kernel could not hand over because a ring buffer was full (since the tables
    /// were first pinned); nothing if the counts cannot be read, which is logged.
    pub fn lost(&self) -> Lost {
        self.enforcer.lost().unwrap_or_else(|err| {
            tracing::warn!("cannot read the enforcement counters: {err}");
            Lost::default()
        })
    }

    /// Brings the metrics up to date with what the kernel lost; returns the counts.
    pub fn tally(&mut self, metrics: &Metrics) -> Lost {
        let lost = self.lost();
        let reported = &mut self.lost_reported;
        catch_up(
            &metrics.enforcement_lost,
            &mut reported.records,
            lost.records,
        );
        catch_up(
            &metrics.dns_answers_lost,
            &mut reported.dns_answers,
            lost.dns_answers,
        );
        lost
    }

    /// Denies the addresses that covered names resolved to in the DNS answers now in the
    /// ring buffer.
    fn learn_from_dns(&mut self) {
        let mut answers = Vec::new();
        self.enforcer.drain_dns(|answer| {
            answers.push((
                answer.cgroup_id,
                answer.scope,
                dns::resolution(answer.payload()),
            ));
        });
        let now = Instant::now();
        for (cgroup_id, scope, resolution) in answers {
            let Some(resolution) = resolution else {
                tracing::debug!("a DNS answer to cgroup {cgroup_id} did not parse; skipped");
                continue;
            };
            for learned in self.learned.learn(&self.policies, scope, &resolution, now) {
                let container = self
                    .container_ids
                    .get(&cgroup_id)
                    .map_or("unknown", String::as_str);
                let rule = self.policies.rule(learned.verdict.rule);
                let rule = rule.map_or("unknown".into(), |r| format!("{}/{}", r.policy, r.rule));
                let ip = address(&learned.addr);
                match self
                    .enforcer
                    .deny_address(learned.policy, learned.addr, learned.verdict)
                {
                    Ok(()) => tracing::info!(
                        "{} resolved to {ip} in container {container}: denied by {rule}",
                        learned.name
                    ),
                    Err(err) => tracing::error!("cannot deny {ip} ({}): {err}", learned.name),
                }
            }
        }
    }

    /// Stops denying learned addresses whose time is up.
    pub fn expire(&mut self, now: Instant) {
        for (policy, addr) in self.learned.expire(now) {
            if let Err(err) = self.enforcer.forget_address(policy, addr) {
                tracing::error!("cannot stop denying {}: {err}", address(&addr));
            }
        }
    }

    /// An alert for each enforcement record now in the ring buffer (after learning from the
    /// DNS answers there).
    pub fn drain(&mut self, boot_to_epoch_ns: u64, hostname: &str) -> Vec<Alert> {
        self.learn_from_dns();
        let mut records = Vec::new();
        self.enforcer.drain(|r| records.push(r));
        records
            .iter()
            .map(|r| self.alert(r, boot_to_epoch_ns, hostname))
            .collect()
    }

    fn alert(&self, record: &Record, boot_to_epoch_ns: u64, hostname: &str) -> Alert {
        let (policy, rule) = self
            .policies
            .rule(record.rule)
            .map(|info| (info.policy.as_str(), info.rule.as_str()))
            .unwrap_or(("unknown", "unknown"));
        let server_name = match record.kind {
            abi::ENF_CONNECT | abi::ENF_SENDMSG => self.learned.name(&record.addr),
            _ => None,
        };
        Enforced {
            record,
            policy,
            rule,
            // Only container cgroups are ever scoped: a record always comes from one.
            container_id: self
                .container_ids
                .get(&record.cgroup_id)
                .map_or("unknown", String::as_str),
            container: self.decided.get(&record.cgroup_id),
            server_name,
        }
        .alert(boot_to_epoch_ns, hostname)
    }
}

/// One thing the kernel enforced, with what the agent knows of it: everything its alert says.
pub struct Enforced<'a> {
    /// The kernel's record.
    pub record: &'a Record,
    /// The policy whose rule decided (`unknown` when the tables no longer name it).
    pub policy: &'a str,
    /// That rule.
    pub rule: &'a str,
    /// The container's id (`unknown` when its cgroup was never seen).
    pub container_id: &'a str,
    /// What the container runtime said of the container, once it answered.
    pub container: Option<&'a ContainerView>,
    /// The name a DNS answer gave the address connected or sent to.
    pub server_name: Option<&'a str>,
}

impl Enforced<'_> {
    /// The alert, in Falco's shape (rule `policy/rule`), with the fields every alert of
    /// Falco's carries ([`alert::SUGGESTED_FIELDS`], [`alert::TIME_FIELD`]) besides the
    /// action's own.
    pub fn alert(&self, boot_to_epoch_ns: u64, hostname: &str) -> Alert {
        let record = self.record;
        let action = match record.action {
            abi::ACTION_KILL => "kill",
            abi::ACTION_DENY => "deny",
            _ => "alert",
        };
        let comm = c_string(&record.comm);
        let path = c_string(&record.path);
        let (event_type, mut what) = describe(record, &path);
        if let Some(name) = self.server_name {
            what = format!("{what} ({name})");
        }
        let done = match action {
            "kill" => "killed",
            "deny" => "refused",
            _ => "saw",
        };
        let time_ns = i128::from(record.ts_ns) + i128::from(boot_to_epoch_ns);
        let output = format!(
            "{}: {} haechi {done} {what} by {comm} (pid {}) in container {} \
             (policy {}, rule {}, action {action})",
            alert::time_of_day(time_ns),
            priority(action).name(),
            record.tgid,
            self.container_id,
            self.policy,
            self.rule,
        );
        let mut fields = self.context_fields();
        fields.insert(alert::TIME_FIELD.into(), alert::time_value(time_ns));
        fields.insert("haechi.action".into(), json!(action));
        fields.insert("haechi.policy".into(), json!(self.policy));
        fields.insert("haechi.rule".into(), json!(self.rule));
        fields.insert("evt.type".into(), json!(event_type));
        fields.insert("proc.pid".into(), json!(record.tgid));
        fields.insert("proc.name".into(), json!(comm));
        fields.insert("user.uid".into(), json!(record.uid));
        match record.kind {
            abi::ENF_CONNECT | abi::ENF_SENDMSG => {
                fields.insert("fd.sip".into(), json!(address(&record.addr).to_string()));
                fields.insert("fd.sport".into(), json!(record.port));
                fields.insert("fd.l4proto".into(), json!(protocol(record.protocol)));
                if let Some(name) = self.server_name {
                    fields.insert("fd.sip.name".into(), json!(name));
                }
            }
            abi::ENF_OPEN | abi::ENF_EXEC => {
                fields.insert("fd.name".into(), json!(path));
            }
            _ => {}
        }
        Alert {
            hostname: hostname.to_owned(),
            output,
            output_fields: fields,
            priority: priority(action),
            rule: format!("{}/{}", self.policy, self.rule),
            source: "syscall".into(),
            tags: vec!["haechi".into(), "enforcement".into(), action.into()],
            time: alert::rfc3339(time_ns),
        }
    }

    /// The container and its pod, as [`alert::SUGGESTED_FIELDS`] name them: `null` where the
    /// runtime has not said.
    fn context_fields(&self) -> BTreeMap<String, Value> {
        let text = |value: Option<&String>| value.map_or(Value::Null, |v| json!(v));
        let c = self.container;
        BTreeMap::from([
            ("container.id".into(), json!(self.container_id)),
            (
                "container.name".into(),
                text(c.and_then(|c| c.name.as_ref())),
            ),
            (
                "container.image.repository".into(),
                text(c.and_then(|c| c.image_repository.as_ref())),
            ),
            (
                "container.image.tag".into(),
                text(c.and_then(|c| c.image_tag.as_ref())),
            ),
            (
                "k8s.pod.name".into(),
                text(c.and_then(|c| c.pod_name.as_ref())),
            ),
            (
                "k8s.ns.name".into(),
                text(c.and_then(|c| c.pod_namespace.as_ref())),
            ),
        ])
    }
}

/// A process as /proc shows it: its parent and its executable.
struct Process {
    ppid: u32,
    exe: String,
}

/// The processes (thread-group leaders) whose cgroup v2 is `cgroup_id`, by pid.
fn processes_in(root: &Path, cgroup_id: u64) -> HashMap<u32, Process> {
    let mut found = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(text) = std::fs::read_to_string(dir.join("cgroup")) else {
            continue;
        };
        let Some(v2) = text.lines().find_map(|line| line.strip_prefix("0::")) else {
            continue;
        };
        let in_cgroup = std::fs::metadata(root.join(v2.trim_start_matches('/')))
            .is_ok_and(|meta| meta.ino() == cgroup_id);
        if !in_cgroup {
            continue;
        }
        // The executable as the kernel resolves it for the process: /proc shows it relative
        // to the root of the process's mount namespace, the container's root.
        let Ok(exe) = std::fs::read_link(dir.join("exe")) else {
            continue;
        };
        let exe = exe.to_string_lossy();
        let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe).to_owned();
        let Some(ppid) = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|stat| parent_pid(&stat))
        else {
            continue;
        };
        found.insert(pid, Process { ppid, exe });
    }
    found
}

/// The parent pid in the text of /proc/PID/stat (after the command name, which may hold
/// spaces and parentheses).
fn parent_pid(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn priority(action: &str) -> Priority {
    if action == "alert" {
        Priority::Warning
    } else {
        Priority::Critical
    }
}

/// The event type and a few words on what was attempted.
fn describe(record: &Record, path: &str) -> (String, String) {
    match record.kind {
        abi::ENF_CONNECT => (
            "connect".into(),
            format!(
                "a {} connection to {}",
                protocol(record.protocol),
                endpoint(record)
            ),
        ),
        abi::ENF_SENDMSG => (
            "sendto".into(),
            format!(
                "a {} datagram to {}",
                protocol(record.protocol),
                endpoint(record)
            ),
        ),
        abi::ENF_OPEN => (syscall_name(record.nr).into(), format!("an open of {path}")),
        abi::ENF_EXEC => ("execve".into(), format!("the execution of {path}")),
        _ => {
            let name = syscall_name(record.nr);
            (name.into(), format!("a {name} call"))
        }
    }
}

fn syscall_name(nr: u16) -> &'static str {
    syscalls::by_nr(u32::from(nr)).map_or("syscall", |s| s.name)
}

fn endpoint(record: &Record) -> String {
    match address(&record.addr) {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", record.port),
        v4 => format!("{v4}:{}", record.port),
    }
}

/// The kernel's address: IPv4 when mapped into ::ffff:0:0/96.
fn address(bytes: &[u8; 16]) -> std::net::IpAddr {
    let v6 = std::net::Ipv6Addr::from(*bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => v4.into(),
        None => v6.into(),
    }
}

fn protocol(bits: u8) -> &'static str {
    match bits {
        abi::PROTO_TCP => "tcp",
        abi::PROTO_UDP => "udp",
        _ => "ip",
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::parent_pid;

    #[test]
    fn the_parent_pid_is_read_after_the_command_name_whatever_it_holds() {
        assert_eq!(parent_pid("42 (sh) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_pid("43 (a) b (c) R 1 43 43 0 -1"), Some(1));
        assert_eq!(parent_pid("44 (truncated"), None);
    }
}
