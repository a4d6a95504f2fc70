//! Java archives (jar, war, ear and Jenkins plugins), nested ones included (Spring Boot's
//! `BOOT-INF/lib`, `WEB-INF/lib`, ears). Coordinates come from every
//! `META-INF/maven/GROUP/ARTIFACT/pom.properties` (a shaded jar carries several); an archive
//! without one is identified by its MANIFEST's vendor id plus its file name, and skipped when
//! neither gives a group (Maven advisories are keyed by `group:artifact`).

use std::io::{Cursor, Read};

use super::{ArchiveBudget, Package, PackageKind};
use crate::file::size_text;

/// Archives nested deeper than this below the file are not opened (reported).
pub const MAX_ARCHIVE_DEPTH: usize = 4;
/// A nested archive larger than this is not read (reported).
pub const MAX_NESTED_ARCHIVE: u64 = 256 << 20;
/// Nested archives are read one at a time, depth first; the ones open at once (one per level)
/// may hold at most this much.
pub const MAX_ARCHIVE_HELD: u64 = 512 << 20;
/// A `pom.properties` or `MANIFEST.MF` larger than this is not read (reported).
pub const MAX_ARCHIVE_METADATA: u64 = 1 << 20;

pub(super) fn wants(path: &str) -> bool {
    is_archive(path)
}

fn is_archive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".hpi", ".jpi", ".par"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Reads the archive at `path` and, depth first and one at a time, the archives inside it;
/// what cannot be read goes to `problems` with the archive's path.
pub(super) fn parse(
    path: &str,
    data: &[u8],
    out: &mut Vec<Package>,
    budget: &mut ArchiveBudget,
    problems: &mut Vec<String>,
) {
    if budget.spent() {
        problems.push(format!(
            "/{path}: not read: the image's archives already inflated to the {} budget \
             (--max-archive-bytes)",
            size_text(budget.limit)
        ));
        return;
    }
    if let Err(e) = parse_archive(path, data, 0, out, budget, problems) {
        problems.push(format!("/{path}: {e}"));
    }
}

/// Reads at most `limit` bytes of an archive entry into memory, counted against the budget.
fn inflate(
    file: &mut impl Read,
    limit: u64,
    declared: u64,
    budget: &mut ArchiveBudget,
) -> Result<Vec<u8>, String> {
    let allowed = limit.min(budget.left());
    let data = crate::file::read_limited(file, allowed, declared);
    let read = match &data {
        Ok(d) => d.len() as u64,
        Err(_) => allowed,
    };
    budget.inflated = budget.inflated.saturating_add(read);
    data.map_err(|e| match e {
        crate::file::ReadError::TooLarge(_) if allowed < limit => {
            budget.reported = true;
            format!(
                "not read: the image's archives inflate to more than the {} budget \
                 (--max-archive-bytes); this entry and the rest of the image's archives were \
                 not read",
                size_text(budget.limit)
            )
        }
        crate::file::ReadError::TooLarge(_) => {
            format!("not read: it inflates to more than {}", size_text(limit))
        }
        crate::file::ReadError::Io(e) => format!("not read: {e}"),
    })
}

fn parse_archive(
    path: &str,
    data: &[u8],
    depth: usize,
    out: &mut Vec<Package>,
    budget: &mut ArchiveBudget,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| format!("not a readable Java archive: {e}"))?;
    let mut found_pom = false;
    let mut manifest = None;
    let mut broken = 0usize;
    for i in 0..zip.len() {
        if budget.spent() {
            if !budget.reported {
                budget.reported = true;
                problems.push(format!(
                    "/{path}: read up to entry {i} of {}: the image's archives inflated to the \
                     {} budget (--max-archive-bytes); the rest of them were not read",
                    zip.len(),
                    size_text(budget.limit)
                ));
            }
            break;
        }
        let mut file = match zip.by_index(i) {
            Ok(file) => file,
            Err(e) => {
                if broken == 0 {
                    problems.push(format!("/{path}: entry {i} cannot be read: {e}"));
                }
                broken += 1;
                continue;
            }
        };
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        let inner_path = format!("{path}!/{name}");
        let is_pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        let is_manifest = name.eq_ignore_ascii_case("META-INF/MANIFEST.MF");
        if is_pom || is_manifest {
            let declared = file.size();
            match inflate(&mut file, MAX_ARCHIVE_METADATA, declared, budget) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    if is_manifest {
                        manifest = Some(text.into_owned());
                    } else if let Some(package) = pom_properties(&text, path) {
                        found_pom = true;
                        out.push(package);
                    }
                }
                Err(e) => problems.push(format!("/{inner_path}: {e}")),
            }
        } else if is_archive(&name) {
            if depth >= MAX_ARCHIVE_DEPTH {
                problems.push(format!(
                    "/{inner_path}: not read: archives nested deeper than {MAX_ARCHIVE_DEPTH} \
                     levels are not opened"
                ));
                continue;
            }
            let declared = file.size();
            if declared > MAX_NESTED_ARCHIVE {
                problems.push(format!(
                    "/{inner_path}: not read: {} is more than the {} a nested archive may have",
                    size_text(declared),
                    size_text(MAX_NESTED_ARCHIVE)
                ));
                continue;
            }
            let room = MAX_ARCHIVE_HELD.saturating_sub(budget.held);
            let limit = MAX_NESTED_ARCHIVE.min(room);
            let inner = match inflate(&mut file, limit, declared, budget) {
                Ok(inner) => inner,
                Err(e) if limit < MAX_NESTED_ARCHIVE && e.contains("inflates to more than") => {
                    problems.push(format!(
                        "/{inner_path}: not read: the archives it is inside already hold {}, and \
                         nested archives open at once may hold {}",
                        size_text(budget.held),
                        size_text(MAX_ARCHIVE_HELD)
                    ));
                    continue;
                }
                Err(e) => {
                    problems.push(format!("/{inner_path}: {e}"));
                    continue;
                }
            };
            drop(file);
            let size = inner.len() as u64;
            budget.held += size;
            budget.peak_held = budget.peak_held.max(budget.held);
            let result = parse_archive(&inner_path, &inner, depth + 1, out, budget, problems);
            budget.held -= size;
            if let Err(e) = result {
                problems.push(format!("/{inner_path}: {e}"));
            }
        }
    }
    if broken > 1 {
        problems.push(format!("/{path}: {broken} entries in all cannot be read"));
    }
    if !found_pom && let Some(package) = manifest.and_then(|m| from_manifest(&m, path)) {
        out.push(package);
    }
    Ok(())
}

fn pom_properties(text: &str, path: &str) -> Option<Package> {
    let mut group = None;
    let mut artifact = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    let (group, artifact, version) = (group?, artifact?, version?);
    (!group.is_empty() && !artifact.is_empty() && !version.is_empty()).then(|| {
        Package::new(
            PackageKind::Maven,
            &format!("{group}:{artifact}"),
            version,
            path,
        )
    })
}

/// Coordinates from the MANIFEST and the file name (`log4j-core-2.14.1.jar`): the group from
/// `Implementation-Vendor-Id` (or `Bundle-SymbolicName` without its last part), the artifact
/// and version from the name, kept only when the MANIFEST's version agrees.
fn from_manifest(text: &str, path: &str) -> Option<Package> {
    let mut fields = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':') {
            fields.insert(key.trim(), value.trim());
        }
    }
    let file = path.rsplit(['/', '!']).next()?;
    let stem = file.rsplit_once('.')?.0;
    let split = stem
        .char_indices()
        .filter(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next()?;
    let (artifact, version) = (&stem[..split], &stem[split + 1..]);
    let stated = fields
        .get("Implementation-Version")
        .or_else(|| fields.get("Bundle-Version"))?;
    if *stated != version {
        return None;
    }
    let group = match fields.get("Implementation-Vendor-Id") {
        Some(g) => g.to_string(),
        None => {
            let symbolic = fields.get("Bundle-SymbolicName")?.split(';').next()?;
            symbolic.rsplit_once('.')?.0.to_string()
        }
    };
    Some(Package::new(
        PackageKind::Maven,
        &format!("{group}:{artifact}"),
        version,
        path,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_and_file_name() {
        let manifest = "Manifest-Version: 1.0\nImplementation-Vendor-Id: org.apache.logging.log4j\nImplementation-Version: 2.14.1\n";
        let p = from_manifest(manifest, "app/lib/log4j-core-2.14.1.jar").unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("org.apache.logging.log4j:log4j-core", "2.14.1")
        );
        assert!(from_manifest("Implementation-Version: 9\n", "x/log4j-core-2.14.1.jar").is_none());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let mut budget = ArchiveBudget::new(1 << 20);
        parse(
            "a.jar",
            b"PK\x03\x04garbage",
            &mut out,
            &mut budget,
            &mut problems,
        );
        assert!(
            problems[0].starts_with("/a.jar: not a readable Java archive"),
            "{problems:?}"
        );
    }
}
