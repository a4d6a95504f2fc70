//! The node's file system seen from `--root`: paths are node paths (`/etc/kubernetes/...`),
//! absolute symlinks resolve inside the root, and owners are named from the root's own
//! /etc/passwd and /etc/group, as `stat` on the node would name them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Largest configuration file read (kubeconfigs with embedded certificates are a few KiB).
const MAX_FILE: u64 = 4 << 20;

/// Most entries one directory walk lists (a node's PKI or CNI directory holds dozens).
const MAX_WALK: usize = 100_000;

/// What a directory walk found, and what it could not read.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    /// Every file and directory reached, each real one once, sorted.
    pub paths: Vec<String>,
    /// Directories that could not be listed, and why (`<path>: <reason>`); a walk that hit
    /// [`MAX_WALK`] says so here too.
    pub unread: Vec<String>,
}

/// Mode and owner of a file.
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    /// Permission bits (`0o644`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
}

pub(crate) struct NodeFs {
    root: PathBuf,
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

fn id_names(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

impl NodeFs {
    pub(crate) fn new(root: &Path) -> NodeFs {
        let mut fs = NodeFs {
            root: root.to_path_buf(),
            users: HashMap::new(),
            groups: HashMap::new(),
        };
        fs.users = fs
            .read("/etc/passwd")
            .map(|t| id_names(&t))
            .unwrap_or_default();
        fs.groups = fs
            .read("/etc/group")
            .map(|t| id_names(&t))
            .unwrap_or_default();
        fs
    }

    /// The host path of a node path. Symlinks are followed component by component as if the
    /// root were `/` (an absolute target starts again at the root, `..` stops at it), so a link
    /// in an audited image never leads to the auditing machine's own files.
    fn host(&self, node_path: &str) -> io::Result<PathBuf> {
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: VecDeque<String> = node_path.split('/').map(str::to_string).collect();
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            let here = self.root.join(resolved.join("/")).join(&part);
            match fs::read_link(&here) {
                Ok(target) => {
                    hops += 1;
                    if hops > 40 {
                        return Err(io::Error::other(format!(
                            "{node_path}: too many levels of symbolic links"
                        )));
                    }
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    for part in target.split('/').rev() {
                        pending.push_front(part.to_string());
                    }
                }
                Err(_) => resolved.push(part),
            }
        }
        Ok(self.root.join(resolved.join("/")))
    }

    pub(crate) fn stat(&self, node_path: &str) -> io::Result<Stat> {
        let meta = fs::metadata(self.host(node_path)?)?;
        Ok(Stat {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            is_dir: meta.is_dir(),
        })
    }

    pub(crate) fn exists(&self, node_path: &str) -> bool {
        self.stat(node_path).is_ok()
    }

    /// A text file; `NotFound` when absent, `InvalidData` when too large, not UTF-8 or not a
    /// regular file (a FIFO would block the read, a device never end it).
    pub(crate) fn read(&self, node_path: &str) -> io::Result<String> {
        let path = self.host(node_path)?;
        let meta = fs::metadata(&path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file (a directory, FIFO, socket or device)",
            ));
        }
        // The limit holds whatever size the file reports (procfs and sysfs report 0).
        let mut bytes = Vec::new();
        fs::File::open(&path)?
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {MAX_FILE} bytes"),
            ));
        }
        String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    /// The entries of a directory as node paths, sorted; empty when it does not exist.
    pub(crate) fn list(&self, node_dir: &str) -> Vec<String> {
        self.read_dir(node_dir).unwrap_or_default()
    }

    fn read_dir(&self, node_dir: &str) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(self.host(node_dir)?)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .map(|name| format!("{}/{name}", node_dir.trim_end_matches('/')))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every file and directory under `node_dir`, itself included (depth-limited). Each real
    /// directory is entered once, however many links lead to it (`ln -s . a` loops and fans
    /// out); a directory that cannot be listed is named in [`Walk::unread`], never taken as
    /// empty.
    pub(crate) fn walk(&self, node_dir: &str) -> Walk {
        let mut walk = Walk::default();
        let mut entered = HashSet::new();
        let mut stack = vec![(node_dir.trim_end_matches('/').to_string(), 0)];
        while let Some((path, depth)) = stack.pop() {
            if walk.paths.len() >= MAX_WALK {
                walk.unread.push(format!(
                    "{node_dir}: more than {MAX_WALK} entries; the rest were not looked at"
                ));
                break;
            }
            let dir = match self.host(&path).and_then(fs::metadata) {
                Ok(meta) => Some(meta).filter(|meta| meta.is_dir()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => {
                    walk.unread.push(format!("{path}: {e}"));
                    None
                }
            };
            walk.paths.push(path.clone());
            let Some(meta) = dir else { continue };
            if depth >= 8 || !entered.insert((meta.dev(), meta.ino())) {
                continue;
            }
            match self.read_dir(&path) {
                Ok(entries) => stack.extend(entries.into_iter().map(|p| (p, depth + 1))),
                Err(e) => walk.unread.push(format!("{path}: cannot list: {e}")),
            }
        }
        walk.paths.sort();
        walk
    }

    pub(crate) fn user(&self, uid: u32) -> String {
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    pub(crate) fn group(&self, gid: u32) -> String {
        self.groups
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }

    /// `user:group` as `stat -c %U:%G` prints it.
    pub(crate) fn owner(&self, stat: &Stat) -> String {
        format!("{}:{}", self.user(stat.uid), self.group(stat.gid))
    }
}
