//! Loads the real programs into the running kernel and checks what they report about real
//! processes. Needs root; without it the tests fail (set HAECHI_ALLOW_SKIP=1 to skip them on
//! a developer machine — CI never sets it).

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use haechi_events::{Event, Observation, SockAddr};
use haechi_sensor::{Filter, Paths, Sensor, decode};

fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("HAECHI_ALLOW_SKIP").is_some() {
        eprintln!("skipped: loading eBPF programs needs root");
        return false;
    }
    panic!("these tests load eBPF programs and need root (HAECHI_ALLOW_SKIP=1 skips them)");
}

/// Starts the sensor, runs `workload`, and collects events until `done` holds for one of
/// them (or 20 seconds pass).
fn collect(
    filter: &Filter,
    workload: impl FnOnce() + Send + 'static,
    done: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let records = collect_records(filter, workload, |r| match r {
        Observation::Event(e) => done(e),
        Observation::Dns(_) | Observation::Running(_) => false,
    });
    records
        .into_iter()
        .filter_map(|r| match r {
            Observation::Event(e) => Some(e),
            Observation::Dns(_) | Observation::Running(_) => None,
        })
        .collect()
}

/// As [`collect`], for every kind of record.
fn collect_records(
    filter: &Filter,
    workload: impl FnOnce() + Send + 'static,
    done: impl Fn(&Observation) -> bool,
) -> Vec<Observation> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sensor = Sensor::start(filter).expect("sensor starts");
        let worker = std::thread::spawn(workload);
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut finished = false;
        while !finished && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(100), sensor.readable()).await;
            sensor.drain(|record| {
                let event = decode(record).expect("kernel records decode");
                finished |= done(&event);
                events.push(event);
            });
        }
        worker.join().unwrap();
        assert!(finished, "the expected event did not arrive in 20 s");
        assert_eq!(sensor.stats().lost, 0, "no event lost");
        events
    })
}

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script]);
    cmd
}

#[test]
fn exec_carries_argv_exe_cwd_and_parent() {
    if !root_or_skip() {
        return;
    }
    let marker = format!("haechi-exec-{}", std::process::id());
    let script = format!("cd /tmp && /bin/echo {marker} >/dev/null");
    let m = marker.clone();
    let events = collect(
        &Filter::default(),
        move || {
            sh(&script).status().unwrap();
        },
        move |e| matches!(e, Event::Exec(x) if x.argv.contains(&m)),
    );
    let exec = events
        .iter()
        .find_map(|e| match e {
            Event::Exec(x) if x.argv.contains(&marker) => Some(x),
            _ => None,
        })
        .unwrap();
    assert_eq!(exec.argv, ["/bin/echo", marker.as_str()]);
    assert_eq!(exec.filename, "/bin/echo");
    assert!(exec.exe_path.ends_with("/echo"), "{}", exec.exe_path);
    assert_eq!(exec.cwd, "/tmp");
    assert_eq!(exec.task.comm, "echo");
    // The shell forked the child that exec'd echo: the fork event names it.
    assert!(events.iter().any(|e| matches!(e,
        Event::Fork { child_pid, .. } if *child_pid == exec.task.pid)
        || exec.task.ppid != 0));
}

#[test]
fn events_carry_the_effective_capabilities() {
    if !root_or_skip() {
        return;
    }
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    const CAP_NET_RAW: u64 = 1 << 13;
    let marker = format!("haechi-caps-{}", std::process::id());
    // Root with every capability, then root whose bounding set keeps only CAP_NET_RAW (what
    // runc gives a container is this kind of set).
    let full = format!("/bin/echo {marker}-full >/dev/null");
    let reduced = format!(
        "setpriv --bounding-set -all,+net_raw --inh-caps -all /bin/echo {marker}-reduced >/dev/null"
    );
    let m = marker.clone();
    let events = collect(
        &Filter::default(),
        move || {
            sh(&full).status().unwrap();
            sh(&reduced).status().unwrap();
        },
        move |e| {
            matches!(e, Event::Exec(x) if x.argv[0] == "/bin/echo"
                && x.argv.contains(&format!("{m}-reduced")))
        },
    );
    let caps = |suffix: &str| {
        events
            .iter()
            .find_map(|e| match e {
                // echo's exec, not setpriv's (whose argv names echo's).
                Event::Exec(x)
                    if x.argv[0] == "/bin/echo"
                        && x.argv.contains(&format!("{marker}-{suffix}")) =>
                {
                    x.task.cap_effective
                }
                _ => None,
            })
            .unwrap()
    };
    assert_ne!(caps("full") & CAP_SYS_ADMIN, 0);
    assert_eq!(caps("reduced"), CAP_NET_RAW);
}

#[test]
fn open_reports_the_resolved_path_through_a_symlink() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("shadow-link");
    std::os::unix::fs::symlink("/etc/shadow", &link).unwrap();
    let filter = Filter::default()
        .with_syscalls(["openat", "symlinkat", "symlink"])
        .unwrap();
    let script = format!(
        "cd {} && cat shadow-link >/dev/null; ln -s /etc/passwd pw-link",
        dir.path().display()
    );
    let events = collect(
        &filter,
        move || {
            sh(&script).status().unwrap();
        },
        // Ours, not any process's symlink on this (shared) machine.
        |e| {
            matches!(e, Event::Syscall(s) if s.syscall.name.starts_with("symlink")
            && s.strings[0].as_deref() == Some("pw-link"))
        },
    );
    let open = events
        .iter()
        .find_map(|e| match e {
            Event::Syscall(s)
                if s.syscall.name == "openat" && s.strings[0].as_deref() == Some("shadow-link") =>
            {
                Some(s)
            }
            _ => None,
        })
        .expect("the open of the symlink is reported");
    assert_eq!(open.fd_path.as_deref(), Some("/etc/shadow"));
    assert_eq!(open.dir.as_deref(), dir.path().to_str());
    assert!(open.ret >= 0);
    let symlink = events
        .iter()
        .find_map(|e| match e {
            Event::Syscall(s)
                if s.syscall.name.starts_with("symlink")
                    && s.strings[0].as_deref() == Some("pw-link") =>
            {
                Some(s)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(symlink.strings[1].as_deref(), Some("/etc/passwd"));
}

#[test]
fn connect_reports_both_endpoints() {
    if !root_or_skip() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let filter = Filter::default().with_syscalls(["connect"]).unwrap();
    let events = collect(
        &filter,
        move || {
            // A child process connects (the test process itself is the agent, never reported).
            Command::new("python3")
                .args([
                    "-c",
                    &format!("import socket; socket.create_connection(('127.0.0.1', {port}))"),
                ])
                .status()
                .unwrap();
            drop(listener);
        },
        move |e| {
            matches!(e, Event::Syscall(s) if s.syscall.name == "connect"
                && s.addr == Some(SockAddr::Inet(([127, 0, 0, 1], port).into())))
        },
    );
    let connect = events
        .iter()
        .find_map(|e| match e {
            // Ours, not any process's connect on this (shared) machine.
            Event::Syscall(s)
                if s.syscall.name == "connect"
                    && s.ret == 0
                    && s.addr == Some(SockAddr::Inet(([127, 0, 0, 1], port).into())) =>
            {
                Some(s)
            }
            _ => None,
        })
        .expect("a successful connect");
    let endpoints = connect.endpoints.as_ref().unwrap();
    assert_eq!(endpoints.remote, Some(([127, 0, 0, 1], port).into()));
    assert_eq!(endpoints.protocol, libc::IPPROTO_TCP as u16);
    assert_ne!(endpoints.local.unwrap().port(), 0);
}

#[test]
fn dns_answers_are_reported_with_the_receiving_cgroup() {
    if !root_or_skip() {
        return;
    }
    // A "server" on port 53 of a loopback address of its own answers a child process's
    // socket; the payload is arbitrary bytes (user space parses it, the kernel only copies).
    let server = std::net::UdpSocket::bind("127.0.0.153:53").unwrap();
    let payload = b"\x12\x34 a DNS answer, as far as the kernel cares".to_vec();
    let filter = Filter {
        dns_answers: true,
        ..Filter::default()
    };
    let sent = payload.clone();
    let records = collect_records(
        &filter,
        move || {
            let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            // A few times over: UDP on loopback is reliable, but nothing here depends on it.
            for _ in 0..10 {
                server.send_to(&sent, client.local_addr().unwrap()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        },
        |r| matches!(r, Observation::Dns(d) if d.payload.starts_with(b"\x12\x34 a DNS")),
    );
    let reply = records
        .iter()
        .find_map(|r| match r {
            Observation::Dns(d) if d.payload == payload => Some(d),
            _ => None,
        })
        .expect("the answer is reported whole");
    assert!(reply.ts_ns > 0);
    assert!(reply.cgroup_id > 0, "the receiving socket's cgroup");

    // Without the flag, none is.
    let quiet = collect_records(
        &Filter::default(),
        move || {
            let server = std::net::UdpSocket::bind("127.0.0.154:53").unwrap();
            let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            server
                .send_to(b"quiet", client.local_addr().unwrap())
                .unwrap();
            let mut buf = [0; 16];
            client.recv(&mut buf).unwrap();
            // Its exit, reported after the answer was received, ends the collection.
            Command::new("true").status().unwrap();
        },
        |r| matches!(r, Observation::Event(Event::Exit { task, .. }) if task.comm == "true"),
    );
    assert!(
        !quiet
            .iter()
            .any(|r| matches!(r, Observation::Dns(d) if d.payload == b"quiet"))
    );
}

#[test]
fn ptrace_attach_is_reported() {
    if !root_or_skip() {
        return;
    }
    let filter = Filter::default().with_syscalls(["ptrace"]).unwrap();
    let events = collect(
        &filter,
        || {
            let script = "import ctypes, os, time\n\
                pid = os.fork()\n\
                if pid == 0:\n    time.sleep(2); os._exit(0)\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                libc.ptrace(16, pid, 0, 0)\n\
                os.kill(pid, 9)\n";
            Command::new("python3")
                .args(["-c", script])
                .status()
                .unwrap();
        },
        |e| matches!(e, Event::Syscall(s) if s.syscall.name == "ptrace"),
    );
    let ptrace = events
        .iter()
        .find_map(|e| match e {
            Event::Syscall(s) if s.syscall.name == "ptrace" => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(ptrace.args[0], 16, "PTRACE_ATTACH");
    assert_eq!(ptrace.ret, 0);
}

#[test]
fn path_prefix_filter_drops_other_paths_in_the_kernel() {
    if !root_or_skip() {
        return;
    }
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    filter.paths = Paths::under(["/etc/host".to_owned()]);
    let events = collect(
        &filter,
        || {
            sh("cat /etc/passwd /etc/hostname >/dev/null")
                .status()
                .unwrap();
        },
        |e| matches!(e, Event::Syscall(s) if s.fd_path.as_deref() == Some("/etc/hostname")),
    );
    for event in &events {
        if let Event::Syscall(s) = event {
            let path = s
                .fd_path
                .as_deref()
                .or(s.strings[0].as_deref())
                .unwrap_or("");
            assert!(path.starts_with("/etc/host"), "{path} passed the filter");
        }
    }
}

#[test]
fn reads_and_writes_are_filtered_by_their_own_prefixes() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written");
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    // Reads only of /etc/host*, writes anywhere: what rules about credential reads and any
    // write ask of the kernel.
    filter.paths = Paths {
        reads: Some(["/etc/host".to_owned()].into()),
        writes: None,
    };
    let target = written.to_string_lossy().into_owned();
    let script = format!("cat /etc/passwd /etc/hostname >/dev/null; echo x >{target}");
    let events = collect(
        &filter,
        move || {
            sh(&script).status().unwrap();
        },
        move |e| matches!(e, Event::Syscall(s) if s.fd_path.as_deref() == Some(target.as_str())),
    );
    let paths: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) => s.fd_path.as_deref(),
            _ => None,
        })
        .collect();
    assert!(paths.contains(&"/etc/hostname"), "{paths:?}");
    assert!(
        !paths.contains(&"/etc/passwd"),
        "a read outside the prefixes passed: {paths:?}"
    );
}

#[test]
fn a_flood_counts_every_lost_event() {
    if !root_or_skip() {
        return;
    }
    const OPENS: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("flood");
    std::fs::write(&target, b"").unwrap();
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    filter.paths = Paths::under([target.to_string_lossy().into_owned()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sensor = Sensor::start(&filter).expect("sensor starts");
        // Nobody reads while the flood runs, so the ring buffer overflows.
        let script = format!(
            "import os\nfor _ in range({OPENS}): os.close(os.open({:?}, os.O_RDONLY))",
            target.to_string_lossy()
        );
        let status = Command::new("python3")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success());
        // The rest of the host keeps emitting (its process events) while the test drains:
        // what was emitted before the drain is delivered, and nothing more than was emitted by
        // its end.
        let before = sensor.stats();
        let (mut delivered, mut flood) = (0u64, 0u64);
        sensor.drain(|record| {
            delivered += 1;
            if let Ok(Observation::Event(Event::Syscall(s))) = decode(record) {
                flood += u64::from(s.fd_path.as_deref() == target.to_str());
            }
        });
        let stats = sensor.stats();
        // Process events (exec, fork, exit) of the whole host share the ring buffer.
        assert!(
            stats.lost > 0,
            "a 16 MiB ring buffer cannot hold {OPENS} events"
        );
        assert!(
            (before.emitted..=stats.emitted).contains(&delivered),
            "every emitted event was delivered: {delivered} not in {}..={}",
            before.emitted,
            stats.emitted
        );
        assert!(flood <= OPENS);
        assert!(
            flood + stats.lost >= OPENS,
            "every open was delivered or counted as lost: {flood} + {} < {OPENS}",
            stats.lost
        );
    });
}

/// An overlayfs mount (as container runtimes build a rootfs), unmounted on drop.
struct Overlay {
    dir: tempfile::TempDir,
}

impl Overlay {
    fn mount() -> Overlay {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["lower", "upper", "work", "merged"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", dir.path().join("lower/busybox-image"))
            .expect("busybox-static installed");
        let p = |sub: &str| dir.path().join(sub).display().to_string();
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            p("lower"),
            p("upper"),
            p("work")
        );
        let status = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &options, &p("merged")])
            .status()
            .unwrap();
        assert!(status.success(), "mount -t overlay");
        Overlay { dir }
    }

    fn merged(&self, name: &str) -> String {
        self.dir
            .path()
            .join("merged")
            .join(name)
            .display()
            .to_string()
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg(self.dir.path().join("merged"))
            .status();
    }
}

#[test]
fn exec_tells_an_overlay_upper_layer_and_the_namespace_pid() {
    if !root_or_skip() {
        return;
    }
    let overlay = Overlay::mount();
    let image = overlay.merged("busybox-image");
    let dropped = overlay.merged("busybox-dropped");
    // Written through the mount: the copy lives in the upper layer only.
    std::fs::copy(&image, &dropped).unwrap();
    let marker = format!("haechi-layer-{}", std::process::id());
    let (from_image, from_upper) = (image.clone(), dropped.clone());
    let m = marker.clone();
    let events = collect(
        &Filter::default(),
        move || {
            for exe in [&from_image, &from_upper] {
                let status = Command::new(exe).args(["echo", &m]).status().unwrap();
                assert!(status.success());
            }
            // A new pid namespace: its first process is pid 1 there.
            let status = Command::new("unshare")
                .args(["--pid", "--fork", &from_image, "echo", &format!("{m}-ns")])
                .status()
                .unwrap();
            assert!(status.success());
        },
        {
            let m = format!("{marker}-ns");
            // unshare's own exec carries the marker too; wait for the one it forks.
            move |e| {
                matches!(e, Event::Exec(x)
                    if x.argv.contains(&m) && x.exe_path.ends_with("/busybox-image"))
            }
        },
    );
    let exec_of = |argv_marker: &str, exe: &str| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Exec(x) if x.argv.iter().any(|a| a == argv_marker) && x.exe_path == exe => {
                    Some(x.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| {
                let execs: Vec<_> = events
                    .iter()
                    .filter(|e| matches!(e, Event::Exec(_)))
                    .collect();
                panic!("no exec of {exe} with {argv_marker} among {execs:#?}")
            })
    };
    let shipped = exec_of(&marker, &image);
    assert!(
        !shipped.exe_upper_layer,
        "a lower-layer file is the image's"
    );
    assert_eq!(
        shipped.vpid, shipped.task.pid,
        "same pid namespace as the host"
    );
    assert!(exec_of(&marker, &dropped).exe_upper_layer);
    let namespaced = exec_of(&format!("{marker}-ns"), &image);
    assert_eq!(namespaced.vpid, 1);
    assert!(!namespaced.exe_upper_layer);
}

/// The fd paths of the syscall events among `events`.
fn fd_paths(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) => s.fd_path.as_deref(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_cached_verdict_does_not_outlive_a_rename_of_the_directory_above() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_string_lossy().into_owned();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    std::fs::write(dir.path().join("x/a.txt"), b"a").unwrap();
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    filter.paths = Paths::under([format!("{base}/watched/")]);
    // The same file (same mount, dentry, inode), first outside the watched prefix, read often
    // enough that its verdict is cached, then inside it after its directory moved.
    let script = format!(
        "cd {base} && for i in 1 2 3 4 5 6 7 8 9 10; do cat x/a.txt >/dev/null; done; \
         mv x watched && cat watched/a.txt >/dev/null"
    );
    let watched = format!("{base}/watched/a.txt");
    let w = watched.clone();
    let events = collect(
        &filter,
        move || {
            assert!(sh(&script).status().unwrap().success());
        },
        move |e| matches!(e, Event::Syscall(s) if s.fd_path.as_deref() == Some(w.as_str())),
    );
    let paths = fd_paths(&events);
    assert!(paths.contains(&watched.as_str()), "{paths:?}");
    let outside = format!("{base}/x/a.txt");
    assert!(!paths.contains(&outside.as_str()), "{paths:?}");
}

#[test]
fn a_changed_path_filter_applies_to_files_whose_verdict_is_cached() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_string_lossy().into_owned();
    let file = format!("{base}/a.txt");
    std::fs::write(&file, b"a").unwrap();
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    filter.paths = Paths::under([format!("{base}/watched/")]);
    let reads = format!("for i in 1 2 3 4 5 6 7 8 9 10; do cat {file} >/dev/null; done");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sensor = Sensor::start(&filter).expect("sensor starts");
        let mut paths: Vec<String> = Vec::new();
        let drain = |sensor: &mut Sensor, paths: &mut Vec<String>| {
            sensor.drain(|record| {
                if let Ok(Observation::Event(Event::Syscall(s))) = decode(record) {
                    paths.extend(s.fd_path);
                }
            });
        };
        assert!(sh(&reads).status().unwrap().success());
        drain(&mut sensor, &mut paths);
        assert!(!paths.contains(&file), "filtered out: {paths:?}");
        assert!(
            sensor.stats().verdict_hits > 0,
            "repeated opens take the cached verdict"
        );

        filter.paths = Paths::under([format!("{base}/")]);
        sensor.set_filter(&filter).expect("filter changes");
        assert!(sh(&reads).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while !paths.contains(&file) && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(100), sensor.readable()).await;
            drain(&mut sensor, &mut paths);
        }
        assert!(
            paths.contains(&file),
            "the file is reported once the filter takes it in"
        );
    });
}

#[test]
fn a_verdict_cached_under_one_root_is_not_taken_under_another() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_string_lossy().into_owned();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/secret"), b"s").unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).expect("busybox-static installed");
    let mut filter = Filter::default().with_syscalls(["openat"]).unwrap();
    filter.paths = Paths::under(["/etc/secret".to_owned()]);
    // The chrooted shell is in its root before the host reads the same file (same mount and
    // dentry) by its host path, outside the prefix; then it reads it as /etc/secret.
    let script = format!(
        "chroot {base} /busybox sh -c \
           'while [ ! -e /go ]; do /busybox sleep 0.05; done; /busybox cat /etc/secret' & \
         for i in 1 2 3 4 5 6 7 8 9 10; do cat {base}/etc/secret >/dev/null; done; \
         touch {base}/go; wait"
    );
    let events = collect(
        &filter,
        move || {
            assert!(sh(&script).status().unwrap().success());
        },
        |e| matches!(e, Event::Syscall(s) if s.fd_path.as_deref() == Some("/etc/secret")),
    );
    let paths = fd_paths(&events);
    let host = format!("{base}/etc/secret");
    assert!(!paths.contains(&host.as_str()), "{paths:?}");
}
