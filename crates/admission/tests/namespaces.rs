//! The namespace watcher against a Kubernetes API server stand-in: an HTTPS server on 127.0.0.1
//! that checks the bearer token and replays tests/apiserver/ (a list, a watch that ends in 410
//! Expired, the relist). The kube-rs client reaches it through a kubeconfig file, as it would a
//! real cluster; the webhook it feeds is then asked real AdmissionReviews.

mod common;

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::{Harness, eventually, warnings};
use haechi_admission::certs;
use haechi_admission::tls::CertStore;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value as Json, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

const TOKEN: &str = "replay-token";

/// What the stand-in has been asked, and the gate holding back its first list.
#[derive(Default)]
struct Replay {
    requests: Mutex<Vec<String>>,
    first_list: Notify,
}

impl Replay {
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<BoxBody<Bytes, Infallible>> {
        let bearer = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {TOKEN}")) {
            return status(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let query = request.uri().query().unwrap_or("").to_string();
        let path = request.uri().path().to_string();
        let (lists, watches) = {
            let mut requests = self.requests.lock().unwrap();
            requests.push(format!("{path}?{query}"));
            let watching = |r: &&String| r.contains("watch=true");
            (
                requests.iter().filter(|r| !watching(r)).count(),
                requests.iter().filter(watching).count(),
            )
        };
        if path != "/api/v1/namespaces" {
            return status(
                StatusCode::NOT_FOUND,
                "the server could not find the resource",
            );
        }
        if query.contains("watch=true") {
            if watches == 1 {
                return json_body(recorded("namespaces-watch-1.jsonl"));
            }
            // Later watches stay open with nothing to say, as a quiet cluster's do.
            let quiet = futures::stream::pending::<Result<Frame<Bytes>, Infallible>>();
            return Response::new(BoxBody::new(StreamBody::new(quiet)));
        }
        if lists == 1 {
            self.first_list.notified().await;
            return json_body(recorded("namespaces-list-1.json"));
        }
        json_body(recorded("namespaces-list-2.json"))
    }
}

fn recorded(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apiserver")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn json_body(text: String) -> Response<BoxBody<Bytes, Infallible>> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn status(code: StatusCode, message: &str) -> Response<BoxBody<Bytes, Infallible>> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": code.canonical_reason(), "code": code.as_u16()});
    let mut response = json_body(body.to_string());
    *response.status_mut() = code;
    response
}

/// Starts the stand-in and writes a kubeconfig pointing at it into `dir`.
async fn start_api_server(dir: &Path) -> (Arc<Replay>, std::path::PathBuf) {
    let generated = certs::generate(&["localhost".to_string()]).unwrap();
    let tls_dir = dir.join("apiserver");
    generated.write(&tls_dir).unwrap();
    let store =
        Arc::new(CertStore::load(&tls_dir.join("tls.crt"), &tls_dir.join("tls.key")).unwrap());
    let acceptor = TlsAcceptor::from(store.server_config().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let replay = Arc::new(Replay::default());
    let serving = replay.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, replay) = (acceptor.clone(), serving.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|request| {
                    let replay = replay.clone();
                    async move { Ok::<_, Infallible>(replay.answer(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let kubeconfig = dir.join("kubeconfig");
    let ca = base64::engine::general_purpose::STANDARD.encode(&generated.ca_cert);
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: replay\n\
             clusters:\n- name: replay\n  cluster:\n    server: https://localhost:{port}\n    \
             certificate-authority-data: {ca}\n\
             users:\n- name: haechi\n  user:\n    token: {TOKEN}\n\
             contexts:\n- name: replay\n  context: {{cluster: replay, user: haechi}}\n"
        ),
    )
    .unwrap();
    (replay, kubeconfig)
}

async fn client_for(kubeconfig: &Path) -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn label(server: &Harness, namespace: &str, key: &str) -> Option<String> {
    server.labels.get(namespace).and_then(|labels| {
        labels
            .get(&format!("pod-security.kubernetes.io/{key}"))
            .cloned()
    })
}

/// A pod Baseline allows and Restricted does not (no securityContext at all).
fn plain_pod(namespace: &str) -> Json {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("0d7c1a52-0000-4000-8000-{:0>12}", namespace.len()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            },
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

#[tokio::test]
async fn namespace_labels_follow_the_cluster_through_watch_expiry_and_relist() {
    let dir = TempDir::new().unwrap();
    let (replay, kubeconfig) = start_api_server(dir.path()).await;
    let client = client_for(&kubeconfig).await;
    let server =
        Harness::start_prepared(None, |_| {}, |server| server.watch_namespaces(client)).await;

    // Until the first list is in, the webhook says it is not ready.
    let (code, body) = server.send(Method::GET, "/readyz", Vec::new()).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "waiting for the first list of namespaces\n");

    replay.first_list.notify_one();
    // After the list, the watch (label change, new namespace, deletion, bookmark), the 410 and
    // the relist, the cache holds what list 2 says.
    eventually(|| async { server.labels.get("late").is_some() }).await;
    assert_eq!(
        label(&server, "legacy", "enforce").as_deref(),
        Some("baseline")
    );
    assert_eq!(
        label(&server, "legacy", "warn").as_deref(),
        Some("restricted")
    );
    assert_eq!(
        label(&server, "sandbox", "enforce").as_deref(),
        Some("restricted")
    );
    assert_eq!(
        label(&server, "payments", "enforce").as_deref(),
        Some("restricted")
    );
    assert_eq!(
        label(&server, "late", "enforce").as_deref(),
        Some("restricted")
    );
    assert!(server.labels.get("old-team").is_none());
    assert!(server.labels.get("kube-system").is_some());
    let (code, _) = server.send(Method::GET, "/readyz", Vec::new()).await;
    assert_eq!(code, StatusCode::OK);

    // List, watch from the list's resourceVersion, relist after 410, watch from the relist's.
    eventually(|| async { replay.requests().len() >= 4 }).await;
    let requests = replay.requests();
    assert!(!requests[0].contains("watch=true"), "{requests:?}");
    assert!(requests[1].contains("watch=true"), "{requests:?}");
    assert!(requests[1].contains("resourceVersion=4821"), "{requests:?}");
    assert!(!requests[2].contains("watch=true"), "{requests:?}");
    assert!(requests[3].contains("resourceVersion=4905"), "{requests:?}");

    // The labels decide: restricted where the cluster says so, baseline + warn in legacy.
    let denied = server.review("/validate", &plain_pod("late")).await;
    assert_eq!(denied["allowed"], false);
    assert!(
        denied["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("violates PodSecurity \"restricted:latest\""),
        "{denied}"
    );
    let warned = server.review("/validate", &plain_pod("legacy")).await;
    assert_eq!(warned["allowed"], true);
    assert!(
        warnings(&warned)
            .iter()
            .any(|w| w.contains("would violate PodSecurity \"restricted:latest\"")),
        "{warned}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refused_token_keeps_the_webhook_unready_and_serving() {
    let dir = TempDir::new().unwrap();
    let (replay, kubeconfig) = start_api_server(dir.path()).await;
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace(TOKEN, "stolen-token")).unwrap();
    let client = client_for(&kubeconfig).await;
    let server =
        Harness::start_prepared(None, |_| {}, |server| server.watch_namespaces(client)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(replay.requests().is_empty(), "401s are not recorded");
    let (code, _) = server.send(Method::GET, "/readyz", Vec::new()).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    // Reviews are still answered, by the policy file's levels.
    let response = server.review("/validate", &plain_pod("late")).await;
    assert_eq!(response["allowed"], true);
    server.stop().await;
}
