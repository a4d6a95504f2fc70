//! Which container a process runs in (from its cgroup path) and what the engine that runs it
//! says about it (Docker Engine API over its unix socket, else containerd's containers API over
//! its socket, else the OCI runtime's state and the bundle's config.json annotations, as CRI
//! runtimes write them). Each container is looked up once, in the background, and cached;
//! events never wait for a lookup.

mod containerd;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::fields::ContainerView;

/// The container id a cgroup path names, if any: runc (`/<id>`), Docker (`/docker/<id>`,
/// `docker-<id>.scope`), containerd/CRI (`cri-containerd-<id>.scope`, kubepods paths),
/// CRI-O (`crio-<id>.scope`), podman (`libpod-<id>.scope`). Conmon scopes are not containers.
pub fn container_id(cgroup_path: &str) -> Option<&str> {
    cgroup_path.rsplit('/').find_map(|component| {
        let name = component.strip_suffix(".scope").unwrap_or(component);
        let id = match name.rsplit_once('-') {
            Some(("docker" | "cri-containerd" | "crio" | "libpod", id)) => id,
            Some(_) => return None,
            None => name,
        };
        is_container_id(id).then_some(id)
    })
}

fn is_container_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where container metadata comes from: the engines asked, in order.
#[derive(Clone, Debug)]
pub struct Engines {
    /// Docker Engine API socket.
    pub docker_socket: PathBuf,
    /// containerd sockets, asked in order; those that do not exist are skipped.
    pub containerd_sockets: Vec<PathBuf>,
    /// OCI runtime state roots (`<root>/<id>/state.json`).
    pub runtime_roots: Vec<PathBuf>,
}

impl Default for Engines {
    fn default() -> Self {
        Engines {
            docker_socket: "/var/run/docker.sock".into(),
            containerd_sockets: [
                "/run/containerd/containerd.sock",
                // The Docker Engine's own containerd.
                "/var/run/docker/containerd/containerd.sock",
            ]
            .map(PathBuf::from)
            .to_vec(),
            runtime_roots: [
                "/run/runc",
                "/run/docker/runtime-runc/moby",
                "/run/containerd/runc/k8s.io",
                "/run/containerd/runc/default",
                "/run/crun",
            ]
            .map(PathBuf::from)
            .to_vec(),
        }
    }
}

/// The cache of container views, filled in the background.
pub struct Containers {
    engines: Engines,
    cache: HashMap<String, ContainerView>,
    fresh: Vec<ContainerView>,
    /// Look-ups started and not received yet.
    pending: usize,
    results: (
        mpsc::UnboundedSender<ContainerView>,
        mpsc::UnboundedReceiver<ContainerView>,
    ),
}

impl Containers {
    /// An empty cache asking `engines`.
    pub fn new(engines: Engines) -> Self {
        Containers {
            engines,
            cache: HashMap::new(),
            fresh: Vec::new(),
            pending: 0,
            results: mpsc::unbounded_channel(),
        }
    }

    /// What is known now of the container `cgroup_path` names; starts a lookup the first
    /// time an id is seen. Must run inside a tokio runtime.
    pub fn view(&mut self, cgroup_path: &str) -> ContainerView {
        match container_id(cgroup_path) {
            Some(id) => self.view_id(id),
            None => {
                self.receive();
                ContainerView::default()
            }
        }
    }

    /// What is known now of container `id` (a gVisor sandbox's container, named by the
    /// sandbox rather than by a cgroup); starts a lookup the first time it is seen.
    pub fn view_id(&mut self, id: &str) -> ContainerView {
        self.receive();
        if let Some(view) = self.cache.get(id) {
            return view.clone();
        }
        let pending = ContainerView {
            id: id.to_owned(),
            ..ContainerView::default()
        };
        self.cache.insert(id.to_owned(), pending.clone());
        self.pending += 1;
        let (engines, sender, id) = (self.engines.clone(), self.results.0.clone(), id.to_owned());
        tokio::spawn(async move {
            let view = lookup(&engines, &id).await;
            let _ = sender.send(view);
        });
        pending
    }

    /// Waits for the look-ups in flight, up to `limit` (before the agent judges what it still
    /// holds, when it stops).
    pub async fn settle(&mut self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        self.receive();
        while self.pending > 0 {
            match tokio::time::timeout_at(deadline, self.results.1.recv()).await {
                Ok(Some(view)) => self.arrived(view),
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// The views whose lookups finished since the last call.
    pub fn take_fresh(&mut self) -> Vec<ContainerView> {
        self.receive();
        std::mem::take(&mut self.fresh)
    }

    fn receive(&mut self) {
        while let Ok(view) = self.results.1.try_recv() {
            self.arrived(view);
        }
    }

    fn arrived(&mut self, view: ContainerView) {
        self.pending = self.pending.saturating_sub(1);
        self.cache.insert(view.id.clone(), view.clone());
        self.fresh.push(view);
    }
}

/// How long a container's first process may run before its engine knows it: runc writes its
/// state after the container's init has joined the cgroup, so the first look can come too
/// early. Looks are retried after 25, 50, … 800 ms (1.6 s in all) before giving up.
const LOOKUP_RETRIES: u32 = 6;

async fn lookup(engines: &Engines, id: &str) -> ContainerView {
    let mut delay = std::time::Duration::from_millis(25);
    for _ in 0..LOOKUP_RETRIES {
        if let Some(view) = lookup_once(engines, id).await {
            return view;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    lookup_once(engines, id)
        .await
        .unwrap_or_else(|| ContainerView {
            id: id.to_owned(),
            resolved: true,
            ..ContainerView::default()
        })
}

/// How long an engine may take to answer one look: a hung engine must not keep the container
/// unnamed while the other sources know it.
const ENGINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `look`'s answer, or an error when it takes longer than `limit`.
async fn within<T>(
    limit: std::time::Duration,
    look: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(limit, look)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")))
}

/// One look in every source; `None` when none knows the container (yet).
async fn lookup_once(engines: &Engines, id: &str) -> Option<ContainerView> {
    match within(ENGINE_TIMEOUT, docker_inspect(&engines.docker_socket, id)).await {
        Ok(Some(view)) => return Some(view),
        Ok(None) => {}
        Err(err) => tracing::debug!("docker lookup of {id}: {err}"),
    }
    for socket in &engines.containerd_sockets {
        match within(ENGINE_TIMEOUT, containerd::container(socket, id)).await {
            Ok(Some(container)) => return Some(containerd_view(id, container)),
            Ok(None) => {}
            Err(err) => tracing::debug!("containerd lookup of {id}: {err}"),
        }
    }
    for root in &engines.runtime_roots {
        match oci_state(root, id) {
            Ok(Some(view)) => return Some(view),
            Ok(None) => {}
            Err(err) => tracing::warn!("container {id}: {err}"),
        }
    }
    None
}

/// A JSON object of strings as a map; anything else is empty.
fn string_map(value: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// Splits `registry:5000/repo/name:tag@sha256:...` into repository and tag (default `latest`).
fn split_image(image: &str) -> (String, String) {
    let image = image.split('@').next().unwrap_or(image);
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rsplit_once(':') {
        Some((_, tag)) => (
            image[..image.len() - tag.len() - 1].to_owned(),
            tag.to_owned(),
        ),
        None => (image.to_owned(), "latest".to_owned()),
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

async fn docker_inspect(socket: &Path, id: &str) -> Result<Option<ContainerView>, String> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;

    if !socket.exists() {
        return Ok(None);
    }
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::get(format!("/v1.41/containers/{id}/json"))
        .header("host", "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() == hyper::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("docker answered {status}"));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let (repository, tag) = text(&v, "/Config/Image")
        .map(|image| split_image(&image))
        .unzip();
    let label = |key: &str| text(&v, &format!("/Config/Labels/{}", key.replace('/', "~1")));
    Ok(Some(ContainerView {
        id: id.to_owned(),
        name: text(&v, "/Name").map(|n| n.trim_start_matches('/').to_owned()),
        image_repository: repository,
        image_tag: tag,
        privileged: v.pointer("/HostConfig/Privileged").and_then(Value::as_bool),
        pod_name: label("io.kubernetes.pod.name"),
        pod_namespace: label("io.kubernetes.pod.namespace"),
        pod_uid: label("io.kubernetes.pod.uid"),
        labels: string_map(v.pointer("/Config/Labels")),
        resolved: true,
    }))
}

/// What containerd's record of a container says: CRI labels it with its pod and its name in
/// the pod; others get their id as their name.
fn containerd_view(id: &str, container: containerd::proto::Container) -> ContainerView {
    let label = |key: &str| container.labels.get(key).cloned();
    let (repository, tag) = Some(container.image.as_str())
        .filter(|image| !image.is_empty())
        .map(split_image)
        .unzip();
    let spec = container
        .spec
        .as_ref()
        .and_then(|spec| serde_json::from_slice::<Value>(&spec.value).ok());
    ContainerView {
        id: id.to_owned(),
        name: label("io.kubernetes.container.name").or_else(|| Some(id.to_owned())),
        image_repository: repository,
        image_tag: tag,
        privileged: spec.as_ref().map(oci_privileged),
        pod_name: label("io.kubernetes.pod.name"),
        pod_namespace: label("io.kubernetes.pod.namespace"),
        pod_uid: label("io.kubernetes.pod.uid"),
        labels: container.labels,
        resolved: true,
    }
}

/// Whether an OCI runtime spec runs its process privileged, as engines write the spec of a
/// privileged container: CAP_SYS_ADMIN in the bounding set and no masked paths.
fn oci_privileged(spec: &Value) -> bool {
    let sys_admin = spec
        .pointer("/process/capabilities/bounding")
        .and_then(Value::as_array)
        .is_some_and(|caps| caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
    let masked = spec
        .pointer("/linux/maskedPaths")
        .and_then(Value::as_array)
        .is_some_and(|paths| !paths.is_empty());
    sys_admin && !masked
}

/// Reads `<root>/<id>/state.json` and the bundle's config.json annotations.
fn oci_state(root: &Path, id: &str) -> Result<Option<ContainerView>, String> {
    let state_path = root.join(id).join("state.json");
    let Ok(state) = std::fs::read(&state_path) else {
        return Ok(None);
    };
    let state: Value =
        serde_json::from_slice(&state).map_err(|e| format!("{}: {e}", state_path.display()))?;
    let bundle = state
        .pointer("/config/labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|l| l.strip_prefix("bundle="))
        .map(PathBuf::from);
    let config: Value = match bundle {
        Some(bundle) => {
            let path = bundle.join("config.json");
            match std::fs::read(&path) {
                Ok(raw) => {
                    serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", path.display()))?
                }
                Err(_) => Value::Null,
            }
        }
        None => Value::Null,
    };
    let note = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| text(&config, &format!("/annotations/{}", k.replace('/', "~1"))))
    };
    let (repository, tag) = note(&[
        "io.kubernetes.cri.image-name",
        "io.kubernetes.cri-o.ImageName",
    ])
    .map(|image| split_image(&image))
    .unzip();
    Ok(Some(ContainerView {
        id: id.to_owned(),
        name: note(&[
            "io.kubernetes.cri.container-name",
            "io.kubernetes.container.name",
        ])
        .or_else(|| Some(id.to_owned())),
        image_repository: repository,
        image_tag: tag,
        privileged: Some(oci_privileged(&config)),
        pod_name: note(&["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]),
        pod_namespace: note(&[
            "io.kubernetes.cri.sandbox-namespace",
            "io.kubernetes.pod.namespace",
        ]),
        pod_uid: note(&["io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"]),
        labels: string_map(config.pointer("/annotations")),
        resolved: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "26697885686bd3548122e7f371995a358e36c82e115016a5aeb0f3710da7d745";

    #[test]
    fn container_ids_from_cgroup_paths() {
        for path in [
            format!("/{ID}"),
            format!("/docker/{ID}"),
            format!("/process_api/f3ea/docker/{ID}"),
            format!("/system.slice/docker-{ID}.scope"),
            format!("/kubepods/burstable/pod1234-5678/{ID}"),
            format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/cri-containerd-{ID}.scope"
            ),
            format!("/machine.slice/libpod-{ID}.scope"),
            format!("/kubepods.slice/crio-{ID}.scope"),
        ] {
            assert_eq!(container_id(&path), Some(ID), "{path}");
        }
        for path in [
            "/",
            "/user.slice/user-0.slice/session-1.scope",
            &format!("/machine.slice/libpod-conmon-{ID}.scope"),
            &format!("/crio-conmon-{ID}.scope"),
        ] {
            assert_eq!(container_id(path), None, "{path}");
        }
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(split_image("busybox"), ("busybox".into(), "latest".into()));
        assert_eq!(
            split_image("registry:5000/team/app:1.2@sha256:abc"),
            ("registry:5000/team/app".into(), "1.2".into())
        );
        assert_eq!(
            split_image("registry:5000/app"),
            ("registry:5000/app".into(), "latest".into())
        );
    }

    #[test]
    fn oci_state_reads_cri_annotations() {
        let root = tempfile::tempdir().unwrap();
        let bundle = root.path().join("bundle");
        std::fs::create_dir_all(root.path().join(ID)).unwrap();
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(
            root.path().join(ID).join("state.json"),
            format!(
                r#"{{"config":{{"labels":["bundle={}"]}}}}"#,
                bundle.display()
            ),
        )
        .unwrap();
        std::fs::write(
            bundle.join("config.json"),
            r#"{"annotations":{"io.kubernetes.cri.container-name":"web",
                "io.kubernetes.cri.image-name":"nginx:1.27",
                "io.kubernetes.cri.sandbox-name":"web-0",
                "io.kubernetes.cri.sandbox-namespace":"shop"},
               "process":{"capabilities":{"bounding":["CAP_CHOWN"]}},
               "linux":{"maskedPaths":["/proc/kcore"]}}"#,
        )
        .unwrap();
        let view = oci_state(root.path(), ID).unwrap().unwrap();
        assert_eq!(view.name.as_deref(), Some("web"));
        assert_eq!(view.image_repository.as_deref(), Some("nginx"));
        assert_eq!(view.image_tag.as_deref(), Some("1.27"));
        assert_eq!(view.pod_namespace.as_deref(), Some("shop"));
        assert_eq!(view.privileged, Some(false));
        std::fs::write(root.path().join(ID).join("state.json"), "{not json").unwrap();
        assert!(
            oci_state(root.path(), ID)
                .unwrap_err()
                .contains("state.json")
        );
    }

    #[test]
    fn containerd_records_decode_into_views() {
        use containerd::proto::{Any, Container, GetContainerResponse};
        use prost::Message;

        let labels = [
            ("io.kubernetes.container.name", "web"),
            ("io.kubernetes.pod.name", "web-0"),
            ("io.kubernetes.pod.namespace", "shop"),
            ("io.kubernetes.pod.uid", "0f8e2b1c"),
            ("app", "web"),
        ];
        let spec = r#"{"ociVersion":"1.1.0",
            "process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"]}},
            "linux":{"maskedPaths":[]}}"#;
        let response = GetContainerResponse {
            container: Some(Container {
                id: ID.into(),
                labels: labels.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
                image: "registry.local:5000/shop/web:2.1".into(),
                spec: Some(Any {
                    type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec".into(),
                    value: spec.as_bytes().to_vec(),
                }),
            }),
        };
        // containerd sends fields not declared here (the snapshotter, 6; the runtime, 4):
        // they are skipped.
        use prost::encoding::{WireType, encode_key, encode_varint, string};
        let mut container = response.container.as_ref().unwrap().encode_to_vec();
        string::encode(6, &"overlayfs".to_owned(), &mut container);
        encode_key(4, WireType::LengthDelimited, &mut container);
        let mut runtime = Vec::new();
        string::encode(1, &"io.containerd.runc.v2".to_owned(), &mut runtime);
        encode_varint(runtime.len() as u64, &mut container);
        container.extend_from_slice(&runtime);
        let mut wire = Vec::new();
        encode_key(1, WireType::LengthDelimited, &mut wire);
        encode_varint(container.len() as u64, &mut wire);
        wire.extend_from_slice(&container);
        let decoded = GetContainerResponse::decode(wire.as_slice()).unwrap();
        assert_eq!(decoded, response);

        let view = containerd_view(ID, decoded.container.unwrap());
        assert_eq!(view.name.as_deref(), Some("web"));
        assert_eq!(view.pod_name.as_deref(), Some("web-0"));
        assert_eq!(view.pod_namespace.as_deref(), Some("shop"));
        assert_eq!(view.pod_uid.as_deref(), Some("0f8e2b1c"));
        assert_eq!(
            view.image_repository.as_deref(),
            Some("registry.local:5000/shop/web")
        );
        assert_eq!(view.image_tag.as_deref(), Some("2.1"));
        assert_eq!(view.privileged, Some(true));
        assert_eq!(view.labels.get("app").map(String::as_str), Some("web"));

        // Not a CRI container, and no spec: named by its id, privilege unknown.
        let bare = containerd_view(
            ID,
            Container {
                id: ID.into(),
                ..Container::default()
            },
        );
        assert_eq!(bare.name.as_deref(), Some(ID));
        assert_eq!(bare.image_repository, None);
        assert_eq!(bare.privileged, None);
    }
}
