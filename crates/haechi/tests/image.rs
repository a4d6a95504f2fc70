//! End-to-end tests of `haechi image`: the real binary on images made by Docker (`docker
//! import` of a root filesystem written here, then `docker save`) and on directories.

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn haechi(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs haechi")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

const LOG4SHELL: &str = r#"{"schema_version":"1.6.0","id":"GHSA-jfh8-c2jp-5v3q","modified":"2024-03-15T00:00:00Z",
"aliases":["CVE-2021-44228"],"summary":"Remote code injection in Log4j",
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
"affected":[
 {"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.13.0"},{"fixed":"2.15.0"}]}]},
 {"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.3.1"}]}]},
 {"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.4"},{"fixed":"2.12.2"}]}]}],
"references":[{"type":"ADVISORY","url":"https://nvd.nist.gov/vuln/detail/CVE-2021-44228"}]}"#;

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn fat_jar() -> Vec<u8> {
    let log4j = zip(&[(
        "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
        b"groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n",
    )]);
    zip(&[("BOOT-INF/lib/log4j-core-2.14.1.jar", &log4j)])
}

/// A root filesystem tarball: this machine's dpkg database, a fat jar and a private key.
fn rootfs_tar() -> Vec<u8> {
    let status = std::fs::read("/var/lib/dpkg/status").expect("this machine's dpkg database");
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtestkeymaterialthatisnotreal0000\n-----END RSA PRIVATE KEY-----\n";
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("etc/os-release", OS_RELEASE.as_bytes()),
        ("var/lib/dpkg/status", &status),
        ("app/app.jar", &fat_jar()),
        ("etc/ssl/private/server.key", key.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn osv(dir: &Path) {
    std::fs::create_dir_all(dir.join("osv")).unwrap();
    std::fs::write(dir.join("osv/GHSA-jfh8-c2jp-5v3q.json"), LOG4SHELL).unwrap();
}

fn docker(args: &[&str]) -> Option<Output> {
    Command::new("docker")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
}

#[test]
fn docker_saved_image_scan_sarif_sbom_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    if docker(&["version"]).is_none() {
        eprintln!("SKIP: needs a running Docker Engine (docker import/save); CI has one");
        return;
    }
    let tag = format!("haechi-test/image-scan:{}", std::process::id());
    std::fs::write(root.join("rootfs.tar"), rootfs_tar()).unwrap();
    let rootfs = root.join("rootfs.tar");
    docker(&["import", rootfs.to_str().unwrap(), &tag]).expect("docker import");
    let saved = docker(&["save", "-o", root.join("image.tar").to_str().unwrap(), &tag]);
    docker(&["rmi", "-f", &tag]);
    saved.expect("docker save");
    osv(root);

    let out = haechi(
        &["image", "scan", "image.tar", "--db", "osv", "-f", "json"],
        root,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["artifact"]["kind"], "docker-archive");
    assert_eq!(report["os"]["family"], "debian");
    let vulns = report["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1, "{vulns:?}");
    assert_eq!(vulns[0]["id"], "GHSA-jfh8-c2jp-5v3q");
    assert_eq!(vulns[0]["severity"], "CRITICAL");
    assert_eq!(vulns[0]["fixedVersion"], "2.15.0");
    assert_eq!(
        vulns[0]["path"],
        "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"
    );
    assert_eq!(report["secrets"][0]["rule"], "private-key");
    assert_eq!(report["misconfigurations"][0]["id"], "root-user");
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let installed = status
        .lines()
        .filter(|l| l.starts_with("Status: ") && l.ends_with(" installed"))
        .count();
    let debs = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "deb")
        .count();
    assert_eq!(debs, installed);

    let out = haechi(
        &[
            "image",
            "scan",
            "image.tar",
            "--db",
            "osv",
            "--fail-on",
            "critical",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("GHSA-jfh8-c2jp-5v3q") && table.contains("2.15.0"),
        "{table}"
    );

    let out = haechi(
        &["image", "scan", "image.tar", "--db", "osv", "-f", "sarif"],
        root,
    );
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "GHSA-jfh8-c2jp-5v3q"));
    assert!(results.iter().any(|r| r["ruleId"] == "secret/private-key"));

    let out = haechi(
        &["image", "sbom", "image.tar", "--format", "cyclonedx"],
        root,
    );
    assert_eq!(out.status.code(), Some(0));
    let bom = json(&out);
    assert_eq!(bom["specVersion"], "1.5");
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(purls.contains(&"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"));
    assert_eq!(
        purls
            .iter()
            .filter(|p| p.starts_with("pkg:deb/debian/"))
            .count(),
        installed
    );

    let out = haechi(
        &["image", "db", "build", "--db", "osv", "-o", "osv.idx"],
        root,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = haechi(
        &[
            "image",
            "scan",
            "image.tar",
            "--db",
            "osv.idx",
            "-f",
            "json",
        ],
        root,
    );
    assert_eq!(json(&out)["vulnerabilities"], report["vulnerabilities"]);
}

#[test]
fn rootfs_ignore_file_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    osv(root);
    std::fs::create_dir_all(root.join("fs/srv")).unwrap();
    std::fs::write(root.join("fs/srv/app.jar"), fat_jar()).unwrap();
    let out = haechi(
        &[
            "image",
            "scan",
            "--rootfs",
            "fs",
            "--db",
            "osv",
            "--fail-on",
            "high",
            "-f",
            "json",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json(&out)["vulnerabilities"][0]["aliases"][0],
        "CVE-2021-44228"
    );

    std::fs::write(root.join("ignore.yaml"), "vulnerabilities:\n  - id: CVE-2021-44228\n    package: org.apache.logging.log4j:log4j-core\n    reason: JndiLookup removed\n").unwrap();
    let out = haechi(
        &[
            "image",
            "scan",
            "--rootfs",
            "fs",
            "--db",
            "osv",
            "--fail-on",
            "high",
            "--ignore-file",
            "ignore.yaml",
            "-f",
            "json",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["vulnerabilities"].as_array().unwrap().len(), 0);
    assert_eq!(
        report["ignoredVulnerabilities"][0]["reason"],
        "JndiLookup removed"
    );

    std::fs::write(
        root.join("bad.yaml"),
        "vulnerabilities:\n  - id: CVE-2021-44228\n",
    )
    .unwrap();
    let out = haechi(
        &[
            "image",
            "scan",
            "--rootfs",
            "fs",
            "--db",
            "osv",
            "--ignore-file",
            "bad.yaml",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reason"));

    let out = haechi(&["image", "scan", "missing.tar", "--db", "osv"], root);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.tar"));
    let out = haechi(
        &["image", "scan", "--rootfs", "fs", "--db", "nowhere"],
        root,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
    let out = haechi(&["image", "scan", "--rootfs", "fs"], root);
    assert_eq!(out.status.code(), Some(2), "--db is required");
}

/// An OCI layout directory whose one layer holds `layer`; returns the layer blob's path.
fn oci_layout(dir: &Path, layer: &[u8]) -> std::path::PathBuf {
    let blob = |data: &[u8], n: u32| {
        let hex = format!("{n:064x}");
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("blobs/sha256").join(&hex), data).unwrap();
        (format!("sha256:{hex}"), data.len())
    };
    let (layer_digest, layer_size) = blob(layer, 1);
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"User": "app"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]}});
    let (config_digest, config_size) = blob(config.to_string().as_bytes(), 2);
    let manifest = serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]});
    let (manifest_digest, manifest_size) = blob(manifest.to_string().as_bytes(), 3);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest_size}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir.join(format!("blobs/sha256/{:064x}", 1))
}

/// Hostile inputs end in problems the JSON report carries, named and bounded: a layer blob that
/// links to a host file is not followed and its bytes are never echoed; a jar bomb stops at
/// `--max-archive-bytes`; an advisory's malformed CVSS vector is refused, not scored CRITICAL.
#[test]
fn hostile_inputs_are_problems_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let shadow = root.join("shadow");
    std::fs::write(&shadow, "root:$6$hostilesecret$Zm9v:19000:0:99999:7:::\n").unwrap();
    let layout = root.join("layout");
    let blob = oci_layout(&layout, &rootfs_tar());
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&shadow, &blob).unwrap();
    std::fs::create_dir_all(root.join("osv")).unwrap();
    let out = haechi(
        &["image", "scan", "layout", "--db", "osv", "-f", "json"],
        root,
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hostilesecret"), "{all}");
    let report = json(&out);
    assert_eq!(report["incomplete"], true);
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(2));

    // A jar of 8 jars of 8 jars of 8 jars of 1 MiB each (stored, so that each deflates to
    // almost nothing inside the one around it), scanned with a 16 MiB budget.
    let leaf = {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("META-INF/maven/g/leaf/pom.properties", stored)
            .unwrap();
        w.write_all(b"groupId=g\nartifactId=leaf\nversion=1\n")
            .unwrap();
        w.start_file("pad.bin", stored).unwrap();
        w.write_all(&vec![0u8; 1 << 20]).unwrap();
        w.finish().unwrap().into_inner()
    };
    let fan = |inner: &[u8]| {
        let names: Vec<String> = (0..8).map(|i| format!("lib/x{i}.jar")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), inner)).collect();
        zip(&entries)
    };
    std::fs::create_dir_all(root.join("bomb/app")).unwrap();
    std::fs::write(root.join("bomb/app/app.jar"), fan(&fan(&fan(&leaf)))).unwrap();
    let record = serde_json::json!({"id": "GHSA-dup", "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "Maven", "name": "g:leaf"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2"}]}]}]});
    std::fs::write(root.join("osv/GHSA-dup.json"), record.to_string()).unwrap();
    let out = haechi(
        &[
            "image",
            "scan",
            "--rootfs",
            "bomb",
            "--db",
            "osv",
            "--max-archive-bytes",
            "16777216",
            "--fail-on",
            "critical",
            "-f",
            "json",
        ],
        root,
    );
    let report = json(&out);
    let problems = report["problems"].to_string();
    assert!(problems.contains("16 MiB"), "{problems}");
    assert!(
        problems.contains("GHSA-dup") && problems.contains("duplicate"),
        "{problems}"
    );
    assert_eq!(report["vulnerabilities"][0]["severity"], "UNKNOWN");
    assert_ne!(out.status.code(), Some(1), "not CRITICAL");
}
