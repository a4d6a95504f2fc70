//! `haechi audit node`: the CIS Kubernetes Benchmark v1.9 items that a node's files decide.
//!
//! The audit reads the kubelet's systemd unit first (it names the config file and the static pod
//! directory), then the static pod manifests of the control-plane components, then the files
//! those name (kubeconfigs, PKI, etcd data directory, encryption config), following the pods'
//! hostPath mounts from container paths to node paths. A section whose component is not on the
//! node (a worker has no kube-apiserver manifest) is reported as not checked, not as failed.

mod args;
mod checks;
mod fs;
mod items;
mod kubelet;
mod pods;

use std::path::Path;

pub use args::{
    Flag, Flags, Unit, Var, Word, expand_command, parse_env_file, parse_unit, split_words,
};

use crate::report::{Item, Report};

/// The benchmark whose numbering the items follow.
pub const BENCHMARK: &str = "CIS Kubernetes Benchmark v1.9";

/// Why a node could not be audited at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root is not a directory.
    #[error(
        "{root}: not a directory (give --root the directory that holds the node's /etc and /var)"
    )]
    NotADirectory {
        /// The root as given.
        root: String,
    },
}

/// Every benchmark item the audit judges, in report order.
pub fn items() -> Vec<&'static Item> {
    items::catalogue()
}

/// Audits the node whose file system is at `root` (`/` on the node itself).
pub fn audit(root: &Path) -> Result<Report, Error> {
    if !root.is_dir() {
        return Err(Error::NotADirectory {
            root: root.display().to_string(),
        });
    }
    Ok(checks::run(root))
}
