//! What the webhook tests share: a real server on 127.0.0.1:0 with certificates from the certs
//! module, a real HTTPS client trusting the generated CA, the recorded AdmissionReviews, and a
//! Kubernetes API server stand-in ([`apiserver`]) with a kube-rs client for it.
// Each test file uses its own subset.
#![allow(dead_code)]

pub mod apiserver;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use haechi_admission::{NamespaceLabels, Options, Server, certs};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value as Json;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

/// A running server and what a client needs to reach it.
pub struct Harness {
    pub addr: std::net::SocketAddr,
    pub dir: TempDir,
    pub ca: String,
    pub labels: NamespaceLabels,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Harness {
    pub async fn start(config: Option<&str>) -> Harness {
        Harness::start_with(config, |_| {}).await
    }

    pub async fn start_with(config: Option<&str>, tweak: impl FnOnce(&mut Options)) -> Harness {
        Harness::start_prepared(config, tweak, |_| {}).await
    }

    /// Like [`Harness::start_with`], and `prepare` sees the bound server before it runs.
    pub async fn start_prepared(
        config: Option<&str>,
        tweak: impl FnOnce(&mut Options),
        prepare: impl FnOnce(&mut Server),
    ) -> Harness {
        let dir = TempDir::new().unwrap();
        let generated = certs::generate(&["localhost".to_string()]).unwrap();
        generated.write(dir.path()).unwrap();
        let mut options = Options::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
        );
        if let Some(text) = config {
            let path = dir.path().join("admit.yaml");
            std::fs::write(&path, text).unwrap();
            options.config = Some(path);
        }
        options.reload_interval = Duration::from_millis(100);
        tweak(&mut options);
        let mut server = Server::bind(options).await.unwrap();
        prepare(&mut server);
        let addr = server.local_addr().unwrap();
        let labels = server.namespace_labels();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Harness {
            addr,
            dir,
            ca: generated.ca_cert,
            labels,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new keep-alive connection trusting `cas`, and the certificate the server presented.
    pub async fn connect_trusting(&self, cas: &[&str]) -> Result<Client, std::io::Error> {
        let tcp = TcpStream::connect(self.addr).await?;
        let tls = TlsConnector::from(client_config(cas))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        let peer = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(Client { sender, peer })
    }

    pub async fn connect(&self) -> Client {
        self.connect_trusting(&[&self.ca]).await.unwrap()
    }

    /// Sends one request on a new connection.
    pub async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
        self.connect().await.send(method, path, body).await
    }

    /// Posts a review and returns its `response`.
    pub async fn review(&self, path: &str, review: &Json) -> Json {
        let (status, body) = self
            .send(Method::POST, path, serde_json::to_vec(review).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let answer: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
        answer["response"].clone()
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = self.send(Method::GET, "/metrics", Vec::new()).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body.to_vec()).unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the server stops")
                .unwrap();
        }
    }
}

/// A TLS client configuration trusting `cas` (PEM).
pub fn client_config(cas: &[&str]) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    for ca in cas {
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

pub struct Client {
    pub sender: SendRequest<Full<Bytes>>,
    pub peer: Vec<u8>,
}

impl Client {
    pub async fn send(&mut self, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }
}

pub fn fixture(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reviews")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn warnings(response: &Json) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Waits until `condition` holds, for up to 5 s.
pub async fn eventually<F: std::future::Future<Output = bool>>(mut condition: impl FnMut() -> F) {
    for _ in 0..100 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within 5 s");
}

/// A kube-rs client for the cluster `kubeconfig` names.
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}
