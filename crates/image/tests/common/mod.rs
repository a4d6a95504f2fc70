//! Builders for test images: layer tarballs written with the `tar` crate, packed as
//! `docker save` archives and OCI layouts, a Spring-Boot-style fat jar, and OSV records.
#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::path::Path;

pub enum Item<'a> {
    File(&'a str, Vec<u8>, u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    /// `.wh.NAME` for the path.
    Whiteout(&'a str),
    /// `.wh..wh..opq` inside the directory.
    Opaque(&'a str),
}

pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Item<'_> {
    Item::File(path, data.into(), 0o644)
}

pub fn layer(items: &[Item]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add =
        |path: String, kind: tar::EntryType, data: &[u8], mode: u32, link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            h.set_mtime(1_700_000_000);
            if let Some(link) = link {
                h.set_link_name(link).unwrap();
            }
            b.append_data(&mut h, path, data).unwrap();
        };
    for item in items {
        match item {
            Item::File(p, data, mode) => {
                add(format!("./{p}"), tar::EntryType::Regular, data, *mode, None)
            }
            Item::Dir(p) => add(
                format!("./{p}/"),
                tar::EntryType::Directory,
                b"",
                0o755,
                None,
            ),
            Item::Symlink(p, t) => add(p.to_string(), tar::EntryType::Symlink, b"", 0o777, Some(t)),
            Item::Whiteout(p) => {
                let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
                let path = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                add(path, tar::EntryType::Regular, b"", 0o644, None)
            }
            Item::Opaque(dir) => add(
                format!("{dir}/.wh..wh..opq"),
                tar::EntryType::Regular,
                b"",
                0o644,
                None,
            ),
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn config_json(layers: usize, user: Option<&str>) -> Vec<u8> {
    let diff_ids: Vec<String> = (0..layers)
        .map(|i| format!("sha256:{:064x}", i + 1))
        .collect();
    let history: Vec<_> = (0..layers)
        .map(|i| serde_json::json!({"created_by": format!("RUN step {i}")}))
        .collect();
    let mut config = serde_json::json!({"Env": ["PATH=/usr/bin"]});
    if let Some(u) = user {
        config["User"] = serde_json::json!(u);
    }
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history
    }))
    .unwrap()
}

fn append(b: &mut tar::Builder<impl Write>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, name, data).unwrap();
}

/// A `docker save` tarball (the classic layout: `ID/layer.tar` members).
pub fn docker_archive(path: &Path, layers: &[Vec<u8>], user: Option<&str>) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("{:064x}/layer.tar", i + 100))
        .collect();
    for (name, data) in names.iter().zip(layers) {
        append(&mut b, name, data);
    }
    append(&mut b, "config.json", &config_json(layers.len(), user));
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": ["test/app:1"], "Layers": names}]);
    append(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.finish().unwrap();
}

/// OCI layout files (name → bytes); blobs are named by made-up digests (they are not verified).
pub fn oci_files(layers: &[Vec<u8>], user: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut descs = Vec::new();
    for (i, data) in layers.iter().enumerate() {
        let digest = format!("{:064x}", 0xa00 + i);
        let media = if data.starts_with(&[0x1f, 0x8b]) {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            "application/vnd.oci.image.layer.v1.tar+zstd"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        descs.push(serde_json::json!({"mediaType": media, "digest": format!("sha256:{digest}"), "size": data.len()}));
        files.push((format!("blobs/sha256/{digest}"), data.clone()));
    }
    let config = config_json(layers.len(), user);
    let config_digest = format!("{:064x}", 0xc0);
    files.push((format!("blobs/sha256/{config_digest}"), config.clone()));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": descs
    }))
    .unwrap();
    let manifest_digest = format!("{:064x}", 0xd0);
    files.push((format!("blobs/sha256/{manifest_digest}"), manifest.clone()));
    // A multi-platform index pointing at the image and an attestation manifest.
    let nested = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000bad", "size": 1, "platform": {"architecture": "unknown", "os": "unknown"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{manifest_digest}"), "size": manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}}
        ]
    }))
    .unwrap();
    let nested_digest = format!("{:064x}", 0xe0);
    files.push((format!("blobs/sha256/{nested_digest}"), nested.clone()));
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{nested_digest}"), "size": nested.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "test/app:oci"}}]
    }))
    .unwrap();
    files.push(("index.json".into(), index));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files
}

pub fn oci_layout(dir: &Path, layers: &[Vec<u8>], user: Option<&str>) {
    for (name, data) in oci_files(layers, user) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

pub fn oci_archive(path: &Path, layers: &[Vec<u8>], user: Option<&str>) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in oci_files(layers, user) {
        append(&mut b, &name, &data);
    }
    b.finish().unwrap();
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A Spring Boot fat jar whose `BOOT-INF/lib` holds log4j-core `version` (with its real
/// pom.properties and MANIFEST content) and a jar identified only by its MANIFEST.
pub fn fat_jar(log4j_version: &str) -> Vec<u8> {
    let pom = format!(
        "#Created by Apache Maven 3.6.3\nversion={log4j_version}\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n"
    );
    let manifest = format!(
        "Manifest-Version: 1.0\nBundle-SymbolicName: org.apache.logging.log4j.core\nImplementation-Vendor-Id: org.apache.logging.log4j\nImplementation-Version: {log4j_version}\n"
    );
    let log4j = zip(&[
        ("META-INF/MANIFEST.MF", manifest.as_bytes()),
        (
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            pom.as_bytes(),
        ),
        (
            "org/apache/logging/log4j/core/lookup/JndiLookup.class",
            b"\xca\xfe\xba\xbe",
        ),
    ]);
    let guava_manifest = b"Manifest-Version: 1.0\nBundle-SymbolicName: com.google.guava.guava\nBundle-Version: 30.1\nImplementation-Vendor-Id: com.google.guava\nImplementation-Version: 30.1\n";
    let guava = zip(&[("META-INF/MANIFEST.MF", guava_manifest)]);
    zip(&[
        (
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\n",
        ),
        (
            "META-INF/maven/com.example/demo/pom.properties",
            b"groupId=com.example\nartifactId=demo\nversion=0.0.1-SNAPSHOT\n",
        ),
        (
            &format!("BOOT-INF/lib/log4j-core-{log4j_version}.jar"),
            &log4j,
        ),
        ("BOOT-INF/lib/guava-30.1.jar", &guava),
    ])
}

pub const LOG4SHELL: &str = r#"{
  "schema_version": "1.6.0",
  "id": "GHSA-jfh8-c2jp-5v3q",
  "modified": "2024-03-15T00:00:00Z",
  "published": "2021-12-10T00:40:56Z",
  "aliases": ["CVE-2021-44228"],
  "summary": "Remote code injection in Log4j",
  "details": "Apache Log4j2 JNDI features do not protect against attacker controlled LDAP and other JNDI related endpoints.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
  "affected": [
    {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}]},
    {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]}]},
    {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.4"}, {"fixed": "2.12.2"}]}]}
  ],
  "references": [
    {"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"},
    {"type": "WEB", "url": "https://logging.apache.org/log4j/2.x/security.html"}
  ],
  "database_specific": {"cwe_ids": ["CWE-502"], "github_reviewed": true, "severity": "CRITICAL"}
}"#;

/// CVE-2021-23337 (command injection in lodash < 4.17.21).
pub const LODASH: &str = r#"{
  "id": "GHSA-35jh-r3h4-6jhm", "modified": "2023-01-01T00:00:00Z", "aliases": ["CVE-2021-23337"],
  "summary": "Command Injection in lodash",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]
}"#;

/// CVE-2020-28493 (ReDoS in Jinja2 < 2.11.3).
pub const JINJA2: &str = r#"{
  "id": "GHSA-g3rq-g295-4j3m", "modified": "2023-01-01T00:00:00Z", "aliases": ["CVE-2020-28493"],
  "summary": "Regular Expression Denial of Service (ReDoS) in Jinja2",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}]}],
  "database_specific": {"severity": "MODERATE"}
}"#;

/// An Alpine advisory for openssl (filed under the origin package, as Alpine's secdb is).
pub const ALPINE_OPENSSL: &str = r#"{
  "id": "ALPINE-CVE-2024-5535", "modified": "2024-07-01T00:00:00Z", "aliases": ["CVE-2024-5535"],
  "affected": [{"package": {"ecosystem": "Alpine:v3.20", "name": "openssl"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.3.1-r1"}]}]}]
}"#;

/// A Debian advisory for `source` affecting every version before `fixed`.
pub fn debian_record(id: &str, source: &str, fixed: &str) -> String {
    serde_json::json!({
        "id": id, "modified": "2024-01-01T00:00:00Z",
        "summary": format!("test advisory for {source}"),
        "affected": [{"package": {"ecosystem": "Debian:12", "name": source},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
    .to_string()
}

pub const DEBIAN_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";

pub const ALPINE_OS_RELEASE: &str =
    "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.1\nPRETTY_NAME=\"Alpine Linux v3.20\"\n";

pub const APK_INSTALLED: &str = "C:Q1x=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\nC:Q1y=\nP:libcrypto3\nV:3.3.0-r2\nA:x86_64\nL:Apache-2.0\no:openssl\n\nC:Q1z=\nP:libssl3\nV:3.3.0-r2\nA:x86_64\no:openssl\n";
