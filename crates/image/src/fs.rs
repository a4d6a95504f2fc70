//! The image's final filesystem, built in memory: layers are applied bottom first, whiteouts
//! (`.wh.NAME` and the opaque marker `.wh..wh..opq`) delete what lower layers put there, and
//! each path keeps the layer it came from and its size. File contents are not kept: the
//! analyzers read the few files they want while the layer streams past, and their results hang
//! on the path, so a file a later layer replaces or deletes takes its packages with it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::analyze::{self, ArchiveBudget, Found};
use crate::image::Image;
use crate::secrets::{self, Secret};

/// One path of the final filesystem.
#[derive(Debug)]
pub struct Entry {
    /// Index of the layer that wrote it last.
    pub layer: usize,
    /// Size in bytes (regular files).
    pub size: u64,
    /// What it is.
    pub kind: Kind,
    pub(crate) found: Option<Box<Found>>,
}

/// The type of a filesystem entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link and its target.
    Symlink(String),
    /// A hard link to another path of the image.
    Hardlink(String),
    /// Devices, fifos.
    Other,
}

/// The final filesystem: path (relative, no leading `/`) → entry.
#[derive(Debug, Default)]
pub struct Filesystem {
    /// All paths, sorted.
    pub entries: BTreeMap<String, Entry>,
}

/// Options of a walk.
#[derive(Clone, Copy, Debug)]
pub struct WalkOptions {
    /// Look for secrets in every layer.
    pub secrets: bool,
    /// Files larger than this are not read by analyzers.
    pub max_file_size: u64,
    /// Bytes the archives inside the image's files (jars in jars) may inflate to, in all.
    pub max_archive_bytes: u64,
}

/// [`WalkOptions::max_file_size`] by default.
pub const MAX_FILE_SIZE: u64 = 512 << 20;
/// [`WalkOptions::max_archive_bytes`] by default.
pub const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            secrets: true,
            max_file_size: MAX_FILE_SIZE,
            max_archive_bytes: MAX_ARCHIVE_BYTES,
        }
    }
}

/// The result of reading every layer.
#[derive(Debug, Default)]
pub struct Walked {
    /// The final filesystem.
    pub fs: Filesystem,
    /// Secrets found in any layer, including files a later layer deleted (they stay in the
    /// image's history).
    pub secrets: Vec<Secret>,
    /// Layers that could not be read completely: (layer index, message). The entries read
    /// before the error, and all other layers, are kept.
    pub problems: Vec<(usize, String)>,
    /// Uncompressed bytes read per layer.
    pub layer_bytes: Vec<u64>,
    /// What the archives inside files cost (bytes inflated, the most held at once).
    pub archives: ArchiveBudget,
}

/// Reads every layer of `image` in order. `progress` is called after each layer with its index.
pub fn walk(image: &Image, options: WalkOptions, progress: &mut dyn FnMut(usize)) -> Walked {
    let mut walked = Walked {
        archives: ArchiveBudget::new(options.max_archive_bytes),
        ..Walked::default()
    };
    if let Some(dir) = image.rootfs_dir() {
        let mut bytes = 0;
        walk_dir(dir, dir, options, &mut walked, &mut bytes);
        walked.layer_bytes.push(bytes);
        progress(0);
        return walked;
    }
    for index in 0..image.layers.len() {
        let mut bytes = 0;
        if let Err(message) = walk_layer(image, index, options, &mut walked, &mut bytes) {
            walked.problems.push((index, message));
        }
        walked.layer_bytes.push(bytes);
        progress(index);
    }
    walked
}

fn walk_layer(
    image: &Image,
    index: usize,
    options: WalkOptions,
    walked: &mut Walked,
    bytes: &mut u64,
) -> Result<(), String> {
    let digest = &image.layers[index].digest;
    let reader = image.open_layer(index).map_err(|e| e.to_string())?;
    apply_tar(reader, index, digest, options, walked, bytes)
}

/// Reads one layer stream (tar, gzip or zstd) as the only layer of an image: what the fuzz
/// target drives, and a way to inspect a single layer blob.
pub fn walk_stream(reader: impl Read, options: WalkOptions) -> Walked {
    let mut walked = Walked {
        archives: ArchiveBudget::new(options.max_archive_bytes),
        ..Walked::default()
    };
    let mut bytes = 0;
    let result = crate::image::decompress(reader)
        .map_err(|e| format!("layer 0: {}", crate::file::stream_error(&e)))
        .and_then(|r| apply_tar(r, 0, "stream", options, &mut walked, &mut bytes));
    if let Err(message) = result {
        walked.problems.push((0, message));
    }
    walked.layer_bytes.push(bytes);
    walked
}

fn apply_tar(
    reader: impl Read,
    index: usize,
    digest: &str,
    options: WalkOptions,
    walked: &mut Walked,
    bytes: &mut u64,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| {
        format!(
            "layer {index} ({digest}): {}",
            crate::file::stream_error(&e)
        )
    })?;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| {
            format!(
                "layer {index} ({digest}) is corrupt after {count} entries: {}; \
                 the entries before it and the other layers were read",
                crate::file::stream_error(&e)
            )
        })?;
        let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        if path.is_empty() {
            continue;
        }
        let header = entry.header();
        let size = entry.size();
        *bytes += size;
        let mode = header.mode().unwrap_or(0);
        let link = || {
            entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default()
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(link()),
            tar::EntryType::Link => Kind::Hardlink(normalize(&link())),
            _ => Kind::Other,
        };
        let (parent, base) = split(&path);
        if let Some(hidden) = base.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                walked.fs.remove_below(parent, index);
            } else {
                walked.fs.remove(&join(parent, hidden), index);
            }
            continue;
        }
        let mut found = None;
        if kind == Kind::File && size <= options.max_file_size {
            let want_secrets = options.secrets && secrets::wants(&path, size);
            if analyze::wants(&path, size, mode) || want_secrets {
                // The header's size bounds the read; it sizes the first allocation only up to
                // 64 MiB, so a header that lies costs no more than the data that follows it.
                let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
                entry.read_to_end(&mut data).map_err(|e| {
                    format!(
                        "layer {index} ({digest}) is corrupt in /{path}: {}; \
                         the entries before it and the other layers were read",
                        crate::file::stream_error(&e)
                    )
                })?;
                if want_secrets {
                    secrets::scan(&path, &data, index, &mut walked.secrets);
                }
                found = analyze::analyze(&path, &data, mode, index, &mut walked.archives);
            }
        } else if kind == Kind::File && analyze::wants(&path, size, mode) {
            found = Some(too_large(&path, size, options));
        }
        let size = match &kind {
            Kind::Hardlink(target) => walked.fs.entries.get(target).map_or(0, |e| e.size),
            _ => size,
        };
        if kind != Kind::Dir {
            // A file or link replaces whatever a lower layer had at this path, directory included.
            walked.fs.remove(&path, index);
        }
        walked.fs.entries.insert(
            path,
            Entry {
                layer: index,
                size,
                kind,
                found,
            },
        );
    }
    Ok(())
}

fn walk_dir(root: &Path, dir: &Path, options: WalkOptions, walked: &mut Walked, bytes: &mut u64) {
    let list = match std::fs::read_dir(dir) {
        Ok(list) => list,
        Err(e) => {
            walked
                .problems
                .push((0, format!("cannot list {}: {e}", dir.display())));
            return;
        }
    };
    let mut names: Vec<_> = list.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    for full in names {
        let Ok(rel) = full.strip_prefix(root) else {
            continue;
        };
        let path = rel.to_string_lossy().into_owned();
        if dir == root && matches!(path.as_str(), "proc" | "sys" | "dev") {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&full) else {
            continue;
        };
        let ft = meta.file_type();
        let mut found = None;
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&full).unwrap_or_default();
            Kind::Symlink(target.to_string_lossy().into_owned())
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        let size = if kind == Kind::File { meta.len() } else { 0 };
        *bytes += size;
        if kind == Kind::File && size <= options.max_file_size {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            let want_secrets = options.secrets && secrets::wants(&path, size);
            if analyze::wants(&path, size, mode) || want_secrets {
                // Opened without following a link and read no further than the limit, in case
                // the file changed since it was listed.
                let read = crate::file::open_inside(root, rel)
                    .map_err(|e| e.to_string())
                    .and_then(|file| {
                        crate::file::read_limited(file, options.max_file_size, size).map_err(|e| {
                            match e {
                                crate::file::ReadError::TooLarge(_) => {
                                    "it grew past --max-file-size while it was read".to_string()
                                }
                                crate::file::ReadError::Io(e) => e.to_string(),
                            }
                        })
                    });
                match read {
                    Ok(data) => {
                        if want_secrets {
                            secrets::scan(&path, &data, 0, &mut walked.secrets);
                        }
                        found = analyze::analyze(&path, &data, mode, 0, &mut walked.archives);
                    }
                    Err(e) => walked
                        .problems
                        .push((0, format!("cannot read {}: {e}", full.display()))),
                }
            }
        } else if kind == Kind::File {
            use std::os::unix::fs::PermissionsExt;
            if analyze::wants(&path, size, meta.permissions().mode()) {
                found = Some(too_large(&path, size, options));
            }
        }
        let is_dir = kind == Kind::Dir;
        walked.fs.entries.insert(
            path,
            Entry {
                layer: 0,
                size,
                kind,
                found,
            },
        );
        if is_dir {
            walk_dir(root, &full, options, walked, bytes);
        }
    }
}

/// What an analyzer wanted but did not read: a file over `--max-file-size`.
fn too_large(path: &str, size: u64, options: WalkOptions) -> Box<Found> {
    Box::new(Found {
        problems: vec![format!(
            "/{path}: not read: {} is more than --max-file-size ({})",
            crate::file::size_text(size),
            crate::file::size_text(options.max_file_size)
        )],
        ..Found::default()
    })
}

impl Filesystem {
    /// Deletes `path` and everything below it that layers before `layer` wrote.
    fn remove(&mut self, path: &str, layer: usize) {
        if self.entries.get(path).is_some_and(|e| e.layer < layer) {
            self.entries.remove(path);
        }
        self.remove_below(path, layer);
    }

    /// Deletes everything below directory `dir` that layers before `layer` wrote.
    fn remove_below(&mut self, dir: &str, layer: usize) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, e)| e.layer < layer)
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.entries.remove(&key);
        }
    }

    /// The entry at `path`, following symbolic links in every component (at most 40).
    pub fn resolve(&self, path: &str) -> Option<(String, &Entry)> {
        let mut pending: Vec<String> = path.split('/').rev().map(str::to_string).collect();
        let mut current: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(part);
            let joined = current.join("/");
            // Tarballs often omit parent directories: a missing component is a plain directory.
            if let Some(Entry {
                kind: Kind::Symlink(target),
                ..
            }) = self.entries.get(&joined)
            {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(target.split('/').rev().map(str::to_string));
            }
        }
        let joined = current.join("/");
        self.entries.get(&joined).map(|e| (joined, e))
    }
}

/// `./usr/bin/` → `usr/bin`.
fn normalize(path: &str) -> String {
    let mut p = path;
    loop {
        let next = p.trim_start_matches("./").trim_start_matches('/');
        if next == p {
            break;
        }
        p = next;
    }
    let p = p.trim_end_matches('/');
    if p == "." { String::new() } else { p.into() }
}

fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((parent, base)) => (parent, base),
        None => ("", path),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_tar_names() {
        assert_eq!(normalize("./usr/bin/"), "usr/bin");
        assert_eq!(normalize("/etc/passwd"), "etc/passwd");
        assert_eq!(normalize("./"), "");
        assert_eq!(normalize("."), "");
    }
}
