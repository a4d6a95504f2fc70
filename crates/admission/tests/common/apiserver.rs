//! A Kubernetes API server stand-in: HTTPS on 127.0.0.1 with a certificate from the certs
//! module, a bearer token checked on every request (401 otherwise, as the API server answers),
//! and a kubeconfig file through which kube-rs, or the haechi binary with KUBECONFIG, reaches
//! it as it would a real cluster. What it answers is up to a handler; [`Cluster`] is one that
//! keeps Secrets and webhook configurations in memory and speaks the API server's wire format
//! for them: objects as JSON with server-set metadata, `Status` objects with the API server's
//! reasons and messages for errors, JSON Patch and merge patch by content type.
//!
//! Self-contained (only outside crates), so that the haechi binary's tests can include it too.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use haechi_admission::certs;
use haechi_admission::tls::CertStore;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value as Json, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The bearer token the kubeconfig carries and the stand-in expects.
pub const TOKEN: &str = "stand-in-token";

/// A response body.
pub type Body = BoxBody<Bytes, Infallible>;

/// Serves `answer` over HTTPS on 127.0.0.1:0 and writes a kubeconfig for it into `dir`;
/// returns the kubeconfig's path. Requests without the token get 401 and never reach `answer`.
pub async fn serve<F, Fut>(dir: &Path, answer: F) -> PathBuf
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let generated = certs::generate(&["localhost".to_string()]).unwrap();
    let tls_dir = dir.join("apiserver");
    generated.write(&tls_dir).unwrap();
    let store = std::sync::Arc::new(
        CertStore::load(&tls_dir.join("tls.crt"), &tls_dir.join("tls.key")).unwrap(),
    );
    let acceptor = TlsAcceptor::from(store.server_config().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |request| {
                    let answer = answer.clone();
                    async move { Ok::<_, Infallible>(authorized(request, answer).await) }
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
            "apiVersion: v1\nkind: Config\ncurrent-context: stand-in\n\
             clusters:\n- name: stand-in\n  cluster:\n    server: https://localhost:{port}\n    \
             certificate-authority-data: {ca}\n\
             users:\n- name: haechi\n  user:\n    token: {TOKEN}\n\
             contexts:\n- name: stand-in\n  context: {{cluster: stand-in, user: haechi}}\n"
        ),
    )
    .unwrap();
    kubeconfig
}

async fn authorized<F, Fut>(request: Request<Incoming>, answer: F) -> Response<Body>
where
    F: Fn(Request<Incoming>) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {TOKEN}")) {
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        );
    }
    answer(request).await
}

/// A 200 response with a JSON body.
pub fn json_body(text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn object_response(code: StatusCode, object: &Json) -> Response<Body> {
    let mut response = json_body(object.to_string());
    *response.status_mut() = code;
    response
}

/// A failure `Status` as the API server sends it.
pub fn status(
    code: StatusCode,
    reason: &str,
    message: &str,
    details: Option<Json>,
) -> Response<Body> {
    let mut body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    if let Some(details) = details {
        body["details"] = details;
    }
    object_response(code, &body)
}

/// Where an object of `kind` lives: its API group ("" for the core group) and resource.
fn resource_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Secret" => ("", "secrets"),
        "ValidatingWebhookConfiguration" => (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
        "MutatingWebhookConfiguration" => (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        other => panic!("the stand-in does not hold {other}"),
    }
}

/// The group of a resource the stand-in holds.
fn group_of(resource: &str) -> Option<&'static str> {
    match resource {
        "secrets" => Some(""),
        "validatingwebhookconfigurations" | "mutatingwebhookconfigurations" => {
            Some("admissionregistration.k8s.io")
        }
        _ => None,
    }
}

/// A request's target: a collection (POST) or an item in it (GET, PUT, PATCH).
struct Route {
    collection: String,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (collection_len, namespace) = match segments.as_slice() {
            ["api", "v1", "namespaces", namespace, _, ..] => (5, Some(namespace.to_string())),
            ["apis", _, _, _, ..] => (4, None),
            _ => return None,
        };
        if segments.len() > collection_len + 1 {
            return None;
        }
        let resource = segments[collection_len - 1].to_string();
        group_of(&resource)?;
        Some(Route {
            collection: format!("/{}", segments[..collection_len].join("/")),
            namespace,
            resource,
            name: segments.get(collection_len).map(|name| name.to_string()),
        })
    }

    fn item(&self, name: &str) -> String {
        format!("{}/{name}", self.collection)
    }

    fn group(&self) -> &'static str {
        group_of(&self.resource).unwrap_or_default()
    }

    fn details(&self, name: Option<&str>) -> Json {
        let mut details = json!({"kind": self.resource});
        if let Some(name) = name {
            details["name"] = json!(name);
        }
        if !self.group().is_empty() {
            details["group"] = json!(self.group());
        }
        details
    }

    /// The noun the API server's messages use: `secrets` or `x.admissionregistration.k8s.io`.
    fn qualified(&self) -> String {
        match self.group() {
            "" => self.resource.clone(),
            group => format!("{}.{group}", self.resource),
        }
    }

    fn not_found(&self, name: &str) -> Response<Body> {
        let message = format!("{} \"{name}\" not found", self.qualified());
        status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &message,
            Some(self.details(Some(name))),
        )
    }

    fn forbidden(&self, verb: &str) -> Response<Body> {
        let user = "system:serviceaccount:haechi-system:haechi-certs";
        let subject = match &self.name {
            Some(name) => format!("{} \"{name}\"", self.qualified()),
            None => self.qualified(),
        };
        let scope = match &self.namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_string(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            self.resource,
            self.group()
        );
        let details = self.details(self.name.as_deref());
        status(StatusCode::FORBIDDEN, "Forbidden", &message, Some(details))
    }
}

/// An API server holding Secrets and webhook configurations in memory.
#[derive(Default)]
pub struct Cluster {
    /// Objects by path (`/api/v1/namespaces/ns/secrets/name`).
    objects: Mutex<BTreeMap<String, Json>>,
    /// `METHOD path` of each authorized request, in order.
    requests: Mutex<Vec<String>>,
    /// `verb resource` pairs RBAC refuses.
    forbidden: Mutex<Vec<String>>,
    /// An object another writer stores just before the next request with this method.
    racing: Mutex<Option<(Method, Json)>>,
    version: AtomicU64,
}

impl Cluster {
    /// Serves this cluster (see [`serve`]); returns the kubeconfig's path.
    pub async fn serve(self: &std::sync::Arc<Self>, dir: &Path) -> PathBuf {
        let cluster = self.clone();
        serve(dir, move |request| {
            let cluster = cluster.clone();
            async move { cluster.answer(request).await }
        })
        .await
    }

    /// Stores `object` as if it had been created, with server-set metadata where it has none.
    pub fn insert(&self, mut object: Json) {
        let path = Cluster::path_of(&object);
        self.stamp(&mut object);
        self.objects.lock().unwrap().insert(path, object);
    }

    /// The stored object at `path`.
    pub fn get(&self, path: &str) -> Option<Json> {
        self.objects.lock().unwrap().get(path).cloned()
    }

    /// `METHOD path` of every request answered so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Makes RBAC refuse `verb` (get, create, update, patch) on `resource` (secrets, …).
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.forbidden
            .lock()
            .unwrap()
            .push(format!("{verb} {resource}"));
    }

    /// Makes another writer store `object` just before the next request with `method` (so a
    /// POST of the same name gets 409 AlreadyExists, a PATCH applies to `object`).
    pub fn race_next(&self, method: Method, object: Json) {
        *self.racing.lock().unwrap() = Some((method, object));
    }

    /// Stores `object` over what is at its path, with a new resourceVersion.
    fn overwrite(&self, mut object: Json) {
        object["metadata"]["resourceVersion"] = json!(self.next_version());
        self.insert(object);
    }

    /// Where `object` is stored.
    pub fn path_of(object: &Json) -> String {
        let kind = object["kind"].as_str().unwrap();
        let name = object["metadata"]["name"].as_str().unwrap();
        match (resource_of(kind), object["metadata"]["namespace"].as_str()) {
            (("", resource), Some(namespace)) => {
                format!("/api/v1/namespaces/{namespace}/{resource}/{name}")
            }
            ((group, resource), _) => format!("/apis/{group}/v1/{resource}/{name}"),
        }
    }

    /// Sets the metadata the API server owns on a new object, where it is not set.
    fn stamp(&self, object: &mut Json) {
        let version = self.next_version();
        let owned = [
            ("uid", format!("6f1c2a7e-0000-4000-8000-{version:0>12}")),
            ("resourceVersion", version),
            ("creationTimestamp", "2026-11-23T09:00:00Z".to_string()),
        ];
        for (field, value) in owned {
            if object["metadata"].get(field).is_none() {
                object["metadata"][field] = json!(value);
            }
        }
    }

    fn next_version(&self) -> String {
        (self.version.fetch_add(1, Ordering::Relaxed) + 1000).to_string()
    }

    /// Answers one request.
    pub async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        self.requests
            .lock()
            .unwrap()
            .push(format!("{method} {path}"));
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let Some(route) = Route::parse(&path) else {
            let message = "the server could not find the requested resource";
            return status(StatusCode::NOT_FOUND, "NotFound", message, None);
        };
        let verb = match (&method, &route.name) {
            (&Method::GET, Some(_)) => "get",
            (&Method::POST, None) => "create",
            (&Method::PUT, Some(_)) => "update",
            (&Method::PATCH, Some(_)) => "patch",
            _ => {
                let message = format!("the server does not allow this method on {path}");
                return status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &message,
                    None,
                );
            }
        };
        let refused = format!("{verb} {}", route.resource);
        if self.forbidden.lock().unwrap().contains(&refused) {
            return route.forbidden(verb);
        }
        let racing = self.racing.lock().unwrap().take();
        match racing {
            Some((raced, object)) if raced == method => self.overwrite(object),
            other => *self.racing.lock().unwrap() = other,
        }
        match verb {
            "get" => self.read(&route),
            "create" => self.create(&route, &body),
            "update" => self.update(&route, &body),
            _ => self.patch(&route, &content_type, &body),
        }
    }

    fn read(&self, route: &Route) -> Response<Body> {
        let name = route.name.as_deref().unwrap();
        match self.get(&route.item(name)) {
            Some(object) => object_response(StatusCode::OK, &object),
            None => route.not_found(name),
        }
    }

    fn create(&self, route: &Route, body: &[u8]) -> Response<Body> {
        let mut object: Json = serde_json::from_slice(body).unwrap();
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        let path = route.item(&name);
        if self.get(&path).is_some() {
            let message = format!("{} \"{name}\" already exists", route.qualified());
            let details = route.details(Some(&name));
            return status(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &message,
                Some(details),
            );
        }
        if let Some(namespace) = &route.namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        self.stamp(&mut object);
        self.objects.lock().unwrap().insert(path, object.clone());
        object_response(StatusCode::CREATED, &object)
    }

    fn update(&self, route: &Route, body: &[u8]) -> Response<Body> {
        let name = route.name.as_deref().unwrap();
        let path = route.item(name);
        let Some(stored) = self.get(&path) else {
            return route.not_found(name);
        };
        let mut object: Json = serde_json::from_slice(body).unwrap();
        let sent = &object["metadata"]["resourceVersion"];
        if !sent.is_null() && *sent != stored["metadata"]["resourceVersion"] {
            let message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                route.qualified()
            );
            let details = route.details(Some(name));
            return status(StatusCode::CONFLICT, "Conflict", &message, Some(details));
        }
        if object.get("type").is_some() && object["type"] != stored["type"] {
            let message = format!(
                "Secret \"{name}\" is invalid: type: Invalid value: {}: field is immutable",
                object["type"]
            );
            let details = route.details(Some(name));
            return status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                &message,
                Some(details),
            );
        }
        for owned in ["uid", "creationTimestamp", "namespace"] {
            if let Some(value) = stored["metadata"].get(owned) {
                object["metadata"][owned] = value.clone();
            }
        }
        object["metadata"]["resourceVersion"] = json!(self.next_version());
        self.objects.lock().unwrap().insert(path, object.clone());
        object_response(StatusCode::OK, &object)
    }

    fn patch(&self, route: &Route, content_type: &str, body: &[u8]) -> Response<Body> {
        let name = route.name.as_deref().unwrap();
        let path = route.item(name);
        let Some(stored) = self.get(&path) else {
            return route.not_found(name);
        };
        let mut patched = stored.clone();
        let applied = match content_type {
            "application/json-patch+json" => {
                let patch: json_patch::Patch = serde_json::from_slice(body).unwrap();
                json_patch::patch(&mut patched, &patch).map_err(|e| e.to_string())
            }
            "application/merge-patch+json" => {
                json_patch::merge(&mut patched, &serde_json::from_slice(body).unwrap());
                Ok(())
            }
            other => {
                let message = format!(
                    "the body of the request was in an unknown format - accepted media types \
                     include: application/json-patch+json, application/merge-patch+json \
                     (got {other})"
                );
                return status(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    &message,
                    None,
                );
            }
        };
        if let Err(message) = applied {
            return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &message, None);
        }
        // As the API server does, a patch that changes nothing is not written.
        if patched != stored {
            patched["metadata"]["resourceVersion"] = json!(self.next_version());
            if let Some(generation) = stored["metadata"]["generation"].as_u64() {
                patched["metadata"]["generation"] = json!(generation + 1);
            }
            self.objects.lock().unwrap().insert(path, patched.clone());
        }
        object_response(StatusCode::OK, &patched)
    }
}
