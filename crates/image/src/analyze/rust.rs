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
    use std::io::Write;

    /// A minimal 64-bit little-endian ELF file whose only section is `name` with `data`.
    fn elf_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let shstrtab = format!("\0{name}\0.shstrtab\0");
        let data_off = 64u64;
        let str_off = data_off + data.len() as u64;
        let sh_off = (str_off + shstrtab.len() as u64).next_multiple_of(8);
        let mut f = Vec::new();
        f.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        f.extend(2u16.to_le_bytes()); // ET_EXEC
        f.extend(62u16.to_le_bytes()); // x86-64
        f.extend(1u32.to_le_bytes());
        f.extend(0u64.to_le_bytes()); // entry
        f.extend(0u64.to_le_bytes()); // phoff
        f.extend(sh_off.to_le_bytes());
        f.extend(0u32.to_le_bytes()); // flags
        f.extend(64u16.to_le_bytes()); // ehsize
        f.extend([0u8; 4]); // phentsize, phnum
        f.extend(64u16.to_le_bytes()); // shentsize
        f.extend(3u16.to_le_bytes()); // shnum
        f.extend(2u16.to_le_bytes()); // shstrndx
        f.extend(data);
        f.extend(shstrtab.as_bytes());
        f.resize(sh_off as usize, 0);
        let section = |f: &mut Vec<u8>, name: u32, kind: u32, off: u64, size: u64| {
            f.extend(name.to_le_bytes());
            f.extend(kind.to_le_bytes());
            f.extend(0u64.to_le_bytes()); // flags
            f.extend(0u64.to_le_bytes()); // addr
            f.extend(off.to_le_bytes());
            f.extend(size.to_le_bytes());
            f.extend([0u8; 8]); // link, info
            f.extend(1u64.to_le_bytes()); // addralign
            f.extend(0u64.to_le_bytes()); // entsize
        };
        section(&mut f, 0, 0, 0, 0);
        section(&mut f, 1, 1, data_off, data.len() as u64);
        section(
            &mut f,
            name.len() as u32 + 2,
            3,
            str_off,
            shstrtab.len() as u64,
        );
        f
    }

    #[test]
    fn reads_cargo_auditable_section() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},{"name":"smallvec","version":"1.6.0","source":"crates.io","kind":"runtime"}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap();
        let elf = elf_with_section(".dep-v0", &z.finish().unwrap());
        let mut out = Vec::new();
        super::parse_auditable("usr/bin/app", &elf, &mut out).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, ["smallvec@1.6.0"]);
        let bad = elf_with_section(".dep-v0", b"not zlib");
        assert!(super::parse_auditable("usr/bin/app", &bad, &mut out).is_err());
        let other = elf_with_section(".data", b"x");
        out.clear();
        super::parse_auditable("usr/bin/app", &other, &mut out).unwrap();
        assert!(out.is_empty());
    }

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
