//! haechi-image finds the packages in a container image and matches them against
//! vulnerability advisories in the OSV schema, offline.
//!
//! It owns image reading (`docker save` tarballs, OCI layouts and archives, unpacked root
//! filesystems), the layer walk with whiteouts, the package analyzers, version comparison per
//! ecosystem, the OSV database and its index file, the report with its table layout and its
//! CycloneDX SBOM; `haechi-report` writes the report's JSON and SARIF. It does not fetch
//! anything: images and advisories are files the user gives.
//!
//! The design decision: layers are streamed once, never unpacked. The walk keeps an in-memory
//! map of the final filesystem (path → layer, size) and hands the few files an analyzer wants
//! to it while the layer streams past; what the analyzer finds hangs on the path, so a later
//! layer that replaces or deletes the file drops its packages too. That makes whiteouts exact
//! and keeps memory proportional to the number of paths, not the image size.

pub mod analyze;
pub mod cvss;
mod file;
pub mod format;
pub mod fs;
pub mod image;
pub mod inventory;
pub mod osv;
pub mod report;
pub mod secrets;
pub mod version;

use std::path::Path;

pub use analyze::{OsInfo, Package, PackageKind};
/// Severity of a vulnerability or a secret: haechi's one scale, rated from
/// [`Severity::ADVISORY`] (`Unknown` when an advisory gives no rating).
pub use haechi_report::Severity;
pub use image::{Image, ImageKind};
pub use inventory::Inventory;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The image is not in a format this crate reads.
    #[error("{path}: {message}")]
    Image {
        /// The image (or member).
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A layer could not be opened.
    #[error("layer {layer}: {message}")]
    Layer {
        /// Layer index.
        layer: usize,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
