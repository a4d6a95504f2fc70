//! dpkg's ordering (deb-version(7)): epoch, then upstream version and revision, each compared
//! by alternating non-digit runs (letters before other characters, `~` before everything,
//! even the end) and numeric runs.

use std::cmp::Ordering;

use super::compare_digits;

fn split(v: &str) -> (&str, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e, r),
        _ => ("0", v),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, upstream, revision)
}

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    compare_digits(ea.as_bytes(), eb.as_bytes())
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
}

fn order(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(c) => i32::from(*c) + 256,
    }
}

fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (x, y) = (order(a.first()), order(b.first()));
            if x != y {
                return x.cmp(&y);
            }
            a = &a[1.min(a.len())..];
            b = &b[1.min(b.len())..];
        }
        let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let ord = compare_digits(&a[..na], &b[..nb]);
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn dpkg_test_suite_cases() {
        // Cases from dpkg's lib/dpkg/t/t-version.c and the Debian policy manual.
        let cases = [
            ("1.0", "1.0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1:1.0", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0+", Less),
            ("1.0-1", "1.0-1~bpo1", Greater),
            ("2.30-1", "2.4-1", Greater),
            ("1.0.0", "1.0", Greater),
            ("3.0.11-1~deb12u2", "3.0.11-1~deb12u3", Less),
            ("3.0.11-1~deb12u2", "3.0.11-1", Less),
            ("1.2.3-0ubuntu1", "1.2.3-0ubuntu1.1", Less),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u8", Less),
            ("000123", "123", Equal),
            ("1.0-0", "1.0", Equal),
            (
                "99999999999999999999999",
                "99999999999999999999998",
                Greater,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
