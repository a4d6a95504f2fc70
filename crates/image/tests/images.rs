//! Images built here with a tar writer, read the way `haechi image scan` reads them.

mod common;

use common::*;
use haechi_image::fs::WalkOptions;
use haechi_image::osv::Database;
use haechi_image::report::{IgnoreFile, MatchOptions, Report};
use haechi_image::{Image, Inventory, PackageKind, Severity};

fn inventory(image: &Image) -> Inventory {
    Inventory::collect(image, WalkOptions::default(), &mut |_| {})
}

fn host_dpkg_status() -> Vec<u8> {
    std::fs::read("/var/lib/dpkg/status").expect("this machine's dpkg database (Debian host)")
}

fn installed_count(status: &[u8]) -> usize {
    String::from_utf8_lossy(status)
        .lines()
        .filter(|l| l.starts_with("Status: ") && l.ends_with(" installed"))
        .count()
}

/// Layer 0: Debian base with this machine's real dpkg database. Layer 1: an application with a
/// fat jar, npm and Python packages and a credentials file. Layer 2: deletes the credentials,
/// lodash (whiteout) and the Python site directory (opaque).
fn app_layers() -> Vec<Vec<u8>> {
    let base = layer(&[
        Item::Dir("etc"),
        Item::Symlink("etc/os-release", "../usr/lib/os-release"),
        file("usr/lib/os-release", DEBIAN_OS_RELEASE),
        file("var/lib/dpkg/status", host_dpkg_status()),
        file("etc/debian_version", "12.5\n"),
        file(
            "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
            "Name: PyYAML\nVersion: 6.0\n",
        ),
        file(
            "var/lib/dpkg/info/python3-yaml.list",
            "/.\n/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n",
        ),
        file(
            "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
            "Name: requests\nVersion: 2.31.0\n",
        ),
    ]);
    let app = layer(&[
        file("app/app.jar", fat_jar("2.14.1")),
        file(
            "app/node_modules/lodash/package.json",
            r#"{"name":"lodash","version":"4.17.20","license":"MIT"}"#,
        ),
        file(
            "app/node_modules/@types/node/package.json",
            r#"{"name":"@types/node","version":"20.1.0"}"#,
        ),
        file(
            "root/.aws/credentials",
            "[default]\naws_access_key_id = AKIAZ7Q3EXAMPLEKEY23\n",
        ),
        file(
            "opt/site/Jinja2-2.11.2.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\n",
        ),
        file("opt/site/keep.txt", "x"),
    ]);
    let cleanup = layer(&[
        Item::Whiteout("root/.aws/credentials"),
        Item::Whiteout("app/node_modules/lodash"),
        Item::Opaque("opt/site"),
        file("opt/site/new.txt", "y"),
    ]);
    vec![base, app, cleanup]
}

#[test]
fn docker_archive_layers_whiteouts_and_real_dpkg_database() {
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("app.tar");
    docker_archive(&tarball, &app_layers(), None);
    let image = Image::open(&tarball).unwrap();
    assert_eq!(image.kind, haechi_image::ImageKind::DockerArchive);
    assert_eq!(image.layers.len(), 3);
    assert_eq!(image.config.tags, ["test/app:1"]);
    let inv = inventory(&image);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let os = inv.os.as_ref().expect("os-release through its symlink");
    assert_eq!((os.family.as_str(), os.version.as_str()), ("debian", "12"));

    let debs = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Deb)
        .count();
    assert_eq!(debs, installed_count(&host_dpkg_status()));
    assert!(
        inv.packages
            .iter()
            .any(|p| p.name == "libc6" && p.advisory_name() == "glibc")
    );

    let log4j = inv
        .packages
        .iter()
        .find(|p| p.name == "org.apache.logging.log4j:log4j-core")
        .expect("log4j-core inside the fat jar");
    assert_eq!(log4j.version, "2.14.1");
    assert_eq!(
        log4j.path,
        "/app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"
    );
    assert_eq!(log4j.layer, 1);
    assert!(
        inv.packages
            .iter()
            .any(|p| p.name == "com.google.guava:guava" && p.version == "30.1")
    );
    assert!(inv.packages.iter().any(|p| p.name == "com.example:demo"));

    // Whiteouts: lodash and the opaque directory's Jinja2 are gone, @types/node stays.
    assert!(!inv.packages.iter().any(|p| p.name == "lodash"));
    assert!(!inv.packages.iter().any(|p| p.name == "Jinja2"));
    assert!(inv.packages.iter().any(|p| p.name == "@types/node"));

    // dpkg installed PyYAML: it is the OS package's, not a PyPI package; pip's requests is.
    assert!(!inv.packages.iter().any(|p| p.name == "PyYAML"));
    assert!(
        inv.packages
            .iter()
            .any(|p| p.name == "requests" && p.kind == PackageKind::Pypi)
    );

    // The deleted credentials are still in layer 1 of the image.
    assert_eq!(inv.secrets.len(), 1, "{:?}", inv.secrets);
    assert_eq!(
        (inv.secrets[0].rule, inv.secrets[0].layer),
        ("aws-access-key-id", 1)
    );
    assert_eq!(inv.secrets[0].path, "/root/.aws/credentials");

    let findings = inv.config_findings(image.kind);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].id, "root-user");
}

fn osv_dir(dir: &std::path::Path, extra: &[(&str, String)]) -> std::path::PathBuf {
    let db = dir.join("osv");
    std::fs::create_dir_all(db.join("maven")).unwrap();
    std::fs::write(db.join("maven/GHSA-jfh8-c2jp-5v3q.json"), LOG4SHELL).unwrap();
    std::fs::write(db.join("GHSA-35jh-r3h4-6jhm.json"), LODASH).unwrap();
    std::fs::write(db.join("GHSA-g3rq-g295-4j3m.json"), JINJA2).unwrap();
    std::fs::write(db.join("ALPINE-CVE-2024-5535.json"), ALPINE_OPENSSL).unwrap();
    for (name, text) in extra {
        std::fs::write(db.join(name), text).unwrap();
    }
    db
}

#[test]
fn log4shell_and_debian_advisories_match_and_index_gives_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("app.tar");
    docker_archive(&tarball, &app_layers(), Some("1000:1000"));
    let image = Image::open(&tarball).unwrap();
    // A Debian advisory for glibc (source of libc6 and friends) fixed in a far future version,
    // and one already fixed in what is installed.
    let db_dir = osv_dir(
        dir.path(),
        &[
            (
                "DEBIAN-TEST-1.json",
                debian_record("DEBIAN-TEST-1", "glibc", "99.0-1"),
            ),
            (
                "DEBIAN-TEST-2.json",
                debian_record("DEBIAN-TEST-2", "glibc", "2.0-1"),
            ),
        ],
    );
    let db = Database::load(&[&db_dir]).unwrap();
    assert_eq!(db.len(), 6);
    let report = Report::build(
        &image,
        inventory(&image),
        Some(&db),
        &MatchOptions::default(),
    );
    let log4shell: Vec<_> = report
        .vulnerabilities
        .iter()
        .filter(|v| v.id == "GHSA-jfh8-c2jp-5v3q")
        .collect();
    assert_eq!(log4shell.len(), 1);
    assert_eq!(log4shell[0].severity, Severity::Critical);
    assert_eq!(log4shell[0].score, Some(10.0));
    assert_eq!(log4shell[0].fixed_version.as_deref(), Some("2.15.0"));
    assert_eq!(
        report.vulnerabilities[0].severity,
        Severity::Critical,
        "most severe first"
    );
    let glibc: Vec<_> = report
        .vulnerabilities
        .iter()
        .filter(|v| v.id == "DEBIAN-TEST-1")
        .map(|v| v.package.as_str())
        .collect();
    assert!(glibc.contains(&"libc6"), "{glibc:?}");
    assert!(
        !report
            .vulnerabilities
            .iter()
            .any(|v| v.id == "DEBIAN-TEST-2")
    );
    assert!(
        !report
            .vulnerabilities
            .iter()
            .any(|v| v.package == "lodash" || v.package == "Jinja2")
    );
    assert!(report.misconfigurations.is_empty(), "user 1000 is not root");

    // The index file gives the same vulnerabilities.
    let index = dir.path().join("osv.idx");
    db.write_index(&index).unwrap();
    let indexed = Database::load(&[&index]).unwrap();
    assert_eq!(indexed.len(), db.len());
    let again = Report::build(
        &image,
        inventory(&image),
        Some(&indexed),
        &MatchOptions::default(),
    );
    let ids = |r: &Report| {
        r.vulnerabilities
            .iter()
            .map(|v| format!("{} {} {}", v.id, v.package, v.path))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&report), ids(&again));

    // --ignore-unfixed and the ignore file.
    let ignore_path = dir.path().join("ignore.yaml");
    std::fs::write(&ignore_path, "vulnerabilities:\n  - id: CVE-2021-44228\n    reason: JndiLookup.class removed at build time\n").unwrap();
    let options = MatchOptions {
        ignore_unfixed: true,
        ignore: IgnoreFile::load(&ignore_path).unwrap(),
    };
    let filtered = Report::build(&image, inventory(&image), Some(&db), &options);
    assert!(
        !filtered
            .vulnerabilities
            .iter()
            .any(|v| v.id == "GHSA-jfh8-c2jp-5v3q")
    );
    assert_eq!(filtered.ignored_vulnerabilities.len(), 1);
    assert_eq!(
        filtered.ignored_vulnerabilities[0].reason,
        "JndiLookup.class removed at build time"
    );
    std::fs::write(&ignore_path, "vulnerabilities:\n  - id: CVE-2021-44228\n").unwrap();
    let err = IgnoreFile::load(&ignore_path).unwrap_err().to_string();
    assert!(err.contains("reason"), "{err}");
}

fn alpine_layers(compress: fn(&[u8]) -> Vec<u8>) -> Vec<Vec<u8>> {
    vec![
        compress(&layer(&[
            file("etc/os-release", ALPINE_OS_RELEASE),
            file("lib/apk/db/installed", APK_INSTALLED),
        ])),
        zstd(&layer(&[file(
            "srv/app/package-lock.json",
            r#"{"lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.20"}}}"#,
        )])),
        layer(&[file(
            "usr/lib/python3.12/site-packages/Jinja2-2.11.2.dist-info/METADATA",
            "Name: Jinja2\nVersion: 2.11.2\n",
        )]),
    ]
}

#[test]
fn oci_layout_and_archive_with_gzip_and_zstd_layers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    oci_layout(&layout, &alpine_layers(gzip), Some("app"));
    let archive = dir.path().join("image.oci.tar");
    oci_archive(&archive, &alpine_layers(zstd), Some("app"));
    let db = Database::load(&[osv_dir(dir.path(), &[])]).unwrap();
    for (path, kind) in [
        (&layout, haechi_image::ImageKind::OciLayout),
        (&archive, haechi_image::ImageKind::OciArchive),
    ] {
        let image = Image::open(path).unwrap();
        assert_eq!(image.kind, kind);
        assert_eq!(image.config.tags, ["test/app:oci"]);
        assert_eq!(image.config.user.as_deref(), Some("app"));
        assert_eq!(image.layers[0].created_by.as_deref(), Some("RUN step 0"));
        let inv = inventory(&image);
        assert!(inv.problems.is_empty(), "{:?}", inv.problems);
        assert_eq!(inv.os.as_ref().unwrap().family, "alpine");
        let names: Vec<_> = inv
            .packages
            .iter()
            .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
            .collect();
        assert_eq!(
            names,
            [
                "apk:libcrypto3@3.3.0-r2",
                "apk:libssl3@3.3.0-r2",
                "apk:musl@1.2.5-r0",
                "pypi:Jinja2@2.11.2",
                "npm:lodash@4.17.20"
            ]
        );
        let report = Report::build(&image, inv, Some(&db), &MatchOptions::default());
        let mut found: Vec<_> = report
            .vulnerabilities
            .iter()
            .map(|v| format!("{} {}", v.id, v.package))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "ALPINE-CVE-2024-5535 libcrypto3",
                "ALPINE-CVE-2024-5535 libssl3",
                "GHSA-35jh-r3h4-6jhm lodash",
                "GHSA-g3rq-g295-4j3m Jinja2"
            ]
        );
    }
}

#[test]
fn a_corrupt_layer_is_reported_and_the_other_layers_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut layers = alpine_layers(gzip);
    // Keep the gzip header of a real layer, then garbage.
    let mut corrupt = gzip(&layer(&[file(
        "app/node_modules/x/package.json",
        r#"{"name":"x","version":"1.0.0"}"#,
    )]));
    corrupt.truncate(12);
    corrupt.extend(std::iter::repeat_n(0x5a, 300));
    layers[1] = corrupt;
    let tarball = dir.path().join("broken.tar");
    docker_archive(&tarball, &layers, None);
    let inv = inventory(&Image::open(&tarball).unwrap());
    assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    assert!(
        inv.problems[0].starts_with("layer 1 ("),
        "{}",
        inv.problems[0]
    );
    assert!(
        inv.problems[0].contains("other layers were read"),
        "{}",
        inv.problems[0]
    );
    assert!(
        inv.packages.iter().any(|p| p.name == "musl"),
        "layer 0 read"
    );
    assert!(
        inv.packages.iter().any(|p| p.name == "Jinja2"),
        "layer 2 read"
    );
}

#[test]
fn inputs_that_are_not_images_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = Image::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("--rootfs"), "{err}");
    let plain = dir.path().join("plain.tar");
    std::fs::write(&plain, layer(&[file("etc/hostname", "x")])).unwrap();
    let err = Image::open(&plain).err().unwrap().to_string();
    assert!(err.contains("docker save"), "{err}");
    let gz = dir.path().join("image.tar.gz");
    std::fs::write(&gz, gzip(b"whatever")).unwrap();
    assert!(
        Image::open(&gz)
            .err()
            .unwrap()
            .to_string()
            .contains("gunzip")
    );
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar at all, definitely not").unwrap();
    assert!(Image::open(&junk).is_err());
}

#[test]
fn rootfs_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("etc/os-release"), DEBIAN_OS_RELEASE).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), host_dpkg_status()).unwrap();
    std::fs::create_dir_all(root.join("srv")).unwrap();
    std::fs::write(root.join("srv/app.jar"), fat_jar("2.17.1")).unwrap();
    let image = Image::rootfs(root).unwrap();
    let inv = inventory(&image);
    assert_eq!(inv.os.as_ref().unwrap().version, "12");
    assert!(
        inv.packages
            .iter()
            .any(|p| p.name == "org.apache.logging.log4j:log4j-core" && p.version == "2.17.1")
    );
    assert!(
        inv.config_findings(image.kind).is_empty(),
        "a directory has no image config"
    );
}

#[test]
fn osv_zip_and_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for (name, text) in [
        ("GHSA-jfh8-c2jp-5v3q.json", LOG4SHELL),
        ("broken.json", "{\"id\": "),
    ] {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    let db = Database::load(&[&zip_path]).unwrap();
    assert_eq!(db.len(), 1);
    assert_eq!(db.problems.len(), 1);
    assert!(db.problems[0].contains("broken.json"), "{}", db.problems[0]);
    assert_eq!(
        db.lookup("Maven", "org.apache.logging.log4j:log4j-core")
            .len(),
        3
    );
    let missing = Database::load(&[dir.path().join("nope")])
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn go_build_info_of_a_real_binary() {
    let Some(runc) = ["/usr/sbin/runc", "/usr/bin/runc"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("SKIP: needs runc (Debian package runc, a Go binary); CI installs it");
        return;
    };
    let version = std::process::Command::new(runc)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&version.stdout);
    let go = text
        .lines()
        .find_map(|l| l.strip_prefix("go: go"))
        .expect("runc --version names its Go toolchain");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("usr/sbin")).unwrap();
    std::fs::copy(runc, dir.path().join("usr/sbin/runc")).unwrap();
    let inv = inventory(&Image::rootfs(dir.path()).unwrap());
    let stdlib: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Go && p.name == "stdlib")
        .collect();
    assert_eq!(stdlib.len(), 1, "{:?}", inv.packages);
    assert_eq!(stdlib[0].version, format!("v{go}"));
    assert_eq!(stdlib[0].path, "/usr/sbin/runc");
}

/// A real rpm sqlite database: a package built with rpmbuild and registered with `rpm --justdb`.
#[test]
fn rpm_sqlite_database_written_by_rpm() {
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    if run("rpmbuild", &["--version"]).is_none() {
        eprintln!("SKIP: needs rpm and rpmbuild (Debian package rpm); CI installs it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    let spec = dir.path().join("openssl.spec");
    std::fs::write(
        &spec,
        // Source package openssl, binary package openssl-libs, as on RHEL.
        "Name: openssl\nEpoch: 1\nVersion: 3.0.7\nRelease: 24.el9\nSummary: t\nLicense: ASL 2.0\n\
         BuildArch: x86_64\n%description\nt\n%package libs\nSummary: t\n%description libs\nt\n%files libs\n",
    )
    .unwrap();
    let topdir = format!("_topdir {}", top.display());
    run(
        "rpmbuild",
        &[
            "-bb",
            "--define",
            &topdir,
            "--define",
            "_build_id_links none",
            spec.to_str().unwrap(),
        ],
    )
    .expect("rpmbuild");
    let rpm_file = top.join("RPMS/x86_64/openssl-libs-3.0.7-24.el9.x86_64.rpm");
    let root = dir.path().join("root");
    let dbpath = root.join("var/lib/rpm");
    let dbpath = dbpath.to_str().unwrap();
    run("rpm", &["--dbpath", dbpath, "--initdb"]).expect("rpm --initdb");
    run(
        "rpm",
        &[
            "--dbpath",
            dbpath,
            "-i",
            "--justdb",
            "--nodeps",
            "--noscripts",
            "--ignorearch",
            rpm_file.to_str().unwrap(),
        ],
    )
    .expect("rpm -i --justdb");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "ID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
    )
    .unwrap();

    let image = Image::rootfs(&root).unwrap();
    let inv = inventory(&image);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let rpms: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Rpm)
        .collect();
    assert_eq!(rpms.len(), 1, "{:?}", inv.packages);
    assert_eq!(
        (rpms[0].name.as_str(), rpms[0].version.as_str()),
        ("openssl-libs", "1:3.0.7-24.el9")
    );
    assert_eq!(rpms[0].source_name.as_deref(), Some("openssl"));
    assert_eq!(rpms[0].license.as_deref(), Some("ASL 2.0"));

    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    let record = serde_json::json!({
        "id": "RLSA-2024:0001", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2023-5678"],
        "affected": [{"package": {"ecosystem": "Rocky Linux:9", "name": "openssl-libs"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9"}]}]}]
    });
    std::fs::write(osv.join("RLSA-2024-0001.json"), record.to_string()).unwrap();
    let db = Database::load(&[&osv]).unwrap();
    let report = Report::build(
        &image,
        inventory(&image),
        Some(&db),
        &MatchOptions::default(),
    );
    assert_eq!(report.vulnerabilities.len(), 1);
    assert_eq!(
        report.vulnerabilities[0].fixed_version.as_deref(),
        Some("1:3.0.7-25.el9")
    );
}
