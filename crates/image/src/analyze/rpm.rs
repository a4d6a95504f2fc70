//! rpm: the sqlite database (`/var/lib/rpm/rpmdb.sqlite`, `/usr/lib/sysimage/rpm/rpmdb.sqlite`)
//! of RHEL 9, Fedora, Rocky and AlmaLinux. Each row of its `Packages` table is an rpm header
//! blob: a count of index entries, the data size, 16-byte entries (tag, type, offset, count;
//! big-endian) and the data they point into. The source package comes from `SOURCERPM`.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::limits::Limit;

use super::{Package, PackageKind};

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;

/// Most rows read from the `Packages` table (a RHEL image holds hundreds to a few thousand).
pub const MAX_RPM_ROWS: usize = 100_000;
/// Largest value a query may produce (SQLite's `SQLITE_LIMIT_LENGTH`): a header blob, file
/// list included, is at most a few MiB.
pub const MAX_RPM_BLOB: usize = 64 << 20;
/// SQLite virtual-machine steps the queries of one database may take (reading a few thousand
/// headers takes well under a million).
pub const MAX_RPM_STEPS: u64 = 100_000_000;

/// How many steps between two looks at the step count.
const STEP_CHECK: u64 = 10_000;

pub(super) fn wants(path: &str) -> bool {
    path == "var/lib/rpm/rpmdb.sqlite" || path == "usr/lib/sysimage/rpm/rpmdb.sqlite"
}

/// Reads the database from memory (SQLite's deserialize interface): nothing is written to disk.
pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    let mut conn = rusqlite::Connection::open_in_memory()
        .map_err(|e| format!("cannot open an in-memory database: {e}"))?;
    // Bytes 18 and 19 say WAL mode (2), which an in-memory database cannot open; the pages
    // read the same in rollback mode (1). The image holds no -wal file to replay anyway.
    let wal = data.len() >= 100 && data[18] == 2 && data[19] == 2;
    let reader = if wal {
        (&data[..18]).chain(&[1u8, 1][..]).chain(&data[20..])
    } else {
        data.chain(&[][..]).chain(&[][..])
    };
    conn.deserialize_read_exact(rusqlite::MAIN_DB, reader, data.len(), true)
        .map_err(|e| format!("not a readable rpm sqlite database: {e}"))?;
    let limit = |what, value: usize| {
        conn.set_limit(what, i32::try_from(value).unwrap_or(i32::MAX))
            .map_err(|e| format!("cannot limit the database's queries: {e}"))
    };
    limit(Limit::SQLITE_LIMIT_LENGTH, MAX_RPM_BLOB)?;
    limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    let mut steps = 0u64;
    conn.progress_handler(
        STEP_CHECK as i32,
        Some(move || {
            steps += STEP_CHECK;
            let stop = steps > MAX_RPM_STEPS;
            if stop {
                flag.store(true, Ordering::Relaxed);
            }
            stop
        }),
    )
    .map_err(|e| format!("cannot limit the database's queries: {e}"))?;
    let explain = |e: rusqlite::Error, what: &str| {
        let too_big = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::TooBig);
        if too_big {
            format!(
                "{what}: a value is larger than {} MiB, the most an rpm header may be; this is \
                 not an rpm database as rpm writes it",
                MAX_RPM_BLOB >> 20
            )
        } else if stopped.load(Ordering::Relaxed) {
            format!(
                "{what}: stopped after {} SQLite steps, the most one rpm database may take; \
                 this is not an rpm database as rpm writes it",
                thousands(MAX_RPM_STEPS as usize)
            )
        } else {
            format!("{what}: {e}")
        }
    };
    read(&conn, path, out).map_err(|(e, what)| explain(e, &what))?
}

/// The rows of `Packages`, checked to be a plain table first (a view can compute rows without
/// end). `Err` carries SQLite's error and what was being done; `Ok(Err)` a finding.
fn read(
    conn: &rusqlite::Connection,
    path: &str,
    out: &mut Vec<Package>,
) -> Result<Result<(), String>, (rusqlite::Error, String)> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e| (e, what)
    };
    let kind: Option<(String, String)> = conn
        .query_row(
            "SELECT type, coalesce(sql, '') FROM sqlite_schema WHERE name = 'Packages'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(fail("not a readable rpm sqlite database"))?;
    match kind {
        None => return Ok(Err("not an rpm database (no Packages table)".into())),
        Some((kind, _)) if kind != "table" => {
            return Ok(Err(format!(
                "not an rpm database: Packages is a {kind}, not a table"
            )));
        }
        Some((_, sql)) if sql.to_ascii_uppercase().contains("VIRTUAL TABLE") => {
            return Ok(Err(
                "not an rpm database: Packages is a virtual table, not a table".into(),
            ));
        }
        Some(_) => {}
    }
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(fail("not an rpm database (no blob column in Packages)"))?;
    let mut rows = stmt
        .query([])
        .map_err(fail("cannot read the Packages table"))?;
    let mut bad = 0;
    let mut count = 0;
    while let Some(row) = rows
        .next()
        .map_err(fail("cannot read the Packages table"))?
    {
        count += 1;
        if count > MAX_RPM_ROWS {
            return Ok(Err(format!(
                "the Packages table has more than {} rows, the most read; the packages after \
                 them were not read",
                thousands(MAX_RPM_ROWS)
            )));
        }
        match row.get::<_, Vec<u8>>(0).ok().and_then(|b| header(&b, path)) {
            Some(Some(package)) => out.push(package),
            Some(None) => {}
            None => bad += 1,
        }
    }
    if bad > 0 {
        return Ok(Err(format!("{bad} package header(s) could not be read")));
    }
    Ok(Ok(()))
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
