//! gVisor's trace points as the event vocabulary's [`Event`]s, the host's sensor's events too,
//! so the agent's process table, field rendering and rules take them unchanged.
//!
//! Everything in a point comes from inside the sandbox, which may be hostile: strings are cut
//! to the sizes the host sensor copies, argument lists to its count, and a message that does not
//! decode is an error for the caller to count, never a panic.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use haechi_events::syscalls::{self, Syscall};
use haechi_events::{Endpoints, Event, Exec, SockAddr, SyscallRecord, Task};
use prost::Message;

use crate::proto::{self, ContextData};
use crate::wire::kind;

/// Longest path or string kept (PATH_MAX, as the host sensor).
pub const MAX_STRING: usize = 4096;
/// Most arguments kept of an argv.
pub const MAX_ARGS: usize = 64;
/// Longest container id kept (runtimes use 64 hex digits).
pub const MAX_ID: usize = 128;
/// Longest task name kept (the kernel's TASK_COMM_LEN less its NUL).
pub const MAX_COMM: usize = 15;
/// Sockets whose type is remembered per connection, for connect's `fd.l4proto`.
const MAX_SOCKETS: usize = 4096;

/// Why a message's payload could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload is not the protobuf its type says.
    #[error("message type {kind}: {error}")]
    Protobuf {
        /// The header's message type.
        kind: u16,
        /// What prost said.
        error: String,
    },
    /// The point lacks the context that names its task and container (the session did not
    /// ask for the `container_id` and `group_id` context fields).
    #[error(
        "message type {0} has no context data: ask for the container_id and group_id context fields"
    )]
    NoContext(u16),
    /// A syscall point for a syscall number the vocabulary's syscall table does not know.
    #[error("message type {kind} for unknown syscall number {sysno}")]
    UnknownSyscall {
        /// The header's message type.
        kind: u16,
        /// The point's syscall number.
        sysno: u64,
    },
}

/// An event from inside a sandbox.
#[derive(Clone, Debug)]
pub struct Sandboxed {
    /// The container (OCI id) the task runs in.
    pub container_id: String,
    /// The event; `task.ts_ns` is CLOCK_REALTIME (the sandbox's clock), `task.ppid` and
    /// `task.cgroup_id` are 0 (the process table knows the parent; sandboxes have no host cgroup).
    pub event: Event,
}

/// What one message decodes to.
#[derive(Debug)]
pub enum Decoded {
    /// An event (boxed: it is most of what a connection moves, and large).
    Event(Box<Sandboxed>),
    /// A point haechi reads but that is no event of its own (a thread's creation or exit).
    Quiet,
    /// A message type haechi does not read.
    Unknown(u16),
}

/// Per-connection decoding state: the sockets seen created, so a connect knows its protocol.
#[derive(Debug, Default)]
pub struct Decoder {
    sockets: HashMap<(i32, i64), (u16, u16, u16)>,
}

impl Decoder {
    /// Decodes the payload of a message of type `message_type`.
    pub fn decode(&mut self, message_type: u16, payload: &[u8]) -> Result<Decoded, DecodeError> {
        fn parse<M: Message + Default>(kind: u16, payload: &[u8]) -> Result<M, DecodeError> {
            M::decode(payload).map_err(|err| DecodeError::Protobuf {
                kind,
                error: err.to_string(),
            })
        }
        let k = message_type;
        let event = match message_type {
            kind::CONTAINER_START => {
                let m: proto::Start = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let argv = bounded_args(&m.args);
                let filename = argv.0.first().cloned().unwrap_or_default();
                sandboxed(
                    id,
                    Event::Exec(Exec {
                        task: Task {
                            comm: comm_of(&task.comm, &filename),
                            ..task
                        },
                        ruid: 0,
                        rgid: 0,
                        loginuid: None,
                        tty: 0,
                        exe_path: filename.clone(),
                        filename,
                        argv: argv.0,
                        args_truncated: argv.1,
                        cwd: bounded(&m.cwd, MAX_STRING),
                        cgroup: String::new(),
                        // The sandbox numbers its processes in its own namespace.
                        vpid: task.pid,
                        // gVisor's filesystem is no overlayfs the host can look into.
                        exe_upper_layer: false,
                    }),
                )
            }
            kind::SENTRY_CLONE => {
                let m: proto::CloneInfo = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                // A new thread of the same process is no new process.
                if m.created_thread_group_id == task.pid as i32 || m.created_thread_group_id <= 0 {
                    return Ok(Decoded::Quiet);
                }
                sandboxed(
                    id,
                    Event::Fork {
                        task,
                        child_pid: m.created_thread_group_id as u32,
                    },
                )
            }
            kind::SENTRY_EXEC => {
                let m: proto::ExecveInfo = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let argv = bounded_args(&m.argv);
                let exe_path = bounded(&m.binary_path, MAX_STRING);
                let cwd = m
                    .context_data
                    .as_ref()
                    .map(|c| bounded(&c.cwd, MAX_STRING))
                    .unwrap_or_default();
                let filename = argv.0.first().cloned().unwrap_or_else(|| exe_path.clone());
                sandboxed(
                    id,
                    Event::Exec(Exec {
                        // The context still names the old image; the kernel names the new
                        // one after the path it was run as.
                        task: Task {
                            comm: comm_of("", &filename),
                            ..task
                        },
                        ruid: 0,
                        rgid: 0,
                        loginuid: None,
                        tty: 0,
                        filename,
                        exe_path,
                        argv: argv.0,
                        args_truncated: argv.1,
                        cwd,
                        cgroup: String::new(),
                        vpid: task.pid,
                        exe_upper_layer: false,
                    }),
                )
            }
            kind::SENTRY_TASK_EXIT => {
                let m: proto::TaskExit = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                // The process ends with its leader; other threads' exits are not procexit.
                if task.tid != task.pid {
                    return Ok(Decoded::Quiet);
                }
                sandboxed(
                    id,
                    Event::Exit {
                        task,
                        exit_code: m.exit_status,
                    },
                )
            }
            kind::SYSCALL_OPEN => {
                let m: proto::Open = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let syscall = syscall(k, m.sysno)?;
                let mut args = [0u64; 6];
                // Where the syscall table finds the flags: open(path, flags), openat(dir, path,
                // flags); creat's are implied.
                match syscall.name {
                    "open" => args[1] = u64::from(m.flags),
                    _ => args[2] = u64::from(m.flags),
                }
                args[0] = m.fd as u64;
                let cwd = m.context_data.as_ref().map(|c| c.cwd.as_str());
                // A relative path is relative to the directory descriptor, else the cwd.
                let dir = if m.fd == i64::from(libc::AT_FDCWD) || m.fd_path.is_empty() {
                    cwd.filter(|c| !c.is_empty())
                } else {
                    Some(m.fd_path.as_str())
                };
                record(
                    id,
                    task,
                    syscall,
                    m.exit.as_ref(),
                    args,
                    Some(bounded(&m.pathname, MAX_STRING)),
                    dir.map(|d| bounded(d, MAX_STRING)),
                    None,
                    None,
                )
            }
            kind::SYSCALL_SOCKET => {
                let m: proto::Socket = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let syscall = syscall(k, m.sysno)?;
                let ret = m.exit.as_ref().map_or(0, result);
                if ret >= 0 {
                    if self.sockets.len() >= MAX_SOCKETS {
                        self.sockets.clear();
                    }
                    self.sockets.insert(
                        (task.pid as i32, ret),
                        (m.domain as u16, (m.r#type & 0xf) as u16, m.protocol as u16),
                    );
                }
                let args = [m.domain as u64, m.r#type as u64, m.protocol as u64, 0, 0, 0];
                record(
                    id,
                    task,
                    syscall,
                    m.exit.as_ref(),
                    args,
                    None,
                    None,
                    None,
                    None,
                )
            }
            kind::SYSCALL_CONNECT => {
                let m: proto::Connect = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let syscall = syscall(k, m.sysno)?;
                let addr = sock_addr(&m.address);
                let known = self.sockets.get(&(task.pid as i32, m.fd)).copied();
                let endpoints = endpoints(addr.as_ref(), known);
                let args = [m.fd as u64, 0, m.address.len() as u64, 0, 0, 0];
                record(
                    id,
                    task,
                    syscall,
                    m.exit.as_ref(),
                    args,
                    None,
                    None,
                    endpoints,
                    addr,
                )
            }
            kind::SYSCALL_SETID => {
                let m: proto::Setid = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let syscall = syscall(k, m.sysno)?;
                let args = [u64::from(m.id), 0, 0, 0, 0, 0];
                record(
                    id,
                    task,
                    syscall,
                    m.exit.as_ref(),
                    args,
                    None,
                    None,
                    None,
                    None,
                )
            }
            kind::SYSCALL_SETRESID => {
                let m: proto::Setresid = parse(k, payload)?;
                let (id, task) = context(k, m.context_data.as_ref())?;
                let syscall = syscall(k, m.sysno)?;
                let args = [
                    u64::from(m.rid),
                    u64::from(m.eid),
                    u64::from(m.sid),
                    0,
                    0,
                    0,
                ];
                record(
                    id,
                    task,
                    syscall,
                    m.exit.as_ref(),
                    args,
                    None,
                    None,
                    None,
                    None,
                )
            }
            other => return Ok(Decoded::Unknown(other)),
        };
        Ok(Decoded::Event(Box::new(event)))
    }
}

fn sandboxed(container_id: String, event: Event) -> Sandboxed {
    Sandboxed {
        container_id,
        event,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The first [`MAX_ARGS`] arguments, each bounded, and whether any were cut.
fn bounded_args(args: &[String]) -> (Vec<String>, bool) {
    let kept: Vec<String> = args
        .iter()
        .take(MAX_ARGS)
        .map(|a| bounded(a, MAX_STRING))
        .collect();
    let cut = args.len() > MAX_ARGS || args.iter().any(|a| a.len() > MAX_STRING);
    (kept, cut)
}

/// The task name: the context's when the session sent one, else what the kernel sets at exec
/// (the base name of the path run).
fn comm_of(context: &str, filename: &str) -> String {
    if !context.is_empty() {
        return context.to_owned();
    }
    let base = filename.rsplit('/').next().unwrap_or(filename);
    bounded(base, MAX_COMM)
}

/// The container id and task a point's context names.
fn context(kind: u16, context: Option<&ContextData>) -> Result<(String, Task), DecodeError> {
    let c = context.ok_or(DecodeError::NoContext(kind))?;
    if c.container_id.is_empty() || c.thread_group_id <= 0 {
        return Err(DecodeError::NoContext(kind));
    }
    let credentials = c.credentials.clone().unwrap_or_default();
    let task = Task {
        ts_ns: u64::try_from(c.time_ns).unwrap_or(0),
        cgroup_id: 0,
        pid: c.thread_group_id as u32,
        tid: u32::try_from(c.thread_id).unwrap_or(c.thread_group_id as u32),
        ppid: 0,
        uid: credentials.effective_uid,
        gid: credentials.effective_gid,
        // gVisor's trace points carry no capabilities.
        cap_effective: None,
        comm: bounded(&c.process_name, MAX_COMM),
    };
    Ok((bounded(&c.container_id, MAX_ID), task))
}

fn syscall(kind: u16, sysno: u64) -> Result<&'static Syscall, DecodeError> {
    u32::try_from(sysno)
        .ok()
        .and_then(syscalls::by_nr)
        .ok_or(DecodeError::UnknownSyscall { kind, sysno })
}

/// The return value as the kernel gives it: negative errno on failure.
fn result(exit: &proto::Exit) -> i64 {
    if exit.errorno != 0 {
        -exit.errorno.abs()
    } else {
        exit.result
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    container_id: String,
    task: Task,
    syscall: &'static Syscall,
    exit: Option<&proto::Exit>,
    args: [u64; 6],
    path: Option<String>,
    dir: Option<String>,
    endpoints: Option<Endpoints>,
    addr: Option<SockAddr>,
) -> Sandboxed {
    sandboxed(
        container_id,
        Event::Syscall(SyscallRecord {
            task,
            syscall,
            ret: exit.map_or(0, result),
            args,
            strings: [path, None, None],
            fd_path: None,
            dir,
            endpoints,
            addr,
        }),
    )
}

/// A socket's endpoints as far as a connect shows them: the address passed is the remote end;
/// the local end is not reported by gVisor, so it is the unspecified address of the family.
fn endpoints(addr: Option<&SockAddr>, known: Option<(u16, u16, u16)>) -> Option<Endpoints> {
    let (family, kind, protocol) = match (addr, known) {
        (_, Some(known)) => known,
        (Some(SockAddr::Inet(a)), None) => {
            let family = if a.is_ipv4() {
                libc::AF_INET
            } else {
                libc::AF_INET6
            };
            (family as u16, libc::SOCK_STREAM as u16, 0)
        }
        (Some(SockAddr::Unix(_)), None) => (libc::AF_UNIX as u16, libc::SOCK_STREAM as u16, 0),
        _ => return None,
    };
    // Protocol 0 is the family's default for the type.
    let protocol = match (protocol, i32::from(kind)) {
        (0, libc::SOCK_STREAM) if family != libc::AF_UNIX as u16 => libc::IPPROTO_TCP as u16,
        (0, libc::SOCK_DGRAM) if family != libc::AF_UNIX as u16 => libc::IPPROTO_UDP as u16,
        (p, _) => p,
    };
    let remote = match addr {
        Some(SockAddr::Inet(a)) => Some(*a),
        _ => None,
    };
    let local = remote.map(|r| {
        let any = if r.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        SocketAddr::new(any, 0)
    });
    Some(Endpoints {
        family,
        kind,
        protocol,
        local,
        remote,
    })
}

/// Decodes a `struct sockaddr` as the process passed it.
fn sock_addr(bytes: &[u8]) -> Option<SockAddr> {
    let family = i32::from(u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?));
    let port = || u16::from_be_bytes([bytes[2], bytes[3]]);
    match family {
        libc::AF_INET if bytes.len() >= 8 => Some(SockAddr::Inet(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7])),
            port(),
        ))),
        libc::AF_INET6 if bytes.len() >= 24 => {
            let octets: [u8; 16] = bytes[8..24].try_into().ok()?;
            Some(SockAddr::Inet(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(octets)),
                port(),
            )))
        }
        libc::AF_UNIX => {
            let path = bytes.get(2..).unwrap_or_default();
            let text = |b: &[u8]| {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                String::from_utf8_lossy(&b[..end.min(MAX_STRING)]).into_owned()
            };
            Some(SockAddr::Unix(match path.first() {
                Some(0) => format!("@{}", text(&path[1..])),
                _ => text(path),
            }))
        }
        other => Some(SockAddr::Other(other as u16)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cx(pid: i32, name: &str) -> Option<ContextData> {
        Some(ContextData {
            time_ns: 1_700_000_000_000_000_000,
            thread_id: pid,
            thread_group_id: pid,
            container_id: "c0ffee".into(),
            credentials: Some(proto::Credentials {
                effective_uid: 1000,
                ..Default::default()
            }),
            cwd: "/work".into(),
            process_name: name.into(),
        })
    }

    #[test]
    fn an_openat_becomes_the_sensors_openat_with_a_cwd_relative_path() {
        let open = proto::Open {
            context_data: cx(7, "cat"),
            exit: Some(proto::Exit {
                result: 3,
                errorno: 0,
            }),
            sysno: libc::SYS_openat as u64,
            fd: i64::from(libc::AT_FDCWD),
            pathname: "secret".into(),
            flags: libc::O_RDONLY as u32,
            ..Default::default()
        };
        let Decoded::Event(got) = Decoder::default()
            .decode(kind::SYSCALL_OPEN, &open.encode_to_vec())
            .unwrap()
        else {
            panic!("no event")
        };
        assert_eq!(got.container_id, "c0ffee");
        let Event::Syscall(s) = got.event else {
            panic!("not a syscall")
        };
        assert_eq!(s.syscall.name, "openat");
        assert_eq!(s.ret, 3);
        assert_eq!(s.task.pid, 7);
        assert_eq!(s.task.uid, 1000);
        assert_eq!(s.task.comm, "cat");
        assert_eq!(s.strings[0].as_deref(), Some("secret"));
        assert_eq!(s.dir.as_deref(), Some("/work"));
    }

    #[test]
    fn connect_takes_the_protocol_of_the_socket_it_was_created_as() {
        let mut decoder = Decoder::default();
        let socket = proto::Socket {
            context_data: cx(9, "nc"),
            exit: Some(proto::Exit {
                result: 4,
                errorno: 0,
            }),
            sysno: libc::SYS_socket as u64,
            domain: libc::AF_INET,
            r#type: libc::SOCK_DGRAM,
            protocol: 0,
        };
        decoder
            .decode(kind::SYSCALL_SOCKET, &socket.encode_to_vec())
            .unwrap();
        let mut address = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        address.extend_from_slice(&53u16.to_be_bytes());
        address.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let connect = proto::Connect {
            context_data: cx(9, "nc"),
            exit: Some(proto::Exit {
                result: 0,
                errorno: 111,
            }),
            sysno: libc::SYS_connect as u64,
            fd: 4,
            address,
        };
        let Decoded::Event(got) = decoder
            .decode(kind::SYSCALL_CONNECT, &connect.encode_to_vec())
            .unwrap()
        else {
            panic!("no event")
        };
        let Event::Syscall(s) = got.event else {
            panic!("not a syscall")
        };
        assert_eq!(s.ret, -111);
        let e = s.endpoints.unwrap();
        assert_eq!(i32::from(e.protocol), libc::IPPROTO_UDP);
        assert_eq!(e.remote, Some("127.0.0.1:53".parse().unwrap()));
    }

    #[test]
    fn threads_are_quiet_and_unknown_types_are_reported() {
        let clone = proto::CloneInfo {
            context_data: cx(5, "sh"),
            created_thread_id: 6,
            created_thread_group_id: 5,
        };
        assert!(matches!(
            Decoder::default().decode(kind::SENTRY_CLONE, &clone.encode_to_vec()),
            Ok(Decoded::Quiet)
        ));
        assert!(matches!(
            Decoder::default().decode(999, b"anything"),
            Ok(Decoded::Unknown(999))
        ));
    }

    #[test]
    fn untrusted_strings_are_bounded() {
        let exec = proto::ExecveInfo {
            context_data: Some(ContextData {
                container_id: "x".repeat(10_000),
                process_name: "n".repeat(100),
                ..cx(3, "").unwrap()
            }),
            binary_path: "/".repeat(100_000),
            argv: vec!["é".repeat(5000); 500],
        };
        let Decoded::Event(got) = Decoder::default()
            .decode(kind::SENTRY_EXEC, &exec.encode_to_vec())
            .unwrap()
        else {
            panic!("no event")
        };
        assert_eq!(got.container_id.len(), MAX_ID);
        let Event::Exec(e) = got.event else {
            panic!("not an exec")
        };
        assert_eq!(e.argv.len(), MAX_ARGS);
        assert!(e.argv.iter().all(|a| a.len() <= MAX_STRING));
        assert!(e.args_truncated);
        assert_eq!(e.exe_path.len(), MAX_STRING);
        assert!(e.task.comm.len() <= MAX_COMM && !e.task.comm.is_empty());
    }

    #[test]
    fn points_without_context_are_errors() {
        let open = proto::Open::default();
        assert_eq!(
            Decoder::default()
                .decode(kind::SYSCALL_OPEN, &open.encode_to_vec())
                .unwrap_err(),
            DecodeError::NoContext(kind::SYSCALL_OPEN)
        );
        assert!(matches!(
            Decoder::default().decode(kind::SYSCALL_OPEN, &[0xff, 0xff, 0xff]),
            Err(DecodeError::Protobuf { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(
            kind in 0u16..40,
            payload in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let _ = Decoder::default().decode(kind, &payload);
        }
    }
}
