//! The OCI / Docker seccomp profile format: reading it (with the file, line and column of a
//! mistake), writing it, and what a profile allows on one architecture.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::arch::Arch;

/// The largest profile read: Docker's default, the largest real one, is about 20 KiB.
pub const MAX_PROFILE: u64 = 4 << 20;

/// The errno a blocked syscall returns in haechi's profiles: EPERM.
pub const EPERM: u32 = 1;

/// Actions libseccomp knows, as profiles write them.
pub const ACTIONS: [&str; 10] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_USER_NOTIF",
];

/// Capabilities Docker and containerd grant a container by default; Docker's profile allows
/// some syscalls only to containers that hold a capability.
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A seccomp profile as Docker, containerd, CRI-O and the kubelet's `Localhost` profiles read
/// it: the OCI runtime spec's `linux.seccomp` plus Docker's `archMap`, `includes`, `excludes`
/// and `comment`. Unknown fields are refused, so a misspelt one is reported, not ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// What a syscall no rule names gets.
    pub default_action: String,
    /// The errno of `SCMP_ACT_ERRNO` as the default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Architectures the filter accepts (`SCMP_ARCH_*`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architectures: Vec<String>,
    /// Docker's form: each architecture with its sub-architectures.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arch_map: Vec<ArchMap>,
    /// seccomp(2) flags.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<String>,
    /// Unix socket of a seccomp agent (`SCMP_ACT_NOTIFY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    /// Opaque data for that agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    /// The rules, in order.
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<Rule>,
}

/// Docker's `archMap` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchMap {
    /// The main architecture.
    pub architecture: String,
    /// Architectures accepted with it.
    #[serde(default, deserialize_with = "nullable")]
    pub sub_architectures: Vec<String>,
}

/// One rule: syscalls by name, and what they get.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Syscall names.
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
    /// `SCMP_ACT_*`.
    pub action: String,
    /// errno for `SCMP_ACT_ERRNO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Argument conditions; the rule applies only when all hold.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<Arg>,
    /// Free text (Docker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Docker: the rule applies only with these capabilities / architectures / kernel.
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub includes: Filter,
    /// Docker: the rule does not apply with these.
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub excludes: Filter,
}

/// An argument condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arg {
    /// Argument index, 0 to 5.
    pub index: u32,
    /// Compared value.
    #[serde(default)]
    pub value: u64,
    /// Second value (`SCMP_CMP_MASKED_EQ`).
    #[serde(default)]
    pub value_two: u64,
    /// `SCMP_CMP_*`.
    pub op: String,
}

/// Docker's rule conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Capabilities (`CAP_*`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub caps: Vec<String>,
    /// Go architecture names (`amd64`, `arm64`, ...).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arches: Vec<String>,
    /// Lowest kernel version (`4.8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// Reads `null` as the empty value: Docker's profile writes `"args": null`.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Whether an action lets the syscall run.
fn allows(action: &str) -> bool {
    matches!(action, "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG")
}

impl Profile {
    /// The least-privilege profile for `names` on `arches`: everything else fails with EPERM.
    /// `extra` (with why, as the rule's comment) is allowed in a second rule, minus what
    /// `names` already has.
    pub fn allow_list(
        arches: &[Arch],
        names: &BTreeSet<String>,
        extra: Option<(&BTreeSet<String>, &str)>,
    ) -> Profile {
        let mut syscalls = vec![Rule {
            names: names.iter().cloned().collect(),
            action: "SCMP_ACT_ALLOW".into(),
            ..Rule::default()
        }];
        if let Some((extra, why)) = extra {
            let extra: Vec<String> = extra.difference(names).cloned().collect();
            if !extra.is_empty() {
                syscalls.push(Rule {
                    names: extra,
                    action: "SCMP_ACT_ALLOW".into(),
                    comment: Some(why.into()),
                    ..Rule::default()
                });
            }
        }
        Profile {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(EPERM),
            architectures: arches.iter().map(|a| a.scmp().to_owned()).collect(),
            syscalls,
            ..Profile::default()
        }
    }

    /// Parses a profile: OCI / Docker JSON, or a security-profiles-operator `SeccompProfile`
    /// object in YAML (what `record --format spo` writes); `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, Error> {
        if !text.trim_start().starts_with('{') {
            return SpoProfile::parse(text, origin);
        }
        serde_json::from_str(text).map_err(|e| Error::Parse {
            file: origin.into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a profile file: a regular file (a FIFO or a device is refused, never
    /// opened) of at most [`MAX_PROFILE`] bytes, whatever size it reports.
    pub fn read(path: &Path) -> Result<Profile, Error> {
        let io = |source| Error::Io {
            path: path.into(),
            source,
        };
        if !std::fs::metadata(path).map_err(io)?.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a directory, FIFO, socket or device)",
            )));
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_PROFILE + 1).read_to_string(&mut text))
            .map_err(io)?;
        if text.len() as u64 > MAX_PROFILE {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than {MAX_PROFILE} bytes; no seccomp profile is"),
            )));
        }
        Profile::parse(&text, &path.display().to_string())
    }

    /// The profile as pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("profiles serialize");
        text.push('\n');
        text
    }

    /// Whether the profile is an allow list (blocks what it does not name).
    pub fn is_allow_list(&self) -> bool {
        !allows(&self.default_action)
    }

    /// The architectures the profile names, main ones and Docker's `archMap` together.
    pub fn arches(&self) -> BTreeSet<Arch> {
        self.architectures
            .iter()
            .chain(self.arch_map.iter().map(|m| &m.architecture))
            .filter_map(|name| Arch::from_scmp(name))
            .collect()
    }

    /// Whether `rule` applies to a container on `arch` with Docker's default capabilities.
    /// A `minKernel` is taken as met (the comparison is about current kernels).
    fn applies(rule: &Rule, arch: Arch) -> bool {
        let arch_ok = |arches: &[String]| arches.iter().any(|a| a == arch.go());
        let caps_ok = |caps: &[String]| caps.iter().all(|c| DEFAULT_CAPS.contains(&c.as_str()));
        let include = (rule.includes.arches.is_empty() || arch_ok(&rule.includes.arches))
            && caps_ok(&rule.includes.caps);
        let exclude = (!rule.excludes.arches.is_empty() && arch_ok(&rule.excludes.arches))
            || (!rule.excludes.caps.is_empty()
                && rule
                    .excludes
                    .caps
                    .iter()
                    .any(|c| DEFAULT_CAPS.contains(&c.as_str())));
        include && !exclude
    }

    /// The profile as a runtime applies it on `arch` to a container with Docker's default
    /// capabilities: Docker's conditions resolved, `archMap` turned into `architectures`.
    pub fn resolved(&self, arch: Arch) -> Profile {
        let mut profile = self.clone();
        profile.syscalls.retain(|r| Profile::applies(r, arch));
        for rule in &mut profile.syscalls {
            rule.includes = Filter::default();
            rule.excludes = Filter::default();
        }
        if let Some(map) = self.arch_map.iter().find(|m| m.architecture == arch.scmp()) {
            profile.architectures = std::iter::once(&map.architecture)
                .chain(&map.sub_architectures)
                .cloned()
                .collect();
        }
        profile.arch_map.clear();
        profile
    }

    /// For each syscall of `arch`'s table an allow list lets a container with Docker's default
    /// capabilities make: always, or only when some rule's argument conditions hold.
    pub fn allowances(&self, arch: Arch) -> BTreeMap<&'static str, Allowance> {
        let mut out: BTreeMap<&'static str, Allowance> = BTreeMap::new();
        if !self.is_allow_list() {
            return out;
        }
        let table = arch.names();
        let rules = self
            .syscalls
            .iter()
            .filter(|r| Profile::applies(r, arch) && allows(&r.action));
        for rule in rules {
            let condition: Condition = rule.args.iter().map(ArgCondition::of).collect();
            for name in table.iter().filter(|n| rule.names.iter().any(|r| r == *n)) {
                let entry = out
                    .entry(name)
                    .or_insert_with(|| Allowance::When(BTreeSet::new()));
                entry.add(condition.clone());
            }
        }
        out
    }

    /// The architecture names the profile lists (`architectures`, then `archMap`'s main and
    /// sub-architectures), in order, each once.
    pub fn architecture_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let listed = self.architectures.iter().chain(
            (self.arch_map.iter())
                .flat_map(|m| std::iter::once(&m.architecture).chain(&m.sub_architectures)),
        );
        for name in listed {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// The syscalls of `arch`'s table that a container with Docker's default capabilities may
    /// make under this profile, at least with some arguments.
    pub fn allowed(&self, arch: Arch) -> BTreeSet<&'static str> {
        let table = arch.names();
        let rules = self.syscalls.iter().filter(|r| Profile::applies(r, arch));
        if self.is_allow_list() {
            let named: BTreeSet<&str> = rules
                .filter(|r| allows(&r.action))
                .flat_map(|r| r.names.iter().map(String::as_str))
                .collect();
            table.into_iter().filter(|n| named.contains(n)).collect()
        } else {
            // A deny list: what an unconditional blocking rule names is not allowed.
            let blocked: BTreeSet<&str> = rules
                .filter(|r| !allows(&r.action) && r.args.is_empty())
                .flat_map(|r| r.names.iter().map(String::as_str))
                .collect();
            table.into_iter().filter(|n| !blocked.contains(n)).collect()
        }
    }
}

/// One argument condition, comparable: (index, op, value, valueTwo).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArgCondition {
    /// Argument index.
    pub index: u32,
    /// `SCMP_CMP_*`.
    pub op: String,
    /// Compared value.
    pub value: u64,
    /// Second value (`SCMP_CMP_MASKED_EQ`).
    pub value_two: u64,
}

impl ArgCondition {
    fn of(arg: &Arg) -> ArgCondition {
        ArgCondition {
            index: arg.index,
            op: arg.op.clone(),
            value: arg.value,
            value_two: arg.value_two,
        }
    }

    /// Back to the profile's form.
    pub fn arg(&self) -> Arg {
        Arg {
            index: self.index,
            op: self.op.clone(),
            value: self.value,
            value_two: self.value_two,
        }
    }
}

impl fmt::Display for ArgCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.op.trim_start_matches("SCMP_CMP_");
        match op {
            "MASKED_EQ" => write!(
                f,
                "arg{} & {:#x} == {:#x}",
                self.index, self.value, self.value_two
            ),
            _ => {
                let symbol = match op {
                    "EQ" => "==",
                    "NE" => "!=",
                    "LT" => "<",
                    "LE" => "<=",
                    "GT" => ">",
                    "GE" => ">=",
                    other => other,
                };
                write!(f, "arg{} {symbol} {:#x}", self.index, self.value)
            }
        }
    }
}

/// The conditions of one rule, all of which must hold.
pub type Condition = Vec<ArgCondition>;

/// When a syscall is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// Whatever its arguments.
    Always,
    /// When any of these conditions holds.
    When(BTreeSet<Condition>),
}

impl Allowance {
    /// Adds what one more rule allows: an empty condition allows always.
    pub fn add(&mut self, condition: Condition) {
        match self {
            Allowance::Always => {}
            _ if condition.is_empty() => *self = Allowance::Always,
            Allowance::When(conditions) => {
                conditions.insert(condition);
            }
        }
    }

    /// Adds everything `other` allows.
    pub fn union(&mut self, other: &Allowance) {
        match other {
            Allowance::Always => *self = Allowance::Always,
            Allowance::When(conditions) => {
                for c in conditions {
                    self.add(c.clone());
                }
            }
        }
    }
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowance::Always => f.write_str("always"),
            Allowance::When(conditions) => {
                let text: Vec<String> = conditions
                    .iter()
                    .map(|c| {
                        c.iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(" && ")
                    })
                    .collect();
                write!(f, "when {}", text.join(" or "))
            }
        }
    }
}

/// The security-profiles-operator's API group; `SeccompProfile` objects are read in any of its
/// versions and written in [`SPO_API_VERSION`].
const SPO_GROUP: &str = "security-profiles-operator.x-k8s.io";

/// The version the operator stores `SeccompProfile` objects in.
pub const SPO_API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1";

/// A security-profiles-operator `SeccompProfile` object holding a profile.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpoProfile {
    api_version: String,
    kind: String,
    metadata: SpoMetadata,
    spec: SpoSpec,
}

#[derive(Debug, Serialize, Deserialize)]
struct SpoMetadata {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

/// The operator's spec has no `defaultErrnoRet` (runtimes default to EPERM), no Docker
/// conditions and no comments: rules are flattened to names, action, errno and args.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpoSpec {
    default_action: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    architectures: Vec<String>,
    #[serde(default)]
    syscalls: Vec<SpoRule>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpoRule {
    action: String,
    names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    errno_ret: Option<SpoErrno>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    args: Vec<Arg>,
}

/// An errno as the operator's objects carry it: written as a string, read as either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum SpoErrno {
    Text(String),
    Number(u32),
}

impl SpoErrno {
    fn value(&self) -> Option<u32> {
        match self {
            SpoErrno::Text(text) => text.trim().parse().ok(),
            SpoErrno::Number(n) => Some(*n),
        }
    }
}

impl SpoProfile {
    /// Wraps `profile` as object `name` in `namespace`. Rules with the same action and no
    /// arguments are merged; Docker's `includes`/`excludes` cannot be expressed and are
    /// refused.
    pub fn new(profile: &Profile, name: &str, namespace: Option<&str>) -> Result<Self, Error> {
        let mut syscalls: Vec<SpoRule> = Vec::new();
        for rule in &profile.syscalls {
            if !rule.includes.is_empty() || !rule.excludes.is_empty() {
                return Err(Error::Convert(format!(
                    "rule for {} has Docker includes/excludes, which a SeccompProfile cannot \
                     express; resolve them first (haechi seccomp merge writes plain rules)",
                    rule.names.join(", ")
                )));
            }
            let errno_ret = rule.errno_ret.map(|e| SpoErrno::Text(e.to_string()));
            let mergeable = |r: &SpoRule| {
                r.action == rule.action
                    && r.errno_ret == errno_ret
                    && r.args.is_empty()
                    && rule.args.is_empty()
            };
            match syscalls.iter_mut().find(|r| mergeable(r)) {
                Some(r) => r.names.extend(rule.names.iter().cloned()),
                None => syscalls.push(SpoRule {
                    action: rule.action.clone(),
                    names: rule.names.clone(),
                    errno_ret,
                    args: rule.args.clone(),
                }),
            }
        }
        for rule in &mut syscalls {
            rule.names.sort();
            rule.names.dedup();
        }
        Ok(SpoProfile {
            api_version: SPO_API_VERSION.into(),
            kind: "SeccompProfile".into(),
            metadata: SpoMetadata {
                name: name.into(),
                namespace: namespace.map(Into::into),
            },
            spec: SpoSpec {
                default_action: profile.default_action.clone(),
                architectures: profile.architectures.clone(),
                syscalls,
            },
        })
    }

    /// The object as YAML, for `kubectl apply -f`.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).expect("SeccompProfile objects serialize")
    }

    /// The profile a `SeccompProfile` object in YAML holds (any version of the operator's API);
    /// `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, Error> {
        let error = |line: u64, column: u64, message: String| Error::Parse {
            file: origin.into(),
            line: line as usize,
            column: column as usize,
            message,
        };
        let object: SpoProfile = serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location();
            let (line, column) = at.map_or((1, 1), |l| (l.line(), l.column()));
            error(
                line,
                column,
                format!("neither seccomp JSON nor a SeccompProfile object: {e}"),
            )
        })?;
        let group = object.api_version.split('/').next().unwrap_or_default();
        if group != SPO_GROUP || object.kind != "SeccompProfile" {
            return Err(error(
                1,
                1,
                format!(
                    "{} {} is not a SeccompProfile of {SPO_GROUP}",
                    object.api_version, object.kind
                ),
            ));
        }
        let mut syscalls = Vec::new();
        for rule in object.spec.syscalls {
            let errno_ret =
                match &rule.errno_ret {
                    None => None,
                    Some(errno) => Some(errno.value().ok_or_else(|| {
                        error(1, 1, format!("errnoRet {errno:?} is not a number"))
                    })?),
                };
            syscalls.push(Rule {
                names: rule.names,
                action: rule.action,
                errno_ret,
                args: rule.args,
                ..Rule::default()
            });
        }
        Ok(Profile {
            default_action: object.spec.default_action,
            // The operator has no defaultErrnoRet: runtimes default to EPERM.
            default_errno_ret: None,
            architectures: object.spec.architectures,
            syscalls,
            ..Profile::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_is_the_oci_shape() {
        let names: BTreeSet<String> = ["read", "write"].map(String::from).into();
        let extra: BTreeSet<String> = ["write", "futex"].map(String::from).into();
        let p = Profile::allow_list(&[Arch::X86_64], &names, Some((&extra, "runtime")));
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [
                    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["futex"], "action": "SCMP_ACT_ALLOW", "comment": "runtime"}
                ]
            })
        );
        assert_eq!(Profile::parse(&p.to_json(), "p").unwrap(), p, "round trip");
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let err = Profile::parse(
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"sycalls\": []\n}",
            "p.json",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("p.json:3:"), "{err}");
        assert!(err.contains("unknown field `sycalls`"), "{err}");
    }

    #[test]
    fn spo_object_merges_plain_rules() {
        let names: BTreeSet<String> = ["read", "write"].map(String::from).into();
        let extra: BTreeSet<String> = ["futex"].map(String::from).into();
        let p = Profile::allow_list(&[Arch::X86_64], &names, Some((&extra, "runtime")));
        let yaml = SpoProfile::new(&p, "web", Some("shop")).unwrap().to_yaml();
        let value: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "apiVersion": "security-profiles-operator.x-k8s.io/v1",
                "kind": "SeccompProfile",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "defaultAction": "SCMP_ACT_ERRNO",
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": ["futex", "read", "write"]}]
                }
            })
        );
        // Read back, it is the same profile but for defaultErrnoRet, which the operator lacks.
        let back = Profile::parse(&yaml, "web.yaml").unwrap();
        assert_eq!(back.allowed(Arch::X86_64), p.allowed(Arch::X86_64));
        assert_eq!(back.architectures, p.architectures);
        let older = yaml.replace("/v1\n", "/v1beta1\n");
        assert!(
            Profile::parse(&older, "old.yaml").is_ok(),
            "v1beta1 reads too"
        );
        let other = yaml.replace("SeccompProfile", "ConfigMap");
        assert!(
            Profile::parse(&other, "cm.yaml")
                .unwrap_err()
                .to_string()
                .contains("not a SeccompProfile")
        );
        let docker = crate::check::docker_default();
        assert!(
            SpoProfile::new(&docker, "d", None).is_err(),
            "Docker conditions refused"
        );
        assert!(SpoProfile::new(&docker.resolved(Arch::X86_64), "d", None).is_ok());
    }

    #[test]
    fn resolving_docker_conditions_for_an_arch() {
        let docker = crate::check::docker_default();
        let resolved = docker.resolved(Arch::X86_64);
        assert_eq!(
            resolved.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        assert!(resolved.arch_map.is_empty());
        assert_eq!(resolved.allowed(Arch::X86_64), docker.allowed(Arch::X86_64));
    }
}
