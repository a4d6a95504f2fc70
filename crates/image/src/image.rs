//! Where an image comes from: a `docker save` tarball, an OCI image layout directory, an OCI
//! archive (the layout in a tar) or an unpacked root filesystem. Tarballs are indexed once
//! (member name → offset and size) and each layer blob is then read in place with a seek, so
//! nothing is unpacked to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// Which kind of input an [`Image`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// `docker save` output (a tar with `manifest.json`).
    DockerArchive,
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    OciLayout,
    /// An OCI image layout packed in a tar.
    OciArchive,
    /// An unpacked root filesystem (`--rootfs DIR`).
    Rootfs,
}

impl ImageKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::DockerArchive => "docker-archive",
            ImageKind::OciLayout => "oci-layout",
            ImageKind::OciArchive => "oci-archive",
            ImageKind::Rootfs => "rootfs",
        }
    }
}

/// What the image configuration says that a scan reports.
#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    /// `config.User`; `None` when the config has no user (the container runs as root).
    pub user: Option<String>,
    /// `os` and `architecture`, e.g. `linux`, `amd64`.
    pub os: Option<String>,
    /// CPU architecture.
    pub architecture: Option<String>,
    /// Names the image was saved under (`RepoTags` of `docker save`, the OCI ref name).
    pub tags: Vec<String>,
}

/// One layer of an image.
#[derive(Clone, Debug)]
pub struct LayerMeta {
    /// Digest of the stored blob (`sha256:...`), or its member name in old `docker save` tarballs.
    pub digest: String,
    /// Digest of the uncompressed layer (`rootfs.diff_ids` of the config).
    pub diff_id: Option<String>,
    /// The history command that made the layer (`created_by`), when the config records it.
    pub created_by: Option<String>,
    /// Stored size in bytes.
    pub size: u64,
    location: String,
}

enum Storage {
    Dir(PathBuf),
    Tar {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
    Rootfs(PathBuf),
}

/// An image opened for reading: its configuration and layers, read lazily.
pub struct Image {
    /// Input kind.
    pub kind: ImageKind,
    /// The path given by the user.
    pub name: String,
    /// The image configuration.
    pub config: ImageConfig,
    /// Layers, bottom first.
    pub layers: Vec<LayerMeta>,
    storage: Storage,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    config: Option<RuntimeConfig>,
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize, Default)]
struct RuntimeConfig {
    #[serde(rename = "User", default)]
    user: Option<String>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

impl Image {
    /// Opens IMAGE: a directory is an OCI layout, a file a `docker save` tarball or OCI archive.
    pub fn open(path: &Path) -> Result<Image, Error> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            if !path.join("index.json").exists() {
                return Err(Error::Image {
                    path: name,
                    message: "directory has no index.json, so it is not an OCI image layout; \
                              for an unpacked filesystem use --rootfs DIR"
                        .into(),
                });
            }
            let storage = Storage::Dir(path.to_path_buf());
            return Image::from_oci(name, ImageKind::OciLayout, storage);
        }
        let members = index_tar(path)?;
        let storage = Storage::Tar {
            file: path.to_path_buf(),
            members,
        };
        if storage.has("manifest.json") {
            Image::from_docker(name, storage)
        } else if storage.has("index.json") {
            Image::from_oci(name, ImageKind::OciArchive, storage)
        } else {
            Err(Error::Image {
                path: name,
                message: "tar has neither manifest.json (docker save) nor index.json (OCI \
                          archive); give `docker save IMAGE -o FILE` output or an OCI layout"
                    .into(),
            })
        }
    }

    /// An unpacked root filesystem, scanned as a single layer.
    pub fn rootfs(path: &Path) -> Result<Image, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_dir() {
            return Err(Error::Image {
                path: path.display().to_string(),
                message: "--rootfs needs a directory".into(),
            });
        }
        Ok(Image {
            kind: ImageKind::Rootfs,
            name: path.display().to_string(),
            config: ImageConfig::default(),
            layers: vec![LayerMeta {
                digest: format!("rootfs:{}", path.display()),
                diff_id: None,
                created_by: None,
                size: 0,
                location: String::new(),
            }],
            storage: Storage::Rootfs(path.to_path_buf()),
        })
    }

    /// The root directory of a `--rootfs` image.
    pub(crate) fn rootfs_dir(&self) -> Option<&Path> {
        match &self.storage {
            Storage::Rootfs(dir) => Some(dir),
            _ => None,
        }
    }

    /// The uncompressed tar stream of layer `index` (gzip and zstd are detected by magic).
    pub(crate) fn open_layer(&self, index: usize) -> Result<Box<dyn Read + '_>, Error> {
        let layer = &self.layers[index];
        let raw = self.storage.open(&self.name, &layer.location)?;
        decompress(raw).map_err(|e| Error::Layer {
            layer: index,
            message: format!("{}: {e}", layer.digest),
        })
    }

    fn from_docker(name: String, storage: Storage) -> Result<Image, Error> {
        let manifests: Vec<DockerManifest> = storage.json(&name, "manifest.json")?;
        let Some(manifest) = manifests.into_iter().next() else {
            return Err(Error::Image {
                path: name,
                message: "manifest.json lists no image".into(),
            });
        };
        let config: ConfigFile = storage.json(&name, &manifest.config)?;
        let sizes: Vec<u64> = manifest
            .layers
            .iter()
            .map(|l| storage.size(l).unwrap_or(0))
            .collect();
        let layers = manifest
            .layers
            .into_iter()
            .zip(sizes)
            .map(|(location, size)| LayerMeta {
                digest: digest_of_member(&location),
                diff_id: None,
                created_by: None,
                size,
                location,
            })
            .collect();
        let mut image = Image {
            kind: ImageKind::DockerArchive,
            name,
            config: ImageConfig {
                tags: manifest.repo_tags.unwrap_or_default(),
                ..ImageConfig::default()
            },
            layers,
            storage,
        };
        image.apply_config(config);
        for layer in &mut image.layers {
            if !layer.digest.starts_with("sha256:")
                && let Some(diff) = &layer.diff_id
            {
                // Old-format members are named by a random id; the diff id is the stable name.
                layer.digest = diff.clone();
            }
        }
        Ok(image)
    }

    fn from_oci(name: String, kind: ImageKind, storage: Storage) -> Result<Image, Error> {
        let index: OciIndex = storage.json(&name, "index.json")?;
        let mut tags = Vec::new();
        let mut candidates = index.manifests;
        // Follow nested indexes (multi-platform images) down to one image manifest.
        for _ in 0..4 {
            let chosen = pick_manifest(&candidates).ok_or_else(|| Error::Image {
                path: name.clone(),
                message: "index.json lists no image manifest".into(),
            })?;
            if let Some(tag) = chosen
                .annotations
                .as_ref()
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
            {
                tags.push(tag.clone());
            }
            let manifest: OciManifest = storage.json(&name, &blob_path(&chosen.digest)?)?;
            let is_index = !manifest.manifests.is_empty()
                || manifest
                    .media_type
                    .as_deref()
                    .is_some_and(|m| m.contains("index") || m.contains("manifest.list"));
            if is_index {
                candidates = manifest.manifests;
                continue;
            }
            let config_desc = manifest.config.ok_or_else(|| Error::Image {
                path: name.clone(),
                message: format!("manifest {} has no config", chosen.digest),
            })?;
            let config: ConfigFile = storage.json(&name, &blob_path(&config_desc.digest)?)?;
            let layers = manifest
                .layers
                .into_iter()
                .map(|l| {
                    Ok(LayerMeta {
                        location: blob_path(&l.digest)?,
                        digest: l.digest,
                        diff_id: None,
                        created_by: None,
                        size: l.size,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let mut image = Image {
                kind,
                name,
                config: ImageConfig {
                    tags,
                    ..ImageConfig::default()
                },
                layers,
                storage,
            };
            image.apply_config(config);
            return Ok(image);
        }
        Err(Error::Image {
            path: name,
            message: "image indexes nest more than 4 deep".into(),
        })
    }

    fn apply_config(&mut self, config: ConfigFile) {
        self.config.user = config.config.and_then(|c| c.user);
        self.config.os = config.os;
        self.config.architecture = config.architecture;
        if let Some(rootfs) = config.rootfs {
            for (layer, diff) in self.layers.iter_mut().zip(rootfs.diff_ids) {
                layer.diff_id = Some(diff);
            }
        }
        let commands = config
            .history
            .into_iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by);
        for (layer, command) in self.layers.iter_mut().zip(commands) {
            layer.created_by = command;
        }
    }
}

/// The uncompressed stream of a layer blob: gzip and zstd are told apart by their magic bytes.
pub(crate) fn decompress<'a>(raw: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    let mut reader = BufReader::with_capacity(256 << 10, raw);
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(reader).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad zstd frame header: {e}"),
            )
        })?;
        Box::new(decoder)
    } else {
        Box::new(reader)
    })
}

/// Prefers the machine's platform, then linux/amd64, then the first real image (attestation
/// manifests of buildx have platform unknown/unknown).
fn pick_manifest(list: &[Descriptor]) -> Option<&Descriptor> {
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let real = |d: &&Descriptor| d.platform.as_ref().is_none_or(|p| p.os != "unknown");
    list.iter()
        .filter(real)
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == host)
        })
        .or_else(|| list.iter().find(real))
}

fn blob_path(digest: &str) -> Result<String, Error> {
    match digest.split_once(':') {
        Some((algo, hex))
            if !algo.is_empty()
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(format!("blobs/{algo}/{hex}"))
        }
        _ => Err(Error::Image {
            path: digest.to_string(),
            message: "not a valid digest (want ALGORITHM:HEX)".into(),
        }),
    }
}

fn digest_of_member(member: &str) -> String {
    match member
        .strip_prefix("blobs/")
        .and_then(|r| r.split_once('/'))
    {
        Some((algo, hex)) => format!("{algo}:{hex}"),
        None => member.to_string(),
    }
}

fn normalize_member(name: &str) -> String {
    name.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

/// Opens the image file the user named, if it is a regular file.
fn open_file(path: &Path) -> Result<File, Error> {
    crate::file::open_regular(path).map_err(|e| Error::Image {
        path: path.display().to_string(),
        message: format!("the image {e}"),
    })
}

/// Member name → (data offset, size) of every regular file in the tarball at `path`.
fn index_tar(path: &Path) -> Result<HashMap<String, (u64, u64)>, Error> {
    let file = open_file(path)?;
    let mut head = [0u8; 4];
    let n = (&file).read(&mut head).map_err(|e| Error::io(path, e))?;
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        return Err(Error::Image {
            path: path.display().to_string(),
            message: "the archive is gzip-compressed; decompress it first (gunzip)".into(),
        });
    }
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut members = HashMap::new();
    let bad = |e: io::Error| Error::Image {
        path: path.display().to_string(),
        message: format!(
            "not a readable tar archive: {}",
            crate::file::stream_error(&e)
        ),
    };
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        if entry.header().entry_type().is_file() {
            let name = normalize_member(&String::from_utf8_lossy(&entry.path_bytes()));
            members.insert(name, (entry.raw_file_position(), entry.size()));
        }
    }
    Ok(members)
}

/// Largest JSON metadata file of an image (`manifest.json`, `index.json`, a manifest, the
/// config); real ones are kilobytes.
pub const MAX_IMAGE_JSON: u64 = 64 << 20;

impl Storage {
    fn has(&self, member: &str) -> bool {
        match self {
            Storage::Dir(dir) => crate::file::exists_inside(dir, member),
            Storage::Tar { members, .. } => members.contains_key(member),
            Storage::Rootfs(_) => false,
        }
    }

    fn size(&self, member: &str) -> Option<u64> {
        match self {
            Storage::Dir(dir) => crate::file::open_inside(dir, member)
                .ok()
                .and_then(|f| f.metadata().ok())
                .map(|m| m.len()),
            Storage::Tar { members, .. } => members.get(&normalize_member(member)).map(|m| m.1),
            Storage::Rootfs(_) => None,
        }
    }

    /// Opens a member. In a layout directory, members are opened without following symbolic
    /// links and must be regular files: a blob cannot point at a file outside the layout.
    fn open(&self, image: &str, member: &str) -> Result<Box<dyn Read>, Error> {
        let missing = || Error::Image {
            path: image.to_string(),
            message: format!("{member} is missing from the image"),
        };
        match self {
            Storage::Dir(dir) => match crate::file::open_inside(dir, member) {
                Ok(file) => Ok(Box::new(file)),
                Err(crate::file::Refused::Missing) => Err(missing()),
                Err(e) => Err(Error::Image {
                    path: image.to_string(),
                    message: format!("{member} {e}"),
                }),
            },
            Storage::Tar { file, members } => {
                let &(offset, size) = members.get(&normalize_member(member)).ok_or_else(missing)?;
                let mut f = open_file(file)?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(file, e))?;
                Ok(Box::new(f.take(size)))
            }
            Storage::Rootfs(_) => Err(missing()),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, image: &str, member: &str) -> Result<T, Error> {
        let fail = |message: String| Error::Image {
            path: image.to_string(),
            message,
        };
        let text = crate::file::read_limited(self.open(image, member)?, MAX_IMAGE_JSON, 0)
            .map_err(|e| match e {
                crate::file::ReadError::TooLarge(limit) => fail(format!(
                    "{member} is larger than {}, the most an image's JSON metadata may be",
                    crate::file::size_text(limit)
                )),
                crate::file::ReadError::Io(e) => fail(format!("cannot read {member}: {e}")),
            })?;
        serde_json::from_slice(&text).map_err(|e| {
            // A data error quotes the value it did not expect: say where, not what.
            let what = match e.classify() {
                serde_json::error::Category::Data => "not the JSON an image has there".into(),
                serde_json::error::Category::Io => "cannot be read".into(),
                _ => format!("invalid JSON ({})", strip_position(&e.to_string())),
            };
            fail(format!(
                "{member}: {what} at line {} column {}",
                e.line(),
                e.column()
            ))
        })
    }
}

/// A serde_json syntax message without its `at line L column C` tail.
fn strip_position(message: &str) -> &str {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head)
}
