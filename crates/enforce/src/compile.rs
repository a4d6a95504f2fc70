//! Policies → the kernel's tables: which action each rule really gets on the kernel at hand
//! (with or without BPF-LSM), rule ids for alerts, and one entry per path, range and class.

use haechi_sensor::abi::{
    self, ExceptionKey, NetAllow, NetPolicy, PolicyPathData, PrivilegeRules, Verdict,
};
use haechi_sensor::enforce::{NetRule, PathRule, Tables};
use ipnet::IpNet;

use crate::policy::{
    Access, Action, DomainPattern, Match, PathMatch, Policy, PolicyError, Privilege, Protocol, Rule,
};
use crate::selector::Target;

/// What alerts say about a rule the kernel acted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// The policy's name.
    pub policy: String,
    /// The rule's name.
    pub rule: String,
    /// The action the kernel takes (after any fallback).
    pub action: Action,
    /// What it was asked for, when the fallback replaced it.
    pub requested: Option<Action>,
}

/// A rule that denies domains. The kernel knows no names: the agent reads the DNS answers
/// the policy's containers receive and denies the addresses a covered name resolved to, under
/// the rule's verdict, beside the policy's fixed ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRule {
    /// Index of its policy (its bit in a cgroup's scope).
    pub policy: u8,
    /// The names it covers.
    pub patterns: Vec<DomainPattern>,
    /// What the kernel does to a connection to a learned address.
    pub verdict: Verdict,
}

/// What the kernel offers enforcement beyond tracepoints and cgroup socket hooks (which every
/// kernel haechi runs on has).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    /// BPF-LSM programs load and run: `deny` for files, executables and the ptrace, setid and
    /// bpf privilege classes.
    pub lsm: bool,
}

/// Policies ready for the kernel.
#[derive(Clone, Debug)]
pub struct Compiled {
    hooks: Hooks,
    policies: Vec<Policy>,
    rules: Vec<RuleInfo>,
    tables: Tables,
    domain_rules: Vec<DomainRule>,
}

impl Compiled {
    /// Compiles `policies` for a kernel without BPF-LSM; see [`Compiled::for_hooks`].
    pub fn new(policies: Vec<Policy>) -> Result<Self, PolicyError> {
        Self::for_hooks(policies, Hooks::default())
    }

    /// Compiles `policies` for a kernel that offers `hooks`; policy i gets bit i of a cgroup's
    /// scope. Fails on a rule that asks for an action its hook cannot give and names no
    /// fallback that it can.
    pub fn for_hooks(policies: Vec<Policy>, hooks: Hooks) -> Result<Self, PolicyError> {
        if policies.len() > abi::POLICY_MAX {
            return Err(PolicyError::TooMany {
                count: policies.len(),
                max: abi::POLICY_MAX,
            });
        }
        let mut compiled = Compiled {
            hooks,
            policies: Vec::new(),
            rules: Vec::new(),
            tables: Tables::default(),
            domain_rules: Vec::new(),
        };
        for (index, policy) in policies.iter().enumerate() {
            compiled.add(index as u8, policy)?;
        }
        compiled.policies = policies;
        Ok(compiled)
    }

    /// The hooks the policies were compiled for: the BPF-LSM programs must be attached when
    /// `lsm` is set, since `deny` rules then count on them.
    pub fn hooks(&self) -> Hooks {
        self.hooks
    }

    /// The tables to load.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The policies, in bit order.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The rule with kernel id `id`.
    pub fn rule(&self, id: u32) -> Option<&RuleInfo> {
        self.rules.get((id as usize).checked_sub(1)?)
    }

    /// The policies whose containers' DNS answers the kernel must hand over (bit i: policy i).
    pub fn dns_policies(&self) -> u32 {
        self.domain_rules
            .iter()
            .fold(0, |mask, rule| mask | 1 << rule.policy)
    }

    /// The domain rules of the policies in `scope` that cover `name`.
    pub fn domain_rules_for<'a>(
        &'a self,
        scope: u32,
        name: &'a str,
    ) -> impl Iterator<Item = &'a DomainRule> {
        self.domain_rules.iter().filter(move |rule| {
            scope & (1 << rule.policy) != 0 && rule.patterns.iter().any(|p| p.matches(name))
        })
    }

    /// Every rule, in id order (id 1 first).
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// The scope mask of the policies that select `target`.
    pub fn scope(&self, target: &Target<'_>) -> u32 {
        self.policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.selector.selects(target))
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }

    /// Names of the policies in `mask`.
    pub fn names(&self, mask: u32) -> Vec<&str> {
        self.policies
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, p)| p.name.as_str())
            .collect()
    }

    fn add(&mut self, index: u8, policy: &Policy) -> Result<(), PolicyError> {
        let mut net: Option<NetPolicy> = None;
        let mut privilege: Option<PrivilegeRules> = None;
        for (i, rule) in policy.rules.iter().enumerate() {
            let invalid = |field: &str, message: String| PolicyError::Invalid {
                path: policy.source.clone(),
                policy: policy.name.clone(),
                field: format!("spec.rules[{i}]{field}"),
                message,
            };
            let action = effective_action(rule, self.hooks).map_err(|m| invalid(".action", m))?;
            self.rules.push(RuleInfo {
                policy: policy.name.clone(),
                rule: rule.name.clone(),
                action,
                requested: (action != rule.action).then_some(rule.action),
            });
            let id = self.rules.len() as u32;
            let verdict = |access: u8, has_exceptions: bool| Verdict {
                rule: id,
                action: action_code(action),
                access,
                has_exceptions: u8::from(has_exceptions),
                _pad: 0,
            };
            match &rule.matches {
                Match::Egress {
                    allow,
                    deny,
                    domains,
                } => {
                    for net in deny {
                        self.tables
                            .net_denied
                            .push(net_rule(index, net, verdict(0, false)));
                    }
                    if !domains.is_empty() {
                        self.domain_rules.push(DomainRule {
                            policy: index,
                            patterns: domains.clone(),
                            verdict: verdict(0, false),
                        });
                    }
                    if let Some(allow) = allow {
                        if net.is_some() {
                            return Err(invalid(
                                ".egress.allow",
                                "one rule per policy may list allowed destinations; merge them"
                                    .into(),
                            ));
                        }
                        net = Some(
                            net_policy(allow, verdict(0, false))
                                .map_err(|m| invalid(".egress.allow", m))?,
                        );
                    }
                }
                Match::Files {
                    paths,
                    access,
                    except_binaries,
                } => {
                    let access = match access {
                        Access::Read => abi::ACCESS_READ,
                        Access::Write => abi::ACCESS_WRITE,
                        Access::Any => abi::ACCESS_READ | abi::ACCESS_WRITE,
                    };
                    let v = verdict(access, !except_binaries.is_empty());
                    self.add_paths(index, paths, v, false)
                        .map_err(|m| invalid(".files.paths", m))?;
                    self.add_exceptions(id, except_binaries);
                }
                Match::Exec {
                    paths,
                    except_binaries,
                } => {
                    let v = verdict(
                        abi::ACCESS_READ | abi::ACCESS_WRITE,
                        !except_binaries.is_empty(),
                    );
                    self.add_paths(index, paths, v, true)
                        .map_err(|m| invalid(".exec.paths", m))?;
                    self.add_exceptions(id, except_binaries);
                }
                Match::Privilege(classes) => {
                    let rules = privilege.get_or_insert_with(PrivilegeRules::default);
                    for class in classes {
                        let slot = &mut rules.rules[class_index(*class)];
                        if slot.rule != 0 {
                            return Err(invalid(
                                ".privilege",
                                format!("{class:?} is already covered by an earlier rule"),
                            ));
                        }
                        *slot = verdict(0, false);
                    }
                }
            }
        }
        if let Some(net) = net {
            self.tables.net_policies.push((index.into(), net));
        }
        if let Some(privilege) = privilege {
            self.tables.privilege.push((index.into(), privilege));
        }
        Ok(())
    }

    fn add_paths(
        &mut self,
        index: u8,
        paths: &[PathMatch],
        verdict: Verdict,
        exec: bool,
    ) -> Result<(), String> {
        for path in paths {
            // /var/run is a symlink to /run on most images, and the kernel matches the
            // resolved path: cover both spellings.
            let alias = path
                .0
                .strip_prefix("/var/run/")
                .map(|rest| format!("/run/{rest}"));
            for text in std::iter::once(path.0.as_str()).chain(alias.as_deref()) {
                let rule = path_rule(index, text, path.is_directory(), verdict);
                let table = if exec {
                    &mut self.tables.exec_rules
                } else {
                    &mut self.tables.file_rules
                };
                if table
                    .iter()
                    .any(|r| r.data == rule.data && r.bits == rule.bits)
                {
                    return Err(format!("`{text}` is already covered by an earlier rule"));
                }
                table.push(rule);
            }
        }
        Ok(())
    }

    fn add_exceptions(&mut self, rule: u32, binaries: &[String]) {
        for binary in binaries {
            let mut exe = [0u8; abi::EXE_MAX];
            exe[..binary.len()].copy_from_slice(binary.as_bytes());
            self.tables.exceptions.push(ExceptionKey { rule, exe });
        }
    }
}

/// The action the kernel gives `rule` here: egress can be refused (cgroup socket hooks) and
/// killed (the hook marks the thread, the `sys_exit` tracepoint kills it before the refused
/// syscall returns); files, executables and privileged syscalls can be killed (tracepoints and
/// `bpf_send_signal`), and refused only by BPF-LSM hooks: files (`file_open`, `path_mknod`),
/// executables (`bprm_check_security`) and the ptrace, setid and bpf classes, whose every
/// syscall an LSM hook sees. The module, mount and namespace classes have syscalls no LSM hook
/// sees (delete_module, fsopen/fsmount, unshare/setns), so they are never refused.
fn effective_action(rule: &Rule, hooks: Hooks) -> Result<Action, String> {
    let lsm_deny = match &rule.matches {
        Match::Egress { .. } => true,
        Match::Files { .. } | Match::Exec { .. } => hooks.lsm,
        Match::Privilege(classes) => hooks.lsm && classes.iter().all(|c| lsm_covers(*c)),
    };
    let available = |a: Action| match a {
        Action::Alert | Action::Kill => true,
        Action::Deny => lsm_deny,
    };
    if available(rule.action) {
        return Ok(rule.action);
    }
    match rule.fallback {
        Some(fallback) if available(fallback) => Ok(fallback),
        _ if hooks.lsm => {
            let uncovered: Vec<String> = match &rule.matches {
                Match::Privilege(classes) => classes
                    .iter()
                    .filter(|c| !lsm_covers(**c))
                    .map(|c| format!("{c:?}").to_lowercase())
                    .collect(),
                _ => Vec::new(),
            };
            Err(format!(
                "`{}` on {} needs a BPF-LSM hook for every syscall of the class, and \
                 delete_module, fsopen/fsmount, unshare and setns have none; the process can be \
                 killed before the syscall returns instead: set `fallback: kill` (or `action: \
                 kill`), or move ptrace, setid and bpf to a rule of their own",
                rule.action.name(),
                uncovered.join(", ")
            ))
        }
        _ => Err(format!(
            "`{}` needs a BPF-LSM hook (file_open, bprm_check_security, ...), which this kernel \
             does not run (`haechi agent --probe` says `bpf lsm no`); the process can be killed \
             before the syscall returns instead: set `fallback: kill` (or `action: kill`)",
            rule.action.name()
        )),
    }
}

/// Whether BPF-LSM hooks see every syscall of `class`.
fn lsm_covers(class: Privilege) -> bool {
    matches!(class, Privilege::Ptrace | Privilege::Setid | Privilege::Bpf)
}

fn action_code(action: Action) -> u8 {
    match action {
        Action::Alert => abi::ACTION_ALERT,
        Action::Deny => abi::ACTION_DENY,
        Action::Kill => abi::ACTION_KILL,
    }
}

fn class_index(class: Privilege) -> usize {
    match class {
        Privilege::Ptrace => abi::PRIV_PTRACE,
        Privilege::Module => abi::PRIV_MODULE,
        Privilege::Setid => abi::PRIV_SETID,
        Privilege::Mount => abi::PRIV_MOUNT,
        Privilege::Namespace => abi::PRIV_NAMESPACE,
        Privilege::Bpf => abi::PRIV_BPF,
    }
}

/// An address as the kernel compares it: IPv6, IPv4 mapped into ::ffff:0:0/96.
fn address_bytes(net: &IpNet) -> ([u8; 16], u8) {
    match net {
        IpNet::V4(v4) => (v4.addr().to_ipv6_mapped().octets(), 96 + v4.prefix_len()),
        IpNet::V6(v6) => (v6.addr().octets(), v6.prefix_len()),
    }
}

fn net_rule(index: u8, net: &IpNet, verdict: Verdict) -> NetRule {
    let (addr, bits) = address_bytes(net);
    let mut data = [0u8; 20];
    data[0] = index;
    data[1..17].copy_from_slice(&addr);
    NetRule {
        data,
        bits: 8 + u32::from(bits),
        verdict,
    }
}

fn net_policy(allow: &[crate::policy::Destination], verdict: Verdict) -> Result<NetPolicy, String> {
    let mut policy = NetPolicy {
        verdict,
        default_deny: 1,
        ..NetPolicy::default()
    };
    let mut entries = Vec::new();
    for dest in allow {
        let protocols = dest.protocols.iter().fold(0, |bits, p| {
            bits | match p {
                Protocol::Tcp => abi::PROTO_TCP,
                Protocol::Udp => abi::PROTO_UDP,
            }
        });
        let nets: Vec<Option<&IpNet>> = if dest.cidrs.is_empty() {
            vec![None]
        } else {
            dest.cidrs.iter().map(Some).collect()
        };
        let ports = if dest.ports.is_empty() {
            vec![(0, u16::MAX)]
        } else {
            dest.ports.clone()
        };
        for net in &nets {
            for (port_min, port_max) in &ports {
                let (addr, prefix_len) = net.map(address_bytes).unwrap_or(([0; 16], 0));
                entries.push(NetAllow {
                    addr,
                    prefix_len,
                    protocols,
                    port_min: *port_min,
                    port_max: *port_max,
                    _pad: 0,
                });
            }
        }
    }
    if entries.len() > abi::NET_ALLOW_MAX {
        return Err(format!(
            "{} address and port combinations; the kernel holds {} per policy (use port \
             ranges or wider CIDRs)",
            entries.len(),
            abi::NET_ALLOW_MAX
        ));
    }
    for (slot, entry) in policy.allow.iter_mut().zip(&entries) {
        *slot = *entry;
    }
    policy.n_allow = entries.len() as u8;
    Ok(policy)
}

fn path_rule(index: u8, path: &str, directory: bool, verdict: Verdict) -> PathRule {
    let mut data: PolicyPathData = [0; abi::PREFIX_MAX];
    data[0] = index;
    data[1..=path.len()].copy_from_slice(path.as_bytes());
    // A file matches with its NUL, so /etc/shadow does not cover /etc/shadow-.
    let bytes = path.len() + usize::from(!directory);
    PathRule {
        data,
        bits: 8 * (1 + bytes as u32),
        verdict,
    }
}
