//! HTTP sinks: each alert POSTed as JSON (Falco's shape, or a Slack message) over http or
//! https, with a time limit per request and a bounded number of attempts spaced by a doubling
//! backoff. hyper-util's pooled client keeps connections alive between alerts; rustls with
//! the system's trust store (plus any extra CA) serves https.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use haechi_rules::alert::Alert;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prometheus_client::metrics::counter::Counter;
use rustls_pki_types::CertificateDer;

use super::{SinkError, SinkOptions, Worker, slack};

/// The pooled client every HTTP sink shares.
pub(super) type Client = Pool<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How much of a response body is read (and thrown away) so the connection can be reused.
const RESPONSE_LIMIT: usize = 64 * 1024;

/// An http:// or https:// URL alerts are POSTed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    uri: Uri,
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Endpoint, String> {
        let uri: Uri = text.parse().map_err(|e| {
            format!("not a URL ({e}); expected http://host[:port]/path or https://…")
        })?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(other) => return Err(format!("scheme `{other}` is not http or https")),
            None => return Err("no scheme; expected http://… or https://…".to_owned()),
        }
        match uri.host() {
            Some(host) if !host.is_empty() => Ok(Endpoint { uri }),
            _ => Err("no host".to_owned()),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uri.fmt(f)
    }
}

impl Endpoint {
    /// `host[:port]`, without credentials, path or query.
    pub fn authority(&self) -> String {
        let host = self.uri.host().unwrap_or_default();
        match self.uri.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

/// What an HTTP sink sends.
#[derive(Debug, Clone, Copy)]
pub(super) enum Payload {
    /// The alert as Falco writes it (what Falcosidekick accepts at `/`).
    Falco,
    /// A Slack incoming-webhook message.
    Slack,
}

impl Payload {
    fn encode(self, alert: &Alert) -> serde_json::Result<Vec<u8>> {
        match self {
            Payload::Falco => serde_json::to_vec(alert),
            Payload::Slack => serde_json::to_vec(&slack::message(alert)),
        }
    }
}

/// The client for http and https endpoints: the system's CAs (`rustls-native-certs`) and
/// `extra_roots`.
pub(super) fn client(extra_roots: &[CertificateDer<'static>]) -> Result<Client, SinkError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::debug!("system CA certificates: {err}");
    }
    roots.add_parsable_certificates(native.certs);
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| SinkError::Tls(format!("extra CA certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SinkError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Pool::builder(TokioExecutor::new()).build(connector))
}

/// Delivers bodies to one endpoint.
pub(super) struct Poster {
    client: Client,
    endpoint: Endpoint,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
}

impl Poster {
    pub(super) fn new(client: Client, endpoint: Endpoint, options: &SinkOptions) -> Poster {
        Poster {
            client,
            endpoint,
            attempts: options.attempts.max(1),
            backoff: options.backoff,
            timeout: options.timeout,
        }
    }

    /// Tries up to `attempts` times, waiting `backoff`, 2×`backoff`, … between tries; counts
    /// each failed try in `failures`. The error is the last try's.
    async fn deliver(&self, body: Bytes, failures: &Counter) -> Result<(), String> {
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match tokio::time::timeout(self.timeout, self.post(body.clone())).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(err)) => last = err,
                Err(_) => last = format!("no answer within {:?}", self.timeout),
            }
            failures.inc();
            if attempt < self.attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
        Err(last)
    }

    /// One POST; a status other than 2xx is an error.
    async fn post(&self, body: Bytes) -> Result<(), String> {
        let request = Request::post(self.endpoint.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("haechi/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| chain(&e))?;
        let status = response.status();
        // Read what the server sent so the connection goes back to the pool.
        let _ = Limited::new(response.into_body(), RESPONSE_LIMIT)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}

/// An error with its causes (hyper-util's own message is only "client error (Connect)").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Delivers queued alerts one at a time until the queue closes.
pub(super) async fn run(post: Poster, mut worker: Worker, payload: Payload) {
    while let Some(alert) = worker.next().await {
        let body = match payload.encode(&alert) {
            Ok(body) => Bytes::from(body),
            Err(err) => {
                tracing::warn!("{}: cannot encode an alert: {err}", worker.name);
                worker.dropped.inc();
                continue;
            }
        };
        match post.deliver(body, &worker.failures).await {
            Ok(()) => {
                worker.sent.inc();
            }
            Err(err) => {
                worker.dropped.inc();
                tracing::warn!(
                    "{}: alert `{}` dropped after {} attempts: {err}",
                    worker.name,
                    alert.rule,
                    post.attempts
                );
            }
        }
    }
}
