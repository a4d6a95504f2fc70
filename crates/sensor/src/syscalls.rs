//! The syscalls the sensor can watch, and how the kernel side decodes each: which arguments are
//! strings, which file descriptor to resolve, where a socket address is.
//!
//! Numbers are x86_64's (the kernel programs read x86_64 registers). 32-bit compat syscalls
//! have other numbers and are not watched.

use crate::abi::{ARG_CWD, ARG_NONE, ARG_RET, SyscallConf};

/// What a watched syscall is about; decides the event's `evt.category`-like grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Opens and changes to files and directories.
    File,
    /// Sockets.
    Network,
    /// Identity, capabilities, tracing, mounts, modules, namespaces, bpf.
    Privilege,
}

/// One watchable syscall.
#[derive(Clone, Copy, Debug)]
pub struct Syscall {
    /// Name as Falco's `evt.type` shows it.
    pub name: &'static str,
    /// x86_64 number.
    pub nr: u32,
    /// Grouping.
    pub class: Class,
    /// Decoding the kernel side applies (`enabled` and filters are set by the sensor).
    pub conf: SyscallConf,
}

impl Syscall {
    /// Whether this syscall opens a file (its returned fd is resolved to a path).
    pub fn is_open(&self) -> bool {
        matches!(self.name, "open" | "openat" | "openat2" | "creat")
    }
}

const N: u8 = ARG_NONE;

const fn conf(str_args: [u8; 3], dirfd_arg: u8, fd_path: u8) -> SyscallConf {
    SyscallConf {
        enabled: 1,
        str_args,
        dirfd_arg,
        fd_path,
        sock_fd: N,
        addr_arg: N,
        addr_len_arg: N,
        path_filter: 0,
        success_only: 0,
        _pad: [0; 5],
    }
}

const fn args_only() -> SyscallConf {
    conf([N, N, N], N, N)
}

const fn sock(sock_fd: u8, addr_arg: u8, addr_len_arg: u8, success_only: bool) -> SyscallConf {
    let mut c = args_only();
    c.sock_fd = sock_fd;
    c.addr_arg = addr_arg;
    c.addr_len_arg = addr_len_arg;
    c.success_only = success_only as u8;
    c
}

const fn sc(name: &'static str, nr: i64, class: Class, conf: SyscallConf) -> Syscall {
    Syscall {
        name,
        nr: nr as u32,
        class,
        conf,
    }
}

use Class::{File, Network, Privilege};

/// Every syscall the sensor knows how to decode.
pub const SYSCALLS: &[Syscall] = &[
    // Files: the first string is the path a relative directory applies to.
    sc(
        "open",
        libc::SYS_open,
        File,
        conf([0, N, N], ARG_CWD, ARG_RET),
    ),
    sc(
        "creat",
        libc::SYS_creat,
        File,
        conf([0, N, N], ARG_CWD, ARG_RET),
    ),
    sc(
        "openat",
        libc::SYS_openat,
        File,
        conf([1, N, N], 0, ARG_RET),
    ),
    sc(
        "openat2",
        libc::SYS_openat2,
        File,
        conf([1, N, N], 0, ARG_RET),
    ),
    sc(
        "unlink",
        libc::SYS_unlink,
        File,
        conf([0, N, N], ARG_CWD, N),
    ),
    sc("unlinkat", libc::SYS_unlinkat, File, conf([1, N, N], 0, N)),
    sc("rmdir", libc::SYS_rmdir, File, conf([0, N, N], ARG_CWD, N)),
    sc(
        "rename",
        libc::SYS_rename,
        File,
        conf([0, 1, N], ARG_CWD, N),
    ),
    sc("renameat", libc::SYS_renameat, File, conf([1, 3, N], 0, N)),
    sc(
        "renameat2",
        libc::SYS_renameat2,
        File,
        conf([1, 3, N], 0, N),
    ),
    sc("link", libc::SYS_link, File, conf([0, 1, N], ARG_CWD, N)),
    sc("linkat", libc::SYS_linkat, File, conf([1, 3, N], 0, N)),
    // symlink(target, linkpath): the link's path comes first so its directory is resolved.
    sc(
        "symlink",
        libc::SYS_symlink,
        File,
        conf([1, 0, N], ARG_CWD, N),
    ),
    sc(
        "symlinkat",
        libc::SYS_symlinkat,
        File,
        conf([2, 0, N], 1, N),
    ),
    sc("chmod", libc::SYS_chmod, File, conf([0, N, N], ARG_CWD, N)),
    sc("fchmod", libc::SYS_fchmod, File, conf([N, N, N], N, 0)),
    sc("fchmodat", libc::SYS_fchmodat, File, conf([1, N, N], 0, N)),
    sc("fchmodat2", 452, File, conf([1, N, N], 0, N)),
    sc("chown", libc::SYS_chown, File, conf([0, N, N], ARG_CWD, N)),
    sc(
        "lchown",
        libc::SYS_lchown,
        File,
        conf([0, N, N], ARG_CWD, N),
    ),
    sc("fchown", libc::SYS_fchown, File, conf([N, N, N], N, 0)),
    sc("fchownat", libc::SYS_fchownat, File, conf([1, N, N], 0, N)),
    sc("mkdir", libc::SYS_mkdir, File, conf([0, N, N], ARG_CWD, N)),
    sc("mkdirat", libc::SYS_mkdirat, File, conf([1, N, N], 0, N)),
    // Network.
    sc(
        "socket",
        libc::SYS_socket,
        Network,
        sock(ARG_RET, N, N, false),
    ),
    sc("connect", libc::SYS_connect, Network, sock(0, 1, 2, false)),
    sc("bind", libc::SYS_bind, Network, sock(0, 1, 2, false)),
    sc("listen", libc::SYS_listen, Network, sock(0, N, N, false)),
    sc(
        "accept",
        libc::SYS_accept,
        Network,
        sock(ARG_RET, N, N, true),
    ),
    sc(
        "accept4",
        libc::SYS_accept4,
        Network,
        sock(ARG_RET, N, N, true),
    ),
    // Privilege and escape signals.
    sc("setuid", libc::SYS_setuid, Privilege, args_only()),
    sc("setgid", libc::SYS_setgid, Privilege, args_only()),
    sc("setreuid", libc::SYS_setreuid, Privilege, args_only()),
    sc("setregid", libc::SYS_setregid, Privilege, args_only()),
    sc("setresuid", libc::SYS_setresuid, Privilege, args_only()),
    sc("setresgid", libc::SYS_setresgid, Privilege, args_only()),
    sc("capset", libc::SYS_capset, Privilege, args_only()),
    sc("ptrace", libc::SYS_ptrace, Privilege, args_only()),
    // mount(source, target, fstype, ...): the target first, so a relative one is resolved.
    sc(
        "mount",
        libc::SYS_mount,
        Privilege,
        conf([1, 0, 2], ARG_CWD, N),
    ),
    sc(
        "umount2",
        libc::SYS_umount2,
        Privilege,
        conf([0, N, N], ARG_CWD, N),
    ),
    sc(
        "init_module",
        libc::SYS_init_module,
        Privilege,
        conf([2, N, N], N, N),
    ),
    sc(
        "finit_module",
        libc::SYS_finit_module,
        Privilege,
        conf([1, N, N], N, 0),
    ),
    sc(
        "memfd_create",
        libc::SYS_memfd_create,
        Privilege,
        conf([0, N, N], N, N),
    ),
    sc("bpf", libc::SYS_bpf, Privilege, args_only()),
    sc("unshare", libc::SYS_unshare, Privilege, args_only()),
    sc("setns", libc::SYS_setns, Privilege, conf([N, N, N], N, 0)),
];

/// The syscall with this x86_64 number, if the sensor knows it.
pub fn by_nr(nr: u32) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.nr == nr)
}

/// The syscall with this name, if the sensor knows it.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::SYSCALL_MAX;

    #[test]
    fn numbers_fit_the_kernel_table_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in SYSCALLS {
            assert!(s.nr < SYSCALL_MAX, "{} = {}", s.name, s.nr);
            assert!(seen.insert(s.nr), "{} listed twice", s.name);
        }
    }

    #[test]
    fn argument_indices_are_valid() {
        for s in SYSCALLS {
            let c = s.conf;
            for a in c.str_args {
                assert!(a <= 5 || a == ARG_NONE, "{}", s.name);
            }
            assert!(c.fd_path <= ARG_RET || c.fd_path == ARG_NONE, "{}", s.name);
            assert!(c.dirfd_arg <= 5 || c.dirfd_arg == ARG_CWD || c.dirfd_arg == ARG_NONE);
        }
    }
}
