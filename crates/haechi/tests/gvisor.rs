//! `haechi gvisor config` and `haechi agent --gvisor` with real gVisor sandboxes (Debian's
//! runsc): a workload started with haechi's pod-init config raises the same default-rule alerts
//! as the same workload under runc; a sandbox started before the agent is attached and seen;
//! clients that send a wrong handshake, garbage or hang up mid-stream are counted while a real
//! sandbox keeps streaming. Needs root and runsc (HAECHI_ALLOW_SKIP=1 skips without; CI never
//! sets it).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::{Domain, SockAddr, Socket, Type};

fn haechi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
}

fn root_and_runsc() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let runsc = Command::new("runsc").arg("--version").output().is_ok();
    if root && runsc {
        return true;
    }
    assert!(
        std::env::var_os("HAECHI_ALLOW_SKIP").is_some(),
        "needs root and runsc (Debian package runsc); HAECHI_ALLOW_SKIP=1 skips"
    );
    false
}

#[test]
fn config_has_the_points_the_rules_need() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: r\n  desc: d\n  condition: evt.type = connect and fd.sport = 9\n  \
         output: o\n  priority: NOTICE\n",
    )
    .unwrap();
    let out = haechi()
        .args(["gvisor", "config", "--no-default-rules", "--socket"])
        .arg("/run/x.sock")
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    let session = &config["trace_session"];
    assert_eq!(session["name"], "Default");
    assert_eq!(session["sinks"][0]["name"], "remote");
    assert_eq!(session["sinks"][0]["config"]["endpoint"], "/run/x.sock");
    let points: Vec<&str> = session["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        points,
        [
            "container/start",
            "sentry/clone",
            "sentry/execve",
            "sentry/task_exit",
            "syscall/connect/exit",
            "syscall/socket/exit"
        ]
    );

    // --session writes what `runsc trace create` reads; a broken rules file is exit 2.
    let out = haechi()
        .args(["gvisor", "config", "--session", "--all"])
        .output()
        .unwrap();
    let session: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(session["points"].as_array().unwrap().len(), 13);
    std::fs::write(&rules, "- rule: broken\n  condition: evt.type = \n").unwrap();
    let out = haechi()
        .args(["gvisor", "config", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rules.yaml"));
}

/// The agent, and its standard error line by line.
struct Agent {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Agent {
    fn start(args: &[&str]) -> Agent {
        let mut child = haechi()
            .arg("agent")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stderr) = channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Agent {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Waits for a standard-error line containing `text`.
    fn wait_for(&mut self, text: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(line.clone());
                if line.contains(text) {
                    return line;
                }
            }
        }
        panic!(
            "no `{text}` from the agent; it said:\n{}",
            self.seen.join("\n")
        );
    }

    /// Stops the agent; its summary.
    fn stop(mut self) -> Vec<String> {
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        // The reader thread ends at the pipe's end: every line is in.
        self.seen.extend(self.stderr.iter());
        std::mem::take(&mut self.seen)
    }
}

/// A test that fails leaves no agent behind.
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of GET /metrics at `addr`.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// An OCI bundle from a busybox rootfs running `script`, with an /etc/shadow to steal.
fn bundle(dir: &Path, name: &str, script: &str) -> PathBuf {
    let bundle = dir.join(name);
    let rootfs = bundle.join("rootfs");
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "nc", "echo", "sleep", "cat", "true"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::write(rootfs.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    let spec = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(&bundle)
        .status()
        .expect("runc (Debian package runc) is installed");
    assert!(spec.success());
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["process"]["terminal"] = Value::Bool(false);
    config["process"]["args"] = serde_json::json!(["sh", "-c", script]);
    config["root"]["readonly"] = Value::Bool(false);
    std::fs::write(&path, config.to_string()).unwrap();
    bundle
}

/// A 64-hex-digit container id, as runtimes make them, unique to this test run and `tag` in
/// its first 12 digits (what `container.id` shows).
fn container_id(tag: u8) -> String {
    format!(
        "{:04x}{:08x}{}",
        0xa0 + u16::from(tag),
        std::process::id(),
        "0".repeat(52)
    )
}

/// runsc under a state root of the test's own.
fn runsc(state: &Path) -> Command {
    let mut command = Command::new("runsc");
    command
        .arg("--root")
        .arg(state)
        .args(["--ignore-cgroups", "--network=none"]);
    command
}

/// Deletes a container on drop, pass or fail.
struct Cleanup(Vec<String>, Box<dyn Fn(&str)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for id in &self.0 {
            (self.1)(id);
        }
    }
}

/// Lines of the agent's output.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn field<'a>(event: &'a Value, key: &str) -> &'a str {
    event[key].as_str().unwrap_or_default()
}

/// The shells end with `true` so that each forks for the command before it (a shell's last
/// command is exec'd in its place).
const WORKLOAD: &str = "cat /etc/shadow >/dev/null; sh -c \"sh -c 'echo chain; true'; true\"; \
                        nc 127.0.0.1 9 </dev/null; true";

#[test]
fn a_sandboxed_workload_raises_the_same_alerts_as_under_runc() {
    if !root_and_runsc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("gvisor.sock");
    let out = dir.path().join("events.jsonl");
    let state = dir.path().join("runsc");
    let pod_config = dir.path().join("pod-init.json");
    let status = haechi()
        .args(["gvisor", "config", "--all", "--socket"])
        .arg(&socket)
        .arg("--output")
        .arg(&pod_config)
        .status()
        .unwrap();
    assert!(status.success());
    let mut agent = Agent::start(&[
        "--gvisor",
        "--gvisor-socket",
        socket.to_str().unwrap(),
        "--events",
        "--output",
        out.to_str().unwrap(),
        "--metrics-addr",
        "127.0.0.1:0",
    ]);
    let metrics = agent.wait_for("metrics at http://");
    let metrics_addr = metrics
        .trim_start_matches("metrics at http://")
        .trim_end_matches("/metrics")
        .to_owned();
    agent.wait_for("watching");

    // Clients that are not a well-behaved Sentry, before and while a real one streams.
    let connect = || {
        let s = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
        s.connect(&SockAddr::unix(&socket).unwrap()).unwrap();
        s
    };
    let wrong_version = connect();
    wrong_version.send(&[0x08, 0x63]).unwrap();
    let garbage = connect();
    garbage.send(&[0x0a, 0x7f, 0x00]).unwrap();
    let broken = connect();
    broken.send(&[0x08, 0x01]).unwrap();
    broken
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = [std::mem::MaybeUninit::new(0u8); 16];
    assert_eq!(broken.recv(&mut reply).unwrap(), 2, "haechi's handshake");
    broken.send(&[8, 0, 7]).unwrap(); // shorter than a header
    broken.send(&[8, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff]).unwrap(); // not protobuf
    broken.send(&[8, 0, 0x99, 0x09, 0, 0, 0, 0, 1]).unwrap(); // unknown type
    broken
        .send(&[8, 0, 7, 0, 0, 0, 0, 0, 0x0a, 0x40, 0x08])
        .unwrap(); // truncated
    drop(broken); // and gone mid-stream

    let sandboxed = container_id(1);
    let plain = container_id(2);
    let state_for_cleanup = state.clone();
    let _cleanup = Cleanup(
        vec![sandboxed.clone(), plain.clone()],
        Box::new(move |id| {
            let _ = runsc(&state_for_cleanup)
                .args(["delete", "--force", id])
                .output();
            let _ = Command::new("runc")
                .args(["delete", "--force", id])
                .output();
        }),
    );
    let run = runsc(&state)
        .arg(format!("--pod-init-config={}", pod_config.display()))
        .args(["run", "--bundle"])
        .arg(bundle(dir.path(), "sandboxed", WORKLOAD))
        .arg(&sandboxed)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(run.status.success(), "runsc run: {run:?}");
    // Its connection (the fourth) ends once every point it sent has been read and queued.
    agent.wait_for("gVisor connection 4 ended");
    let run = Command::new("runc")
        .args(["run", "--bundle"])
        .arg(bundle(dir.path(), "plain", WORKLOAD))
        .arg(&plain)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(run.status.success(), "runc run: {run:?}");
    // The metrics count what the listener saw (brought up to date on the agent's
    // housekeeping tick, once a second when the machine is not too busy).
    let series = [
        "haechi_gvisor_connections_total 4",
        "haechi_gvisor_skipped_total{reason=\"handshake\"} 2",
        "haechi_gvisor_skipped_total{reason=\"malformed\"} 3",
        "haechi_gvisor_skipped_total{reason=\"unknown_type\"} 1",
        "haechi_gvisor_dropped_total 0",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = scrape(&metrics_addr);
        if series.iter().all(|s| body.contains(s)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all of {series:?} in:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let summary = agent.stop().join("\n");

    let events = lines(&out);
    let of = |id: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e.get("rule").is_none() && field(e, "container.full_id") == id)
            .collect()
    };
    let inside = of(&sandboxed);
    assert!(
        inside
            .iter()
            .all(|e| field(e, "container.sandbox") == "gvisor"),
        "every sandboxed event says so"
    );
    assert!(
        of(&plain)
            .iter()
            .all(|e| e.get("container.sandbox").is_none()),
        "host events do not"
    );
    // The shadow read, by cat, child of the container's shell.
    assert!(
        inside.iter().any(|e| field(e, "evt.type") == "openat"
            && field(e, "fd.name") == "/etc/shadow"
            && field(e, "proc.name") == "cat"
            && field(e, "proc.pname") == "sh"
            && field(e, "container.id") == &sandboxed[..12]),
        "no shadow read in {inside:#?}"
    );
    // The exec chain: sh → sh -c "…" → sh -c 'echo chain; true', with its ancestry.
    let chain = inside
        .iter()
        .find(|e| {
            field(e, "evt.type") == "execve" && field(e, "proc.cmdline") == "sh -c echo chain; true"
        })
        .unwrap_or_else(|| panic!("no exec chain in {inside:#?}"));
    assert_eq!(
        field(chain, "proc.pcmdline"),
        "sh -c sh -c 'echo chain; true'; true"
    );
    assert_eq!(field(chain, "proc.aname[2]"), "sh");
    assert_eq!(chain["proc.apid[2]"], 1);
    // The loopback connect, refused.
    assert!(
        inside.iter().any(|e| field(e, "evt.type") == "connect"
            && field(e, "fd.sip") == "127.0.0.1"
            && e["fd.sport"] == 9
            && field(e, "fd.l4proto") == "tcp"
            && field(e, "evt.res") == "ECONNREFUSED"
            && field(e, "proc.name") == "nc"),
        "no connect in {inside:#?}"
    );

    // The same default rules fire for both containers.
    let rules_for = |id: &str| -> BTreeSet<String> {
        events
            .iter()
            .filter(|e| e["output_fields"]["container.id"] == id[..12])
            .map(|e| field(e, "rule").to_owned())
            .collect()
    };
    let sandbox_rules = rules_for(&sandboxed);
    assert!(
        sandbox_rules.contains("Read sensitive file by untrusted program"),
        "{sandbox_rules:?}"
    );
    assert_eq!(sandbox_rules, rules_for(&plain));

    // The bad clients were refused or skipped, counted, and did not stop the sandbox's stream.
    let gvisor = summary
        .lines()
        .find(|l| l.starts_with("gVisor: connections"))
        .unwrap_or_else(|| panic!("no gVisor summary in:\n{summary}"));
    assert!(gvisor.contains("connections 4, refused 2"), "{gvisor}");
    assert!(gvisor.contains("malformed 3, unknown types 1"), "{gvisor}");
    assert!(summary.contains("refused: sandbox speaks remote-sink protocol version 99"));
}

#[test]
fn a_sandbox_running_before_the_agent_is_attached_and_seen() {
    if !root_and_runsc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("gvisor.sock");
    let out = dir.path().join("events.jsonl");
    let state = dir.path().join("runsc");
    let id = container_id(3);
    let state_for_cleanup = state.clone();
    let _cleanup = Cleanup(
        vec![id.clone()],
        Box::new(move |id| {
            let _ = runsc(&state_for_cleanup)
                .args(["delete", "--force", id])
                .output();
        }),
    );
    let status = runsc(&state)
        .args(["run", "--detach", "--bundle"])
        .arg(bundle(dir.path(), "early", "sleep 600"))
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let mut agent = Agent::start(&[
        "--gvisor",
        "--gvisor-socket",
        socket.to_str().unwrap(),
        "--runsc-root",
        state.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    let attached = agent.wait_for("gVisor: attached to");
    assert!(
        attached.contains(&id) && attached.contains("(1 processes)"),
        "{attached}"
    );
    agent.wait_for("watching");
    let exec = runsc(&state)
        .args(["exec", &id, "cat", "/etc/shadow"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(exec.status.success(), "{exec:?}");
    // Alerts are written a line at a time.
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        // The last line may be half written.
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|a| {
                a["rule"] == "Read sensitive file by untrusted program"
                    && a["output_fields"]["container.id"] == id[..12]
            });
        if let Some(alert) = found {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "the shadow read inside the attached sandbox raised no alert"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    agent.stop();
    assert_eq!(alert["output_fields"]["container.id"], id[..12]);
    assert_eq!(alert["output_fields"]["proc.name"], "cat");
}
