//! The syscalls an event can be about, and what each one's arguments mean to it: which are
//! strings, which file descriptor names the file the event reports, what a relative path is
//! relative to, where a socket address is.
//!
//! Numbers are x86_64's (the kernel programs read x86_64 registers). 32-bit compat syscalls
//! have other numbers and are not watched. How the kernel side copies what the table describes
//! is the kernel crate's business: it translates each [`Args`] into its own ABI.

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

/// Where a file descriptor the event reports on comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    /// Argument `i` (0 to 5).
    Arg(u8),
    /// The syscall's return value.
    Ret,
}

/// What the first string argument is relative to when it is a relative path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Nothing: the syscall takes no path, or the event does not say.
    None,
    /// The working directory (open, mkdir, ...).
    Cwd,
    /// The directory descriptor in argument `i` (AT_FDCWD: the working directory).
    Fd(u8),
}

/// A socket address the process passes: the arguments holding it and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrArgs {
    /// Argument index of the `struct sockaddr` pointer.
    pub addr: u8,
    /// Argument index of its length.
    pub len: u8,
}

/// What an event reports of a syscall's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args {
    /// Argument indices (0 to 5) of the strings the event carries, in the order it lists them:
    /// the path a relative directory applies to comes first.
    pub strings: [Option<u8>; 3],
    /// What a relative first string is relative to.
    pub dir: Dir,
    /// The descriptor whose path the event reports (resolved by the source).
    pub fd_path: Option<Fd>,
    /// The descriptor whose socket endpoints the event reports.
    pub socket: Option<Fd>,
    /// The socket address the process passed.
    pub addr: Option<AddrArgs>,
    /// Only calls that succeeded are reported.
    pub success_only: bool,
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
    /// What its event reports of its arguments.
    pub args: Args,
}

impl Syscall {
    /// Whether this syscall opens a file (its returned fd is resolved to a path).
    pub fn is_open(&self) -> bool {
        matches!(self.name, "open" | "openat" | "openat2" | "creat")
    }
}

const NO_ARGS: Args = Args {
    strings: [None; 3],
    dir: Dir::None,
    fd_path: None,
    socket: None,
    addr: None,
    success_only: false,
};

/// Strings (by argument index, `N` for none), their directory, the descriptor whose path is
/// reported.
const fn files(strings: [u8; 3], dir: Dir, fd_path: Option<Fd>) -> Args {
    const fn string(i: u8) -> Option<u8> {
        if i == N { None } else { Some(i) }
    }
    Args {
        strings: [string(strings[0]), string(strings[1]), string(strings[2])],
        dir,
        fd_path,
        ..NO_ARGS
    }
}

/// The socket's descriptor, the address the process passed, whether only successes count.
const fn sock(socket: Fd, addr: Option<AddrArgs>, success_only: bool) -> Args {
    Args {
        socket: Some(socket),
        addr,
        success_only,
        ..NO_ARGS
    }
}

const fn sc(name: &'static str, nr: i64, class: Class, args: Args) -> Syscall {
    Syscall {
        name,
        nr: nr as u32,
        class,
        args,
    }
}

/// "No string" in [`files`]'s list.
const N: u8 = u8::MAX;
const RET: Option<Fd> = Some(Fd::Ret);
const FD0: Option<Fd> = Some(Fd::Arg(0));
const ADDR: Option<AddrArgs> = Some(AddrArgs { addr: 1, len: 2 });

use Class::{File, Network, Privilege};
use Dir::Cwd;

/// Every syscall an event can be about.
pub const SYSCALLS: &[Syscall] = &[
    // Files: the first string is the path a relative directory applies to.
    sc("open", libc::SYS_open, File, files([0, N, N], Cwd, RET)),
    sc("creat", libc::SYS_creat, File, files([0, N, N], Cwd, RET)),
    sc(
        "openat",
        libc::SYS_openat,
        File,
        files([1, N, N], Dir::Fd(0), RET),
    ),
    sc(
        "openat2",
        libc::SYS_openat2,
        File,
        files([1, N, N], Dir::Fd(0), RET),
    ),
    sc(
        "unlink",
        libc::SYS_unlink,
        File,
        files([0, N, N], Cwd, None),
    ),
    sc(
        "unlinkat",
        libc::SYS_unlinkat,
        File,
        files([1, N, N], Dir::Fd(0), None),
    ),
    sc("rmdir", libc::SYS_rmdir, File, files([0, N, N], Cwd, None)),
    sc(
        "rename",
        libc::SYS_rename,
        File,
        files([0, 1, N], Cwd, None),
    ),
    sc(
        "renameat",
        libc::SYS_renameat,
        File,
        files([1, 3, N], Dir::Fd(0), None),
    ),
    sc(
        "renameat2",
        libc::SYS_renameat2,
        File,
        files([1, 3, N], Dir::Fd(0), None),
    ),
    sc("link", libc::SYS_link, File, files([0, 1, N], Cwd, None)),
    sc(
        "linkat",
        libc::SYS_linkat,
        File,
        files([1, 3, N], Dir::Fd(0), None),
    ),
    // symlink(target, linkpath): the link's path comes first so its directory is resolved.
    sc(
        "symlink",
        libc::SYS_symlink,
        File,
        files([1, 0, N], Cwd, None),
    ),
    sc(
        "symlinkat",
        libc::SYS_symlinkat,
        File,
        files([2, 0, N], Dir::Fd(1), None),
    ),
    sc("chmod", libc::SYS_chmod, File, files([0, N, N], Cwd, None)),
    sc(
        "fchmod",
        libc::SYS_fchmod,
        File,
        files([N, N, N], Dir::None, FD0),
    ),
    sc(
        "fchmodat",
        libc::SYS_fchmodat,
        File,
        files([1, N, N], Dir::Fd(0), None),
    ),
    sc("fchmodat2", 452, File, files([1, N, N], Dir::Fd(0), None)),
    sc("chown", libc::SYS_chown, File, files([0, N, N], Cwd, None)),
    sc(
        "lchown",
        libc::SYS_lchown,
        File,
        files([0, N, N], Cwd, None),
    ),
    sc(
        "fchown",
        libc::SYS_fchown,
        File,
        files([N, N, N], Dir::None, FD0),
    ),
    sc(
        "fchownat",
        libc::SYS_fchownat,
        File,
        files([1, N, N], Dir::Fd(0), None),
    ),
    sc("mkdir", libc::SYS_mkdir, File, files([0, N, N], Cwd, None)),
    sc(
        "mkdirat",
        libc::SYS_mkdirat,
        File,
        files([1, N, N], Dir::Fd(0), None),
    ),
    // Network.
    sc(
        "socket",
        libc::SYS_socket,
        Network,
        sock(Fd::Ret, None, false),
    ),
    sc(
        "connect",
        libc::SYS_connect,
        Network,
        sock(Fd::Arg(0), ADDR, false),
    ),
    sc(
        "bind",
        libc::SYS_bind,
        Network,
        sock(Fd::Arg(0), ADDR, false),
    ),
    sc(
        "listen",
        libc::SYS_listen,
        Network,
        sock(Fd::Arg(0), None, false),
    ),
    sc(
        "accept",
        libc::SYS_accept,
        Network,
        sock(Fd::Ret, None, true),
    ),
    sc(
        "accept4",
        libc::SYS_accept4,
        Network,
        sock(Fd::Ret, None, true),
    ),
    // Privilege and escape signals.
    sc("setuid", libc::SYS_setuid, Privilege, NO_ARGS),
    sc("setgid", libc::SYS_setgid, Privilege, NO_ARGS),
    sc("setreuid", libc::SYS_setreuid, Privilege, NO_ARGS),
    sc("setregid", libc::SYS_setregid, Privilege, NO_ARGS),
    sc("setresuid", libc::SYS_setresuid, Privilege, NO_ARGS),
    sc("setresgid", libc::SYS_setresgid, Privilege, NO_ARGS),
    sc("capset", libc::SYS_capset, Privilege, NO_ARGS),
    sc("ptrace", libc::SYS_ptrace, Privilege, NO_ARGS),
    // mount(source, target, fstype, ...): the target first, so a relative one is resolved.
    sc(
        "mount",
        libc::SYS_mount,
        Privilege,
        files([1, 0, 2], Cwd, None),
    ),
    sc(
        "umount2",
        libc::SYS_umount2,
        Privilege,
        files([0, N, N], Cwd, None),
    ),
    sc(
        "init_module",
        libc::SYS_init_module,
        Privilege,
        files([2, N, N], Dir::None, None),
    ),
    sc(
        "finit_module",
        libc::SYS_finit_module,
        Privilege,
        files([1, N, N], Dir::None, FD0),
    ),
    sc(
        "memfd_create",
        libc::SYS_memfd_create,
        Privilege,
        files([0, N, N], Dir::None, None),
    ),
    sc("bpf", libc::SYS_bpf, Privilege, NO_ARGS),
    sc("unshare", libc::SYS_unshare, Privilege, NO_ARGS),
    sc(
        "setns",
        libc::SYS_setns,
        Privilege,
        files([N, N, N], Dir::None, FD0),
    ),
];

/// The syscall with this x86_64 number, if an event can be about it.
pub fn by_nr(nr: u32) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.nr == nr)
}

/// The syscall with this name, if an event can be about it.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_unique() {
        let mut numbers = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for s in SYSCALLS {
            assert!(numbers.insert(s.nr), "{} listed twice", s.name);
            assert!(names.insert(s.name), "{} listed twice", s.name);
        }
    }

    #[test]
    fn argument_indices_are_valid() {
        let valid = |i: u8| i <= 5;
        for s in SYSCALLS {
            let a = s.args;
            for i in a.strings.into_iter().flatten() {
                assert!(valid(i), "{}", s.name);
            }
            for fd in [a.fd_path, a.socket].into_iter().flatten() {
                if let Fd::Arg(i) = fd {
                    assert!(valid(i), "{}", s.name);
                }
            }
            if let Dir::Fd(i) = a.dir {
                assert!(valid(i), "{}", s.name);
            }
            if let Some(addr) = a.addr {
                assert!(valid(addr.addr) && valid(addr.len), "{}", s.name);
            }
        }
    }
}
