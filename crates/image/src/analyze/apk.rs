//! apk: `/lib/apk/db/installed`, one paragraph per package of `X:value` lines (`P` name, `V`
//! version, `A` arch, `o` origin = source package, `L` licence; `F` directory and `R` file
//! name list what the package installed).

use super::{Package, PackageKind};

pub(super) fn wants(path: &str) -> bool {
    path == "lib/apk/db/installed"
}

pub(super) fn parse(
    path: &str,
    data: &[u8],
    out: &mut Vec<Package>,
    owned: &mut Vec<String>,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let mut dir = "";
    let mut fields: [Option<&str>; 4] = [None; 4];
    let mut flush = |fields: &mut [Option<&str>; 4]| {
        if let [Some(name), Some(version), arch, origin] = *fields {
            let mut package = Package::new(PackageKind::Apk, name, version, path);
            package.arch = arch.map(str::to_string);
            package.source_name = origin.filter(|o| *o != name).map(str::to_string);
            out.push(package);
        }
        *fields = [None; 4];
    };
    for line in text.lines() {
        if line.is_empty() {
            flush(&mut fields);
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "P" => fields[0] = Some(value),
            "V" => fields[1] = Some(value),
            "A" => fields[2] = Some(value),
            "o" => fields[3] = Some(value),
            "F" => dir = value,
            "R" if dir.is_empty() => owned.push(value.to_string()),
            "R" => owned.push(format!("{dir}/{value}")),
            _ => {}
        }
    }
    flush(&mut fields);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_packages_and_origins() {
        let db = "C:Q1abc=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\nF:usr/lib\nR:libcrypto.so.3\n\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n";
        let (mut out, mut owned) = (Vec::new(), Vec::new());
        super::parse("lib/apk/db/installed", db.as_bytes(), &mut out, &mut owned).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(owned, ["usr/lib/libcrypto.so.3"]);
        assert_eq!(out[0].advisory_name(), "openssl");
        assert_eq!(out[1].advisory_name(), "musl");
    }
}
