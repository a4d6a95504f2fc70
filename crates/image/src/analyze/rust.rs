//! Rust: `Cargo.lock` files shipped in the image, and the dependency list `cargo auditable`
//! embeds in binaries (a zlib-compressed JSON document in the `.dep-v0` section).

use std::io::Read;

use serde::Deserialize;

use super::{Package, PackageKind};

pub(super) fn wants_lockfile(path: &str) -> bool {
    path == "Cargo.lock" || path.ends_with("/Cargo.lock")
}

/// Cargo.lock is TOML written by cargo in a fixed shape: `[[package]]` tables of
/// `key = "string"` lines; that shape is all this reads.
pub(super) fn parse_lockfile(
    path: &str,
    data: &[u8],
    out: &mut Vec<Package>,
) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut entry: Option<(Option<String>, Option<String>)> = None;
    let mut flush = |entry: &mut Option<(Option<String>, Option<String>)>| {
        if let Some((Some(name), Some(version))) = entry.take() {
            out.push(Package::new(PackageKind::Cargo, &name, &version, path));
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut entry);
            if line == "[[package]]" {
                entry = Some((None, None));
            }
            continue;
        }
        let (Some(current), Some((key, value))) = (entry.as_mut(), line.split_once('=')) else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "name" => current.0 = Some(value),
            "version" => current.1 = Some(value),
            _ => {}
        }
    }
    flush(&mut entry);
    Ok(())
}

#[derive(Deserialize)]
struct Auditable {
    packages: Vec<AuditablePackage>,
}

#[derive(Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    root: bool,
}

pub(super) fn parse_auditable(
    path: &str,
    data: &[u8],
    out: &mut Vec<Package>,
) -> Result<(), String> {
    use object::{Object, ObjectSection};
    let Ok(file) = object::File::parse(data) else {
        return Ok(());
    };
    let Some(section) = file.section_by_name(".dep-v0") else {
        return Ok(());
    };
    let compressed = section
        .data()
        .map_err(|e| format!("cargo-auditable section: {e}"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(8 << 20)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable section is not zlib data: {e}"))?;
    let info: Auditable = serde_json::from_slice(&json)
        .map_err(|e| format!("cargo-auditable section is not valid JSON: {e}"))?;
    for p in info.packages {
        // The binary's own crate is not a dependency anyone publishes advisories for.
        if p.root && p.source != "crates.io" {
            continue;
        }
        out.push(Package::new(PackageKind::Cargo, &p.name, &p.version, path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_cargo_lock() {
        let lock = "version = 4\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"smallvec\",\n]\n\n[metadata]\nx = \"y\"\n";
        let mut out = Vec::new();
        super::parse_lockfile("src/Cargo.lock", lock.as_bytes(), &mut out).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, ["smallvec@1.6.0", "app@0.1.0"]);
    }
}
