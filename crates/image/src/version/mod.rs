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

/// Semver, with `1` and `1.2` read as `1.0.0` and `1.2.0`; strings that still do not parse
/// sort before every valid version (and among themselves generically), so the order is total.
fn compare_semver(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| {
        let v = v.trim().trim_start_matches('v');
        let v = v.split_once('+').map_or(v, |(core, _)| core);
        semver::Version::parse(v).ok().or_else(|| {
            let parts = v.split('.').count();
            let numeric = !v.is_empty()
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
            (numeric && parts < 3)
                .then(|| semver::Version::parse(&format!("{v}{}", ".0".repeat(3 - parts))).ok())
                .flatten()
        })
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => generic(a, b),
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
    use proptest::prelude::*;

    const SCHEMES: [Scheme; 6] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Maven,
        Scheme::Pep440,
        Scheme::Semver,
    ];

    const VERSION: &str = "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}([-._~]?(alpha|beta|rc|a|b|p|sp|SNAPSHOT|dev|post)[0-9]?)?(-r?[0-9])?";

    proptest! {
        /// Every comparator is an order: reflexive and antisymmetric on any input, including
        /// malformed versions.
        #[test]
        fn comparators_are_orders(a in "[0-9a-z.~^+:_-]{0,12}", b in "[0-9a-z.~^+:_-]{0,12}") {
            for scheme in SCHEMES {
                prop_assert_eq!(scheme.compare(&a, &a), Ordering::Equal, "{:?} {}", scheme, a);
                prop_assert_eq!(scheme.compare(&a, &b), scheme.compare(&b, &a).reverse(), "{:?} {} {}", scheme, a, b);
            }
        }

        /// And transitive (a <= b and b <= c give a <= c) on versions shaped like real ones.
        /// (Maven's own ordering is not transitive on odd strings such as `0.a0`, `0`, `0a`.)
        #[test]
        fn comparators_are_transitive(a in VERSION, b in VERSION, c in VERSION) {
            for scheme in SCHEMES {
                if scheme.compare(&a, &b).is_le() && scheme.compare(&b, &c).is_le() {
                    prop_assert!(scheme.compare(&a, &c).is_le(), "{:?} {} {} {}", scheme, a, b, c);
                }
            }
        }
    }

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
