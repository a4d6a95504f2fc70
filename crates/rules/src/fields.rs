//! The field catalogue: every Falco field a rule may name, its type, how haechi obtains it and a
//! one-line description. docs/rules.md's field table is generated from [`CATALOGUE`].
//!
//! An event carries a field under its Falco name (`proc.aname[2]`, `evt.arg.flags`); a field the
//! event lacks is missing, except the derived ones, which fall back to a computation over other
//! fields (`fd.lport` from the client and server ends, `fd.num` from the return value).

use std::fmt;

/// The type of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// A signed integer.
    Number,
    /// `true` or `false`.
    Bool,
    /// An IPv4 or IPv6 address.
    IpAddr,
    /// An address compared against networks: `=` and `in` test membership of a CIDR.
    IpNet,
    /// Nanoseconds since the Unix epoch (rendered as a time of day in outputs).
    Time,
    /// Several strings (every ancestor): a test holds when it holds for one of them.
    List,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Bool => "bool",
            FieldType::IpAddr => "ipaddr",
            FieldType::IpNet => "ipnet",
            FieldType::Time => "time",
            FieldType::List => "list",
        })
    }
}

/// What argument a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// None.
    None,
    /// An optional ancestor index, `proc.aname[2]`; without it, every ancestor (type [`FieldType::List`]).
    Ancestor,
    /// A required name, `evt.arg.flags`, `evt.arg[0]` or `k8s.pod.label[app]`.
    Name,
}

/// How haechi obtains a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `haechi agent` writes it into every event it applies to.
    Agent,
    /// Read from the event when present, otherwise computed as described.
    Derived(Derive),
    /// Read from the event when its producer sets it; `haechi agent` does not write it yet.
    Event,
    /// Known to Falco, but haechi cannot evaluate it yet; rules naming it are reported.
    Unsupported(&'static str),
}

/// The computation behind a derived field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// A constant.
    Const(&'static str),
    /// Another field under another name.
    Alias(&'static str),
    /// Either of two fields (`fd.ip`: client or server address).
    Either(&'static str, &'static str),
    /// The local end of a socket: the server field for accept/listen/bind, the client one otherwise.
    Local(&'static str, &'static str),
    /// The remote end of a socket: the opposite of [`Derive::Local`].
    Remote(&'static str, &'static str),
    /// `fd.num`: the return value of a call that creates a descriptor.
    FdNum,
    /// `fd.type` from `fd.typechar`.
    FdType,
    /// `fd.sockfamily` from `fd.typechar`.
    SockFamily,
    /// `evt.failed` from `evt.rawres`.
    Failed,
}

impl fmt::Display for Derive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derive::Const(c) => write!(f, "always `{c}`"),
            Derive::Alias(a) => write!(f, "`{a}`"),
            Derive::Either(a, b) => write!(f, "`{a}` or `{b}`"),
            Derive::Local(c, s) => write!(f, "`{s}` on the server side, else `{c}`"),
            Derive::Remote(c, s) => write!(f, "`{c}` on the server side, else `{s}`"),
            Derive::FdNum => f.write_str("`evt.rawres` of calls that create a descriptor"),
            Derive::FdType => f.write_str("`fd.typechar`"),
            Derive::SockFamily => f.write_str("`fd.typechar`"),
            Derive::Failed => f.write_str("`evt.rawres` < 0"),
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Falco's name.
    pub name: &'static str,
    /// Value type.
    pub ty: FieldType,
    /// Argument it takes.
    pub arg: Arg,
    /// Where the value comes from.
    pub source: Source,
    /// One line on what it is.
    pub desc: &'static str,
}

const fn f(name: &'static str, ty: FieldType, source: Source, desc: &'static str) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg: Arg::None,
        source,
        desc,
    }
}

const fn with_arg(
    name: &'static str,
    ty: FieldType,
    arg: Arg,
    source: Source,
    desc: &'static str,
) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg,
        source,
        desc,
    }
}

use Derive as D;
use FieldType::{Bool, IpAddr, IpNet, Number, String as Str, Time};
use Source::{Agent, Derived, Event};

const NO_MOUNTS: Source =
    Source::Unsupported("events do not carry the container's mount table yet");

/// Every field haechi knows, in documentation order.
pub const CATALOGUE: &[FieldDef] = &[
    // evt.*
    f(
        "evt.type",
        Str,
        Agent,
        "Event type: the system call's name (`execve`, `openat`, `connect`, ...), `procexit` for an exit.",
    ),
    f(
        "evt.time",
        Time,
        Agent,
        "When the event happened, nanoseconds since the Unix epoch.",
    ),
    f(
        "evt.rawtime",
        Time,
        Derived(D::Alias("evt.time")),
        "The event time as a number.",
    ),
    f("evt.num", Number, Event, "Sequence number of the event."),
    f(
        "evt.dir",
        Str,
        Derived(D::Const("<")),
        "Direction: `<` for a call's exit (haechi reports exits only).",
    ),
    f(
        "evt.source",
        Str,
        Derived(D::Const("syscall")),
        "Event source: `syscall`.",
    ),
    f(
        "evt.res",
        Str,
        Agent,
        "Result: `SUCCESS` or the errno name (`ENOENT`, `EPERM`, ...).",
    ),
    f(
        "evt.rawres",
        Number,
        Agent,
        "Raw return value: a descriptor, a count or a negative errno.",
    ),
    f(
        "evt.failed",
        Bool,
        Derived(D::Failed),
        "Whether the call failed.",
    ),
    f(
        "evt.is_open_read",
        Bool,
        Agent,
        "An open-family call that opened for reading.",
    ),
    f(
        "evt.is_open_write",
        Bool,
        Agent,
        "An open-family call that opened for writing.",
    ),
    f(
        "evt.is_open_exec",
        Bool,
        Event,
        "An open-family call that created an executable file.",
    ),
    f(
        "evt.args",
        Str,
        Event,
        "Every argument rendered as `name=value`, space-separated.",
    ),
    with_arg(
        "evt.arg",
        Str,
        Arg::Name,
        Agent,
        "One argument, by name (`evt.arg.flags`) or position (`evt.arg[0]`), as Falco renders it.",
    ),
    with_arg(
        "evt.rawarg",
        Str,
        Arg::Name,
        Event,
        "One argument by name, unrendered.",
    ),
    f(
        "evt.buffer",
        Str,
        Source::Unsupported("the sensor does not capture I/O buffers"),
        "The data buffer of a read or write.",
    ),
    // proc.*
    f("proc.pid", Number, Agent, "Process id (thread group id)."),
    f("proc.ppid", Number, Agent, "Parent process id."),
    f(
        "proc.vpid",
        Number,
        Agent,
        "Process id as seen in its PID namespace.",
    ),
    f("proc.sid", Number, Event, "Session id."),
    f("proc.sname", Str, Event, "Name of the session leader."),
    f(
        "proc.is_sid_leader",
        Bool,
        Event,
        "Whether the process leads its session.",
    ),
    f(
        "proc.vpgid",
        Number,
        Event,
        "Process group id in its namespace.",
    ),
    f(
        "proc.vpgid.name",
        Str,
        Event,
        "Name of the process group leader.",
    ),
    f(
        "proc.vpgid.exe",
        Str,
        Event,
        "First argument of the process group leader.",
    ),
    f(
        "proc.is_vpgid_leader",
        Bool,
        Event,
        "Whether the process leads its process group.",
    ),
    f(
        "proc.name",
        Str,
        Agent,
        "Process name (the task's comm, up to 15 characters).",
    ),
    f(
        "proc.exe",
        Str,
        Agent,
        "First command-line argument (argv[0]).",
    ),
    f(
        "proc.exepath",
        Str,
        Agent,
        "Full path of the executable, symlinks resolved.",
    ),
    f(
        "proc.cmdline",
        Str,
        Agent,
        "Name and arguments: `proc.name` followed by argv[1..].",
    ),
    f(
        "proc.args",
        Str,
        Agent,
        "Arguments after argv[0], space-separated.",
    ),
    f(
        "proc.cmdnargs",
        Number,
        Agent,
        "Number of command-line arguments.",
    ),
    f(
        "proc.cmdlenargs",
        Number,
        Agent,
        "Total length of the command-line arguments.",
    ),
    f("proc.cwd", Str, Agent, "Current working directory."),
    f(
        "proc.tty",
        Number,
        Agent,
        "Controlling terminal, 0 when none.",
    ),
    f(
        "proc.env",
        Str,
        Event,
        "Environment variables, space-separated `NAME=value`.",
    ),
    f(
        "proc.loginshellid",
        Number,
        Event,
        "Pid of the oldest shell among the ancestors.",
    ),
    f("proc.pname", Str, Agent, "Parent's name."),
    f("proc.pexe", Str, Agent, "Parent's argv[0]."),
    f("proc.pexepath", Str, Agent, "Parent's executable path."),
    f("proc.pcmdline", Str, Agent, "Parent's command line."),
    with_arg(
        "proc.aname",
        Str,
        Arg::Ancestor,
        Agent,
        "Name of the ancestor at a level (`proc.aname[2]` = grandparent, `[0]` = the process); without one, any ancestor.",
    ),
    with_arg(
        "proc.apid",
        Number,
        Arg::Ancestor,
        Agent,
        "Pid of an ancestor, like `proc.aname`.",
    ),
    with_arg(
        "proc.aexe",
        Str,
        Arg::Ancestor,
        Event,
        "argv[0] of an ancestor, like `proc.aname`.",
    ),
    with_arg(
        "proc.aexepath",
        Str,
        Arg::Ancestor,
        Event,
        "Executable path of an ancestor, like `proc.aname`.",
    ),
    with_arg(
        "proc.acmdline",
        Str,
        Arg::Ancestor,
        Event,
        "Command line of an ancestor, like `proc.aname`.",
    ),
    f(
        "proc.duration",
        Number,
        Agent,
        "Nanoseconds since the process started.",
    ),
    f(
        "proc.ppid.duration",
        Number,
        Event,
        "Nanoseconds since the parent started.",
    ),
    f("proc.exe_ino", Number, Event, "Inode of the executable."),
    f(
        "proc.exe_ino.ctime",
        Time,
        Event,
        "Last status change of the executable's inode.",
    ),
    f(
        "proc.exe_ino.mtime",
        Time,
        Event,
        "Last modification of the executable.",
    ),
    f(
        "proc.exe_ino.ctime_duration_proc_start",
        Number,
        Event,
        "Nanoseconds between the executable's ctime and the process start.",
    ),
    f(
        "proc.is_exe_upper_layer",
        Bool,
        Agent,
        "The executable lives in the upper (writable) layer of an overlayfs.",
    ),
    f(
        "proc.is_exe_from_memfd",
        Bool,
        Agent,
        "The executable is a memfd (fileless execution).",
    ),
    f(
        "proc.is_args_truncated",
        Bool,
        Agent,
        "haechi: the kernel copied only the first 4 KiB of the arguments, so `proc.cmdline` and `proc.args` are cut short.",
    ),
    f(
        "proc.is_exe_writable",
        Bool,
        Event,
        "The executable is writable by the process.",
    ),
    f(
        "proc.is_container_healthcheck",
        Bool,
        Event,
        "The process is the container's health check.",
    ),
    f(
        "proc.is_container_liveness_probe",
        Bool,
        Event,
        "The process is a Kubernetes liveness probe.",
    ),
    f(
        "proc.is_container_readiness_probe",
        Bool,
        Event,
        "The process is a Kubernetes readiness probe.",
    ),
    // thread.*
    f("thread.tid", Number, Agent, "Thread id."),
    f(
        "thread.vtid",
        Number,
        Event,
        "Thread id in its PID namespace.",
    ),
    f(
        "thread.cap_effective",
        Str,
        Agent,
        "Effective capabilities (`CAP_SYS_ADMIN CAP_NET_RAW ...`).",
    ),
    f(
        "thread.cap_permitted",
        Str,
        Event,
        "Permitted capabilities.",
    ),
    f(
        "thread.cap_inheritable",
        Str,
        Event,
        "Inheritable capabilities.",
    ),
    // fd.*
    f(
        "fd.num",
        Number,
        Derived(D::FdNum),
        "Descriptor number; -1 when the call creating it failed.",
    ),
    f(
        "fd.type",
        Str,
        Derived(D::FdType),
        "Descriptor type: `file`, `directory`, `ipv4`, `ipv6`, `unix`, ...",
    ),
    f(
        "fd.typechar",
        Str,
        Agent,
        "Type as one character: `f`, `d`, `4`, `6`, `u`, ...",
    ),
    f(
        "fd.name",
        Str,
        Agent,
        "Full path of a file, or `client->server` for a socket.",
    ),
    f(
        "fd.nameraw",
        Str,
        Agent,
        "The path as the process passed it.",
    ),
    f("fd.directory", Str, Agent, "Directory of the file."),
    f(
        "fd.filename",
        Str,
        Agent,
        "File name without its directory.",
    ),
    f(
        "fd.name_changed",
        Bool,
        Event,
        "Whether the name changed while the descriptor was open.",
    ),
    f(
        "fd.connected",
        Bool,
        Event,
        "Whether the socket is connected.",
    ),
    f(
        "fd.l4proto",
        Str,
        Agent,
        "Transport protocol: `tcp`, `udp`, `icmp`, ...",
    ),
    f(
        "fd.sockfamily",
        Str,
        Derived(D::SockFamily),
        "Socket family: `ip` or `unix`.",
    ),
    f("fd.cip", IpAddr, Agent, "Client address."),
    f("fd.sip", IpAddr, Agent, "Server address."),
    f(
        "fd.lip",
        IpAddr,
        Derived(D::Local("fd.cip", "fd.sip")),
        "Local address.",
    ),
    f(
        "fd.rip",
        IpAddr,
        Derived(D::Remote("fd.cip", "fd.sip")),
        "Remote address.",
    ),
    f(
        "fd.ip",
        IpAddr,
        Derived(D::Either("fd.cip", "fd.sip")),
        "Either address (filter only: `=` and `in` hold when one end matches, `!=` when neither does).",
    ),
    f("fd.cport", Number, Agent, "Client port."),
    f("fd.sport", Number, Agent, "Server port."),
    f(
        "fd.lport",
        Number,
        Derived(D::Local("fd.cport", "fd.sport")),
        "Local port.",
    ),
    f(
        "fd.rport",
        Number,
        Derived(D::Remote("fd.cport", "fd.sport")),
        "Remote port.",
    ),
    f(
        "fd.port",
        Number,
        Derived(D::Either("fd.cport", "fd.sport")),
        "Either port (filter only).",
    ),
    f(
        "fd.cnet",
        IpNet,
        Derived(D::Alias("fd.cip")),
        "Client address, compared against networks.",
    ),
    f(
        "fd.snet",
        IpNet,
        Derived(D::Alias("fd.sip")),
        "Server address, compared against networks.",
    ),
    f(
        "fd.lnet",
        IpNet,
        Derived(D::Local("fd.cip", "fd.sip")),
        "Local address, compared against networks.",
    ),
    f(
        "fd.rnet",
        IpNet,
        Derived(D::Remote("fd.cip", "fd.sip")),
        "Remote address, compared against networks.",
    ),
    f(
        "fd.net",
        IpNet,
        Derived(D::Either("fd.cip", "fd.sip")),
        "Either address, compared against networks (filter only).",
    ),
    f(
        "fd.cip.name",
        Str,
        Agent,
        "Domain name the client address was resolved from.",
    ),
    f(
        "fd.sip.name",
        Str,
        Agent,
        "Domain name the server address was resolved from.",
    ),
    f(
        "fd.lip.name",
        Str,
        Agent,
        "Domain name the local address was resolved from.",
    ),
    f(
        "fd.rip.name",
        Str,
        Agent,
        "Domain name the remote address was resolved from.",
    ),
    // user.*, group.*
    f("user.uid", Number, Agent, "Effective user id."),
    f("user.name", Str, Agent, "Effective user name."),
    f(
        "user.loginuid",
        Number,
        Agent,
        "Audit login uid; -1 when unset.",
    ),
    f("user.loginname", Str, Agent, "Name of the login user."),
    f("user.homedir", Str, Agent, "Home directory of the user."),
    f("user.shell", Str, Agent, "Login shell of the user."),
    f("group.gid", Number, Agent, "Effective group id."),
    f("group.name", Str, Agent, "Effective group name."),
    // container.*
    f(
        "container.id",
        Str,
        Agent,
        "Container id shortened to 12 characters, `host` outside containers.",
    ),
    f("container.full_id", Str, Agent, "Full container id."),
    f(
        "container.name",
        Str,
        Agent,
        "Container name, `host` outside containers.",
    ),
    f(
        "container.image",
        Str,
        Agent,
        "Image as the container was started with.",
    ),
    f(
        "container.image.repository",
        Str,
        Agent,
        "Image repository.",
    ),
    f("container.image.tag", Str, Agent, "Image tag."),
    f("container.image.id", Str, Event, "Image id."),
    f("container.image.digest", Str, Event, "Image digest."),
    f(
        "container.type",
        Str,
        Event,
        "Container runtime (`docker`, `cri`, `containerd`, ...).",
    ),
    f(
        "container.privileged",
        Bool,
        Agent,
        "Whether the container runs privileged.",
    ),
    f(
        "container.sandbox",
        Str,
        Agent,
        "haechi's: `gvisor` for events from inside a gVisor (runsc) sandbox, absent for the host kernel's.",
    ),
    f(
        "container.start_ts",
        Time,
        Event,
        "When the container started.",
    ),
    f(
        "container.duration",
        Number,
        Event,
        "Nanoseconds since the container started.",
    ),
    f(
        "container.mounts",
        Str,
        Event,
        "Mounts as `source:dest:mode:rdwr:propagation`, comma-separated.",
    ),
    with_arg(
        "container.mount",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "One mount by index or source.",
    ),
    with_arg(
        "container.mount.source",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "Mount source by index or destination.",
    ),
    with_arg(
        "container.mount.dest",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "Mount destination by index or source.",
    ),
    with_arg(
        "container.mount.mode",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "Mount mode by index or source.",
    ),
    with_arg(
        "container.mount.rdwr",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "Whether a mount is writable.",
    ),
    with_arg(
        "container.mount.propagation",
        Str,
        Arg::Name,
        NO_MOUNTS,
        "Propagation of a mount.",
    ),
    // k8s.*
    f("k8s.pod.name", Str, Agent, "Kubernetes pod name."),
    f("k8s.ns.name", Str, Agent, "Kubernetes namespace."),
    f("k8s.pod.uid", Str, Agent, "Kubernetes pod uid."),
    f(
        "k8s.pod.sandbox_id",
        Str,
        Event,
        "Id of the pod's sandbox container.",
    ),
    with_arg(
        "k8s.pod.label",
        Str,
        Arg::Name,
        Event,
        "One pod label (`k8s.pod.label[app]`).",
    ),
    f(
        "k8s.pod.labels",
        Str,
        Event,
        "Every pod label as `key:value`, comma-separated.",
    ),
    f("k8s.pod.ip", Str, Event, "Pod IP address."),
];

/// Looks a field up by name: an exact entry, or one taking a `.name` argument
/// (`evt.arg.flags` is `evt.arg` with the argument `flags`).
pub fn lookup(name: &str) -> Option<(&'static FieldDef, Option<&str>)> {
    if let Some(def) = CATALOGUE.iter().find(|d| d.name == name) {
        return Some((def, None));
    }
    CATALOGUE
        .iter()
        .filter(|d| d.arg == Arg::Name)
        .find_map(|d| {
            let rest = name.strip_prefix(d.name)?.strip_prefix('.')?;
            (!rest.is_empty()).then_some((d, Some(rest)))
        })
}

/// Falco field classes haechi does not catalogue: a field under one of these prefixes is
/// reported as unsupported rather than unknown.
pub const UNSUPPORTED_CLASSES: &[(&str, &str)] = &[
    (
        "ka.",
        "Kubernetes audit events (the k8saudit plugin) are not evaluated",
    ),
    ("k8smeta.", "the k8smeta plugin is not available"),
    (
        "ct.",
        "CloudTrail events (the cloudtrail plugin) are not evaluated",
    ),
    ("json.", "plugin JSON fields are not evaluated"),
    (
        "k8s.rc.",
        "Falco removed replication-controller metadata; haechi has none",
    ),
    (
        "k8s.rs.",
        "Falco removed replica-set metadata; haechi has none",
    ),
    (
        "k8s.svc.",
        "Falco removed service metadata; haechi has none",
    ),
    (
        "k8s.deployment.",
        "Falco removed deployment metadata; haechi has none",
    ),
    ("fdlist.", "poll descriptor lists are not captured"),
    ("span.", "tracer spans are not captured"),
    ("syslog.", "syslog events are not captured"),
    ("mesos.", "Mesos metadata is not collected"),
    ("marathon.", "Marathon metadata is not collected"),
];

/// Whether `name` names a Falco field class haechi knows but cannot evaluate, and why.
pub fn unsupported_class(name: &str) -> Option<&'static str> {
    UNSUPPORTED_CLASSES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, why)| *why)
}
