//! The alert sinks against real endpoints: a file, HTTP and HTTPS servers (hyper, on
//! 127.0.0.1:0) that answer, fail, or never answer, and the `/metrics` endpoint scraped over
//! HTTP. Counts are asserted, never timings.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use haechi_agent::metrics::{self, Metrics, SinkCounts};
use haechi_agent::sinks::{self, Sink, SinkOptions, Sinks};
use haechi_rules::alert::{Alert, Priority};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

fn alert(rule: &str, container: &str) -> Alert {
    Alert {
        hostname: "node-1".into(),
        output: format!(
            "10:20:30.123456789: Warning {rule} (file=/etc/shadow container={container})"
        ),
        output_fields: [
            ("container.id".to_owned(), json!(container)),
            ("fd.name".to_owned(), json!("/etc/shadow")),
            ("k8s.pod.name".to_owned(), Value::Null),
            ("user.uid".to_owned(), json!(0)),
        ]
        .into_iter()
        .collect(),
        priority: Priority::Warning,
        rule: rule.into(),
        source: "syscall".into(),
        tags: vec!["filesystem".into(), "T1003.008".into()],
        time: "2026-11-23T10:20:30.123456789Z".into(),
    }
}

/// Falco's alert keys, in Falco's order.
const FALCO_KEYS: [&str; 8] = [
    "hostname",
    "output",
    "output_fields",
    "priority",
    "rule",
    "source",
    "tags",
    "time",
];

fn options() -> SinkOptions {
    SinkOptions {
        queue: 16,
        attempts: 4,
        backoff: Duration::from_millis(1),
        timeout: Duration::from_secs(10),
        extra_roots: Vec::new(),
    }
}

/// A request the test server received.
struct Received {
    path: String,
    content_type: String,
    body: Value,
}

/// A hyper server on 127.0.0.1:0 answering 500 to its first `fail_first` requests and 200
/// after; over TLS when `tls` is given.
async fn server(
    fail_first: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (tx, seen, tls) = (tx.clone(), seen.clone(), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (tx, seen) = (tx.clone(), seen.clone());
                    async move {
                        let path = request.uri().path().to_owned();
                        let content_type = request
                            .headers()
                            .get("content-type")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let body = serde_json::from_slice(&body).unwrap();
                        let _ = tx.send(Received {
                            path,
                            content_type,
                            body,
                        });
                        let status = if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        };
                        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(config) => {
                        let Ok(stream) =
                            tokio_rustls::TlsAcceptor::from(config).accept(stream).await
                        else {
                            return;
                        };
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Starts `sink`, sends `alerts`, closes the queue and waits for the sink to finish.
async fn deliver(sink: Sink, options: &SinkOptions, alerts: &[Alert]) -> (Arc<Metrics>, String) {
    let metrics = Arc::new(Metrics::default());
    let name = sink.name();
    let (senders, tasks) = Sinks::start(&[sink], options, &metrics).unwrap();
    for alert in alerts {
        senders.send(alert);
    }
    drop(senders);
    assert!(tasks.finish(Duration::from_secs(60)).await.is_empty());
    (metrics, name)
}

fn counts(sent: u64, failures: u64, dropped: u64) -> SinkCounts {
    SinkCounts {
        sent,
        failures,
        dropped,
    }
}

#[tokio::test]
async fn file_sink_appends_falco_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    std::fs::write(&path, "{\"kept\":true}\n").unwrap();
    let alerts = [
        alert("Read sensitive file", "c1"),
        alert("Write below etc", "c2"),
    ];
    let (metrics, name) = deliver(Sink::File(path.clone()), &options(), &alerts).await;
    assert_eq!(metrics.sink_counts(&name), counts(2, 0, 0));

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "appended after the existing line: {text}");
    assert_eq!(lines[0], json!({"kept": true}));
    for (line, alert) in lines[1..].iter().zip(&alerts) {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, FALCO_KEYS);
        assert_eq!(line["rule"], alert.rule);
        assert_eq!(line["priority"], "Warning");
        assert_eq!(line["output_fields"]["k8s.pod.name"], Value::Null);
        assert_eq!(line, &serde_json::to_value(alert).unwrap());
    }
}

#[test]
fn file_sink_names_the_file_it_cannot_open() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let sink = Sink::File("/nonexistent-dir/alerts.jsonl".into());
    let err = Sinks::start(&[sink], &options(), &Arc::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot open alerts file /nonexistent-dir/alerts.jsonl: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn http_sink_posts_falco_json_and_retries_failures() {
    let (addr, mut received) = server(2, None).await;
    let endpoint = format!("http://{addr}/").parse().unwrap();
    let sent = alert("Read sensitive file", "c1");
    let (metrics, name) = deliver(
        Sink::Http(endpoint),
        &options(),
        std::slice::from_ref(&sent),
    )
    .await;
    assert_eq!(name, format!("http:{addr}"));
    // Two 500s, then the third attempt is taken.
    assert_eq!(metrics.sink_counts(&name), counts(1, 2, 0));
    for _ in 0..3 {
        let request = received.recv().await.unwrap();
        assert_eq!(request.path, "/");
        assert_eq!(request.content_type, "application/json");
        assert_eq!(request.body, serde_json::to_value(&sent).unwrap());
    }
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn http_sink_drops_an_alert_when_every_attempt_fails() {
    let (addr, mut received) = server(usize::MAX, None).await;
    let endpoint = format!("http://{addr}/falco").parse().unwrap();
    let options = SinkOptions {
        attempts: 3,
        ..options()
    };
    let (metrics, name) = deliver(Sink::Http(endpoint), &options, &[alert("R", "c")]).await;
    assert_eq!(metrics.sink_counts(&name), counts(0, 3, 1));
    assert_eq!(received.recv().await.unwrap().path, "/falco");
}

#[tokio::test]
async fn a_server_that_never_answers_costs_drops_not_detection() {
    // Accepts connections and never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, mut accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            let _ = accepted_tx.send(());
        }
    });
    let metrics = Arc::new(Metrics::default());
    let sink = Sink::Http(format!("http://{addr}/").parse().unwrap());
    let name = sink.name();
    let options = SinkOptions {
        queue: 2,
        attempts: 1,
        timeout: Duration::from_secs(3600),
        ..options()
    };
    let (senders, tasks) = Sinks::start(&[sink], &options, &metrics).unwrap();
    // The sink takes the first alert and hangs on it…
    senders.send(&alert("R", "c0"));
    accepted.recv().await.unwrap();
    // …so of the next ten, two fit the queue and eight are dropped; send never waits.
    for n in 1..=10 {
        senders.send(&alert("R", &format!("c{n}")));
    }
    assert_eq!(metrics.sink_counts(&name), counts(0, 0, 8));
    let queued = metrics
        .sink_queue
        .get_or_create(&Metrics::sink(&name))
        .get();
    assert_eq!(queued, 2);
    drop(senders);
    assert_eq!(tasks.finish(Duration::from_millis(100)).await, [name]);
}

/// A CA (written as PEM to `dir/ca.pem`) and a server configuration for 127.0.0.1 signed by it.
fn tls(dir: &std::path::Path) -> Arc<rustls::ServerConfig> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let ca_cert: &rcgen::Certificate = ca.as_ref();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    Arc::new(config)
}

#[tokio::test]
async fn https_sink_trusts_an_extra_ca_and_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, mut received) = server(0, Some(tls(dir.path()))).await;
    let sink = || Sink::Http(format!("https://{addr}/").parse().unwrap());

    // Without the CA the server's certificate is refused: every attempt fails.
    let strict = SinkOptions {
        attempts: 2,
        ..options()
    };
    let (metrics, name) = deliver(sink(), &strict, &[alert("R", "c")]).await;
    assert_eq!(metrics.sink_counts(&name), counts(0, 2, 1));

    let trusting = SinkOptions {
        extra_roots: sinks::read_ca(&dir.path().join("ca.pem")).unwrap(),
        ..options()
    };
    let sent = alert("Read sensitive file", "c1");
    let (metrics, name) = deliver(sink(), &trusting, std::slice::from_ref(&sent)).await;
    assert_eq!(metrics.sink_counts(&name), counts(1, 0, 0));
    let request = received.recv().await.unwrap();
    assert_eq!(request.body, serde_json::to_value(&sent).unwrap());
}

#[test]
fn a_ca_file_without_certificates_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not pem\n").unwrap();
    let err = sinks::read_ca(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("CA file {}: no CERTIFICATE block", path.display())
    );
}

#[test]
fn sinks_of_the_same_name_are_numbered() {
    let slack = |path: &str| Sink::Slack(format!("https://hooks.slack.com{path}").parse().unwrap());
    let sinks = [
        slack("/services/T0/B0/one"),
        Sink::File("/var/log/alerts.jsonl".into()),
        slack("/services/T0/B1/two"),
        Sink::Http("http://sidekick:2801/".parse().unwrap()),
    ];
    assert_eq!(
        sinks::names(&sinks),
        [
            "slack:hooks.slack.com",
            "file:/var/log/alerts.jsonl",
            "slack:hooks.slack.com#2",
            "http:sidekick:2801",
        ]
    );
}

#[tokio::test]
async fn slack_sink_posts_an_incoming_webhook_message() {
    let (addr, mut received) = server(0, None).await;
    let sink = Sink::Slack(
        format!("http://{addr}/services/T0/B0/secret")
            .parse()
            .unwrap(),
    );
    let mut sent = alert("Read sensitive file by untrusted program", "3ad7b26ded6d");
    sent.output_fields.insert(
        "proc.cmdline".into(),
        json!(format!("cat {}", "x".repeat(40))),
    );
    let (metrics, name) = deliver(sink, &options(), std::slice::from_ref(&sent)).await;
    assert_eq!(
        name,
        format!("slack:{addr}"),
        "the secret path stays out of names"
    );
    assert_eq!(metrics.sink_counts(&name), counts(1, 0, 0));

    let request = received.recv().await.unwrap();
    assert_eq!(request.path, "/services/T0/B0/secret");
    assert_eq!(request.content_type, "application/json");
    let message = request.body;
    assert_eq!(
        message["text"],
        "Warning: Read sensitive file by untrusted program"
    );
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["color"], "#ffff00");
    assert_eq!(attachment["text"], sent.output);
    assert_eq!(attachment["fallback"], sent.output);
    let fields: Vec<(&str, &str, bool)> = attachment["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap(),
                f["value"].as_str().unwrap(),
                f["short"].as_bool().unwrap(),
            )
        })
        .collect();
    let cmdline = format!("cat {}", "x".repeat(40));
    // The facts sit side by side; other values do when shorter than 36 characters; null
    // fields are left out.
    assert_eq!(
        fields,
        [
            ("rule", "Read sensitive file by untrusted program", true),
            ("priority", "Warning", true),
            ("container", "3ad7b26ded6d", true),
            ("hostname", "node-1", true),
            ("source", "syscall", true),
            ("tags", "filesystem, T1003.008", true),
            ("container.id", "3ad7b26ded6d", true),
            ("fd.name", "/etc/shadow", true),
            ("proc.cmdline", cmdline.as_str(), false),
            ("user.uid", "0", true),
            ("time", "2026-11-23T10:20:30.123456789Z", false),
        ]
    );
}

/// `GET path` over plain HTTP/1.1; the status line and the body.
async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[tokio::test]
async fn metrics_endpoint_serves_sink_counters() {
    let (addr, _received) = server(1, None).await;
    let metrics = Arc::new(Metrics::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = listener.local_addr().unwrap();
    tokio::spawn(metrics::serve(listener, metrics.clone()));

    let sink = Sink::Http(format!("http://{addr}/").parse().unwrap());
    let (senders, tasks) = Sinks::start(&[sink], &options(), &metrics).unwrap();
    senders.send(&alert("R", "c"));
    drop(senders);
    assert!(tasks.finish(Duration::from_secs(60)).await.is_empty());

    let (status, body) = get(metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let sink = format!("sink=\"http:{addr}\"");
    for line in [
        format!("haechi_sink_sent_total{{{sink}}} 1"),
        format!("haechi_sink_failures_total{{{sink}}} 1"),
        format!("haechi_sink_dropped_total{{{sink}}} 0"),
        format!("haechi_sink_queue_depth{{{sink}}} 0"),
        "haechi_agent_events_lost_total 0".to_owned(),
    ] {
        assert!(body.lines().any(|l| l == line), "no `{line}` in:\n{body}");
    }
    assert!(body.ends_with("# EOF\n"));
    assert_eq!(get(metrics_addr, "/").await.0, "HTTP/1.1 404 Not Found");
}

/// The kubelet's probes: `/healthz` while the runtime answers, `/readyz` once the sensor is
/// attached (503 before), GET only.
#[tokio::test]
async fn probes_answer_health_and_readiness() {
    let metrics = Arc::new(Metrics::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(metrics::serve(listener, metrics.clone()));
    assert_eq!(
        get(addr, "/healthz").await,
        ("HTTP/1.1 200 OK".to_owned(), "ok\n".to_owned())
    );
    assert_eq!(
        get(addr, "/readyz").await.0,
        "HTTP/1.1 503 Service Unavailable"
    );
    metrics.set_ready();
    assert_eq!(
        get(addr, "/readyz").await,
        ("HTTP/1.1 200 OK".to_owned(), "ok\n".to_owned())
    );
}
