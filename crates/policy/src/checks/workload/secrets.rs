//! Secrets in manifests: literal credentials in environment variables, ConfigMaps and Secret
//! manifests, and Secret references exposed through the environment.
//!
//! Values are recognised by the catalogue `haechi image scan` searches layers with
//! (`haechi-secrets`: private keys, cloud credentials, tokens), and, for environment variables
//! and ConfigMap keys, by a name that says it holds a credential. Messages never repeat a value:
//! reports end up in CI logs.

use base64::Engine as _;
use haechi_manifest::Node;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::kinds::WORKLOADS;
use crate::object::{Container, Object};
use crate::path::FieldPath;

pub const LITERAL: Check = Check {
    meta: CheckMeta {
        id: "secret-in-env",
        title: "Credential written into the manifest",
        severity: Severity::High,
        pss: None,
        description: "An environment variable whose name says password, token, secret or key, or \
                      whose value has the shape of a known credential (private key, AWS, Google \
                      Cloud, GitHub, GitLab or Slack credential: the catalogue image scans use), \
                      holds a literal value: it is in the repository, in the API server's \
                      storage and in every `kubectl get -o yaml`.",
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

pub const CONFIG_MAP: Check = Check {
    meta: CheckMeta {
        id: "secret-in-config-map",
        title: "Credential in a ConfigMap",
        severity: Severity::High,
        pss: None,
        description: "A ConfigMap value holds a private key or a cloud or code-host credential \
                      (the catalogue image scans use), or sits under a key whose name says \
                      password, token or secret. ConfigMaps are not secret: anyone who may read \
                      them in the namespace (many roles may) reads the credential, and it is in \
                      the repository and every `kubectl get -o yaml`.",
        remediation: "Move the value into a Secret (or an external secret store), mount it \
                      where it is needed, and rotate the exposed credential.",
        references: &[NSA_CISA, cis!("5.4.1"), mitre!("T1552.007", "T1552/007")],
    },
    kinds: &["ConfigMap"],
    rule: Rule::Object(config_map),
};

pub const SECRET_MANIFEST: Check = Check {
    meta: CheckMeta {
        id: "secret-manifest-credential",
        title: "Credential written into a Secret manifest",
        severity: Severity::Medium,
        pss: None,
        description: "A Secret manifest carries a private key or a cloud or code-host credential \
                      in `stringData` or (base64 is not encryption) in `data`. Whoever reads the \
                      repository, the chart or the CI logs reads the credential; a Secret is \
                      only secret inside the cluster.",
        remediation: "Keep Secret values out of manifests: create them from a secret store \
                      (External Secrets, Secrets Store CSI driver), or commit them encrypted \
                      (Sealed Secrets, SOPS). Rotate the exposed credential.",
        references: &[NSA_CISA, cis!("5.4.1"), mitre!("T1552.001", "T1552/001")],
    },
    kinds: &["Secret"],
    rule: Rule::Object(secret_manifest),
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
fn credential(name: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(found) = haechi_secrets::find(value.as_bytes()).first() {
        return Some(format!("credential ({})", found.rule.title));
    }
    let upper = name.to_ascii_uppercase();
    // Empty values, `$(OTHER_VAR)` expansions, placeholders and booleans are not credentials,
    // nor are numbers unless they are a password (`TOKEN_TTL: 3600`, but `DB_PASSWORD: 1234`).
    let number = value.bytes().all(|b| b.is_ascii_digit());
    if value.len() < 4
        || value.starts_with("$(")
        || (number && !upper.contains("PASS"))
        || ["true", "false"].contains(&value.to_ascii_lowercase().as_str())
    {
        return None;
    }
    let named = CREDENTIAL_WORDS.iter().any(|w| upper.contains(w))
        && !NOT_CREDENTIALS.iter().any(|s| upper.ends_with(s));
    named.then(|| "value (its name says it is a credential)".to_string())
}

/// The string entries of a mapping field with their paths.
fn string_values<'a>(
    object: &Object<'a>,
    field: &str,
) -> impl Iterator<Item = (FieldPath, &'a str, &'a str)> + 'a {
    let base = FieldPath::of(&[field]);
    object
        .root
        .get(field)
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(move |(k, v)| Some((base.key(&k.text), k.text.as_str(), v.as_str()?)))
}

/// Decodes a base64 value as Kubernetes does (standard alphabet, padded); line breaks, which
/// YAML block scalars leave in, are ignored.
fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let compact: String = value.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

fn config_map(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let object = ctx.object;
    if object.kind != "ConfigMap" || object.api_version != "v1" {
        return;
    }
    for (path, key, value) in string_values(object, "data") {
        if let Some(why) = credential(key, value) {
            out.push(ctx.violation(
                path,
                format!(
                    "ConfigMap \"{}\" holds a literal {why} under key \"{key}\"",
                    object.name
                ),
                None,
            ));
        }
    }
    for (path, key, value) in string_values(object, "binaryData") {
        let Some(bytes) = decode_base64(value) else {
            continue;
        };
        if let Some(found) = haechi_secrets::find(&bytes).first() {
            out.push(ctx.violation(
                path,
                format!(
                    "ConfigMap \"{}\" holds a credential ({}) under binary key \"{key}\"",
                    object.name, found.rule.title
                ),
                None,
            ));
        }
    }
}

fn secret_manifest(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    let object = ctx.object;
    if object.kind != "Secret" || object.api_version != "v1" {
        return;
    }
    for (field, encoded) in [("stringData", false), ("data", true)] {
        for (path, key, value) in string_values(object, field) {
            let bytes = if encoded {
                let Some(bytes) = decode_base64(value) else {
                    continue;
                };
                bytes
            } else {
                value.as_bytes().to_vec()
            };
            if let Some(found) = haechi_secrets::find(&bytes).first() {
                out.push(ctx.violation(
                    path,
                    format!(
                        "Secret \"{}\" carries a credential ({}) in {field} key \"{key}\"",
                        object.name, found.rule.title
                    ),
                    None,
                ));
            }
        }
    }
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
            Some("credential (AWS access key ID)".to_string())
        );
        assert_eq!(
            credential("X", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            Some("credential (GitHub token)".to_string())
        );
        assert_eq!(
            credential("X", "glpat-abcdefghij0123456789"),
            Some("credential (GitLab personal access token)".to_string())
        );
        assert!(credential("TOKEN_ENDPOINT", "https://auth.example/token").is_none());
        assert!(credential("TOKEN_TTL", "3600").is_none());
        assert!(credential("MYSQL_PASSWORD", "1234").is_some());
        assert!(credential("REQUIRE_TOKEN", "true").is_none());
    }

    #[test]
    fn base64_as_kubernetes_writes_it() {
        assert_eq!(
            decode_base64("aGVs\n  bG8=").as_deref(),
            Some(&b"hello"[..])
        );
        assert!(decode_base64("not base64!").is_none());
    }
}
