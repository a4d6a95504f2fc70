//! Any bytes as a layer blob (tar, gzip or zstd), as the content of each file an image analyzer
//! reads (dpkg, apk and rpm databases, jars, Python and npm metadata, Cargo.lock, ELF binaries),
//! as an OSV record and as a pair of versions for every comparator: no panic, no hang.
#![no_main]

use haechi_image::fs::{WalkOptions, walk_stream};
use haechi_image::osv::parse_record;
use haechi_image::version::Scheme;
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

fuzz_target!(|data: &[u8]| {
    let options = WalkOptions::default();
    let _ = walk_stream(data, options);
    let Some((&selector, content)) = data.split_first() else { return };
    let (path, mode) = PATHS[selector as usize % PATHS.len()];
    let mut layer = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    if layer.append_data(&mut header, path, content).is_ok()
        && let Ok(bytes) = layer.into_inner()
    {
        let _ = walk_stream(&bytes[..], options);
    }
    let _ = parse_record(content);
    if let Ok(text) = std::str::from_utf8(content)
        && let Some((a, b)) = text.split_once('\n')
    {
        for scheme in [Scheme::Dpkg, Scheme::Apk, Scheme::Rpm, Scheme::Maven, Scheme::Pep440, Scheme::Semver] {
            let _ = scheme.compare(a, b);
        }
    }
});
