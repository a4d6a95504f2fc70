//! Opening and reading the files a user names (images, OCI layouts, advisory databases) so that
//! a hostile one cannot make the scanner block, read outside a layout or read without end: only
//! regular files are read (a FIFO, socket or device is refused without blocking on it), files
//! inside an OCI layout are opened component by component without following symbolic links,
//! and every read stops one byte past its limit whatever size the file reports (files in
//! `/proc` report 0).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The path (or a directory on the way inside a layout) is a symbolic link.
    Symlink,
    /// A directory, FIFO, socket or device.
    NotRegular,
    /// It does not exist.
    Missing,
    /// Anything else the system said.
    Io(io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Symlink => f.write_str(
                "is a symbolic link (or lies under one); symbolic links are not followed \
                 inside an image layout",
            ),
            Refused::NotRegular => f.write_str(
                "is not a regular file (a directory, FIFO, socket or device); only regular \
                 files are read",
            ),
            Refused::Missing => f.write_str("does not exist"),
            Refused::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

fn refused(e: io::Error) -> Refused {
    match e.raw_os_error() {
        Some(libc::ELOOP) => Refused::Symlink,
        Some(libc::ENOTDIR) => Refused::NotRegular,
        Some(libc::ENOENT) => Refused::Missing,
        _ => Refused::Io(e),
    }
}

/// Opens `path` (following symbolic links: the user named it) if it is a regular file.
pub(crate) fn open_regular(path: &Path) -> Result<File, Refused> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(refused)?;
    regular(file)
}

/// Opens `member` (`blobs/sha256/HEX`, `index.json`) inside the directory `root`, refusing a
/// symbolic link at any component and anything but a regular file at the end.
pub(crate) fn open_inside(root: &Path, member: impl AsRef<Path>) -> Result<File, Refused> {
    let mut parts = Vec::new();
    for part in member.as_ref().components() {
        match part {
            std::path::Component::Normal(name) => parts.push(name),
            _ => return Err(Refused::Missing),
        }
    }
    if parts.is_empty() {
        return Err(Refused::Missing);
    }
    let mut dir: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(root)
        .map_err(refused)?
        .into();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let flags = libc::O_RDONLY
            | libc::O_NOFOLLOW
            | libc::O_CLOEXEC
            | if last {
                libc::O_NONBLOCK
            } else {
                libc::O_DIRECTORY
            };
        let name = std::ffi::CString::new(part.as_bytes()).map_err(|_| Refused::Missing)?;
        // SAFETY: `dir` is an open descriptor and `name` a NUL-terminated string; the result
        // is checked before it is owned.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            // A directory opened with O_NOFOLLOW that is a link fails with ENOTDIR, as a
            // regular file would: look at what it is to say which.
            let on_the_way: std::path::PathBuf = std::iter::once(root.as_os_str())
                .chain(parts[..=i].iter().copied())
                .collect();
            if std::fs::symlink_metadata(&on_the_way).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Refused::Symlink);
            }
            return Err(refused(e));
        }
        // SAFETY: `fd` is a new descriptor nothing else owns.
        dir = unsafe { OwnedFd::from_raw_fd(fd) };
    }
    regular(File::from(dir))
}

fn regular(file: File) -> Result<File, Refused> {
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::NotRegular);
    }
    Ok(file)
}

/// True when `path` names something inside `root` without a symbolic link on the way.
pub(crate) fn exists_inside(root: &Path, member: &str) -> bool {
    open_inside(root, member).is_ok()
}

/// A read that passed its limit.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// More than the limit (bytes).
    TooLarge(u64),
    /// The read failed.
    Io(io::Error),
}

/// Reads `reader` to its end, refusing more than `limit` bytes; `hint` sizes the first
/// allocation (a header's word for the size is not trusted beyond 1 MiB).
pub(crate) fn read_limited(reader: impl Read, limit: u64, hint: u64) -> Result<Vec<u8>, ReadError> {
    let mut data = Vec::with_capacity(hint.min(limit).min(1 << 20) as usize);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(ReadError::Io)?;
    if data.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(data)
}

/// `64 MiB`, `4 GiB`, `1 KiB`, `300 bytes`.
pub(crate) fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// What went wrong reading a layer stream (tar inside gzip or zstd), in words that never
/// repeat the stream's bytes: the tar crate's messages quote header fields, which for a file
/// that is not a tar are its first bytes.
pub(crate) fn stream_error(e: &io::Error) -> String {
    let text = e.to_string();
    let kind = if text.contains("numeric field") {
        "a tar header field is not a number"
    } else if text.contains("checksum mismatch") {
        "a tar header's checksum does not match"
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        "the data ends early (truncated)"
    } else if text.contains("deflate") || text.contains("gzip") {
        "corrupt gzip data"
    } else if text.contains("zstd") || text.contains("frame") || text.contains("block") {
        "corrupt zstd data"
    } else {
        "unreadable data"
    };
    format!("{kind} (not a tar stream, or a damaged one)")
}
