//! Version comparison, one scheme per ecosystem: dpkg (Debian, Ubuntu), apk (Alpine), rpm
//! (RHEL family), Maven, PEP 440 (PyPI) and semver (npm, Go, crates.io). Each comparator is
//! total: a malformed version still orders (by the scheme's own fallback rules) instead of
//! failing, because one odd version string must not abort a scan.

mod apk;
mod dpkg;
mod maven;
mod pep440;
mod rpm;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A version ordering scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Debian's dpkg ordering (epochs, `~`).
    Dpkg,
    /// Alpine's apk ordering.
    Apk,
    /// rpm's `rpmvercmp` with epoch and release.
    Rpm,
    /// Maven's ComparableVersion ordering.
    Maven,
    /// Python's PEP 440.
    Pep440,
    /// Semantic Versioning 2.0 (a leading `v` is ignored; build metadata does not order).
    Semver,
}

impl Scheme {
    /// The scheme an OSV ecosystem uses (`Debian:12` → dpkg); `None` for ecosystems not known.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia" => Scheme::Rpm,
            "Maven" => Scheme::Maven,
            "PyPI" => Scheme::Pep440,
            "npm" | "Go" | "crates.io" => Scheme::Semver,
            _ => return None,
        })
    }

    /// Orders two versions.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Rpm => rpm::compare_evr(a, b),
            Scheme::Maven => maven::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Semver => compare_semver(a, b),
        }
    }
}

fn compare_semver(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| {
        let v = v.trim().trim_start_matches('v');
        let v = v.split_once('+').map_or(v, |(core, _)| core);
        semver::Version::parse(v).ok()
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => generic(a, b),
    }
}

/// Segment-wise ordering for versions a scheme cannot parse: runs of digits compare as
/// numbers, everything else as text.
pub(crate) fn generic(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let digits = x[0].is_ascii_digit();
        let take = |s: &[u8]| {
            s.iter()
                .take_while(|c| c.is_ascii_digit() == digits)
                .count()
        };
        let (nx, ny) = (take(x), take(y));
        if y[0].is_ascii_digit() != digits {
            return if digits {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if digits {
            compare_digits(&x[..nx], &y[..ny])
        } else {
            x[..nx].cmp(&y[..ny])
        };
        if ord != Ordering::Equal {
            return ord;
        }
        x = &x[nx..];
        y = &y[ny..];
    }
}

/// Compares two runs of ASCII digits as numbers of any length.
pub(crate) fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_ignores_v_and_build() {
        assert_eq!(
            Scheme::Semver.compare("v1.2.3", "1.2.3+incompatible"),
            Ordering::Equal
        );
        assert_eq!(
            Scheme::Semver.compare("1.2.3-rc.1", "1.2.3"),
            Ordering::Less
        );
        assert_eq!(
            Scheme::Semver.compare("0.0.0-20210101000000-abcdef", "0.1.0"),
            Ordering::Less
        );
        assert_eq!(Scheme::Semver.compare("1.10", "1.9"), Ordering::Greater);
    }

    #[test]
    fn ecosystems() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(Scheme::for_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::for_ecosystem("Hex"), None);
    }
}
