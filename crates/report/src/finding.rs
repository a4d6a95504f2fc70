//! The report model every format reads: rules (what is checked), findings (what was found),
//! problems (what could not be checked).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::location::Location;
use crate::severity::Severity;

/// A published guideline a check implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Short name: `PSS`, `NSA/CISA`, `CIS 5.2.2`, `MITRE T1611`, …
    pub name: &'static str,
    /// Where to read it.
    pub url: &'static str,
}

/// How loudly a finding is reported: SARIF's result level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Must be fixed.
    Error,
    /// Should be fixed.
    Warning,
    /// Worth a look.
    Note,
}

impl Level {
    /// The level of a finding of `severity`: critical and high are errors, medium a warning,
    /// the rest notes.
    pub fn of(severity: Severity) -> Level {
        match severity {
            Severity::Critical | Severity::High => Level::Error,
            Severity::Medium => Level::Warning,
            Severity::Low | Severity::Info | Severity::Unknown => Level::Note,
        }
    }
}

/// What a check, benchmark item, advisory or lint is: the same for every finding it raises (a
/// SARIF rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable identifier.
    pub id: String,
    /// SARIF's `name`.
    pub name: String,
    /// One line: what is wrong.
    pub title: String,
    /// Why it matters, when there is more to say than the title.
    pub description: Option<String>,
    /// Help as plain text.
    pub help: String,
    /// Help as Markdown, when it has links worth keeping.
    pub help_markdown: Option<String>,
    /// Where to read more.
    pub help_uri: Option<String>,
    /// Its rating.
    pub severity: Severity,
    /// A CVSS base score, when the rule has one; else the score of [`Rule::severity`].
    pub score: Option<f64>,
    /// Tags (`security`, `kubernetes`, `pss-baseline`, …).
    pub tags: Vec<String>,
}

impl Rule {
    /// A check's rule: the title as name, the description, help with the remediation and the
    /// references as Markdown links, the first reference as help URI.
    pub fn check(
        id: &str,
        title: &str,
        severity: Severity,
        description: &str,
        remediation: &str,
        references: &[Reference],
        tags: Vec<String>,
    ) -> Rule {
        let links: Vec<String> = references
            .iter()
            .map(|r| format!("- [{}]({})", r.name, r.url))
            .collect();
        Rule {
            id: id.to_string(),
            name: title.to_string(),
            title: title.to_string(),
            description: Some(description.to_string()),
            help: format!("{description}\n\nRemediation: {remediation}"),
            help_markdown: Some(format!(
                "{description}\n\n**Remediation:** {remediation}\n\n**References:**\n{}",
                links.join("\n")
            )),
            help_uri: references.first().map(|r| r.url.to_string()),
            severity,
            score: None,
            tags,
        }
    }
}

/// One thing found, located, with what identifies it across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The [`Rule::id`] it breaks.
    pub rule: String,
    /// How loudly to report it.
    pub level: Level,
    /// What is wrong here.
    pub message: String,
    /// Where, when it is in a file.
    pub location: Option<Location>,
    /// What the finding is about besides its rule, file and field path, in words that do not
    /// change when lines move: an object (`Deployment prod/web`), a package, an endpoint. It
    /// goes into the fingerprint.
    pub subject: String,
    /// Why it is not counted, when an exemption covers it.
    pub suppressed: Option<String>,
    /// Extra properties (SARIF's property bag).
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl Finding {
    /// A finding of `rule` at the level of `severity`.
    pub fn new(rule: impl Into<String>, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.into(),
            level: Level::of(severity),
            message: message.into(),
            location: None,
            subject: String::new(),
            suppressed: None,
            properties: BTreeMap::new(),
        }
    }

    /// Located at `location`.
    pub fn at(mut self, location: Location) -> Finding {
        self.location = Some(location);
        self
    }

    /// About `subject` (see [`Finding::subject`]).
    pub fn about(mut self, subject: impl Into<String>) -> Finding {
        self.subject = subject.into();
        self
    }

    /// With the property `key`.
    pub fn property(mut self, key: &str, value: serde_json::Value) -> Finding {
        self.properties.insert(key.to_string(), value);
        self
    }

    /// A fingerprint that stays the same while the finding does: a hash of the rule, the file's
    /// URI, the field path and the subject — never of a line or column, so an edit above the
    /// finding does not make it a new one. `uri` is the file as the log names it.
    pub fn fingerprint(&self, uri: &str) -> String {
        let path = self
            .location
            .as_ref()
            .and_then(|l| l.path.as_deref())
            .unwrap_or("");
        let mut hash = Fnv128::new();
        for part in [self.rule.as_str(), uri, path, self.subject.as_str()] {
            hash.write(part.as_bytes());
            hash.write(&[0]);
        }
        format!("{:032x}", hash.0)
    }
}

/// Something that could not be checked: a file that does not parse, an endpoint that did not
/// answer. Every format carries it; a fatal one means the run did not check what it was asked
/// to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// Whether the input could not be read at all (a missing path, no permission): the run
    /// then failed. Unparseable documents and skipped files are not fatal.
    #[serde(skip)]
    pub fatal: bool,
}

impl Problem {
    /// A problem with no position: `text` says it all (`file: what`).
    pub fn text(text: impl Into<String>, fatal: bool) -> Problem {
        Problem {
            file: String::new(),
            line: None,
            column: None,
            message: text.into(),
            fatal,
        }
    }

    /// Where it is, when it names a file.
    pub fn location(&self) -> Option<Location> {
        (!self.file.is_empty()).then(|| Location {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            path: None,
        })
    }

    /// `file:line:column: message`, as much of it as is known.
    pub fn describe(&self) -> String {
        match (self.file.as_str(), self.line, self.column) {
            ("", ..) => self.message.clone(),
            (file, Some(line), Some(column)) => {
                format!("{file}:{line}:{column}: {}", self.message)
            }
            (file, ..) => format!("{file}: {}", self.message),
        }
    }
}

/// FNV-1a, 128 bits: stable across platforms and Rust versions, unlike `std`'s hasher.
struct Fnv128(u128);

impl Fnv128 {
    fn new() -> Fnv128 {
        Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u128::from(*byte);
            self.0 = self
                .0
                .wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_value() {
        // FNV-1a 128 of the empty string is its offset basis; of "a", the published value.
        let mut hash = Fnv128::new();
        hash.write(b"a");
        assert_eq!(hash.0, 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn a_problem_describes_itself() {
        let mut problem = Problem {
            file: "a.yaml".into(),
            line: Some(2),
            column: Some(3),
            message: "bad".into(),
            fatal: false,
        };
        assert_eq!(problem.describe(), "a.yaml:2:3: bad");
        problem.column = None;
        assert_eq!(problem.describe(), "a.yaml: bad");
        assert_eq!(Problem::text("x: gone", true).describe(), "x: gone");
    }
}
