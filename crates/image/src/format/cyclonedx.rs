//! CycloneDX 1.5 JSON: the image as the metadata component, its OS as an `operating-system`
//! component, every package a `library` with its package URL (purl spec types deb, apk,
//! maven, pypi, npm, golang, cargo) and where it was found as properties.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

use crate::analyze::{OsInfo, Package, PackageKind};
use crate::osv::normalize_name;
use crate::report::Report;

/// Percent-encodes a purl segment: everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The package URL of `package` (`pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`).
pub fn purl(package: &Package, os: Option<&OsInfo>) -> String {
    let version = encode(&package.version);
    let path = |segments: &[&str]| {
        segments
            .iter()
            .map(|s| encode(s))
            .collect::<Vec<_>>()
            .join("/")
    };
    match package.kind {
        PackageKind::Deb | PackageKind::Apk => {
            let (kind, default_ns) = if package.kind == PackageKind::Deb {
                ("deb", "debian")
            } else {
                ("apk", "alpine")
            };
            let namespace = os.map_or(default_ns, |o| o.family.as_str());
            let mut qualifiers = Vec::new();
            if let Some(arch) = &package.arch {
                qualifiers.push(format!("arch={}", encode(arch)));
            }
            if let Some(o) = os {
                qualifiers.push(format!(
                    "distro={}",
                    encode(&format!("{}-{}", o.family, o.version))
                ));
            }
            let q = if qualifiers.is_empty() {
                String::new()
            } else {
                format!("?{}", qualifiers.join("&"))
            };
            format!(
                "pkg:{kind}/{}/{}@{version}{q}",
                encode(namespace),
                encode(&package.name)
            )
        }
        PackageKind::Rpm => {
            // The purl spec puts an rpm epoch in the `epoch` qualifier.
            let (epoch, evr) = match package.version.split_once(':') {
                Some((e, rest)) if e.bytes().all(|c| c.is_ascii_digit()) => (Some(e), rest),
                _ => (None, package.version.as_str()),
            };
            let mut qualifiers = Vec::new();
            if let Some(arch) = &package.arch {
                qualifiers.push(format!("arch={}", encode(arch)));
            }
            if let Some(e) = epoch {
                qualifiers.push(format!("epoch={e}"));
            }
            if let Some(o) = os {
                qualifiers.push(format!(
                    "distro={}",
                    encode(&format!("{}-{}", o.family, o.version))
                ));
            }
            let q = if qualifiers.is_empty() {
                String::new()
            } else {
                format!("?{}", qualifiers.join("&"))
            };
            let namespace = os.map_or("redhat", |o| o.family.as_str());
            format!(
                "pkg:rpm/{}/{}@{}{q}",
                encode(namespace),
                encode(&package.name),
                encode(evr)
            )
        }
        PackageKind::Maven => {
            let (group, artifact) = package.name.split_once(':').unwrap_or(("", &package.name));
            format!("pkg:maven/{}@{version}", path(&[group, artifact]))
        }
        PackageKind::Pypi => format!(
            "pkg:pypi/{}@{version}",
            encode(&normalize_name("PyPI", &package.name))
        ),
        PackageKind::Npm => {
            let segments: Vec<&str> = package.name.split('/').collect();
            format!("pkg:npm/{}@{version}", path(&segments))
        }
        PackageKind::Go => {
            let segments: Vec<&str> = package.name.split('/').collect();
            format!("pkg:golang/{}@{version}", path(&segments))
        }
        PackageKind::Cargo => format!("pkg:cargo/{}@{version}", encode(&package.name)),
    }
}

/// RFC 3339 UTC timestamp of now (days-from-civil inverse, no time zone database needed).
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The CycloneDX 1.5 document of a report's packages, written as it is serialized: one
/// component is built at a time, so an image with half a million packages does not hold half a
/// million JSON objects.
pub fn cyclonedx(report: &Report) -> CycloneDx<'_> {
    CycloneDx {
        report,
        timestamp: timestamp(),
    }
}

/// A CycloneDX document to serialize (`serde_json::to_writer`).
pub struct CycloneDx<'a> {
    report: &'a Report,
    timestamp: String,
}

impl Serialize for CycloneDx<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.report;
        let metadata = json!({
            "timestamp": self.timestamp,
            "tools": {"components": [{"type": "application", "name": "haechi", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {
                "type": "container",
                "bom-ref": format!("image:{}", report.artifact.name),
                "name": report.artifact.tags.first().unwrap_or(&report.artifact.name),
            },
        });
        // Keys in the order serde_json's map writes them (sorted).
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json")?;
        map.serialize_entry("bomFormat", "CycloneDX")?;
        map.serialize_entry("components", &Components(report))?;
        map.serialize_entry("metadata", &metadata)?;
        map.serialize_entry("specVersion", "1.5")?;
        map.serialize_entry("version", &1)?;
        map.end()
    }
}

/// The `components` array, built one component at a time.
struct Components<'a>(&'a Report);

impl Serialize for Components<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let os = report.os.as_ref();
        let mut seq = serializer.serialize_seq(None)?;
        if let Some(o) = os {
            seq.serialize_element(&json!({
                "type": "operating-system",
                "bom-ref": format!("os:{}-{}", o.family, o.version),
                "name": o.family,
                "version": o.version,
                "description": o.name,
            }))?;
        }
        // Purls seen, by hash: a collision only makes a bom-ref longer, never the same.
        let mut seen = std::collections::HashSet::new();
        for p in &report.packages {
            seq.serialize_element(&component(report, p, os, &mut seen))?;
        }
        seq.end()
    }
}

fn component(
    report: &Report,
    p: &Package,
    os: Option<&OsInfo>,
    seen: &mut std::collections::HashSet<u64>,
) -> Value {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let purl = purl(p, os);
    // The same package at two paths is two components; bom-refs must stay unique.
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&purl);
    let bom_ref = if seen.insert(hash) {
        purl.clone()
    } else {
        format!("{purl}#{}", p.path)
    };
    let mut properties = vec![
        json!({"name": "haechi:package:type", "value": p.kind.as_str()}),
        json!({"name": "haechi:path", "value": p.path}),
        json!({"name": "haechi:layer", "value": p.layer.to_string()}),
    ];
    if let Some(src) = &p.source_name {
        properties.push(json!({"name": "haechi:source:name", "value": src}));
    }
    if let Some(src) = &p.source_version {
        properties.push(json!({"name": "haechi:source:version", "value": src}));
    }
    if let Some(d) = report.layers.get(p.layer) {
        properties.push(json!({"name": "haechi:layer:digest", "value": d.digest}));
    }
    let (group, name) = match (p.kind, p.name.split_once(':')) {
        (PackageKind::Maven, Some((g, a))) => (Some(g), a),
        _ => (None, p.name.as_str()),
    };
    let mut component = json!({
        "type": "library",
        "bom-ref": bom_ref,
        "name": name,
        "version": p.version,
        "purl": purl,
        "properties": properties,
    });
    if let Some(g) = group {
        component["group"] = json!(g);
    }
    if let Some(license) = &p.license {
        component["licenses"] = json!([{"license": {"name": license}}]);
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os() -> OsInfo {
        OsInfo {
            family: "debian".into(),
            version: "12".into(),
            name: "Debian GNU/Linux 12 (bookworm)".into(),
        }
    }

    #[test]
    fn purls_follow_the_spec() {
        let mut deb = Package::new(
            PackageKind::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "var/lib/dpkg/status",
        );
        deb.arch = Some("amd64".into());
        assert_eq!(
            purl(&deb, Some(&os())),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        let jar = Package::new(
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            "a.jar",
        );
        assert_eq!(
            purl(&jar, None),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        let npm = Package::new(PackageKind::Npm, "@babel/core", "7.0.0", "x");
        assert_eq!(purl(&npm, None), "pkg:npm/%40babel/core@7.0.0");
        let py = Package::new(PackageKind::Pypi, "Jinja2", "2.11.2", "x");
        assert_eq!(purl(&py, None), "pkg:pypi/jinja2@2.11.2");
        let mut rpm = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-24.el9", "x");
        rpm.arch = Some("x86_64".into());
        let rocky = OsInfo {
            family: "rocky".into(),
            version: "9.3".into(),
            name: String::new(),
        };
        assert_eq!(
            purl(&rpm, Some(&rocky)),
            "pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&distro=rocky-9.3"
        );
        let epoch = Package::new(PackageKind::Deb, "x", "1:2.0+b1", "x");
        assert_eq!(purl(&epoch, None), "pkg:deb/debian/x@1%3A2.0%2Bb1");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
