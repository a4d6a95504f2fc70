//! The HTTPS server: `POST /validate`, `POST /mutate`, `GET /healthz`, `GET /readyz`,
//! `GET /metrics`. HTTP/1.1 over rustls, one task per connection, limits on body size and on
//! slow clients, certificate and policy reloads from a polling task, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::evaluate::{self, Outcome};
use crate::metrics::{CheckLabels, Metrics, ReviewLabels};
use crate::namespaces;
use crate::policy::{NamespaceLabels, PolicyFile};
use crate::review::{self, AdmissionRequest, BadReview};
use crate::tls::{CertStore, TlsError};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// Policy file (built-in defaults without one).
    pub config: Option<PathBuf>,
    /// How often the certificate, key and policy files are checked for changes.
    pub reload_interval: Duration,
    /// Largest request body accepted; larger ones get 413.
    pub max_body: usize,
    /// Time a client has to finish the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time a client has to send the request headers once it has started them.
    pub header_timeout: Duration,
    /// Time a client has to send the request body.
    pub body_timeout: Duration,
    /// Time open connections get to finish on shutdown.
    pub shutdown_grace: Duration,
}

impl Options {
    /// Defaults: 1 s reloads, 4 MiB bodies, 10 s for handshakes, headers and bodies.
    pub fn new(listen: SocketAddr, cert: PathBuf, key: PathBuf) -> Options {
        Options {
            listen,
            cert,
            key,
            config: None,
            reload_interval: Duration::from_secs(1),
            max_body: 4 << 20,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The certificate or key.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The policy file.
    #[error(transparent)]
    Policy(#[from] haechi_policy::ConfigError),
    /// The listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Reviews with a body larger than this are judged one at a time (see [`handle`]); real
/// workloads are far smaller (a Deployment with a few containers is a few KiB).
const LARGE_REVIEW: usize = 256 << 10;

/// What request handlers share.
struct State {
    policy: PolicyFile,
    labels: NamespaceLabels,
    metrics: Metrics,
    options: Options,
    /// The one permit a review larger than [`LARGE_REVIEW`] needs.
    large_reviews: tokio::sync::Semaphore,
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    certs: Arc<CertStore>,
    state: Arc<State>,
    namespace_watcher: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Loads the certificate and policy and binds the listening socket.
    pub async fn bind(options: Options) -> Result<Server, StartError> {
        let certs = Arc::new(CertStore::load(&options.cert, &options.key)?);
        let acceptor = TlsAcceptor::from(certs.server_config()?);
        let policy = PolicyFile::load(options.config.as_deref())?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: options.listen,
                    source,
                })?;
        Ok(Server {
            listener,
            acceptor,
            certs,
            state: Arc::new(State {
                policy,
                labels: NamespaceLabels::default(),
                metrics: Metrics::default(),
                options,
                large_reviews: tokio::sync::Semaphore::new(1),
            }),
            namespace_watcher: None,
        })
    }

    /// The address the server listens on (the port chosen when it was 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The namespace label cache the server reads; a namespace watcher fills it.
    pub fn namespace_labels(&self) -> NamespaceLabels {
        self.state.labels.clone()
    }

    /// Starts watching the cluster's Namespaces through `client` (see [`namespaces::watch`]);
    /// `/readyz` answers 503 until the first list is in.
    pub fn watch_namespaces(&mut self, client: kube::Client) {
        let labels = self.state.labels.clone();
        labels.expect_sync();
        if let Some(old) = self.namespace_watcher.take() {
            old.abort();
        }
        self.namespace_watcher = Some(tokio::spawn(namespaces::watch(client, labels)));
    }

    /// Serves until `shutdown` completes, then stops accepting and gives open connections
    /// [`Options::shutdown_grace`] to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let reloader = tokio::spawn(reload_loop(self.certs.clone(), self.state.clone()));
        let graceful = GracefulShutdown::new();
        // Dropped on shutdown: connections still in their TLS handshake then give up at once
        // (established ones are closed gracefully by `graceful`).
        let (stopping_tx, stopping) = tokio::sync::watch::channel(());
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = self.acceptor.clone();
            let state = self.state.clone();
            let watcher = graceful.watcher();
            let mut stopping = stopping.clone();
            tokio::spawn(async move {
                let handshake = state.options.handshake_timeout;
                let accepted = tokio::select! {
                    accepted = tokio::time::timeout(handshake, acceptor.accept(tcp)) => accepted,
                    _ = stopping.changed() => return,
                };
                let tls = match accepted {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        state.metrics.error("tls", "tls_handshake");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        state.metrics.error("tls", "tls_handshake_timeout");
                        return;
                    }
                };
                let service = service_fn(|request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(state, request).await) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(state.options.header_timeout)
                    .serve_connection(TokioIo::new(tls), service);
                if let Err(e) = watcher.watch(connection).await {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
            });
        }
        drop(self.listener);
        drop(stopping_tx);
        reloader.abort();
        if let Some(watcher) = &self.namespace_watcher {
            watcher.abort();
        }
        tracing::info!("shutting down");
        let grace = self.state.options.shutdown_grace;
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {grace:?}; closing them");
        }
    }
}

/// Polls the certificate, key and policy files and swaps in what changed.
async fn reload_loop(certs: Arc<CertStore>, state: Arc<State>) {
    let mut interval = tokio::time::interval(state.options.reload_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last error logged, so that a file that stays broken is reported once.
    let mut cert_error = String::new();
    let mut policy_error = String::new();
    loop {
        interval.tick().await;
        match certs.reload() {
            Ok(true) => {
                tracing::info!("serving the new certificate");
                state.metrics.reload("certificate", true);
                cert_error.clear();
            }
            Ok(false) => {}
            Err(e) => {
                let message = e.to_string();
                if message != cert_error {
                    tracing::error!("keeping the current certificate: {message}");
                    state.metrics.reload("certificate", false);
                    cert_error = message;
                }
            }
        }
        match state.policy.reload() {
            Ok(true) => {
                tracing::info!("policy reloaded");
                state.metrics.reload("config", true);
                policy_error.clear();
            }
            Ok(false) => {}
            Err(e) => {
                let message = e.to_string();
                if message != policy_error {
                    tracing::error!("keeping the current policy: {message}");
                    state.metrics.reload("config", false);
                    policy_error = message;
                }
            }
        }
    }
}

/// The two review endpoints.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Validate,
    Mutate,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let endpoint = match request.uri().path() {
        "/validate" => Endpoint::Validate,
        "/mutate" => Endpoint::Mutate,
        path @ ("/healthz" | "/readyz" | "/metrics") => {
            if request.method() != Method::GET {
                return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
            }
            return match path {
                "/metrics" => {
                    let mut response = text(StatusCode::OK, state.metrics.encode());
                    response.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    );
                    response
                }
                "/readyz" if !state.labels.is_synced() => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "waiting for the first list of namespaces\n",
                ),
                _ => text(StatusCode::OK, "ok\n"),
            };
        }
        _ => {
            state.metrics.error("other", "not_found");
            return text(
                StatusCode::NOT_FOUND,
                "not found: the webhook serves POST /validate and POST /mutate\n",
            );
        }
    };
    if request.method() != Method::POST {
        state.metrics.error(endpoint.name(), "method");
        return text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
    }
    let body = match read_body(&state, request).await {
        Ok(body) => body,
        Err((status, reason, message)) => {
            state.metrics.error(endpoint.name(), reason);
            return text(status, message);
        }
    };
    let started = Instant::now();
    // Reviews are judged on the blocking pool, so the runtime's threads keep accepting and
    // reading; large ones one at a time, so however many arrive together, small reviews keep
    // a core and stay within the API server's timeout.
    let _large = if body.len() > LARGE_REVIEW {
        Some(
            state
                .large_reviews
                .acquire()
                .await
                .expect("the semaphore is never closed"),
        )
    } else {
        None
    };
    let judge = state.clone();
    let judged = tokio::task::spawn_blocking(move || {
        review::parse(&body).and_then(|request| {
            let policy = judge.policy.current();
            let outcome = match endpoint {
                Endpoint::Validate => evaluate::validate(&policy, &judge.labels, &request),
                Endpoint::Mutate => evaluate::mutate(&policy, &judge.labels, &request),
            }?;
            Ok((request, outcome))
        })
    })
    .await;
    let Ok(result) = judged else {
        state.metrics.error(endpoint.name(), "internal");
        return text(StatusCode::INTERNAL_SERVER_ERROR, "the review failed\n");
    };
    let (request, outcome) = match result {
        Ok(done) => done,
        Err(BadReview(message)) => {
            tracing::debug!(endpoint = endpoint.name(), "bad request: {message}");
            state.metrics.error(endpoint.name(), "bad_request");
            return text(StatusCode::BAD_REQUEST, format!("{message}\n"));
        }
    };
    record(&state, endpoint, &request, &outcome);
    state
        .metrics
        .duration
        .get_or_create(&vec![("endpoint", endpoint.name())])
        .observe(started.elapsed().as_secs_f64());
    let json = serde_json::to_vec(&outcome.response.into_review()).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(json)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

type BodyError = (StatusCode, &'static str, String);

/// Reads the body within the size and time limits.
async fn read_body(state: &State, request: Request<Incoming>) -> Result<Bytes, BodyError> {
    let max = state.options.max_body;
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("request body larger than {max} bytes\n"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let collect = Limited::new(request.into_body(), max).collect();
    match tokio::time::timeout(state.options.body_timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err((
            StatusCode::BAD_REQUEST,
            "body",
            format!("cannot read the request body: {e}\n"),
        )),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "request body not received in time\n".to_string(),
        )),
    }
}

/// Logs and counts a review; audit records only when the request is not a dry run.
fn record(state: &State, endpoint: Endpoint, request: &AdmissionRequest, outcome: &Outcome) {
    let response = &outcome.response;
    let verdict = match (response.allowed, &response.patch) {
        (false, _) => "denied",
        (true, Some(_)) => "patched",
        (true, None) => "allowed",
    };
    let namespace = request.namespace.as_deref().unwrap_or("");
    let name = request.name.as_deref().unwrap_or("");
    tracing::debug!(
        endpoint = endpoint.name(),
        uid = %request.uid,
        kind = %request.kind.kind,
        namespace,
        name,
        verdict,
        "review"
    );
    state
        .metrics
        .reviews
        .get_or_create(&ReviewLabels {
            endpoint: endpoint.name(),
            verdict,
            kind: request.kind.kind.clone(),
        })
        .inc();
    if request.is_dry_run() {
        return;
    }
    for audit in &outcome.audit {
        tracing::info!(
            target: "haechi::audit",
            uid = %request.uid,
            kind = %request.kind.kind,
            namespace,
            name,
            user = %request.user_info.username,
            check = audit.check,
            "{}",
            audit.message
        );
        state
            .metrics
            .audit_violations
            .get_or_create(&CheckLabels { check: audit.check })
            .inc_by(audit.violations);
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
