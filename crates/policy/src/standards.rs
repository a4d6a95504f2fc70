//! The Pod Security Standards' levels and versions, as Pod Security Admission names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A level of the Pod Security Standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PssLevel {
    /// Unrestricted.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practice.
    Restricted,
}

impl PssLevel {
    /// The lowercase name, as Pod Security Admission labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<PssLevel, String> {
        match s {
            "privileged" => Ok(PssLevel::Privileged),
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown Pod Security level `{s}` (expected privileged, baseline or restricted)"
            )),
        }
    }
}

/// A version of the Pod Security Standards, as Pod Security Admission's `-version` labels name
/// them: `v1.N` or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PssVersion {
    minor: u16,
}

impl PssVersion {
    /// The newest version haechi implements; `latest` means this.
    pub const LATEST: PssVersion = PssVersion { minor: 37 };

    /// Version `v1.minor`.
    pub const fn v1(minor: u16) -> PssVersion {
        PssVersion { minor }
    }

    /// The minor version: 0 for v1.0.
    pub fn minor(self) -> u16 {
        self.minor
    }

    /// Whether this version is `v1.minor` or newer.
    pub fn at_least(self, minor: u16) -> bool {
        self.minor >= minor
    }
}

impl Default for PssVersion {
    fn default() -> PssVersion {
        PssVersion::LATEST
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

impl FromStr for PssVersion {
    type Err = String;
    /// Parses `latest`, `v1.N` or `1.N`. Versions newer than haechi knows evaluate as
    /// [`PssVersion::LATEST`], as Pod Security Admission does.
    fn from_str(s: &str) -> Result<PssVersion, String> {
        if s == "latest" {
            return Ok(PssVersion::LATEST);
        }
        let minor = s
            .strip_prefix('v')
            .unwrap_or(s)
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("invalid Pod Security version `{s}` (expected `latest` or `v1.N`)")
            })?;
        Ok(PssVersion::v1(minor.min(PssVersion::LATEST.minor)))
    }
}
