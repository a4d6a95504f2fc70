//! Python distributions: `*.dist-info/METADATA` (wheels, pip) and `*.egg-info/PKG-INFO`
//! (setuptools), whose header carries `Name` and `Version`.

use super::{Package, PackageKind, Paragraphs};

pub(super) fn wants(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || path.ends_with(".egg-info")
}

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    let header = Paragraphs::new(data).next();
    let get = |name: &str| header.as_ref().and_then(|h| h.get(name));
    let (Some(name), Some(version)) = (get("Name"), get("Version")) else {
        return Err("no Name or Version field in the metadata header".into());
    };
    let mut package = Package::new(PackageKind::Pypi, name, version, path);
    package.license = get("License-Expression")
        .or_else(|| get("License"))
        .filter(|l| !l.is_empty() && !l.contains('\n') && *l != "UNKNOWN")
        .map(str::to_string);
    out.push(package);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_name_and_version() {
        let mut out = Vec::new();
        let meta = b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\nLicense: BSD-3-Clause\n\nbody: text\n";
        super::parse(
            "usr/lib/python3/dist-packages/Jinja2-2.11.2.dist-info/METADATA",
            meta,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            (out[0].name.as_str(), out[0].version.as_str()),
            ("Jinja2", "2.11.2")
        );
        assert!(super::parse("x.dist-info/METADATA", b"\n", &mut out).is_err());
    }
}
