//! `haechi audit probe` against real servers on loopback: Debian's etcd without TLS and with
//! client-certificate TLS (certificates made here with rcgen), and HTTPS stand-ins that answer
//! like an API server or a kubelet with the bodies in tests/fixtures/apiserver.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use haechi_audit::probe::{self, Options, Service};
use haechi_audit::{Report, Status};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Probe options that look only at `service` on `ports`.
fn only(service: Service, ports: &[u16]) -> Options {
    let mut map: BTreeMap<Service, Vec<u16>> =
        Service::ALL.iter().map(|s| (*s, Vec::new())).collect();
    map.insert(service, ports.to_vec());
    Options {
        ports: map,
        timeout: Duration::from_secs(3),
        concurrency: 4,
    }
}

fn with(mut options: Options, service: Service, ports: &[u16]) -> Options {
    options.ports.insert(service, ports.to_vec());
    options
}

fn run(options: &Options) -> Report {
    probe::probe(&["127.0.0.1".to_string()], options).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/apiserver")
            .join(name),
    )
    .unwrap()
}

// ---- etcd ---------------------------------------------------------------------------------

fn etcd_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("etcd"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("skipped: no etcd binary (Debian package etcd-server; CI installs it)");
    }
    found
}

struct Etcd {
    child: Child,
    client: u16,
    peer: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Certificates for an etcd that requires client certificates on both ports.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
        KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let ca_cert: &rcgen::Certificate = ca.as_ref();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, &ca).unwrap();
    let pki = Pki {
        ca: dir.join("ca.crt"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

fn start_etcd(binary: &Path, tls: bool) -> Etcd {
    let dir = tempfile::tempdir().unwrap();
    let (client, peer) = (free_port(), free_port());
    let scheme = if tls { "https" } else { "http" };
    let client_url = format!("{scheme}://127.0.0.1:{client}");
    let peer_url = format!("{scheme}://127.0.0.1:{peer}");
    let mut command = Command::new(binary);
    command
        .arg("--name=probe-test")
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=probe-test={peer_url}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("etcd.log")).unwrap(),
        ));
    if tls {
        let pki = pki(dir.path());
        command
            .arg(format!("--cert-file={}", pki.cert.display()))
            .arg(format!("--key-file={}", pki.key.display()))
            .arg("--client-cert-auth=true")
            .arg(format!("--trusted-ca-file={}", pki.ca.display()))
            .arg(format!("--peer-cert-file={}", pki.cert.display()))
            .arg(format!("--peer-key-file={}", pki.key.display()))
            .arg("--peer-client-cert-auth=true")
            .arg(format!("--peer-trusted-ca-file={}", pki.ca.display()));
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", client)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("etcd.log")).unwrap_or_default();
            panic!("etcd exited with {status}:\n{log}");
        }
        assert!(Instant::now() < deadline, "etcd did not listen within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Etcd {
        child,
        client,
        peer,
        _dir: dir,
    }
}

/// Writes a key through etcd's JSON gateway (plain HTTP), retrying while etcd elects itself.
fn put(port: u16, key: &str, value: &str) {
    use base64::Engine as _;
    let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let body = format!(r#"{{"key":"{}","value":"{}"}}"#, encode(key), encode(value));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") && answer.contains("revision") {
            return;
        }
        assert!(Instant::now() < deadline, "etcd refused the put: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn etcd_without_tls_is_reported_exposed() {
    let Some(binary) = etcd_binary() else {
        return;
    };
    let etcd = start_etcd(&binary, false);
    put(
        etcd.client,
        "/registry/secrets/default/db-password",
        "hunter2",
    );
    let options = with(
        with(
            only(Service::Etcd, &[etcd.client]),
            Service::EtcdPeer,
            &[etcd.peer],
        ),
        Service::Metrics,
        &[etcd.client],
    );
    let report = run(&options);
    // etcd serves Prometheus metrics on its client port too.
    let metrics = report.result("probe/metrics").expect("metrics result");
    assert_eq!(metrics.status, Status::Fail, "{}", metrics.message);
    let client = report
        .result("probe/etcd-client")
        .expect("etcd client result");
    assert_eq!(client.status, Status::Fail, "{}", client.message);
    assert!(client.message.contains("(1 keys)"), "{}", client.message);
    assert!(client.message.contains("plain HTTP"), "{}", client.message);
    let urls: Vec<&str> = client
        .evidence
        .iter()
        .map(|e| e.location.as_str())
        .collect();
    assert!(
        urls.contains(&format!("http://127.0.0.1:{}/v3/kv/range", etcd.client).as_str()),
        "{urls:?}"
    );
    // Only the count is read: no key or value ends up in the report.
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("aHVudGVyMg"),
        "{json}"
    );
    let peer = report.result("probe/etcd-peer").expect("etcd peer result");
    assert_eq!(peer.status, Status::Fail, "{}", peer.message);
    assert!(peer.message.contains("probe-test"), "{}", peer.message);
    assert!(report.has_failure_at_least(haechi_policy::Severity::Critical));
}

#[test]
fn etcd_with_client_certificate_tls_is_not() {
    let Some(binary) = etcd_binary() else {
        return;
    };
    let etcd = start_etcd(&binary, true);
    let options = with(
        only(Service::Etcd, &[etcd.client]),
        Service::EtcdPeer,
        &[etcd.peer],
    );
    let report = run(&options);
    for id in ["probe/etcd-client", "probe/etcd-peer"] {
        let result = report
            .result(id)
            .unwrap_or_else(|| panic!("no {id}: {:?}", report.skipped));
        assert_eq!(result.status, Status::Pass, "{id}: {}", result.message);
        assert!(
            result.message.contains("without a certificate"),
            "{}",
            result.message
        );
    }
    assert!(!report.has_failure_at_least(haechi_policy::Severity::Info));
}

// ---- HTTPS stand-ins ----------------------------------------------------------------------

/// An HTTPS server on loopback answering each path with a status and body; others get 404.
struct StandIn {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = self.thread.take().map(|t| t.join());
    }
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
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

fn stand_in(routes: &[(&str, u16, String)]) -> StandIn {
    serve(routes, true)
}

/// Answers one connection from the route table.
async fn answer<I>(io: I, routes: Arc<Vec<(String, u16, String)>>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let routes = routes.clone();
        async move {
            let path = request.uri().path().to_string();
            let (status, body) = routes
                .iter()
                .find(|(p, _, _)| *p == path)
                .map_or((404, "404 page not found".to_string()), |(_, s, b)| {
                    (*s, b.clone())
                });
            Ok::<_, std::convert::Infallible>(
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap(),
            )
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A server on loopback, over TLS or plain HTTP, answering each path with a status and body.
fn serve(routes: &[(&str, u16, String)], tls: bool) -> StandIn {
    let routes: Arc<Vec<(String, u16, String)>> = Arc::new(
        routes
            .iter()
            .map(|(p, s, b)| (p.to_string(), *s, b.clone()))
            .collect(),
    );
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls_config());
            loop {
                let (tcp, _) = tokio::select! {
                    accepted = listener.accept() => accepted.unwrap(),
                    _ = &mut stop_rx => return,
                };
                let acceptor = acceptor.clone();
                let routes = routes.clone();
                tokio::spawn(async move {
                    if !tls {
                        return answer(tcp, routes).await;
                    }
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        answer(stream, routes).await;
                    }
                });
            }
        });
    });
    StandIn {
        addr: addr_rx.recv().unwrap(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

#[test]
fn insecure_http_port_is_found_and_named() {
    let server = serve(
        &[
            ("/version", 200, fixture("version.json")),
            ("/api", 200, fixture("api.json")),
            ("/apis", 200, fixture("apis.json")),
            ("/api/v1/namespaces", 200, fixture("namespaces.json")),
            ("/api/v1/pods", 200, fixture("pods.json")),
        ],
        false,
    );
    let report = run(&only(Service::ApiServer, &[server.addr.port()]));
    let read = report.result("probe/apiserver-anonymous-read").unwrap();
    assert_eq!(read.status, Status::Fail);
    assert!(
        read.message.contains("over plain HTTP (an insecure port)"),
        "{}",
        read.message
    );
    assert!(read.evidence[0].location.starts_with("http://127.0.0.1:"));
}

#[test]
fn api_server_that_allows_anonymous_reads_is_exposed() {
    let server = stand_in(&[
        ("/version", 200, fixture("version.json")),
        ("/api", 200, fixture("api.json")),
        ("/apis", 200, fixture("apis.json")),
        ("/api/v1/namespaces", 200, fixture("namespaces.json")),
        ("/api/v1/pods", 200, fixture("pods.json")),
    ]);
    let report = run(&only(Service::ApiServer, &[server.addr.port()]));
    let statuses: Vec<(&str, Status)> = report.results.iter().map(|r| (r.id, r.status)).collect();
    assert_eq!(
        statuses,
        [
            ("probe/apiserver-version", Status::Fail),
            ("probe/apiserver-discovery", Status::Fail),
            ("probe/apiserver-anonymous-read", Status::Fail),
        ]
    );
    let version = report.result("probe/apiserver-version").unwrap();
    assert!(version.message.contains("v1.29.4"), "{}", version.message);
    let read = report.result("probe/apiserver-anonymous-read").unwrap();
    assert!(
        read.message
            .contains("namespaces (default, kube-node-lease, kube-public, kube-system) and pods"),
        "{}",
        read.message
    );
    assert_eq!(read.severity, haechi_policy::Severity::Critical);
    assert!(read.evidence[0].location.starts_with("https://127.0.0.1:"));
}

#[test]
fn api_server_with_defaults_only_discloses_its_version_and_one_with_anonymous_off_nothing() {
    let forbidden = fixture("forbidden.json");
    let defaults = stand_in(&[
        ("/version", 200, fixture("version.json")),
        ("/api", 403, forbidden.clone()),
        ("/apis", 403, forbidden.clone()),
        ("/api/v1/namespaces", 403, forbidden.clone()),
        ("/api/v1/pods", 403, forbidden),
    ]);
    let unauthorized = fixture("unauthorized.json");
    let closed = stand_in(&[
        ("/version", 401, unauthorized.clone()),
        ("/api", 401, unauthorized.clone()),
        ("/apis", 401, unauthorized.clone()),
        ("/api/v1/namespaces", 401, unauthorized.clone()),
        ("/api/v1/pods", 401, unauthorized),
    ]);
    let report = run(&only(
        Service::ApiServer,
        &[defaults.addr.port(), closed.addr.port()],
    ));
    let statuses: Vec<(&str, Status)> = report.results.iter().map(|r| (r.id, r.status)).collect();
    assert_eq!(
        statuses,
        [
            ("probe/apiserver-version", Status::Fail),
            ("probe/apiserver-version", Status::Pass),
            ("probe/apiserver-discovery", Status::Pass),
            ("probe/apiserver-discovery", Status::Pass),
            ("probe/apiserver-anonymous-read", Status::Pass),
            ("probe/apiserver-anonymous-read", Status::Pass),
        ]
    );
    assert!(
        report.results[0]
            .message
            .contains(&defaults.addr.port().to_string())
    );
    assert!(
        report.results[1].message.contains("HTTP 401"),
        "{}",
        report.results[1].message
    );
}

#[test]
fn kubelet_open_to_anonymous_is_exposed_and_one_answering_401_is_not() {
    let pods = fixture("pods.json");
    let open = stand_in(&[("/pods", 200, pods.clone()), ("/runningpods/", 200, pods)]);
    let closed = stand_in(&[
        ("/pods", 401, "Unauthorized".to_string()),
        ("/runningpods/", 401, "Unauthorized".to_string()),
    ]);
    let report = run(&only(
        Service::Kubelet,
        &[open.addr.port(), closed.addr.port()],
    ));
    let statuses: Vec<Status> = report.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Fail, Status::Pass]);
    assert!(
        report.results[0].message.contains("(1 pods)"),
        "{}",
        report.results[0].message
    );
}

#[test]
fn exposed_dashboard_is_reported_and_other_web_servers_are_not_checked() {
    let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kubernetes Dashboard</title><base href=\"/\"></head><body><kd-root></kd-root></body></html>";
    let dashboard = stand_in(&[("/", 200, page.to_string())]);
    let other = stand_in(&[("/", 200, "<html><title>nginx</title></html>".to_string())]);
    let report = run(&only(
        Service::Dashboard,
        &[dashboard.addr.port(), other.addr.port()],
    ));
    let statuses: Vec<(&str, Status)> = report.results.iter().map(|r| (r.id, r.status)).collect();
    assert_eq!(statuses, [("probe/dashboard", Status::Fail)]);
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0]
            .reason
            .contains("not the Kubernetes Dashboard")
    );
}

#[test]
fn closed_and_silent_ports_are_not_checked_within_the_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free_port();
    let mut options = only(
        Service::Etcd,
        &[silent.local_addr().unwrap().port(), closed],
    );
    options.timeout = Duration::from_millis(300);
    let report = run(&options);
    assert!(report.results.is_empty());
    let reasons: Vec<&str> = report.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("timeout"), "{reasons:?}");
    assert!(reasons[1].contains("not listening"), "{reasons:?}");
    drop(silent);
}

#[test]
fn only_host_names_and_addresses_are_accepted() {
    for bad in ["https://10.0.0.1", "10.0.0.1:6443", "a/b", ""] {
        assert!(
            probe::probe(&[bad.to_string()], &Options::default()).is_err(),
            "{bad}"
        );
    }
    assert!(probe::probe(&[], &Options::default()).is_err());
    assert!(probe::parse_port_override("etcd=2379,12379").is_ok());
    assert!(probe::parse_port_override("etcd=0").is_err());
    assert!(probe::parse_port_override("nope=1").is_err());
}
