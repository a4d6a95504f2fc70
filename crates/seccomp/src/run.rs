//! Running a command in a fresh OCI container under a profile, with runc or runsc (gVisor), so
//! a profile is tried in one step.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Error;
use crate::arch::Arch;
use crate::profile::{DEFAULT_CAPS, Profile};

/// The OCI runtime that runs the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// runc: the profile is a seccomp filter on the container's processes.
    Runc,
    /// runsc (gVisor): the workload runs on gVisor's kernel; `--oci-seccomp` makes it apply
    /// the profile there, and `--network=none` gives it a sandbox-private loopback.
    Runsc,
}

impl Runtime {
    /// The runtime's command name.
    pub fn program(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Runsc => "runsc",
        }
    }
}

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The profile to apply.
    pub profile: Profile,
    /// The runtime.
    pub runtime: Runtime,
    /// The container's root filesystem; `None` builds one from busybox-static.
    pub rootfs: Option<PathBuf>,
    /// The command and its arguments, as the container sees them.
    pub argv: Vec<OsString>,
    /// Kill the container after this long (a profile that refuses a syscall the workload
    /// retries can make it spin forever).
    pub timeout: Option<Duration>,
}

/// Where Debian's busybox-static puts its binary.
const BUSYBOX: &str = "/bin/busybox";

static RUNS: AtomicU32 = AtomicU32::new(0);

/// Builds the bundle, runs the container with the caller's standard streams, removes the
/// bundle, and returns the command's exit status. Needs root.
pub fn run(options: &RunOptions) -> Result<ExitStatus, Error> {
    let arch = Arch::native().ok_or(Error::Unsupported(std::env::consts::ARCH))?;
    if options.argv.is_empty() {
        return Err(Error::Usage(
            "nothing to run: give a command after --".into(),
        ));
    }
    let bundle = tempfile::Builder::new()
        .prefix("haechi-run-")
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let rootfs = match &options.rootfs {
        Some(dir) => dir.canonicalize().map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?,
        None => {
            let dir = bundle.path().join("rootfs");
            busybox_rootfs(&dir)?;
            dir
        }
    };
    let config = config(options, arch, &rootfs);
    let config_path = bundle.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).map_err(|source| Error::Io {
        path: config_path,
        source,
    })?;
    let id = format!(
        "haechi-run-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let state = std::env::temp_dir().join(format!("haechi-{}-state", options.runtime.program()));
    let mut command = Command::new(options.runtime.program());
    command.arg("--root").arg(&state);
    if options.runtime == Runtime::Runsc {
        command.args(["--oci-seccomp", "--network=none"]);
    }
    command
        .arg("run")
        .arg("--bundle")
        .arg(bundle.path())
        .arg(&id);
    let spawn_error = |source| Error::Spawn {
        program: options.runtime.program().into(),
        source,
    };
    let mut child = command.spawn().map_err(spawn_error)?;
    let Some(timeout) = options.timeout else {
        return child.wait().map_err(spawn_error);
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(spawn_error)? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = Command::new(options.runtime.program())
                .arg("--root")
                .arg(&state)
                .args(["kill", "--all", &id, "KILL"])
                .status();
            let _ = child.wait();
            return Err(Error::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The OCI runtime config: the profile resolved for `arch`, Docker's default capabilities,
/// fresh pid/ipc/uts/mount namespaces; runc shares the host's network namespace so loopback
/// works without an interface set-up, runsc gets its own (`--network=none`).
fn config(options: &RunOptions, arch: Arch, rootfs: &Path) -> serde_json::Value {
    let caps = DEFAULT_CAPS.to_vec();
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if options.runtime == Runtime::Runsc {
        namespaces.push(json!({"type": "network"}));
    }
    let args: Vec<String> = options
        .argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": false},
        "hostname": "haechi",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "namespaces": namespaces,
            "seccomp": options.profile.resolved(arch),
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// A root filesystem of Debian's static busybox: the binary and a link per applet.
fn busybox_rootfs(dir: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    if !Path::new(BUSYBOX).exists() {
        return Err(Error::Usage(format!(
            "{BUSYBOX} is missing: install Debian's busybox-static, or pass --rootfs DIR"
        )));
    }
    let bin = dir.join("bin");
    for sub in ["bin", "proc", "dev", "sys", "tmp", "etc", "root"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io(&dir.join(sub)))?;
    }
    std::fs::copy(BUSYBOX, bin.join("busybox")).map_err(io(&bin))?;
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(|source| Error::Spawn {
            program: BUSYBOX.into(),
            source,
        })?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.contains('/') && !applet.is_empty() {
            let link = bin.join(applet);
            std::os::unix::fs::symlink("busybox", &link).map_err(io(&link))?;
        }
    }
    let passwd = dir.join("etc/passwd");
    std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh\n").map_err(io(&passwd))?;
    Ok(())
}
