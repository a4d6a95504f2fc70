//! The observe programs (`bpf/observe.bpf.c`): loading them, configuring what they let
//! through ([`Filter`]), attaching them, and reading what they report, decoded into the event
//! vocabulary ([`decode`]).

mod decode;
mod filter;

use std::collections::BTreeSet;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType};
use aya::{Ebpf, EbpfLoader};
use haechi_events::syscalls::{self, SYSCALLS};
use tokio::io::unix::AsyncFd;

use crate::abi::{self, PREFIX_MAX, SyscallConf};
use crate::error::{SensorError, map_error};
use crate::load::{attach_raw_tracepoints, ring, typed};
use crate::probe::{self, CgroupLayout};

pub use decode::{DecodeError, decode};
pub use filter::{Filter, Paths, conf};

/// The compiled observe programs; rebuilt by `bpf/build.sh`.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../bpf/observe.bpf.o");

/// How often a reader should drain the ring buffer besides when [`Sensor::readable`] wakes
/// it: what an event may wait before it is handled on a quiet host.
pub const DRAIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The program that reports DNS answers, on the cgroup v2 root's ingress.
const DNS_ANSWERS: &str = "handle_dns_answer";

/// Raw tracepoints and the programs attached to them.
const HOOKS: [(&str, &str); 4] = [
    ("handle_exec", "sched_process_exec"),
    ("handle_fork", "sched_process_fork"),
    ("handle_exit", "sched_process_exit"),
    ("handle_sys_exit", "sys_exit"),
];

/// Kernel-side counters, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events written to the ring buffer.
    pub emitted: u64,
    /// Events lost because the ring buffer was full.
    pub lost: u64,
    /// Events dropped by the in-kernel filters.
    pub filtered: u64,
    /// File events whose path filter verdict came from the kernel's verdict cache (the path
    /// was not resolved again); passed or dropped.
    pub verdict_hits: u64,
}

/// The loaded, attached sensor. Dropping it detaches every program.
pub struct Sensor {
    ring: AsyncFd<RingBuf<MapData>>,
    stats: PerCpuArray<MapData, u64>,
    // Whether the DNS program is attached: it stays once it is, and the filter turns it off.
    dns_attached: bool,
    // Owns the programs, their links and the filter maps; dropped last.
    ebpf: Ebpf,
}

impl Sensor {
    /// Loads and attaches the programs with `filter`; must run inside a tokio runtime.
    /// The calling process's own events are not reported.
    pub fn start(filter: &Filter) -> Result<Self, SensorError> {
        let agent_tgid = std::process::id();
        let cgroup_v1 = u8::from(CgroupLayout::detect().uses_v1_paths());
        let mut ebpf = EbpfLoader::new()
            .override_global("haechi_agent_tgid", &agent_tgid, true)
            .override_global("haechi_cgroup_v1", &cgroup_v1, true)
            .load(OBJECT)?;
        configure(&mut ebpf, filter)?;
        attach_raw_tracepoints(&mut ebpf, &HOOKS)?;
        if filter.dns_answers {
            attach_dns(&mut ebpf)?;
        }
        let ring = ring(&mut ebpf, "events")?;
        let stats = ebpf
            .take_map("stats")
            .ok_or(map_error("stats", "missing"))?;
        let stats = PerCpuArray::try_from(stats).map_err(|e| map_error("stats", e))?;
        Ok(Sensor {
            ring,
            stats,
            dns_attached: filter.dns_answers,
            ebpf,
        })
    }

    /// Changes which syscalls and paths are reported, while the programs run (the ignore lists
    /// stay as started). Records already in the ring buffer are kept.
    pub fn set_filter(&mut self, filter: &Filter) -> Result<(), SensorError> {
        set_paths(&mut self.ebpf, &filter.paths)?;
        if filter.dns_answers && !self.dns_attached {
            attach_dns(&mut self.ebpf)?;
            self.dns_attached = true;
        }
        set_dns(&mut self.ebpf, filter.dns_answers)?;
        // After the trie changed: verdicts cached under the old filter are not taken again.
        invalidate_verdicts(&mut self.ebpf)?;
        let mut table = typed::<Array<_, SyscallConf>>(&mut self.ebpf, "syscalls")?;
        for syscall in SYSCALLS {
            let conf = if filter.syscalls.contains(syscall.name) {
                filter.conf(syscall)
            } else {
                SyscallConf::default()
            };
            table
                .set(syscall.nr, conf, 0)
                .map_err(|e| map_error("syscalls", e))?;
        }
        Ok(())
    }

    /// Waits until [`abi::WAKEUP_BYTES`] of records wait in the ring buffer. The kernel does
    /// not wake the reader for each event (that would cost the watched process an interrupt
    /// per syscall): drain also every [`DRAIN_INTERVAL`].
    pub async fn readable(&mut self) -> Result<(), SensorError> {
        let mut guard = self.ring.readable_mut().await?;
        guard.clear_ready();
        Ok(())
    }

    /// Hands every record now in the ring buffer to `on_record`; returns how many there were.
    pub fn drain(&mut self, on_record: impl FnMut(&[u8])) -> usize {
        self.drain_at_most(usize::MAX, on_record)
    }

    /// Hands the oldest `max` records (or fewer, if fewer are there) to `on_record`; returns
    /// how many.
    pub fn drain_at_most(&mut self, max: usize, mut on_record: impl FnMut(&[u8])) -> usize {
        let ring = self.ring.get_mut();
        let mut count = 0;
        while count < max {
            let Some(item) = ring.next() else { break };
            on_record(&item);
            count += 1;
        }
        count
    }

    /// The kernel-side counters.
    pub fn stats(&self) -> Stats {
        let sum = |index: u32| {
            self.stats
                .get(&index, 0)
                .map(|values| values.iter().sum())
                .unwrap_or(0)
        };
        Stats {
            emitted: sum(abi::STAT_EMITTED),
            lost: sum(abi::STAT_LOST),
            filtered: sum(abi::STAT_FILTERED),
            verdict_hits: sum(abi::STAT_VERDICT_HITS),
        }
    }
}

/// Attaches the DNS answer program to the cgroup v2 root, for as long as `ebpf` lives.
fn attach_dns(ebpf: &mut Ebpf) -> Result<(), SensorError> {
    let root = probe::cgroup2_root()?;
    let cgroup = std::fs::File::open(&root)
        .map_err(|e| SensorError::Pin(format!("opening {}: {e}", root.display())))?;
    let mut attach = || -> Result<(), aya::programs::ProgramError> {
        let prog: &mut CgroupSkb = ebpf
            .program_mut(DNS_ANSWERS)
            .ok_or(aya::programs::ProgramError::UnexpectedProgramType)?
            .try_into()?;
        prog.load()?;
        // A bpf_link, which always lets other programs attach beside it (enforcement's own
        // DNS program, others'); the kernel refuses the multi-attach flag on links.
        prog.attach(
            &cgroup,
            CgroupSkbAttachType::Ingress,
            CgroupAttachMode::Single,
        )?;
        Ok(())
    };
    attach().map_err(|source| SensorError::Program {
        program: DNS_ANSWERS,
        hook: "cgroup_skb/ingress on the cgroup v2 root",
        source,
    })
}

fn set_dns(ebpf: &mut Ebpf, on: bool) -> Result<(), SensorError> {
    typed::<Array<_, u32>>(ebpf, "dns_watch")?
        .set(0, u32::from(on), 0)
        .map_err(|e| map_error("dns_watch", e))
}

/// A path prefix as the `path_prefixes` trie's key (longer prefixes are cut, which lets more
/// through, never less).
fn prefix_key(prefix: &str) -> Key<[u8; PREFIX_MAX]> {
    let bytes = prefix.as_bytes();
    let len = bytes.len().min(PREFIX_MAX);
    let mut data = [0u8; PREFIX_MAX];
    data[..len].copy_from_slice(&bytes[..len]);
    Key::new(u32::try_from(len * 8).unwrap_or(u32::MAX), data)
}

/// Puts `paths` in the `path_prefixes` trie: new and changed entries first, stale ones after,
/// so that a path wanted before and after passes throughout.
fn set_paths(ebpf: &mut Ebpf, paths: &Paths) -> Result<(), SensorError> {
    let mut trie = typed::<LpmTrie<_, [u8; PREFIX_MAX], u8>>(ebpf, "path_prefixes")?;
    let entries = paths.entries();
    let keys: BTreeSet<(u32, [u8; PREFIX_MAX])> = entries
        .keys()
        .map(|p| {
            let key = prefix_key(p);
            (key.prefix_len(), key.data())
        })
        .collect();
    for (prefix, kinds) in &entries {
        trie.insert(&prefix_key(prefix), kinds, 0)
            .map_err(|e| map_error("path_prefixes", e))?;
    }
    let stale: Vec<Key<[u8; PREFIX_MAX]>> = trie
        .keys()
        .filter_map(Result::ok)
        .filter(|k| !keys.contains(&(k.prefix_len(), k.data())))
        .collect();
    for key in stale {
        trie.remove(&key)
            .map_err(|e| map_error("path_prefixes", e))?;
    }
    Ok(())
}

/// Bumps the filter generation of the kernel's path verdict cache: every verdict cached
/// before is ignored from now on. Only user space writes this entry, so the read and the
/// write cannot lose an update.
fn invalidate_verdicts(ebpf: &mut Ebpf) -> Result<(), SensorError> {
    let mut generation = typed::<Array<_, u64>>(ebpf, "path_generation")?;
    let current = generation
        .get(&abi::GEN_FILTER, 0)
        .map_err(|e| map_error("path_generation", e))?;
    generation
        .set(abi::GEN_FILTER, current.wrapping_add(1), 0)
        .map_err(|e| map_error("path_generation", e))
}

fn configure(ebpf: &mut Ebpf, filter: &Filter) -> Result<(), SensorError> {
    let mut table = typed::<Array<_, SyscallConf>>(ebpf, "syscalls")?;
    for name in &filter.syscalls {
        let syscall =
            syscalls::by_name(name).ok_or_else(|| SensorError::UnknownSyscall((*name).into()))?;
        table
            .set(syscall.nr, filter.conf(syscall), 0)
            .map_err(|e| map_error("syscalls", e))?;
    }

    set_paths(ebpf, &filter.paths)?;
    set_dns(ebpf, filter.dns_answers)?;

    let mut comms = typed::<HashMap<_, [u8; 16], u8>>(ebpf, "ignored_comms")?;
    for comm in &filter.ignored_comms {
        // The kernel keeps 15 bytes of a task name and a NUL.
        let mut key = [0u8; 16];
        let len = comm.len().min(15);
        key[..len].copy_from_slice(&comm.as_bytes()[..len]);
        comms
            .insert(key, 1, 0)
            .map_err(|e| map_error("ignored_comms", e))?;
    }

    let mut cgroups = typed::<HashMap<_, u64, u8>>(ebpf, "ignored_cgroups")?;
    for id in &filter.ignored_cgroups {
        cgroups
            .insert(id, 1, 0)
            .map_err(|e| map_error("ignored_cgroups", e))?;
    }
    Ok(())
}
