//! What a check is: its metadata, and the function that finds violations.

use std::fmt;
use std::str::FromStr;

use haechi_manifest::Pos;
use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::fix::Fix;
use crate::object::Object;
use crate::options::Options;
use crate::path::FieldPath;

/// How bad a finding is. Ordered: `Info < Low < … < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
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
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}` (expected info, low, medium, high or critical)")
            })
    }
}

/// A level of the Pod Security Standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PssLevel {
    /// Unrestricted.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practice.
    Restricted,
}

impl PssLevel {
    /// The lowercase name, as Pod Security Admission labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<PssLevel, String> {
        match s {
            "privileged" => Ok(PssLevel::Privileged),
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown Pod Security level `{s}` (expected privileged, baseline or restricted)"
            )),
        }
    }
}

/// A version of the Pod Security Standards, as Pod Security Admission's `-version` labels name
/// them: `v1.N` or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PssVersion {
    minor: u16,
}

impl PssVersion {
    /// The newest version haechi implements; `latest` means this.
    pub const LATEST: PssVersion = PssVersion { minor: 37 };

    /// Version `v1.minor`.
    pub const fn v1(minor: u16) -> PssVersion {
        PssVersion { minor }
    }

    /// The minor version: 0 for v1.0.
    pub fn minor(self) -> u16 {
        self.minor
    }

    /// Whether this version is `v1.minor` or newer.
    pub fn at_least(self, minor: u16) -> bool {
        self.minor >= minor
    }
}

impl Default for PssVersion {
    fn default() -> PssVersion {
        PssVersion::LATEST
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

impl FromStr for PssVersion {
    type Err = String;
    /// Parses `latest`, `v1.N` or `1.N`. Versions newer than haechi knows evaluate as
    /// [`PssVersion::LATEST`], as Pod Security Admission does.
    fn from_str(s: &str) -> Result<PssVersion, String> {
        if s == "latest" {
            return Ok(PssVersion::LATEST);
        }
        let minor = s
            .strip_prefix('v')
            .unwrap_or(s)
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("invalid Pod Security version `{s}` (expected `latest` or `v1.N`)")
            })?;
        Ok(PssVersion::v1(minor.min(PssVersion::LATEST.minor)))
    }
}

/// A published guideline a check implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Short name: `PSS`, `NSA/CISA`, `CIS 5.2.2`, `MITRE T1611`, …
    pub name: &'static str,
    /// Where to read it.
    pub url: &'static str,
}

/// What describes a check; the same for every finding it raises.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// Stable identifier, used in configuration, annotations and reports.
    pub id: &'static str,
    /// One line: what is wrong.
    pub title: &'static str,
    /// Default severity (a configuration may override it).
    pub severity: Severity,
    /// The Pod Security Standards level this control belongs to, when it is one.
    pub pss: Option<PssLevel>,
    /// Why it matters, in a few sentences.
    pub description: &'static str,
    /// What to do.
    pub remediation: &'static str,
    /// Where the control is defined.
    pub references: &'static [Reference],
}

/// One place where an object breaks a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The offending field (or where it must be added).
    pub path: FieldPath,
    /// The source position of the field, or of its closest present ancestor.
    pub pos: Pos,
    /// What is wrong here, naming the value.
    pub message: String,
    /// A JSON Patch that makes this violation go away, when one is safe to suggest.
    pub fix: Option<Fix>,
}

/// A violation of a check that looks across objects, attached to one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SetViolation {
    /// Number of the object the finding is reported on (its place in the scan, from 0).
    pub object: usize,
    /// The violation.
    pub violation: Violation,
}

/// What another object of the scan must say for a violation to stand. Checks that look past
/// their object say so with a condition instead of reading the other objects, which may come
/// later in the input: the engine decides once every object is seen, from the [`Facts`] it
/// kept of each, so no object's tree has to be kept until then.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Stands unless the ServiceAccount `account` (looked up in `namespace`, then among
    /// ServiceAccounts without a namespace) sets `automountServiceAccountToken: false`.
    TokenNotRefused {
        /// The pod's namespace, when set.
        namespace: Option<String>,
        /// The ServiceAccount's name.
        account: String,
    },
    /// Stands when the Namespace `namespace` of the scan carries an untrusted label.
    NamespaceUntrusted {
        /// The namespace.
        namespace: String,
    },
    /// Stands when the ClusterRole `name` grants writing workloads; `message` then says what
    /// it grants (the resources, comma-separated).
    ClusterRoleWritesWorkloads {
        /// The ClusterRole.
        name: String,
        /// The violation's message, given the resources.
        message: fn(&str, &str) -> String,
    },
}

/// A violation that may depend on other objects.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The violation as it stands when the condition holds.
    pub violation: Violation,
    /// `None`: it stands whatever the other objects say.
    pub condition: Option<Condition>,
}

/// How a check runs.
#[derive(Clone, Copy)]
pub enum Rule {
    /// Looks at one object at a time.
    Object(fn(&Context<'_>, &mut Vec<Violation>)),
    /// Looks at one object, but whether a violation stands may depend on other objects (its
    /// ServiceAccount, Namespace, ClusterRole): decided when every object has been seen.
    Depends(fn(&Context<'_>, &mut Vec<Pending>)),
    /// Looks across the whole scan through the facts kept of each object (NetworkPolicy
    /// coverage, for example).
    Set(fn(&Facts, &Options, &mut Vec<SetViolation>)),
}

/// A check: metadata and rule.
#[derive(Clone, Copy)]
pub struct Check {
    /// What it is.
    pub meta: CheckMeta,
    /// What it does.
    pub rule: Rule,
}

/// What an object-level check sees.
pub struct Context<'a> {
    /// The object under check.
    pub object: &'a Object<'a>,
    /// Engine options (PSS version, sandbox runtime classes, …).
    pub options: &'a Options,
}

impl<'a> Context<'a> {
    /// A violation at `path`, located in the object's source.
    pub fn violation(
        &self,
        path: FieldPath,
        message: impl Into<String>,
        fix: Option<Fix>,
    ) -> Violation {
        Violation {
            pos: path.locate(self.object.root),
            path,
            message: message.into(),
            fix,
        }
    }
}
