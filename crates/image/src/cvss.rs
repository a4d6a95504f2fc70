//! CVSS base scores from the vector strings advisories carry, by RustSec's `cvss` crate (v3.0,
//! v3.1 and v4.0, the specifications' formulas and rounding), so a severity follows from the
//! vector without a second database. A vector is scored only when it is complete and valid:
//! one that does not parse, gives a value the specification does not have, names a metric
//! twice or leaves a base metric out is refused with the reason, never scored.

use cvss::Cvss;

/// The base metrics a CVSS v3 vector must give.
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
/// The base metrics a CVSS v4 vector must give.
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// The base score of a `CVSS:3.x/...` or `CVSS:4.0/...` vector, or why it is refused.
pub fn score(vector: &str) -> Result<f64, String> {
    let parsed: Cvss = vector.parse().map_err(|e: cvss::Error| e.to_string())?;
    let required: &[&str] = match parsed {
        Cvss::CvssV30(_) | Cvss::CvssV31(_) => &V3_BASE,
        Cvss::CvssV40(_) => &V4_BASE,
        _ => return Err("not a CVSS v3 or v4 vector".into()),
    };
    let given: Vec<&str> = parsed.metrics().map(|(m, _)| m.name()).collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|m| !given.contains(m))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing base metric{} {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ));
    }
    Ok(parsed.score())
}

/// The base score of a complete, valid CVSS v3 vector; `None` otherwise.
pub fn base_score(vector: &str) -> Option<f64> {
    vector
        .starts_with("CVSS:3")
        .then(|| score(vector).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::{base_score, score};

    #[test]
    fn known_scores() {
        // Scores published by NVD for these vectors.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0), // CVE-2021-44228
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
        ];
        for (vector, expected) in cases {
            assert_eq!(score(vector), Ok(expected), "{vector}");
        }
        assert_eq!(base_score("CVSS:3.1/AV:N"), None);
        assert_eq!(base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
    }

    #[test]
    fn malformed_vectors_are_refused() {
        for (vector, why) in [
            (
                "CVSS:3.1/AV:P/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "duplicate",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Z",
                "invalid",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                "missing base metric",
            ),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H", "invalid"),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H",
                "missing",
            ),
            ("CVSS:9.9/AV:N", "unsupported"),
        ] {
            let e = score(vector).unwrap_err();
            assert!(e.to_lowercase().contains(why), "{vector}: {e}");
        }
    }
}
