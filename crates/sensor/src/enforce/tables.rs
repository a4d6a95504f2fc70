//! The policy tables the enforcement programs read ([`Tables`], written whole by
//! [`super::Enforcer::load_tables`]), the syscalls they look at, and the keys of the learned
//! addresses.

use std::collections::HashSet;
use std::hash::Hash;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap};
use aya::{Ebpf, Pod};

use crate::abi::{
    self, EnforcedSyscall, ExceptionKey, NetKeyData, NetPolicy, POLICY_MAX, PolicyPathData,
    PrivilegeRules, SelectorConfig, SelectorMatch, SelectorPathData, TaskSelection, Verdict,
};
use crate::error::{SensorError, map_error};
use crate::load::typed;

/// A path-keyed rule: the key's data (policy byte, path), how many leading bits of it must
/// match, and the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRule {
    /// Policy index in byte 0, the path after it.
    pub data: PolicyPathData,
    /// Bits of `data` that must match.
    pub bits: u32,
    /// What the rule does.
    pub verdict: Verdict,
}

/// A denied address range of one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    /// Policy index in byte 0, the IPv6 (or IPv4-mapped) address after it.
    pub data: NetKeyData,
    /// Bits of `data` that must match.
    pub bits: u32,
    /// What the rule does.
    pub verdict: Verdict,
}

/// An executable path (or directory prefix ending in `/`) and the selectors it satisfies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorBinary {
    /// The path; a file's entry counts its NUL.
    pub data: SelectorPathData,
    /// Bits of `data` that must match.
    pub bits: u32,
    /// The selectors it satisfies as a binary and as an ancestor (a directory's bits folded
    /// into every longer entry below it).
    pub matches: SelectorMatch,
}

/// Everything the enforcement programs read, for every policy at once.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    /// Egress rules by policy index.
    pub net_policies: Vec<(u32, NetPolicy)>,
    /// Denied destinations.
    pub net_denied: Vec<NetRule>,
    /// Protected paths.
    pub file_rules: Vec<PathRule>,
    /// Forbidden executables.
    pub exec_rules: Vec<PathRule>,
    /// Executables a rule does not act on.
    pub exceptions: Vec<ExceptionKey>,
    /// Privileged-syscall rules by policy index.
    pub privilege: Vec<(u32, PrivilegeRules)>,
    /// Executables the process selectors name.
    pub selector_binaries: Vec<SelectorBinary>,
    /// Which process selectors exist.
    pub selectors: SelectorConfig,
}

/// Makes the kernel's tables equal to `tables`: new entries first, then stale ones out, so a
/// rule in both the old and the new tables never lapses.
pub(super) fn load(ebpf: &mut Ebpf, tables: &Tables) -> Result<(), SensorError> {
    for index in 0..POLICY_MAX as u32 {
        let net = lookup(&tables.net_policies, index);
        typed::<Array<_, NetPolicy>>(ebpf, "net_policies")?
            .set(index, net, 0)
            .map_err(|e| map_error("net_policies", e))?;
        let privilege = lookup(&tables.privilege, index);
        typed::<Array<_, PrivilegeRules>>(ebpf, "privilege_rules")?
            .set(index, privilege, 0)
            .map_err(|e| map_error("privilege_rules", e))?;
    }
    let net: Vec<_> = tables
        .net_denied
        .iter()
        .map(|r| (Key::new(r.bits, r.data), r.verdict))
        .collect();
    sync_trie(ebpf, "net_denied", &net)?;
    let files: Vec<_> = tables
        .file_rules
        .iter()
        .map(|r| (Key::new(r.bits, r.data), r.verdict))
        .collect();
    sync_trie(ebpf, "file_rules", &files)?;
    let execs: Vec<_> = tables
        .exec_rules
        .iter()
        .map(|r| (Key::new(r.bits, r.data), r.verdict))
        .collect();
    sync_trie(ebpf, "exec_rules", &execs)?;

    load_selectors(ebpf, tables)?;

    let mut exceptions: HashMap<_, ExceptionKey, u8> = typed(ebpf, "exceptions")?;
    for key in &tables.exceptions {
        exceptions
            .insert(key, 1, 0)
            .map_err(|e| map_error("exceptions", e))?;
    }
    let wanted: HashSet<_> = tables.exceptions.iter().map(exception_id).collect();
    let stale: Vec<ExceptionKey> = exceptions
        .keys()
        .filter_map(Result::ok)
        .filter(|k| !wanted.contains(&exception_id(k)))
        .collect();
    for key in stale {
        exceptions
            .remove(&key)
            .map_err(|e| map_error("exceptions", e))?;
    }
    Ok(())
}

/// Writes the process selectors. When they differ from those in the kernel (an agent
/// restarted with other policies), what the kernel knows of every process no longer means
/// anything: it is cleared, and the caller seeds the running processes again.
fn load_selectors(ebpf: &mut Ebpf, tables: &Tables) -> Result<(), SensorError> {
    let old_config = typed::<Array<_, SelectorConfig>>(ebpf, "selector_config")?
        .get(&0, 0)
        .map_err(|e| map_error("selector_config", e))?;
    let wanted: Vec<_> = tables
        .selector_binaries
        .iter()
        .map(|b| (Key::new(b.bits, b.data), b.matches))
        .collect();
    let old: HashSet<(u32, SelectorPathData, SelectorMatch)> = {
        let trie: LpmTrie<_, SelectorPathData, SelectorMatch> = typed(ebpf, "selector_binaries")?;
        trie.iter()
            .filter_map(Result::ok)
            .map(|(k, v)| (k.prefix_len(), k.data(), v))
            .collect()
    };
    let new: HashSet<_> = wanted
        .iter()
        .map(|(k, v)| (k.prefix_len(), k.data(), *v))
        .collect();
    if old_config != tables.selectors || old != new {
        // No selector until the table is whole, then no stale selection.
        typed::<Array<_, SelectorConfig>>(ebpf, "selector_config")?
            .set(0, SelectorConfig::default(), 0)
            .map_err(|e| map_error("selector_config", e))?;
        sync_trie(ebpf, "selector_binaries", &wanted)?;
        let mut tasks: HashMap<_, u32, TaskSelection> = typed(ebpf, "task_selections")?;
        let stale: Vec<u32> = tasks.keys().filter_map(Result::ok).collect();
        for tgid in stale {
            match tasks.remove(&tgid) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(map_error("task_selections", e)),
            }
        }
        typed::<Array<_, SelectorConfig>>(ebpf, "selector_config")?
            .set(0, tables.selectors, 0)
            .map_err(|e| map_error("selector_config", e))?;
    }
    Ok(())
}

/// The entry for policy `index`, or the empty one.
fn lookup<T: Copy + Default>(entries: &[(u32, T)], index: u32) -> T {
    entries
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, value)| *value)
        .unwrap_or_default()
}

fn exception_id(key: &ExceptionKey) -> (u32, [u8; abi::EXE_MAX]) {
    (key.rule, key.exe)
}

/// Writes `wanted` into the trie `name`, then removes every other entry.
fn sync_trie<K: Pod + Eq + Hash, V: Pod>(
    ebpf: &mut Ebpf,
    name: &'static str,
    wanted: &[(Key<K>, V)],
) -> Result<(), SensorError> {
    let mut trie: LpmTrie<_, K, V> = typed(ebpf, name)?;
    for (key, value) in wanted {
        trie.insert(key, *value, 0)
            .map_err(|e| map_error(name, e))?;
    }
    let keep: HashSet<(u32, K)> = wanted
        .iter()
        .map(|(k, _)| (k.prefix_len(), k.data()))
        .collect();
    let stale: Vec<Key<K>> = trie
        .keys()
        .filter_map(Result::ok)
        .filter(|k| !keep.contains(&(k.prefix_len(), k.data())))
        .collect();
    for key in stale {
        trie.remove(&key).map_err(|e| map_error(name, e))?;
    }
    Ok(())
}

/// Which syscalls the enforcement programs look at, by number (x86_64, from libc).
pub(super) fn fill_syscall_table(ebpf: &mut Ebpf) -> Result<(), SensorError> {
    let mut table: Array<_, EnforcedSyscall> = typed(ebpf, "enforced_syscalls")?;
    let open = |flags_arg: u8, flags_in_how: u8| EnforcedSyscall {
        kind: abi::SYS_OPEN,
        flags_arg,
        flags_in_how,
        class: 0,
    };
    let privilege = |class: usize| EnforcedSyscall {
        kind: abi::SYS_PRIVILEGE,
        flags_arg: abi::ARG_NONE,
        flags_in_how: 0,
        class: class as u8,
    };
    let entries = [
        (libc::SYS_open, open(1, 0)),
        (libc::SYS_openat, open(2, 0)),
        (libc::SYS_openat2, open(2, 1)),
        (libc::SYS_creat, open(abi::ARG_NONE, 0)),
        (libc::SYS_ptrace, privilege(abi::PRIV_PTRACE)),
        (libc::SYS_process_vm_writev, privilege(abi::PRIV_PTRACE)),
        (libc::SYS_init_module, privilege(abi::PRIV_MODULE)),
        (libc::SYS_finit_module, privilege(abi::PRIV_MODULE)),
        (libc::SYS_delete_module, privilege(abi::PRIV_MODULE)),
        (libc::SYS_setuid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setgid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setreuid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setregid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setresuid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setresgid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setfsuid, privilege(abi::PRIV_SETID)),
        (libc::SYS_setfsgid, privilege(abi::PRIV_SETID)),
        (libc::SYS_capset, privilege(abi::PRIV_SETID)),
        (libc::SYS_mount, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_umount2, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_fsopen, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_fsmount, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_move_mount, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_open_tree, privilege(abi::PRIV_MOUNT)),
        (libc::SYS_unshare, privilege(abi::PRIV_NAMESPACE)),
        (libc::SYS_setns, privilege(abi::PRIV_NAMESPACE)),
        (libc::SYS_bpf, privilege(abi::PRIV_BPF)),
    ];
    for (nr, entry) in entries {
        table
            .set(nr as u32, entry, 0)
            .map_err(|e| map_error("enforced_syscalls", e))?;
    }
    Ok(())
}

/// The `net_denied` key of one address under `policy`.
pub(super) fn address_key(policy: u8, addr: [u8; 16]) -> Key<NetKeyData> {
    let mut data = NetKeyData::default();
    data[0] = policy;
    data[1..17].copy_from_slice(&addr);
    Key::new(8 + 128, data)
}
