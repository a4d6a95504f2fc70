//! Namespace labels from the cluster. A kube-rs watcher on Namespaces keeps
//! [`NamespaceLabels`] current, so `pod-security.kubernetes.io/*` labels set with `kubectl label`
//! take effect as they do for Pod Security Admission. The watcher relists after a dropped or
//! expired watch and replaces the whole cache then, so namespaces deleted meanwhile do not linger.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};

use crate::policy::NamespaceLabels;

/// Runs until the task is dropped: lists and watches Namespaces through `client` and mirrors
/// their labels into `labels`. API errors (unreachable server, RBAC) are logged and retried
/// with backoff; the cache keeps its last known state meanwhile.
pub async fn watch(client: Client, labels: NamespaceLabels) {
    let api: Api<Namespace> = Api::all(client);
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    // Namespaces seen during a (re)list, swapped in whole when the list is complete.
    let mut relisted: Option<HashMap<String, BTreeMap<String, String>>> = None;
    let mut last_error = String::new();
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                let message = e.to_string();
                if message != last_error {
                    tracing::error!("watching namespaces: {message}; retrying");
                    last_error = message;
                }
                continue;
            }
        };
        last_error.clear();
        match event {
            Event::Init => relisted = Some(HashMap::new()),
            Event::InitApply(namespace) => {
                if let (Some(seen), Some(name)) = (relisted.as_mut(), namespace.metadata.name) {
                    seen.insert(name, namespace.metadata.labels.unwrap_or_default());
                }
            }
            Event::InitDone => {
                let seen = relisted.take().unwrap_or_default();
                tracing::info!(namespaces = seen.len(), "namespace labels synced");
                labels.replace_all(seen);
            }
            Event::Apply(namespace) => {
                if let Some(name) = namespace.metadata.name {
                    tracing::debug!(namespace = %name, "namespace labels changed");
                    labels.set(&name, namespace.metadata.labels.unwrap_or_default());
                }
            }
            Event::Delete(namespace) => {
                if let Some(name) = namespace.metadata.name {
                    labels.remove(&name);
                }
            }
        }
    }
}

/// Why no API client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Neither a kubeconfig nor an in-cluster service account was found or usable.
    #[error(
        "no usable cluster credentials ({0}); run in a pod with a service account, or set KUBECONFIG"
    )]
    Config(#[from] kube::config::InferConfigError),
    /// The credentials were found but a client could not be built from them.
    #[error("cannot build the Kubernetes API client: {0}")]
    Client(#[from] kube::Error),
}

/// A client for the cluster the process runs in (service account) or, outside a cluster, the
/// one `KUBECONFIG` or `~/.kube/config` names.
pub async fn client_from_environment() -> Result<Client, ClusterError> {
    let config = kube::Config::infer().await?;
    Ok(Client::try_from(config)?)
}
