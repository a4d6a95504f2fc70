//! The value of one field of one event: the single function both the rules (through
//! [`crate::rules::View`]) and the JSON events (through [`super::render`]) read, so the two never
//! disagree. Values borrow from the event and its context wherever they can; what has to be
//! built (the command line, open flags, socket addresses) is built only when asked for.

use std::borrow::Cow;
use std::net::SocketAddr;

use haechi_events::{Endpoints, Event, SockAddr, SyscallRecord};

use super::field::{Field, Named};
use super::{Context, event_type};

/// A field's value as the agent produces it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (raw syscall arguments may not fit an `i64`).
    Uint(u64),
    /// A boolean.
    Bool(bool),
    /// A field the event has but whose value the kernel did not supply (JSON `null`).
    Null,
}

impl<'a> Value<'a> {
    /// The value as the rule engine reads it: `null` is missing, and an unsigned number past
    /// `i64::MAX` saturates (as for a JSON number).
    pub fn into_val(self) -> Option<haechi_rules::Val<'a>> {
        use haechi_rules::Val;
        Some(match self {
            Value::Str(s) => Val::Str(s),
            Value::Int(n) => Val::Num(n),
            Value::Uint(n) => Val::Num(i64::try_from(n).unwrap_or(i64::MAX)),
            Value::Bool(b) => Val::Bool(b),
            Value::Null => return None,
        })
    }

    /// Writes the value as JSON.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Value::Str(s) => serde_json::to_writer(&mut *out, s.as_ref())?,
            Value::Int(n) => write!(out, "{n}")?,
            Value::Uint(n) => write!(out, "{n}")?,
            Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" })?,
            Value::Null => out.write_all(b"null")?,
        }
        Ok(())
    }

    /// The value in `--events` JSON.
    pub fn into_json(self) -> serde_json::Value {
        match self {
            Value::Str(s) => serde_json::Value::String(s.into_owned()),
            Value::Int(n) => n.into(),
            Value::Uint(n) => n.into(),
            Value::Bool(b) => b.into(),
            Value::Null => serde_json::Value::Null,
        }
    }
}

fn text(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

/// Text that may be missing (`null`).
fn nullable(s: Option<Cow<'_, str>>) -> Value<'_> {
    s.map_or(Value::Null, Value::Str)
}

/// The value of `field` for `event`, `None` when the event does not have the field.
pub fn value<'a>(field: Field, event: &'a Event, cx: &Context<'a>) -> Option<Value<'a>> {
    // Level 1 is the parent; there is no level 0 (that is the process itself, under its name).
    let ancestor = |level: u32| cx.ancestors.get((level as usize).checked_sub(1)?);
    let named = match field {
        Field::AName(level) => return ancestor(level).map(|a| text(&a.name)),
        Field::APid(level) => return ancestor(level).map(|a| Value::Int(a.pid.into())),
        Field::Named(named) => named,
    };
    let task = event.task();
    let p = cx.process;
    let c = cx.container;
    let host = c.id.is_empty();
    use Named::*;
    Some(match named {
        EvtType => text(event_type(event)),
        EvtTime => Value::Uint(task.ts_ns.wrapping_add(cx.boot_to_epoch_ns)),
        ProcPid => Value::Int(task.pid.into()),
        ThreadTid => Value::Int(task.tid.into()),
        ProcPpid => Value::Int(p.ppid.into()),
        ProcVpid => Value::Int(p.vpid?.into()),
        ProcIsExeUpperLayer => Value::Bool(p.exe_upper_layer?),
        ProcIsExeFromMemfd => Value::Bool(p.exe_path.starts_with("/memfd:")),
        ProcName => text(&task.comm),
        ProcExe => text(p.exe()),
        ProcExepath => text(&p.exe_path),
        // Falco's proc.cmdline starts with proc.name, the task's name now.
        ProcCmdline => Value::Str(Cow::Owned(p.argv.iter().skip(1).fold(
            task.comm.clone(),
            |mut line, arg| {
                line.push(' ');
                line.push_str(arg);
                line
            },
        ))),
        ProcArgs => Value::Str(match p.argv.get(1..).unwrap_or_default() {
            [] => Cow::Borrowed(""),
            [one] => Cow::Borrowed(one.as_str()),
            args => Cow::Owned(args.join(" ")),
        }),
        ProcCwd => text(&p.cwd),
        ProcTty => Value::Int(p.tty.into()),
        ProcPname => text(&cx.ancestors.first()?.name),
        ProcPexe => text(cx.ancestors.first()?.exe()),
        ProcCmdnargs => Value::Int(p.argv.len().saturating_sub(1) as i64),
        ProcCmdlenargs => Value::Int(p.argv.iter().skip(1).map(|a| a.len() as i64).sum()),
        ProcDuration => {
            Value::Int(i64::try_from(task.ts_ns.saturating_sub(p.start_ns?)).unwrap_or(i64::MAX))
        }
        ThreadCapEffective => Value::Str(Cow::Owned(capability_names(task.cap_effective?))),
        ProcPexepath => text(&cx.ancestors.first()?.exe_path),
        ProcPcmdline => Value::Str(Cow::Owned(cx.ancestors.first()?.cmdline())),
        UserUid => Value::Int(task.uid.into()),
        UserName => text(cx.accounts.user(task.uid).map_or("", |u| &u.name)),
        UserLoginname => text(&cx.accounts.user(p.loginuid?)?.name),
        UserHomedir => text(&cx.accounts.user(task.uid)?.home),
        UserShell => text(&cx.accounts.user(task.uid)?.shell),
        GroupName => text(cx.accounts.group(task.gid)?),
        UserLoginuid => Value::Int(p.loginuid.map_or(-1, i64::from)),
        GroupGid => Value::Int(task.gid.into()),
        // Falco shows the first 12 characters of the id.
        ContainerId if host => text("host"),
        ContainerId => text(c.id.get(..12).unwrap_or(&c.id)),
        ContainerName if host => text("host"),
        ContainerName => text(c.name.as_deref()?),
        _ if host && is_container_metadata(named) => return None,
        ContainerFullId => text(&c.id),
        ContainerImage => Value::Str(Cow::Owned(format!(
            "{}:{}",
            c.image_repository.as_deref()?,
            c.image_tag.as_deref().unwrap_or("latest")
        ))),
        ContainerImageRepository => text(c.image_repository.as_deref()?),
        ContainerImageTag => text(c.image_tag.as_deref()?),
        K8sPodName => text(c.pod_name.as_deref()?),
        K8sNsName => text(c.pod_namespace.as_deref()?),
        K8sPodUid => text(c.pod_uid.as_deref()?),
        ContainerPrivileged => Value::Bool(c.privileged?),
        ContainerSandbox => text(cx.sandbox?),
        FdCipName | FdSipName | FdLipName | FdRipName => return address_name(named, event, cx),
        _ => return event_value(named, event),
    })
}

/// Container fields a host process does not have.
fn is_container_metadata(f: Named) -> bool {
    use Named::*;
    matches!(
        f,
        ContainerFullId
            | ContainerImage
            | ContainerImageRepository
            | ContainerImageTag
            | K8sPodName
            | K8sNsName
            | K8sPodUid
            | ContainerPrivileged
    )
}

/// The fields that depend on what kind of event this is.
fn event_value(f: Named, event: &Event) -> Option<Value<'_>> {
    use Named::*;
    match event {
        Event::Exec(exec) => Some(match f {
            EvtRes => text("SUCCESS"),
            ArgFilename => text(&exec.filename),
            ProcIsArgsTruncated => Value::Bool(exec.args_truncated),
            _ => return None,
        }),
        Event::Fork { child_pid, .. } => Some(match f {
            EvtRes => text("SUCCESS"),
            ArgChildPid => Value::Int((*child_pid).into()),
            _ => return None,
        }),
        Event::Exit { exit_code, .. } => match f {
            ArgStatus => Some(Value::Int((*exit_code).into())),
            _ => None,
        },
        Event::Syscall(s) => syscall_value(f, s),
    }
}

fn syscall_value(f: Named, s: &SyscallRecord) -> Option<Value<'_>> {
    use Named::*;
    let str0 = s.strings[0].as_deref();
    let str1 = s.strings[1].as_deref();
    let dir = s.dir.as_deref();
    let name = s.syscall.name;
    let arg = |i: usize| s.args[i];
    Some(match f {
        EvtRes if s.ret < 0 => Value::Str(errno_name(s.ret)),
        EvtRes => text("SUCCESS"),
        EvtRawres => Value::Int(s.ret),
        ArgFlags | EvtIsOpenRead | EvtIsOpenWrite if let Some(flags) = open_flags_arg(s) => {
            let access = flags as i32 & libc::O_ACCMODE;
            match f {
                EvtIsOpenRead => Value::Bool(access == libc::O_RDONLY || access == libc::O_RDWR),
                EvtIsOpenWrite => Value::Bool(access == libc::O_WRONLY || access == libc::O_RDWR),
                _ => Value::Str(Cow::Owned(open_flags(flags))),
            }
        }
        FdNameraw => text(str0?),
        ArgOldpath | ArgNewpath if is_rename(name) => {
            let path = if f == ArgOldpath { str0 } else { str1 };
            nullable(path.map(|p| absolute(dir, p)))
        }
        ArgLinkpath if matches!(name, "symlink" | "symlinkat") => {
            nullable(str0.map(|p| absolute(dir, p)))
        }
        ArgTarget if matches!(name, "symlink" | "symlinkat") => nullable(str1.map(Cow::Borrowed)),
        ArgDir if name == "mount" => nullable(str0.map(|p| absolute(dir, p))),
        ArgDev if name == "mount" => nullable(str1.map(Cow::Borrowed)),
        ArgType if name == "mount" => nullable(s.strings[2].as_deref().map(Cow::Borrowed)),
        ArgRequest if name == "ptrace" => Value::Str(ptrace_request(arg(0))),
        ArgPid if name == "ptrace" => Value::Int((arg(1) as i32).into()),
        ArgDomain if name == "socket" => Value::Str(address_family(arg(0))),
        ArgType if name == "socket" => Value::Int((arg(1) as i32 & 0xf).into()),
        ArgProto if name == "socket" => Value::Int((arg(2) as i32).into()),
        ArgUid if matches!(name, "setuid" | "setgid") => Value::Int((arg(0) as u32).into()),
        ArgRuid if is_setre(name) => Value::Int((arg(0) as i32).into()),
        ArgEuid if is_setre(name) => Value::Int((arg(1) as i32).into()),
        ArgName if name == "memfd_create" => nullable(str0.map(Cow::Borrowed)),
        ArgFlags if name == "unshare" => Value::Uint(arg(0)),
        ArgFlags if name == "setns" => Value::Uint(arg(1)),
        ArgCmd if name == "bpf" => Value::Int((arg(0) as i32).into()),
        ArgMode => {
            let mode_arg = match name {
                "chmod" | "fchmod" | "mkdir" => 1,
                "fchmodat" | "fchmodat2" | "mkdirat" => 2,
                _ => return None,
            };
            Value::Str(Cow::Owned(format!("{:o}", arg(mode_arg))))
        }
        FdName | FdDirectory | FdFilename | FdTypechar | FdType | FdL4proto | FdCip | FdCport
        | FdSip | FdSport => return fd_value(f, s),
        _ => return None,
    })
}

fn is_rename(name: &str) -> bool {
    matches!(
        name,
        "rename" | "renameat" | "renameat2" | "link" | "linkat"
    )
}

fn is_setre(name: &str) -> bool {
    matches!(name, "setresuid" | "setresgid" | "setreuid" | "setregid")
}

/// The flags of an open-like call, `None` for other calls. Told by number, which is cheaper
/// than by name on this path that every open event takes.
fn open_flags_arg(s: &SyscallRecord) -> Option<u64> {
    match i64::from(s.syscall.nr) {
        libc::SYS_open => Some(s.args[1]),
        libc::SYS_creat => Some((libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64),
        libc::SYS_openat => Some(s.args[2]),
        libc::SYS_openat2 => Some(0),
        _ => None,
    }
}

/// The `fd.*` fields: a socket's ends, or the file the event is about.
fn fd_value(f: Named, s: &SyscallRecord) -> Option<Value<'_>> {
    use Named::*;
    if let Some(endpoints) = &s.endpoints {
        return socket_value(f, s, endpoints);
    }
    // The file the event is about: the kernel's resolution when there is one.
    let path = match &s.fd_path {
        Some(p) => Cow::Borrowed(p.as_str()),
        None => absolute(s.dir.as_deref(), s.strings[0].as_deref()?),
    };
    Some(match f {
        FdTypechar => text("f"),
        FdName => Value::Str(path),
        FdDirectory => Value::Str(map_cow(path, |p| split(p).0)),
        FdFilename => Value::Str(map_cow(path, |p| split(p).1)),
        _ => return None,
    })
}

/// A path's directory and file name.
fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", file)) => ("/", file),
        Some((d, file)) => (d, file),
        None => ("", path),
    }
}

/// A part of a string, borrowed when the string is.
fn map_cow<'a>(s: Cow<'a, str>, part: impl for<'b> Fn(&'b str) -> &'b str) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(s) => Cow::Borrowed(part(s)),
        Cow::Owned(s) => Cow::Owned(part(&s).to_owned()),
    }
}

fn socket_value<'a>(f: Named, s: &'a SyscallRecord, e: &Endpoints) -> Option<Value<'a>> {
    use Named::*;
    let family = i32::from(e.family);
    match f {
        FdTypechar | FdType => {
            let (typechar, fdtype) = match family {
                libc::AF_INET => ("4", "ipv4"),
                libc::AF_INET6 => ("6", "ipv6"),
                libc::AF_UNIX => ("u", "unix"),
                _ => ("o", "other"),
            };
            return Some(text(if f == FdTypechar { typechar } else { fdtype }));
        }
        FdL4proto => {
            return Some(text(match i32::from(e.protocol) {
                libc::IPPROTO_TCP => "tcp",
                libc::IPPROTO_UDP => "udp",
                libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6 => "icmp",
                _ => "unknown",
            }));
        }
        FdName => {
            if let Some(SockAddr::Unix(path)) = &s.addr {
                return Some(text(path));
            }
        }
        _ => {}
    }
    let ip = |a: SocketAddr| Value::Str(Cow::Owned(a.ip().to_string()));
    let port = |a: SocketAddr| Value::Int(a.port().into());
    match socket_ends(s, e)? {
        (Some(client), server) => Some(match f {
            FdName => Value::Str(Cow::Owned(format!("{client}->{server}"))),
            FdCip => ip(client),
            FdCport => port(client),
            FdSip => ip(server),
            FdSport => port(server),
            _ => return None,
        }),
        (None, local) => Some(match f {
            FdName => Value::Str(Cow::Owned(local.to_string())),
            FdSip => ip(local),
            FdSport => port(local),
            _ => return None,
        }),
    }
}

/// A socket's client and server ends, as Falco names them: the side that accepted is the
/// server. A socket with only a local end (bound, listening) is its own server.
fn socket_ends(s: &SyscallRecord, e: &Endpoints) -> Option<(Option<SocketAddr>, SocketAddr)> {
    let local = e.local?;
    Some(match remote_end(s, e) {
        Some(remote) if s.syscall.name.starts_with("accept") => (Some(remote), local),
        Some(remote) => (Some(local), remote),
        None => (None, local),
    })
}

/// A socket's remote end: the kernel's, else the address the process passed (for sockets the
/// kernel has not connected yet).
fn remote_end(s: &SyscallRecord, e: &Endpoints) -> Option<SocketAddr> {
    let passed = match &s.addr {
        Some(SockAddr::Inet(a)) => Some(*a),
        _ => None,
    };
    e.remote.filter(|a| a.port() != 0).or(passed)
}

/// `fd.cip.name`, `fd.sip.name`, `fd.lip.name`, `fd.rip.name`: the domain the process's cgroup
/// last resolved that address from.
fn address_name<'a>(f: Named, event: &Event, cx: &Context<'a>) -> Option<Value<'a>> {
    use Named::*;
    let Event::Syscall(s) = event else {
        return None;
    };
    let e = s.endpoints.as_ref()?;
    let addr = match f {
        FdCipName => socket_ends(s, e)?.0?,
        FdSipName => socket_ends(s, e)?.1,
        FdLipName => e.local?,
        _ => remote_end(s, e)?,
    };
    let task = &s.task;
    let name = cx
        .server_names
        .name(task.cgroup_id, addr.ip(), task.ts_ns)?;
    Some(text(name))
}

/// Capability names as Falco writes a set (`CAP_CHOWN CAP_DAC_OVERRIDE ...`), by bit number.
fn capability_names(set: u64) -> String {
    /// The kernel's capability numbers (include/uapi/linux/capability.h).
    const NAMES: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let mut names: Vec<Cow<'static, str>> = Vec::new();
    for bit in (0..64).filter(|bit| set & (1u64 << bit) != 0) {
        names.push(match NAMES.get(bit) {
            Some(name) => Cow::Borrowed(name),
            // A capability newer than this table: by its number.
            None => Cow::Owned(format!("CAP_{bit}")),
        });
    }
    names.join(" ")
}

fn errno_name(ret: i64) -> Cow<'static, str> {
    let errno = i32::try_from(-ret).unwrap_or(0);
    Cow::Borrowed(match errno {
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
        _ => return Cow::Owned(format!("E{errno}")),
    })
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

fn ptrace_request(request: u64) -> Cow<'static, str> {
    Cow::Borrowed(match request as u32 {
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
        other => return Cow::Owned(other.to_string()),
    })
}

fn address_family(family: u64) -> Cow<'static, str> {
    Cow::Borrowed(match family as i32 {
        libc::AF_UNIX => "AF_LOCAL",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_PACKET => "AF_PACKET",
        libc::AF_NETLINK => "AF_NETLINK",
        other => return Cow::Owned(other.to_string()),
    })
}

/// Joins a relative path to the directory the kernel reported for it.
fn absolute<'a>(dir: Option<&str>, path: &'a str) -> Cow<'a, str> {
    match dir {
        Some(dir) if !path.starts_with('/') => {
            Cow::Owned(format!("{}/{}", dir.trim_end_matches('/'), path))
        }
        _ => Cow::Borrowed(path),
    }
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
