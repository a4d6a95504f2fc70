//! Turning the bytes of one ring-buffer record of the observe programs into the event
//! vocabulary: an [`Observation`], an [`Event`] or a [`DnsReply`].
//!
//! The kernel side is trusted to follow the ABI, but a decoder that panics on a short or
//! inconsistent record would take the agent down, so every length is checked and a bad record
//! becomes a [`DecodeError`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use haechi_events::{
    DnsReply, Endpoints, Event, Exec, Observation, SockAddr, SyscallRecord, Task, syscalls,
};

use crate::abi::{
    self, DnsEvent, EventHeader, ExecEvent, ExitEvent, FIELD_COUNT, ForkEvent, SyscallEvent,
};

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The record is shorter than its fixed part.
    #[error("event record of {got} bytes is shorter than the {need} its kind needs")]
    TooShort {
        /// Bytes the fixed part needs.
        need: usize,
        /// Bytes the record has.
        got: usize,
    },
    /// The kind field names no known event.
    #[error("unknown event kind {0}")]
    UnknownKind(u16),
    /// The variable-length fields run past the end of the record.
    #[error("event fields need {need} bytes but the record has {got}")]
    FieldsOverrun {
        /// Bytes the fields claim.
        need: usize,
        /// Bytes the record has.
        got: usize,
    },
    /// A syscall event for a syscall number the table does not know.
    #[error("syscall event for unknown syscall number {0}")]
    UnknownSyscall(u32),
}

/// Reads a `repr(C)` plain-old-data struct from the start of `bytes`.
fn read<T: Copy + Default>(bytes: &[u8]) -> Result<T, DecodeError> {
    let need = size_of::<T>();
    if bytes.len() < need {
        return Err(DecodeError::TooShort {
            need,
            got: bytes.len(),
        });
    }
    let mut value = T::default();
    // SAFETY: T is one of the abi structs: repr(C), Copy, and valid for every bit pattern;
    // the source holds at least size_of::<T>() bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&raw mut value).cast::<u8>(), need);
    }
    Ok(value)
}

/// Splits the variable-length part after a fixed part of `fixed` bytes into its fields.
fn fields<'a>(
    bytes: &'a [u8],
    fixed: usize,
    lens: &[u16; FIELD_COUNT],
) -> Result<[&'a [u8]; FIELD_COUNT], DecodeError> {
    let need = fixed + lens.iter().map(|&l| usize::from(l)).sum::<usize>();
    if bytes.len() < need {
        return Err(DecodeError::FieldsOverrun {
            need,
            got: bytes.len(),
        });
    }
    let mut out = [&bytes[..0]; FIELD_COUNT];
    let mut at = fixed;
    for (slot, &len) in out.iter_mut().zip(lens) {
        *slot = &bytes[at..at + usize::from(len)];
        at += usize::from(len);
    }
    Ok(out)
}

/// A NUL-terminated string field; lossy for bytes that are not UTF-8.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn optional_text(field: &[u8]) -> Option<String> {
    (!field.is_empty()).then(|| text(field))
}

fn task(h: &EventHeader) -> Task {
    Task {
        ts_ns: h.ts_ns,
        cgroup_id: h.cgroup_id,
        pid: h.tgid,
        tid: h.tid,
        ppid: h.ppid,
        uid: h.uid,
        gid: h.gid,
        cap_effective: Some(h.cap_effective),
        comm: text(&h.comm),
    }
}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8]) -> Result<Observation, DecodeError> {
    let header: EventHeader = read(bytes)?;
    if header.kind == abi::EV_DNS {
        let f = fields(bytes, std::mem::offset_of!(DnsEvent, payload), &header.lens)?;
        return Ok(Observation::Dns(DnsReply {
            ts_ns: header.ts_ns,
            cgroup_id: header.cgroup_id,
            payload: f[0].to_vec(),
        }));
    }
    decode_event(&header, bytes).map(Observation::Event)
}

fn decode_event(header: &EventHeader, bytes: &[u8]) -> Result<Event, DecodeError> {
    match header.kind {
        abi::EV_EXEC => {
            let e: ExecEvent = read(bytes)?;
            let f = fields(bytes, size_of::<ExecEvent>(), &header.lens)?;
            Ok(Event::Exec(Exec {
                task: task(header),
                ruid: e.ruid,
                rgid: e.rgid,
                loginuid: (e.loginuid != u32::MAX).then_some(e.loginuid),
                tty: e.tty,
                filename: text(f[abi::F_EXEC_FILENAME]),
                exe_path: text(f[abi::F_EXEC_EXE]),
                argv: f[abi::F_EXEC_ARGV]
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
                args_truncated: e.args_truncated != 0,
                cwd: text(f[abi::F_EXEC_CWD]),
                cgroup: text(f[abi::F_EXEC_CGROUP]),
                vpid: e.vpid,
                exe_upper_layer: e.flags & abi::EXEC_UPPER_LAYER != 0,
            }))
        }
        abi::EV_FORK => {
            let e: ForkEvent = read(bytes)?;
            Ok(Event::Fork {
                task: task(header),
                child_pid: e.child_tgid,
            })
        }
        abi::EV_EXIT => {
            let e: ExitEvent = read(bytes)?;
            Ok(Event::Exit {
                task: task(header),
                exit_code: e.exit_code,
            })
        }
        abi::EV_SYSCALL => {
            let e: SyscallEvent = read(bytes)?;
            let f = fields(bytes, size_of::<SyscallEvent>(), &header.lens)?;
            let syscall = syscalls::by_nr(e.nr).ok_or(DecodeError::UnknownSyscall(e.nr))?;
            Ok(Event::Syscall(SyscallRecord {
                task: task(header),
                syscall,
                ret: e.ret,
                args: e.args,
                strings: [
                    optional_text(f[abi::F_STR0]),
                    optional_text(f[abi::F_STR1]),
                    optional_text(f[abi::F_STR2]),
                ],
                fd_path: optional_text(f[abi::F_FD_PATH]),
                dir: optional_text(f[abi::F_DIR]),
                endpoints: endpoints(&e.sock),
                addr: sock_addr(f[abi::F_ADDR]),
            }))
        }
        kind => Err(DecodeError::UnknownKind(kind)),
    }
}

const AF_UNIX: u16 = libc::AF_UNIX as u16;
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

fn ip(family: u16, bytes: &[u8; 16]) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*bytes))),
        _ => None,
    }
}

fn endpoints(sock: &abi::Sock) -> Option<Endpoints> {
    if sock.family == 0 {
        return None;
    }
    Some(Endpoints {
        family: sock.family,
        kind: sock.kind,
        protocol: sock.protocol,
        local: ip(sock.family, &sock.local_addr).map(|a| SocketAddr::new(a, sock.local_port)),
        remote: ip(sock.family, &sock.remote_addr).map(|a| SocketAddr::new(a, sock.remote_port)),
    })
}

/// Decodes a `struct sockaddr` as the process passed it.
fn sock_addr(bytes: &[u8]) -> Option<SockAddr> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    match family {
        AF_INET if bytes.len() >= 8 => Some(SockAddr::Inet(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7])),
            port(bytes),
        ))),
        AF_INET6 if bytes.len() >= 24 => {
            let octets: [u8; 16] = bytes[8..24].try_into().ok()?;
            Some(SockAddr::Inet(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(octets)),
                port(bytes),
            )))
        }
        AF_UNIX => {
            let path = &bytes[2..];
            Some(SockAddr::Unix(match path.first() {
                Some(0) => format!("@{}", text(&path[1..])),
                _ => text(path),
            }))
        }
        other => Some(SockAddr::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn as_bytes<T>(value: &T) -> Vec<u8> {
        // SAFETY: test-only view of a repr(C) abi struct as bytes.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    #[test]
    fn decodes_an_exec_with_its_fields() {
        let fields: [&[u8]; 5] = [
            b"/bin/sh\0",
            b"/usr/bin/busybox\0",
            b"sh\0-c\0echo hi\0",
            b"/root\0",
            b"/docker/abc\0",
        ];
        let mut e = ExecEvent::default();
        e.ev.kind = abi::EV_EXEC;
        e.ev.tgid = 42;
        e.ev.comm[..2].copy_from_slice(b"sh");
        e.loginuid = u32::MAX;
        for (i, f) in fields.iter().enumerate() {
            e.ev.lens[i] = f.len() as u16;
        }
        let mut bytes = as_bytes(&e);
        for f in fields {
            bytes.extend_from_slice(f);
        }
        let Observation::Event(Event::Exec(exec)) = decode(&bytes).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(exec.task.pid, 42);
        assert_eq!(exec.task.comm, "sh");
        assert_eq!(exec.argv, ["sh", "-c", "echo hi"]);
        assert_eq!(exec.exe_path, "/usr/bin/busybox");
        assert_eq!(exec.cgroup, "/docker/abc");
        assert_eq!(exec.loginuid, None);
    }

    #[test]
    fn decodes_socket_addresses() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        v4[2..4].copy_from_slice(&8080u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(
            sock_addr(&v4),
            Some(SockAddr::Inet("127.0.0.1:8080".parse().unwrap()))
        );
        let mut unix = AF_UNIX.to_ne_bytes().to_vec();
        unix.extend_from_slice(b"\0hidden\0");
        assert_eq!(sock_addr(&unix), Some(SockAddr::Unix("@hidden".into())));
        assert_eq!(sock_addr(&[1]), None);
    }

    #[test]
    fn decodes_a_dns_answer() {
        let mut e = EventHeader {
            kind: abi::EV_DNS,
            ts_ns: 7,
            cgroup_id: 9,
            ..EventHeader::default()
        };
        e.lens[0] = 3;
        let mut bytes = as_bytes(&e);
        bytes.resize(std::mem::offset_of!(DnsEvent, payload), 0);
        bytes.extend_from_slice(b"abc");
        let Observation::Dns(reply) = decode(&bytes).unwrap() else {
            panic!("not a DNS answer")
        };
        assert_eq!(
            reply,
            DnsReply {
                ts_ns: 7,
                cgroup_id: 9,
                payload: b"abc".to_vec()
            }
        );
        bytes.truncate(bytes.len() - 1);
        assert!(matches!(
            decode(&bytes),
            Err(DecodeError::FieldsOverrun { .. })
        ));
    }

    #[test]
    fn short_and_inconsistent_records_are_errors() {
        assert!(matches!(decode(&[0; 4]), Err(DecodeError::TooShort { .. })));
        let mut e = SyscallEvent::default();
        e.ev.kind = abi::EV_SYSCALL;
        e.nr = libc::SYS_openat as u32;
        e.ev.lens[0] = 100;
        assert!(matches!(
            decode(&as_bytes(&e)),
            Err(DecodeError::FieldsOverrun { .. })
        ));
        e.ev.kind = 99;
        assert!(matches!(
            decode(&as_bytes(&e)),
            Err(DecodeError::UnknownKind(99))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn arbitrary_syscall_records_never_panic(
            lens in proptest::array::uniform6(0u16..64),
            nr in 0u32..600,
            tail in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut e = SyscallEvent::default();
            e.ev.kind = abi::EV_SYSCALL;
            e.ev.lens = lens;
            e.nr = nr;
            let mut bytes = as_bytes(&e);
            bytes.extend_from_slice(&tail);
            let _ = decode(&bytes);
        }
    }
}
