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

use std::borrow::Cow;

use serde::Serialize;

pub use java::{MAX_ARCHIVE_DEPTH, MAX_ARCHIVE_HELD, MAX_ARCHIVE_METADATA, MAX_NESTED_ARCHIVE};
pub use os::OsInfo;
pub use rpm::{MAX_RPM_BLOB, MAX_RPM_ROWS, MAX_RPM_STEPS};

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
    /// Why the file could not be read completely (reported, the scan goes on).
    pub problems: Vec<String>,
}

/// What nested archives (jars in jars) may cost per image, and what they cost: the bytes
/// inflated from them in all, and the most held in memory at once.
#[derive(Clone, Debug, Default)]
pub struct ArchiveBudget {
    /// Bytes the image's nested archives may inflate to, in all.
    pub limit: u64,
    /// Bytes inflated so far (nested archives and the metadata files read from archives).
    pub inflated: u64,
    /// Nested archives held in memory now.
    pub held: u64,
    /// The most held at once.
    pub peak_held: u64,
    /// Whether running out has been reported.
    pub(crate) reported: bool,
}

impl ArchiveBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> ArchiveBudget {
        ArchiveBudget {
            limit,
            ..ArchiveBudget::default()
        }
    }

    /// Bytes left to inflate.
    pub(crate) fn left(&self) -> u64 {
        self.limit.saturating_sub(self.inflated)
    }

    /// True once nothing is left.
    pub(crate) fn spent(&self) -> bool {
        self.inflated >= self.limit
    }
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

/// Runs the analyzers that want `path` over its content; nested archives draw on `budget`.
pub(crate) fn analyze(
    path: &str,
    data: &[u8],
    mode: u32,
    layer: usize,
    budget: &mut ArchiveBudget,
) -> Option<Box<Found>> {
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
        java::parse(path, data, &mut found.packages, budget, &mut found.problems);
        Ok(())
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
        found.problems.insert(0, format!("/{path}: {problem}"));
    }
    if found.packages.is_empty()
        && found.os.is_none()
        && found.owned.is_empty()
        && found.problems.is_empty()
    {
        return None;
    }
    for package in &mut found.packages {
        package.layer = layer;
    }
    Some(Box::new(found))
}

/// RFC 822-style control data (dpkg status, Python METADATA), one paragraph at a time, so a
/// large file never has all its paragraphs in memory at once. A line that is not UTF-8 is read
/// with its invalid bytes replaced (U+FFFD) and counted in [`Paragraphs::invalid`], so one bad
/// byte in a field nobody reads does not cost the whole file.
pub(crate) struct Paragraphs<'a> {
    rest: &'a [u8],
    /// Number of the next line (1-based).
    line: usize,
    /// The first line that was not UTF-8, and how many were not.
    pub invalid: Option<(usize, usize)>,
}

/// One paragraph: its (field, value) pairs; continuation lines are
/// joined to the previous value with a newline.
pub(crate) struct Paragraph<'a> {
    pub fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Paragraph<'a> {
    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<'a> Paragraphs<'a> {
    pub fn new(data: &'a [u8]) -> Paragraphs<'a> {
        Paragraphs {
            rest: data,
            line: 1,
            invalid: None,
        }
    }

    /// The next line, decoded; `None` at the end.
    fn next_line(&mut self) -> Option<Cow<'a, str>> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let number = self.line;
        self.line += 1;
        Some(match std::str::from_utf8(line) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => {
                match &mut self.invalid {
                    Some((_, count)) => *count += 1,
                    None => self.invalid = Some((number, 1)),
                }
                Cow::Owned(String::from_utf8_lossy(line).into_owned())
            }
        })
    }
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Paragraph<'a>;

    fn next(&mut self) -> Option<Paragraph<'a>> {
        let mut fields: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        while let Some(line) = self.next_line() {
            if line.trim().is_empty() {
                if fields.is_empty() {
                    continue;
                }
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    let value = value.to_mut();
                    value.push('\n');
                    value.push_str(line.trim());
                }
                continue;
            }
            let split = match &line {
                Cow::Borrowed(text) => text
                    .split_once(':')
                    .map(|(f, v)| (Cow::Borrowed(f), Cow::Borrowed(v.trim()))),
                Cow::Owned(text) => text
                    .split_once(':')
                    .map(|(f, v)| (Cow::Owned(f.to_owned()), Cow::Owned(v.trim().to_owned()))),
            };
            if let Some(pair) = split {
                fields.push(pair);
            }
        }
        (!fields.is_empty()).then_some(Paragraph { fields })
    }
}

impl Paragraphs<'_> {
    /// The problem to report for lines that were not UTF-8, if any.
    pub fn invalid_problem(&self) -> Option<String> {
        let (first, count) = self.invalid?;
        let more = match count {
            1 => String::new(),
            n => format!(
                " (and {} more line{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        Some(format!(
            "line {first}{more} is not UTF-8: read with the invalid bytes replaced (U+FFFD); \
             the packages were still read"
        ))
    }
}
