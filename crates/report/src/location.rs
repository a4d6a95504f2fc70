//! Where a finding is: a file named relative to the root a command scanned, a position in it,
//! and the path of the field inside the document.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// Where a finding or a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// The file as the command names it: relative to the [`Root`]'s directory, or an absolute
    /// path (on the host, or inside the node or image the root stands for). `-` is standard
    /// input; a name with `://` is a URL.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// The path of the field inside the document (`spec.containers[0].image`), when there is
    /// one.
    pub path: Option<String>,
}

impl Location {
    /// A whole file.
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            ..Location::default()
        }
    }

    /// A line of a file.
    pub fn line(file: impl Into<String>, line: u32) -> Location {
        Location {
            file: file.into(),
            line: Some(line),
            ..Location::default()
        }
    }

    /// `file:line:column`, as much of it as is known.
    pub fn display(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.file),
            (Some(line), None) => format!("{}:{line}", self.file),
            _ => self.file.clone(),
        }
    }
}

/// What a report's files are relative to: SARIF's `uriBaseId` and its `originalUriBaseIds`
/// entry.
///
/// A file under the root becomes a relative URI with the root's id (`%SRCROOT%`); a file
/// elsewhere an absolute `file://` URI; standard input `stdin`; a URL stays itself.
///
/// ```
/// use haechi_report::Root;
/// let root = Root::source("/work/repo");
/// assert_eq!(root.locate("./k8s/web app.yaml"), ("k8s/web%20app.yaml".into(), Some("%SRCROOT%")));
/// assert_eq!(root.locate("/work/repo/k8s/db.yaml"), ("k8s/db.yaml".into(), Some("%SRCROOT%")));
/// assert_eq!(root.locate("/etc/passwd"), ("file:///etc/passwd".into(), None));
/// assert_eq!(root.locate("../other/x.yaml"), ("file:///work/other/x.yaml".into(), None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The `uriBaseId`, e.g. `%SRCROOT%`.
    pub id: &'static str,
    /// The directory the command's file names start from: relative names are relative to it,
    /// absolute names under it are cut to the part below it.
    pub dir: PathBuf,
    /// The absolute URI published in `originalUriBaseIds`, when it means something to the
    /// log's reader; `None` keeps the log the same wherever it was written.
    pub uri: Option<String>,
    /// What the root is, in words.
    pub description: String,
}

impl Root {
    /// The directory a scan ran in, as `%SRCROOT%`: in CI the checkout, so code scanning
    /// resolves every URI against the repository. Its absolute path is not written: the same
    /// scan of the same files writes the same log on every machine.
    pub fn source(dir: impl Into<PathBuf>) -> Root {
        Root {
            id: "%SRCROOT%",
            dir: dir.into(),
            uri: None,
            description: "the directory haechi ran in".to_string(),
        }
    }

    /// The current directory as [`Root::source`] (`/` when it cannot be read).
    pub fn current_dir() -> Root {
        Root::source(std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")))
    }

    /// A node's file system mounted at `mount`, as `NODEROOT`: the report names files by their
    /// path on the node (`/etc/kubernetes/...`).
    pub fn node(mount: &Path) -> Root {
        let absolute = std::path::absolute(mount).unwrap_or_else(|_| mount.to_path_buf());
        let mut uri = file_uri(&normalise(&absolute));
        if !uri.ends_with('/') {
            uri.push('/');
        }
        Root {
            id: "NODEROOT",
            dir: PathBuf::from("/"),
            uri: Some(uri),
            description: format!("the node's root file system ({})", mount.display()),
        }
    }

    /// An image's root file system, as `IMAGEROOT`: the report names files by their path in
    /// the image, which no URI on the reader's machine names.
    pub fn image(name: &str) -> Root {
        Root {
            id: "IMAGEROOT",
            dir: PathBuf::from("/"),
            uri: None,
            description: format!("the root of the file system of image {name}"),
        }
    }

    /// The URI of `file` and the base id it is relative to, if any.
    pub fn locate(&self, file: &str) -> (String, Option<&'static str>) {
        if file == "-" {
            return ("stdin".to_string(), None);
        }
        if file.contains("://") {
            return (file.to_string(), None);
        }
        let path = Path::new(file);
        let absolute = normalise(&if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        });
        match absolute.strip_prefix(normalise(&self.dir)) {
            Ok(relative) if relative.as_os_str().is_empty() => (".".to_string(), Some(self.id)),
            Ok(relative) => (encode(&relative.to_string_lossy()), Some(self.id)),
            Err(_) => (file_uri(&absolute), None),
        }
    }
}

/// `path` without `.` and with `..` taken back, as far as the path itself says.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn file_uri(absolute: &Path) -> String {
    format!("file://{}", encode(&absolute.to_string_lossy()))
}

/// Percent-encodes what RFC 3986 does not allow in a path (`/` separates segments).
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let allowed = byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte);
        if allowed {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_and_image_paths_are_relative_to_their_root() {
        let node = Root::node(Path::new("/mnt/node/"));
        assert_eq!(node.uri.as_deref(), Some("file:///mnt/node/"));
        assert_eq!(
            node.locate("/etc/kubernetes/manifests/kube-apiserver.yaml"),
            (
                "etc/kubernetes/manifests/kube-apiserver.yaml".to_string(),
                Some("NODEROOT")
            )
        );
        assert_eq!(Root::node(Path::new("/")).uri.as_deref(), Some("file:///"));
        let image = Root::image("shop.tar");
        assert_eq!(
            image.locate("/app/shop.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"),
            (
                "app/shop.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar".to_string(),
                Some("IMAGEROOT")
            )
        );
    }

    #[test]
    fn stdin_and_urls_have_no_base() {
        let root = Root::source("/src");
        assert_eq!(root.locate("-"), ("stdin".to_string(), None));
        assert_eq!(
            root.locate("https://10.0.0.1:6443/api"),
            ("https://10.0.0.1:6443/api".to_string(), None)
        );
    }

    #[test]
    fn location_display() {
        let mut location = Location::line("a.yaml", 3);
        assert_eq!(location.display(), "a.yaml:3");
        location.column = Some(7);
        assert_eq!(location.display(), "a.yaml:3:7");
        assert_eq!(Location::file("a.yaml").display(), "a.yaml");
    }
}
