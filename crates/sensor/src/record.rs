//! Recording which syscalls a workload makes (`bpf/record.bpf.c`): the target is a set of
//! processes that grows with their children and/or a set of cgroup v2 directories with
//! everything below them; the kernel marks each syscall number the target makes once, and
//! [`Recorder::seen`] reads the marks.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aya::maps::{Array, HashMap};
use aya::{Ebpf, EbpfLoader};

use crate::abi::{RECORD_CGROUPS_MAX, SYSCALL_MAX};
use crate::error::{SensorError, map_error};
use crate::load::{attach_raw_tracepoints, typed};

/// The compiled recorder; rebuilt by `bpf/build.sh`.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/record.bpf.o");

/// Programs and the raw tracepoints they attach to.
const HOOKS: [(&str, &str); 3] = [
    ("record_fork", "sched_process_fork"),
    ("record_exit", "sched_process_exit"),
    ("record_sys_enter", "sys_enter"),
];

/// A loaded, attached recorder. Dropping it detaches the programs.
pub struct Recorder {
    ebpf: Ebpf,
}

impl Recorder {
    /// Loads and attaches the programs with an empty target; needs root. Add the target with
    /// [`Recorder::follow_process`] or [`Recorder::follow_cgroup`].
    pub fn start() -> Result<Self, SensorError> {
        let mut ebpf = EbpfLoader::new().load(OBJECT)?;
        // Fork tracking first, so no child of a followed process is missed once the
        // syscall hook runs.
        attach_raw_tracepoints(&mut ebpf, &HOOKS)?;
        Ok(Recorder { ebpf })
    }

    /// Records process `tgid` and every process it starts from now on.
    pub fn follow_process(&mut self, tgid: u32) -> Result<(), SensorError> {
        let mut tgids = typed::<HashMap<_, u32, u8>>(&mut self.ebpf, "record_tgids")?;
        tgids
            .insert(tgid, 1, 0)
            .map_err(|e| map_error("record_tgids", e))
    }

    /// Records every task in the cgroup v2 directory `dir` and in the cgroups below it that
    /// exist now; returns how many cgroups that is. A cgroup's id is its directory's inode.
    pub fn follow_cgroup(&mut self, dir: &Path) -> Result<usize, SensorError> {
        let mut ids = Vec::new();
        collect_cgroups(dir, &mut ids)
            .map_err(|e| SensorError::Pin(format!("reading cgroup {}: {e}", dir.display())))?;
        if ids.len() > RECORD_CGROUPS_MAX as usize {
            return Err(SensorError::Pin(format!(
                "{} holds {} cgroups; a recording follows at most {RECORD_CGROUPS_MAX}",
                dir.display(),
                ids.len()
            )));
        }
        let mut cgroups = typed::<HashMap<_, u64, u8>>(&mut self.ebpf, "record_cgroups")?;
        for id in &ids {
            cgroups
                .insert(id, 1, 0)
                .map_err(|e| map_error("record_cgroups", e))?;
        }
        Ok(ids.len())
    }

    /// The syscall numbers (the host's native table) the target has made so far.
    pub fn seen(&self) -> Result<BTreeSet<u32>, SensorError> {
        let seen: Array<_, u8> = self
            .ebpf
            .map("seen")
            .ok_or(map_error("seen", "missing"))?
            .try_into()
            .map_err(|e| map_error("seen", e))?;
        let mut numbers = BTreeSet::new();
        for nr in 0..SYSCALL_MAX {
            if seen.get(&nr, 0).map_err(|e| map_error("seen", e))? != 0 {
                numbers.insert(nr);
            }
        }
        Ok(numbers)
    }
}

fn collect_cgroups(dir: &Path, ids: &mut Vec<u64>) -> std::io::Result<()> {
    ids.push(std::fs::metadata(dir)?.ino());
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            collect_cgroups(&entry.path(), ids)?;
        }
    }
    Ok(())
}
