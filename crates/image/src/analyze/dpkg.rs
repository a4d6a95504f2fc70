//! dpkg: `/var/lib/dpkg/status` and distroless's `/var/lib/dpkg/status.d/NAME` (one paragraph
//! per file). Only packages whose status says `installed` count; `Source: name (version)`
//! gives the source package that Debian's and Ubuntu's advisories are filed under.

use super::{Package, PackageKind, Paragraphs};

pub(super) fn wants(path: &str) -> bool {
    path == "var/lib/dpkg/status"
        || path
            .strip_prefix("var/lib/dpkg/status.d/")
            .is_some_and(|name| !name.contains('/') && !name.ends_with(".md5sums"))
}

/// `var/lib/dpkg/info/PACKAGE.list`: the files each package installed.
pub(super) fn wants_list(path: &str) -> bool {
    path.strip_prefix("var/lib/dpkg/info/")
        .is_some_and(|name| !name.contains('/') && name.ends_with(".list"))
}

pub(super) fn parse_list(data: &[u8], owned: &mut Vec<String>) {
    let text = String::from_utf8_lossy(data);
    owned.extend(
        text.lines()
            .map(|l| l.trim_start_matches('/'))
            .filter(|l| !l.is_empty() && *l != ".")
            .map(str::to_string),
    );
}

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    let mut paragraphs = Paragraphs::new(data);
    for paragraph in paragraphs.by_ref() {
        let (Some(name), Some(version)) = (paragraph.get("Package"), paragraph.get("Version"))
        else {
            continue;
        };
        // status.d files have no Status field: everything listed there is installed.
        if let Some(status) = paragraph.get("Status")
            && !status.ends_with(" installed")
        {
            continue;
        }
        let mut package = Package::new(PackageKind::Deb, name, version, path);
        package.arch = paragraph.get("Architecture").map(str::to_string);
        if let Some(source) = paragraph.get("Source") {
            let (src_name, src_version) = match source.split_once('(') {
                Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim())),
                None => (source.trim(), None),
            };
            if src_name != name {
                package.source_name = Some(src_name.to_string());
            }
            if let Some(v) = src_version.filter(|v| *v != version) {
                package.source_version = Some(v.to_string());
            }
        }
        out.push(package);
    }
    paragraphs.invalid_problem().map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_with_sources() {
        let status = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: x\n continued\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libgcc-s1\nStatus: install ok installed\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14+deb12u1\n";
        let mut out = Vec::new();
        parse("var/lib/dpkg/status", status.as_bytes(), &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].advisory_name(), "openssl");
        assert_eq!(out[0].advisory_version(), "3.0.11-1~deb12u2");
        assert_eq!(out[1].advisory_name(), "gcc-12");
        assert_eq!(out[1].advisory_version(), "12.2.0-14");
        assert_eq!(out[1].version, "12.2.0-14+deb12u1");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported_by_line() {
        let status = b"Package: a\nVersion: 1\nMaintainer: J\xf6rg\n\nPackage: b\nVersion: 2\nDescription: x\n \xff\n";
        let mut out = Vec::new();
        let e = parse("var/lib/dpkg/status", status, &mut out).unwrap_err();
        assert_eq!(out.len(), 2);
        assert!(
            e.starts_with("line 3 (and 1 more line) is not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn distroless_status_d() {
        assert!(wants("var/lib/dpkg/status.d/base"));
        assert!(!wants("var/lib/dpkg/status.d/base.md5sums"));
        let mut out = Vec::new();
        parse(
            "var/lib/dpkg/status.d/tzdata",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0].name, "tzdata");
    }
}
