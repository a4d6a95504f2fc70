//! Recording a workload: a command run under the recorder, or a running container's cgroup.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use haechi_sensor::Recorder;
use haechi_sensor::probe::cgroup2_root;

use crate::Error;
use crate::arch::Arch;

/// What an OCI runtime's init makes after it applies the filter and before the workload's
/// first instruction, so a profile recorded outside a container must allow it too. Measured
/// on Debian's runc 1.1.5 with `defaultAction: SCMP_ACT_LOG` (close, openat, write, fstatfs,
/// getdents64, epoll_ctl, rt_sigreturn, execve), plus what Go's runtime may call at any point
/// in between (futex, nanosleep, sched_yield, getpid, tgkill, rt_sigprocmask, mmap, madvise,
/// epoll_pwait). runsc applies the filter inside the sandbox to the workload only.
pub const RUNTIME_SYSCALLS: [&str; 17] = [
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "fstatfs",
    "futex",
    "getdents64",
    "getpid",
    "madvise",
    "mmap",
    "nanosleep",
    "openat",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "tgkill",
    "write",
];

/// Why [`RUNTIME_SYSCALLS`] are in a profile; the comment of their rule.
pub const RUNTIME_COMMENT: &str =
    "made by the OCI runtime (runc init) after it applies the filter, before the workload runs";

/// The syscalls a workload made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The architecture whose table the numbers were read in.
    pub arch: Arch,
    /// Syscall names.
    pub names: BTreeSet<String>,
    /// Numbers the table has no name for (a newer kernel than the table).
    pub unnamed: Vec<u32>,
    /// The command's exit status, when a command was recorded.
    pub status: Option<ExitStatus>,
}

impl Recording {
    fn new(numbers: BTreeSet<u32>, status: Option<ExitStatus>) -> Result<Self, Error> {
        let arch = Arch::native().ok_or(Error::Unsupported(std::env::consts::ARCH))?;
        let mut names = BTreeSet::new();
        let mut unnamed = Vec::new();
        for nr in numbers {
            match arch.name(nr) {
                Some(name) => {
                    names.insert(name.to_owned());
                }
                None => unnamed.push(nr),
            }
        }
        Ok(Recording {
            arch,
            names,
            unnamed,
            status,
        })
    }
}

/// Runs `argv` and records it and every process it starts until it exits; when `stop` says
/// so (the caller got SIGTERM or Ctrl-C), the command gets SIGTERM and is waited for. The command
/// waits on a pipe until the recorder follows it, so its first syscall after that (the
/// `execve`) is recorded. std's `Command` cannot do this: its `spawn` waits for the exec,
/// which here waits for the recorder, so the child is forked by hand.
pub fn record_command(argv: &[OsString], stop: &dyn Fn() -> bool) -> Result<Recording, Error> {
    let program = argv.first().ok_or(Error::Usage(
        "nothing to record: give a command after --".into(),
    ))?;
    let spawn_error = |source| Error::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    };
    let path = find_program(Path::new(program)).ok_or_else(|| {
        spawn_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not found in PATH",
        ))
    })?;
    // Everything exec needs is allocated before fork: the child may only make
    // async-signal-safe calls.
    let c = |s: &std::ffi::OsStr| CString::new(s.as_bytes()).map_err(|e| spawn_error(e.into()));
    let path = c(path.as_os_str())?;
    let args = argv.iter().map(|a| c(a)).collect::<Result<Vec<_>, _>>()?;
    let env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            c(&kv)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());

    let mut recorder = Recorder::start()?;
    let (gate_read, gate_write) = pipe()?;
    // SAFETY: fork has no preconditions; the child branch below only calls close, read,
    // execve and _exit (async-signal-safe) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(spawn_error(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: see above; the pointers stay valid (the parent's memory is copied).
        unsafe {
            // The child's copy of the write end would keep the pipe from reaching EOF.
            libc::close(gate_write.as_raw_fd());
            let mut byte = 0u8;
            libc::read(gate_read.as_raw_fd(), (&raw mut byte).cast(), 1);
            libc::execve(path.as_ptr(), arg_ptrs.as_ptr(), env_ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    drop(gate_read);
    let pid = u32::try_from(pid).expect("fork returned a positive pid");
    let followed = recorder.follow_process(pid);
    // Closing the write end releases the child.
    drop(gate_write);
    let status = wait(pid, stop).map_err(spawn_error)?;
    followed?;
    Recording::new(recorder.seen()?, Some(status))
}

/// Waits for child `pid`, passing SIGTERM on once `stop` holds.
fn wait(pid: u32, stop: &dyn Fn() -> bool) -> std::io::Result<ExitStatus> {
    let pid = pid as libc::pid_t;
    let mut status = 0;
    let mut forwarded = false;
    loop {
        // SAFETY: status is a valid out-pointer; pid is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Ok(ExitStatus::from_raw(status));
        }
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        if !forwarded && stop() {
            // SAFETY: kill has no memory preconditions; pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            forwarded = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `program` itself when it has a slash, else the first executable of that name in PATH.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Some(program.to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Records every task in cgroup `dir` (and below) until `stop` says so, the cgroup is
/// removed, or it has no task for a second.
pub fn record_cgroup(dir: &Path, stop: &dyn Fn() -> bool) -> Result<Recording, Error> {
    let mut recorder = Recorder::start()?;
    recorder.follow_cgroup(dir)?;
    let events = dir.join("cgroup.events");
    let mut empty_polls = 0;
    while !stop() {
        std::thread::sleep(Duration::from_millis(100));
        match std::fs::read_to_string(&events) {
            Err(_) => break,
            Ok(text) if text.contains("populated 0") => {
                empty_polls += 1;
                if empty_polls >= 10 {
                    break;
                }
            }
            Ok(_) => empty_polls = 0,
        }
    }
    Recording::new(recorder.seen()?, None)
}

/// The cgroup v2 directory of container `id` (a full id or a unique prefix of at least 4
/// characters), as runc, Docker, containerd and CRI-O name them.
pub fn container_cgroup(id: &str) -> Result<PathBuf, Error> {
    if id.len() < 4
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Error::Usage(format!(
            "container id `{id}`: give the id or a prefix of at least 4 characters"
        )));
    }
    let root = cgroup2_root()?;
    let mut found = Vec::new();
    find_container(&root, id, 0, &mut found);
    match found.len() {
        0 => Err(Error::Usage(format!(
            "no cgroup below {} names container `{id}`; is it running?",
            root.display()
        ))),
        1 => Ok(found.remove(0)),
        _ => Err(Error::Usage(format!(
            "container id `{id}` is ambiguous: {}",
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn find_container(dir: &Path, id: &str, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `<id>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`.
        let bare = name
            .strip_suffix(".scope")
            .map(|n| n.rsplit('-').next().unwrap_or(n))
            .unwrap_or(&name);
        if bare.starts_with(id) {
            found.push(entry.path());
        } else if depth < 6 {
            find_container(&entry.path(), id, depth + 1, found);
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::Spawn {
            program: "pipe".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: pipe2 succeeded, so both are open descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
