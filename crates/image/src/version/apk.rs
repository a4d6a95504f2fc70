//! apk's ordering (apk-tools `version.c`): dotted numbers, an optional letter, `_suffix[N]`
//! parts (`_alpha` < `_beta` < `_pre` < `_rc` < none < `_cvs` < `_svn` < `_git` < `_hg` <
//! `_p`), then the package revision `-rN`.

use std::cmp::Ordering;

use super::compare_digits;

#[derive(Debug, Default)]
struct Parsed<'a> {
    numbers: Vec<&'a [u8]>,
    letter: Option<u8>,
    suffixes: Vec<(i32, &'a [u8])>,
    revision: &'a [u8],
}

fn suffix_rank(name: &str) -> i32 {
    match name {
        "alpha" => -4,
        "beta" => -3,
        "pre" => -2,
        "rc" => -1,
        "cvs" => 1,
        "svn" => 2,
        "git" => 3,
        "hg" => 4,
        "p" => 5,
        _ => 6,
    }
}

fn parse(v: &str) -> Parsed<'_> {
    let v = v.trim();
    let (main, revision) = match v.rsplit_once("-r") {
        Some((m, r)) if !r.is_empty() && r.bytes().all(|c| c.is_ascii_digit()) => (m, r),
        _ => (v, ""),
    };
    let main = main.split_once('~').map_or(main, |(m, _)| m);
    let mut parts = main.split('_');
    let head = parts.next().unwrap_or("");
    let mut parsed = Parsed {
        revision: revision.as_bytes(),
        ..Parsed::default()
    };
    let head_bytes = head.as_bytes();
    let mut rest = head_bytes;
    loop {
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            break;
        }
        parsed.numbers.push(&rest[..n]);
        rest = &rest[n..];
        if rest.first() == Some(&b'.') {
            rest = &rest[1..];
        } else {
            break;
        }
    }
    if let Some(&c) = rest.first()
        && c.is_ascii_alphabetic()
    {
        parsed.letter = Some(c);
    }
    for part in parts {
        let split = part
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(part.len());
        parsed
            .suffixes
            .push((suffix_rank(&part[..split]), &part.as_bytes()[split..]));
    }
    parsed
}

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse(a), parse(b));
    for i in 0..x.numbers.len().max(y.numbers.len()) {
        match (x.numbers.get(i), y.numbers.get(i)) {
            (Some(p), Some(q)) => {
                let ord = compare_digits(p, q);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => {}
        }
    }
    let ord = x.letter.cmp(&y.letter);
    if ord != Ordering::Equal {
        return ord;
    }
    for i in 0..x.suffixes.len().max(y.suffixes.len()) {
        let none = (0, &b""[..]);
        let (p, q) = (
            x.suffixes.get(i).copied().unwrap_or(none),
            y.suffixes.get(i).copied().unwrap_or(none),
        );
        let ord = p.0.cmp(&q.0).then_with(|| compare_digits(p.1, q.1));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    compare_digits(x.revision, y.revision)
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn apk_orderings() {
        let cases = [
            ("1.2.3-r0", "1.2.3-r1", Less),
            ("1.2.3-r10", "1.2.3-r9", Greater),
            ("1.2.3", "1.2.3-r0", Equal),
            ("1.2.3_rc1", "1.2.3", Less),
            ("1.2.3_alpha", "1.2.3_beta", Less),
            ("1.2.3_p1", "1.2.3", Greater),
            ("1.2.3a", "1.2.3", Greater),
            ("1.2.3a", "1.2.3b", Less),
            ("1.10", "1.9", Greater),
            ("1.2", "1.2.1", Less),
            ("3.0.15-r0", "3.1.0-r0", Less),
            ("2.40.1-r0", "2.40.1-r1", Less),
            ("1.2.3_git20230101", "1.2.3", Greater),
            ("1.2.3_rc1", "1.2.3_rc2", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
