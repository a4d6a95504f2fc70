//! Rust mirrors of the structs in `bpf/abi.h`, the one definition of the kernel/user ABI.
//!
//! The `abi_matches_btf` test compares every struct here with the BTF that clang wrote into
//! `sensor.bpf.o`, so the two cannot drift apart unnoticed.

/// A process image was replaced.
pub const EV_EXEC: u16 = 1;
/// A new process (not a thread) was created.
pub const EV_FORK: u16 = 2;
/// A process exited (its last thread).
pub const EV_EXIT: u16 = 3;
/// A watched syscall returned.
pub const EV_SYSCALL: u16 = 4;
/// A DNS answer arrived.
pub const EV_DNS: u16 = 5;

/// Number of variable-length fields after an event's fixed part.
pub const FIELD_COUNT: usize = 6;
/// Syscall event fields, in the order they follow the fixed part.
pub const F_STR0: usize = 0;
/// Second string argument.
pub const F_STR1: usize = 1;
/// Third string argument.
pub const F_STR2: usize = 2;
/// Path of the file descriptor the syscall returned or used, resolved by the kernel.
pub const F_FD_PATH: usize = 3;
/// Directory a relative first path is relative to.
pub const F_DIR: usize = 4;
/// Socket address as the process passed it.
pub const F_ADDR: usize = 5;
/// Exec event fields.
pub const F_EXEC_FILENAME: usize = 0;
/// Resolved path of the executable.
pub const F_EXEC_EXE: usize = 1;
/// argv, NUL-separated.
pub const F_EXEC_ARGV: usize = 2;
/// Working directory.
pub const F_EXEC_CWD: usize = 3;
/// Cgroup path.
pub const F_EXEC_CGROUP: usize = 4;

/// Longest path the kernel side copies.
pub const PATH_MAX: usize = 4096;
/// A file event the path filter sees as a read (`HAECHI_PATH_READS`).
pub const PATH_READS: u8 = 1;
/// Any other file event (`HAECHI_PATH_WRITES`).
pub const PATH_WRITES: u8 = 2;

/// Longest prefix the path filter compares.
pub const PREFIX_MAX: usize = 256;
/// "No argument" in [`SyscallConf`].
pub const ARG_NONE: u8 = 0xff;
/// The syscall's return value, as a file descriptor source in [`SyscallConf`].
pub const ARG_RET: u8 = 6;
/// "Relative to the working directory" as [`SyscallConf::dirfd_arg`].
pub const ARG_CWD: u8 = 7;

/// Index of the stats array: events written to the ring buffer.
pub const STAT_EMITTED: u32 = 0;
/// Events dropped because the ring buffer was full.
pub const STAT_LOST: u32 = 1;
/// Events dropped by the in-kernel filters.
pub const STAT_FILTERED: u32 = 2;
/// Path filter verdicts taken from the verdict cache instead of resolving the path.
pub const STAT_VERDICT_HITS: u32 = 3;
/// Index of the `path_generation` array bumped by the kernel after renames and mount changes.
pub const GEN_KERNEL: u32 = 0;
/// Index of the `path_generation` array bumped by user space after it changes the path filter.
pub const GEN_FILTER: u32 = 1;

/// Index of the enforcement stats array: records written to the ring buffer.
pub const ENFORCE_STAT_WRITTEN: u32 = 0;
/// Enforcement records dropped because the ring buffer was full (the action was still taken).
pub const ENFORCE_STAT_LOST: u32 = 1;
/// DNS answers dropped because their ring buffer was full.
pub const ENFORCE_STAT_DNS_LOST: u32 = 2;

/// The events ring buffer wakes its reader once this many bytes wait (and not before).
pub const WAKEUP_BYTES: u64 = 256 << 10;

/// Capacity of the kernel's syscall table.
pub const SYSCALL_MAX: u32 = 512;
/// Cgroups one recording can follow.
pub const RECORD_CGROUPS_MAX: u32 = 1024;

/// How the kernel treats one syscall (`struct haechi_syscall_conf`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallConf {
    /// 1: the syscall is reported; 0 (the default): ignored after one array lookup.
    pub enabled: u8,
    /// Argument indices (0..5) of user-space strings to copy, or [`ARG_NONE`].
    pub str_args: [u8; 3],
    /// Argument index of the directory fd the first string is relative to (AT_FDCWD: the
    /// working directory), [`ARG_CWD`] or [`ARG_NONE`].
    pub dirfd_arg: u8,
    /// File descriptor to resolve to a path: an argument index, [`ARG_RET`] or [`ARG_NONE`].
    pub fd_path: u8,
    /// File descriptor whose socket endpoints to report: an argument index, [`ARG_RET`] or
    /// [`ARG_NONE`].
    pub sock_fd: u8,
    /// Argument index of a user-space `struct sockaddr`, or [`ARG_NONE`].
    pub addr_arg: u8,
    /// Argument index of its length, or [`ARG_NONE`].
    pub addr_len_arg: u8,
    /// The kinds of file event ([`PATH_READS`], [`PATH_WRITES`]) that pass only under a
    /// prefix of the `path_prefixes` trie with that kind's bit.
    pub path_filter: u8,
    /// 1: drop the event when the syscall failed.
    pub success_only: u8,
    /// Zero.
    pub _pad: [u8; 5],
}

// SAFETY: plain old data, every bit pattern valid, no padding the compiler adds.
unsafe impl aya::Pod for SyscallConf {}

/// Socket endpoints (`struct haechi_sock`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sock {
    /// AF_INET, AF_INET6, AF_UNIX, ...; 0: not a socket.
    pub family: u16,
    /// SOCK_STREAM, SOCK_DGRAM, ... (`type` in C).
    pub kind: u16,
    /// IPPROTO_TCP, IPPROTO_UDP, ...
    pub protocol: u16,
    /// Local port, host order.
    pub local_port: u16,
    /// Remote port, host order.
    pub remote_port: u16,
    /// Zero.
    pub _pad: [u16; 3],
    /// Local address; IPv4 in the first 4 bytes.
    pub local_addr: [u8; 16],
    /// Remote address; IPv4 in the first 4 bytes.
    pub remote_addr: [u8; 16],
}

/// The fixed part every event starts with (`struct haechi_event`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EventHeader {
    /// CLOCK_BOOTTIME nanoseconds.
    pub ts_ns: u64,
    /// Cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// The task's effective capabilities, bit i for capability i.
    pub cap_effective: u64,
    /// Process id (thread-group id).
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// Thread-group id of the real parent.
    pub ppid: u32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// `EV_*`.
    pub kind: u16,
    /// Bytes of the whole event, fixed and variable parts.
    pub size: u16,
    /// Bytes of each variable-length field after the fixed part (`F_*`).
    pub lens: [u16; FIELD_COUNT],
    /// Zero.
    pub _pad: [u16; 2],
    /// The task name, NUL-padded.
    pub comm: [u8; 16],
}

/// `struct haechi_syscall_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallEvent {
    /// The header.
    pub ev: EventHeader,
    /// Return value (negative errno on failure).
    pub ret: i64,
    /// Argument registers.
    pub args: [u64; 6],
    /// Syscall number.
    pub nr: u32,
    /// Zero.
    pub _pad: u32,
    /// Socket endpoints, for socket syscalls.
    pub sock: Sock,
}

/// `struct haechi_exec_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecEvent {
    /// The header (effective ids).
    pub ev: EventHeader,
    /// Real user id.
    pub ruid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Audit login uid; `u32::MAX` when unset.
    pub loginuid: u32,
    /// As /proc/PID/stat's tty_nr; 0: none.
    pub tty: u32,
    /// The thread that called execve.
    pub old_tid: u32,
    /// 1 when argv was longer than the kernel copies.
    pub args_truncated: u32,
    /// The pid in the task's own pid namespace (1 for a container's init).
    pub vpid: u32,
    /// `EXEC_*` bits.
    pub flags: u32,
}

/// [`ExecEvent::flags`]: the executable is in an overlayfs upper layer (written or changed
/// after the container started).
pub const EXEC_UPPER_LAYER: u32 = 1;

/// `struct haechi_fork_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ForkEvent {
    /// The header (the parent).
    pub ev: EventHeader,
    /// The new process.
    pub child_tgid: u32,
    /// Zero.
    pub _pad: u32,
}

/// `struct haechi_exit_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExitEvent {
    /// The header.
    pub ev: EventHeader,
    /// As wait(2) reports it: status << 8 | signal.
    pub exit_code: i32,
    /// Zero.
    pub _pad: u32,
}

// ---- Enforcement (`bpf/enforce.bpf.c`) ----

/// Policies one kernel holds at once; a cgroup's scope is a bit set of them.
pub const POLICY_MAX: usize = 32;
/// Allowed destinations per default-deny egress policy.
pub const NET_ALLOW_MAX: usize = 16;
/// Longest executable path an exception compares.
pub const EXE_MAX: usize = 256;

/// Report only.
pub const ACTION_ALERT: u8 = 1;
/// The syscall fails with EPERM.
pub const ACTION_DENY: u8 = 2;
/// SIGKILL before the syscall returns.
pub const ACTION_KILL: u8 = 3;

/// Enforcement record kinds: a refused or reported connect.
pub const ENF_CONNECT: u8 = 1;
/// A datagram send.
pub const ENF_SENDMSG: u8 = 2;
/// An open of a protected path.
pub const ENF_OPEN: u8 = 3;
/// An execution of a forbidden binary.
pub const ENF_EXEC: u8 = 4;
/// A privileged syscall.
pub const ENF_SYSCALL: u8 = 5;

/// TCP in [`NetAllow::protocols`] and [`Enforcement::protocol`].
pub const PROTO_TCP: u8 = 1;
/// UDP.
pub const PROTO_UDP: u8 = 2;

/// Reads, in [`Verdict::access`].
pub const ACCESS_READ: u8 = 1;
/// Writes (including create and truncate).
pub const ACCESS_WRITE: u8 = 2;

/// [`EnforcedSyscall::kind`]: an open whose returned fd is checked against file rules.
pub const SYS_OPEN: u8 = 1;
/// A syscall checked against the privilege rules of its class.
pub const SYS_PRIVILEGE: u8 = 2;

/// Privilege classes, the index into [`PrivilegeRules::rules`].
pub const PRIV_PTRACE: usize = 0;
/// init_module, finit_module, delete_module.
pub const PRIV_MODULE: usize = 1;
/// setuid and its family, capset.
pub const PRIV_SETID: usize = 2;
/// mount, umount and the new mount API.
pub const PRIV_MOUNT: usize = 3;
/// unshare, setns.
pub const PRIV_NAMESPACE: usize = 4;
/// bpf.
pub const PRIV_BPF: usize = 5;
/// Number of privilege classes.
pub const PRIV_CLASSES: usize = 6;

/// The rule that decided and what it does (`struct haechi_verdict`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The rule, numbered from 1 across all policies; 0: none.
    pub rule: u32,
    /// `ACTION_*`.
    pub action: u8,
    /// File rules: the `ACCESS_*` bits the rule covers.
    pub access: u8,
    /// 1: look the executable up in `exceptions` first.
    pub has_exceptions: u8,
    /// 0: every process; k: only the processes process selector k-1 selects.
    pub selector: u8,
}

/// One allowed destination (`struct haechi_net_allow`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetAllow {
    /// IPv6, or IPv4 mapped as ::ffff:a.b.c.d.
    pub addr: [u8; 16],
    /// Bits of `addr` that must match, of 128.
    pub prefix_len: u8,
    /// `PROTO_*` bits; 0: any.
    pub protocols: u8,
    /// Lowest port, host order, inclusive.
    pub port_min: u16,
    /// Highest port, inclusive.
    pub port_max: u16,
    /// Zero.
    pub _pad: u16,
}

/// A policy's egress rules (`struct haechi_net_policy`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// What refusing a connection does, and its rule.
    pub verdict: Verdict,
    /// 1: destinations not in `allow` are refused.
    pub default_deny: u8,
    /// Entries of `allow` in use.
    pub n_allow: u8,
    /// Zero.
    pub _pad: [u8; 2],
    /// Allowed destinations.
    pub allow: [NetAllow; NET_ALLOW_MAX],
}

/// Data of a `net_denied` key: the policy, then the address (`struct haechi_net_key`).
pub type NetKeyData = [u8; 20];

/// Data of a `file_rules` / `exec_rules` key: the policy, then the path
/// (`struct haechi_policy_path_key`).
pub type PolicyPathData = [u8; PREFIX_MAX];

/// Key of the `exceptions` hash (`struct haechi_exception_key`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionKey {
    /// The rule.
    pub rule: u32,
    /// The executable's resolved path, NUL-padded.
    pub exe: [u8; EXE_MAX],
}

/// Process selectors (a rule's `binaries` and `ancestors`) one kernel holds at once.
pub const SELECTOR_MAX: usize = 32;

/// Data of a `selector_binaries` key: an executable path, or a directory prefix ending in `/`
/// (`struct haechi_prefix_key`).
pub type SelectorPathData = [u8; PREFIX_MAX];

/// What an executable satisfies (`struct haechi_selector_match`): bit k for selector k.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SelectorMatch {
    /// Selectors that list it among their binaries.
    pub binary: u32,
    /// Selectors that list it among their ancestors.
    pub ancestor: u32,
}

/// The selectors in use (`struct haechi_selector_config`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectorConfig {
    /// Every selector; 0: the kernel tracks no process.
    pub in_use: u32,
    /// Selectors that list no binaries.
    pub any_binary: u32,
    /// Selectors that list no ancestors.
    pub any_ancestor: u32,
    /// Zero.
    pub _pad: u32,
}

/// Which selectors select one process (`struct haechi_task_selection`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskSelection {
    /// Selectors whose ancestors the process or one of its ancestors ran.
    pub ancestry: u32,
    /// Selectors that select the process.
    pub selected: u32,
}

/// How a syscall number is enforced (`struct haechi_enforced_syscall`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnforcedSyscall {
    /// `SYS_*`; 0: not enforced.
    pub kind: u8,
    /// Opens: argument index of the flags (1 or 2), [`ARG_NONE`] for creat.
    pub flags_arg: u8,
    /// Opens: 1 when the flags are the first u64 of `struct open_how` (openat2).
    pub flags_in_how: u8,
    /// Privilege syscalls: `PRIV_*`.
    pub class: u8,
}

/// A policy's privilege rules, by class (`struct haechi_privilege_rules`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrivilegeRules {
    /// The verdict of each privilege class, by `PRIV_*`.
    pub rules: [Verdict; PRIV_CLASSES],
}

/// What an enforcement program did (`struct haechi_enforcement`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Enforcement {
    /// CLOCK_BOOTTIME nanoseconds.
    pub ts_ns: u64,
    /// Cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Process id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// User id.
    pub uid: u32,
    /// The rule that decided.
    pub rule: u32,
    /// `ACTION_*`.
    pub action: u8,
    /// `ENF_*`: which hook acted.
    pub kind: u8,
    /// `PROTO_*`, for the network kinds.
    pub protocol: u8,
    /// Zero.
    pub _pad: u8,
    /// Destination port, host order.
    pub port: u16,
    /// Syscall number, for `ENF_SYSCALL` and `ENF_OPEN`.
    pub nr: u16,
    /// Destination, as in [`NetAllow::addr`].
    pub addr: [u8; 16],
    /// The task name, NUL-padded.
    pub comm: [u8; 16],
    /// The file or executable, NUL-padded.
    pub path: [u8; PREFIX_MAX],
}

/// Longest DNS payload the kernel copies.
pub const DNS_MAX: usize = 1232;

/// A DNS answer some socket received (`struct haechi_dns_event`): of the header, only the
/// time, the receiving socket's cgroup, kind, size and `lens[0]` (the payload's length) are set.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DnsEvent {
    /// The header.
    pub ev: EventHeader,
    /// The UDP payload; `ev.lens[0]` bytes of it.
    pub payload: [u8; DNS_MAX],
}

/// A DNS answer a scoped container received (`struct haechi_dns_answer`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DnsAnswer {
    /// Cgroup v2 id of the receiving socket.
    pub cgroup_id: u64,
    /// The receiving cgroup's policies that deny domains.
    pub scope: u32,
    /// Payload bytes copied (at most [`DNS_MAX`]).
    pub len: u16,
    /// Zero.
    pub _pad: u16,
    /// The UDP payload.
    pub payload: [u8; DNS_MAX],
}

impl DnsAnswer {
    /// The payload bytes the kernel copied.
    pub fn payload(&self) -> &[u8] {
        &self.payload[..usize::from(self.len).min(DNS_MAX)]
    }
}

// SAFETY: plain old data, every bit pattern valid, no padding the compiler adds.
unsafe impl aya::Pod for Verdict {}
// SAFETY: as above.
unsafe impl aya::Pod for NetPolicy {}
// SAFETY: as above.
unsafe impl aya::Pod for ExceptionKey {}
// SAFETY: as above.
unsafe impl aya::Pod for EnforcedSyscall {}
// SAFETY: as above.
unsafe impl aya::Pod for PrivilegeRules {}
// SAFETY: as above.
unsafe impl aya::Pod for SelectorMatch {}
// SAFETY: as above.
unsafe impl aya::Pod for SelectorConfig {}
// SAFETY: as above.
unsafe impl aya::Pod for TaskSelection {}
