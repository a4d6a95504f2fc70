//! `haechi agent` end to end on the real kernel: rules files loaded at start, alerts written,
//! and rules reloaded on SIGHUP — including a rule that needs a syscall the kernel was not
//! reporting before. Needs root (set HAECHI_ALLOW_SKIP=1 to skip without; CI never sets it).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("HAECHI_ALLOW_SKIP").is_some(),
        "needs root; HAECHI_ALLOW_SKIP=1 skips"
    );
    false
}

/// The agent, and its standard error line by line.
struct Running {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_haechi"))
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
        Running {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Waits for a standard-error line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(text);
                self.seen.push(line);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no `{text}` from the agent; it said:\n{}",
            self.seen.join("\n")
        );
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

fn alerts(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("rule").is_some())
        .collect()
}

#[test]
fn rules_load_alert_and_reload_on_sighup() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "x").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rules = dir.path().join("rules.yaml");
    let read_rule = format!(
        "- rule: Read demo secret\n  desc: d\n  condition: evt.type = openat and fd.name = {}\n  \
         output: secret read by %proc.name\n  priority: WARNING\n  tags: [test]\n",
        secret.display()
    );
    let connect_rule = format!(
        "- rule: Connect to demo port\n  desc: d\n  condition: evt.type = connect and fd.sport = {port}\n  \
         output: connection %fd.name by %proc.name\n  priority: NOTICE\n  tags: [test]\n"
    );
    std::fs::write(&rules, &read_rule).unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut agent = Running::start(&[
        "--no-default-rules",
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    agent.wait_for("watching");

    // Only openat crosses from the kernel now: the connect is not even seen.
    std::fs::read(&secret).unwrap();
    TcpStream::connect(("127.0.0.1", port)).unwrap();

    // A file that does not load keeps the rules in force.
    std::fs::write(&rules, "- rule: broken\n  condition: evt.type = \n").unwrap();
    agent.signal("HUP");
    agent.wait_for("keeping the rules in force");

    std::fs::write(&rules, &connect_rule).unwrap();
    agent.signal("HUP");
    agent.wait_for("rules reloaded");
    std::fs::read(&secret).unwrap();
    TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    agent.stop();

    let raised: Vec<(String, String)> = alerts(&out)
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["priority"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        raised,
        [
            ("Read demo secret".to_owned(), "Warning".to_owned()),
            ("Connect to demo port".to_owned(), "Notice".to_owned()),
        ]
    );
}
