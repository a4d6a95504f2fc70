//! Java archives (jar, war, ear and Jenkins plugins), nested ones included (Spring Boot's
//! `BOOT-INF/lib`, `WEB-INF/lib`, ears). Coordinates come from every
//! `META-INF/maven/GROUP/ARTIFACT/pom.properties` (a shaded jar carries several); an archive
//! without one is identified by its MANIFEST's vendor id plus its file name, and skipped when
//! neither gives a group (Maven advisories are keyed by `group:artifact`).

use std::io::{Cursor, Read};

use super::{Package, PackageKind};

/// Nested archives deeper than this are not opened (a jar bomb cannot recurse forever).
const MAX_DEPTH: usize = 4;
/// Nested archives larger than this are not read into memory.
const MAX_NESTED: u64 = 256 << 20;

pub(super) fn wants(path: &str) -> bool {
    is_archive(path)
}

fn is_archive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".hpi", ".jpi", ".par"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    parse_archive(path, data, 0, out)
}

fn parse_archive(
    path: &str,
    data: &[u8],
    depth: usize,
    out: &mut Vec<Package>,
) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| format!("not a readable Java archive: {e}"))?;
    let mut found_pom = false;
    let mut manifest = None;
    let mut nested = Vec::new();
    let mut problem = None;
    for i in 0..zip.len() {
        let mut file = match zip.by_index(i) {
            Ok(file) => file,
            Err(e) => {
                problem.get_or_insert(format!("entry {i}: {e}"));
                continue;
            }
        };
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            let mut text = String::new();
            if file
                .by_ref()
                .take(1 << 20)
                .read_to_string(&mut text)
                .is_ok()
                && let Some(package) = pom_properties(&text, path)
            {
                found_pom = true;
                out.push(package);
            }
        } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            let mut text = String::new();
            if file
                .by_ref()
                .take(1 << 20)
                .read_to_string(&mut text)
                .is_ok()
            {
                manifest = Some(text);
            }
        } else if is_archive(&name) && depth < MAX_DEPTH && file.size() <= MAX_NESTED {
            let mut inner = Vec::with_capacity(file.size() as usize);
            match file.read_to_end(&mut inner) {
                Ok(_) => nested.push((name, inner)),
                Err(e) => {
                    problem.get_or_insert(format!("{name}: {e}"));
                }
            }
        }
    }
    if !found_pom && let Some(package) = manifest.and_then(|m| from_manifest(&m, path)) {
        out.push(package);
    }
    for (name, inner) in nested {
        let inner_path = format!("{path}!/{name}");
        if let Err(e) = parse_archive(&inner_path, &inner, depth + 1, out) {
            problem.get_or_insert(format!("{name}: {e}"));
        }
    }
    problem.map_or(Ok(()), Err)
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
        assert!(parse("a.jar", b"PK\x03\x04garbage", &mut out).is_err());
    }
}
