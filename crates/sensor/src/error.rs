//! Why a program could not be loaded, attached, configured or read.

/// Why a program could not start or read.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The object did not load (verifier, missing kernel support, not root).
    #[error("loading the eBPF programs failed (run as root on Linux 5.8+ with BTF): {0}")]
    Load(#[from] aya::EbpfError),
    /// A program did not load or attach.
    #[error("program {program} on {hook}: {source}")]
    Program {
        /// Program name in the object.
        program: &'static str,
        /// The raw tracepoint, cgroup or LSM hook.
        hook: &'static str,
        /// What the kernel said.
        source: aya::programs::ProgramError,
    },
    /// A map was missing or could not be written.
    #[error("map {map}: {detail}")]
    Map {
        /// Map name in the object.
        map: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// A filter named a syscall the sensor does not know.
    #[error("unknown syscall `{0}` in the filter; known: see `haechi agent --probe`")]
    UnknownSyscall(String),
    /// Pinning under bpffs, or the cgroup hierarchy, failed.
    #[error("{0}")]
    Pin(String),
    /// The ring buffer could not be registered with the async runtime.
    #[error("watching the ring buffer: {0}")]
    Io(#[from] std::io::Error),
}

/// A [`SensorError::Map`] for map `map`.
pub(crate) fn map_error(map: &'static str, err: impl std::fmt::Display) -> SensorError {
    SensorError::Map {
        map,
        detail: err.to_string(),
    }
}
