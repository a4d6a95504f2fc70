//! Loading the enforcement programs (`bpf/enforce.bpf.c`), pinning them so they outlive the
//! agent, writing the policy tables they read ([`Tables`]), and reading what they did.
//!
//! The tables are data only: what a policy means is decided by the crate that compiles
//! policies; this module puts entries into maps and takes stale ones out, without reloading
//! a program.

use std::fs::File;
use std::path::Path;

use aya::maps::lpm_trie::LpmTrie;
use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::{
    CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, CgroupSockAddr, Lsm, RawTracePoint,
};
use aya::{Btf, Ebpf, EbpfLoader};
use tokio::io::unix::AsyncFd;

use crate::abi::{self, DnsAnswer, Enforcement, NetKeyData, TaskSelection, Verdict};
use crate::error::{SensorError, map_error};
use crate::load::{ring, typed};
use crate::probe::cgroup2_root;

mod tables;

pub use tables::{NetRule, PathRule, SelectorBinary, Tables};
use tables::{address_key, fill_syscall_table};

/// The compiled enforcement programs; rebuilt by `bpf/build.sh`.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../bpf/enforce.bpf.o");

/// Where pins live by default: `maps/` and `links/` below it.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/haechi";

/// Raw tracepoint programs and their hooks.
const TRACEPOINTS: [(&str, &str); 4] = [
    ("enforce_sys_exit", "sys_exit"),
    ("enforce_exec", "sched_process_exec"),
    ("enforce_fork", "sched_process_fork"),
    ("enforce_process_exit", "sched_process_exit"),
];

/// Cgroup socket-address programs; attached at the root of the cgroup v2 hierarchy so every
/// container cgroup below it inherits them.
const SOCK_ADDR: [&str; 4] = [
    "enforce_connect4",
    "enforce_connect6",
    "enforce_sendmsg4",
    "enforce_sendmsg6",
];

/// BPF-LSM programs (`bpf/enforce/lsm_*.c`) and their hooks: they refuse, with EPERM, what a `deny`
/// rule forbids on files, executables and the ptrace, setid and bpf privilege classes. Loaded
/// only where the kernel runs the BPF LSM ([`crate::probe::KernelReport::lsm`]).
pub const LSM_HOOKS: [(&str, &str); 9] = [
    ("enforce_lsm_file_open", "file_open"),
    ("enforce_lsm_path_mknod", "path_mknod"),
    ("enforce_lsm_exec", "bprm_check_security"),
    ("enforce_lsm_ptrace", "ptrace_access_check"),
    ("enforce_lsm_traceme", "ptrace_traceme"),
    ("enforce_lsm_setuid", "task_fix_setuid"),
    ("enforce_lsm_setgid", "task_fix_setgid"),
    ("enforce_lsm_capset", "capset"),
    ("enforce_lsm_bpf", "bpf"),
];

/// Records the kernel dropped because a ring buffer was full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lost {
    /// Records of enforcement actions (the actions were taken).
    pub records: u64,
    /// DNS answers (the addresses they named were not learned).
    pub dns_answers: u64,
}

/// The program that hands scoped containers' DNS answers to user space.
const DNS_ANSWERS: &str = "enforce_dns_answers";

/// The loaded, attached, pinned enforcement programs.
pub struct Enforcer {
    ring: AsyncFd<RingBuf<MapData>>,
    dns: AsyncFd<RingBuf<MapData>>,
    // Owns the programs and maps; the pinned links keep them attached beyond it.
    ebpf: Ebpf,
}

fn pin_error(what: &str, path: &Path, err: impl std::fmt::Display) -> SensorError {
    SensorError::Pin(format!("{what} {}: {err}", path.display()))
}

impl Enforcer {
    /// Loads the programs, reusing the maps pinned under `pin_dir` (a restarted agent keeps
    /// what the last one enforced), attaches them and pins their links, replacing the links
    /// an earlier agent pinned. Needs root and a mounted bpffs. Without the BPF-LSM programs:
    /// see [`Enforcer::start_with`].
    pub fn start(pin_dir: &Path) -> Result<Self, SensorError> {
        Self::start_with(pin_dir, false)
    }

    /// As [`Enforcer::start`]; with `lsm`, also attaches the BPF-LSM programs that refuse what
    /// `deny` rules on files, executables and privileged syscalls forbid (only where the kernel
    /// runs the BPF LSM: the policies must then have been compiled for it). Without `lsm`, the
    /// LSM links an earlier agent pinned are removed.
    pub fn start_with(pin_dir: &Path, lsm: bool) -> Result<Self, SensorError> {
        let maps_dir = pin_dir.join("maps");
        let links_dir = pin_dir.join("links");
        for dir in [&maps_dir, &links_dir] {
            std::fs::create_dir_all(dir).map_err(|e| pin_error("creating", dir, e))?;
        }
        let mut ebpf = EbpfLoader::new()
            .default_map_pin_directory(&maps_dir)
            .load(OBJECT)?;
        fill_syscall_table(&mut ebpf)?;

        for (program, hook) in TRACEPOINTS {
            let attach = |ebpf: &mut Ebpf| -> Result<FdLink, aya::programs::ProgramError> {
                let prog: &mut RawTracePoint = ebpf
                    .program_mut(program)
                    .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
                    .try_into()?;
                prog.load()?;
                let id = prog.attach(hook)?;
                Ok(prog.take_link(id)?.into())
            };
            attach_and_pin(&mut ebpf, program, hook, &links_dir, attach)?;
        }

        let root = cgroup2_root()?;
        let cgroup = File::open(&root).map_err(|e| pin_error("opening", &root, e))?;
        for program in SOCK_ADDR {
            let attach = |ebpf: &mut Ebpf| -> Result<FdLink, aya::programs::ProgramError> {
                let prog: &mut CgroupSockAddr = ebpf
                    .program_mut(program)
                    .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
                    .try_into()?;
                prog.load()?;
                // A bpf_link on a cgroup always lets other programs attach beside it; the
                // kernel refuses the multi-attach flag on links, so ask for the default.
                let id = prog.attach(&cgroup, CgroupAttachMode::Single)?;
                prog.take_link(id)?
                    .try_into()
                    .map_err(|_| aya::programs::ProgramError::UnexpectedProgramType)
            };
            attach_and_pin(&mut ebpf, program, "cgroup v2 root", &links_dir, attach)?;
        }
        let attach = |ebpf: &mut Ebpf| -> Result<FdLink, aya::programs::ProgramError> {
            let prog: &mut CgroupSkb = ebpf
                .program_mut(DNS_ANSWERS)
                .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
                .try_into()?;
            prog.load()?;
            let id = prog.attach(
                &cgroup,
                CgroupSkbAttachType::Ingress,
                CgroupAttachMode::Single,
            )?;
            prog.take_link(id)?
                .try_into()
                .map_err(|_| aya::programs::ProgramError::UnexpectedProgramType)
        };
        attach_and_pin(&mut ebpf, DNS_ANSWERS, "cgroup v2 root", &links_dir, attach)?;

        if lsm {
            let btf = Btf::from_sys_fs()
                .map_err(|e| SensorError::Pin(format!("reading the kernel's BTF: {e}")))?;
            for (program, hook) in LSM_HOOKS {
                let attach = |ebpf: &mut Ebpf| -> Result<FdLink, aya::programs::ProgramError> {
                    let prog: &mut Lsm = ebpf
                        .program_mut(program)
                        .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
                        .try_into()?;
                    prog.load(hook, &btf)?;
                    let id = prog.attach()?;
                    Ok(prog.take_link(id)?.into())
                };
                attach_and_pin(&mut ebpf, program, hook, &links_dir, attach)?;
            }
        } else {
            for (program, _) in LSM_HOOKS {
                let path = links_dir.join(program);
                if path.exists() {
                    PinnedLink::from_pin(&path)
                        .map_err(|e| pin_error("reading pinned link", &path, e))?
                        .unpin()
                        .map_err(|e| pin_error("unpinning", &path, e))?;
                }
            }
        }

        Ok(Enforcer {
            ring: ring(&mut ebpf, "enforcements")?,
            dns: ring(&mut ebpf, "dns_answers")?,
            ebpf,
        })
    }

    /// Removes every pin under `pin_dir`: the programs detach and the maps go once nothing
    /// else holds them. Returns whether there was anything to remove.
    pub fn cleanup(pin_dir: &Path) -> Result<bool, SensorError> {
        if !pin_dir.exists() {
            return Ok(false);
        }
        std::fs::remove_dir_all(pin_dir).map_err(|e| pin_error("removing", pin_dir, e))?;
        Ok(true)
    }

    /// Makes the kernel's tables equal to `tables`: new entries first, then stale ones out,
    /// so a rule in both the old and the new tables never lapses. When the process selectors
    /// differ from those in the kernel (an agent restarted with other policies), what the
    /// kernel knows of every process is cleared: the caller seeds the running processes again.
    pub fn load_tables(&mut self, tables: &Tables) -> Result<(), SensorError> {
        tables::load(&mut self.ebpf, tables)
    }

    /// Writes what the selectors say of a process that was running before the kernel could
    /// see its exec (seeded from /proc), unless the kernel has already decided: returns
    /// whether it was written.
    pub fn seed_selection(
        &mut self,
        tgid: u32,
        selection: TaskSelection,
    ) -> Result<bool, SensorError> {
        let mut tasks: HashMap<_, u32, TaskSelection> = typed(&mut self.ebpf, "task_selections")?;
        // What the kernel saw since is more accurate than /proc.
        const BPF_NOEXIST: u64 = 1;
        match tasks.insert(tgid, selection, BPF_NOEXIST) {
            Ok(()) => Ok(true),
            Err(aya::maps::MapError::SyscallError(e))
                if e.io_error.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(false)
            }
            Err(e) => Err(map_error("task_selections", e)),
        }
    }

    /// What the kernel holds on a process's selection, if anything.
    pub fn selection(&self, tgid: u32) -> Result<Option<TaskSelection>, SensorError> {
        let map = self
            .ebpf
            .map("task_selections")
            .ok_or(map_error("task_selections", "missing"))?;
        let tasks: HashMap<_, u32, TaskSelection> =
            HashMap::try_from(map).map_err(|e| map_error("task_selections", e))?;
        match tasks.get(&tgid, 0) {
            Ok(selection) => Ok(Some(selection)),
            Err(aya::maps::MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(map_error("task_selections", e)),
        }
    }

    /// Puts a cgroup under the policies of `mask` (bit i: policy i); 0 takes it out.
    pub fn set_scope(&mut self, cgroup_id: u64, mask: u32) -> Result<(), SensorError> {
        let mut scopes: HashMap<_, u64, u32> = typed(&mut self.ebpf, "scopes")?;
        if mask == 0 {
            match scopes.remove(&cgroup_id) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
                Err(e) => Err(map_error("scopes", e)),
            }
        } else {
            scopes
                .insert(cgroup_id, mask, 0)
                .map_err(|e| map_error("scopes", e))
        }
    }

    /// What the kernel could not write because a ring buffer was full, since the maps were
    /// first pinned: what was lost while no agent drained the buffers counts too.
    pub fn lost(&self) -> Result<Lost, SensorError> {
        let map = self
            .ebpf
            .map("enforce_stats")
            .ok_or(map_error("enforce_stats", "missing"))?;
        let stats: PerCpuArray<_, u64> =
            PerCpuArray::try_from(map).map_err(|e| map_error("enforce_stats", e))?;
        let sum = |index: u32| -> Result<u64, SensorError> {
            let per_cpu = stats
                .get(&index, 0)
                .map_err(|e| map_error("enforce_stats", e))?;
            Ok(per_cpu.iter().sum())
        };
        Ok(Lost {
            records: sum(abi::ENFORCE_STAT_LOST)?,
            dns_answers: sum(abi::ENFORCE_STAT_DNS_LOST)?,
        })
    }

    /// Has the kernel hand over the DNS answers that containers under the policies of `mask`
    /// (bit i: policy i) receive; 0 stops it.
    pub fn watch_dns(&mut self, mask: u32) -> Result<(), SensorError> {
        typed::<Array<_, u32>>(&mut self.ebpf, "dns_policies")?
            .set(0, mask, 0)
            .map_err(|e| map_error("dns_policies", e))
    }

    /// Denies connections and datagrams to `addr` (IPv6, or IPv4 mapped into it) under
    /// `policy`, beside the policy's own denied ranges: for addresses learned from DNS answers.
    pub fn deny_address(
        &mut self,
        policy: u8,
        addr: [u8; 16],
        verdict: Verdict,
    ) -> Result<(), SensorError> {
        let mut trie: LpmTrie<_, NetKeyData, Verdict> = typed(&mut self.ebpf, "net_denied")?;
        trie.insert(&address_key(policy, addr), verdict, 0)
            .map_err(|e| map_error("net_denied", e))
    }

    /// Takes back [`Enforcer::deny_address`].
    pub fn forget_address(&mut self, policy: u8, addr: [u8; 16]) -> Result<(), SensorError> {
        let mut trie: LpmTrie<_, NetKeyData, Verdict> = typed(&mut self.ebpf, "net_denied")?;
        match trie.remove(&address_key(policy, addr)) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(map_error("net_denied", e)),
        }
    }

    /// Waits until enforcement records or DNS answers are there.
    pub async fn readable(&mut self) -> Result<(), SensorError> {
        tokio::select! {
            guard = self.ring.readable_mut() => guard?.clear_ready(),
            guard = self.dns.readable_mut() => guard?.clear_ready(),
        }
        Ok(())
    }

    /// Hands every DNS answer now in its ring buffer to `on_answer`.
    pub fn drain_dns(&mut self, mut on_answer: impl FnMut(&DnsAnswer)) -> usize {
        let ring = self.dns.get_mut();
        let mut count = 0;
        while let Some(item) = ring.next() {
            if item.len() >= size_of::<DnsAnswer>() {
                // SAFETY: the kernel wrote a whole `struct haechi_dns_answer` (the ABI test
                // checks the layouts agree); read_unaligned copes with any alignment.
                let answer: DnsAnswer = unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) };
                on_answer(&answer);
                count += 1;
            }
        }
        count
    }

    /// Hands every record now in the ring buffer to `on_record`.
    pub fn drain(&mut self, mut on_record: impl FnMut(Enforcement)) -> usize {
        let ring = self.ring.get_mut();
        let mut count = 0;
        while let Some(item) = ring.next() {
            if item.len() >= size_of::<Enforcement>() {
                // SAFETY: the kernel wrote a whole `struct haechi_enforcement` (the ABI test
                // checks the layouts agree); read_unaligned copes with any alignment.
                on_record(unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) });
                count += 1;
            }
        }
        count
    }
}

/// Pins `link` at `path`; the link an earlier agent pinned there is unpinned after the new
/// one is attached, so the hook is never left without a program.
/// Attaches a program with `attach` and pins its link as `links_dir/program`, in place of an
/// older agent's link; an attach error names the program and its hook.
fn attach_and_pin(
    ebpf: &mut Ebpf,
    program: &'static str,
    hook: &'static str,
    links_dir: &Path,
    attach: impl FnOnce(&mut Ebpf) -> Result<FdLink, aya::programs::ProgramError>,
) -> Result<(), SensorError> {
    let link = attach(ebpf).map_err(|source| SensorError::Program {
        program,
        hook,
        source,
    })?;
    replace_pin(link, &links_dir.join(program))
}

fn replace_pin(link: FdLink, path: &Path) -> Result<(), SensorError> {
    let old = if path.exists() {
        Some(PinnedLink::from_pin(path).map_err(|e| pin_error("reading pinned link", path, e))?)
    } else {
        None
    };
    if let Some(old) = old {
        old.unpin().map_err(|e| pin_error("unpinning", path, e))?;
    }
    link.pin(path).map_err(|e| pin_error("pinning", path, e))?;
    Ok(())
}
