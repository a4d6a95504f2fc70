//! Static pod manifests: which control-plane component a manifest runs, its flags (command and
//! args, with lines), its environment and its host-path mounts.

use haechi_manifest::{Limits, Node, parse_documents};

use super::args::{Flags, Word};

/// The control-plane components the benchmark covers, by program name.
pub(crate) const COMPONENTS: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
];

/// One component's static pod.
#[derive(Debug)]
pub(crate) struct Component {
    /// `kube-apiserver`, `etcd`, …
    pub name: &'static str,
    /// The manifest, as a node path.
    pub file: String,
    pub flags: Flags,
    /// Container environment (`ETCD_*` variables configure etcd like flags).
    pub env: Vec<(String, String, u32)>,
    /// (container mount path, host path) of hostPath volumes.
    mounts: Vec<(String, String)>,
}

impl Component {
    /// The host path of a path as the container sees it, through the pod's hostPath mounts.
    pub(crate) fn host_path(&self, container_path: &str) -> String {
        self.mounts
            .iter()
            .filter(|(mount, _)| {
                container_path == mount
                    || container_path.starts_with(&format!("{}/", mount.trim_end_matches('/')))
            })
            .max_by_key(|(mount, _)| mount.len())
            .map_or_else(
                || container_path.to_string(),
                |(mount, host)| {
                    format!(
                        "{}{}",
                        host.trim_end_matches('/'),
                        &container_path[mount.trim_end_matches('/').len()..]
                    )
                },
            )
    }
}

fn program(node: &Node) -> Option<&str> {
    node.get("command")?
        .items()
        .first()?
        .as_str()
        .map(|c| c.rsplit('/').next().unwrap_or(c))
}

/// Reads a manifest. `Ok(None)` when it is not one of the four components; `Err` names what is
/// wrong with the file.
pub(crate) fn parse(text: &str, file: &str) -> Result<Option<Component>, String> {
    let doc = match parse_documents(text, &Limits::default()).into_iter().next() {
        Some(Ok(doc)) => doc,
        Some(Err(e)) => return Err(format!("not valid YAML: {e}")),
        None => return Ok(None),
    };
    let Some(spec) = doc.get("spec") else {
        return Err("no `spec`: not a Pod manifest".to_string());
    };
    for container in spec.get("containers").map(Node::items).unwrap_or_default() {
        let by_command = program(container);
        let by_name = container.get("name").and_then(Node::as_str);
        let Some(name) = COMPONENTS
            .into_iter()
            .find(|c| by_command == Some(c) || (by_command.is_none() && by_name == Some(c)))
        else {
            continue;
        };
        let mut words = Vec::new();
        for (key, skip) in [("command", 1), ("args", 0)] {
            for arg in container
                .get(key)
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .skip(skip)
            {
                if let Some(text) = arg.as_str() {
                    words.push(Word {
                        text: text.to_string(),
                        file: file.to_string(),
                        line: Some(arg.pos.line),
                    });
                }
            }
        }
        let env = container
            .get("env")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let value = e.get("value")?;
                Some((
                    e.get("name")?.as_str()?.to_string(),
                    value.as_str().unwrap_or_default().to_string(),
                    value.pos.line,
                ))
            })
            .collect();
        let volumes = spec.get("volumes").map(Node::items).unwrap_or_default();
        let mounts = container
            .get("volumeMounts")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                let volume = m.get("name")?.as_str()?;
                let host = volumes
                    .iter()
                    .find(|v| v.get("name").and_then(Node::as_str) == Some(volume))?
                    .path(&["hostPath", "path"])?
                    .as_str()?;
                Some((m.get("mountPath")?.as_str()?.to_string(), host.to_string()))
            })
            .collect();
        return Ok(Some(Component {
            name,
            file: file.to_string(),
            flags: Flags::parse(&words),
            env,
            mounts,
        }));
    }
    Ok(None)
}
