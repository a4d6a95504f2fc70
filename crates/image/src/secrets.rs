//! Secrets in layers: private keys, cloud credentials and tokens, as the shared catalogue
//! (`haechi-secrets`, which `haechi scan` uses for manifests too) recognises them. Every layer
//! is searched, so a key that a later layer deletes is still reported (it ships in the image);
//! binary files are skipped.

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
    for found in haechi_secrets::find(data) {
        out.push(Secret {
            rule: found.rule.id,
            title: found.rule.title,
            severity: match found.rule.severity {
                haechi_secrets::Severity::High => crate::Severity::High,
                haechi_secrets::Severity::Critical => crate::Severity::Critical,
            },
            path: format!("/{path}"),
            layer,
            line: found.line,
            excerpt: found.excerpt,
        });
    }
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
