//! Maven's ordering, as `org.apache.maven.artifact.versioning.ComparableVersion` defines it:
//! items split at `.`, `-` and digit/letter changes (`-` and changes open a sub-list);
//! numbers beat qualifiers; qualifiers order `alpha` < `beta` < `milestone` < `rc` <
//! `snapshot` < release (``, `ga`, `final`) < `sp` < anything else (alphabetically);
//! trailing zeros and release qualifiers are dropped (`1.0` == `1`).

use std::cmp::Ordering;

use super::compare_digits;

#[derive(Debug)]
enum Item {
    Int(Vec<u8>),
    Str(String),
    List(Vec<Item>),
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(d) => d.is_empty(),
            Item::Str(s) => qualifier_key(s) == qualifier_key(""),
            Item::List(l) => l.is_empty(),
        }
    }
}

fn qualifier_key(q: &str) -> String {
    const ORDER: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
    let q = match q {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    match ORDER.iter().position(|o| *o == q) {
        Some(i) => i.to_string(),
        None => format!("7-{q}"),
    }
}

fn item(text: &str, digits: bool, followed_by_digit: bool) -> Item {
    if digits {
        let trimmed = text.trim_start_matches('0');
        return Item::Int(trimmed.as_bytes().to_vec());
    }
    let text = match (text, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        (t, _) => t,
    };
    Item::Str(text.to_string())
}

/// Drops trailing null items (`0`, release qualifiers, empty lists). A null item before a list
/// stays unless the list starts with a qualifier (Maven 3.9's rule: `1-0.1` keeps its `0`).
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            let removable = match list.get(i + 1) {
                None | Some(Item::Str(_)) => true,
                Some(Item::List(next)) => matches!(next.first(), Some(Item::Str(_))),
                Some(Item::Int(_)) => false,
            };
            if removable {
                list.remove(i);
            }
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

fn parse(version: &str) -> Vec<Item> {
    let v = version.trim().to_ascii_lowercase();
    let bytes = v.as_bytes();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut start = 0;
    let mut digits = false;
    let close = |stack: &mut Vec<Vec<Item>>| stack.push(Vec::new());
    for (i, &c) in bytes.iter().enumerate() {
        let list = stack.last_mut().expect("stack is never empty");
        if c == b'.' || c == b'-' {
            if i == start {
                list.push(Item::Int(Vec::new()));
            } else {
                list.push(item(&v[start..i], digits, false));
            }
            start = i + 1;
            if c == b'-' {
                close(&mut stack);
            }
        } else if c.is_ascii_digit() {
            if !digits && i > start {
                list.push(item(&v[start..i], false, true));
                start = i;
                close(&mut stack);
            }
            digits = true;
        } else {
            if digits && i > start {
                list.push(item(&v[start..i], true, false));
                start = i;
                close(&mut stack);
            }
            digits = false;
        }
    }
    if bytes.len() > start {
        let list = stack.last_mut().expect("stack is never empty");
        list.push(item(&v[start..], digits, false));
    }
    while stack.len() > 1 {
        let mut child = stack.pop().expect("checked length");
        normalize(&mut child);
        stack
            .last_mut()
            .expect("checked length")
            .push(Item::List(child));
    }
    let mut top = stack.pop().unwrap_or_default();
    normalize(&mut top);
    top
}

fn cmp_item(a: Option<&Item>, b: Option<&Item>) -> Ordering {
    use Item::*;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (Some(x), None) => cmp_null(x),
        (None, Some(y)) => cmp_null(y).reverse(),
        (Some(Int(x)), Some(Int(y))) => compare_digits(x, y),
        (Some(Int(_)), Some(_)) => Ordering::Greater,
        (Some(Str(_)), Some(Int(_))) => Ordering::Less,
        (Some(Str(x)), Some(Str(y))) => qualifier_key(x).cmp(&qualifier_key(y)),
        (Some(Str(_)), Some(List(_))) => Ordering::Less,
        (Some(List(_)), Some(Int(_))) => Ordering::Less,
        (Some(List(_)), Some(Str(_))) => Ordering::Greater,
        (Some(List(x)), Some(List(y))) => cmp_lists(x, y),
    }
}

fn cmp_null(item: &Item) -> Ordering {
    match item {
        Item::Int(d) => {
            if d.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        Item::Str(s) => qualifier_key(s).cmp(&qualifier_key("")),
        Item::List(l) => l.first().map_or(Ordering::Equal, cmp_null),
    }
}

fn cmp_lists(x: &[Item], y: &[Item]) -> Ordering {
    for i in 0..x.len().max(y.len()) {
        let ord = cmp_item(x.get(i), y.get(i));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    cmp_lists(&parse(a), &parse(b))
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn maven_orderings() {
        // Orderings from Maven's ComparableVersionTest.
        let increasing = [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
            "1.1",
            "1.2",
            "1.123",
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
        let equal = [
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1-0"),
            ("1a", "1-a"),
            ("1-ga", "1"),
            ("1-final", "1"),
            ("1cr", "1rc"),
            ("1a1", "1-alpha-1"),
            ("1.0.0-RELEASE", "1"),
        ];
        for (a, b) in equal {
            assert_eq!(compare(a, b), Equal, "{a} == {b}");
        }
        assert_eq!(compare("2.14.1", "2.15.0"), Less);
        assert_eq!(compare("2.15.0-rc1", "2.15.0"), Less);
        assert_eq!(compare("2.3.1", "2.3.0"), Greater);
        assert_eq!(compare("2.12.2", "2.13.0"), Less);
    }
}
