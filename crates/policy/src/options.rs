//! Settings that change what checks expect, shared by `haechi scan` and `haechi admit`.

use crate::object::Object;
use crate::standards::PssVersion;

/// What the checks need to know beyond the object itself.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which version of the Pod Security Standards the `pss-*` checks apply.
    pub pss_version: PssVersion,
    /// RuntimeClasses that run pods in a sandbox (gVisor, Kata).
    pub sandbox_runtime_classes: Vec<String>,
    /// How untrusted workloads are recognised.
    pub untrusted: Untrusted,
    /// Paths that get an `emptyDir` when a fix makes the root filesystem read-only.
    pub writable_paths: Vec<String>,
    /// The kubelet's seccomp directory as a scan sees it (`haechi scan --seccomp-dir`):
    /// Localhost profiles are looked up there. `None` (the webhook) skips the lookup.
    pub seccomp_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pss_version: PssVersion::LATEST,
            sandbox_runtime_classes: [
                "gvisor",
                "runsc",
                "kata",
                "kata-qemu",
                "kata-clh",
                "kata-fc",
            ]
            .map(String::from)
            .to_vec(),
            untrusted: Untrusted::default(),
            writable_paths: vec!["/tmp".to_string()],
            seccomp_dir: None,
        }
    }
}

/// Untrusted workloads must run in a sandbox RuntimeClass. A workload is untrusted when it, or
/// its Namespace (when the Namespace is in the scanned set), carries one of `labels`, or when its
/// namespace is listed in `namespaces`.
#[derive(Debug, Clone)]
pub struct Untrusted {
    /// Label key and value pairs that mark untrusted workloads or namespaces.
    pub labels: Vec<(String, String)>,
    /// Namespaces whose workloads are all untrusted.
    pub namespaces: Vec<String>,
}

impl Default for Untrusted {
    fn default() -> Untrusted {
        Untrusted {
            labels: vec![("haechi.dev/untrusted".to_string(), "true".to_string())],
            namespaces: Vec::new(),
        }
    }
}

/// Whether a workload is untrusted, as far as the workload itself tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Its labels or its namespace's configured name say so.
    Untrusted,
    /// Nothing marks it, and its Namespace cannot either.
    Trusted,
    /// Untrusted when the Namespace of this name, if it is scanned too, carries a marking label.
    IfNamespaceMarked(String),
}

impl Untrusted {
    /// What `object`'s own labels, its pod's labels and the configured namespaces say.
    pub fn judge(&self, object: &Object<'_>) -> Trust {
        if self.marks(object.labels()) || object.pod().is_some_and(|pod| self.marks(pod.labels())) {
            return Trust::Untrusted;
        }
        let namespace = object.namespace.unwrap_or("default");
        if self.namespaces.iter().any(|ns| ns == namespace) {
            return Trust::Untrusted;
        }
        if self.labels.is_empty() {
            return Trust::Trusted;
        }
        Trust::IfNamespaceMarked(namespace.to_string())
    }

    /// Whether one of `labels` marks its owner untrusted.
    pub fn marks<'a>(&self, mut labels: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        labels.any(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }
}
