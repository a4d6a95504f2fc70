//! What the observe programs let through ([`Filter`]), and how it is written into their maps:
//! one entry per syscall in the `syscalls` table (what the vocabulary's syscall table says of
//! its arguments, in the kernel's ABI), path prefixes in the `path_prefixes` trie.

use std::collections::{BTreeMap, BTreeSet};

use haechi_events::syscalls::{self, Class, Dir, Fd, SYSCALLS, Syscall};

use crate::abi::{self, ARG_CWD, ARG_NONE, ARG_RET, SyscallConf};
use crate::error::SensorError;

/// What the kernel side lets through. Process events (exec, fork, exit) always pass: the
/// process table needs them.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Syscalls to report.
    pub syscalls: BTreeSet<&'static str>,
    /// Which file events pass, by path.
    pub paths: Paths,
    /// Task names (`comm`) whose syscalls are not reported.
    pub ignored_comms: Vec<String>,
    /// Cgroup v2 ids whose syscalls are not reported.
    pub ignored_cgroups: Vec<u64>,
    /// Report the DNS answers sockets receive (UDP from port 53), which name the servers
    /// processes then connect to. Needs a cgroup v2 hierarchy (unified or hybrid).
    pub dns_answers: bool,
}

impl Filter {
    /// Every syscall the sensor knows, every path.
    pub fn everything() -> Self {
        Filter {
            syscalls: SYSCALLS.iter().map(|s| s.name).collect(),
            dns_answers: true,
            ..Filter::default()
        }
    }

    /// Adds syscalls by name.
    pub fn with_syscalls<'a>(
        mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, SensorError> {
        for name in names {
            let syscall =
                syscalls::by_name(name).ok_or_else(|| SensorError::UnknownSyscall(name.into()))?;
            self.syscalls.insert(syscall.name);
        }
        Ok(self)
    }

    /// The `syscalls` table's entry for `syscall` under this filter.
    pub(super) fn conf(&self, syscall: &Syscall) -> SyscallConf {
        let mut conf = conf(syscall);
        if syscall.class == Class::File {
            conf.path_filter = self.paths.filtered_kinds();
        }
        conf
    }
}

/// How the kernel decodes `syscall`, from what the vocabulary says of its arguments
/// (`enabled`; no path filter).
pub fn conf(syscall: &Syscall) -> SyscallConf {
    let args = &syscall.args;
    let fd = |fd: Option<Fd>| match fd {
        Some(Fd::Arg(i)) => i,
        Some(Fd::Ret) => ARG_RET,
        None => ARG_NONE,
    };
    let (addr_arg, addr_len_arg) = args.addr.map_or((ARG_NONE, ARG_NONE), |a| (a.addr, a.len));
    SyscallConf {
        enabled: 1,
        str_args: args.strings.map(|i| i.unwrap_or(ARG_NONE)),
        dirfd_arg: match args.dir {
            Dir::None => ARG_NONE,
            Dir::Cwd => ARG_CWD,
            Dir::Fd(i) => i,
        },
        fd_path: fd(args.fd_path),
        sock_fd: fd(args.socket),
        addr_arg,
        addr_len_arg,
        path_filter: 0,
        success_only: u8::from(args.success_only),
        _pad: [0; 5],
    }
}

/// Which file events pass the kernel, by the path they report. A *read* is an open that
/// returned a descriptor not open for writing; every other file event (writes, creations,
/// removals, renames, failed opens) counts as a *write*. A relative path the kernel cannot
/// resolve always passes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    /// Reads pass only under these prefixes; `None`: every read passes.
    pub reads: Option<BTreeSet<String>>,
    /// Writes pass only under these prefixes; `None`: every write passes.
    pub writes: Option<BTreeSet<String>>,
}

impl Paths {
    /// Every file event under one of `prefixes`, read or write.
    pub fn under(prefixes: impl IntoIterator<Item = String>) -> Paths {
        let prefixes: BTreeSet<String> = prefixes.into_iter().collect();
        Paths {
            reads: Some(prefixes.clone()),
            writes: Some(prefixes),
        }
    }

    /// The `path_filter` bits of a file syscall's configuration.
    fn filtered_kinds(&self) -> u8 {
        let mut kinds = 0;
        if self.reads.is_some() {
            kinds |= abi::PATH_READS;
        }
        if self.writes.is_some() {
            kinds |= abi::PATH_WRITES;
        }
        kinds
    }

    /// The `path_prefixes` trie's entries: each prefix with the kinds it lets through.
    pub(super) fn entries(&self) -> BTreeMap<&str, u8> {
        let mut entries = BTreeMap::new();
        for (set, kind) in [
            (&self.reads, abi::PATH_READS),
            (&self.writes, abi::PATH_WRITES),
        ] {
            for prefix in set.iter().flatten() {
                *entries.entry(prefix.as_str()).or_default() |= kind;
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::SYSCALL_MAX;

    #[test]
    fn numbers_fit_the_kernel_table() {
        for s in SYSCALLS {
            assert!(s.nr < SYSCALL_MAX, "{} = {}", s.name, s.nr);
        }
    }

    #[test]
    fn argument_indices_are_valid() {
        for s in SYSCALLS {
            let c = conf(s);
            for a in c.str_args {
                assert!(a <= 5 || a == ARG_NONE, "{}", s.name);
            }
            assert!(c.fd_path <= ARG_RET || c.fd_path == ARG_NONE, "{}", s.name);
            assert!(c.dirfd_arg <= 5 || c.dirfd_arg == ARG_CWD || c.dirfd_arg == ARG_NONE);
        }
    }
}
