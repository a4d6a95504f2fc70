//! The vulnerability database: advisories in the OSV schema (one JSON record per advisory, as
//! osv.dev publishes them per ecosystem), read from directories, zip files (osv.dev's
//! `all.zip`) or the index file `haechi image db build` writes.
//!
//! The index file keeps each advisory as its own JSON blob behind a table keyed by
//! ecosystem and package name, so a scan parses only the advisories of the packages the image
//! has instead of the whole database.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Severity;
use crate::version::Scheme;

const MAGIC: &[u8] = b"HAECHI-OSV-INDEX 1\n";

/// Largest OSV record read (a JSON file, a zip entry or an index record); osv.dev's largest
/// are a few MiB.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;
/// A zip of records may inflate to this many times its own size in all (osv.dev's zips
/// inflate about ten times), and to at least [`MIN_ZIP_INFLATE`].
pub const MAX_ZIP_RATIO: u64 = 100;
/// The least a zip of records may inflate to in all.
pub const MIN_ZIP_INFLATE: u64 = 1 << 30;

/// Errors reading or writing the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// An advisory reduced to what matching and reports need.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Advisory {
    /// OSV id (`GHSA-...`, `CVE-...`, `DSA-...`).
    pub id: String,
    /// Other ids of the same vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Severity from the CVSS vector or the database's own rating.
    pub severity: Severity,
    /// CVSS base score: the highest of the record's valid CVSS v3 vectors, else of its v4 ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The CVSS vector the score comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The advisory's main web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Affected packages.
    pub affected: Vec<Affected>,
    /// What in the record could not be used (a CVSS vector refused), in words that name the
    /// advisory; reported when the advisory matches a package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One affected package of an advisory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem (`Debian:12`, `Maven`, ...).
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    pub name: String,
    /// Version ranges (SEMVER and ECOSYSTEM; GIT ranges cannot be evaluated on versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// A range event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Versions from here on are affected (`0`: from the beginning).
    Introduced(String),
    /// Versions from here on are fixed.
    Fixed(String),
    /// The last affected version.
    LastAffected(String),
}

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type", default)]
    kind: String,
    url: String,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<HashMap<String, String>>,
}

/// Parses one OSV record. `Ok(None)` for a withdrawn record.
pub fn parse_record(json: &[u8]) -> Result<Option<Advisory>, String> {
    let raw: RawRecord = serde_json::from_slice(json).map_err(|e| {
        format!(
            "invalid OSV record at line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    if raw.withdrawn.is_some() {
        return Ok(None);
    }
    let vectors: Vec<&RawSeverity> = raw
        .severity
        .iter()
        .chain(raw.affected.iter().flat_map(|a| &a.severity))
        .collect();
    let mut severity = Severity::Unknown;
    let mut score = None;
    let mut vector = None;
    let mut problems = Vec::new();
    // The highest valid v3 score, else the highest valid v4 one; a refused vector is a problem.
    for kind in ["CVSS_V3", "CVSS_V4"] {
        for s in vectors.iter().filter(|s| s.kind == kind) {
            match crate::cvss::score(&s.score) {
                Ok(v) if score.is_none_or(|old| v > old) => {
                    score = Some(v);
                    vector = Some(s.score.clone());
                    severity = Severity::from_score(v);
                }
                Ok(_) => {}
                Err(why) => problems.push(format!(
                    "advisory {}: invalid {kind} vector {}: {why}; its severity is not taken \
                     from it",
                    plain(&raw.id),
                    shorten(&s.score, 120)
                )),
            }
        }
        if score.is_some() {
            break;
        }
    }
    if score.is_none() {
        for s in vectors.iter().filter(|s| s.kind == "Ubuntu") {
            if let Ok(named) = Severity::parse_among(&s.score, &Severity::ADVISORY) {
                severity = severity.max(named);
            }
        }
    }
    if score.is_none() {
        // GitHub's advisories and several distributions rate in database_specific.severity.
        let named = std::iter::once(&raw.database_specific)
            .chain(
                raw.affected
                    .iter()
                    .flat_map(|a| [&a.database_specific, &a.ecosystem_specific]),
            )
            .filter_map(|v| {
                let named = v.as_ref()?.get("severity")?.as_str()?;
                Severity::parse_among(named, &Severity::ADVISORY).ok()
            })
            .max();
        if let Some(named) = named {
            severity = severity.max(named);
        }
    }
    let url = raw
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or(raw.references.first())
        .map(|r| r.url.clone());
    let summary = raw.summary.filter(|s| !s.is_empty()).or_else(|| {
        raw.details
            .as_deref()
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            .map(|l| l.chars().take(160).collect())
    });
    let affected = raw
        .affected
        .into_iter()
        .filter_map(|a| {
            let package = a.package?;
            let ranges = a
                .ranges
                .into_iter()
                .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
                .map(|r| {
                    r.events
                        .into_iter()
                        .flat_map(|e| e.into_iter())
                        .filter_map(|(k, v)| match k.as_str() {
                            "introduced" => Some(Event::Introduced(v)),
                            "fixed" => Some(Event::Fixed(v)),
                            "last_affected" => Some(Event::LastAffected(v)),
                            _ => None,
                        })
                        .collect()
                })
                .collect();
            Some(Affected {
                ecosystem: package.ecosystem,
                name: package.name,
                ranges,
                versions: a.versions,
            })
        })
        .collect();
    Ok(Some(Advisory {
        id: raw.id,
        aliases: raw.aliases,
        summary,
        severity,
        score,
        vector,
        url,
        affected,
        problems,
    }))
}

/// An id as messages show it: as it is when it looks like an id, quoted otherwise.
fn plain(id: &str) -> String {
    let tame = id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if tame { id.to_owned() } else { shorten(id, 80) }
}

/// `text` quoted for a message: control characters escaped, cut after `max` characters.
fn shorten(text: &str, max: usize) -> String {
    let cut: String = text.chars().take(max).collect();
    let mut quoted = format!("{cut:?}");
    if text.chars().count() > max {
        quoted.insert(quoted.len() - 1, '…');
    }
    quoted
}

/// The ecosystem part of an index key: `Ubuntu:22.04:LTS` → `Ubuntu:22.04`.
pub fn ecosystem_key(ecosystem: &str) -> String {
    match ecosystem.strip_prefix("Ubuntu:") {
        Some(rest) => format!("Ubuntu:{}", rest.trim_end_matches(":LTS")),
        None => ecosystem.to_string(),
    }
}

/// A package name as the index stores it (PyPI names are normalised per PEP 503).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut dash = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                dash = true;
            } else {
                if dash && !out.is_empty() {
                    out.push('-');
                }
                dash = false;
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    } else {
        name.to_string()
    }
}

fn key(ecosystem: &str, name: &str) -> String {
    let eco = ecosystem_key(ecosystem);
    let base = eco.split(':').next().unwrap_or("").to_string();
    format!("{eco}\u{0}{}", normalize_name(&base, name))
}

impl Affected {
    /// True when `version` is affected, per OSV's evaluation of `versions` and range events
    /// (events in version order; `introduced` opens, `fixed` and past `last_affected` close).
    pub fn includes(&self, version: &str) -> bool {
        let Some(scheme) = Scheme::for_ecosystem(&self.ecosystem) else {
            return self.versions.iter().any(|v| v == version);
        };
        let same = |a: &str, b: &str| scheme.compare(a, b) == std::cmp::Ordering::Equal;
        if self
            .versions
            .iter()
            .any(|v| v == version || same(v, version))
        {
            return true;
        }
        self.ranges
            .iter()
            .any(|events| range_includes(scheme, events, version))
    }

    /// The lowest fixed version above `version`, if a range has one.
    pub fn fixed_after(&self, version: &str) -> Option<&str> {
        let scheme = Scheme::for_ecosystem(&self.ecosystem)?;
        self.ranges
            .iter()
            .flatten()
            .filter_map(|e| match e {
                Event::Fixed(f) if scheme.compare(f, version).is_gt() => Some(f.as_str()),
                _ => None,
            })
            .min_by(|a, b| scheme.compare(a, b))
    }
}

fn event_version(e: &Event) -> &str {
    match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
    }
}

fn range_includes(scheme: Scheme, events: &[Event], version: &str) -> bool {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| {
        let (x, y) = (event_version(a), event_version(b));
        match (x == "0", y == "0") {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => scheme.compare(x, y),
        }
    });
    let mut affected = false;
    for event in sorted {
        match event {
            Event::Introduced(v) if v == "0" || scheme.compare(version, v).is_ge() => {
                affected = true;
            }
            Event::Fixed(v) if scheme.compare(version, v).is_ge() => affected = false,
            Event::LastAffected(v) if scheme.compare(version, v).is_gt() => affected = false,
            _ => {}
        }
    }
    affected
}

enum Records {
    Parsed(Vec<Advisory>),
    /// Advisories stay in the file and are read (`pread`) and parsed the first time a package
    /// asks for them: a scan touches a few hundred of tens of thousands. A record that cannot
    /// be read keeps the reason.
    Indexed {
        path: String,
        file: std::fs::File,
        offsets: Vec<(u64, usize)>,
        cache: Vec<OnceLock<Result<Advisory, String>>>,
    },
}

#[derive(Serialize, Deserialize)]
struct IndexHeader {
    records: usize,
    keys: HashMap<String, Vec<u32>>,
    offsets: Vec<(usize, usize)>,
}

/// A loaded database.
pub struct Database {
    keys: HashMap<String, Vec<u32>>,
    records: Records,
    /// Records that could not be read (file and reason); they are skipped.
    pub problems: Vec<String>,
}

impl Database {
    /// Loads every source: OSV directories, zip files or index files (told apart by content).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Database, DbError> {
        if let [only] = paths
            && is_index(only.as_ref())
        {
            return Database::open_index(only.as_ref());
        }
        let mut advisories = Vec::new();
        let mut problems = Vec::new();
        for path in paths {
            let path = path.as_ref();
            if is_index(path) {
                let db = Database::open_index(path)?;
                for i in 0..db.len() as u32 {
                    match db.get(i) {
                        Ok(advisory) => advisories.push(advisory.clone()),
                        Err(e) => problems.push(e),
                    }
                }
                problems.extend(db.problems);
            } else {
                read_source(path, &mut advisories, &mut problems)?;
            }
        }
        Ok(Database::from_advisories(advisories, problems))
    }

    fn from_advisories(advisories: Vec<Advisory>, problems: Vec<String>) -> Database {
        let mut keys: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, a) in advisories.iter().enumerate() {
            for affected in &a.affected {
                let ids = keys
                    .entry(key(&affected.ecosystem, &affected.name))
                    .or_default();
                if ids.last() != Some(&(i as u32)) {
                    ids.push(i as u32);
                }
            }
        }
        Database {
            keys,
            records: Records::Parsed(advisories),
            problems,
        }
    }

    /// Number of advisories.
    pub fn len(&self) -> usize {
        match &self.records {
            Records::Parsed(list) => list.len(),
            Records::Indexed { offsets, .. } => offsets.len(),
        }
    }

    /// True when there are no advisories.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record `i`, or why it cannot be read (naming the index file and the record).
    fn get(&self, i: u32) -> Result<&Advisory, String> {
        match &self.records {
            Records::Parsed(list) => list
                .get(i as usize)
                .ok_or_else(|| format!("record {i} does not exist")),
            Records::Indexed {
                path,
                file,
                offsets,
                cache,
            } => {
                let damaged = |why: &str| {
                    format!(
                        "{path}: record {i} {why}; the advisory is missing from this scan: \
                         rebuild the index with `haechi image db build`"
                    )
                };
                let Some(slot) = cache.get(i as usize) else {
                    return Err(damaged(&format!(
                        "is named in the key table but the index has {} records",
                        offsets.len()
                    )));
                };
                slot.get_or_init(|| {
                    use std::os::unix::fs::FileExt;
                    let (start, len) = offsets[i as usize];
                    if len as u64 > MAX_RECORD_BYTES {
                        return Err(damaged(&format!(
                            "is larger than {}",
                            crate::file::size_text(MAX_RECORD_BYTES)
                        )));
                    }
                    let mut blob = vec![0; len];
                    file.read_exact_at(&mut blob, start)
                        .map_err(|e| damaged(&format!("cannot be read ({e})")))?;
                    serde_json::from_slice(&blob).map_err(|e| {
                        damaged(&format!(
                            "is damaged (not an advisory: column {} of the record)",
                            e.column()
                        ))
                    })
                })
                .as_ref()
                .map_err(Clone::clone)
            }
        }
    }

    /// The advisories filed for `name` in `ecosystem`, each with its affected entry; records
    /// that cannot be read are left out (see [`Database::lookup_checked`]).
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Vec<(&Advisory, &Affected)> {
        self.lookup_checked(ecosystem, name, &mut Vec::new())
    }

    /// Like [`Database::lookup`]; why a record filed under the name could not be read goes to
    /// `problems`.
    pub fn lookup_checked(
        &self,
        ecosystem: &str,
        name: &str,
        problems: &mut Vec<String>,
    ) -> Vec<(&Advisory, &Affected)> {
        let wanted = key(ecosystem, name);
        let Some(ids) = self.keys.get(&wanted) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &i in ids {
            match self.get(i) {
                Ok(a) => out.extend(
                    a.affected
                        .iter()
                        .filter(|af| key(&af.ecosystem, &af.name) == wanted)
                        .map(|af| (a, af)),
                ),
                Err(e) => problems.push(e),
            }
        }
        out
    }

    /// Writes the index file: header, key table, then each advisory as a JSON blob.
    pub fn write_index(&self, path: &Path) -> Result<(), DbError> {
        let fail = |e: std::io::Error| DbError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut blobs = Vec::new();
        let mut offsets = Vec::with_capacity(self.len());
        for i in 0..self.len() as u32 {
            let advisory = self.get(i).map_err(|message| DbError::File {
                path: path.display().to_string(),
                message,
            })?;
            let start = blobs.len();
            serde_json::to_writer(&mut blobs, advisory).map_err(|e| fail(e.into()))?;
            offsets.push((start, blobs.len() - start));
        }
        let header = IndexHeader {
            records: self.len(),
            keys: self.keys.clone(),
            offsets,
        };
        let header = serde_json::to_vec(&header).map_err(|e| fail(e.into()))?;
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
        file.write_all(MAGIC).map_err(fail)?;
        file.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(fail)?;
        file.write_all(&header).map_err(fail)?;
        file.write_all(&blobs).map_err(fail)?;
        file.flush().map_err(fail)
    }

    fn open_index(path: &Path) -> Result<Database, DbError> {
        let bad = |message: String| DbError::File {
            path: path.display().to_string(),
            message,
        };
        let rebuild = "; rebuild it with `haechi image db build`";
        let mut file = crate::file::open_regular(path).map_err(|e| bad(e.to_string()))?;
        let size = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let mut head = vec![0u8; MAGIC.len() + 8];
        file.read_exact(&mut head)
            .map_err(|_| bad(format!("truncated index header{rebuild}")))?;
        let len = u64::from_le_bytes(head[MAGIC.len()..].try_into().expect("8 bytes"));
        let header_end = (MAGIC.len() as u64 + 8)
            .checked_add(len)
            .filter(|end| *end <= size)
            .ok_or_else(|| bad(format!("truncated index header{rebuild}")))?;
        let mut header = vec![0u8; len as usize];
        file.read_exact(&mut header)
            .map_err(|_| bad(format!("truncated index header{rebuild}")))?;
        let header: IndexHeader = serde_json::from_slice(&header)
            .map_err(|e| bad(format!("corrupt index header: {e}{rebuild}")))?;
        let offsets: Vec<(u64, usize)> = header
            .offsets
            .into_iter()
            .map(|(o, l)| (o as u64 + header_end, l))
            .collect();
        if offsets.len() != header.records
            || offsets
                .iter()
                .any(|&(o, l)| o.checked_add(l as u64).is_none_or(|end| end > size))
        {
            return Err(bad(format!(
                "index offsets point outside the file{rebuild}"
            )));
        }
        let cache = (0..offsets.len()).map(|_| OnceLock::new()).collect();
        Ok(Database {
            keys: header.keys,
            records: Records::Indexed {
                path: path.display().to_string(),
                file,
                offsets,
                cache,
            },
            problems: Vec::new(),
        })
    }
}

fn is_index(path: &Path) -> bool {
    let mut head = [0u8; MAGIC.len()];
    crate::file::open_regular(path).is_ok_and(|mut f| f.read_exact(&mut head).is_ok())
        && head == MAGIC
}

fn add(name: &str, bytes: &[u8], out: &mut Vec<Advisory>, problems: &mut Vec<String>) {
    match parse_record(bytes) {
        Ok(Some(advisory)) => out.push(advisory),
        Ok(None) => {}
        Err(e) => problems.push(format!("{name}: {e}")),
    }
}

fn read_source(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<String>,
) -> Result<(), DbError> {
    let fail = |message: String| DbError::File {
        path: path.display().to_string(),
        message,
    };
    let too_large = |name: &str, limit: u64| {
        format!(
            "{name}: larger than {}, the most an OSV record may be; skipped",
            crate::file::size_text(limit)
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        let mut files = Vec::new();
        while let Some(dir) = stack.pop() {
            let list =
                std::fs::read_dir(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            for entry in list.flatten() {
                let p = entry.path();
                // Directories are entered only when they are directories, not links to one: a
                // link back up would make the walk endless.
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_symlink() && p.is_dir() => problems.push(format!(
                        "{}: a symbolic link to a directory; not followed",
                        p.display()
                    )),
                    _ if p.extension().is_some_and(|e| e == "json") => files.push(p),
                    _ => {}
                }
            }
        }
        files.sort();
        for file in files {
            let name = file.display().to_string();
            let bytes = crate::file::open_regular(&file)
                .map_err(|e| format!("{name} {e}"))
                .and_then(|f| {
                    crate::file::read_limited(f, MAX_RECORD_BYTES, 0).map_err(|e| match e {
                        crate::file::ReadError::TooLarge(limit) => too_large(&name, limit),
                        crate::file::ReadError::Io(e) => format!("{name}: {e}"),
                    })
                });
            match bytes {
                Ok(bytes) => add(&name, &bytes, out, problems),
                Err(e) => problems.push(e),
            }
        }
        return Ok(());
    }
    let file = crate::file::open_regular(path).map_err(|e| fail(format!("the database {e}")))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        fail(format!(
            "not a directory, zip or index file of OSV records: {e}"
        ))
    })?;
    // Entries that overlap or deflate extremely can inflate without end: the zip as a whole
    // may inflate to MAX_ZIP_RATIO times its size.
    let budget = size.saturating_mul(MAX_ZIP_RATIO).max(MIN_ZIP_INFLATE);
    let mut inflated = 0u64;
    let entries = zip.len();
    for i in 0..entries {
        let mut entry = match zip.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!("{}: entry {i}: {e}", path.display()));
                continue;
            }
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let full = format!("{}!/{name}", path.display());
        let limit = MAX_RECORD_BYTES.min(budget - inflated);
        let declared = entry.size();
        let bytes = crate::file::read_limited(&mut entry, limit, declared);
        inflated += bytes.as_ref().map_or(limit, |b| b.len() as u64);
        match bytes {
            Ok(bytes) => add(&full, &bytes, out, problems),
            Err(crate::file::ReadError::TooLarge(_)) if limit < MAX_RECORD_BYTES => {
                problems.push(format!(
                    "{}: entry {i} ({name}) and the {} after it were not read: the zip's records \
                     inflate to more than {} ({MAX_ZIP_RATIO} times the zip's size)",
                    path.display(),
                    entries - i - 1,
                    crate::file::size_text(budget)
                ));
                break;
            }
            Err(crate::file::ReadError::TooLarge(limit)) => problems.push(too_large(&full, limit)),
            Err(crate::file::ReadError::Io(e)) => problems.push(format!("{full}: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG4SHELL: &str = r#"{
      "schema_version": "1.6.0", "id": "GHSA-jfh8-c2jp-5v3q", "modified": "2024-01-01T00:00:00Z",
      "aliases": ["CVE-2021-44228"], "summary": "Remote code injection in Log4j",
      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
      "affected": [
        {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}]},
        {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]}]},
        {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.4.0"}, {"fixed": "2.12.2"}]}]}
      ],
      "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"}],
      "database_specific": {"severity": "CRITICAL"}
    }"#;

    #[test]
    fn log4shell_ranges() {
        let a = parse_record(LOG4SHELL.as_bytes()).unwrap().unwrap();
        assert_eq!((a.severity, a.score), (Severity::Critical, Some(10.0)));
        let hit = |v: &str| a.affected.iter().any(|af| af.includes(v));
        for v in ["2.14.1", "2.13.0", "2.0-beta9", "2.3", "2.11.0", "1.0"] {
            assert!(hit(v), "{v} is affected");
        }
        for v in ["2.15.0", "2.17.1", "2.3.1", "2.12.2", "2.12.4"] {
            assert!(!hit(v), "{v} is not affected");
        }
        let fixed: Vec<_> = a
            .affected
            .iter()
            .filter_map(|af| af.fixed_after("2.14.1"))
            .collect();
        assert_eq!(fixed, ["2.15.0"]);
    }

    #[test]
    fn last_affected_and_versions() {
        let a = Affected {
            ecosystem: "Debian:12".into(),
            name: "openssl".into(),
            ranges: vec![vec![
                Event::Introduced("0".into()),
                Event::LastAffected("3.0.11-1~deb12u2".into()),
            ]],
            versions: vec!["9.9-1".into()],
        };
        assert!(a.includes("3.0.11-1~deb12u2"));
        assert!(a.includes("1.1.1n-0+deb11u5"));
        assert!(!a.includes("3.0.11-1~deb12u3"));
        assert!(a.includes("9.9-1"));
        assert_eq!(a.fixed_after("1.0"), None);
    }

    #[test]
    fn bad_records_say_where() {
        let err = parse_record(b"{\n \"id\": 5\n}").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(
            parse_record(br#"{"id":"X","withdrawn":"2024-01-01T00:00:00Z"}"#)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn names_and_ecosystems_normalise() {
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(normalize_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalize_name("PyPI", "ruamel__yaml"), "ruamel-yaml");
        assert_eq!(ecosystem_key("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
    }
}
