//! Go binaries: the build information the Go linker embeds (`.go.buildinfo`, Go 1.18 and
//! later inline format): the toolchain version, reported as the `stdlib` module (`v1.22.1`), and every
//! module dependency with `=>` replacements applied. Binaries from older toolchains store
//! pointers instead of strings and are skipped.

use memchr::memmem;

use super::{Package, PackageKind};

const MAGIC: &[u8] = b"\xff Go buildinf:";

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    let section = object::File::parse(data).ok().and_then(|file| {
        use object::{Object, ObjectSection};
        file.section_by_name(".go.buildinfo")
            .and_then(|s| s.data().ok())
            .map(<[u8]>::to_vec)
    });
    let blob: &[u8] = match &section {
        Some(s) => s,
        // Stripped section headers: the blob is still there, 16-byte aligned.
        None => match memmem::find_iter(data, MAGIC).find(|&at| at % 16 == 0) {
            Some(at) => &data[at..],
            None => return Ok(()),
        },
    };
    if !blob.starts_with(MAGIC) || blob.len() < 32 || blob[15] & 2 == 0 {
        return Ok(());
    }
    let mut rest = &blob[32..];
    let version = read_string(&mut rest).ok_or("truncated Go build info (version)")?;
    let modinfo = read_string(&mut rest).ok_or("truncated Go build info (modules)")?;
    let version = String::from_utf8_lossy(version);
    let toolchain = version.split_whitespace().next().unwrap_or("");
    if let Some(v) = toolchain.strip_prefix("go") {
        out.push(Package::new(
            PackageKind::Go,
            "stdlib",
            &format!("v{v}"),
            path,
        ));
    }
    // The module text is framed by 16-byte sentinels.
    let modinfo = if modinfo.len() >= 33 {
        &modinfo[16..modinfo.len() - 16]
    } else {
        modinfo
    };
    let text = String::from_utf8_lossy(modinfo);
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", module, version, ..] if *version != "(devel)" => {
                out.push(Package::new(PackageKind::Go, module, version, path));
            }
            ["=>", module, version, ..] => {
                if let Some(last) = out.last_mut().filter(|p| p.name != "stdlib") {
                    last.name = module.to_string();
                    last.version = version.to_string();
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A uvarint-length-prefixed string.
fn read_string<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    if len > input.len() {
        return None;
    }
    let (s, rest) = input.split_at(len);
    *input = rest;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8, 2]);
        b.resize(32, 0);
        b.push(version.len() as u8);
        b.extend(version.as_bytes());
        let framed = format!("0123456789abcdef{modinfo}0123456789abcdef");
        b.push((framed.len() & 0x7f | 0x80) as u8);
        b.push((framed.len() >> 7) as u8);
        b.extend(framed.as_bytes());
        let mut file = vec![0u8; 64];
        file.extend(b);
        file
    }

    #[test]
    fn reads_modules_and_replacements() {
        let data = blob(
            "go1.21.5 X:nocoverageredesign",
            "path\texample.com/cmd\nmod\texample.com/cmd\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:x=\ndep\tgithub.com/a/b\tv1.0.0\th1:y=\n=>\tgithub.com/fork/b\tv1.0.1\th1:z=\n",
        );
        let mut out = Vec::new();
        parse("app", &data, &mut out).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            got,
            [
                "stdlib@v1.21.5",
                "golang.org/x/net@v0.17.0",
                "github.com/fork/b@v1.0.1"
            ]
        );
    }

    #[test]
    fn truncated_info_is_an_error() {
        let mut data = blob("go1.22.1", "dep\tx\tv1.0.0\n");
        data.truncate(data.len() - 20);
        assert!(parse("app", &data, &mut Vec::new()).is_err());
    }
}
