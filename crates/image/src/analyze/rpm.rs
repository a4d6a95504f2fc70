//! rpm: the sqlite database (`/var/lib/rpm/rpmdb.sqlite`, `/usr/lib/sysimage/rpm/rpmdb.sqlite`)
//! of RHEL 9, Fedora, Rocky and AlmaLinux. Each row of its `Packages` table is an rpm header
//! blob: a count of index entries, the data size, 16-byte entries (tag, type, offset, count;
//! big-endian) and the data they point into. The source package comes from `SOURCERPM`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Package, PackageKind};

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;

pub(super) fn wants(path: &str) -> bool {
    path == "var/lib/rpm/rpmdb.sqlite" || path == "usr/lib/sysimage/rpm/rpmdb.sqlite"
}

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    // sqlite reads files, not memory: the database goes to a private temporary file.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = std::env::temp_dir().join(format!(
        "haechi-rpmdb-{}-{}.sqlite",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, data).map_err(|e| format!("cannot stage the database: {e}"))?;
    let result = read(&tmp, path, out);
    // sqlite leaves -wal and -shm files next to a WAL-mode database it opened read-only.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = tmp.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    result
}

fn read(db: &std::path::Path, path: &str, out: &mut Vec<Package>) -> Result<(), String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("not a readable rpm sqlite database: {e}"))?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| format!("not an rpm database (no Packages table): {e}"))?;
    let rows = stmt
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .map_err(|e| format!("cannot read the Packages table: {e}"))?;
    let mut bad = 0;
    for blob in rows {
        match blob.ok().and_then(|b| header(&b, path)) {
            Some(Some(package)) => out.push(package),
            Some(None) => {}
            None => bad += 1,
        }
    }
    if bad > 0 {
        return Err(format!("{bad} package header(s) could not be read"));
    }
    Ok(())
}

/// One header blob → its package; `Some(None)` for the pseudo-packages of imported keys.
fn header(blob: &[u8], path: &str) -> Option<Option<Package>> {
    let be = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    let entries = be(0)? as usize;
    let size = be(4)? as usize;
    let store_at = 8usize.checked_add(entries.checked_mul(16)?)?;
    let store = blob.get(store_at..store_at.checked_add(size)?)?;
    let mut fields: [Option<String>; 6] = Default::default();
    let mut epoch = None;
    for i in 0..entries {
        let at = 8 + i * 16;
        let (tag, kind, offset) = (be(at)?, be(at + 4)?, be(at + 8)? as usize);
        let slot = match tag {
            NAME => 0,
            VERSION => 1,
            RELEASE => 2,
            LICENSE => 3,
            ARCH => 4,
            SOURCERPM => 5,
            EPOCH if kind == 4 => {
                let bytes = store.get(offset..offset + 4)?;
                epoch = Some(u32::from_be_bytes(bytes.try_into().ok()?));
                continue;
            }
            _ => continue,
        };
        // STRING (6) and I18NSTRING (9): NUL-terminated in the store.
        if kind == 6 || kind == 9 {
            let text = store.get(offset..)?;
            let end = memchr::memchr(0, text)?;
            fields[slot] = Some(String::from_utf8_lossy(&text[..end]).into_owned());
        }
    }
    let [Some(name), Some(version), release, license, arch, source] = fields else {
        return None;
    };
    if name == "gpg-pubkey" {
        return Some(None);
    }
    let evr = |v: &str, r: Option<&str>| {
        let mut s = epoch
            .filter(|e| *e > 0)
            .map(|e| format!("{e}:"))
            .unwrap_or_default();
        s.push_str(v);
        if let Some(r) = r.filter(|r| !r.is_empty()) {
            s.push('-');
            s.push_str(r);
        }
        s
    };
    let mut package = Package::new(
        PackageKind::Rpm,
        &name,
        &evr(&version, release.as_deref()),
        path,
    );
    package.arch = arch;
    package.license = license;
    // openssl-3.0.7-24.el9.src.rpm → openssl, 3.0.7-24.el9
    if let Some(stem) = source
        .as_deref()
        .and_then(|s| s.strip_suffix(".src.rpm").or(s.strip_suffix(".nosrc.rpm")))
        && let Some((rest, src_release)) = stem.rsplit_once('-')
        && let Some((src_name, src_version)) = rest.rsplit_once('-')
    {
        if src_name != name {
            package.source_name = Some(src_name.to_string());
        }
        let src_evr = evr(src_version, Some(src_release));
        if src_evr != package.version {
            package.source_version = Some(src_evr);
        }
    }
    Some(Some(package))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob with the given (tag, type, value) string and int32 entries.
    fn blob(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store: Vec<u8> = Vec::new();
        for (tag, kind, value) in entries {
            index.extend(tag.to_be_bytes());
            index.extend(kind.to_be_bytes());
            index.extend((store.len() as u32).to_be_bytes());
            index.extend(1u32.to_be_bytes());
            store.extend(*value);
        }
        let mut b = (entries.len() as u32).to_be_bytes().to_vec();
        b.extend((store.len() as u32).to_be_bytes());
        b.extend(index);
        b.extend(store);
        b
    }

    #[test]
    fn header_fields_and_source() {
        let b = blob(&[
            (NAME, 6, b"openssl-libs\0"),
            (EPOCH, 4, &1u32.to_be_bytes()),
            (VERSION, 6, b"3.0.7\0"),
            (RELEASE, 6, b"24.el9\0"),
            (ARCH, 6, b"x86_64\0"),
            (SOURCERPM, 6, b"openssl-3.0.7-24.el9.src.rpm\0"),
        ]);
        let p = header(&b, "var/lib/rpm/rpmdb.sqlite").unwrap().unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("openssl-libs", "1:3.0.7-24.el9")
        );
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(p.source_version, None);
        assert!(header(&b[..20], "x").is_none(), "truncated");
        let key = blob(&[(NAME, 6, b"gpg-pubkey\0"), (VERSION, 6, b"1\0")]);
        assert_eq!(header(&key, "x"), Some(None));
    }
}
