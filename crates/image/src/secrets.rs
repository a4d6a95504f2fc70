//! Secrets in layers: private keys, cloud credentials and tokens. Every layer is searched, so
//! a key that a later layer deletes is still reported (it ships in the image). A literal
//! prefilter (Aho-Corasick) picks the files worth a regex, which keeps the cost of reading
//! every small text file of an image low (binary files are skipped).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;
use serde::Serialize;

/// Files larger than this are not searched (secrets live in small config and key files).
const MAX_SIZE: u64 = 1 << 20;

/// A secret found in a layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Secret {
    /// Rule id, e.g. `aws-access-key-id`.
    pub rule: &'static str,
    /// What was found.
    pub title: &'static str,
    /// Severity (the same scale as vulnerabilities).
    #[serde(with = "haechi_report::json::upper")]
    pub severity: crate::Severity,
    /// File (absolute path in the image).
    pub path: String,
    /// Layer index.
    pub layer: usize,
    /// 1-based line of the match.
    pub line: usize,
    /// The match with its secret part masked.
    pub excerpt: String,
}

struct Rule {
    id: &'static str,
    title: &'static str,
    severity: crate::Severity,
    /// Any of these must occur for the pattern to be tried.
    literals: &'static [&'static str],
    pattern: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        title: "Private key",
        severity: crate::Severity::High,
        literals: &["PRIVATE KEY"],
        pattern: r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----[\s\S]{16,}?-----END[ A-Z0-9]*PRIVATE KEY",
    },
    Rule {
        id: "aws-access-key-id",
        title: "AWS access key ID",
        severity: crate::Severity::Critical,
        literals: &["AKIA", "ASIA", "ABIA", "ACCA"],
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    },
    Rule {
        id: "aws-secret-access-key",
        title: "AWS secret access key",
        severity: crate::Severity::Critical,
        literals: &["ws_secret_access_key", "WS_SECRET_ACCESS_KEY"],
        pattern: r#"(?i)aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b"#,
    },
    Rule {
        id: "gcp-service-account",
        title: "Google Cloud service account key",
        severity: crate::Severity::Critical,
        literals: &["service_account"],
        pattern: r#""type"\s*:\s*"service_account"[\s\S]{0,4096}"private_key"\s*:"#,
    },
    Rule {
        id: "github-token",
        title: "GitHub token",
        severity: crate::Severity::Critical,
        literals: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
    },
    Rule {
        id: "gitlab-token",
        title: "GitLab personal access token",
        severity: crate::Severity::Critical,
        literals: &["glpat-"],
        pattern: r"\bglpat-[A-Za-z0-9_\-]{20}\b",
    },
    Rule {
        id: "slack-token",
        title: "Slack token",
        severity: crate::Severity::High,
        literals: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        pattern: r"\bxox[baprs]-[0-9A-Za-z\-]{10,72}\b",
    },
    Rule {
        id: "google-api-key",
        title: "Google API key",
        severity: crate::Severity::High,
        literals: &["AIza"],
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}\b",
    },
];

struct Compiled {
    prefilter: AhoCorasick,
    /// Literal index → rule index.
    rule_of: Vec<usize>,
    regexes: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| Compiled {
    prefilter: AhoCorasick::new(RULES.iter().flat_map(|r| r.literals)).expect("valid literals"),
    rule_of: RULES
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.literals.iter().map(move |_| i))
        .collect(),
    regexes: RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("valid secret pattern"))
        .collect(),
});

/// Directories whose contents are documentation or test fixtures shipped by packages.
const SKIPPED: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/locale/",
    "usr/include/",
];

pub(crate) fn wants(path: &str, size: u64) -> bool {
    size > 0
        && size <= MAX_SIZE
        && !SKIPPED.iter().any(|dir| path.starts_with(dir))
        && !path.contains("/test/")
        && !path.contains("/tests/")
}

pub(crate) fn scan(path: &str, data: &[u8], layer: usize, out: &mut Vec<Secret>) {
    // Binary files (a NUL early on) are not searched, as Trivy does not.
    if memchr::memchr(0, &data[..data.len().min(4096)]).is_some() {
        return;
    }
    let compiled = &*COMPILED;
    let mut candidates = [false; RULES.len()];
    for m in compiled.prefilter.find_overlapping_iter(data) {
        candidates[compiled.rule_of[m.pattern().as_usize()]] = true;
    }
    for (i, rule) in RULES.iter().enumerate() {
        if !candidates[i] {
            continue;
        }
        if let Some(m) = compiled.regexes[i].find(data) {
            let line = 1 + memchr::memchr_iter(b'\n', &data[..m.start()]).count();
            out.push(Secret {
                rule: rule.id,
                title: rule.title,
                severity: rule.severity,
                path: format!("/{path}"),
                layer,
                line,
                excerpt: mask(&String::from_utf8_lossy(m.as_bytes())),
            });
        }
    }
}

/// Keeps the first line's first characters so a reader recognises the secret, masks the rest.
fn mask(found: &str) -> String {
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
        let mut out = Vec::new();
        scan("app/.env", text, 2, &mut out);
        let rules: Vec<_> = out.iter().map(|s| (s.rule, s.line)).collect();
        assert_eq!(rules, [("aws-access-key-id", 2), ("github-token", 3)]);
        assert!(!out[0].excerpt.contains("IOSFODNN7EXAMPLE"));
        let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
        out.clear();
        scan("root/.ssh/id_ed25519", key, 0, &mut out);
        assert_eq!(out[0].rule, "private-key");
        out.clear();
        scan(
            "x",
            b"AKIA is a prefix; PRIVATE KEY alone is not a key",
            0,
            &mut out,
        );
        assert!(out.is_empty());
    }
}
