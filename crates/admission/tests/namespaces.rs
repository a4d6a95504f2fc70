//! The namespace watcher against a Kubernetes API server stand-in: an HTTPS server on 127.0.0.1
//! that checks the bearer token and replays tests/apiserver/ (a list, a watch that ends in 410
//! Expired, the relist). The kube-rs client reaches it through a kubeconfig file, as it would a
//! real cluster; the webhook it feeds is then asked real AdmissionReviews.

mod common;

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::apiserver::{self, Body, TOKEN, json_body, status};
use common::{Harness, eventually, kube_client, warnings};
use http_body_util::StreamBody;
use http_body_util::combinators::BoxBody;
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value as Json, json};
use tempfile::TempDir;
use tokio::sync::Notify;

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

    async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
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
            let message = "the server could not find the requested resource";
            return status(StatusCode::NOT_FOUND, "NotFound", message, None);
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

/// Starts the stand-in replaying tests/apiserver/; returns it and a kubeconfig for it.
async fn start_api_server(dir: &Path) -> (Arc<Replay>, std::path::PathBuf) {
    let replay = Arc::new(Replay::default());
    let serving = replay.clone();
    let kubeconfig = apiserver::serve(dir, move |request| {
        let replay = serving.clone();
        async move { replay.answer(request).await }
    })
    .await;
    (replay, kubeconfig)
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
    let client = kube_client(&kubeconfig).await;
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
    let client = kube_client(&kubeconfig).await;
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
