//! Secrets in environment variables: literal credentials in the manifest, and Secret references
//! exposed through the environment.

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::kinds::WORKLOADS;
use crate::object::Container;
use crate::path::FieldPath;

pub const LITERAL: Check = Check {
    meta: CheckMeta {
        id: "secret-in-env",
        title: "Credential written into the manifest",
        severity: Severity::High,
        pss: None,
        description: "An environment variable whose name says password, token, secret or key, or \
                      whose value has the shape of a known credential (AWS access key, private \
                      key, GitHub or Slack token), holds a literal value: it is in the \
                      repository, in the API server's storage and in every `kubectl get -o \
                      yaml`.",
        remediation: "Move the value into a Secret (or an external secret store) and mount it as \
                      a file; rotate the exposed credential.",
        references: &[NSA_CISA, cis!("5.4.1"), mitre!("T1552.001", "T1552/001")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(literal),
};

pub const REFERENCE: Check = Check {
    meta: CheckMeta {
        id: "secret-env-reference",
        title: "Secret exposed as environment variable",
        severity: Severity::Low,
        pss: None,
        description: "Environment variables leak: into child processes, crash reports, debug \
                      endpoints and /proc/<pid>/environ. Secrets mounted as files can be \
                      permission-restricted and are updated in place when rotated.",
        remediation: "Mount the Secret as a volume and read the file instead of \
                      `env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`.",
        references: &[NSA_CISA, cis!("5.4.1"), mitre!("T1552.007", "T1552/007")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(reference),
};

/// Words in a variable name that say it holds a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
    "CLIENT_KEY",
];

/// Names that contain a credential word but hold none.
const NOT_CREDENTIALS: &[&str] = &["_FILE", "_PATH", "_DIR", "_URL", "_NAME", "_ENDPOINT"];

fn env_entries<'a>(
    container: &Container<'a>,
) -> impl Iterator<Item = (FieldPath, &'a haechi_manifest::Node)> + 'a {
    let list = container.path.key("env");
    container
        .node
        .get("env")
        .map(|e| e.items())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(move |(i, entry)| (list.index(i), entry))
}

fn literal(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        for (path, entry) in env_entries(&container) {
            let name = entry.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let Some(value) = entry.get("value").and_then(|v| v.as_str()) else {
                continue;
            };
            if let Some(why) = credential(name, value) {
                // Never repeat the value: reports end up in CI logs.
                out.push(ctx.violation(
                    path.key("value"),
                    format!("{} sets {name} to a literal {why}", container.describe()),
                    None,
                ));
            }
        }
    }
}

/// What makes `name=value` look like a credential, if anything.
fn credential(name: &str, value: &str) -> Option<&'static str> {
    let value = value.trim();
    if let Some(kind) = known_format(value) {
        return Some(kind);
    }
    // Empty values, `$(OTHER_VAR)` expansions and placeholders are not credentials.
    if value.is_empty() || value.starts_with("$(") || value.len() < 4 {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    let named = CREDENTIAL_WORDS.iter().any(|w| upper.contains(w))
        && !NOT_CREDENTIALS.iter().any(|s| upper.ends_with(s));
    named.then_some("value (its name says it is a credential)")
}

/// Recognises the shapes of widely leaked credentials.
fn known_format(value: &str) -> Option<&'static str> {
    let is_upper_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && is_upper_alnum(value)
    {
        return Some("AWS access key id");
    }
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        return Some("private key");
    }
    let token_body = |prefix: &str, min: usize| {
        value.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() >= min
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    };
    if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]
        .iter()
        .any(|p| token_body(p, 20))
    {
        return Some("GitHub token");
    }
    if ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| token_body(p, 10))
    {
        return Some("Slack token");
    }
    None
}

fn reference(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let Some(pod) = ctx.object.pod() else { return };
    for container in pod.containers() {
        for (path, entry) in env_entries(&container) {
            if let Some(secret) = entry.path(&["valueFrom", "secretKeyRef"]) {
                let name = entry.get("name").and_then(|n| n.as_str()).unwrap_or("");
                let source = secret.get("name").and_then(|n| n.as_str()).unwrap_or("");
                out.push(ctx.violation(
                    path.keys(&["valueFrom", "secretKeyRef"]),
                    format!(
                        "{} reads Secret \"{source}\" into environment variable {name}",
                        container.describe()
                    ),
                    None,
                ));
            }
        }
        let list = container.path.key("envFrom");
        let sources = container
            .node
            .get("envFrom")
            .map(|e| e.items())
            .unwrap_or_default();
        for (i, source) in sources.iter().enumerate() {
            if let Some(secret) = source.get("secretRef") {
                let name = secret.get("name").and_then(|n| n.as_str()).unwrap_or("");
                out.push(ctx.violation(
                    list.index(i).key("secretRef"),
                    format!(
                        "{} loads every key of Secret \"{name}\" into its environment",
                        container.describe()
                    ),
                    None,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_and_shapes() {
        assert!(credential("DB_PASSWORD", "hunter22").is_some());
        assert!(credential("api_token", "abcd1234").is_some());
        assert!(credential("PASSWORD_FILE", "/run/secrets/db").is_none());
        assert!(credential("DB_PASSWORD", "$(FROM_SECRET)").is_none());
        assert!(credential("DB_PASSWORD", "").is_none());
        assert!(credential("LOG_LEVEL", "debug").is_none());
        assert_eq!(
            credential("AWS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            Some("AWS access key id")
        );
        assert_eq!(
            credential("X", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            Some("GitHub token")
        );
        assert!(credential("TOKEN_ENDPOINT", "https://auth.example/token").is_none());
    }
}
