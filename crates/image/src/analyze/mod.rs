//! Package analyzers. Each one names the paths it wants ([`wants`], decided from the path,
//! size and mode alone so the layer walker reads nothing else) and turns a file's bytes into
//! packages ([`analyze`]). Adding an analyzer means a module here and one line in each function.

mod apk;
mod dpkg;
mod gobin;
mod java;
mod npm;
mod os;
mod python;
mod rpm;
mod rust;

use serde::Serialize;

pub use os::OsInfo;

/// Which package world a package belongs to; it decides the version comparator and the purl.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// Debian/Ubuntu packages from the dpkg database.
    Deb,
    /// Alpine packages from the apk database.
    Apk,
    /// RHEL-family packages from the rpm sqlite database.
    Rpm,
    /// Java archives identified by Maven coordinates (`group:artifact`).
    Maven,
    /// Python distributions.
    Pypi,
    /// npm packages.
    Npm,
    /// Go modules compiled into a binary (and the Go standard library, as `stdlib`).
    Go,
    /// Rust crates from Cargo.lock or cargo-auditable data.
    Cargo,
}

impl PackageKind {
    /// The name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Deb => "deb",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
            PackageKind::Maven => "maven",
            PackageKind::Pypi => "pypi",
            PackageKind::Npm => "npm",
            PackageKind::Go => "go",
            PackageKind::Cargo => "cargo",
        }
    }

    /// True for the operating system's own packages.
    pub fn is_os(self) -> bool {
        matches!(self, PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm)
    }
}

/// A package found in the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Package world.
    pub kind: PackageKind,
    /// Name (`group:artifact` for Maven).
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Source package name, where the database records one that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, where it differs from `version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// CPU architecture, for OS packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Licence as the database states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The file it was found in (`/app.jar!/BOOT-INF/lib/x.jar` inside archives).
    pub path: String,
    /// The layer that file came from.
    pub layer: usize,
}

impl Package {
    pub(crate) fn new(kind: PackageKind, name: &str, version: &str, path: &str) -> Package {
        Package {
            kind,
            name: name.to_string(),
            version: version.to_string(),
            source_name: None,
            source_version: None,
            arch: None,
            license: None,
            path: format!("/{path}"),
            layer: 0,
        }
    }

    /// The name advisories of OS distributions are filed under (the source package).
    pub fn advisory_name(&self) -> &str {
        self.source_name.as_deref().unwrap_or(&self.name)
    }

    /// The version advisories compare against (the source version for OS packages).
    pub fn advisory_version(&self) -> &str {
        self.source_version.as_deref().unwrap_or(&self.version)
    }
}

/// What an analyzer found in one file.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub packages: Vec<Package>,
    pub os: Option<OsInfo>,
    /// Paths an OS package manager installed (dpkg's `info/*.list`, apk's `F:`/`R:` lines),
    /// without the leading `/`: language packages inside them belong to the OS package.
    pub owned: Vec<String>,
    /// Why the file could not be read completely (it is reported, the scan goes on).
    pub problem: Option<String>,
}

/// True when an analyzer wants the content of the file at `path` (no leading `/`).
pub(crate) fn wants(path: &str, size: u64, mode: u32) -> bool {
    os::wants(path)
        || dpkg::wants(path)
        || dpkg::wants_list(path)
        || apk::wants(path)
        || rpm::wants(path)
        || java::wants(path)
        || python::wants(path)
        || npm::wants(path)
        || rust::wants_lockfile(path)
        || (mode & 0o111 != 0 && size >= 1024 && !path.ends_with(".so") && !path.contains(".so."))
}

/// Runs the analyzers that want `path` over its content.
pub(crate) fn analyze(path: &str, data: &[u8], mode: u32, layer: usize) -> Option<Box<Found>> {
    let mut found = Found::default();
    let result = if os::wants(path) {
        found.os = os::parse(data);
        Ok(())
    } else if dpkg::wants_list(path) {
        dpkg::parse_list(data, &mut found.owned);
        Ok(())
    } else if dpkg::wants(path) {
        dpkg::parse(path, data, &mut found.packages)
    } else if apk::wants(path) {
        apk::parse(path, data, &mut found.packages, &mut found.owned)
    } else if rpm::wants(path) {
        rpm::parse(path, data, &mut found.packages)
    } else if java::wants(path) {
        java::parse(path, data, &mut found.packages)
    } else if python::wants(path) {
        python::parse(path, data, &mut found.packages)
    } else if npm::wants(path) {
        npm::parse(path, data, &mut found.packages)
    } else if rust::wants_lockfile(path) {
        rust::parse_lockfile(path, data, &mut found.packages)
    } else if mode & 0o111 != 0 && data.starts_with(b"\x7fELF") {
        gobin::parse(path, data, &mut found.packages)
            .and_then(|()| rust::parse_auditable(path, data, &mut found.packages))
    } else {
        Ok(())
    };
    if let Err(problem) = result {
        found.problem = Some(format!("/{path}: {problem}"));
    }
    if found.packages.is_empty()
        && found.os.is_none()
        && found.owned.is_empty()
        && found.problem.is_none()
    {
        return None;
    }
    for package in &mut found.packages {
        package.layer = layer;
    }
    Some(Box::new(found))
}

/// Splits RFC 822-style control data (dpkg status, Python METADATA) into paragraphs of
/// (field, value) pairs; continuation lines are appended to the previous value.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<(&str, String)>> {
    let mut out = Vec::new();
    let mut current: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((field, value)) = line.split_once(':') {
            current.push((field, value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub(crate) fn field<'a>(paragraph: &'a [(&str, String)], name: &str) -> Option<&'a str> {
    paragraph
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
