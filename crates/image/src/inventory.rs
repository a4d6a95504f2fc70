//! What an image contains: its OS, packages, secrets and configuration findings, gathered
//! from a walk of its layers.

use serde::Serialize;

use crate::analyze::{OsInfo, Package};
use crate::fs::{self, WalkOptions, Walked};
use crate::image::{Image, ImageConfig, LayerMeta};
use crate::secrets::Secret;

/// The contents of one image.
#[derive(Debug)]
pub struct Inventory {
    /// The OS from `/etc/os-release`, if there is one.
    pub os: Option<OsInfo>,
    /// Every package in the final filesystem, sorted by kind, name, version and path.
    pub packages: Vec<Package>,
    /// Secrets found in any layer.
    pub secrets: Vec<Secret>,
    /// Layers that could not be read completely and files an analyzer could not read.
    pub problems: Vec<String>,
    /// True when a layer could not be read to its end (the inventory misses what followed).
    pub incomplete: bool,
    /// The image's layers.
    pub layers: Vec<LayerMeta>,
    /// The image's configuration.
    pub config: ImageConfig,
    /// Number of paths in the final filesystem.
    pub files: usize,
    /// Uncompressed bytes read.
    pub bytes: u64,
}

/// A finding about the image configuration.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigFinding {
    /// Check id.
    pub id: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Inventory {
    /// Walks `image` and collects what its final filesystem contains.
    pub fn collect(
        image: &Image,
        options: WalkOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Inventory {
        let walked = fs::walk(image, options, progress);
        Inventory::from_walked(image, walked)
    }

    /// Collects what a walk of `image`'s layers found. The analyzers' results are moved out of
    /// the walk, never copied, so the packages of a large database are in memory once.
    pub fn from_walked(image: &Image, walked: Walked) -> Inventory {
        let Walked {
            fs,
            secrets,
            problems: layer_problems,
            layer_bytes,
            archives: _,
        } = walked;
        let incomplete = !layer_problems.is_empty();
        let mut problems: Vec<String> = layer_problems.into_iter().map(|(_, m)| m).collect();
        let os = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|p| {
                fs.resolve(p)
                    .and_then(|(_, e)| e.found.as_ref())
                    .and_then(|f| f.os.clone())
            });
        // Berkeley DB (RHEL 7/8) and ndb (SUSE) rpm databases are not read: say so instead of
        // reporting the image as free of OS packages.
        let rpmdb = [
            "var/lib/rpm/Packages.db",
            "var/lib/rpm/Packages",
            "usr/lib/sysimage/rpm/Packages.db",
        ]
        .into_iter()
        .find(|p| fs.entries.contains_key(*p));
        if let Some(db) = rpmdb {
            problems.push(format!(
                "/{db}: this rpm database format (Berkeley DB or ndb) is not read yet, so this image's rpm packages are not listed or matched"
            ));
        }
        let files = fs.entries.len();
        let mut packages = Vec::new();
        let mut owned = std::collections::HashSet::new();
        for entry in fs.entries.into_values() {
            if let Some(found) = entry.found {
                let found = *found;
                packages.extend(found.packages);
                problems.extend(found.problems);
                owned.extend(found.owned);
            }
        }
        // A Python or Go package that dpkg or apk installed is the OS package's: its advisories
        // come from the distribution, which backports fixes without changing upstream versions.
        packages.retain(|p| {
            let file = p.path.trim_start_matches('/');
            let file = file.split_once("!/").map_or(file, |(outer, _)| outer);
            p.kind.is_os() || !owned.contains(file)
        });
        packages.sort_by(|a, b| {
            (a.kind, &a.name, &a.version, &a.path).cmp(&(b.kind, &b.name, &b.version, &b.path))
        });
        packages.dedup();
        Inventory {
            os,
            packages,
            secrets,
            problems,
            incomplete,
            layers: image.layers.clone(),
            config: image.config.clone(),
            files,
            bytes: layer_bytes.iter().sum(),
        }
    }

    /// Configuration findings: an image that runs as root (no `User`, or user 0/root).
    pub fn config_findings(&self, kind: crate::ImageKind) -> Vec<ConfigFinding> {
        if kind == crate::ImageKind::Rootfs {
            return Vec::new();
        }
        let user = self.config.user.as_deref().unwrap_or("").trim();
        let name = user.split(':').next().unwrap_or("");
        if name.is_empty() || name == "root" || name == "0" {
            let how = if user.is_empty() {
                "no User is set".to_string()
            } else {
                format!("User is {user:?}")
            };
            vec![ConfigFinding {
                id: "root-user",
                message: format!("the image runs as root ({how}); set USER to a non-root user"),
            }]
        } else {
            Vec::new()
        }
    }
}
