//! The configuration file (`.haechi.yaml`): disabled checks, severity overrides, exemptions and
//! the options checks read. One model for `haechi scan` and `haechi admit`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use crate::check::Severity;
use crate::object::Object;
use crate::options::{Options, Untrusted};
use crate::standards::PssVersion;

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid YAML or has a field of the wrong type or name.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is well-formed but wrong.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `exemptions[2].reason`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    pss_version: Option<String>,
    #[serde(default)]
    checks: RawChecks,
    #[serde(default)]
    exemptions: Vec<RawExemption>,
    #[serde(default)]
    untrusted: Option<RawUntrusted>,
    #[serde(default)]
    sandbox_runtime_classes: Option<Vec<String>>,
    #[serde(default)]
    writable_paths: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemption {
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUntrusted {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    namespaces: Vec<String>,
}

/// A validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from, if from a file.
    pub source: Option<PathBuf>,
    /// Checks that do not run.
    pub disabled: Vec<String>,
    /// Severity overrides by check ID.
    pub severities: BTreeMap<String, Severity>,
    /// Objects (and checks) exempted, each with a reason.
    pub exemptions: Vec<Exemption>,
    /// What the checks read.
    pub options: Options,
}

/// Exempts matching objects from some (or all) checks.
#[derive(Debug, Clone)]
pub struct Exemption {
    /// Check IDs; empty means every check.
    pub checks: Vec<String>,
    namespace: Option<GlobMatcher>,
    kind: Option<String>,
    name: Option<GlobMatcher>,
    labels: BTreeMap<String, String>,
    /// Why the exemption exists (required).
    pub reason: String,
}

impl Exemption {
    /// Whether this exemption covers `check` on `object`.
    pub fn covers(&self, check: &str, object: &Object<'_>) -> bool {
        (self.checks.is_empty() || self.checks.iter().any(|c| c == check || c == "*"))
            && self
                .namespace
                .as_ref()
                .is_none_or(|g| g.is_match(object.namespace.unwrap_or("default")))
            && self.kind.as_deref().is_none_or(|k| k == object.kind)
            && self.name.as_ref().is_none_or(|g| g.is_match(object.name))
            && self
                .labels
                .iter()
                .all(|(k, v)| object.label(k) == Some(v.as_str()))
    }
}

/// The largest configuration file read, in bytes: a real one is a few kilobytes.
pub const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// The file name looked for upward from the scanned path.
pub const CONFIG_FILE_NAME: &str = ".haechi.yaml";

impl Config {
    /// Reads and validates a configuration file. `known_check` tells which check IDs exist.
    /// Only a regular file is read (a FIFO or device given as `--config` is refused, not waited
    /// on), and at most [`MAX_CONFIG_SIZE`] bytes of it.
    pub fn load(path: &Path, known_check: impl Fn(&str) -> bool) -> Result<Config, ConfigError> {
        let text = haechi_manifest::read::read_text_file(path, MAX_CONFIG_SIZE).map_err(|e| {
            ConfigError::Read {
                path: path.to_path_buf(),
                source: match e {
                    haechi_manifest::read::ReadError::Io(source) => source,
                    other => std::io::Error::other(other.to_string()),
                },
            }
        })?;
        Config::parse(&text, path, known_check)
    }

    /// Validates a configuration text; `path` names it in errors.
    pub fn parse(
        text: &str,
        path: &Path,
        known_check: impl Fn(&str) -> bool,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        };
        let invalid = |field: String, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            message,
        };
        let check_id = |field: String, id: &str| {
            if id == "*" || known_check(id) {
                Ok(id.to_string())
            } else {
                Err(invalid(
                    field,
                    format!("unknown check `{id}` (`haechi scan --list-checks` lists them)"),
                ))
            }
        };
        let mut options = Options::default();
        if let Some(version) = raw.pss_version {
            options.pss_version = version
                .parse::<PssVersion>()
                .map_err(|m| invalid("pssVersion".into(), m))?;
        }
        if let Some(u) = raw.untrusted {
            options.untrusted = Untrusted {
                labels: u.labels.into_iter().collect(),
                namespaces: u.namespaces,
            };
        }
        if let Some(classes) = raw.sandbox_runtime_classes {
            options.sandbox_runtime_classes = classes;
        }
        if let Some(paths) = raw.writable_paths {
            if let Some(bad) = paths.iter().find(|p| !p.starts_with('/')) {
                return Err(invalid(
                    "writablePaths".into(),
                    format!("`{bad}` is not an absolute path"),
                ));
            }
            options.writable_paths = paths;
        }
        let disabled = raw
            .checks
            .disable
            .iter()
            .enumerate()
            .map(|(i, id)| check_id(format!("checks.disable[{i}]"), id))
            .collect::<Result<_, _>>()?;
        let mut severities = BTreeMap::new();
        for (id, sev) in &raw.checks.severity {
            let field = format!("checks.severity.{id}");
            let id = check_id(field.clone(), id)?;
            severities.insert(
                id,
                Severity::parse_among(sev, &Severity::RATED).map_err(|m| invalid(field, m))?,
            );
        }
        let glob = |field: String, pattern: Option<String>| {
            pattern
                .map(|p| {
                    Glob::new(&p)
                        .map(|g| g.compile_matcher())
                        .map_err(|e| invalid(field, e.to_string()))
                })
                .transpose()
        };
        let mut exemptions = Vec::new();
        for (i, e) in raw.exemptions.into_iter().enumerate() {
            if e.reason.trim().is_empty() {
                return Err(invalid(
                    format!("exemptions[{i}].reason"),
                    "every exemption needs a reason: say why the risk is accepted".into(),
                ));
            }
            let checks = e
                .checks
                .iter()
                .enumerate()
                .map(|(j, id)| check_id(format!("exemptions[{i}].checks[{j}]"), id))
                .collect::<Result<_, _>>()?;
            exemptions.push(Exemption {
                checks,
                namespace: glob(format!("exemptions[{i}].namespace"), e.namespace)?,
                kind: e.kind,
                name: glob(format!("exemptions[{i}].name"), e.name)?,
                labels: e.labels,
                reason: e.reason,
            });
        }
        Ok(Config {
            source: Some(path.to_path_buf()),
            disabled,
            severities,
            exemptions,
            options,
        })
    }

    /// Finds `.haechi.yaml` in `start` or the closest ancestor directory that has one.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = if start.is_dir() {
            start
        } else {
            start.parent()?
        };
        start
            .ancestors()
            .map(|dir| dir.join(CONFIG_FILE_NAME))
            .find(|candidate| candidate.is_file())
    }
}
