//! OS detection from `/etc/os-release` (or `/usr/lib/os-release`, where `/etc/os-release`
//! usually points).

use serde::Serialize;

/// The distribution an image is built on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    /// `ID`: debian, ubuntu, alpine, rhel, rocky, almalinux, ...
    pub family: String,
    /// `VERSION_ID`: 12, 22.04, 3.20.3, ...
    pub version: String,
    /// `PRETTY_NAME`.
    pub name: String,
}

pub(super) fn wants(path: &str) -> bool {
    path == "etc/os-release" || path == "usr/lib/os-release"
}

pub(super) fn parse(data: &[u8]) -> Option<OsInfo> {
    let text = String::from_utf8_lossy(data);
    let mut info = OsInfo {
        family: String::new(),
        version: String::new(),
        name: String::new(),
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']).to_string();
        match key.trim() {
            "ID" => info.family = value.to_ascii_lowercase(),
            "VERSION_ID" => info.version = value,
            "PRETTY_NAME" => info.name = value,
            _ => {}
        }
    }
    (!info.family.is_empty()).then_some(info)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_debian_and_alpine() {
        let deb = super::parse(
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        )
        .unwrap();
        assert_eq!(
            (deb.family.as_str(), deb.version.as_str()),
            ("debian", "12")
        );
        let alpine =
            super::parse(b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n").unwrap();
        assert_eq!(alpine.version, "3.20.3");
        assert!(super::parse(b"garbage").is_none());
    }
}
