//! rpm's ordering: `rpmvercmp` (alphanumeric segments; digits beat letters; `~` sorts before
//! everything, `^` after the end but before anything else) applied to epoch, version and
//! release of `[EPOCH:]VERSION[-RELEASE]`. A missing release compares as empty (rpm itself
//! skips it, which is not transitive; advisories and databases always carry one).

use std::cmp::Ordering;

use super::compare_digits;

pub(super) fn compare_evr(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    compare_digits(ea.as_bytes(), eb.as_bytes())
        .then_with(|| rpmvercmp(va, vb))
        .then_with(|| rpmvercmp(ra, rb))
}

fn split(v: &str) -> (&str, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e, r),
        _ => ("0", v),
    };
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, version, release)
}

/// rpm's `rpmvercmp` from `rpmio/rpmvercmp.c`.
pub(super) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    let sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        while x.first().is_some_and(sep) {
            x = &x[1..];
        }
        while y.first().is_some_and(sep) {
            y = &y[1..];
        }
        // Tilde: older than anything, even the end of the other string.
        match (x.first() == Some(&b'~'), y.first() == Some(&b'~')) {
            (true, true) => {
                x = &x[1..];
                y = &y[1..];
                continue;
            }
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        // Caret: newer than the end of the other string, older than any other segment.
        match (x.first() == Some(&b'^'), y.first() == Some(&b'^')) {
            (true, true) => {
                x = &x[1..];
                y = &y[1..];
                continue;
            }
            (true, false) => {
                return if y.is_empty() {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if x.is_empty() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {}
        }
        if x.is_empty() || y.is_empty() {
            break;
        }
        let numeric = x[0].is_ascii_digit();
        let run = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (nx, ny) = (run(x), run(y));
        if ny == 0 {
            // Segments of different types: numeric is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
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
    match (x.is_empty(), y.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn rpmvercmp_cases() {
        // From rpm's tests/rpmvercmp.at.
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("1b.fc17", "1.fc17", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0^git1", "1.0^git2", Less),
            ("2a", "2.0", Less),
            ("1.0a", "1.0aa", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
        assert_eq!(compare_evr("1:1.0-1.el9", "2.0-1.el9"), Greater);
        assert_eq!(compare_evr("3.0.7-24.el9", "3.0.7-25.el9"), Less);
    }
}
