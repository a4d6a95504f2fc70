//! Hostile images and databases: archives that inflate without bound, rpm databases that
//! never finish or plant files, text that is not UTF-8, layouts whose blobs point outside,
//! indexes with damaged records, CVSS vectors that do not parse. Each input is built here; each
//! ends in a verdict with the problems it caused named (file, position, reason), and bounded
//! work is asserted through counts and limits, never timings.

mod common;

use std::io::{Cursor, Write};
use std::path::Path;

use common::*;
use haechi_image::analyze::{MAX_ARCHIVE_DEPTH, MAX_ARCHIVE_HELD};
use haechi_image::fs::{self as walkfs, WalkOptions};
use haechi_image::osv::{Database, parse_record};
use haechi_image::report::{MatchOptions, Report};
use haechi_image::{Image, Inventory, PackageKind, Severity};

const MIB: u64 = 1 << 20;

/// A zip of `(name, bytes, stored)` entries.
fn zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, stored) in entries {
        let method = if *stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(data.len() as u64 >= 1 << 32);
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn pom(artifact: &str) -> String {
    format!("groupId=org.example\nartifactId={artifact}\nversion=1.0\n")
}

/// A jar holding `pad` zero bytes uncompressed (so that a jar around it deflates it to almost
/// nothing) and a pom.properties naming `artifact`.
fn padded_jar(artifact: &str, pad: usize) -> Vec<u8> {
    let pom = pom(artifact);
    zip(&[
        (
            &format!("META-INF/maven/org.example/{artifact}/pom.properties"),
            pom.as_bytes(),
            true,
        ),
        ("pad.bin", &vec![0u8; pad], true),
    ])
}

/// `width` copies of `inner`, deflated, under `lib/`.
fn fan_out(inner: &[u8], width: usize) -> Vec<u8> {
    let names: Vec<String> = (0..width).map(|i| format!("lib/x{i}.jar")).collect();
    let entries: Vec<(&str, &[u8], bool)> =
        names.iter().map(|n| (n.as_str(), inner, false)).collect();
    zip(&entries)
}

fn image_with(dir: &Path, files: Vec<Item<'_>>) -> Image {
    let tarball = dir.join("image.tar");
    docker_archive(&tarball, &[layer(&files)], Some("app"));
    Image::open(&tarball).unwrap()
}

fn walk(image: &Image, options: WalkOptions) -> walkfs::Walked {
    walkfs::walk(image, options, &mut |_| {})
}

fn inventory(image: &Image) -> Inventory {
    Inventory::collect(image, WalkOptions::default(), &mut |_| {})
}

/// A jar nesting 8 jars, each nesting 8, each nesting 8 jars of 1 MiB: a few kilobytes that
/// inflate to 512 MiB when every nested jar is opened. The bytes inflated per image stop at the
/// budget, the jars past it are named as not read, and no more than one nested jar per level
/// is held at once.
#[test]
fn a_jar_bomb_stops_at_the_per_image_inflate_budget() {
    let leaf = padded_jar("leaf", MIB as usize);
    let level2 = fan_out(&leaf, 8);
    let level1 = fan_out(&level2, 8);
    let app = fan_out(&level1, 8);
    assert!(app.len() < 200 << 10, "{} bytes", app.len());
    let dir = tempfile::tempdir().unwrap();
    let image = image_with(dir.path(), vec![file("app/app.jar", app)]);
    assert!(
        std::fs::metadata(dir.path().join("image.tar"))
            .unwrap()
            .len()
            < 400 << 10,
        "the image is small"
    );
    let budget = 48 * MIB;
    let options = WalkOptions {
        max_archive_bytes: budget,
        ..WalkOptions::default()
    };
    let walked = walk(&image, options);
    let stats = &walked.archives;
    assert!(stats.inflated <= budget, "{} inflated", stats.inflated);
    assert!(stats.inflated > budget / 2, "{} inflated", stats.inflated);
    assert!(
        stats.peak_held <= 3 * (MIB + (64 << 10)),
        "{}",
        stats.peak_held
    );
    let inv = Inventory::from_walked(&image, walked);
    let problem = inv
        .problems
        .iter()
        .find(|p| p.contains("48 MiB"))
        .unwrap_or_else(|| panic!("a problem names the budget: {:?}", inv.problems));
    assert!(problem.starts_with("/app/app.jar"), "{problem}");
    assert!(problem.contains("not read"), "{problem}");
    // What was read before the budget ran out is kept.
    assert!(inv.packages.iter().any(|p| p.name == "org.example:leaf"));
}

/// The default budget is the documented one.
#[test]
fn the_default_archive_budget_is_documented() {
    let options = WalkOptions::default();
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/image.md"))
            .unwrap();
    let stated = format!("{} GiB", options.max_archive_bytes >> 30);
    assert!(docs.contains(&stated), "docs/image.md states {stated}");
    assert!(docs.contains(&format!("{} MiB", MAX_ARCHIVE_HELD >> 20)));
    assert!(docs.contains(&format!("depth {MAX_ARCHIVE_DEPTH}")));
}

/// 64 nested jars of 2 MiB each: read one at a time, every one of them found, never more than
/// one held in memory.
#[test]
fn many_nested_jars_are_read_one_at_a_time() {
    let jars: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| {
            (
                format!("BOOT-INF/lib/dep{i}.jar"),
                padded_jar(&format!("dep{i}"), 2 * MIB as usize),
            )
        })
        .collect();
    let entries: Vec<(&str, &[u8], bool)> = jars
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice(), false))
        .collect();
    let app = zip(&entries);
    let dir = tempfile::tempdir().unwrap();
    let image = image_with(dir.path(), vec![file("app/app.jar", app)]);
    let walked = walk(&image, WalkOptions::default());
    assert!(
        walked.archives.peak_held <= 2 * MIB + (64 << 10),
        "{} held at once",
        walked.archives.peak_held
    );
    assert!(walked.archives.inflated >= 128 * MIB);
    let inv = Inventory::from_walked(&image, walked);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let deps = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Maven && p.name.starts_with("org.example:dep"))
        .count();
    assert_eq!(deps, 64);
}

/// Archives nested deeper than the limit are named as not read, not skipped in silence.
#[test]
fn archives_nested_too_deep_are_reported() {
    let mut jar = padded_jar("deepest", 16);
    for level in 0..(MAX_ARCHIVE_DEPTH + 1) {
        jar = zip(&[(&format!("l{level}.jar"), &jar, false)]);
    }
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(&image_with(dir.path(), vec![file("app/app.jar", jar)]));
    assert!(
        inv.problems
            .iter()
            .any(|p| p.starts_with("/app/app.jar!/") && p.contains("deeper than")),
        "{:?}",
        inv.problems
    );
    assert!(!inv.packages.iter().any(|p| p.name == "org.example:deepest"));
}

/// An rpm header blob with the given string tags.
fn rpm_header(name: &str, version: &str, release: &str) -> Vec<u8> {
    let entries: [(u32, String); 4] = [
        (1000, format!("{name}\0")),
        (1001, format!("{version}\0")),
        (1002, format!("{release}\0")),
        (1022, "x86_64\0".into()),
    ];
    let mut index = Vec::new();
    let mut store: Vec<u8> = Vec::new();
    for (tag, value) in &entries {
        index.extend(tag.to_be_bytes());
        index.extend(6u32.to_be_bytes());
        index.extend((store.len() as u32).to_be_bytes());
        index.extend(1u32.to_be_bytes());
        store.extend(value.as_bytes());
    }
    let mut blob = (entries.len() as u32).to_be_bytes().to_vec();
    blob.extend((store.len() as u32).to_be_bytes());
    blob.extend(index);
    blob.extend(store);
    blob
}

/// A sqlite database made by running `sql`, as bytes.
fn sqlite(dir: &Path, sql: &str, blobs: &[Vec<u8>]) -> Vec<u8> {
    let path = dir.join(format!("db-{}.sqlite", blobs.len()));
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    for blob in blobs {
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
            .unwrap();
    }
    drop(conn);
    std::fs::read(&path).unwrap()
}

const ROCKY: &str = "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n";

/// The rpm database is read from memory: a symbolic link planted where the old code staged it
/// (`$TMPDIR/haechi-rpmdb-PID-N.sqlite`) is left alone, and nothing is written to disk.
#[test]
fn the_rpm_database_is_read_from_memory_not_staged_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let tmp = std::env::temp_dir();
    let planted: Vec<_> = (0..64)
        .map(|n| tmp.join(format!("haechi-rpmdb-{}-{n}.sqlite", std::process::id())))
        .filter(|p| std::os::unix::fs::symlink(&victim, p).is_ok())
        .collect();
    let db = sqlite(
        dir.path(),
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        &[rpm_header("openssl-libs", "3.0.7", "24.el9")],
    );
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", ROCKY),
            file("var/lib/rpm/rpmdb.sqlite", db),
        ],
    );
    let inv = inventory(&image);
    for p in &planted {
        let _ = std::fs::remove_file(p);
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let rpms: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageKind::Rpm)
        .collect();
    assert_eq!(rpms.len(), 1);
    assert_eq!(rpms[0].version, "3.0.7-24.el9");
}

/// A WAL-mode database (what rpm writes on Fedora) reads the same from memory.
#[test]
fn a_wal_mode_rpm_database_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(
        dir.path(),
        "PRAGMA journal_mode=WAL; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        &[rpm_header("bash", "5.1.8", "9.el9")],
    );
    assert_eq!(db[18], 2, "WAL mode");
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", ROCKY),
            file("var/lib/rpm/rpmdb.sqlite", db),
        ],
    );
    let inv = inventory(&image);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    assert!(inv.packages.iter().any(|p| p.name == "bash"));
}

/// Databases whose `Packages` never ends (a recursive view), or whose rows are gigabytes of
/// zeros made on the fly, are refused with a problem instead of hanging or filling memory.
#[test]
fn hostile_rpm_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "CREATE VIEW Packages AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT zeroblob(100) AS blob FROM r;",
            "not a table",
        ),
        (
            "CREATE VIEW Packages AS SELECT zeroblob(1500000000) AS blob;",
            "not a table",
        ),
        (
            "CREATE TABLE Real (blob BLOB); CREATE VIEW Packages AS SELECT blob FROM Real;",
            "not a table",
        ),
        (
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL); INSERT INTO Packages (hnum) VALUES (1), (2);",
            "larger than 64 MiB",
        ),
    ];
    for (sql, expected) in cases {
        let db = sqlite(dir.path(), sql, &[]);
        let image = image_with(
            dir.path(),
            vec![
                file("etc/os-release", ROCKY),
                file("var/lib/rpm/rpmdb.sqlite", db),
            ],
        );
        let inv = inventory(&image);
        assert!(
            inv.problems
                .iter()
                .any(|p| p.starts_with("/var/lib/rpm/rpmdb.sqlite") && p.contains(expected)),
            "{sql}: {:?}",
            inv.problems
        );
    }
}

/// A real table whose query work passes the bound (a table of many rows, with the row limit
/// lowered through a huge generated blob count) ends with a problem that names the limit.
#[test]
fn rpm_rows_past_the_limit_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
         WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 120000)
         INSERT INTO Packages (blob) SELECT x'00000000' FROM r;",
    )
    .unwrap();
    drop(conn);
    let db = std::fs::read(&path).unwrap();
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", ROCKY),
            file("var/lib/rpm/rpmdb.sqlite", db),
        ],
    );
    let inv = inventory(&image);
    assert!(
        inv.problems
            .iter()
            .any(|p| p.contains("100,000 rows") || p.contains("100000 rows")),
        "{:?}",
        inv.problems
    );
}

/// One invalid byte in another package's Maintainer no longer drops the dpkg database: the
/// packages are read, their vulnerabilities found, and the problem names the file and line.
#[test]
fn a_non_utf8_dpkg_status_is_read_and_the_line_named() {
    let mut status = b"Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n\nPackage: other\nStatus: install ok installed\nMaintainer: J\xf6rg <j@example.org>\nVersion: 1.0\n".to_vec();
    status.extend(b"\n");
    let dir = tempfile::tempdir().unwrap();
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", DEBIAN_OS_RELEASE),
            file("var/lib/dpkg/status", status),
        ],
    );
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("DSA-1.json"),
        debian_record("DSA-1", "openssl", "3.0.13-1~deb12u1"),
    )
    .unwrap();
    let db = Database::load(&[&osv]).unwrap();
    let report = Report::build(
        &image,
        inventory(&image),
        Some(&db),
        &MatchOptions::default(),
    );
    assert_eq!(report.packages.len(), 2);
    assert_eq!(report.vulnerabilities.len(), 1);
    let problem = report
        .problems
        .iter()
        .find(|p| p.starts_with("/var/lib/dpkg/status"))
        .unwrap_or_else(|| panic!("{:?}", report.problems));
    assert!(problem.contains("line 9"), "{problem}");
    assert!(problem.contains("UTF-8"), "{problem}");
}

/// An `ID=` haechi has no advisories for is a problem, not a silent zero.
#[test]
fn an_unknown_distribution_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", "ID=foolinux\nVERSION_ID=7\n"),
            file(
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1\n",
            ),
        ],
    );
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    let db = Database::load(&[&osv]).unwrap();
    let report = Report::build(
        &image,
        inventory(&image),
        Some(&db),
        &MatchOptions::default(),
    );
    let problem = report
        .problems
        .iter()
        .find(|p| p.contains("foolinux"))
        .unwrap_or_else(|| panic!("{:?}", report.problems));
    assert!(problem.contains("/etc/os-release"), "{problem}");
    assert!(problem.contains("1 deb package"), "{problem}");
}

/// The index file's parts, to damage one.
fn split_index(bytes: &[u8]) -> (Vec<u8>, serde_json::Value, Vec<u8>) {
    let magic = b"HAECHI-OSV-INDEX 1\n";
    let len = u64::from_le_bytes(bytes[magic.len()..magic.len() + 8].try_into().unwrap()) as usize;
    let start = magic.len() + 8;
    let header: serde_json::Value = serde_json::from_slice(&bytes[start..start + len]).unwrap();
    (magic.to_vec(), header, bytes[start + len..].to_vec())
}

fn join_index(magic: &[u8], header: &serde_json::Value, blobs: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(header).unwrap();
    let mut out = magic.to_vec();
    out.extend((header.len() as u64).to_le_bytes());
    out.extend(header);
    out.extend(blobs);
    out
}

/// A damaged record or an out-of-range id in a `db build` index is a problem naming it, not an
/// advisory that silently vanishes.
#[test]
fn damaged_index_records_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("DSA-1.json"),
        debian_record("DSA-1", "openssl", "3.0.13-1~deb12u1"),
    )
    .unwrap();
    std::fs::write(
        osv.join("DSA-2.json"),
        debian_record("DSA-2", "openssl", "3.0.14-1~deb12u1"),
    )
    .unwrap();
    let index = dir.path().join("osv.idx");
    Database::load(&[&osv])
        .unwrap()
        .write_index(&index)
        .unwrap();
    let image = image_with(
        dir.path(),
        vec![
            file("etc/os-release", DEBIAN_OS_RELEASE),
            file(
                "var/lib/dpkg/status",
                "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n",
            ),
        ],
    );
    let scan = |bytes: &[u8]| {
        let damaged = dir.path().join("damaged.idx");
        std::fs::write(&damaged, bytes).unwrap();
        let db = Database::load(&[&damaged]).unwrap();
        Report::build(
            &image,
            inventory(&image),
            Some(&db),
            &MatchOptions::default(),
        )
    };
    let good = std::fs::read(&index).unwrap();
    assert_eq!(scan(&good).vulnerabilities.len(), 2);

    // Garbage over the second record's bytes.
    let (magic, header, mut blobs) = split_index(&good);
    let at = blobs.windows(5).position(|w| w == b"DSA-2").unwrap();
    blobs[at - 3..at + 9].copy_from_slice(b"\xff\x00garbage\x00\x01\x02");
    let report = scan(&join_index(&magic, &header, &blobs));
    assert_eq!(report.vulnerabilities.len(), 1);
    let problem = report
        .problems
        .iter()
        .find(|p| p.contains("record 1"))
        .unwrap_or_else(|| panic!("{:?}", report.problems));
    assert!(problem.contains("damaged.idx"), "{problem}");
    assert!(problem.contains("db build"), "{problem}");

    // A key pointing at a record the index does not have.
    let (magic, mut header, blobs) = split_index(&good);
    for ids in header["keys"].as_object_mut().unwrap().values_mut() {
        ids.as_array_mut().unwrap().push(serde_json::json!(99));
    }
    let report = scan(&join_index(&magic, &header, &blobs));
    assert_eq!(report.vulnerabilities.len(), 2);
    assert!(
        report.problems.iter().any(|p| p.contains("record 99")),
        "{:?}",
        report.problems
    );
}

/// A host file with a line that must never show up in a report.
const SHADOW: &str = "root:$6$hostilesecret$Zm9vYmFy:19000:0:99999:7:::\n";

/// An OCI layout whose blob is a symbolic link to a host file: the link is not followed, and
/// no message repeats the file's bytes.
#[test]
fn oci_blob_symlinks_out_of_the_layout_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("shadow");
    std::fs::write(&host, SHADOW).unwrap();
    let layout = dir.path().join("layout");
    let layers = vec![layer(&[file("etc/os-release", DEBIAN_OS_RELEASE)])];
    oci_layout(&layout, &layers, None);
    let blob = layout.join(format!("blobs/sha256/{:064x}", 0xa00));
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&host, &blob).unwrap();
    let image = Image::open(&layout).unwrap();
    let inv = inventory(&image);
    assert!(inv.incomplete);
    let all = format!("{:?}", inv.problems);
    assert!(!all.contains("hostilesecret"), "{all}");
    assert!(!all.contains("root:"), "{all}");
    assert!(all.contains("symbolic link"), "{all}");

    // The config, a manifest and index.json itself: refused when opening.
    for member in [
        format!("blobs/sha256/{:064x}", 0xc0),
        format!("blobs/sha256/{:064x}", 0xd0),
        "index.json".to_string(),
    ] {
        let layout = dir.path().join(format!("layout-{}", member.len()));
        let _ = std::fs::remove_dir_all(&layout);
        oci_layout(&layout, &layers, None);
        std::fs::remove_file(layout.join(&member)).unwrap();
        std::os::unix::fs::symlink(&host, layout.join(&member)).unwrap();
        let e = Image::open(&layout).err().expect(&member).to_string();
        assert!(!e.contains("hostilesecret"), "{e}");
        assert!(e.contains("symbolic link"), "{member}: {e}");
    }

    // A symbolic link for the whole blobs directory.
    let layout = dir.path().join("layout-dir");
    oci_layout(&layout, &layers, None);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(layout.join("blobs"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, layout.join("blobs")).unwrap();
    let e = Image::open(&layout).err().unwrap().to_string();
    assert!(e.contains("symbolic link"), "{e}");
}

/// A FIFO or a device in place of a blob, an archive or a database is refused without
/// blocking or reading without end.
#[test]
fn fifos_and_devices_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("SKIP: needs mkfifo (coreutils)");
        return;
    }
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let e = Image::open(path).err().unwrap().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = Database::load(&[path]).err().unwrap().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
    // A FIFO as a layer blob inside a layout, and as a record in a database directory.
    let layout = dir.path().join("layout");
    oci_layout(&layout, &[layer(&[file("etc/hostname", "x")])], None);
    let blob = layout.join(format!("blobs/sha256/{:064x}", 0xa00));
    std::fs::remove_file(&blob).unwrap();
    std::fs::rename(&fifo, &blob).unwrap();
    let inv = inventory(&Image::open(&layout).unwrap());
    assert!(
        inv.problems
            .iter()
            .any(|p| p.contains("not a regular file")),
        "{:?}",
        inv.problems
    );
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::process::Command::new("mkfifo")
        .arg(osv.join("X.json"))
        .status()
        .unwrap();
    let db = Database::load(&[&osv]).unwrap();
    assert!(
        db.problems.iter().any(|p| p.contains("not a regular file")),
        "{:?}",
        db.problems
    );
}

/// A CVSS vector with an invalid value or a metric given twice is refused: no score, severity
/// UNKNOWN, and a problem that says why.
#[test]
fn malformed_cvss_vectors_are_refused() {
    let record = |vector: &str| {
        serde_json::json!({
            "id": "GHSA-test", "modified": "2024-01-01T00:00:00Z",
            "severity": [{"type": "CVSS_V3", "score": vector}],
            "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]
        })
        .to_string()
    };
    let good = parse_record(record("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!((good.severity, good.score), (Severity::Critical, Some(9.8)));
    assert!(good.problems.is_empty());
    for (vector, why) in [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Z",
            "invalid",
        ),
        (
            "CVSS:3.1/AV:P/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "duplicate",
        ),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "missing"),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y",
            "invalid",
        ),
    ] {
        let a = parse_record(record(vector).as_bytes()).unwrap().unwrap();
        assert_eq!((a.severity, a.score), (Severity::Unknown, None), "{vector}");
        let problem = a.problems.first().unwrap_or_else(|| panic!("{vector}"));
        assert!(problem.contains("CVSS"), "{problem}");
        assert!(problem.to_lowercase().contains(why), "{vector}: {problem}");
    }
    // CVSS v4 is scored too.
    let v4 = serde_json::json!({
        "id": "GHSA-v4", "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]
    });
    let a = parse_record(v4.to_string().as_bytes()).unwrap().unwrap();
    assert_eq!((a.severity, a.score), (Severity::Critical, Some(9.3)));
}

/// A matched advisory's refused vector shows up in the scan's problems.
#[test]
fn a_refused_vector_of_a_matched_advisory_is_a_scan_problem() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    let record = serde_json::json!({
        "id": "GHSA-dup", "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]
    });
    std::fs::write(osv.join("GHSA-dup.json"), record.to_string()).unwrap();
    let index = dir.path().join("osv.idx");
    Database::load(&[&osv])
        .unwrap()
        .write_index(&index)
        .unwrap();
    let image = image_with(
        dir.path(),
        vec![file(
            "app/node_modules/lodash/package.json",
            r#"{"name":"lodash","version":"4.17.20"}"#,
        )],
    );
    for source in [&osv, &index] {
        let db = Database::load(&[source]).unwrap();
        let report = Report::build(
            &image,
            inventory(&image),
            Some(&db),
            &MatchOptions::default(),
        );
        assert_eq!(report.vulnerabilities.len(), 1);
        assert_eq!(report.vulnerabilities[0].severity, Severity::Unknown);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("GHSA-dup") && p.contains("duplicate")),
            "{:?}",
            report.problems
        );
    }
}

/// A database zip whose entries inflate past the per-record limit is reported per entry, and
/// its total stops at the budget proportional to the zip.
#[test]
fn an_osv_zip_bomb_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b' '; 70 << 20];
    let bomb = zip(&[
        ("big.json", &big, false),
        ("ok.json", LODASH.as_bytes(), false),
    ]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let path = dir.path().join("all.zip");
    std::fs::write(&path, bomb).unwrap();
    let db = Database::load(&[&path]).unwrap();
    assert_eq!(db.len(), 1);
    assert!(
        db.problems
            .iter()
            .any(|p| p.contains("big.json") && p.contains("64 MiB")),
        "{:?}",
        db.problems
    );
}
