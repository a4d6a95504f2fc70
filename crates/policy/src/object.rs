//! The Kubernetes object model the checks read: objects, their pod templates and containers.
//!
//! Objects are views over positioned [`Node`] trees rather than typed structs, so that every
//! field a check reads can be reported with its line and column, and so that unknown or
//! misspelled fields never make a whole object unreadable.

use haechi_manifest::Node;
use serde::Serialize;

use crate::path::FieldPath;

/// A Kubernetes object: a mapping with `apiVersion` and `kind`.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    /// The whole object.
    pub root: &'a Node,
    /// `apiVersion`.
    pub api_version: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.name`, or `metadata.generateName`, or empty.
    pub name: &'a str,
    /// `metadata.namespace`, when set.
    pub namespace: Option<&'a str>,
    /// The pod template, located once: every pod check asks for it.
    pod: Option<PodTemplate<'a>>,
}

impl<'a> Object<'a> {
    /// Reads the identity of an object; `None` when `root` has no `kind` or `apiVersion`.
    pub fn new(root: &'a Node) -> Option<Object<'a>> {
        let kind = root.get("kind")?.as_str()?;
        let api_version = root.get("apiVersion")?.as_str()?;
        let metadata = root.get("metadata");
        let meta_str = |key| metadata.and_then(|m| m.get(key)).and_then(Node::as_str);
        Some(Object {
            root,
            api_version,
            kind,
            name: meta_str("name").or(meta_str("generateName")).unwrap_or(""),
            namespace: meta_str("namespace").filter(|ns| !ns.is_empty()),
            pod: pod_template(root, kind, api_version),
        })
    }

    /// The owned identity, for reports.
    pub fn reference(&self) -> ObjectRef {
        ObjectRef {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            name: self.name.to_string(),
            namespace: self.namespace.map(str::to_string),
        }
    }

    /// A label of the object.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.root.path(&["metadata", "labels", key])?.as_str()
    }

    /// An annotation of the object.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.root.path(&["metadata", "annotations", key])?.as_str()
    }

    /// The labels of the object.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        string_entries(self.root.path(&["metadata", "labels"]))
    }

    /// The pod template of a pod-bearing object (the pod itself for a Pod).
    pub fn pod(&self) -> Option<&PodTemplate<'a>> {
        self.pod.as_ref()
    }
}

/// Whether objects of this kind carry a pod template (or are a Pod).
pub fn is_pod_bearing(kind: &str, api_version: &str) -> bool {
    pod_template_base(kind, api_version).is_some()
}

/// Where the pod template of a pod-bearing kind is.
fn pod_template_base(kind: &str, api_version: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &[],
        "Deployment"
        | "ReplicaSet"
        | "ReplicationController"
        | "StatefulSet"
        | "DaemonSet"
        | "Job" => &["spec", "template"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        "PodTemplate" => &["template"],
        // Argo Rollouts embed a Deployment-shaped template.
        "Rollout" if api_version.starts_with("argoproj.io/") => &["spec", "template"],
        _ => return None,
    })
}

/// Locates the pod template of a pod-bearing kind.
fn pod_template<'a>(root: &'a Node, kind: &str, api_version: &str) -> Option<PodTemplate<'a>> {
    let base = FieldPath::of(pod_template_base(kind, api_version)?);
    let spec_path = base.key("spec");
    let spec = spec_path.resolve(root)?;
    if !spec.is_map() {
        return None;
    }
    let metadata_path = base.key("metadata");
    Some(PodTemplate {
        metadata: metadata_path.resolve(root),
        metadata_path,
        spec,
        spec_path,
    })
}

/// The identity of an object in a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, `null` when unset.
    pub namespace: Option<String>,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Objects evaluated together ([`crate::Engine::evaluate`]): checks that look across objects
/// see each other's facts. Large scans hand objects to a [`crate::Session`] one at a time
/// instead.
pub struct ObjectSet<'a> {
    /// The objects, in input order.
    pub objects: Vec<Object<'a>>,
}

/// The pod part of a pod-bearing object.
#[derive(Debug, Clone)]
pub struct PodTemplate<'a> {
    /// The pod's `metadata` (annotations for AppArmor and legacy seccomp live here).
    pub metadata: Option<&'a Node>,
    /// Path of `metadata`.
    pub metadata_path: FieldPath,
    /// The pod spec.
    pub spec: &'a Node,
    /// Path of the pod spec.
    pub spec_path: FieldPath,
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// `containers`.
    Regular,
    /// `initContainers`.
    Init,
    /// `ephemeralContainers`.
    Ephemeral,
}

impl ContainerKind {
    /// The pod spec field holding this kind of container.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Regular => "containers",
            ContainerKind::Init => "initContainers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container of a pod template.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    /// Which list it is in.
    pub kind: ContainerKind,
    /// The container.
    pub node: &'a Node,
    /// Its path, e.g. `spec.containers[1]`.
    pub path: FieldPath,
}

impl<'a> Container<'a> {
    /// `name`, or empty.
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("")
    }

    /// A field of the container's `securityContext`.
    pub fn security(&self, field: &str) -> Option<&'a Node> {
        self.node.path(&["securityContext", field])
    }

    /// The path of a field of the container's `securityContext`.
    pub fn security_path(&self, field: &str) -> FieldPath {
        self.path.keys(&["securityContext", field])
    }

    /// A short description for messages: `container "app"`.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            ContainerKind::Regular => "container",
            ContainerKind::Init => "init container",
            ContainerKind::Ephemeral => "ephemeral container",
        };
        format!("{what} \"{}\"", self.name())
    }
}

/// Where an effective security setting comes from.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    /// The value, when set at container or pod level.
    pub value: Option<&'a Node>,
    /// The field that decides it: the container's when set there, else the pod's when set there,
    /// else the container's (where a fix should add it).
    pub path: FieldPath,
}

impl<'a> PodTemplate<'a> {
    /// All containers: regular, init and ephemeral.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + '_ {
        [
            ContainerKind::Regular,
            ContainerKind::Init,
            ContainerKind::Ephemeral,
        ]
        .into_iter()
        .flat_map(move |kind| {
            let list_path = self.spec_path.key(kind.field());
            self.spec
                .get(kind.field())
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(move |(i, node)| Container {
                    kind,
                    node,
                    path: list_path.index(i),
                })
        })
    }

    /// A field of the pod spec.
    pub fn field(&self, key: &str) -> Option<&'a Node> {
        self.spec.get(key)
    }

    /// A field of the pod-level `securityContext`.
    pub fn security(&self, field: &str) -> Option<&'a Node> {
        self.spec.path(&["securityContext", field])
    }

    /// The path of a field of the pod-level `securityContext`.
    pub fn security_path(&self, field: &str) -> FieldPath {
        self.spec_path.keys(&["securityContext", field])
    }

    /// The setting that applies to a container: its own `securityContext.<field>` overrides the
    /// pod's (for runAsUser, runAsNonRoot, seccompProfile, seLinuxOptions, appArmorProfile,
    /// windowsOptions …).
    pub fn effective(&self, container: &Container<'a>, field: &str) -> Effective<'a> {
        if let Some(value) = container.security(field).filter(|v| !v.is_null()) {
            return Effective {
                value: Some(value),
                path: container.security_path(field),
            };
        }
        if let Some(value) = self.security(field).filter(|v| !v.is_null()) {
            return Effective {
                value: Some(value),
                path: self.security_path(field),
            };
        }
        Effective {
            value: None,
            path: container.security_path(field),
        }
    }

    /// An annotation on the pod (template) metadata.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata?.path(&["annotations", key])?.as_str()
    }

    /// The pod's annotations.
    pub fn annotations(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        string_entries(self.metadata.and_then(|m| m.get("annotations")))
    }

    /// The pod's labels.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        string_entries(self.metadata.and_then(|m| m.get("labels")))
    }

    /// Whether `spec.os.name` is `windows` (several restricted controls exempt Windows pods).
    pub fn is_windows(&self) -> bool {
        self.spec.path(&["os", "name"]).and_then(Node::as_str) == Some("windows")
    }

    /// The volumes with their paths.
    pub fn volumes(&self) -> impl Iterator<Item = (FieldPath, &'a Node)> + '_ {
        let list = self.spec_path.key("volumes");
        self.spec
            .get("volumes")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(i, v)| (list.index(i), v))
    }
}

fn string_entries(map: Option<&Node>) -> impl Iterator<Item = (&str, &str)> {
    map.map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.text.as_str(), v.as_str()?)))
}

impl<'a> ObjectSet<'a> {
    /// A set of objects.
    pub fn new(objects: Vec<Object<'a>>) -> ObjectSet<'a> {
        ObjectSet { objects }
    }
}
