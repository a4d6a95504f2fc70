//! Reading text from untrusted paths: regular files only, never more than a limit.
//!
//! A path handed to a scanner may name anything: a FIFO that blocks the reader forever, a device
//! such as `/dev/zero` that never ends, a file whose reported size (0 for many special files) says
//! nothing about what reading it yields. So a path is opened without blocking, judged by what was
//! opened (not by a second look at the path, which may have changed in between), and read at most
//! up to the limit plus one byte, whatever its reported size.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// How much of the start of a text is looked at for NUL bytes before the rest is read.
const SNIFF: usize = 8192;

/// Why a text could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The path is not a regular file: a directory, FIFO, socket or device (named).
    NotRegular(&'static str),
    /// More than `limit` bytes; `size` when the file reported it before reading.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The reported size, when known.
        size: Option<u64>,
    },
    /// A NUL byte among the first 8 KiB: a binary file.
    Binary,
    /// Not UTF-8: the first invalid byte's offset.
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The operating system refused (missing file, no permission, …).
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(what) => write!(f, "{what}, not a regular file: not read"),
            ReadError::TooLarge {
                limit,
                size: Some(size),
            } => write!(f, "{size} bytes is over the {limit} byte limit: not read"),
            ReadError::TooLarge { limit, size: None } => {
                write!(f, "over the {limit} byte limit: not read past it")
            }
            ReadError::Binary => write!(f, "binary file (contains NUL bytes): not read"),
            ReadError::NotUtf8 { offset } => {
                write!(
                    f,
                    "not UTF-8 text (invalid byte at offset {offset}): not read"
                )
            }
            ReadError::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// Opens `path` for reading without blocking on a FIFO and without making a terminal the
/// controlling one.
fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// What a file type is, for messages.
pub fn describe_file_type(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Opens the regular file at `path` (anything else is refused without reading or waiting) and
/// returns it with what the opened file reports of itself.
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), ReadError> {
    let file = open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(describe_file_type(meta.file_type())));
    }
    Ok((file, meta))
}

/// Reads the UTF-8 text of the regular file at `path`, at most `limit` bytes.
pub fn read_text_file(path: &Path, limit: u64) -> Result<String, ReadError> {
    let (mut file, meta) = open_regular(path)?;
    read_opened(&mut file, &meta, limit)
}

/// Reads the text of a file [`open_regular`] opened, at most `limit` bytes.
pub fn read_opened(
    file: &mut File,
    meta: &std::fs::Metadata,
    limit: u64,
) -> Result<String, ReadError> {
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            limit,
            size: Some(meta.len()),
        });
    }
    read_text(file, limit, meta.len())
}

/// Reads UTF-8 text from `reader` (standard input, say), at most `limit` bytes; `size_hint`
/// only sizes the first allocation. The first 8 KiB are read and checked for NUL bytes before
/// the rest, so a binary stream costs no more than that.
pub fn read_text(reader: &mut dyn Read, limit: u64, size_hint: u64) -> Result<String, ReadError> {
    let capacity = usize::try_from(size_hint.min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity.saturating_add(1));
    let sniff = u64::try_from(SNIFF)
        .unwrap_or(u64::MAX)
        .min(limit.saturating_add(1));
    reader.take(sniff).read_to_end(&mut bytes)?;
    if bytes.contains(&0) {
        return Err(ReadError::Binary);
    }
    if bytes.len() as u64 == sniff {
        let rest = limit.saturating_add(1).saturating_sub(sniff);
        reader.take(rest).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, size: None });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_most_the_limit_whatever_the_source() {
        let mut zeros = io::repeat(b'a');
        match read_text(&mut zeros, 100_000, 0) {
            Err(ReadError::TooLarge { limit, size: None }) => assert_eq!(limit, 100_000),
            other => panic!("{other:?}"),
        }
        let mut nul = io::repeat(0);
        assert!(matches!(
            read_text(&mut nul, 1 << 40, 0),
            Err(ReadError::Binary)
        ));
        let text = "a: 1\n".repeat(5000);
        assert_eq!(
            read_text(&mut text.as_bytes(), text.len() as u64, 0).unwrap(),
            text
        );
        assert!(matches!(
            read_text(&mut text.as_bytes(), text.len() as u64 - 1, 0),
            Err(ReadError::TooLarge { .. })
        ));
        assert!(matches!(
            read_text(&mut &b"ok \xff"[..], 10, 0),
            Err(ReadError::NotUtf8 { offset: 3 })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("haechi-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("x.yaml");
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Opening a FIFO for reading would block until a writer comes: it must not.
        assert!(matches!(
            read_text_file(&fifo, 1 << 20),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read_text_file(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read_text_file(&dir, 1 << 20),
            Err(ReadError::NotRegular("a directory"))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
