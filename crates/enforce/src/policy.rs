//! The `HaechiPolicy` format: reading it, and checking every field before anything reaches
//! the kernel. Errors name the file, the field and what to do.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use crate::selector::Selector;

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML, or a field of the wrong type or name.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is well-formed but wrong.
    #[error("{path}: policy {policy}: {field}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The policy's name.
        policy: String,
        /// The field, e.g. `spec.rules[1].action`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// More policies than the kernel tables hold.
    #[error("{count} policies loaded; at most {max} can be enforced at once")]
    TooMany {
        /// Policies given.
        count: usize,
        /// The kernel's limit.
        max: usize,
    },
}

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Report only.
    Alert,
    /// The syscall fails with EPERM.
    Deny,
    /// SIGKILL before the syscall returns.
    Kill,
}

impl Action {
    /// As alerts and docs name it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Deny => "deny",
            Action::Kill => "kill",
        }
    }
}

/// Privileged operations a rule can forbid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// ptrace, process_vm_writev.
    Ptrace,
    /// init_module, finit_module, delete_module.
    Module,
    /// setuid and its family, capset.
    Setid,
    /// mount, umount2 and the new mount API.
    Mount,
    /// unshare, setns.
    Namespace,
    /// bpf.
    Bpf,
}

/// Which accesses a file rule covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Opens for reading.
    Read,
    /// Opens for writing, creating or truncating.
    Write,
    /// Both.
    #[default]
    Any,
}

/// A protected path: a directory prefix (ends with `/`) or one file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathMatch(pub String);

impl PathMatch {
    /// Whether it covers everything below a directory.
    pub fn is_directory(&self) -> bool {
        self.0.ends_with('/')
    }
}

/// One allowed destination of a default-deny egress rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Address ranges; empty: any address.
    pub cidrs: Vec<IpNet>,
    /// Inclusive port ranges; empty: any port.
    pub ports: Vec<(u16, u16)>,
    /// `TCP`/`UDP`; empty: both.
    pub protocols: Vec<Protocol>,
}

/// A domain an egress rule denies: one name (`c2.example.com`), or every name below one
/// (`*.example.com`, which does not cover `example.com` itself, as Cilium's `matchPattern`).
/// Stored lowercase, without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainPattern {
    /// Exactly this name.
    Name(String),
    /// Any name that ends with `.` and this.
    Below(String),
}

impl DomainPattern {
    /// Whether `name` (any case, trailing dot or not) is covered.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        match self {
            DomainPattern::Name(want) => name.eq_ignore_ascii_case(want),
            DomainPattern::Below(parent) => {
                name.len() > parent.len() + 1
                    && name.as_bytes()[name.len() - parent.len() - 1] == b'.'
                    && name[name.len() - parent.len()..].eq_ignore_ascii_case(parent)
            }
        }
    }

    fn parse(text: &str) -> Result<DomainPattern, String> {
        let lower = text.trim().to_ascii_lowercase();
        let lower = lower.strip_suffix('.').unwrap_or(&lower);
        let (below, name) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower),
        };
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(format!(
                "`{text}` is not a domain name (e.g. c2.example.com, or *.example.com for \
                 every name below it)"
            ));
        }
        Ok(if below {
            DomainPattern::Below(name.to_owned())
        } else {
            DomainPattern::Name(name.to_owned())
        })
    }
}

impl std::fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainPattern::Name(name) => f.write_str(name),
            DomainPattern::Below(parent) => write!(f, "*.{parent}"),
        }
    }
}

/// Transport protocols egress rules name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// What a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// Outgoing connections and datagrams.
    Egress {
        /// When present, only these destinations are allowed.
        allow: Option<Vec<Destination>>,
        /// Always refused.
        deny: Vec<IpNet>,
        /// Names whose addresses, as the container's DNS answers give them, are refused.
        domains: Vec<DomainPattern>,
    },
    /// Opens of paths.
    Files {
        /// Protected paths.
        paths: Vec<PathMatch>,
        /// Which opens.
        access: Access,
        /// Executables (resolved paths) the rule does not act on.
        except_binaries: Vec<String>,
    },
    /// Executions of binaries.
    Exec {
        /// Forbidden binaries or directories.
        paths: Vec<PathMatch>,
        /// Executables under `paths` that are allowed.
        except_binaries: Vec<String>,
    },
    /// Privileged syscalls.
    Privilege(Vec<Privilege>),
}

/// Which processes of a selected container a rule acts on, decided in the kernel per
/// process: both lists given must match; an empty list matches every process.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessSelector {
    /// The process's executable (resolved path, relative to the container's root) is one of
    /// these, or below one that ends with `/`.
    pub binaries: Vec<PathMatch>,
    /// The process, or a process it descends from (fork and exec, since it entered the
    /// container), ran one of these.
    pub ancestors: Vec<PathMatch>,
}

impl ProcessSelector {
    /// Whether it selects every process.
    pub fn is_empty(&self) -> bool {
        self.binaries.is_empty() && self.ancestors.is_empty()
    }
}

impl PathMatch {
    /// Whether `path` (a resolved executable path) is this file or below this directory.
    pub fn covers(&self, path: &str) -> bool {
        if self.is_directory() {
            path.starts_with(&self.0)
        } else {
            path == self.0
        }
    }
}

/// One rule of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its name, unique in the policy.
    pub name: String,
    /// Which processes it acts on.
    pub processes: ProcessSelector,
    /// What it matches.
    pub matches: Match,
    /// What it asks for.
    pub action: Action,
    /// What it settles for when the kernel cannot give `action`.
    pub fallback: Option<Action>,
}

/// A checked policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// `metadata.name`.
    pub name: String,
    /// The file it came from.
    pub source: PathBuf,
    /// Which containers it applies to.
    pub selector: Selector,
    /// Its rules, in order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPolicy {
    api_version: String,
    kind: String,
    metadata: RawMetadata,
    spec: RawSpec,
}

/// Kubernetes object metadata: only the name is read; labels and annotations may be there.
#[derive(Deserialize)]
struct RawMetadata {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    selector: crate::selector::RawSelector,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule {
    name: String,
    action: Action,
    #[serde(default)]
    fallback: Option<Action>,
    #[serde(default)]
    egress: Option<RawEgress>,
    #[serde(default)]
    files: Option<RawFiles>,
    #[serde(default)]
    exec: Option<RawExec>,
    #[serde(default)]
    privilege: Option<Vec<Privilege>>,
    #[serde(default)]
    binaries: Option<Vec<String>>,
    #[serde(default)]
    ancestors: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEgress {
    #[serde(default)]
    allow: Option<Vec<RawDestination>>,
    #[serde(default)]
    deny: Option<RawDeny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    #[serde(default)]
    cidrs: Vec<String>,
    #[serde(default)]
    ports: Vec<RawPort>,
    #[serde(default)]
    protocols: Vec<Protocol>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPort {
    One(u16),
    Range(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeny {
    #[serde(default)]
    cidrs: Vec<String>,
    #[serde(default)]
    domains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFiles {
    paths: Vec<String>,
    #[serde(default)]
    access: Access,
    #[serde(default)]
    except_binaries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExec {
    paths: Vec<String>,
    #[serde(default)]
    except_binaries: Vec<String>,
}

/// The API version policies are written against.
pub const API_VERSION: &str = "haechi.dev/v1alpha1";
/// The kind of a policy document.
pub const KIND: &str = "HaechiPolicy";

/// Reads every policy in `path` (documents separated by `---`).
pub fn read_file(path: &Path) -> Result<Vec<Policy>, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses and checks the policies in `text`; `path` names them in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Policy>, PolicyError> {
    let raw: Vec<RawPolicy> =
        serde_saphyr::from_multiple(text).map_err(|e| PolicyError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    raw.into_iter().map(|raw| check(raw, path)).collect()
}

struct Checker<'a> {
    path: &'a Path,
    policy: String,
}

impl Checker<'_> {
    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> PolicyError {
        PolicyError::Invalid {
            path: self.path.to_owned(),
            policy: self.policy.clone(),
            field: field.into(),
            message: message.into(),
        }
    }
}

fn check(raw: RawPolicy, path: &Path) -> Result<Policy, PolicyError> {
    let cx = Checker {
        path,
        policy: raw.metadata.name.clone(),
    };
    if raw.api_version != API_VERSION {
        return Err(cx.invalid(
            "apiVersion",
            format!(
                "`{}` is not supported; write `{API_VERSION}`",
                raw.api_version
            ),
        ));
    }
    if raw.kind != KIND {
        return Err(cx.invalid("kind", format!("`{}`: write `{KIND}`", raw.kind)));
    }
    if raw.metadata.name.trim().is_empty() {
        return Err(cx.invalid("metadata.name", "must not be empty"));
    }
    let selector = raw
        .spec
        .selector
        .check()
        .map_err(|(field, message)| cx.invalid(format!("spec.selector.{field}"), message))?;
    if raw.spec.rules.is_empty() {
        return Err(cx.invalid("spec.rules", "a policy needs at least one rule"));
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (i, rule) in raw.spec.rules.into_iter().enumerate() {
        let field = format!("spec.rules[{i}]");
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(cx.invalid(
                format!("{field}.name"),
                format!("`{}` is used twice", rule.name),
            ));
        }
        rules.push(check_rule(rule, &field, &cx)?);
    }
    Ok(Policy {
        name: raw.metadata.name,
        source: path.to_owned(),
        selector,
        rules,
    })
}

fn check_rule(raw: RawRule, field: &str, cx: &Checker<'_>) -> Result<Rule, PolicyError> {
    let given = [
        raw.egress.is_some(),
        raw.files.is_some(),
        raw.exec.is_some(),
        raw.privilege.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(cx.invalid(
            field,
            "a rule matches exactly one of `egress`, `files`, `exec`, `privilege`",
        ));
    }
    let matches = if let Some(egress) = raw.egress {
        check_egress(egress, &format!("{field}.egress"), cx)?
    } else if let Some(files) = raw.files {
        let field = format!("{field}.files");
        Match::Files {
            paths: check_paths(&files.paths, &format!("{field}.paths"), cx)?,
            access: files.access,
            except_binaries: check_binaries(
                files.except_binaries,
                &format!("{field}.exceptBinaries"),
                cx,
            )?,
        }
    } else if let Some(exec) = raw.exec {
        let field = format!("{field}.exec");
        Match::Exec {
            paths: check_paths(&exec.paths, &format!("{field}.paths"), cx)?,
            except_binaries: check_binaries(
                exec.except_binaries,
                &format!("{field}.exceptBinaries"),
                cx,
            )?,
        }
    } else {
        let classes = raw.privilege.unwrap_or_default();
        if classes.is_empty() {
            return Err(cx.invalid(
                format!("{field}.privilege"),
                "name at least one of ptrace, module, setid, mount, namespace, bpf",
            ));
        }
        Match::Privilege(classes)
    };
    let mut processes = ProcessSelector::default();
    for (list, name, out) in [
        (raw.binaries, "binaries", &mut processes.binaries),
        (raw.ancestors, "ancestors", &mut processes.ancestors),
    ] {
        let Some(list) = list else { continue };
        let field = format!("{field}.{name}");
        if list.is_empty() {
            return Err(cx.invalid(
                field,
                "name at least one executable (or leave the field out: every process)",
            ));
        }
        *out = check_paths(&list, &field, cx)?;
        out.sort();
        out.dedup();
    }
    Ok(Rule {
        name: raw.name,
        processes,
        matches,
        action: raw.action,
        fallback: raw.fallback,
    })
}

fn check_egress(raw: RawEgress, field: &str, cx: &Checker<'_>) -> Result<Match, PolicyError> {
    let (deny, domains) = match raw.deny {
        Some(deny) => (
            deny.cidrs
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    parse_cidr(c).map_err(|m| cx.invalid(format!("{field}.deny.cidrs[{i}]"), m))
                })
                .collect::<Result<Vec<_>, _>>()?,
            deny.domains
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    DomainPattern::parse(d)
                        .map_err(|m| cx.invalid(format!("{field}.deny.domains[{i}]"), m))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let allow = match raw.allow {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for (i, dest) in list.into_iter().enumerate() {
                let field = format!("{field}.allow[{i}]");
                let cidrs = dest
                    .cidrs
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        parse_cidr(c).map_err(|m| cx.invalid(format!("{field}.cidrs[{j}]"), m))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let ports = dest
                    .ports
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        parse_port(p).map_err(|m| cx.invalid(format!("{field}.ports[{j}]"), m))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(Destination {
                    cidrs,
                    ports,
                    protocols: dest.protocols,
                });
            }
            Some(out)
        }
    };
    if allow.is_none() && deny.is_empty() && domains.is_empty() {
        return Err(cx.invalid(field, "give `allow` (everything else is refused) or `deny`"));
    }
    Ok(Match::Egress {
        allow,
        deny,
        domains,
    })
}

fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net = if text.contains('/') {
        text.parse::<IpNet>().ok()
    } else {
        text.parse::<std::net::IpAddr>().ok().map(IpNet::from)
    };
    net.map(|n| n.trunc())
        .ok_or(())
        .map_err(|_| format!("`{text}` is not an address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)"))
}

fn parse_port(port: &RawPort) -> Result<(u16, u16), String> {
    match port {
        RawPort::One(0) => Err("port 0 is not a destination port".into()),
        RawPort::One(p) => Ok((*p, *p)),
        RawPort::Range(text) => {
            let bad = || format!("`{text}`: write a port (53) or a range (\"8000-8080\")");
            let (low, high) = text.split_once('-').ok_or_else(bad)?;
            let low: u16 = low.trim().parse().map_err(|_| bad())?;
            let high: u16 = high.trim().parse().map_err(|_| bad())?;
            if low == 0 || low > high {
                return Err(bad());
            }
            Ok((low, high))
        }
    }
}

fn check_paths(
    paths: &[String],
    field: &str,
    cx: &Checker<'_>,
) -> Result<Vec<PathMatch>, PolicyError> {
    if paths.is_empty() {
        return Err(cx.invalid(field, "name at least one path"));
    }
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let field = format!("{field}[{i}]");
            if !p.starts_with('/') {
                return Err(cx.invalid(field, format!("`{p}` is not absolute")));
            }
            if p.contains('\0') || p.split('/').any(|c| c == "..") {
                return Err(cx.invalid(field, format!("`{p}` must not contain `..` or NUL")));
            }
            if p.len() > MAX_PATH {
                return Err(cx.invalid(
                    field,
                    format!("`{p}` is longer than the kernel compares ({MAX_PATH} bytes)"),
                ));
            }
            Ok(PathMatch(p.clone()))
        })
        .collect()
}

/// Longest path a rule can name: the kernel key holds a policy byte, the path and its NUL.
pub const MAX_PATH: usize = haechi_sensor::abi::PREFIX_MAX - 2;

fn check_binaries(
    list: Vec<String>,
    field: &str,
    cx: &Checker<'_>,
) -> Result<Vec<String>, PolicyError> {
    for (i, b) in list.iter().enumerate() {
        if !b.starts_with('/') || b.ends_with('/') || b.len() >= haechi_sensor::abi::EXE_MAX {
            return Err(cx.invalid(
                format!("{field}[{i}]"),
                format!(
                    "`{b}`: name an executable by its absolute path, as the kernel resolves it"
                ),
            ));
        }
    }
    Ok(list)
}
