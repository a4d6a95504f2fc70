//! One HTTP/1.1 request to an endpoint, over TLS that verifies nothing (a probe asks what the
//! endpoint gives a stranger, so it presents no certificate and accepts any) or over plain TCP,
//! with one deadline for connect, handshake, request and body.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Most of a body kept for evidence and parsing.
const MAX_BODY: usize = 256 << 10;

/// How the endpoint was spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Https,
    Http,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub body: String,
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing listens (connection refused, host unreachable).
    Closed(String),
    /// No answer within the deadline.
    Timeout,
    /// A TLS server that ended the handshake with an alert: it wants a client certificate.
    TlsRejected(String),
    /// The endpoint does not speak TLS.
    NotTls,
    /// Anything else.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Closed(e) => write!(f, "not listening ({e})"),
            Failure::Timeout => f.write_str("no answer before the timeout"),
            Failure::TlsRejected(alert) => write!(
                f,
                "TLS handshake refused without a client certificate ({alert})"
            ),
            Failure::NotTls => f.write_str("not a TLS endpoint"),
            Failure::Other(e) => f.write_str(e),
        }
    }
}

/// Accepts any server certificate: the probe asks what an anonymous client gets, not whether
/// the server is who it claims to be. Signatures are still checked so the handshake is real.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS client every probe shares.
pub(crate) fn connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Classifies an error by the rustls error somewhere in its chain.
fn classify(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::AlertReceived(alert) => {
                    Failure::TlsRejected(format!("alert {alert:?}"))
                }
                rustls::Error::InvalidMessage(_) => Failure::NotTls,
                other => Failure::Other(format!("TLS: {other}")),
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            current = Some(inner);
            continue;
        }
        current = e.source();
    }
    Failure::Other(error.to_string())
}

async fn send<S>(
    stream: S,
    host: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<Response, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e))?;
    let conn = tokio::spawn(conn);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header(
            "user-agent",
            concat!("haechi-audit/", env!("CARGO_PKG_VERSION")),
        )
        .header("accept", "application/json, */*");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
        .map_err(|e| Failure::Other(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| classify(&e))?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    conn.abort();
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Sends one request; the whole exchange must finish within `timeout`.
pub(crate) async fn request(
    tls: &TlsConnector,
    scheme: Scheme,
    (host, port): (&str, u16),
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response, Failure> {
    let exchange = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| Failure::Closed(e.to_string()))?;
        let authority = format!("{host}:{port}");
        match scheme {
            Scheme::Http => send(tcp, &authority, method, path, body).await,
            Scheme::Https => {
                let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                    .map_err(|e| Failure::Other(format!("{host}: {e}")))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| classify(&e))?;
                send(stream, &authority, method, path, body).await
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(Failure::Timeout))
}
