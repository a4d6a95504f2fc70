//! The process table: every live process with what Falco's `proc.*` fields need, seeded with
//! the processes running when its source began (read from /proc by [`running`]) and kept
//! current from fork, exec and exit events.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

pub use haechi_events::Process;
use haechi_events::{Event, Exec};

/// What an exec tells of its process; `host`: the host's kernel saw it (and could tell an
/// overlayfs upper layer).
fn from_exec(exec: &Exec, host: bool) -> Process {
    Process {
        pid: exec.task.pid,
        ppid: exec.task.ppid,
        name: exec.task.comm.clone(),
        exe_path: exec.exe_path.clone(),
        argv: exec.argv.clone(),
        cwd: exec.cwd.clone(),
        uid: exec.task.uid,
        loginuid: exec.loginuid,
        tty: exec.tty,
        cgroup: exec.cgroup.clone(),
        vpid: Some(exec.vpid),
        // Only the host's kernel tells an overlayfs upper layer.
        exe_upper_layer: host.then_some(exec.exe_upper_layer),
        // Its fork, when the table saw it; see `ProcessTable::apply`.
        start_ns: Some(exec.task.ts_ns),
    }
}

/// Every process running now, as /proc shows it.
pub fn running() -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(read)
        .collect()
}

/// Reads one process from /proc; `None` when it is gone or unreadable.
pub fn read(pid: u32) -> Option<Process> {
    let dir = format!("/proc/{pid}");
    let stat = fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The name is in parentheses and may itself contain ") ".
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let tty = rest.get(4)?.parse::<i64>().ok()? as u32;
    // Field 22, in clock ticks since boot (the kernel counts it on CLOCK_BOOTTIME).
    let start_ns = rest
        .get(19)
        .and_then(|ticks| ticks.parse::<u64>().ok())
        .map(|ticks| ticks.saturating_mul(1_000_000_000) / clock_ticks_per_second());
    let argv = fs::read(format!("{dir}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let link = |what: &str| {
        fs::read_link(format!("{dir}/{what}"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let status = fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .unwrap_or(0);
    let loginuid = fs::read_to_string(format!("{dir}/loginuid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&id| id != u32::MAX);
    let cgroup = fs::read_to_string(format!("{dir}/cgroup"))
        .map(|c| cgroup_path(&c))
        .unwrap_or_default();
    Some(Process {
        pid,
        ppid,
        name,
        exe_path: link("exe"),
        argv,
        cwd: link("cwd"),
        uid,
        loginuid,
        tty,
        cgroup,
        vpid: namespace_pid(&status),
        exe_upper_layer: None,
        start_ns,
    })
}

/// `sysconf(_SC_CLK_TCK)`: the unit of /proc's process times (100 wherever Linux runs).
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// The innermost pid of `NSpid:` in /proc/<pid>/status.
fn namespace_pid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|ids| ids.split_whitespace().last())
        .and_then(|id| id.parse().ok())
}

/// The path that names a process's container in /proc/<pid>/cgroup: the v1 memory hierarchy's
/// when there is one (what the kernel side reports on v1 and hybrid hosts), else the v2 one.
fn cgroup_path(contents: &str) -> String {
    let mut unified = None;
    for line in contents.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        match (controllers, path) {
            (Some(c), Some(p)) if c.split(',').any(|c| c == "memory") => return p.to_owned(),
            (Some(""), Some(p)) => unified = Some(p.to_owned()),
            _ => {}
        }
    }
    unified.unwrap_or_default()
}

/// Longest ancestry the table walks (guards against a cycle from pid reuse).
const MAX_ANCESTORS: usize = 32;

/// Every live process the agent knows (of the host, or of one gVisor sandbox).
#[derive(Debug)]
pub struct ProcessTable {
    processes: HashMap<u32, Arc<Process>>,
    /// The processes are a host kernel's (seen live or recorded): its exec events tell an
    /// overlayfs upper layer, and a process's own namespace pid comes from them. A sandbox's
    /// processes are numbered in the sandbox.
    host: bool,
    /// A process the table never saw is read from /proc: the live host's table. A recording's
    /// pids, or a sandbox's, are not this host's.
    proc: bool,
}

/// The live host's table: empty, filled with [`ProcessTable::insert`] and from events, and a
/// process it never saw is read from /proc.
impl Default for ProcessTable {
    fn default() -> Self {
        ProcessTable {
            processes: HashMap::new(),
            host: true,
            proc: true,
        }
    }
}

impl ProcessTable {
    /// An empty table for a gVisor sandbox's processes (seeded with [`ProcessTable::insert`]).
    pub fn sandboxed() -> Self {
        ProcessTable {
            processes: HashMap::new(),
            host: false,
            proc: false,
        }
    }

    /// An empty table for a recording of a host's events: kept from the recorded events alone.
    pub fn recorded() -> Self {
        ProcessTable {
            processes: HashMap::new(),
            host: true,
            proc: false,
        }
    }

    /// Adds or replaces a process (seeding a table with the processes running when its source
    /// began).
    pub fn insert(&mut self, process: Process) {
        self.processes.insert(process.pid, Arc::new(process));
    }

    /// Number of processes known.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// Whether no process is known.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// The process, if known; looked up in /proc (and remembered) when it predates the table.
    pub fn get(&mut self, pid: u32) -> Option<Arc<Process>> {
        if let Some(p) = self.processes.get(&pid) {
            return Some(Arc::clone(p));
        }
        if !self.proc {
            return None;
        }
        let process = Arc::new(read(pid)?);
        self.processes.insert(pid, Arc::clone(&process));
        Some(process)
    }

    /// The process's ancestors, parent first.
    pub fn ancestors(&mut self, process: &Process) -> Vec<Arc<Process>> {
        let mut chain = Vec::new();
        let mut ppid = process.ppid;
        while ppid != 0 && chain.len() < MAX_ANCESTORS {
            let Some(parent) = self.get(ppid) else { break };
            ppid = parent.ppid;
            chain.push(parent);
        }
        chain
    }

    /// Brings the table up to date with a process event (before the event is reported).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Fork { task, child_pid } => {
                let mut child = self.get(task.pid).map(|p| (*p).clone()).unwrap_or_default();
                child.pid = *child_pid;
                child.ppid = task.pid;
                if child.name.is_empty() {
                    child.name = task.comm.clone();
                    child.uid = task.uid;
                }
                child.vpid = (!self.host).then_some(*child_pid);
                child.start_ns = Some(task.ts_ns);
                self.processes.insert(*child_pid, Arc::new(child));
            }
            Event::Exec(exec) => {
                let mut process = from_exec(exec, self.host);
                // An exec replaces the image, not the process: it started at its fork.
                if let Some(start) = self.processes.get(&exec.task.pid).and_then(|p| p.start_ns) {
                    process.start_ns = Some(start);
                }
                self.processes.insert(exec.task.pid, Arc::new(process));
            }
            Event::Syscall(_) | Event::Exit { .. } => {}
        }
    }

    /// Forgets a process after its exit has been reported.
    pub fn remove(&mut self, pid: u32) {
        self.processes.remove(&pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_path_prefers_the_memory_hierarchy() {
        let hybrid = "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n0::/other\n";
        assert_eq!(cgroup_path(hybrid), "/docker/abc");
        assert_eq!(cgroup_path("0::/kubepods/pod1/def\n"), "/kubepods/pod1/def");
        assert_eq!(cgroup_path("garbage"), "");
    }

    #[test]
    fn seeds_itself_from_proc_with_ancestry() {
        let mut table = ProcessTable::default();
        for process in running() {
            table.insert(process);
        }
        let me = table
            .get(std::process::id())
            .expect("this process is in /proc");
        assert!(!me.exe_path.is_empty());
        assert!(!me.argv.is_empty());
        let ancestors = table.ancestors(&me);
        assert_eq!(ancestors.first().map(|p| p.pid), Some(me.ppid));
    }

    #[test]
    fn a_sandboxs_table_never_reads_the_hosts_proc() {
        let mut table = ProcessTable::sandboxed();
        // This process's pid exists on the host; in a sandbox's table it is unknown until seen.
        assert!(table.get(std::process::id()).is_none());
        let task = |pid, comm: &str| haechi_events::Task {
            ts_ns: 0,
            cgroup_id: 0,
            pid,
            tid: pid,
            ppid: 0,
            uid: 0,
            gid: 0,
            cap_effective: None,
            comm: comm.into(),
        };
        table.apply(&Event::Fork {
            task: task(1, "sh"),
            child_pid: 7,
        });
        let child = table.get(7).unwrap();
        assert_eq!(
            (child.ppid, child.name.as_str(), child.vpid),
            (1, "sh", Some(7))
        );
        assert!(table.get(1).is_none(), "the parent was never seen");
    }

    #[test]
    fn a_recordings_table_never_reads_the_hosts_proc() {
        let mut table = ProcessTable::recorded();
        assert!(table.get(std::process::id()).is_none());
        // The live host's table reads what it never saw.
        assert!(ProcessTable::default().get(std::process::id()).is_some());
    }

    #[test]
    fn namespace_pid_is_the_innermost() {
        assert_eq!(namespace_pid("Name:\tsh\nNSpid:\t4242\t1\n"), Some(1));
        assert_eq!(namespace_pid("NSpid:\t77\n"), Some(77));
        assert_eq!(namespace_pid("Name:\tsh\n"), None);
    }

    #[test]
    fn cmdline_is_name_then_arguments() {
        let p = Process {
            name: "sh".into(),
            argv: vec!["/bin/sh".into(), "-c".into(), "id".into()],
            ..Process::default()
        };
        assert_eq!(p.cmdline(), "sh -c id");
        assert_eq!(p.exe(), "/bin/sh");
    }
}
