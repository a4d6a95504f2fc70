//! The recorded form of observations, which a replay feeds back to the pipeline: one JSON
//! object per line, its `kind` (`exec`, `fork`, `exit`, `syscall`, `dns`, and `running` for a
//! process that was running when the recording began) beside the fields of the observation, a
//! syscall by its name.
//!
//! Times in a recording are Unix time, not the boot clock events are stamped with, so that a
//! recording replays on another boot or host: [`write()`] adds the offset between the two
//! clocks, [`read()`] takes the reader's off again.
//!
//! ```
//! use haechi_events::recording;
//! use haechi_events::{DnsReply, Observation};
//!
//! let answer = Observation::Dns(DnsReply { ts_ns: 5, cgroup_id: 7, payload: vec![1, 2] });
//! let mut line = Vec::new();
//! recording::write(&answer, 1_000, &mut line).unwrap();
//! assert_eq!(
//!     String::from_utf8_lossy(&line),
//!     "{\"kind\":\"dns\",\"ts_ns\":1005,\"cgroup_id\":7,\"payload\":[1,2]}\n"
//! );
//! let Observation::Dns(back) = recording::read(&String::from_utf8_lossy(&line), 1_000).unwrap()
//! else {
//!     panic!("not a DNS answer")
//! };
//! assert_eq!(back.ts_ns, 5);
//! ```

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::event::{DnsReply, Event, Exec, Observation, SyscallRecord, Task};
use crate::process::Process;

/// Why a line of a recording could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a recorded event: {0}")]
pub struct RecordingError(#[from] serde_json::Error);

/// One line.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Exec(Exec),
    Fork { task: Task, child_pid: u32 },
    Exit { task: Task, exit_code: i32 },
    Syscall(SyscallRecord),
    Dns(DnsReply),
    Running(Process),
}

/// Writes `observation` as one line, its time made Unix time by adding `boot_to_epoch_ns`
/// ([`crate::boot_to_epoch_ns`] on the host that observed it).
pub fn write(
    observation: &Observation,
    boot_to_epoch_ns: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match observation {
        Observation::Event(event) => write_event(event, boot_to_epoch_ns, out),
        Observation::Dns(reply) => write_dns(reply, boot_to_epoch_ns, out),
        Observation::Running(process) => write_running(process, boot_to_epoch_ns, out),
    }
}

/// [`write()`] for an event.
pub fn write_event(
    event: &Event,
    boot_to_epoch_ns: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut event = event.clone();
    let task = event.task_mut();
    task.ts_ns = task.ts_ns.saturating_add(boot_to_epoch_ns);
    let line = match event {
        Event::Exec(exec) => Line::Exec(exec),
        Event::Fork { task, child_pid } => Line::Fork { task, child_pid },
        Event::Exit { task, exit_code } => Line::Exit { task, exit_code },
        Event::Syscall(record) => Line::Syscall(record),
    };
    write_line(&line, out)
}

/// [`write()`] for a DNS answer.
pub fn write_dns(
    reply: &DnsReply,
    boot_to_epoch_ns: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut reply = reply.clone();
    reply.ts_ns = reply.ts_ns.saturating_add(boot_to_epoch_ns);
    write_line(&Line::Dns(reply), out)
}

/// [`write()`] for a running process.
pub fn write_running(
    process: &Process,
    boot_to_epoch_ns: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut process = process.clone();
    process.start_ns = process
        .start_ns
        .map(|ts| ts.saturating_add(boot_to_epoch_ns));
    write_line(&Line::Running(process), out)
}

fn write_line(line: &Line, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// Reads one line [`write()`] wrote, its time brought back to the boot clock by taking off
/// `boot_to_epoch_ns` ([`crate::boot_to_epoch_ns`] on the host that replays it).
pub fn read(line: &str, boot_to_epoch_ns: u64) -> Result<Observation, RecordingError> {
    let unshift = |ts: u64| ts.saturating_sub(boot_to_epoch_ns);
    let mut observation = match serde_json::from_str(line)? {
        Line::Exec(exec) => Observation::Event(Event::Exec(exec)),
        Line::Fork { task, child_pid } => Observation::Event(Event::Fork { task, child_pid }),
        Line::Exit { task, exit_code } => Observation::Event(Event::Exit { task, exit_code }),
        Line::Syscall(record) => Observation::Event(Event::Syscall(record)),
        Line::Dns(reply) => Observation::Dns(reply),
        Line::Running(process) => Observation::Running(process),
    };
    match &mut observation {
        Observation::Event(event) => {
            let task = event.task_mut();
            task.ts_ns = unshift(task.ts_ns);
        }
        Observation::Dns(reply) => reply.ts_ns = unshift(reply.ts_ns),
        Observation::Running(process) => process.start_ns = process.start_ns.map(unshift),
    }
    Ok(observation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoints, SockAddr};
    use crate::syscalls;

    fn task(ts_ns: u64) -> Task {
        Task {
            ts_ns,
            cgroup_id: 9,
            pid: 42,
            tid: 43,
            ppid: 1,
            uid: 1000,
            gid: 1000,
            cap_effective: Some(0),
            comm: "cat".into(),
        }
    }

    fn round_trip(observation: Observation) -> Observation {
        let mut line = Vec::new();
        write(&observation, 7_000, &mut line).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(
            line.ends_with('\n') && line.matches('\n').count() == 1,
            "{line}"
        );
        read(&line, 2_000).unwrap()
    }

    #[test]
    fn every_kind_comes_back_on_the_replaying_hosts_clock() {
        let connect = SyscallRecord {
            task: task(100),
            syscall: syscalls::by_name("connect").unwrap(),
            ret: -111,
            args: [3, 0x7fff, 16, 0, 0, 0],
            strings: [None, Some("a\"b".into()), None],
            fd_path: None,
            dir: None,
            endpoints: Some(Endpoints {
                family: 2,
                kind: 1,
                protocol: 6,
                local: Some("10.0.0.2:40000".parse().unwrap()),
                remote: None,
            }),
            addr: Some(SockAddr::Inet("192.0.2.7:443".parse().unwrap())),
        };
        let Observation::Event(Event::Syscall(back)) =
            round_trip(Observation::Event(Event::Syscall(connect.clone())))
        else {
            panic!("not a syscall")
        };
        assert_eq!(back.syscall.name, "connect");
        assert_eq!(back.task, task(5_100));
        assert_eq!(
            (
                back.ret,
                back.args,
                &back.strings,
                &back.endpoints,
                &back.addr
            ),
            (
                connect.ret,
                connect.args,
                &connect.strings,
                &connect.endpoints,
                &connect.addr
            )
        );

        let Observation::Event(Event::Fork { task: t, child_pid }) =
            round_trip(Observation::Event(Event::Fork {
                task: task(1),
                child_pid: 44,
            }))
        else {
            panic!("not a fork")
        };
        assert_eq!((t, child_pid), (task(5_001), 44));

        let Observation::Event(Event::Exit { exit_code, .. }) =
            round_trip(Observation::Event(Event::Exit {
                task: task(1),
                exit_code: 256,
            }))
        else {
            panic!("not an exit")
        };
        assert_eq!(exit_code, 256);

        let Observation::Dns(reply) = round_trip(Observation::Dns(DnsReply {
            ts_ns: 10,
            cgroup_id: 3,
            payload: vec![0, 255],
        })) else {
            panic!("not a DNS answer")
        };
        assert_eq!(reply.ts_ns, 5_010);
        assert_eq!(reply.payload, [0, 255]);

        let shell = Process {
            pid: 7,
            ppid: 1,
            name: "bash".into(),
            argv: vec!["-bash".into()],
            cgroup: "/user.slice".into(),
            start_ns: Some(20),
            ..Process::default()
        };
        let Observation::Running(back) = round_trip(Observation::Running(shell.clone())) else {
            panic!("not a running process")
        };
        assert_eq!(
            back,
            Process {
                start_ns: Some(5_020),
                ..shell
            }
        );
    }

    #[test]
    fn what_is_not_a_recorded_event_is_an_error() {
        for line in [
            "",
            "{}",
            "{\"kind\":\"mystery\"}",
            "{\"kind\":\"fork\",\"child_pid\":1}",
            "[1,2]",
        ] {
            assert!(read(line, 0).is_err(), "{line}");
        }
        let mut line = Vec::new();
        let record = SyscallRecord {
            task: task(0),
            syscall: syscalls::by_name("openat").unwrap(),
            ret: 3,
            args: [0; 6],
            strings: [None, None, None],
            fd_path: None,
            dir: None,
            endpoints: None,
            addr: None,
        };
        write(&Observation::Event(Event::Syscall(record)), 0, &mut line).unwrap();
        let renamed = String::from_utf8(line)
            .unwrap()
            .replace("openat", "teleport");
        let err = read(&renamed, 0).unwrap_err().to_string();
        assert!(err.contains("unknown syscall `teleport`"), "{err}");
    }
}
