//! Loads the enforcement programs into the running kernel and checks that they refuse and
//! kill what their tables say, for processes in a scoped cgroup only. Needs root.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use haechi_sensor::abi::{
    self, Enforcement, NetAllow, NetPolicy, PrivilegeRules, SelectorConfig, SelectorMatch,
    TaskSelection, Verdict,
};
use haechi_sensor::enforce::{Enforcer, Lost, PathRule, SelectorBinary, Tables};
use haechi_sensor::probe::{cgroup2_root, ensure_mounts};

/// A cgroup of its own and a pin directory of its own, removed on drop.
struct Sandbox {
    cgroup: PathBuf,
    pins: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Self {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "enforcement tests need root");
        ensure_mounts().expect("bpffs mounted");
        let id = format!("haechi-test-{}-{name}", std::process::id());
        let cgroup = cgroup2_root().unwrap().join(&id);
        std::fs::create_dir_all(&cgroup).unwrap();
        let pins = Path::new("/sys/fs/bpf").join(id);
        Sandbox { cgroup, pins }
    }

    fn cgroup_id(&self) -> u64 {
        std::fs::metadata(&self.cgroup).unwrap().ino()
    }

    /// Runs `program args` inside the cgroup (or outside it) and returns what it did.
    fn run(&self, inside: bool, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args);
        if inside {
            let procs = self.cgroup.join("cgroup.procs");
            // SAFETY: only async-signal-safe work between fork and exec: open, write, close.
            unsafe {
                cmd.pre_exec(move || std::fs::write(&procs, b"0"));
            }
        }
        cmd.output().unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Enforcer::cleanup(&self.pins);
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}

fn verdict(rule: u32, action: u8) -> Verdict {
    Verdict {
        rule,
        action,
        access: abi::ACCESS_READ | abi::ACCESS_WRITE,
        has_exceptions: 0,
        selector: 0,
    }
}

/// Key data for `path` in policy 0: a directory prefix when it ends with '/'.
fn path_rule(path: &str, verdict: Verdict) -> PathRule {
    let mut data = [0u8; abi::PREFIX_MAX];
    data[1..=path.len()].copy_from_slice(path.as_bytes());
    PathRule {
        data,
        bits: 8 * (1 + path.len() as u32),
        verdict,
    }
}

async fn records(
    enforcer: &mut Enforcer,
    until: impl Fn(&[Enforcement]) -> bool,
) -> Vec<Enforcement> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !until(&seen) && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(50), enforcer.readable()).await;
        enforcer.drain(|r| seen.push(r));
    }
    seen
}

const CONNECT: &str = r#"
import socket, sys
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen()
port = listener.getsockname()[1]
try:
    socket.create_connection(("127.0.0.1", port), timeout=2); print("tcp ok")
except PermissionError:
    print("tcp EPERM")
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    udp.sendto(b"x", ("127.0.0.1", 53)); print("udp53 ok")
except PermissionError:
    print("udp53 EPERM")
try:
    udp.sendto(b"x", ("127.0.0.1", 54)); print("udp54 ok")
except PermissionError:
    print("udp54 EPERM")
"#;

#[tokio::test]
async fn a_dns_only_policy_refuses_tcp_and_other_udp_in_its_cgroup_only() {
    let sandbox = Sandbox::new("dns");
    let mut enforcer = Enforcer::start(&sandbox.pins).expect("enforcement programs load");
    let mut dns = NetAllow {
        protocols: abi::PROTO_UDP | abi::PROTO_TCP,
        port_min: 53,
        port_max: 53,
        ..NetAllow::default()
    };
    dns.prefix_len = 0;
    let mut policy = NetPolicy {
        verdict: verdict(7, abi::ACTION_DENY),
        default_deny: 1,
        n_allow: 1,
        ..NetPolicy::default()
    };
    policy.allow[0] = dns;
    let tables = Tables {
        net_policies: vec![(0, policy)],
        ..Tables::default()
    };
    enforcer.load_tables(&tables).unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();

    let inside = sandbox.run(true, "python3", &["-c", CONNECT]);
    let stdout = String::from_utf8_lossy(&inside.stdout);
    assert_eq!(stdout, "tcp EPERM\nudp53 ok\nudp54 EPERM\n", "{inside:?}");
    let outside = sandbox.run(false, "python3", &["-c", CONNECT]);
    assert_eq!(
        String::from_utf8_lossy(&outside.stdout),
        "tcp ok\nudp53 ok\nudp54 ok\n"
    );

    let seen = records(&mut enforcer, |r| r.len() >= 2).await;
    assert_eq!(seen.len(), 2, "one record per refusal: {seen:?}");
    assert_eq!(seen[0].kind, abi::ENF_CONNECT);
    assert_eq!(seen[0].protocol, abi::PROTO_TCP);
    assert_eq!(seen[1].kind, abi::ENF_SENDMSG);
    assert_eq!(seen[1].port, 54);
    assert!(
        seen.iter()
            .all(|r| r.rule == 7 && r.action == abi::ACTION_DENY)
    );
    assert_eq!(&seen[1].addr[10..], &[0xff, 0xff, 127, 0, 0, 1]);
}

#[tokio::test]
async fn opening_a_protected_path_for_writing_kills_the_writer() {
    let sandbox = Sandbox::new("file");
    let dir = tempfile::tempdir().unwrap();
    let protected = format!("{}/", dir.path().display());
    std::fs::write(dir.path().join("existing"), "kept").unwrap();
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    let mut write_only = verdict(3, abi::ACTION_KILL);
    write_only.access = abi::ACCESS_WRITE;
    enforcer
        .load_tables(&Tables {
            file_rules: vec![path_rule(&protected, write_only)],
            ..Tables::default()
        })
        .unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();

    let target = dir.path().join("new");
    let script = format!("echo written > {}; echo survived", target.display());
    let killed = sandbox.run(true, "/bin/sh", &["-c", &script]);
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    assert!(killed.stdout.is_empty());
    // The open happened (no hook here can refuse it) but nothing was written.
    assert_eq!(std::fs::read_to_string(&target).unwrap_or_default(), "");

    let read = format!("cat {}/existing", dir.path().display());
    let reader = sandbox.run(true, "/bin/sh", &["-c", &read]);
    assert_eq!(String::from_utf8_lossy(&reader.stdout), "kept");
    let outside = sandbox.run(false, "/bin/sh", &["-c", &script]);
    assert!(outside.status.success());

    let seen = records(&mut enforcer, |r| !r.is_empty()).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].kind, abi::ENF_OPEN);
    assert_eq!(seen[0].action, abi::ACTION_KILL);
    let path = std::ffi::CStr::from_bytes_until_nul(&seen[0].path).unwrap();
    assert_eq!(path.to_str().unwrap(), target.to_str().unwrap());
}

#[tokio::test]
async fn privileged_syscalls_and_forbidden_binaries_are_killed() {
    let sandbox = Sandbox::new("priv");
    let dir = tempfile::tempdir().unwrap();
    // busybox runs the applet its file is named after.
    let forbidden = dir.path().join("echo");
    std::fs::copy("/bin/busybox", &forbidden).unwrap();
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    let mut privilege = PrivilegeRules::default();
    privilege.rules[abi::PRIV_NAMESPACE] = verdict(11, abi::ACTION_KILL);
    enforcer
        .load_tables(&Tables {
            privilege: vec![(0, privilege)],
            exec_rules: vec![path_rule(
                &format!("{}\0", forbidden.display()),
                verdict(12, abi::ACTION_KILL),
            )],
            ..Tables::default()
        })
        .unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();

    let unshare = sandbox.run(true, "/bin/busybox", &["unshare", "-U", "true"]);
    assert_eq!(unshare.status.signal(), Some(libc::SIGKILL), "{unshare:?}");
    let exec = sandbox.run(true, forbidden.to_str().unwrap(), &["ran"]);
    assert_eq!(exec.status.signal(), Some(libc::SIGKILL), "{exec:?}");
    assert!(exec.stdout.is_empty());
    let allowed = sandbox.run(true, "/bin/busybox", &["echo", "ran"]);
    assert_eq!(String::from_utf8_lossy(&allowed.stdout), "ran\n");
    let outside = sandbox.run(false, forbidden.to_str().unwrap(), &["ran"]);
    assert_eq!(String::from_utf8_lossy(&outside.stdout), "ran\n");

    let seen = records(&mut enforcer, |r| r.len() >= 2).await;
    let rules: Vec<_> = seen.iter().map(|r| (r.rule, r.kind)).collect();
    assert_eq!(rules, [(11, abi::ENF_SYSCALL), (12, abi::ENF_EXEC)]);
    assert_eq!(seen[0].nr as i64, libc::SYS_unshare);
}

/// Refuses more datagrams than the ring buffer holds records for, without draining: every
/// datagram is still refused, and each one's record is either in the buffer or counted lost.
#[tokio::test]
async fn records_lost_to_a_full_ring_buffer_are_counted_and_the_actions_still_taken() {
    const SENDS: u64 = 30_000;
    let sandbox = Sandbox::new("flood");
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    let policy = NetPolicy {
        verdict: verdict(3, abi::ACTION_DENY),
        default_deny: 1,
        ..NetPolicy::default()
    };
    let tables = Tables {
        net_policies: vec![(0, policy)],
        ..Tables::default()
    };
    enforcer.load_tables(&tables).unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();
    assert_eq!(enforcer.lost().unwrap(), Lost::default());

    let flood = format!(
        "import socket\nudp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nrefused = 0\n\
         for _ in range({SENDS}):\n    try:\n        udp.sendto(b'x', ('127.0.0.1', 9))\n    \
         except PermissionError:\n        refused += 1\nprint(refused)\n"
    );
    let inside = sandbox.run(true, "python3", &["-c", &flood]);
    assert_eq!(
        String::from_utf8_lossy(&inside.stdout).trim(),
        SENDS.to_string(),
        "{inside:?}"
    );

    let mut kept = 0u64;
    enforcer.drain(|r| {
        assert_eq!((r.rule, r.kind), (3, abi::ENF_SENDMSG));
        kept += 1;
    });
    let lost = enforcer.lost().unwrap().records;
    assert!(
        lost > 0,
        "{SENDS} records fit in the ring buffer; make the flood larger"
    );
    assert_eq!(kept + lost, SENDS, "kept {kept}, lost {lost}");
}

/// A DNS answer naming 127.0.0.9 for the question in `query`, as a server sends it.
fn answer_for(query: &[u8]) -> Vec<u8> {
    let question_end = 12 + query[12..].iter().position(|&b| b == 0).unwrap() + 1 + 4;
    let mut answer = query[..question_end].to_vec();
    answer[2..4].copy_from_slice(&[0x81, 0x80]); // a response, recursion available, NOERROR
    answer[6..8].copy_from_slice(&[0, 1]); // one answer
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 9]);
    answer
}

const RESOLVE_AND_CONNECT: &str = r#"
import socket, sys
server, port = sys.argv[1], int(sys.argv[2])
q = bytes.fromhex("abcd01000001000000000000") + b"\x02c2\x07example\x04test\x00" + b"\x00\x01\x00\x01"
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(5)
udp.sendto(q, (server, 53))
answer = udp.recv(512)
print("answered", len(answer))
sys.stdout.flush()
sys.stdin.readline()
try:
    socket.create_connection(("127.0.0.9", port), timeout=2); print("tcp ok")
except PermissionError:
    print("tcp EPERM")
"#;

/// The DNS answers a scoped container receives reach user space whole, and an address
/// denied from one is refused for that cgroup only.
#[tokio::test]
async fn dns_answers_reach_user_space_and_learned_addresses_are_refused() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let sandbox = Sandbox::new("dns-learn");
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    enforcer.load_tables(&Tables::default()).unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();
    enforcer.watch_dns(1).unwrap();

    // A one-answer DNS server on a loopback address of its own, outside the cgroup.
    let server = std::net::UdpSocket::bind("127.0.0.153:53").expect("port 53 on 127.0.0.153");
    let served = std::thread::spawn(move || {
        let mut query = [0u8; 512];
        let (n, from) = server.recv_from(&mut query).unwrap();
        let answer = answer_for(&query[..n]);
        server.send_to(&answer, from).unwrap();
        answer
    });
    let listener = std::net::TcpListener::bind("127.0.0.9:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let procs = sandbox.cgroup.join("cgroup.procs");
    let mut client = Command::new("python3");
    client
        .args(["-c", RESOLVE_AND_CONNECT, "127.0.0.153", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    // SAFETY: only async-signal-safe work between fork and exec: open, write, close.
    unsafe {
        client.pre_exec(move || std::fs::write(&procs, b"0"));
    }
    let mut client = client.spawn().unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let answer = served.join().unwrap();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("answered {}", answer.len())
    );

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.is_empty() && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(50), enforcer.readable()).await;
        enforcer.drain_dns(|a| seen.push((a.cgroup_id, a.scope, a.payload().to_vec())));
    }
    assert_eq!(seen, [(sandbox.cgroup_id(), 1, answer)]);

    let mut addr = [0u8; 16];
    addr[10..].copy_from_slice(&[0xff, 0xff, 127, 0, 0, 9]);
    enforcer
        .deny_address(0, addr, verdict(5, abi::ACTION_DENY))
        .unwrap();
    writeln!(client.stdin.as_mut().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "tcp EPERM");
    assert!(client.wait().unwrap().success());
    let outside = sandbox.run(
        false,
        "python3",
        &[
            "-c",
            &format!("import socket; socket.create_connection(('127.0.0.9', {port})); print('ok')"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&outside.stdout),
        "ok\n",
        "{outside:?}"
    );

    enforcer.forget_address(0, addr).unwrap();
    let inside = sandbox.run(
        true,
        "python3",
        &[
            "-c",
            &format!("import socket; socket.create_connection(('127.0.0.9', {port})); print('ok')"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&inside.stdout),
        "ok\n",
        "{inside:?}"
    );
    drop(listener);
}

/// A `kill` egress rule: the connection is refused and the process dies before connect returns.
#[tokio::test]
async fn a_kill_egress_rule_kills_the_caller_before_connect_returns() {
    let sandbox = Sandbox::new("egress-kill");
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    let policy = NetPolicy {
        verdict: verdict(9, abi::ACTION_KILL),
        default_deny: 1,
        ..NetPolicy::default()
    };
    let tables = Tables {
        net_policies: vec![(0, policy)],
        ..Tables::default()
    };
    enforcer.load_tables(&tables).unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let script = format!(
        "import socket, sys\nprint('before', flush=True)\n\
         try:\n    socket.create_connection(('127.0.0.1', {}))\nexcept OSError as e:\n    \
         print('returned', e.errno, flush=True)\n",
        listener.local_addr().unwrap().port()
    );
    let inside = sandbox.run(true, "python3", &["-c", &script]);
    assert_eq!(inside.status.signal(), Some(9), "{inside:?}");
    assert_eq!(String::from_utf8_lossy(&inside.stdout), "before\n");
    let outside = sandbox.run(false, "python3", &["-c", &script]);
    assert!(outside.status.success(), "{outside:?}");

    let seen = records(&mut enforcer, |r| !r.is_empty()).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].kind, seen[0].action, seen[0].rule),
        (abi::ENF_CONNECT, abi::ACTION_KILL, 9)
    );
}

/// The `selector_binaries` entry of an executable (a file: with its NUL).
fn selector_binary(path: &str, binary: u32, ancestor: u32) -> SelectorBinary {
    let mut data = [0u8; abi::PREFIX_MAX];
    data[..path.len()].copy_from_slice(path.as_bytes());
    SelectorBinary {
        data,
        bits: 8 * (path.len() as u32 + 1),
        matches: SelectorMatch { binary, ancestor },
    }
}

/// Rules with a process selector act only on the processes it selects: by executable
/// (selector 0) and by ancestry (selector 1), decided in the kernel at exec and fork; a
/// process seeded from user space is selected as if the kernel had seen it exec.
#[tokio::test]
async fn rules_act_on_the_processes_their_selectors_pick() {
    let sandbox = Sandbox::new("selectors");
    let dir = tempfile::tempdir().unwrap();
    // busybox runs the applet its file is named after.
    let reader = dir.path().join("reader/cat");
    let launcher = dir.path().join("launcher/sh");
    for copy in [&reader, &launcher] {
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy("/bin/busybox", copy).unwrap();
    }
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::write(secrets.join("by-binary"), "one").unwrap();
    std::fs::write(secrets.join("by-ancestry"), "two").unwrap();
    let mut enforcer = Enforcer::start(&sandbox.pins).unwrap();
    let mut by_binary = verdict(21, abi::ACTION_KILL);
    by_binary.selector = 1;
    let mut by_ancestry = verdict(22, abi::ACTION_KILL);
    by_ancestry.selector = 2;
    enforcer
        .load_tables(&Tables {
            file_rules: vec![
                path_rule(&format!("{}/by-binary\0", secrets.display()), by_binary),
                path_rule(&format!("{}/by-ancestry\0", secrets.display()), by_ancestry),
            ],
            selector_binaries: vec![
                selector_binary(reader.to_str().unwrap(), 0b01, 0),
                selector_binary(launcher.to_str().unwrap(), 0, 0b10),
            ],
            selectors: SelectorConfig {
                in_use: 0b11,
                any_binary: 0b10,
                any_ancestor: 0b01,
                _pad: 0,
            },
            ..Tables::default()
        })
        .unwrap();
    enforcer.set_scope(sandbox.cgroup_id(), 1).unwrap();
    let one = format!("{}/by-binary", secrets.display());
    let two = format!("{}/by-ancestry", secrets.display());
    let reader = reader.to_str().unwrap();
    let launcher = launcher.to_str().unwrap();

    // By binary: the selected copy of cat dies, busybox's own cat reads.
    let killed = sandbox.run(true, reader, &[&one]);
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    let read = sandbox.run(true, "/bin/busybox", &["cat", &one]);
    assert_eq!(String::from_utf8_lossy(&read.stdout), "one", "{read:?}");
    let outside = sandbox.run(false, reader, &[&one]);
    assert_eq!(String::from_utf8_lossy(&outside.stdout), "one");

    // By ancestry: a child of the launcher dies, and the launcher goes on; a sibling started
    // by another shell reads.
    let script = format!("/bin/busybox cat {two}; echo \"child $?\"");
    let child = sandbox.run(true, launcher, &["-c", &script]);
    assert!(child.status.success(), "{child:?}");
    assert_eq!(String::from_utf8_lossy(&child.stdout), "child 137\n");
    let sibling = sandbox.run(true, "/bin/busybox", &["sh", "-c", &script]);
    assert_eq!(String::from_utf8_lossy(&sibling.stdout), "twochild 0\n");

    // Seeded: a shell running before anything told the kernel about it (it was started
    // outside the cgroup and moved in, so the kernel saw no exec there) is selected once
    // user space seeds it; its children inherit.
    let go = dir.path().join("go");
    // Lets the shell end even when an assertion fails before it is told to go on.
    struct Go(PathBuf);
    impl Drop for Go {
        fn drop(&mut self) {
            let _ = std::fs::write(&self.0, "");
        }
    }
    let _go = Go(go.clone());
    let waiting = format!(
        "while [ ! -e {} ]; do /bin/busybox sleep 0.05; done; /bin/busybox cat {two}; echo \"child $?\"",
        go.display()
    );
    let shell = Command::new("/bin/busybox")
        .args(["sh", "-c", &waiting])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(sandbox.cgroup.join("cgroup.procs"), shell.id().to_string()).unwrap();
    assert_eq!(enforcer.selection(shell.id()).unwrap(), None);
    let seeded = TaskSelection {
        ancestry: 0b10,
        selected: 0b10,
    };
    assert!(enforcer.seed_selection(shell.id(), seeded).unwrap());
    assert!(
        !enforcer
            .seed_selection(shell.id(), TaskSelection::default())
            .unwrap(),
        "what the kernel holds is kept"
    );
    std::fs::write(&go, "").unwrap();
    let output = shell.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "child 137\n");

    let seen = records(&mut enforcer, |r| r.len() >= 3).await;
    let rules: Vec<_> = seen.iter().map(|r| r.rule).collect();
    assert_eq!(rules, [21, 22, 22], "{seen:?}");
}
