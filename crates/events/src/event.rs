//! What a task did ([`Event`]) and the DNS answers sockets receive ([`DnsReply`]): what every
//! source hands the pipeline, as an [`Observation`].

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::process::Process;
use crate::syscalls::Syscall;

/// What every event says about the task that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// CLOCK_BOOTTIME nanoseconds (a sandbox's events: CLOCK_REALTIME, see the source).
    pub ts_ns: u64,
    /// Cgroup v2 id.
    pub cgroup_id: u64,
    /// Process id (thread-group id).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Effective capabilities (bit i for capability i), when the source reports them.
    pub cap_effective: Option<u64>,
    /// The kernel's task name (`comm`).
    pub comm: String,
}

/// A process image was replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    /// The task (after the exec).
    pub task: Task,
    /// Real user id.
    pub ruid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Audit login uid; `None` when unset.
    pub loginuid: Option<u32>,
    /// Controlling terminal as /proc's tty_nr; 0 when none.
    pub tty: u32,
    /// The file name given to execve.
    pub filename: String,
    /// The executable's path, resolved by the kernel.
    pub exe_path: String,
    /// Arguments, argv\[0\] first.
    pub argv: Vec<String>,
    /// argv was longer than the source copies.
    pub args_truncated: bool,
    /// Working directory.
    pub cwd: String,
    /// Cgroup path (v2, or v1 memory hierarchy on hybrid hosts).
    pub cgroup: String,
    /// Process id in its own pid namespace (1 for a container's first process).
    pub vpid: u32,
    /// The executable is in an overlayfs upper layer: written or changed after the container
    /// started, rather than shipped in its image.
    pub exe_upper_layer: bool,
}

/// Socket endpoints as the kernel holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Address family (AF_*).
    pub family: u16,
    /// Socket type (SOCK_*).
    pub kind: u16,
    /// IP protocol.
    pub protocol: u16,
    /// Local address, for IPv4/IPv6 sockets.
    pub local: Option<SocketAddr>,
    /// Remote address, for IPv4/IPv6 sockets.
    pub remote: Option<SocketAddr>,
}

/// A socket address as a process passed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SockAddr {
    /// AF_INET or AF_INET6.
    Inet(SocketAddr),
    /// AF_UNIX path (abstract names start with `@`).
    Unix(String),
    /// Another family.
    Other(u16),
}

/// A watched syscall returned.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyscallRecord {
    /// The calling task.
    pub task: Task,
    /// Which syscall (by name in the recorded form).
    #[serde(with = "by_name")]
    pub syscall: &'static Syscall,
    /// Return value (negative errno on failure).
    pub ret: i64,
    /// Raw argument registers.
    pub args: [u64; 6],
    /// String arguments, in the order the syscall table lists them.
    pub strings: [Option<String>; 3],
    /// Path of the fd the syscall returned or used.
    pub fd_path: Option<String>,
    /// Directory the first (relative) path is relative to.
    pub dir: Option<String>,
    /// Socket endpoints, for socket syscalls.
    pub endpoints: Option<Endpoints>,
    /// Socket address passed by the process.
    pub addr: Option<SockAddr>,
}

/// One event: what a task did.
#[derive(Clone, Debug)]
pub enum Event {
    /// A process image was replaced.
    Exec(Exec),
    /// A new process.
    Fork {
        /// The parent.
        task: Task,
        /// The child's pid.
        child_pid: u32,
    },
    /// A process exited.
    Exit {
        /// The exiting process.
        task: Task,
        /// Status as wait(2) reports it.
        exit_code: i32,
    },
    /// A watched syscall.
    Syscall(SyscallRecord),
}

impl Event {
    /// The task that caused the event.
    pub fn task(&self) -> &Task {
        match self {
            Event::Exec(e) => &e.task,
            Event::Fork { task, .. } | Event::Exit { task, .. } => task,
            Event::Syscall(s) => &s.task,
        }
    }

    /// The task that caused the event, to change (a source that stamps another clock, or
    /// knows the parent better, sets it right).
    pub fn task_mut(&mut self) -> &mut Task {
        match self {
            Event::Exec(e) => &mut e.task,
            Event::Fork { task, .. } | Event::Exit { task, .. } => task,
            Event::Syscall(s) => &mut s.task,
        }
    }
}

/// A DNS answer some socket received, as it arrived: the payload is untrusted bytes, parsed by
/// whoever needs the names in it ([`crate::dns::resolution`]). It belongs to no task: the kernel
/// sees it arrive before any process reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsReply {
    /// CLOCK_BOOTTIME when it arrived, in nanoseconds.
    pub ts_ns: u64,
    /// Cgroup v2 id of the receiving socket.
    pub cgroup_id: u64,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// What a source observed: what a task did, a DNS answer a socket received, or a process
/// that was running when the source began.
// Nearly every observation is an event: boxing them to shrink the rare DNS answer's variant
// would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Observation {
    /// What a task did.
    Event(Event),
    /// A DNS answer a socket received.
    Dns(DnsReply),
    /// A process running when the source began (its start, if known, on the events' clock).
    Running(Process),
}

/// The offset from CLOCK_BOOTTIME, the clock the kernel stamps events with, to Unix time, in
/// nanoseconds, as it is now.
pub fn boot_to_epoch_ns() -> u64 {
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

/// A syscall by its name, in the recorded form.
mod by_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::syscalls::{self, Syscall};

    pub fn serialize<S: Serializer>(syscall: &&'static Syscall, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(syscall.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Syscall, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        syscalls::by_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown syscall `{name}`")))
    }
}
