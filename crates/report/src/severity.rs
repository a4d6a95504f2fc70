//! One severity scale for every finding haechi reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How bad a finding is. Ordered: `Unknown < Info < Low < Medium < High < Critical`.
///
/// Checks, benchmark items and profile lints are rated from [`Severity::RATED`] (info to
/// critical); advisories from [`Severity::ADVISORY`], where `Unknown` means the advisory gives no
/// rating (as Trivy and Grype show it, it sorts lowest). Falco's rule priorities stay Falco's
/// (`haechi_rules::Priority`), mapped onto this scale only where a report needs one.
///
/// Its JSON form is the lowercase name; a report whose peers write upper case (the image
/// report, like Trivy's) says so with [`crate::json::upper`].
///
/// ```
/// use haechi_report::Severity;
/// assert!(Severity::High > Severity::Medium);
/// assert_eq!("MODERATE".parse::<Severity>(), Ok(Severity::Medium));
/// assert_eq!(Severity::Critical.to_string(), "critical");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The source gives no rating (an advisory without a score).
    Unknown,
    /// Worth knowing, not a weakness by itself.
    Info,
    /// A hardening gap.
    Low,
    /// A weakness an attacker can use after a first foothold.
    Medium,
    /// A weakness that gives an attacker more than the workload needs.
    High,
    /// A path to the node or the cluster.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 6] = [
        Severity::Unknown,
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The scale of checks, benchmark items and lints, lowest first.
    pub const RATED: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The scale of advisories and secrets, lowest first.
    pub const ADVISORY: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The upper-case name, as tables and Trivy-shaped JSON write it.
    pub fn as_upper(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The band of a CVSS base score (0 is `Unknown`).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// GitHub's `security-severity` for a finding rated only by name: critical ≥ 9.0,
    /// high ≥ 7.0, medium ≥ 4.0, low > 0.
    pub fn score(self) -> f64 {
        match self {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 3.0,
            Severity::Info | Severity::Unknown => 0.0,
        }
    }

    /// Parses a name and accepts it only on `scale`: `--fail-on info` means something for a
    /// manifest scan, not for an image scan.
    pub fn parse_among(text: &str, scale: &[Severity]) -> Result<Severity, String> {
        let expected = || {
            let names: Vec<&str> = scale.iter().map(|s| s.as_str()).collect();
            match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} or {last}", rest.join(", "))
                }
                _ => names.join(""),
            }
        };
        match text.parse::<Severity>() {
            Ok(severity) if scale.contains(&severity) => Ok(severity),
            _ => Err(format!(
                "unknown severity `{text}` (expected {})",
                expected()
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: tables align severities with `{:<6}`.
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    /// Any name of [`Severity::ALL`], in any case, and the vendors' words for the same bands:
    /// `moderate` (GitHub) is medium, `important` (Red Hat) is high.
    fn from_str(s: &str) -> Result<Severity, String> {
        match s.to_ascii_lowercase().as_str() {
            "moderate" => Ok(Severity::Medium),
            "important" => Ok(Severity::High),
            lower => Severity::ALL
                .into_iter()
                .find(|sev| sev.as_str() == lower)
                .ok_or_else(|| {
                    format!(
                        "unknown severity `{s}` (expected unknown, info, low, medium, high or critical)"
                    )
                }),
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse(), Ok(severity));
            assert_eq!(severity.as_upper().parse(), Ok(severity));
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{}\"", severity.as_str()));
            assert_eq!(serde_json::from_str::<Severity>(&json).unwrap(), severity);
        }
    }

    #[test]
    fn a_scale_limits_what_parses() {
        assert_eq!(
            Severity::parse_among("HIGH", &Severity::RATED),
            Ok(Severity::High)
        );
        assert_eq!(
            Severity::parse_among("unknown", &Severity::RATED),
            Err("unknown severity `unknown` (expected info, low, medium, high or critical)".into())
        );
        assert_eq!(
            Severity::parse_among("info", &Severity::ADVISORY),
            Err("unknown severity `info` (expected unknown, low, medium, high or critical)".into())
        );
    }

    #[test]
    fn scores_fall_into_bands() {
        assert_eq!(Severity::from_score(10.0), Severity::Critical);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(3.9), Severity::Low);
        assert_eq!(Severity::from_score(0.0), Severity::Unknown);
        for severity in Severity::RATED.into_iter().skip(1) {
            assert_eq!(Severity::from_score(severity.score()), severity);
        }
    }

    #[test]
    fn display_pads() {
        assert_eq!(format!("{:<6}|", Severity::Low), "low   |");
    }
}
