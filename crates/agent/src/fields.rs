//! An event as a flat map of Falco field names (`evt.type`, `proc.name`, `fd.name`, ...), the
//! shape `haechi agent --events` writes and the rule engine reads.

use std::net::SocketAddr;

use haechi_sensor::{Event, SockAddr, SyscallRecord};
use serde_json::{Map, Value, json};

use crate::process::Process;

/// What is known of the container a process runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerView {
    /// Full id; empty for the host.
    pub id: String,
    /// Runtime's name for it.
    pub name: Option<String>,
    /// Image repository.
    pub image_repository: Option<String>,
    /// Image tag.
    pub image_tag: Option<String>,
    /// Runs privileged.
    pub privileged: Option<bool>,
    /// Kubernetes pod name.
    pub pod_name: Option<String>,
    /// Kubernetes namespace.
    pub pod_namespace: Option<String>,
    /// Kubernetes pod uid.
    pub pod_uid: Option<String>,
    /// Labels the engine reports (Docker labels, OCI annotations).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The engine has answered (or none knew the container); false while a lookup runs.
    pub resolved: bool,
}

/// Everything needed to render one event.
pub struct Context<'a> {
    /// The process the event is about (after the table was updated).
    pub process: &'a Process,
    /// Its ancestors, parent first.
    pub ancestors: &'a [std::sync::Arc<Process>],
    /// Its container.
    pub container: &'a ContainerView,
    /// User name for the effective uid, when known.
    pub user_name: Option<&'a str>,
    /// Offset from CLOCK_BOOTTIME to the Unix epoch, in nanoseconds.
    pub boot_to_epoch_ns: u64,
    /// The sandbox the event comes from (`gvisor`), `None` for the host kernel's events.
    pub sandbox: Option<&'a str>,
}

/// Falco's `evt.type` for an event.
pub fn event_type(event: &Event) -> &'static str {
    match event {
        Event::Exec(_) => "execve",
        Event::Fork { .. } => "clone",
        Event::Exit { .. } => "procexit",
        Event::Syscall(s) => s.syscall.name,
    }
}

/// Renders `event` as Falco fields.
pub fn render(event: &Event, cx: &Context<'_>) -> Map<String, Value> {
    let task = event.task();
    let p = cx.process;
    let mut m = Map::new();
    m.insert("evt.type".into(), json!(event_type(event)));
    m.insert("evt.time".into(), json!(task.ts_ns + cx.boot_to_epoch_ns));
    m.insert("proc.pid".into(), json!(task.pid));
    m.insert("thread.tid".into(), json!(task.tid));
    m.insert("proc.ppid".into(), json!(p.ppid));
    if let Some(vpid) = p.vpid {
        m.insert("proc.vpid".into(), json!(vpid));
    }
    if let Some(upper) = p.exe_upper_layer {
        m.insert("proc.is_exe_upper_layer".into(), json!(upper));
    }
    m.insert(
        "proc.is_exe_from_memfd".into(),
        json!(p.exe_path.starts_with("/memfd:")),
    );
    m.insert("proc.name".into(), json!(task.comm));
    m.insert("proc.exe".into(), json!(p.exe()));
    m.insert("proc.exepath".into(), json!(p.exe_path));
    // Falco's proc.cmdline starts with proc.name, the task's name now.
    let mut cmdline = task.comm.clone();
    for arg in p.argv.iter().skip(1) {
        cmdline.push(' ');
        cmdline.push_str(arg);
    }
    m.insert("proc.cmdline".into(), json!(cmdline));
    m.insert(
        "proc.args".into(),
        json!(p.argv.get(1..).unwrap_or_default().join(" ")),
    );
    m.insert("proc.cwd".into(), json!(p.cwd));
    m.insert("proc.tty".into(), json!(p.tty));
    if let Some(parent) = cx.ancestors.first() {
        m.insert("proc.pname".into(), json!(parent.name));
        m.insert("proc.pexepath".into(), json!(parent.exe_path));
        m.insert("proc.pcmdline".into(), json!(parent.cmdline()));
    }
    for (i, ancestor) in cx.ancestors.iter().enumerate() {
        m.insert(format!("proc.aname[{}]", i + 1), json!(ancestor.name));
        m.insert(format!("proc.apid[{}]", i + 1), json!(ancestor.pid));
    }
    m.insert("user.uid".into(), json!(task.uid));
    m.insert("user.name".into(), json!(cx.user_name.unwrap_or("")));
    m.insert(
        "user.loginuid".into(),
        json!(p.loginuid.map_or(-1, i64::from)),
    );
    m.insert("group.gid".into(), json!(task.gid));
    container_fields(&mut m, cx.container);
    if let Some(sandbox) = cx.sandbox {
        m.insert("container.sandbox".into(), json!(sandbox));
    }
    match event {
        Event::Exec(exec) => {
            m.insert("evt.res".into(), json!("SUCCESS"));
            m.insert("evt.arg.filename".into(), json!(exec.filename));
            m.insert("proc.is_args_truncated".into(), json!(exec.args_truncated));
        }
        Event::Fork { child_pid, .. } => {
            m.insert("evt.res".into(), json!("SUCCESS"));
            m.insert("evt.arg.child_pid".into(), json!(child_pid));
        }
        Event::Exit { exit_code, .. } => {
            m.insert("evt.arg.status".into(), json!(exit_code));
        }
        Event::Syscall(s) => syscall_fields(&mut m, s),
    }
    m
}

fn container_fields(m: &mut Map<String, Value>, c: &ContainerView) {
    if c.id.is_empty() {
        m.insert("container.id".into(), json!("host"));
        m.insert("container.name".into(), json!("host"));
        return;
    }
    // Falco shows the first 12 characters of the id.
    m.insert(
        "container.id".into(),
        json!(c.id.get(..12).unwrap_or(&c.id)),
    );
    m.insert("container.full_id".into(), json!(c.id));
    let optional = [
        ("container.name", &c.name),
        ("container.image.repository", &c.image_repository),
        ("container.image.tag", &c.image_tag),
        ("k8s.pod.name", &c.pod_name),
        ("k8s.ns.name", &c.pod_namespace),
        ("k8s.pod.uid", &c.pod_uid),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            m.insert(key.into(), json!(v));
        }
    }
    if let Some(privileged) = c.privileged {
        m.insert("container.privileged".into(), json!(privileged));
    }
}

fn errno_name(ret: i64) -> String {
    let errno = i32::try_from(-ret).unwrap_or(0);
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EROFS => "EROFS",
        libc::ENOSYS => "ENOSYS",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ => return format!("E{errno}"),
    };
    name.to_owned()
}

/// Open flags the way Falco renders `evt.arg.flags` for open/openat.
fn open_flags(flags: u64) -> String {
    let flags = flags as i32;
    let mut names = vec![match flags & libc::O_ACCMODE {
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_RDONLY",
    }];
    for (bit, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_TMPFILE & !libc::O_DIRECTORY, "O_TMPFILE"),
    ] {
        if flags & bit == bit {
            names.push(name);
        }
    }
    names.join("|")
}

fn ptrace_request(request: u64) -> String {
    let name = match request as u32 {
        libc::PTRACE_TRACEME => "PTRACE_TRACEME",
        libc::PTRACE_PEEKTEXT => "PTRACE_PEEKTEXT",
        libc::PTRACE_PEEKDATA => "PTRACE_PEEKDATA",
        libc::PTRACE_POKETEXT => "PTRACE_POKETEXT",
        libc::PTRACE_POKEDATA => "PTRACE_POKEDATA",
        libc::PTRACE_CONT => "PTRACE_CONT",
        libc::PTRACE_KILL => "PTRACE_KILL",
        libc::PTRACE_SINGLESTEP => "PTRACE_SINGLESTEP",
        libc::PTRACE_GETREGS => "PTRACE_GETREGS",
        libc::PTRACE_SETREGS => "PTRACE_SETREGS",
        libc::PTRACE_ATTACH => "PTRACE_ATTACH",
        libc::PTRACE_DETACH => "PTRACE_DETACH",
        libc::PTRACE_SYSCALL => "PTRACE_SYSCALL",
        libc::PTRACE_SETOPTIONS => "PTRACE_SETOPTIONS",
        libc::PTRACE_SEIZE => "PTRACE_SEIZE",
        libc::PTRACE_INTERRUPT => "PTRACE_INTERRUPT",
        other => return other.to_string(),
    };
    name.to_owned()
}

fn address_family(family: u64) -> String {
    let name = match family as i32 {
        libc::AF_UNIX => "AF_LOCAL",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_PACKET => "AF_PACKET",
        libc::AF_NETLINK => "AF_NETLINK",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// Joins a relative path to the directory the kernel reported for it.
fn absolute(dir: Option<&str>, path: &str) -> String {
    match dir {
        Some(dir) if !path.starts_with('/') => {
            format!("{}/{}", dir.trim_end_matches('/'), path)
        }
        _ => path.to_owned(),
    }
}

fn syscall_fields(m: &mut Map<String, Value>, s: &SyscallRecord) {
    let res = if s.ret < 0 {
        errno_name(s.ret)
    } else {
        "SUCCESS".to_owned()
    };
    m.insert("evt.res".into(), json!(res));
    m.insert("evt.rawres".into(), json!(s.ret));
    let str0 = s.strings[0].as_deref();
    let str1 = s.strings[1].as_deref();
    let dir = s.dir.as_deref();
    let name = s.syscall.name;
    if s.syscall.is_open() {
        let flags = match name {
            "open" => s.args[1],
            "creat" => (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
            "openat" => s.args[2],
            _ => 0,
        };
        let access = flags as i32 & libc::O_ACCMODE;
        m.insert("evt.arg.flags".into(), json!(open_flags(flags)));
        m.insert(
            "evt.is_open_read".into(),
            json!(access == libc::O_RDONLY || access == libc::O_RDWR),
        );
        m.insert(
            "evt.is_open_write".into(),
            json!(access == libc::O_WRONLY || access == libc::O_RDWR),
        );
    }
    // The file the event is about: the kernel's resolution when there is one.
    let path = s.fd_path.clone().or_else(|| str0.map(|p| absolute(dir, p)));
    if let Some(raw) = str0 {
        m.insert("fd.nameraw".into(), json!(raw));
    }
    match name {
        "rename" | "renameat" | "renameat2" | "link" | "linkat" => {
            m.insert(
                "evt.arg.oldpath".into(),
                json!(str0.map(|p| absolute(dir, p))),
            );
            m.insert(
                "evt.arg.newpath".into(),
                json!(str1.map(|p| absolute(dir, p))),
            );
        }
        "symlink" | "symlinkat" => {
            m.insert(
                "evt.arg.linkpath".into(),
                json!(str0.map(|p| absolute(dir, p))),
            );
            m.insert("evt.arg.target".into(), json!(str1));
        }
        "mount" => {
            m.insert("evt.arg.dir".into(), json!(str0.map(|p| absolute(dir, p))));
            m.insert("evt.arg.dev".into(), json!(str1));
            m.insert("evt.arg.type".into(), json!(s.strings[2]));
        }
        "ptrace" => {
            m.insert("evt.arg.request".into(), json!(ptrace_request(s.args[0])));
            m.insert("evt.arg.pid".into(), json!(s.args[1] as i32));
        }
        "socket" => {
            m.insert("evt.arg.domain".into(), json!(address_family(s.args[0])));
            m.insert("evt.arg.type".into(), json!(s.args[1] as i32 & 0xf));
            m.insert("evt.arg.proto".into(), json!(s.args[2] as i32));
        }
        "setuid" | "setgid" => {
            m.insert("evt.arg.uid".into(), json!(s.args[0] as u32));
        }
        "setresuid" | "setresgid" | "setreuid" | "setregid" => {
            m.insert("evt.arg.ruid".into(), json!(s.args[0] as i32));
            m.insert("evt.arg.euid".into(), json!(s.args[1] as i32));
        }
        "memfd_create" => {
            m.insert("evt.arg.name".into(), json!(str0));
        }
        "unshare" | "setns" => {
            m.insert(
                "evt.arg.flags".into(),
                json!(s.args[if name == "unshare" { 0 } else { 1 }]),
            );
        }
        "bpf" => {
            m.insert("evt.arg.cmd".into(), json!(s.args[0] as i32));
        }
        "chmod" | "fchmod" | "fchmodat" | "fchmodat2" | "mkdir" | "mkdirat" => {
            let mode_arg = if matches!(name, "chmod" | "fchmod" | "mkdir") {
                1
            } else {
                2
            };
            m.insert(
                "evt.arg.mode".into(),
                json!(format!("{:o}", s.args[mode_arg])),
            );
        }
        _ => {}
    }
    if let Some(endpoints) = &s.endpoints {
        socket_fields(m, s, endpoints);
    } else if let Some(path) = path {
        let (directory, filename) = match path.rsplit_once('/') {
            Some(("", file)) => ("/", file),
            Some((d, file)) => (d, file),
            None => ("", path.as_str()),
        };
        m.insert("fd.directory".into(), json!(directory));
        m.insert("fd.filename".into(), json!(filename));
        m.insert("fd.typechar".into(), json!("f"));
        m.insert("fd.name".into(), json!(path));
    }
}

fn socket_fields(m: &mut Map<String, Value>, s: &SyscallRecord, e: &haechi_sensor::Endpoints) {
    let family = i32::from(e.family);
    let (typechar, fdtype) = match family {
        libc::AF_INET => ("4", "ipv4"),
        libc::AF_INET6 => ("6", "ipv6"),
        libc::AF_UNIX => ("u", "unix"),
        _ => ("o", "other"),
    };
    m.insert("fd.typechar".into(), json!(typechar));
    m.insert("fd.type".into(), json!(fdtype));
    let l4 = match i32::from(e.protocol) {
        libc::IPPROTO_TCP => "tcp",
        libc::IPPROTO_UDP => "udp",
        libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6 => "icmp",
        _ => "unknown",
    };
    m.insert("fd.l4proto".into(), json!(l4));
    // The address the process passed, for sockets the kernel has not connected yet.
    let passed = match &s.addr {
        Some(SockAddr::Inet(a)) => Some(*a),
        _ => None,
    };
    let remote = e.remote.filter(|a| a.port() != 0).or(passed);
    let local = e.local;
    if let (Some(local), Some(remote)) = (local, remote) {
        // Falco names the two ends client and server: the side that accepted is the server.
        let (client, server) = if s.syscall.name.starts_with("accept") {
            (remote, local)
        } else {
            (local, remote)
        };
        put_ends(m, client, server);
        m.insert("fd.name".into(), json!(format!("{client}->{server}")));
    } else if let Some(local) = local {
        m.insert("fd.name".into(), json!(local.to_string()));
        m.insert("fd.sip".into(), json!(local.ip().to_string()));
        m.insert("fd.sport".into(), json!(local.port()));
    }
    if let Some(SockAddr::Unix(path)) = &s.addr {
        m.insert("fd.name".into(), json!(path));
    }
}

fn put_ends(m: &mut Map<String, Value>, client: SocketAddr, server: SocketAddr) {
    m.insert("fd.cip".into(), json!(client.ip().to_string()));
    m.insert("fd.cport".into(), json!(client.port()));
    m.insert("fd.sip".into(), json!(server.ip().to_string()));
    m.insert("fd.sport".into(), json!(server.port()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_render_like_falco() {
        assert_eq!(open_flags(0), "O_RDONLY");
        let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64;
        assert_eq!(open_flags(flags), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
    }

    #[test]
    fn relative_paths_join_their_directory() {
        assert_eq!(absolute(Some("/tmp/"), "x"), "/tmp/x");
        assert_eq!(absolute(Some("/tmp"), "/etc/x"), "/etc/x");
        assert_eq!(absolute(None, "x"), "x");
    }

    #[test]
    fn errno_and_ptrace_names() {
        assert_eq!(errno_name(-2), "ENOENT");
        assert_eq!(errno_name(-9999), "E9999");
        assert_eq!(ptrace_request(16), "PTRACE_ATTACH");
        assert_eq!(address_family(17), "AF_PACKET");
    }
}
