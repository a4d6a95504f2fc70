//! `haechi agent` end to end on the real kernel: rules files loaded at start, alerts written,
//! rules reloaded on SIGHUP — including a rule that needs a syscall the kernel was not
//! reporting before — and alerts delivered to a file and an HTTP sink and counted in the
//! metrics it serves. Needs root (set HAECHI_ALLOW_SKIP=1 to skip without; CI never sets it).

use std::io::{BufRead, BufReader, Read, Write};
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
    cursor: usize,
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
            cursor: 0,
        }
    }

    /// Waits for a standard-error line containing `text`, looking first at lines that came
    /// after the last one waited for.
    fn wait_for(&mut self, text: &str) {
        if let Some(i) = self.seen[self.cursor..]
            .iter()
            .position(|l| l.contains(text))
        {
            self.cursor += i + 1;
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(text);
                self.seen.push(line);
                if found {
                    self.cursor = self.seen.len();
                    return;
                }
            }
        }
        panic!(
            "no `{text}` from the agent; it said:\n{}",
            self.seen.join("\n")
        );
    }

    /// Waits for a line containing each of `texts`, in any order (containers are scoped in the
    /// order their metadata arrives).
    fn wait_for_each(&mut self, texts: &[String]) {
        let start = self.cursor;
        let mut end = start;
        for text in texts {
            self.cursor = start;
            self.wait_for(text);
            end = end.max(self.cursor);
        }
        self.cursor = end;
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops the agent with SIGTERM and returns what it said after the last line waited for
    /// (its summary among it).
    fn stop(mut self) -> Vec<String> {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        let mut rest = self.seen.split_off(self.cursor);
        // The pipe closes once the agent has exited: the reader thread then hangs up.
        rest.extend(self.stderr.iter());
        rest
    }
}

impl Drop for Running {
    /// An agent a failed assertion left running is killed (its pins stay; `--cleanup`).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    agent.wait_for("keeping the rules and policies in force");

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

/// A runc container from a busybox rootfs, sharing the host's network (so it can reach the
/// test's listener) but in a cgroup of its own; deleted on drop.
struct Container {
    id: String,
    rootfs: std::path::PathBuf,
}

impl Container {
    fn start(dir: &Path, name: &str, namespace: &str) -> Container {
        let bundle = dir.join(name);
        let rootfs = bundle.join("rootfs");
        for sub in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(rootfs.join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "nc", "echo", "sleep", "cat", "nslookup"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let spec = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .status()
            .expect("runc (Debian package runc) is installed");
        assert!(spec.success());
        let config_path = bundle.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = serde_json::json!(["sleep", "120"]);
        config["root"]["readonly"] = Value::Bool(false);
        let namespaces = config["linux"]["namespaces"].as_array_mut().unwrap();
        namespaces.retain(|ns| ns["type"] != "network");
        config["annotations"] = serde_json::json!({
            "io.kubernetes.cri.container-name": name,
            "io.kubernetes.cri.sandbox-namespace": namespace,
            "haechi.dev/protect-secrets": (namespace != "payments").to_string(),
        });
        let token = rootfs.join("run/secrets/kubernetes.io/serviceaccount");
        std::fs::create_dir_all(&token).unwrap();
        std::fs::write(token.join("token"), "eyJhbGciOi").unwrap();
        std::fs::write(&config_path, config.to_string()).unwrap();
        let id = format!(
            "{:0>64x}",
            u128::from(std::process::id()) << 32 | u128::from(name.len() as u32) << 8 | 0xe
        );
        let status = Command::new("runc")
            .args(["run", "--detach", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "runc run {name}");
        Container { id, rootfs }
    }

    /// Runs `script` in the container; returns the exit status and what it printed.
    fn sh(&self, script: &str) -> (std::process::ExitStatus, String) {
        let output = Command::new("runc")
            .args(["exec", &self.id, "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status, text)
    }
}

impl Container {
    /// Runs `args` in the container as they are (no shell in between); the exit status and
    /// what it printed.
    fn exec(&self, args: &[&str]) -> (std::process::ExitStatus, String) {
        let output = Command::new("runc")
            .args(["exec", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status, text)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .output();
    }
}

/// What the kernel reports, recorded with `--record`, replays (`--replay`) through the same
/// pipeline to the same alerts: a container's process running before the recording began, its
/// runtime's metadata, the process tree of a `runc exec`.
#[test]
fn a_recording_replays_to_the_alerts_the_kernel_raised() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let container = Container::start(dir.path(), "recorded", "shop");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Read the token\n  desc: d\n  condition: evt.type = openat and fd.name = \
         /run/secrets/kubernetes.io/serviceaccount/token\n  output: token read by %proc.name \
         (parent=%proc.pname container=%container.name ns=%k8s.ns.name)\n  priority: WARNING\n",
    )
    .unwrap();
    let (live, recording, replayed) = (
        dir.path().join("live.jsonl"),
        dir.path().join("recording.jsonl"),
        dir.path().join("replayed.jsonl"),
    );
    let common = ["--no-default-rules", "--rules", rules.to_str().unwrap()];
    let mut agent = Running::start(
        &[
            &common[..],
            &["--output", live.to_str().unwrap()],
            &["--record", recording.to_str().unwrap()],
        ]
        .concat(),
    );
    agent.wait_for("watching");
    let (status, _) = container.sh("cat /run/secrets/kubernetes.io/serviceaccount/token");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));
    agent.stop();

    let replay = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .arg("agent")
        .args(common)
        .args(["--replay", recording.to_str().unwrap()])
        .args(["--output", replayed.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{said}");
    assert!(said.contains("replayed "), "{said}");

    // The same alerts, but for the time the clocks' offset was measured at (nanoseconds).
    let fields = |path: &Path| -> Vec<Value> {
        alerts(path)
            .into_iter()
            .map(|mut a| {
                a["output_fields"]
                    .as_object_mut()
                    .unwrap()
                    .remove("evt.time");
                a["output_fields"].clone()
            })
            .collect()
    };
    let raised = fields(&live);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["container.name"], "recorded");
    assert_eq!(raised[0]["k8s.ns.name"], "shop");
    assert_eq!(raised[0]["proc.name"], "cat");
    assert_eq!(fields(&replayed), raised);
}

/// A DNS server on `addr`:53 (UDP) that answers A queries for `name` with `ip` and every
/// other query with no records, until the test ends.
fn serve_dns(addr: &str, name: &'static str, ip: [u8; 4]) {
    use simple_dns::rdata::{A, RData};
    use simple_dns::{CLASS, Packet, QTYPE, ResourceRecord, TYPE};

    let socket = std::net::UdpSocket::bind((addr, 53)).expect("port 53 free on this address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let Ok(query) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let mut reply = query.into_reply();
            let asks_a = reply.questions.iter().any(|q| {
                q.qtype == QTYPE::TYPE(TYPE::A) && q.qname.to_string().eq_ignore_ascii_case(name)
            });
            if asks_a {
                let owner = reply.questions[0].qname.clone();
                reply.answers.push(ResourceRecord::new(
                    owner,
                    CLASS::IN,
                    60,
                    RData::A(A {
                        address: u32::from_be_bytes(ip),
                    }),
                ));
            }
            let _ = socket.send_to(&reply.build_bytes_vec_compressed().unwrap(), from);
        }
    });
}

fn policy(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/policies")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn policies_refuse_and_kill_in_selected_containers_and_outlive_the_agent() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hang up at once, so a client that got through ends.
    std::thread::spawn(move || for _ in listener.incoming() {});
    let pins = format!("/sys/fs/bpf/haechi-cli-test-{}", std::process::id());
    let out = dir.path().join("alerts.jsonl");
    let (dns_only, c2, binaries, secrets) = (
        policy("dns-only-egress.yaml"),
        policy("block-c2.yaml"),
        policy("protect-binaries.yaml"),
        policy("protect-secrets.yaml"),
    );
    let args = [
        "--no-default-rules",
        "--syscalls",
        "openat",
        "--policy",
        dns_only.as_str(),
        "--policy",
        c2.as_str(),
        "--policy",
        binaries.as_str(),
        "--policy",
        secrets.as_str(),
        "--pin-dir",
        pins.as_str(),
        "--output",
        out.to_str().unwrap(),
    ];
    let mut agent = Running::start(&args);
    agent.wait_for(
        "policy protect-binaries: rule no-writes-below-binary-dirs: kill (asked for deny",
    );
    agent.wait_for("watching");
    let payments = Container::start(dir.path(), "payments-api", "payments");
    let other = Container::start(dir.path(), "shop", "shop");
    agent.wait_for_each(&[
        format!(
            "enforcing dns-only-egress, block-c2, protect-binaries on container {}",
            payments.id
        ),
        format!(
            "enforcing block-c2, protect-binaries, protect-secrets on container {}",
            other.id
        ),
    ]);

    let tcp = format!("nc -w 1 127.0.0.1 {port} </dev/null && echo connected");
    let (status, text) = payments.sh(&tcp);
    assert!(
        !status.success() && text.contains("Operation not permitted"),
        "{status} {text}\nalerts: {}",
        std::fs::read_to_string(&out).unwrap_or_default()
    );
    let (status, text) = payments.sh("echo query | nc -u -w 1 127.0.0.1 53; echo sent");
    assert!(
        status.success() && text.contains("sent") && !text.contains("not permitted"),
        "{text}"
    );
    let (status, text) = other.sh(&tcp);
    assert!(
        status.success() && text.contains("connected"),
        "{status} {text}"
    );
    TcpStream::connect(("127.0.0.1", port)).expect("the host is not affected");
    // The C2 list applies to every container, whatever else it may reach.
    let (status, text) = other.sh("nc -w 1 198.51.100.23 443 </dev/null");
    assert!(
        !status.success() && text.contains("Operation not permitted"),
        "{text}"
    );

    // By name: once the container's DNS answer says c2.haechi.test is 127.0.0.9, connections
    // there are refused to it (and to it only).
    let c2_listener = TcpListener::bind("127.0.0.9:0").unwrap();
    let c2_port = c2_listener.local_addr().unwrap().port();
    std::thread::spawn(move || for _ in c2_listener.incoming() {});
    let to_c2 = format!("nc -w 1 127.0.0.9 {c2_port} </dev/null && echo connected");
    let (status, text) = other.sh(&to_c2);
    assert!(
        status.success() && text.contains("connected"),
        "not learned yet: {text}"
    );
    serve_dns("127.0.0.153", "c2.haechi.test", [127, 0, 0, 9]);
    let (status, text) = other.sh("nslookup c2.haechi.test 127.0.0.153");
    assert!(status.success() && text.contains("127.0.0.9"), "{text}");
    agent.wait_for(&format!(
        "c2.haechi.test resolved to 127.0.0.9 in container {}: denied by block-c2/c2-domains",
        other.id
    ));
    let (status, text) = other.sh(&to_c2);
    assert!(
        !status.success() && text.contains("Operation not permitted"),
        "{text}"
    );
    TcpStream::connect(("127.0.0.9", c2_port)).expect("the host did not resolve it");

    // The token is read through /var/run or /run alike; reading it kills the reader.
    let (status, text) = other.sh("cat /run/secrets/kubernetes.io/serviceaccount/token");
    assert_eq!(status.code(), Some(137), "killed: {text}");
    assert!(!text.contains("eyJ"));
    let (status, text) = payments.sh("cat /run/secrets/kubernetes.io/serviceaccount/token");
    assert!(
        status.success() && text.contains("eyJ"),
        "not selected: {text}"
    );

    // Drift: the shell that opens /bin/evil for writing dies before it can write.
    let (status, text) = other.sh("echo implant > /bin/evil; echo survived");
    assert_eq!(status.code(), Some(137), "killed by SIGKILL: {text}");
    assert!(!text.contains("survived"));
    let left = std::fs::read_to_string(other.rootfs.join("bin/evil")).unwrap_or_default();
    assert_eq!(left, "", "nothing was written");
    let (status, _) = other.sh("echo fine > /tmp/ok");
    assert!(status.success(), "other paths stay writable");

    // Killed agent: the pinned programs keep enforcing.
    let mut killed = agent;
    killed.signal("KILL");
    let _ = killed.child.wait();
    let (status, text) = payments.sh(&tcp);
    assert!(
        !status.success() && text.contains("Operation not permitted"),
        "{text}"
    );

    // A restarted agent takes over the pins and scopes the running containers from /proc.
    let mut agent = Running::start(&args);
    agent.wait_for(&format!(
        "enforcing dns-only-egress, block-c2, protect-binaries on container {}",
        payments.id
    ));
    let (status, text) = payments.sh(&tcp);
    assert!(
        !status.success() && text.contains("Operation not permitted"),
        "{text}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let said = agent.stop();
    assert!(
        said.iter()
            .any(|l| l
                == "enforcement records lost to a full ring buffer: 0 (the actions were taken)"),
        "{said:?}"
    );

    let by_name = alerts(&out)
        .into_iter()
        .find(|a| a["rule"] == "block-c2/c2-domains")
        .expect("the refusal by name is an alert");
    assert_eq!(by_name["output_fields"]["fd.sip.name"], "c2.haechi.test");
    assert_eq!(by_name["output_fields"]["fd.sip"], "127.0.0.9");
    assert!(
        by_name["output"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.9:{c2_port} (c2.haechi.test)"))
    );

    let denied: Vec<Value> = alerts(&out)
        .into_iter()
        .filter(|a| a["rule"] == "dns-only-egress/egress-dns-only")
        .collect();
    // Three refusals, all in the one file (a restarted agent appends): the first agent's, the
    // one made while no agent ran (kept in the pinned ring buffer) and the one after the
    // restart.
    assert_eq!(denied.len(), 3, "{denied:?}");
    assert!(
        denied
            .iter()
            .all(|a| a["output_fields"]["container.id"] == payments.id.as_str())
    );
    let fields = &denied[0]["output_fields"];
    assert_eq!(fields["haechi.action"], "deny");
    assert_eq!(fields["container.id"], payments.id.as_str());
    assert_eq!(fields["fd.sport"], port);
    assert_eq!(fields["evt.type"], "connect");
    assert_eq!(denied[0]["priority"], "Critical");

    let cleanup = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(["agent", "--cleanup", "--pin-dir", &pins])
        .output()
        .unwrap();
    assert!(cleanup.status.success(), "{cleanup:?}");
    assert!(!Path::new(&pins).exists());
    let (status, text) = payments.sh(&tcp);
    assert!(
        status.success() && text.contains("connected"),
        "cleanup ends enforcement: {text}"
    );
}

/// A one-request-at-a-time HTTP server on a thread: each POST body, parsed as JSON, goes to
/// the receiver; every request gets 200.
fn http_collector() -> (u16, Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            loop {
                let mut length = 0;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                if line != "\r\n" {
                    break;
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                reader.get_mut().write_all(answer).unwrap();
            }
        }
    });
    (port, rx)
}

/// `GET /metrics` from `addr`; the body.
fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample `series` (name and labels exactly as written).
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{series}` in:\n{body}"))
}

#[test]
fn default_rule_alerts_reach_the_sinks_and_the_metrics() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let alerts_file = dir.path().join("alerts.jsonl");
    let (port, posted) = http_collector();
    let mut agent = Running::start(&[
        "--alerts-file",
        alerts_file.to_str().unwrap(),
        "--alerts-http",
        &format!("http://127.0.0.1:{port}/"),
        "--metrics-addr",
        "127.0.0.1:0",
    ]);
    agent.wait_for("metrics at http://");
    let metrics_addr = agent
        .seen
        .iter()
        .find_map(|l| l.strip_prefix("metrics at http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();
    agent.wait_for("watching");

    // `cat /etc/shadow` raises the default rule; the second (missing) file marks our cat.
    let marker = dir.path().join("marker");
    let _ = Command::new("cat")
        .args(["/etc/shadow", marker.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let ours = |alert: &Value| {
        alert["rule"] == "Read sensitive file by untrusted program"
            && alert["output_fields"]["proc.cmdline"]
                .as_str()
                .is_some_and(|c| c.contains(marker.to_str().unwrap()))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let from_http = loop {
        let alert = posted
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the alert reaches the HTTP sink");
        if ours(&alert) {
            break alert;
        }
    };
    // The sink counts a delivery once the server has answered: scrape until it has.
    let sink = format!("sink=\"http:127.0.0.1:{port}\"");
    let sent = format!("haechi_sink_sent_total{{{sink}}}");
    let body = loop {
        let body = scrape(&metrics_addr);
        if sample(&body, &sent) >= 1 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery is never counted:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    agent.stop();

    let from_file: Vec<Value> = alerts(&alerts_file).into_iter().filter(ours).collect();
    assert_eq!(from_file, std::slice::from_ref(&from_http));
    assert_eq!(from_http["priority"], "Warning");
    assert_eq!(from_http["output_fields"]["fd.name"], "/etc/shadow");

    let rule = "rule=\"Read sensitive file by untrusted program\",priority=\"Warning\"";
    assert!(sample(&body, &format!("haechi_rules_alerts_total{{{rule}}}")) >= 1);
    assert_eq!(
        sample(&body, &format!("haechi_sink_dropped_total{{{sink}}}")),
        0
    );
    assert!(sample(&body, "haechi_agent_events_total{type=\"openat\"}") >= 1);
    assert!(sample(&body, "haechi_rules_events_evaluated_total") >= 1);
    sample(&body, "haechi_agent_events_lost_total");
    sample(&body, "haechi_agent_queue_depth");
}

/// The default C2 rule names servers by the DNS answers processes receive: a process asks a
/// DNS server (on a loopback address of its own) for a domain on the C2 list, then connects to
/// the address it got, and the alert names the server by that domain.
#[test]
fn c2_domains_are_recognised_from_the_dns_answers_processes_receive() {
    if !root() {
        return;
    }
    serve_dns("127.0.0.156", "c2.haechi.example", [127, 0, 0, 157]);
    let listener = TcpListener::bind("127.0.0.157:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut agent = Running::start(&["--output", out.to_str().unwrap()]);
    agent.wait_for("watching");

    // A stub resolver: one A query, the address from the answer's last record, a connect.
    let script = format!(
        r#"
import socket, struct
name = b"".join(bytes([len(l)]) + l for l in b"c2.haechi.example".split(b".")) + b"\0"
query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.settimeout(5)
dns.sendto(query, ("127.0.0.156", 53))
answer = dns.recv(512)
ip = socket.inet_ntoa(answer[-4:])
socket.create_connection((ip, {port})).close()
print(ip)
"#
    );
    let run = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "127.0.0.157");
    std::thread::sleep(Duration::from_millis(500));
    agent.stop();
    drop(listener);

    let alert = alerts(&out)
        .into_iter()
        .find(|a| {
            a["rule"] == "Outbound connection to C2 server"
                && a["output_fields"]["fd.name"]
                    .as_str()
                    .is_some_and(|c| c.ends_with(&format!("->127.0.0.157:{port}")))
        })
        .expect("the connect to the C2 domain's address raises the C2 rule");
    assert_eq!(alert["output_fields"]["fd.sip.name"], "c2.haechi.example");
    assert_eq!(alert["priority"], "Critical");
    assert!(
        alert["output"]
            .as_str()
            .unwrap()
            .contains("server=c2.haechi.example"),
        "{alert}"
    );
}

/// Rules with `binaries` and `ancestors` act in the kernel on the processes they select only:
/// a copy of cat is killed where busybox's cat reads, a child of the selected launcher is
/// killed where a sibling from another shell reads, and a launcher that started before the
/// agent is seeded from /proc so its children are covered too.
#[test]
fn rules_select_processes_by_binary_and_by_ancestry() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = Container::start(dir.path(), "selectors", "selectors");
    // busybox runs the applet its file is named after.
    for (copy, secret) in [
        ("opt/reader/cat", "etc/app/secret"),
        ("opt/web/sh", "etc/web/secret"),
    ] {
        let copy = app.rootfs.join(copy);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy("/bin/busybox", &copy).unwrap();
        let secret = app.rootfs.join(secret);
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, "s3cret\n").unwrap();
    }
    // Started before the agent: the kernel never sees this launcher exec.
    let waiting = "while [ ! -e /tmp/go ]; do /bin/sleep 0.1; done; \
                   /bin/cat /etc/web/secret > /tmp/seeded; echo $? > /tmp/seeded-rc";
    let status = Command::new("runc")
        .args(["exec", "--detach", &app.id, "/opt/web/sh", "-c", waiting])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let policy = dir.path().join("selectors.yaml");
    std::fs::write(
        &policy,
        "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata:\n  name: app-secrets\n\
         spec:\n  selector:\n    namespaces: [selectors]\n  rules:\n\
         \x20   - name: not-for-the-reader\n      binaries: [/opt/reader/cat]\n\
         \x20     files: {paths: [/etc/app/secret], access: read}\n      action: kill\n\
         \x20   - name: nothing-the-web-server-starts\n      ancestors: [/opt/web/sh]\n\
         \x20     files: {paths: [/etc/web/], access: read}\n      action: kill\n",
    )
    .unwrap();
    let pins = format!("/sys/fs/bpf/haechi-selectors-test-{}", std::process::id());
    // Enforcement ends with the test, whatever its outcome (dropped after the agent).
    struct Pins(String);
    impl Drop for Pins {
        fn drop(&mut self) {
            let _ = Command::new(env!("CARGO_BIN_EXE_haechi"))
                .args(["agent", "--cleanup", "--pin-dir", &self.0])
                .output();
        }
    }
    let _pins = Pins(pins.clone());
    let out = dir.path().join("alerts.jsonl");
    let mut agent = Running::start(&[
        "--no-default-rules",
        "--syscalls",
        "openat",
        "--policy",
        policy.to_str().unwrap(),
        "--pin-dir",
        &pins,
        "--output",
        out.to_str().unwrap(),
    ]);
    // The container's metadata (its namespace) may arrive after the agent is watching.
    agent.wait_for_each(&[
        format!("enforcing app-secrets on container {} (cgroup", app.id),
        format!(
            "running process(es) of container {} by binary or ancestry",
            app.id
        ),
        "watching".to_owned(),
    ]);

    // Seeded: the launcher's child is killed reading the secret; the launcher goes on.
    std::fs::write(app.rootfs.join("tmp/go"), "").unwrap();
    let rc = app.rootfs.join("tmp/seeded-rc");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rc.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap_or_default(),
        "137\n",
        "the child of a launcher that started before the agent is killed"
    );
    assert_eq!(
        std::fs::read_to_string(app.rootfs.join("tmp/seeded")).unwrap(),
        ""
    );

    // By binary: the copy at /opt/reader/cat dies, busybox's cat reads.
    let (status, text) = app.exec(&["/opt/reader/cat", "/etc/app/secret"]);
    assert_eq!(status.code(), Some(137), "killed: {text}");
    assert!(!text.contains("s3cret"));
    let (status, text) = app.exec(&["/bin/cat", "/etc/app/secret"]);
    assert!(status.success() && text == "s3cret\n", "{status} {text}");

    // By ancestry: a child of the launcher dies (and the launcher goes on); a sibling started
    // by another shell reads.
    let script = "/bin/cat /etc/web/secret; echo \"child $?\"";
    let (status, text) = app.exec(&["/opt/web/sh", "-c", script]);
    assert!(
        status.success() && text.starts_with("child 137\n") && !text.contains("s3cret"),
        "{status} {text}"
    );
    let (status, text) = app.exec(&["/bin/sh", "-c", script]);
    assert!(
        status.success() && text == "s3cret\nchild 0\n",
        "{status} {text}"
    );
    // The launcher itself is its own ancestor.
    let (status, _) = app.exec(&["/opt/web/sh", "-c", "read line < /etc/web/secret"]);
    assert_eq!(status.code(), Some(137));

    std::thread::sleep(Duration::from_millis(300));
    agent.stop();
    let raised: Vec<(String, String)> = alerts(&out)
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["output_fields"]["proc.name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |rule: &str, comm: &str| (format!("app-secrets/{rule}"), comm.to_owned());
    assert_eq!(
        raised,
        [
            pair("nothing-the-web-server-starts", "cat"),
            pair("not-for-the-reader", "cat"),
            pair("nothing-the-web-server-starts", "cat"),
            pair("nothing-the-web-server-starts", "sh"),
        ]
    );
}

/// `--watch-config`: a policy file rewritten in place (as a ConfigMap update swaps it) is in
/// force without a restart, for the containers already scoped; a broken one changes nothing.
#[test]
fn policies_reload_in_place_when_their_file_changes() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Two addresses with a listener each; the policy denies one of them.
    let (a, b) = ("127.0.0.21", "127.0.0.22");
    let port = {
        let first = TcpListener::bind((a, 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let second = TcpListener::bind((b, port)).unwrap();
        for listener in [first, second] {
            std::thread::spawn(move || for _ in listener.incoming() {});
        }
        port
    };
    let deny = |addr: &str| {
        format!(
            "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata:\n  name: no-port\n\
             spec:\n  rules:\n    - name: one-address\n      egress:\n        deny:\n          \
             cidrs: [{addr}/32]\n      action: deny\n"
        )
    };
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, deny(a)).unwrap();
    let pins = format!("/sys/fs/bpf/haechi-reload-test-{}", std::process::id());
    let mut agent = Running::start(&[
        "--no-default-rules",
        "--syscalls",
        "openat",
        "--watch-config",
        "--policy",
        file.to_str().unwrap(),
        "--pin-dir",
        pins.as_str(),
    ]);
    agent.wait_for("watching");
    let app = Container::start(dir.path(), "app", "shop");
    agent.wait_for(&format!("enforcing no-port on container {}", app.id));
    let connect = |addr: &str| {
        app.sh(&format!(
            "nc -w 1 {addr} {port} </dev/null && echo connected"
        ))
    };
    let refused = |(status, text): (std::process::ExitStatus, String)| {
        !status.success() && text.contains("Operation not permitted")
    };
    assert!(refused(connect(a)), "{a} is denied");
    assert!(connect(b).1.contains("connected"), "{b} is not");

    // Rewritten as a ConfigMap volume does: a new file renamed over the old.
    let next = dir.path().join("policy.yaml.next");
    std::fs::write(&next, deny(b)).unwrap();
    std::fs::rename(&next, &file).unwrap();
    agent.wait_for("policies reloaded");
    assert!(connect(a).1.contains("connected"), "{a} is allowed now");
    assert!(refused(connect(b)), "{b} is denied now");

    // A file that no longer loads: what is in force stays.
    std::fs::write(&file, "kind: HaechiPolicy\nspec: [").unwrap();
    agent.wait_for("keeping the rules and policies in force");
    assert!(refused(connect(b)), "still denied");
    drop(app);
    agent.stop();
    let cleanup = Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(["agent", "--cleanup", "--pin-dir", &pins])
        .output()
        .unwrap();
    assert!(cleanup.status.success(), "{cleanup:?}");
}
