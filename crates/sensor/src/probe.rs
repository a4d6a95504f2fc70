//! What the running kernel offers the sensor, found by asking it (never assumed), and the
//! pseudo-filesystems the sensor needs, mounted when missing.

use std::fmt;
use std::path::{Path, PathBuf};

use aya::maps::MapType;
use aya::programs::ProgramType;
use aya::sys::{is_map_supported, is_program_supported};

use crate::error::SensorError;

/// How the host's cgroups are mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupLayout {
    /// cgroup v2 only (`/sys/fs/cgroup` is cgroup2).
    Unified,
    /// v1 controllers with a v2 hierarchy beside them (`/sys/fs/cgroup/unified`).
    Hybrid,
    /// cgroup v1 only.
    Legacy,
}

/// The environment variable naming where the host's cgroup file system is mounted, when not at
/// /sys/fs/cgroup: in a container, /sys/fs/cgroup shows the container's own cgroup (a private
/// cgroup namespace), so the agent's pod mounts the host's at another path and says so here.
pub const CGROUP_MOUNT_ENV: &str = "HAECHI_CGROUP_MOUNT";

/// Where the host's cgroup file system is mounted: `$HAECHI_CGROUP_MOUNT`, else /sys/fs/cgroup.
pub fn cgroup_mount() -> PathBuf {
    std::env::var_os(CGROUP_MOUNT_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from("/sys/fs/cgroup"), PathBuf::from)
}

/// The host's cgroup v2 hierarchy, which cgroup programs attach to (at its root) and cgroup
/// ids are inode numbers in: the cgroup mount on a unified host, its `unified` directory on a
/// hybrid one.
pub fn cgroup2_root() -> Result<PathBuf, SensorError> {
    match CgroupLayout::detect() {
        CgroupLayout::Unified => Ok(cgroup_mount()),
        CgroupLayout::Hybrid => Ok(cgroup_mount().join("unified")),
        CgroupLayout::Legacy => Err(SensorError::Pin(
            "network enforcement needs a cgroup v2 hierarchy (unified or hybrid); this host \
             mounts cgroup v1 only"
                .into(),
        )),
    }
}

impl CgroupLayout {
    /// Reads the layout from the host's cgroup mount ([`cgroup_mount`]).
    pub fn detect() -> Self {
        let mount = cgroup_mount();
        if mount.join("cgroup.controllers").exists() {
            CgroupLayout::Unified
        } else if mount.join("unified/cgroup.controllers").exists() {
            CgroupLayout::Hybrid
        } else {
            CgroupLayout::Legacy
        }
    }

    /// Whether container cgroup paths are read from the v1 memory hierarchy: on v1 and hybrid
    /// hosts container engines name their cgroups there for certain.
    pub fn uses_v1_paths(self) -> bool {
        self != CgroupLayout::Unified && cgroup_mount().join("memory").exists()
    }
}

/// The kernel's answers.
#[derive(Clone, Debug)]
pub struct KernelReport {
    /// `uname -r`.
    pub release: String,
    /// Kernel BTF at /sys/kernel/btf/vmlinux (CO-RE needs it).
    pub btf: bool,
    /// Cgroup layout.
    pub cgroups: CgroupLayout,
    /// Raw tracepoint programs load (the sensor's hooks).
    pub raw_tracepoint: bool,
    /// BPF ring buffers exist.
    pub ring_buffer: bool,
    /// LPM tries exist (in-kernel path prefix filter).
    pub lpm_trie: bool,
    /// fentry programs (BTF-typed tracing at a kernel function's entry) load; they need the
    /// kernel's function tracer. tp_btf, BTF-typed tracepoints, is another attach type of the
    /// same program type and may load where fentry does not.
    pub fentry: bool,
    /// BPF LSM programs load and the kernel runs them ("bpf" among the active LSMs in
    /// /sys/kernel/security/lsm): the enforcement programs can refuse (`deny`) opens,
    /// executions and privileged syscalls.
    pub lsm: bool,
    /// Active LSMs, from /sys/kernel/security/lsm when readable.
    pub active_lsms: Option<String>,
    /// cgroup socket-address programs (connect4/6) load.
    pub cgroup_sock_addr: bool,
}

impl KernelReport {
    /// Asks the kernel. Probing needs root (CAP_BPF and CAP_PERFMON or CAP_SYS_ADMIN);
    /// without it every program type reads as unavailable.
    pub fn probe() -> Self {
        let program = |t| is_program_supported(t).unwrap_or(false);
        let map = |t| is_map_supported(t).unwrap_or(false);
        let active_lsms = std::fs::read_to_string("/sys/kernel/security/lsm").ok();
        KernelReport {
            release: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".to_owned()),
            btf: Path::new("/sys/kernel/btf/vmlinux").exists(),
            cgroups: CgroupLayout::detect(),
            raw_tracepoint: program(ProgramType::RawTracePoint),
            ring_buffer: map(MapType::RingBuf),
            lpm_trie: map(MapType::LpmTrie),
            // aya asks by loading an fentry program on bpf_fentry_test1.
            fentry: program(ProgramType::Tracing),
            // A BPF LSM program loads and attaches even where the BPF LSM is not in the
            // kernel's lsm= list, and then never runs: ask both. An unreadable list (securityfs
            // not mounted) counts as no, so `deny` never rests on a hook that may not run.
            lsm: program(ProgramType::Lsm(aya::programs::LsmAttachType::Mac))
                && active_lsms
                    .as_deref()
                    .is_some_and(|list| list.trim().split(',').any(|name| name == "bpf")),
            active_lsms,
            cgroup_sock_addr: program(ProgramType::CgroupSockAddr),
        }
    }

    /// What keeps the sensor from running here, if anything.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.btf {
            missing.push("kernel BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF=y)");
        }
        if !self.raw_tracepoint {
            missing.push("raw tracepoint programs (or not running as root)");
        }
        if !self.ring_buffer {
            missing.push("BPF ring buffers (Linux 5.8 or later)");
        }
        missing
    }
}

impl fmt::Display for KernelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        writeln!(f, "kernel            {}", self.release)?;
        writeln!(f, "btf               {}", yes(self.btf))?;
        writeln!(f, "cgroups           {:?}", self.cgroups)?;
        writeln!(f, "raw tracepoints   {}", yes(self.raw_tracepoint))?;
        writeln!(f, "ring buffer       {}", yes(self.ring_buffer))?;
        writeln!(f, "lpm trie          {}", yes(self.lpm_trie))?;
        writeln!(f, "fentry            {}", yes(self.fentry))?;
        writeln!(f, "bpf lsm           {}", yes(self.lsm))?;
        writeln!(f, "cgroup sock_addr  {}", yes(self.cgroup_sock_addr))?;
        match &self.active_lsms {
            Some(lsms) => writeln!(f, "active lsms       {}", lsms.trim())?,
            None => writeln!(f, "active lsms       unknown")?,
        }
        writeln!(f, "enforcement actions, and the hooks that give them here:")?;
        let actions = self.actions();
        for (i, (matched, actions)) in actions.iter().enumerate() {
            write!(f, "  {matched:<25} {actions}")?;
            if i + 1 < actions.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

impl KernelReport {
    /// For each kind of enforcement rule, the actions this kernel gives it and through which
    /// hooks (`alert` comes with every hook that can act).
    pub fn actions(&self) -> Vec<(&'static str, String)> {
        let kill = "kill: raw tracepoint sys_exit";
        let deny_or = |lsm_hooks: &str, kill: &str| {
            if self.lsm {
                format!("deny: BPF-LSM {lsm_hooks}; {kill}")
            } else {
                format!("deny: no (needs BPF-LSM; `fallback: kill`); {kill}")
            }
        };
        vec![
            (
                "egress",
                "deny: cgroup connect4/6, sendmsg4/6; kill: those + raw tracepoint sys_exit"
                    .to_owned(),
            ),
            ("files", deny_or("file_open, path_mknod", kill)),
            (
                "exec",
                deny_or(
                    "bprm_check_security",
                    "kill: raw tracepoint sched_process_exec",
                ),
            ),
            (
                "ptrace",
                deny_or("ptrace_access_check, ptrace_traceme", kill),
            ),
            (
                "setid",
                deny_or("task_fix_setuid, task_fix_setgid, capset", kill),
            ),
            ("bpf", deny_or("bpf", kill)),
            (
                "module, mount, namespace",
                format!("deny: no (syscalls no LSM hook sees; `fallback: kill`); {kill}"),
            ),
        ]
    }
}

/// Mounts tracefs and bpffs where they are missing; returns what it mounted.
pub fn ensure_mounts() -> std::io::Result<Vec<&'static str>> {
    let mut mounted = Vec::new();
    for (fs, dir, probe) in [
        (
            "tracefs",
            "/sys/kernel/tracing",
            "/sys/kernel/tracing/events",
        ),
        ("bpf", "/sys/fs/bpf", "/sys/fs/bpf/."),
    ] {
        if fs == "bpf" && is_mounted(dir, "bpf")? || fs == "tracefs" && Path::new(probe).exists() {
            continue;
        }
        mount(fs, dir)?;
        mounted.push(dir);
    }
    Ok(mounted)
}

fn is_mounted(dir: &str, fstype: &str) -> std::io::Result<bool> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")?;
    Ok(mounts.lines().any(|line| {
        let mut parts = line.split_whitespace();
        parts.nth(1) == Some(dir) && parts.next() == Some(fstype)
    }))
}

fn mount(fstype: &str, dir: &str) -> std::io::Result<()> {
    let c = |s: &str| std::ffi::CString::new(s).expect("static names have no NUL");
    let (source, target, fs) = (c(fstype), c(dir), c(fstype));
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fs.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
