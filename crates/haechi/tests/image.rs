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
