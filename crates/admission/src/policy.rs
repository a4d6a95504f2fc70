//! The webhook's policy file: Pod Security levels per namespace (as Pod Security Admission's
//! namespace labels set them), haechi's own checks per namespace and mode, PSA-style exemptions,
//! where the ignore annotation counts, which fixes the mutator applies, and the engine options.
//! docs/admit.md describes the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arc_swap::ArcSwap;

use globset::{Glob, GlobSet, GlobSetBuilder};
use haechi_policy::check::Rule;
use haechi_policy::{Check, Config, ConfigError, PssLevel, PssVersion, checks};
use serde::Deserialize;

/// The checks the mutator applies when the file does not say: fixes that harden a pod without
/// changing what it can do in a typical deployment. Ids not in the catalogue are skipped.
pub const DEFAULT_MUTATE: &[&str] = &[
    "pss-seccomp-restricted",
    "pss-privilege-escalation",
    "pss-capabilities-restricted",
    "readonly-root-filesystem",
    "sandbox-runtime-class",
];

/// The Pod Security Admission namespace label prefix.
pub const PSA_LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFile {
    #[serde(default)]
    defaults: RawNamespace,
    #[serde(default)]
    namespaces: BTreeMap<String, RawNamespace>,
    #[serde(default)]
    exemptions: RawExemptions,
    #[serde(default)]
    ignore_annotation: RawIgnoreAnnotation,
    #[serde(default)]
    mutate: Option<RawMutate>,
    #[serde(default)]
    policy: Option<RawPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawNamespace {
    enforce: Option<String>,
    enforce_version: Option<String>,
    audit: Option<String>,
    audit_version: Option<String>,
    warn: Option<String>,
    warn_version: Option<String>,
    checks: Option<RawChecks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    enforce: Option<Vec<String>>,
    audit: Option<Vec<String>>,
    warn: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExemptions {
    #[serde(default)]
    usernames: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    runtime_classes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreAnnotation {
    #[serde(default)]
    namespaces: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutate {
    #[serde(default)]
    checks: Vec<String>,
}

/// `policy:` is a path to a `.haechi.yaml` or the same fields inline.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPolicy {
    File(String),
    Inline(serde_json::Value),
}

/// The three Pod Security Admission modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Violations reject the request.
    Enforce,
    /// Violations are recorded.
    Audit,
    /// Violations are returned as warnings.
    Warn,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Enforce, Mode::Audit, Mode::Warn];

    /// The name, as PSA labels and the policy file spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Warn => "warn",
        }
    }
}

/// A Pod Security level at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelVersion {
    /// The level.
    pub level: PssLevel,
    /// The version.
    pub version: PssVersion,
    /// `latest` or `v1.N`, as written.
    pub version_name: String,
}

impl LevelVersion {
    fn latest(level: PssLevel) -> LevelVersion {
        LevelVersion {
            level,
            version: PssVersion::LATEST,
            version_name: "latest".into(),
        }
    }
}

impl std::fmt::Display for LevelVersion {
    /// `restricted:latest`, as PSA names a policy in its messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.level, self.version_name)
    }
}

/// What applies in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePolicy {
    /// Pod Security level per mode, in [`Mode::ALL`] order.
    pub levels: [LevelVersion; 3],
    /// haechi's own (non-PSS) check ids per mode, in [`Mode::ALL`] order.
    pub checks: [Vec<&'static str>; 3],
    /// Namespace labels that could not be read (the namespace is then enforced at
    /// `restricted:latest`, as PSA does).
    pub label_errors: Vec<String>,
}

impl NamespacePolicy {
    /// The level of `mode`.
    pub fn level(&self, mode: Mode) -> &LevelVersion {
        &self.levels[mode as usize]
    }

    /// The haechi checks of `mode`.
    pub fn checks(&self, mode: Mode) -> &[&'static str] {
        &self.checks[mode as usize]
    }

    /// Applies Pod Security Admission namespace labels: a label overrides the configured value;
    /// a level label without a version label means `latest`; an invalid label enforces
    /// `restricted:latest`.
    fn apply_labels(&mut self, labels: &BTreeMap<String, String>) {
        for mode in Mode::ALL {
            let key = format!("{PSA_LABEL_PREFIX}{}", mode.as_str());
            let slot = &mut self.levels[mode as usize];
            let level = labels.get(&key).map(|v| (v, v.parse::<PssLevel>()));
            match level {
                Some((_, Ok(level))) => *slot = LevelVersion::latest(level),
                Some((value, Err(_))) => {
                    self.label_errors.push(format!("{key}={value}"));
                    continue;
                }
                None => {}
            }
            let version_key = format!("{key}-version");
            if let Some(value) = labels.get(&version_key) {
                match value.parse::<PssVersion>() {
                    Ok(version) => {
                        slot.version = version;
                        slot.version_name = value.clone();
                    }
                    Err(_) => self.label_errors.push(format!("{version_key}={value}")),
                }
            }
        }
        if !self.label_errors.is_empty() {
            self.levels[Mode::Enforce as usize] = LevelVersion::latest(PssLevel::Restricted);
        }
    }
}

/// Requests that are admitted without evaluation, as in PSA's `exemptions`.
#[derive(Debug, Clone, Default)]
pub struct Exemptions {
    /// Requesting user names.
    pub usernames: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// The pod's `runtimeClassName`.
    pub runtime_classes: Vec<String>,
}

/// A validated policy file.
#[derive(Debug, Clone)]
pub struct Policy {
    defaults: NamespacePolicy,
    namespaces: BTreeMap<String, NamespacePolicy>,
    /// Requests admitted without evaluation.
    pub exemptions: Exemptions,
    ignore_annotation: GlobSet,
    /// The checks whose fixes the mutator applies.
    pub mutate: Vec<&'static str>,
    /// The haechi configuration the engine runs with (options, exemptions, severities).
    pub engine: Config,
}

impl Default for Policy {
    /// No file: enforce baseline, audit and warn restricted, everywhere.
    fn default() -> Policy {
        Policy::parse("", Path::new("(built-in defaults)"))
            .expect("the built-in policy is valid (tested)")
    }
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, ConfigError> {
        let text = read(path)?;
        Policy::parse(&text, path)
    }

    /// Validates a policy text; `path` names it in errors and anchors a relative `policy:` path.
    pub fn parse(text: &str, path: &Path) -> Result<Policy, ConfigError> {
        let raw: RawFile = if text.trim().is_empty() {
            RawFile::default()
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
        let base = NamespacePolicy {
            levels: [
                LevelVersion::latest(PssLevel::Baseline),
                LevelVersion::latest(PssLevel::Restricted),
                LevelVersion::latest(PssLevel::Restricted),
            ],
            checks: Default::default(),
            label_errors: Vec::new(),
        };
        let defaults = resolve_namespace(&raw.defaults, &base, "defaults", &invalid)?;
        let mut namespaces = BTreeMap::new();
        for (name, ns) in &raw.namespaces {
            let field = format!("namespaces.{name}");
            namespaces.insert(
                name.clone(),
                resolve_namespace(ns, &defaults, &field, &invalid)?,
            );
        }
        let mut globs = GlobSetBuilder::new();
        for (i, pattern) in raw.ignore_annotation.namespaces.iter().enumerate() {
            let glob = Glob::new(pattern)
                .map_err(|e| invalid(format!("ignoreAnnotation.namespaces[{i}]"), e.to_string()))?;
            globs.add(glob);
        }
        let ignore_annotation = globs
            .build()
            .map_err(|e| invalid("ignoreAnnotation.namespaces".into(), e.to_string()))?;
        let mutate = match raw.mutate {
            None => DEFAULT_MUTATE
                .iter()
                .filter_map(|id| checks::find(id).map(|c| c.meta.id))
                .collect(),
            Some(m) => m
                .checks
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    checks::find(id)
                        .map(|c| c.meta.id)
                        .ok_or_else(|| invalid(format!("mutate.checks[{i}]"), unknown_check(id)))
                })
                .collect::<Result<_, _>>()?,
        };
        let known = |id: &str| checks::find(id).is_some();
        let engine = match raw.policy {
            None => Config::default(),
            Some(RawPolicy::File(file)) => {
                let file = path.parent().unwrap_or(Path::new("")).join(file);
                Config::load(&file, known)?
            }
            Some(RawPolicy::Inline(value)) => {
                // JSON is YAML: the inline mapping goes through the one `.haechi.yaml` parser.
                let named = PathBuf::from(format!("{} (policy)", path.display()));
                Config::parse(&value.to_string(), &named, known)?
            }
        };
        Ok(Policy {
            defaults,
            namespaces,
            exemptions: Exemptions {
                usernames: raw.exemptions.usernames,
                namespaces: raw.exemptions.namespaces,
                runtime_classes: raw.exemptions.runtime_classes,
            },
            ignore_annotation,
            mutate,
            engine,
        })
    }

    /// What applies in `namespace`: its entry in the file (or the defaults), overridden by its
    /// Pod Security Admission labels when they are known.
    pub fn namespace(
        &self,
        namespace: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> NamespacePolicy {
        let mut policy = self
            .namespaces
            .get(namespace)
            .unwrap_or(&self.defaults)
            .clone();
        if let Some(labels) = labels {
            policy.apply_labels(labels);
        }
        policy
    }

    /// Whether the `haechi.dev/ignore` annotation is honoured in `namespace`.
    pub fn honours_ignore_annotation(&self, namespace: &str) -> bool {
        self.ignore_annotation.is_match(namespace)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn unknown_check(id: &str) -> String {
    format!("unknown check `{id}` (`haechi scan --list-checks` lists them)")
}

/// `raw` over `parent`: each field set in `raw` replaces the parent's.
fn resolve_namespace(
    raw: &RawNamespace,
    parent: &NamespacePolicy,
    field: &str,
    invalid: &impl Fn(String, String) -> ConfigError,
) -> Result<NamespacePolicy, ConfigError> {
    let mut policy = parent.clone();
    let fields = [
        (Mode::Enforce, &raw.enforce, &raw.enforce_version),
        (Mode::Audit, &raw.audit, &raw.audit_version),
        (Mode::Warn, &raw.warn, &raw.warn_version),
    ];
    for (mode, level, version) in fields {
        let slot = &mut policy.levels[mode as usize];
        if let Some(level) = level {
            slot.level = level
                .parse()
                .map_err(|m| invalid(format!("{field}.{}", mode.as_str()), m))?;
        }
        if let Some(version) = version {
            slot.version = version
                .parse()
                .map_err(|m| invalid(format!("{field}.{}Version", mode.as_str()), m))?;
            slot.version_name = version.clone();
        }
    }
    if let Some(checks) = &raw.checks {
        let lists = [
            (Mode::Enforce, &checks.enforce),
            (Mode::Audit, &checks.audit),
            (Mode::Warn, &checks.warn),
        ];
        for (mode, ids) in lists {
            if let Some(ids) = ids {
                let at = format!("{field}.checks.{}", mode.as_str());
                policy.checks[mode as usize] = check_ids(ids, &at, invalid)?;
            }
        }
    }
    Ok(policy)
}

/// Whether a check can run in the webhook: it looks at one object (the webhook sees one at a
/// time) and is not a Pod Security control (those run by level).
fn admissible(check: &Check) -> bool {
    check.meta.pss.is_none() && matches!(check.rule, Rule::Object(_))
}

/// Expands and validates a list of haechi check ids (`*` is every admissible check).
fn check_ids(
    ids: &[String],
    field: &str,
    invalid: &impl Fn(String, String) -> ConfigError,
) -> Result<Vec<&'static str>, ConfigError> {
    let mut out: Vec<&'static str> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let at = || format!("{field}[{i}]");
        let found: Vec<&'static str> = if id == "*" {
            checks::all()
                .filter(|c| admissible(c))
                .map(|c| c.meta.id)
                .collect()
        } else {
            let check = checks::find(id).ok_or_else(|| invalid(at(), unknown_check(id)))?;
            if check.meta.pss.is_some() {
                return Err(invalid(
                    at(),
                    format!(
                        "`{id}` is a Pod Security control: set the level (enforce, audit, warn) \
                         instead of listing it"
                    ),
                ));
            }
            if !admissible(check) {
                return Err(invalid(
                    at(),
                    format!(
                        "`{id}` looks across objects; the webhook sees one object at a time \
                         (run it with `haechi scan`)"
                    ),
                ));
            }
            vec![check.meta.id]
        };
        for id in found {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Namespace labels known to the webhook, by namespace name. Empty until a namespace watcher
/// fills it; the policy file's values apply to namespaces it does not know.
#[derive(Debug, Clone)]
pub struct NamespaceLabels {
    by_name: Arc<RwLock<HashMap<String, BTreeMap<String, String>>>>,
    /// False while a watcher has been started and has not finished its first list: the webhook
    /// is not ready then (it would judge pods by the wrong levels).
    synced: Arc<AtomicBool>,
}

impl Default for NamespaceLabels {
    fn default() -> Self {
        NamespaceLabels {
            by_name: Arc::default(),
            synced: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl NamespaceLabels {
    /// Records the labels of `namespace`.
    pub fn set(&self, namespace: &str, labels: BTreeMap<String, String>) {
        self.by_name
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(namespace.to_string(), labels);
    }

    /// Forgets `namespace`.
    pub fn remove(&self, namespace: &str) {
        self.by_name
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(namespace);
    }

    /// Replaces everything known with a complete list, and marks the cache synced.
    pub fn replace_all(&self, all: HashMap<String, BTreeMap<String, String>>) {
        *self.by_name.write().unwrap_or_else(PoisonError::into_inner) = all;
        self.synced.store(true, Ordering::Release);
    }

    /// Marks the cache as waiting for a first complete list.
    pub fn expect_sync(&self) {
        self.synced.store(false, Ordering::Release);
    }

    /// Whether the cache holds a complete list (always, when nothing fills it).
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// The labels of `namespace`, when known.
    pub fn get(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.by_name
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(namespace)
            .cloned()
    }
}

/// The policy in force and the file it comes from, re-read by [`PolicyFile::reload`].
#[derive(Debug)]
pub struct PolicyFile {
    path: Option<PathBuf>,
    current: ArcSwap<Policy>,
    /// The text last tried, so that an unchanged (or unchanged invalid) file is not parsed again.
    last: Mutex<String>,
}

impl PolicyFile {
    /// Loads `path`, or the built-in defaults without one.
    pub fn load(path: Option<&Path>) -> Result<PolicyFile, ConfigError> {
        let (policy, text) = match path {
            Some(path) => {
                let text = read(path)?;
                (Policy::parse(&text, path)?, text)
            }
            None => (Policy::default(), String::new()),
        };
        Ok(PolicyFile {
            path: path.map(Path::to_path_buf),
            current: ArcSwap::from_pointee(policy),
            last: Mutex::new(text),
        })
    }

    /// The policy in force.
    pub fn current(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Re-reads the file: `Ok(true)` when a new policy is in force, `Ok(false)` when the file
    /// did not change (or there is none), an error when the new text is not a valid policy (the
    /// old one stays in force).
    pub fn reload(&self) -> Result<bool, ConfigError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let text = read(path)?;
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if *last == text {
            return Ok(false);
        }
        *last = text;
        let policy = Policy::parse(&last, path)?;
        self.current.store(Arc::new(policy));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse(text, Path::new("admit.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_psa_like() {
        let policy = Policy::default();
        let ns = policy.namespace("team-a", None);
        assert_eq!(ns.level(Mode::Enforce).to_string(), "baseline:latest");
        assert_eq!(ns.level(Mode::Audit).to_string(), "restricted:latest");
        assert_eq!(ns.level(Mode::Warn).to_string(), "restricted:latest");
        assert!(ns.checks(Mode::Enforce).is_empty());
        assert!(!policy.honours_ignore_annotation("team-a"));
        assert!(policy.mutate.contains(&"pss-seccomp-restricted"));
    }

    #[test]
    fn namespaces_override_defaults_field_by_field() {
        let policy = parse(
            "defaults: {enforce: restricted, enforceVersion: v1.30}\n\
             namespaces:\n  legacy: {enforce: privileged}\n",
        )
        .unwrap();
        let legacy = policy.namespace("legacy", None);
        assert_eq!(legacy.level(Mode::Enforce).to_string(), "privileged:v1.30");
        let other = policy.namespace("other", None);
        assert_eq!(other.level(Mode::Enforce).to_string(), "restricted:v1.30");
    }

    #[test]
    fn labels_override_config_as_psa_does() {
        let policy = parse("defaults: {enforce: privileged, enforceVersion: v1.25}").unwrap();
        let labels = BTreeMap::from([(
            "pod-security.kubernetes.io/enforce".to_string(),
            "baseline".to_string(),
        )]);
        let ns = policy.namespace("x", Some(&labels));
        assert_eq!(ns.level(Mode::Enforce).to_string(), "baseline:latest");
        let labels = BTreeMap::from([(
            "pod-security.kubernetes.io/warn".to_string(),
            "strict".to_string(),
        )]);
        let ns = policy.namespace("x", Some(&labels));
        assert_eq!(ns.level(Mode::Enforce).to_string(), "restricted:latest");
        assert_eq!(ns.label_errors, ["pod-security.kubernetes.io/warn=strict"]);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = parse("namespaces: {a: {enforce: strict}}").unwrap_err();
        assert!(err.starts_with("admit.yaml: namespaces.a.enforce: unknown Pod Security level"));
        let err = parse("defaults: {checks: {warn: [no-such-check]}}").unwrap_err();
        assert!(err.starts_with("admit.yaml: defaults.checks.warn[0]: unknown check"));
        let err = parse("defaults: {checks: {warn: [pss-privileged]}}").unwrap_err();
        assert!(err.contains("is a Pod Security control"), "{err}");
        let err = parse("mutate: {checks: [nope]}").unwrap_err();
        assert!(err.starts_with("admit.yaml: mutate.checks[0]: unknown check"));
        let err = parse("defaults: {enforce: baseline, colour: red}").unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let err = parse("policy: {checks: {disable: [nope]}}").unwrap_err();
        assert!(
            err.starts_with("admit.yaml (policy): checks.disable[0]"),
            "{err}"
        );
    }

    #[test]
    fn star_lists_single_object_checks_only() {
        let policy = parse("defaults: {checks: {audit: ['*']}}").unwrap();
        let ns = policy.namespace("x", None);
        let audit = ns.checks(Mode::Audit);
        assert!(!audit.is_empty());
        for id in audit {
            let check = checks::find(id).unwrap();
            assert!(admissible(check), "{id}");
        }
    }

    #[test]
    fn the_documented_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/admit.yaml");
        let policy = Policy::load(&path).unwrap();
        let payments = policy.namespace("payments", None);
        assert_eq!(
            payments.level(Mode::Enforce).to_string(),
            "restricted:latest"
        );
        assert!(policy.honours_ignore_annotation("lab-7"));
        assert_eq!(policy.exemptions.namespaces, ["kube-system"]);
    }

    #[test]
    fn inline_policy_sets_engine_options() {
        let policy = parse("policy: {sandboxRuntimeClasses: [gvisor-x]}").unwrap();
        assert_eq!(policy.engine.options.sandbox_runtime_classes, ["gvisor-x"]);
    }
}
