//! Any bytes as a layer blob (tar, gzip or zstd), as the content of each file an image analyzer
//! reads (dpkg, apk and rpm databases, jars, Python and npm metadata, Cargo.lock, ELF binaries),
//! as an OSV record and as a pair of versions for every comparator: no panic, no hang.
//!
//! The same bytes also drive a structure-aware generator of Java archives: jars nesting jars,
//! fan-out with the same inner jar repeated (shared bytes inflated again at each use), stored
//! and deflated entries, zero padding that deflates to nothing, metadata and garbage. Whatever
//! it builds, the walk must stay within its archive budget and the held-at-once limit.
#![no_main]

use std::io::{Cursor, Write};

use haechi_image::analyze::MAX_ARCHIVE_HELD;
use haechi_image::fs::{WalkOptions, walk_stream};
use haechi_image::osv::parse_record;
use haechi_image::version::Scheme;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const PATHS: [(&str, u32); 11] = [
    ("var/lib/dpkg/status", 0o644),
    ("var/lib/dpkg/status.d/base", 0o644),
    ("lib/apk/db/installed", 0o644),
    ("var/lib/rpm/rpmdb.sqlite", 0o644),
    ("app/app.jar", 0o644),
    ("usr/lib/python3/site-packages/x-1.0.dist-info/METADATA", 0o644),
    ("app/node_modules/x/package.json", 0o644),
    ("app/package-lock.json", 0o644),
    ("src/Cargo.lock", 0o644),
    ("usr/local/bin/app", 0o755),
    ("etc/os-release", 0o644),
];

/// The archive budget of the structured walks: small, so that a bomb reaches it quickly.
const BUDGET: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let options = WalkOptions::default();
    let _ = walk_stream(data, options);
    if let Some((&selector, content)) = data.split_first() {
        let (path, mode) = PATHS[selector as usize % PATHS.len()];
        if let Some(layer) = layer(path, mode, content) {
            let _ = walk_stream(&layer[..], options);
        }
        let _ = parse_record(content);
        if let Ok(text) = std::str::from_utf8(content)
            && let Some((a, b)) = text.split_once('\n')
        {
            for scheme in [Scheme::Dpkg, Scheme::Apk, Scheme::Rpm, Scheme::Maven, Scheme::Pep440, Scheme::Semver] {
                let _ = scheme.compare(a, b);
            }
        }
    }
    let mut u = Unstructured::new(data);
    if let Ok(jar) = jar(&mut u, 0)
        && let Some(layer) = layer("app/app.jar", 0o644, &jar)
    {
        let options = WalkOptions { max_archive_bytes: BUDGET, ..WalkOptions::default() };
        let walked = walk_stream(&layer[..], options);
        assert!(walked.archives.inflated <= BUDGET, "{}", walked.archives.inflated);
        assert!(walked.archives.peak_held <= MAX_ARCHIVE_HELD, "{}", walked.archives.peak_held);
    }
});

fn layer(path: &str, mode: u32, content: &[u8]) -> Option<Vec<u8>> {
    let mut layer = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    layer.append_data(&mut header, path, content).ok()?;
    layer.into_inner().ok()
}

/// A jar of up to 8 entries; nested jars up to 6 deep, the same one repeated for fan-out.
fn jar(u: &mut Unstructured<'_>, depth: u32) -> Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let width = u.int_in_range(0..=8u32)?;
    let mut inner: Option<Vec<u8>> = None;
    let mut written = 0usize;
    for i in 0..width {
        let stored = u.ratio(1, 2)?;
        let (name, data): (String, Vec<u8>) = match u.int_in_range(0..=5u8)? {
            0 | 1 if depth < 6 => {
                // Fan-out: build one inner jar and reuse it.
                if inner.is_none() || u.ratio(1, 4)? {
                    inner = Some(jar(u, depth + 1)?);
                }
                (format!("lib/x{i}.jar"), inner.clone().unwrap_or_default())
            }
            2 => (
                format!("META-INF/maven/g/a{i}/pom.properties"),
                format!("groupId=g\nartifactId=a{i}\nversion={i}.0\n").into_bytes(),
            ),
            3 => ("META-INF/MANIFEST.MF".into(), b"Implementation-Version: 1.0\n".to_vec()),
            4 => ("pad.bin".into(), vec![0; u.int_in_range(0..=256u32)? as usize * 1024]),
            _ => {
                let len = u.int_in_range(0..=64usize)?;
                (format!("junk{i}.jar"), u.bytes(len)?.to_vec())
            }
        };
        // Large entries are deflated so that what is built stays small.
        let method = if stored && data.len() <= 64 << 10 {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        if w.start_file(name, options).is_err() || w.write_all(&data).is_err() {
            break;
        }
        written += data.len();
        if written > 8 << 20 {
            break;
        }
    }
    Ok(w.finish().map(Cursor::into_inner).unwrap_or_default())
}
