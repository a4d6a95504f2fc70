//! Matching an inventory against the database, the ignore file, and the report every output
//! format renders.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analyze::{OsInfo, Package, PackageKind};
use crate::image::{Image, ImageKind};
use crate::inventory::{ConfigFinding, Inventory};
use crate::osv::Database;
use crate::secrets::Secret;
use crate::{Error, Severity};

/// Version of the JSON report layout (docs/image.md).
pub const SCHEMA_VERSION: u32 = 1;

/// A vulnerable package.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    /// Advisory id.
    pub id: String,
    /// Other ids (CVE, GHSA, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Package name (the binary package for OS packages).
    pub package: String,
    /// Package world.
    pub kind: PackageKind,
    /// Installed version.
    pub installed_version: String,
    /// Lowest fixed version above the installed one; `None` when no fix exists.
    pub fixed_version: Option<String>,
    /// Severity.
    #[serde(with = "haechi_report::json::upper")]
    pub severity: Severity,
    /// CVSS v3 base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// CVSS vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// One-line summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Advisory page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// OSV ecosystem matched.
    pub ecosystem: String,
    /// File the package was found in.
    pub path: String,
    /// Layer of that file.
    pub layer: usize,
}

/// A vulnerability or secret an ignore file silenced, with the reason given there.
#[derive(Clone, Debug, Serialize)]
pub struct Ignored<T> {
    /// What was silenced.
    #[serde(flatten)]
    pub item: T,
    /// Why.
    pub reason: String,
}

/// The image part of a report.
#[derive(Clone, Debug, Serialize)]
pub struct Artifact {
    /// The path given.
    pub name: String,
    /// Input kind (`docker-archive`, `oci-layout`, `oci-archive`, `rootfs`).
    pub kind: &'static str,
    /// Names the image was saved under.
    pub tags: Vec<String>,
    /// The configured user (`null` when none is set).
    pub user: Option<String>,
    /// Architecture from the config.
    pub architecture: Option<String>,
}

/// One layer of the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    /// Position, bottom first.
    pub index: usize,
    /// Blob digest.
    pub digest: String,
    /// Uncompressed digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Command that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Stored size in bytes.
    pub size: u64,
}

/// Everything a scan found.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image.
    pub artifact: Artifact,
    /// Its OS.
    pub os: Option<OsInfo>,
    /// Its layers.
    pub layers: Vec<LayerReport>,
    /// All packages found.
    pub packages: Vec<Package>,
    /// Vulnerable packages, most severe first.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Vulnerabilities silenced by the ignore file.
    pub ignored_vulnerabilities: Vec<Ignored<Vulnerability>>,
    /// Secrets found in layers.
    pub secrets: Vec<Secret>,
    /// Secrets silenced by the ignore file.
    pub ignored_secrets: Vec<Ignored<Secret>>,
    /// Findings about the image configuration.
    pub misconfigurations: Vec<ConfigFinding>,
    /// What could not be read; the scan went on without it.
    pub problems: Vec<String>,
    /// True when a layer could not be read to its end.
    pub incomplete: bool,
}

/// Largest ignore file read.
pub const MAX_IGNORE_FILE: u64 = 16 << 20;

/// The ignore file: vulnerabilities and secrets accepted, each with a reason.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreFile {
    /// Accepted vulnerabilities.
    #[serde(default)]
    pub vulnerabilities: Vec<IgnoreVulnerability>,
    /// Accepted secrets.
    #[serde(default)]
    pub secrets: Vec<IgnoreSecret>,
}

/// One accepted vulnerability.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreVulnerability {
    /// Advisory id or alias (`CVE-2021-44228` also silences `GHSA-jfh8-c2jp-5v3q`).
    pub id: String,
    /// Only for this package (any package when absent).
    #[serde(default)]
    pub package: Option<String>,
    /// Why it is accepted (required).
    pub reason: String,
}

/// One accepted secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreSecret {
    /// Absolute path in the image.
    pub path: String,
    /// Only this rule (any rule when absent).
    #[serde(default)]
    pub rule: Option<String>,
    /// Why it is accepted (required).
    pub reason: String,
}

impl IgnoreFile {
    /// Reads an ignore file (YAML).
    pub fn load(path: &Path) -> Result<IgnoreFile, Error> {
        let fail = |message: String| Error::Image {
            path: path.display().to_string(),
            message,
        };
        let file =
            crate::file::open_regular(path).map_err(|e| fail(format!("the ignore file {e}")))?;
        let bytes = crate::file::read_limited(file, MAX_IGNORE_FILE, 0).map_err(|e| match e {
            crate::file::ReadError::TooLarge(limit) => fail(format!(
                "the ignore file is larger than {}",
                crate::file::size_text(limit)
            )),
            crate::file::ReadError::Io(e) => Error::io(path, e),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            fail(format!(
                "the ignore file is not UTF-8 (invalid bytes at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let file: IgnoreFile = serde_saphyr::from_str(&text).map_err(|e| Error::Image {
            path: path.display().to_string(),
            message: format!("invalid ignore file: {e}"),
        })?;
        let blank = file
            .vulnerabilities
            .iter()
            .map(|v| (&v.id, &v.reason))
            .chain(file.secrets.iter().map(|s| (&s.path, &s.reason)))
            .find(|(_, reason)| reason.trim().is_empty());
        if let Some((what, _)) = blank {
            return Err(Error::Image {
                path: path.display().to_string(),
                message: format!("entry {what} has an empty reason; say why it is accepted"),
            });
        }
        Ok(file)
    }

    fn vulnerability(&self, v: &Vulnerability) -> Option<&str> {
        self.vulnerabilities
            .iter()
            .find(|i| {
                (i.id == v.id || v.aliases.contains(&i.id))
                    && i.package.as_ref().is_none_or(|p| *p == v.package)
            })
            .map(|i| i.reason.as_str())
    }

    fn secret(&self, s: &Secret) -> Option<&str> {
        self.secrets
            .iter()
            .find(|i| i.path == s.path && i.rule.as_ref().is_none_or(|r| r == s.rule))
            .map(|i| i.reason.as_str())
    }
}

/// How to match.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// Leave out vulnerabilities without a fixed version.
    pub ignore_unfixed: bool,
    /// Accepted vulnerabilities and secrets.
    pub ignore: IgnoreFile,
}

/// The OSV ecosystem a package's advisories are filed under, given the image's OS.
pub fn ecosystem(package: &Package, os: Option<&OsInfo>) -> Option<String> {
    Some(match package.kind {
        PackageKind::Deb => {
            let os = os?;
            match os.family.as_str() {
                "debian" if !os.version.is_empty() => {
                    format!("Debian:{}", os.version.split('.').next().unwrap_or(""))
                }
                "ubuntu" if !os.version.is_empty() => format!("Ubuntu:{}", os.version),
                _ => return None,
            }
        }
        PackageKind::Apk => {
            let os = os?;
            match os.family.as_str() {
                "alpine" => {
                    let mut parts = os.version.split('.');
                    format!("Alpine:v{}.{}", parts.next()?, parts.next()?)
                }
                "wolfi" => "Wolfi".to_string(),
                "chainguard" => "Chainguard".to_string(),
                _ => return None,
            }
        }
        PackageKind::Rpm => {
            let os = os?;
            let major = os.version.split('.').next().unwrap_or("");
            match os.family.as_str() {
                "rocky" => format!("Rocky Linux:{major}"),
                "almalinux" => format!("AlmaLinux:{major}"),
                _ => return None,
            }
        }
        PackageKind::Maven => "Maven".into(),
        PackageKind::Pypi => "PyPI".into(),
        PackageKind::Npm => "npm".into(),
        PackageKind::Go => "Go".into(),
        PackageKind::Cargo => "crates.io".into(),
    })
}

/// The vulnerabilities of `packages`, most severe first; aliases of one vulnerability filed
/// twice (a GHSA and its CVE record) are reported once per package.
pub fn match_packages(
    packages: &[Package],
    os: Option<&OsInfo>,
    db: &Database,
) -> Vec<Vulnerability> {
    match_packages_checked(packages, os, db, &mut Vec::new())
}

/// Like [`match_packages`]; what could not be checked goes to `problems`, once each: database
/// records filed under a package's name that could not be read, CVSS vectors refused in the
/// advisories that matched, and OS packages whose distribution haechi has no advisories for.
pub fn match_packages_checked(
    packages: &[Package],
    os: Option<&OsInfo>,
    db: &Database,
    problems: &mut Vec<String>,
) -> Vec<Vulnerability> {
    let mut out = Vec::new();
    let mut said = HashSet::new();
    let mut say = |problems: &mut Vec<String>, p: &str| {
        if said.insert(p.to_string()) {
            problems.push(p.to_string());
        }
    };
    let mut unmatched: std::collections::BTreeMap<PackageKind, usize> = Default::default();
    for package in packages {
        if package.kind.is_os()
            && let Some(os) = os
            && ecosystem(package, Some(os)).is_none()
        {
            *unmatched.entry(package.kind).or_default() += 1;
        }
    }
    if let Some(os) = os {
        for (kind, n) in unmatched {
            let known = match kind {
                PackageKind::Deb => "Debian and Ubuntu",
                PackageKind::Apk => "Alpine, Wolfi and Chainguard",
                _ => "Rocky Linux and AlmaLinux",
            };
            let why = if os.version.is_empty()
                && matches!(
                    os.family.as_str(),
                    "debian" | "ubuntu" | "alpine" | "rocky" | "almalinux"
                ) {
                format!("ID={} has no VERSION_ID", os.family)
            } else {
                format!(
                    "haechi has no {} advisories for ID={} VERSION_ID={} (it matches those of \
                     {known})",
                    kind.as_str(),
                    os.family,
                    os.version,
                )
            };
            say(
                problems,
                &format!(
                    "/etc/os-release: {why}: its {n} {} package{} were not matched",
                    kind.as_str(),
                    if n == 1 { "" } else { "s" }
                ),
            );
        }
    }
    for package in packages {
        let Some(eco) = ecosystem(package, os) else {
            continue;
        };
        // Debian, Ubuntu and Alpine file advisories under the source package; Rocky and
        // AlmaLinux under the binary rpm.
        let (name, version) = match package.kind {
            PackageKind::Deb | PackageKind::Apk => {
                (package.advisory_name(), package.advisory_version())
            }
            _ => (package.name.as_str(), package.version.as_str()),
        };
        let mut seen: HashSet<&str> = HashSet::new();
        let mut unreadable = Vec::new();
        let found = db.lookup_checked(&eco, name, &mut unreadable);
        for p in &unreadable {
            say(problems, p);
        }
        for (advisory, affected) in found {
            if !affected.includes(version) {
                continue;
            }
            for p in &advisory.problems {
                say(problems, p);
            }
            if seen.contains(advisory.id.as_str())
                || advisory.aliases.iter().any(|a| seen.contains(a.as_str()))
            {
                continue;
            }
            seen.insert(&advisory.id);
            seen.extend(advisory.aliases.iter().map(String::as_str));
            out.push(Vulnerability {
                id: advisory.id.clone(),
                aliases: advisory.aliases.clone(),
                package: package.name.clone(),
                kind: package.kind,
                installed_version: package.version.clone(),
                fixed_version: affected.fixed_after(version).map(str::to_string),
                severity: advisory.severity,
                score: advisory.score,
                vector: advisory.vector.clone(),
                title: advisory.summary.clone(),
                url: advisory.url.clone(),
                ecosystem: eco.clone(),
                path: package.path.clone(),
                layer: package.layer,
            });
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.path.cmp(&b.path))
    });
    out
}

impl Report {
    /// Builds the report of `image` from its inventory; `db` is `None` for an SBOM only.
    pub fn build(
        image: &Image,
        inventory: Inventory,
        db: Option<&Database>,
        options: &MatchOptions,
    ) -> Report {
        let misconfigurations = inventory.config_findings(image.kind);
        let incomplete = inventory.incomplete;
        let mut problems = inventory.problems;
        if let Some(db) = db {
            problems.extend(db.problems.iter().cloned());
        }
        let found = db
            .map(|db| {
                match_packages_checked(
                    &inventory.packages,
                    inventory.os.as_ref(),
                    db,
                    &mut problems,
                )
            })
            .unwrap_or_default();
        if db.is_some()
            && inventory.os.is_none()
            && inventory.packages.iter().any(|p| p.kind.is_os())
        {
            problems.push("OS packages found but no /etc/os-release: they were not matched".into());
        }
        let mut vulnerabilities = Vec::new();
        let mut ignored_vulnerabilities = Vec::new();
        for v in found {
            if options.ignore_unfixed && v.fixed_version.is_none() {
                continue;
            }
            match options.ignore.vulnerability(&v) {
                Some(reason) => ignored_vulnerabilities.push(Ignored {
                    reason: reason.to_string(),
                    item: v,
                }),
                None => vulnerabilities.push(v),
            }
        }
        let mut secrets = Vec::new();
        let mut ignored_secrets = Vec::new();
        for s in inventory.secrets {
            match options.ignore.secret(&s) {
                Some(reason) => ignored_secrets.push(Ignored {
                    reason: reason.to_string(),
                    item: s,
                }),
                None => secrets.push(s),
            }
        }
        Report {
            schema_version: SCHEMA_VERSION,
            artifact: Artifact {
                name: image.name.clone(),
                kind: image.kind.as_str(),
                tags: image.config.tags.clone(),
                user: image.config.user.clone(),
                architecture: image.config.architecture.clone(),
            },
            os: inventory.os,
            layers: image
                .layers
                .iter()
                .enumerate()
                .filter(|_| image.kind != ImageKind::Rootfs)
                .map(|(index, l)| LayerReport {
                    index,
                    digest: l.digest.clone(),
                    diff_id: l.diff_id.clone(),
                    created_by: l.created_by.clone(),
                    size: l.size,
                })
                .collect(),
            packages: inventory.packages,
            vulnerabilities,
            ignored_vulnerabilities,
            secrets,
            ignored_secrets,
            misconfigurations,
            problems,
            incomplete,
        }
    }

    /// True when a vulnerability or secret at or above `threshold` was found (not ignored).
    pub fn has_finding_at_least(&self, threshold: Severity) -> bool {
        self.vulnerabilities.iter().any(|v| v.severity >= threshold)
            || self.secrets.iter().any(|s| s.severity >= threshold)
    }
}
