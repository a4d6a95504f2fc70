//! Alerts Falcosidekick accepts unchanged: a rule's alert and an enforcement alert go through
//! the real HTTP sink to a server (hyper, on 127.0.0.1:0) that applies Falcosidekick's own
//! acceptance checks, rebuilt from its source (falcosecurity/falcosidekick at 454ea6d:
//! `handlers.go`, `types/types.go`, `types/priority.go`) with Go's `encoding/json` and `time`
//! semantics.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use haechi_agent::accounts::Accounts;
use haechi_agent::dns::ServerNames;
use haechi_agent::enforcement::Enforced;
use haechi_agent::fields::{ContainerView, Context};
use haechi_agent::metrics::{Metrics, SinkCounts};
use haechi_agent::process::Process;
use haechi_agent::rules::Rules;
use haechi_agent::sinks::{Sink, SinkOptions, Sinks};
use haechi_events::{Event, Exec, Task};
use haechi_rules::alert::{self, Alert, Priority};
use haechi_rules::{Options, Ruleset};
use haechi_sensor::abi::{self, Enforcement as Record};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The node the alerts name, as `HAECHI_HOSTNAME` would.
const NODE: &str = "node-a";

/// Falcosidekick's `types.FalcoPayload` after decoding (`types/types.go`).
#[derive(Debug, Default)]
struct FalcoPayload {
    output: String,
    /// `types.PriorityType`: `None` is its `Default`, whose `String()` is empty.
    priority: Option<Priority>,
    rule: String,
    /// `time.Time`: `None` is the zero time.
    time: Option<i128>,
    /// `map[string]interface{}`: `None` is a nil map.
    output_fields: Option<Map<String, Value>>,
    source: String,
    tags: Option<Vec<String>>,
    hostname: String,
}

impl FalcoPayload {
    /// `FalcoPayload.Check` (`types/types.go`): a priority, a rule, a time and at least one
    /// output field.
    fn check(&self) -> bool {
        self.priority.is_some()
            && !self.rule.is_empty()
            && self.time.is_some_and(|ns| ns != ZERO_TIME_NS)
            && self.output_fields.as_ref().is_some_and(|f| !f.is_empty())
    }
}

/// What Falcosidekick answers a request with.
enum Answer {
    /// 200 with no body: `mainHandler` forwards the event and writes nothing.
    Accepted(FalcoPayload),
    /// 400 with `http.Error`'s message.
    Rejected(&'static str),
    /// The handler panics; net/http recovers and closes the connection without an answer.
    Panicked,
}

/// `mainHandler` (`handlers.go`): POST only, then `newFalcoPayload` (which decodes, then reads
/// the pod and namespace) and `Check`.
fn sidekick(method: &Method, body: &[u8]) -> Answer {
    if method != Method::POST {
        return Answer::Rejected("Please send with post http method");
    }
    let Ok(payload) = decode(body) else {
        return Answer::Rejected("Please send a valid request body");
    };
    // `newFalcoPayload` reads these two with `j.(string)` when they are not nil: any other
    // type panics.
    let fields = payload.output_fields.iter().flatten();
    if fields
        .filter(|(key, _)| *key == "k8s.ns.name" || *key == "k8s.pod.name")
        .any(|(_, v)| !v.is_null() && !v.is_string())
    {
        return Answer::Panicked;
    }
    if !payload.check() {
        return Answer::Rejected("Please send a valid request body");
    }
    Answer::Accepted(payload)
}

/// `newFalcoPayload` (`handlers.go`): `json.NewDecoder(body).Decode(&falcopayload)`, so the
/// first JSON value only; keys match the struct's tags case-insensitively, unknown keys are
/// ignored, and a value of the wrong type is an error.
fn decode(body: &[u8]) -> Result<FalcoPayload, String> {
    let first = serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .next()
        .ok_or("EOF")?
        .map_err(|e| e.to_string())?;
    let mut payload = FalcoPayload::default();
    let object = match first {
        Value::Object(object) => object,
        // Decoding null into a struct does nothing.
        Value::Null => return Ok(payload),
        other => return Err(format!("cannot unmarshal {other} into FalcoPayload")),
    };
    for (key, value) in object {
        match (key.to_ascii_lowercase().as_str(), value) {
            // null makes a map or a slice nil, and leaves a string or a time as it was.
            ("output_fields", Value::Null) => payload.output_fields = None,
            ("tags", Value::Null) => payload.tags = None,
            ("uuid" | "output" | "rule" | "source" | "hostname" | "time", Value::Null) => {}
            ("uuid", value) => drop(go_string(&value)?),
            ("output", value) => payload.output = go_string(&value)?,
            ("rule", value) => payload.rule = go_string(&value)?,
            ("source", value) => payload.source = go_string(&value)?,
            ("hostname", value) => payload.hostname = go_string(&value)?,
            ("priority", value) => payload.priority = priority(&value)?,
            ("time", value) => payload.time = Some(time(&value)?),
            ("output_fields", Value::Object(fields)) => {
                payload.output_fields.get_or_insert_default().extend(fields);
            }
            ("output_fields", other) => {
                return Err(format!(
                    "cannot unmarshal {other} into map[string]interface{{}}"
                ));
            }
            ("tags", value) => payload.tags = Some(tags(&value)?),
            _ => {}
        }
    }
    Ok(payload)
}

fn go_string(value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("cannot unmarshal {value} into a Go string"))
}

/// `PriorityType.UnmarshalJSON` (`types/priority.go`): a string (or null), whose lower case is
/// one of Falco's names or `info`; anything else is the `Default` priority.
fn priority(value: &Value) -> Result<Option<Priority>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let name = go_string(value)?.to_lowercase();
    Ok(match name.as_str() {
        "emergency" => Some(Priority::Emergency),
        "alert" => Some(Priority::Alert),
        "critical" => Some(Priority::Critical),
        "error" => Some(Priority::Error),
        "warning" => Some(Priority::Warning),
        "notice" => Some(Priority::Notice),
        "informational" | "info" => Some(Priority::Informational),
        "debug" => Some(Priority::Debug),
        _ => None,
    })
}

/// `[]string`: an array whose items are strings (a null item stays "").
fn tags(value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!("cannot unmarshal {value} into []string"));
    };
    items
        .iter()
        .map(|item| {
            if item.is_null() {
                Ok(String::new())
            } else {
                go_string(item)
            }
        })
        .collect()
}

/// `time.Time.UnmarshalJSON`: a JSON string in RFC 3339 as Go parses it strictly
/// (`2006-01-02T15:04:05.999999999Z07:00`: upper-case `T` and `Z`, two-digit fields in range,
/// optional fraction); nanoseconds since the epoch.
fn time(value: &Value) -> Result<i128, String> {
    let text = value
        .as_str()
        .ok_or("Time.UnmarshalJSON: input is not a JSON string")?;
    rfc3339(text).ok_or_else(|| format!("parsing time {text:?} as RFC 3339"))
}

/// Nanoseconds since the epoch of Go's zero `time.Time`, 0001-01-01T00:00:00Z.
const ZERO_TIME_NS: i128 = -62_135_596_800 * 1_000_000_000;

fn rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = s.get(from..from + len)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let days_in_month = match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut nanos: i128 = 0;
    if b.get(at) == Some(&b'.') && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        for (i, c) in b[at + 1..at + 1 + digits].iter().enumerate().take(9) {
            nanos += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
        }
        at += 1 + digits;
    }
    let offset = match &b[at..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            (h * 3600 + m * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A Falcosidekick on 127.0.0.1:0; sends each payload it accepts, and the message of each it
/// rejects, to the channels.
async fn falcosidekick() -> (
    SocketAddr,
    mpsc::UnboundedReceiver<Value>,
    mpsc::UnboundedReceiver<&'static str>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted) = mpsc::unbounded_channel();
    let (rejected_tx, rejected) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (accepted_tx, rejected_tx) = (accepted_tx.clone(), rejected_tx.clone());
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (accepted_tx, rejected_tx) = (accepted_tx.clone(), rejected_tx.clone());
                async move {
                    let method = request.method().clone();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map_err(std::io::Error::other)?
                        .to_bytes();
                    let (status, message) = match sidekick(&method, &body) {
                        Answer::Accepted(payload) => {
                            let _ = accepted_tx.send(as_json(&payload));
                            (StatusCode::OK, "")
                        }
                        Answer::Rejected(message) => {
                            let _ = rejected_tx.send(message);
                            (StatusCode::BAD_REQUEST, message)
                        }
                        Answer::Panicked => {
                            let _ = rejected_tx.send("panic");
                            return Err(std::io::Error::other("the handler panicked"));
                        }
                    };
                    let mut response = Response::new(Full::new(Bytes::from(message)));
                    *response.status_mut() = status;
                    Ok::<_, std::io::Error>(response)
                }
            });
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, accepted, rejected)
}

/// What an accepted payload says, for the assertions.
fn as_json(p: &FalcoPayload) -> Value {
    json!({
        "output": p.output,
        "priority": p.priority.map(Priority::name),
        "rule": p.rule,
        "time": p.time.map(|ns| ns.to_string()),
        "output_fields": p.output_fields,
        "source": p.source,
        "tags": p.tags,
        "hostname": p.hostname,
    })
}

/// One request over a fresh connection: the status, or `None` when the connection closed
/// without an answer.
async fn request(addr: SocketAddr, method: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response.get(9..12)?.parse().ok()
}

/// The server says no to what Falcosidekick says no to, and yes to Falcosidekick's own test
/// event (`testHandler` in `handlers.go`).
#[tokio::test]
async fn the_server_rejects_what_falcosidekick_rejects() {
    let (addr, _accepted, _rejected) = falcosidekick().await;
    // Falcosidekick's test event with some keys set (`None`: removed).
    let event = |changes: &[(&str, Option<Value>)]| {
        let mut event = json!({
            "output": "This is a test from falcosidekick",
            "priority": "Debug",
            "hostname": "falcosidekick",
            "rule": "Test rule",
            "time": "2026-11-23T10:20:30Z",
            "output_fields": {"proc.name": "falcosidekick", "user.name": "falcosidekick"},
            "tags": ["test", "example"],
        });
        let object = event.as_object_mut().unwrap();
        for (key, value) in changes {
            match value {
                Some(value) => object.insert((*key).to_owned(), value.clone()),
                None => object.remove(*key),
            };
        }
        event.to_string()
    };
    let time = |text: &str| [("time", Some(json!(text)))];
    let priority = |value: Value| [("priority", Some(value))];
    let cases: [(&str, String, Option<u16>); 15] = [
        ("testHandler's event", event(&[]), Some(200)),
        (
            "nanoseconds and an offset",
            event(&time("2026-11-23T10:20:30.123456789+09:00")),
            Some(200),
        ),
        (
            "priority `INFO`",
            event(&priority(json!("INFO"))),
            Some(200),
        ),
        (
            "a key in capitals",
            event(&[("rule", None), ("RULE", Some(json!("Test rule")))]),
            Some(200),
        ),
        (
            "no output_fields",
            event(&[("output_fields", None)]),
            Some(400),
        ),
        (
            "empty output_fields",
            event(&[("output_fields", Some(json!({})))]),
            Some(400),
        ),
        ("no time", event(&[("time", None)]), Some(400)),
        (
            "a time without T",
            event(&time("2026-11-23 10:20:30Z")),
            Some(400),
        ),
        (
            "the zero time",
            event(&time("0001-01-01T00:00:00Z")),
            Some(400),
        ),
        (
            "an unknown priority",
            event(&priority(json!("loud"))),
            Some(400),
        ),
        ("a numeric priority", event(&priority(json!(4))), Some(400)),
        ("no priority", event(&[("priority", None)]), Some(400)),
        (
            "an empty rule",
            event(&[("rule", Some(json!("")))]),
            Some(400),
        ),
        (
            "a tag that is not a string",
            event(&[("tags", Some(json!([1])))]),
            Some(400),
        ),
        (
            "a namespace that is not a string",
            event(&[("output_fields", Some(json!({"k8s.ns.name": 7})))]),
            None,
        ),
    ];
    for (what, body, want) in cases {
        assert_eq!(request(addr, "POST", &body).await, want, "{what}");
    }
    assert_eq!(request(addr, "POST", "not json").await, Some(400));
    assert_eq!(request(addr, "GET", &event(&[])).await, Some(400));
}

/// An exec of `sh` in a pod's container, on a node whose clock is `boot_to_epoch_ns` after boot.
fn shell_in_pod(container: &ContainerView, boot_to_epoch_ns: u64) -> Alert {
    let rules = Rules::new(
        Ruleset::from_text(
            "shell.yaml",
            "- rule: Shell in a container\n  desc: d\n  condition: evt.type = execve and \
             proc.name = sh\n  output: A shell ran in a container\n  priority: NOTICE\n  \
             tags: [container, shell]\n",
            Options { strict: true },
        )
        .unwrap(),
    );
    let task = Task {
        ts_ns: 5_000_000_000,
        cgroup_id: 7,
        pid: 4242,
        tid: 4242,
        ppid: 4200,
        uid: 0,
        gid: 0,
        cap_effective: None,
        comm: "sh".into(),
    };
    let event = Event::Exec(Exec {
        task,
        ruid: 0,
        rgid: 0,
        loginuid: None,
        tty: 0,
        filename: "/bin/sh".into(),
        exe_path: "/bin/sh".into(),
        argv: vec!["sh".into()],
        args_truncated: false,
        cwd: "/".into(),
        cgroup: String::new(),
        vpid: 1,
        exe_upper_layer: false,
    });
    let process = Process {
        pid: 4242,
        ppid: 4200,
        name: "sh".into(),
        exe_path: "/bin/sh".into(),
        argv: vec!["sh".into()],
        cwd: "/".into(),
        uid: 0,
        loginuid: None,
        tty: 0,
        cgroup: String::new(),
        vpid: Some(1),
        exe_upper_layer: Some(false),
        start_ns: None,
    };
    let accounts = Accounts::parse("root:x:0:0:root:/root:/bin/sh", "root:x:0:");
    let server_names = ServerNames::default();
    let cx = Context {
        process: &process,
        ancestors: &[],
        container,
        accounts: &accounts,
        boot_to_epoch_ns,
        sandbox: None,
        server_names: &server_names,
    };
    let view = rules.view(&event, &cx);
    let rule = rules.set().first_match(&view).expect("the rule fires");
    rules
        .set()
        .alert(rule, &view, &alert::hostname_from(Some(NODE)))
}

/// A refused connection to 203.0.113.7:443 by `nc` in `container`.
fn refused_connection(id: &str, container: &ContainerView, boot_to_epoch_ns: u64) -> Alert {
    let mut comm = [0u8; 16];
    comm[..2].copy_from_slice(b"nc");
    let mut addr = [0u8; 16];
    addr[10..].copy_from_slice(&[0xff, 0xff, 203, 0, 113, 7]);
    let record = Record {
        ts_ns: 6_000_000_000,
        cgroup_id: 7,
        tgid: 4343,
        tid: 4343,
        uid: 0,
        rule: 0,
        action: abi::ACTION_DENY,
        kind: abi::ENF_CONNECT,
        protocol: abi::PROTO_TCP,
        _pad: 0,
        port: 443,
        nr: 0,
        addr,
        comm,
        path: [0; abi::PREFIX_MAX],
    };
    Enforced {
        record: &record,
        policy: "dns-only-egress",
        rule: "egress-dns-only",
        container_id: id,
        container: Some(container),
        server_name: None,
    }
    .alert(boot_to_epoch_ns, &alert::hostname_from(Some(NODE)))
}

async fn deliver(addr: SocketAddr, alerts: &[Alert]) -> SinkCounts {
    let options = SinkOptions {
        queue: 16,
        attempts: 2,
        backoff: Duration::from_millis(1),
        timeout: Duration::from_secs(10),
        extra_roots: Vec::new(),
    };
    let metrics = Arc::new(Metrics::default());
    let sink = Sink::Http(format!("http://{addr}/").parse().unwrap());
    let name = sink.name();
    let (senders, tasks) = Sinks::start(&[sink], &options, &metrics).unwrap();
    for alert in alerts {
        senders.send(alert);
    }
    drop(senders);
    assert!(tasks.finish(Duration::from_secs(60)).await.is_empty());
    metrics.sink_counts(&name)
}

#[tokio::test]
async fn rule_and_enforcement_alerts_are_accepted_with_their_context() {
    let (addr, mut accepted, mut rejected) = falcosidekick().await;
    let id = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";
    let container = ContainerView {
        id: id.into(),
        name: Some("web".into()),
        image_repository: Some("docker.io/library/nginx".into()),
        image_tag: Some("1.27".into()),
        pod_name: Some("web-0".into()),
        pod_namespace: Some("shop".into()),
        resolved: true,
        ..ContainerView::default()
    };
    let boot_to_epoch_ns = 1_795_000_000_000_000_000;
    let alerts = [
        shell_in_pod(&container, boot_to_epoch_ns),
        refused_connection(id, &container, boot_to_epoch_ns),
    ];
    let counts = deliver(addr, &alerts).await;
    assert_eq!(
        (counts.sent, counts.failures, counts.dropped),
        (2, 0, 0),
        "rejected: {:?}",
        rejected.try_recv()
    );

    let rule = accepted.recv().await.unwrap();
    let enforced = accepted.recv().await.unwrap();
    for (payload, want_id) in [(&rule, &id[..12]), (&enforced, id)] {
        assert_eq!(payload["hostname"], NODE);
        let fields = &payload["output_fields"];
        assert_eq!(fields["container.id"], want_id, "{payload}");
        assert_eq!(fields["container.name"], "web");
        assert_eq!(
            fields["container.image.repository"],
            "docker.io/library/nginx"
        );
        assert_eq!(fields["container.image.tag"], "1.27");
        assert_eq!(fields["k8s.pod.name"], "web-0");
        assert_eq!(fields["k8s.ns.name"], "shop");
        for name in alert::SUGGESTED_FIELDS {
            assert!(fields.get(name).is_some(), "{name} in {payload}");
        }
        // Falcosidekick decodes numbers with UseNumber; the time as written survives.
        assert_eq!(
            fields[alert::TIME_FIELD].to_string(),
            payload["time"].as_str().unwrap(),
            "evt.time is the alert's time in nanoseconds"
        );
    }
    assert_eq!(rule["rule"], "Shell in a container");
    assert_eq!(rule["priority"], "Notice");
    // The rule's output names no field: Falco's appended fields follow it.
    assert_eq!(
        rule["output"]
            .as_str()
            .unwrap()
            .split_once(": Notice ")
            .unwrap()
            .1,
        "A shell ran in a container container_id=3ad7b26ded6d container_name=web \
         container_image_repository=docker.io/library/nginx container_image_tag=1.27 \
         k8s_pod_name=web-0 k8s_ns_name=shop"
    );
    assert_eq!(enforced["rule"], "dns-only-egress/egress-dns-only");
    assert_eq!(enforced["priority"], "Critical");
    assert!(rejected.try_recv().is_err());
}

/// The control: an alert without output fields, which the agent no longer writes, is refused
/// and the sink drops it after its attempts.
#[tokio::test]
async fn an_alert_without_output_fields_is_refused() {
    let (addr, mut accepted, mut rejected) = falcosidekick().await;
    let mut bare = refused_connection("c", &ContainerView::default(), 0);
    bare.output_fields.clear();
    let counts = deliver(addr, &[bare]).await;
    assert_eq!((counts.sent, counts.failures, counts.dropped), (0, 2, 1));
    assert_eq!(
        rejected.recv().await,
        Some("Please send a valid request body")
    );
    assert!(accepted.try_recv().is_err());
}

/// `alert::hostname` reads `HAECHI_HOSTNAME`: checked in a child process (this test binary,
/// running only `prints_the_hostname`), so no test changes this process's environment.
#[test]
fn haechi_hostname_names_the_host() {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "prints_the_hostname", "--ignored", "--nocapture"])
        .env(alert::HOSTNAME_VAR, "node-from-env")
        .output()
        .unwrap();
    assert!(child.status.success(), "{child:?}");
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(stdout.contains("hostname=node-from-env\n"), "{stdout}");
}

#[test]
#[ignore = "run by haechi_hostname_names_the_host, with HAECHI_HOSTNAME set"]
fn prints_the_hostname() {
    println!("hostname={}", alert::hostname());
}

#[test]
fn go_parses_these_times_as_rfc_3339() {
    assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(rfc3339("1970-01-01T09:00:01.5+09:00"), Some(1_500_000_000));
    assert_eq!(rfc3339("0001-01-01T00:00:00Z"), Some(ZERO_TIME_NS));
    for bad in [
        "1970-01-01t00:00:00Z",
        "1970-01-01T00:00:00z",
        "1970-01-01T00:00:00",
        "1970-02-30T00:00:00Z",
        "1970-01-01T24:00:00Z",
        "1970-01-01T00:00:00+0900",
    ] {
        assert_eq!(rfc3339(bad), None, "{bad}");
    }
}
