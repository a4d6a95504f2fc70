//! PEP 440 ordering: epoch, release (trailing zeros ignored), pre-release, post-release,
//! development release and local label, with the spec's normalisations (`alpha` = `a`,
//! `c`/`pre`/`preview` = `rc`, `rev`/`r`/`-N` = post). A string that is not PEP 440 sorts
//! before every valid version.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?:(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
        (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$",
    )
    .expect("valid PEP 440 pattern")
});

/// Optional parts order with a sentinel below or above every value.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    Min,
    Value(T),
    Max,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Text(String),
    Number(u64),
}

type Key = (
    u64,
    Vec<u64>,
    Bound<(u8, u64)>,
    Bound<u64>,
    Bound<u64>,
    Bound<Vec<LocalPart>>,
);

fn key(v: &str) -> Option<Key> {
    let caps = PATTERN.captures(v)?;
    let num = |name: &str| {
        caps.name(name)
            .map(|m| m.as_str().parse::<u64>().unwrap_or(u64::MAX))
    };
    let epoch = num("epoch").unwrap_or(0);
    let mut release: Vec<u64> = caps["release"]
        .split('.')
        .map(|p| p.parse().unwrap_or(u64::MAX))
        .collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let pre = caps.name("pre_l").map(|l| {
        let rank = match l.as_str().to_ascii_lowercase().as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2,
        };
        (rank, num("pre_n").unwrap_or(0))
    });
    let post = num("post_n1").or_else(|| caps.name("post_l").map(|_| num("post_n2").unwrap_or(0)));
    let dev = caps.name("dev_l").map(|_| num("dev_n").unwrap_or(0));
    let pre_key = match (pre, post, dev) {
        // 1.0.dev1 sorts before 1.0a1.
        (None, None, Some(_)) => Bound::Min,
        (None, _, _) => Bound::Max,
        (Some(p), _, _) => Bound::Value(p),
    };
    let post_key = post.map_or(Bound::Min, Bound::Value);
    let dev_key = dev.map_or(Bound::Max, Bound::Value);
    let local_key = caps.name("local").map_or(Bound::Min, |l| {
        Bound::Value(
            l.as_str()
                .split(['-', '_', '.'])
                .map(|p| match p.parse::<u64>() {
                    Ok(n) => LocalPart::Number(n),
                    Err(_) => LocalPart::Text(p.to_ascii_lowercase()),
                })
                .collect(),
        )
    });
    Some((epoch, release, pre_key, post_key, dev_key, local_key))
}

/// Strings that are not PEP 440 sort before every valid version (as `packaging`'s
/// LegacyVersion did), and among themselves by the generic ordering; that keeps the order total.
pub(super) fn compare(a: &str, b: &str) -> Ordering {
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => super::generic(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn pep440_orderings() {
        // The ordering example of PEP 440's "Summary of permitted suffixes and relative ordering".
        let increasing = [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "1!0.1",
        ];
        for pair in increasing.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
            assert_eq!(
                compare(pair[1], pair[0]),
                Greater,
                "{} > {}",
                pair[1],
                pair[0]
            );
        }
        assert_eq!(compare("1.0", "1.0.0"), Equal);
        assert_eq!(compare("1.0-1", "1.0.post1"), Equal);
        assert_eq!(compare("1.0alpha1", "1.0a1"), Equal);
        assert_eq!(compare("2.11.2", "2.11.3"), Less);
    }
}
