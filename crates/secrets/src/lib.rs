//! The secret-detection catalogue: private keys, cloud credentials and tokens.
//!
//! One catalogue serves every place haechi looks for secrets — the files of image layers
//! (`haechi image scan`) and the values of manifests (`haechi scan`: environment variables,
//! ConfigMaps, Secrets) — so a credential shape added here is found everywhere. The crate only
//! finds and masks; what a match means (a finding's severity, where it is reported) belongs to
//! the caller.
//!
//! A literal prefilter (Aho-Corasick) picks the rules worth a regex, which keeps searching
//! every small text cheap: a text without any rule's literal costs one linear pass.

use std::sync::{LazyLock, OnceLock};

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

/// How bad a leaked secret of a kind is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Gives access to one service or workspace.
    High,
    /// Gives access to a cloud account or a whole code host.
    Critical,
}

/// A kind of secret.
#[derive(Debug)]
pub struct Rule {
    /// Stable identifier, e.g. `aws-access-key-id`.
    pub id: &'static str,
    /// What it is, e.g. "AWS access key ID".
    pub title: &'static str,
    /// How bad a leak is.
    pub severity: Severity,
    /// Any of these must occur for the pattern to be tried.
    literals: &'static [&'static str],
    pattern: &'static str,
}

/// The catalogue.
pub static RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        title: "Private key",
        severity: Severity::High,
        literals: &["PRIVATE KEY"],
        pattern: r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----(?s-u:.){16,}?-----END[ A-Z0-9]*PRIVATE KEY",
    },
    Rule {
        id: "aws-access-key-id",
        title: "AWS access key ID",
        severity: Severity::Critical,
        literals: &["AKIA", "ASIA", "ABIA", "ACCA"],
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    },
    Rule {
        id: "aws-secret-access-key",
        title: "AWS secret access key",
        severity: Severity::Critical,
        literals: &["ws_secret_access_key", "WS_SECRET_ACCESS_KEY"],
        pattern: r#"(?i)aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b"#,
    },
    Rule {
        id: "gcp-service-account",
        title: "Google Cloud service account key",
        severity: Severity::Critical,
        literals: &["service_account"],
        pattern: r#""type"\s*:\s*"service_account"(?s-u:.){0,4096}"private_key"\s*:"#,
    },
    Rule {
        id: "github-token",
        title: "GitHub token",
        severity: Severity::Critical,
        literals: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
    },
    Rule {
        id: "gitlab-token",
        title: "GitLab personal access token",
        severity: Severity::Critical,
        literals: &["glpat-"],
        pattern: r"\bglpat-[A-Za-z0-9_\-]{20}\b",
    },
    Rule {
        id: "slack-token",
        title: "Slack token",
        severity: Severity::High,
        literals: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        pattern: r"\bxox[baprs]-[0-9A-Za-z\-]{10,72}\b",
    },
    Rule {
        id: "google-api-key",
        title: "Google API key",
        severity: Severity::High,
        literals: &["AIza"],
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}\b",
    },
];

struct Compiled {
    prefilter: AhoCorasick,
    /// Literal index → rule index.
    rule_of: Vec<usize>,
    /// Compiled when a rule's literal first occurs: most texts never need most patterns.
    regexes: Vec<OnceLock<Regex>>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| Compiled {
    prefilter: AhoCorasick::new(RULES.iter().flat_map(|r| r.literals)).expect("valid literals"),
    rule_of: RULES
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.literals.iter().map(move |_| i))
        .collect(),
    regexes: RULES.iter().map(|_| OnceLock::new()).collect(),
});

/// One secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Its kind.
    pub rule: &'static Rule,
    /// Byte offset of its start.
    pub start: usize,
    /// Byte offset of its end.
    pub end: usize,
    /// 1-based line of its start.
    pub line: usize,
    /// The match with its secret part masked, safe to print.
    pub excerpt: String,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

/// Whether `data` looks binary (a NUL among its first 4 KiB); binary data is not searched, as
/// Trivy does not.
pub fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(4096)]).is_some()
}

/// Whether any rule's literal occurs in `data`: the cheap first step of [`find`], for callers
/// that can skip work on texts without one.
pub fn may_contain(data: &[u8]) -> bool {
    COMPILED.prefilter.is_match(data)
}

/// The first match of every rule in `data`, in catalogue order. Binary data has none.
pub fn find(data: &[u8]) -> Vec<Match> {
    let mut found = Vec::new();
    if is_binary(data) {
        return found;
    }
    let compiled = &*COMPILED;
    // One bit per rule (the catalogue has fewer than 64).
    let mut candidates = 0u64;
    for m in compiled.prefilter.find_overlapping_iter(data) {
        candidates |= 1 << compiled.rule_of[m.pattern().as_usize()];
    }
    for (i, rule) in RULES.iter().enumerate() {
        if candidates & (1 << i) == 0 {
            continue;
        }
        let regex = compiled.regexes[i]
            .get_or_init(|| Regex::new(rule.pattern).expect("valid secret pattern"));
        if let Some(m) = regex.find(data) {
            found.push(Match {
                rule,
                start: m.start(),
                end: m.end(),
                line: 1 + memchr::memchr_iter(b'\n', &data[..m.start()]).count(),
                excerpt: mask(&String::from_utf8_lossy(m.as_bytes())),
            });
        }
    }
    found
}

/// Keeps the first line's first characters so a reader recognises the secret, masks the rest.
pub fn mask(found: &str) -> String {
    let first = found.lines().next().unwrap_or("");
    if first.starts_with("-----BEGIN") {
        return first.to_string();
    }
    let keep: String = first.chars().take(first.len().min(8) / 2 + 2).collect();
    format!(
        "{keep}{}",
        "*".repeat(first.chars().count().saturating_sub(keep.chars().count()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_tokens_with_lines() {
        let text = b"# config\nkey = AKIAIOSFODNN7EXAMPLE\ntoken: ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ\n";
        let found = find(text);
        let rules: Vec<_> = found.iter().map(|s| (s.rule.id, s.line)).collect();
        assert_eq!(rules, [("aws-access-key-id", 2), ("github-token", 3)]);
        assert!(!found[0].excerpt.contains("IOSFODNN7EXAMPLE"));
        let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(find(key)[0].rule.id, "private-key");
        assert!(find(b"AKIA is a prefix; PRIVATE KEY alone is not a key").is_empty());
        assert!(!may_contain(b"nothing here"));
        assert!(find(b"AKIAIOSFODNN7EXAMPLE\0").is_empty(), "binary");
    }

    #[test]
    fn every_rule_has_a_literal_and_a_valid_pattern() {
        assert!(RULES.len() < 64, "find() keeps one bit per rule");
        for rule in RULES {
            assert!(!rule.literals.is_empty(), "{}", rule.id);
            assert!(Regex::new(rule.pattern).is_ok(), "{}", rule.id);
        }
    }
}
