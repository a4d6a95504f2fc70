//! haechi-image finds the packages in a container image and matches them against
//! vulnerability advisories in the OSV schema, offline.
//!
//! It owns image reading (`docker save` tarballs, OCI layouts and archives, unpacked root
//! filesystems), the layer walk with whiteouts, the package analyzers, version comparison per
//! ecosystem, the OSV database and its index file, and the reports (table, JSON, SARIF,
//! CycloneDX). It does not fetch anything: images and advisories are files the user gives.
//!
//! The design decision: layers are streamed once, never unpacked. The walk keeps an in-memory
//! map of the final filesystem (path → layer, size) and hands the few files an analyzer wants
//! to it while the layer streams past; what the analyzer finds hangs on the path, so a later
//! layer that replaces or deletes the file drops its packages too. That makes whiteouts exact
//! and keeps memory proportional to the number of paths, not the image size.

#![deny(missing_docs)]

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

use serde::Serialize;

pub use analyze::{OsInfo, Package, PackageKind};
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

/// Severity of a vulnerability or a secret, ordered from least to most severe.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// The advisory gives no severity.
    Unknown,
    /// CVSS 0.1-3.9.
    Low,
    /// CVSS 4.0-6.9.
    Medium,
    /// CVSS 7.0-8.9.
    High,
    /// CVSS 9.0-10.0.
    Critical,
}

impl Severity {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The severity band of a CVSS base score.
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Severity, String> {
        match s.to_ascii_uppercase().as_str() {
            "UNKNOWN" => Ok(Severity::Unknown),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" | "MODERATE" => Ok(Severity::Medium),
            "HIGH" | "IMPORTANT" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?}: use unknown, low, medium, high or critical"
            )),
        }
    }
}
