//! haechi's seccomp profiles: least-privilege allow lists made from what a workload really
//! calls. This crate records a command or a container with the sensor's recorder
//! (`haechi_sensor::Recorder`), names the syscall numbers through tables generated from the
//! kernel sources (the `syscalls` crate, x86_64 and aarch64), writes OCI / Docker seccomp
//! profiles and security-profiles-operator `SeccompProfile` objects, merges, diffs and checks
//! profiles (dangerous allows, unknown names, the comparison with Docker's default) — a check's
//! report goes out through `haechi-report` like every other ([`format`]) — and runs a command
//! in a fresh runc or runsc (gVisor) container under a profile to prove it works.
//!
//! The design decision: a profile is only as good as the run that proves it. So recording
//! includes what the container runtime itself makes after it applies the filter
//! ([`record::RUNTIME_SYSCALLS`]), and [`run`] applies exactly the profile file a node would,
//! through the same runtimes. This crate touches the kernel only through the sensor crate.

pub mod arch;
pub mod check;
pub mod format;
pub mod profile;
pub mod record;
pub mod run;

use std::path::PathBuf;

pub use arch::Arch;
pub use check::{Diff, Finding, Report, Severity, check, diff, docker_default, merge};
pub use profile::{Profile, SpoProfile};
pub use record::{Recording, container_cgroup, record_cgroup, record_command};
pub use run::{RunOptions, Runtime, run};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A profile is not valid JSON or not a seccomp profile.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// File (or other origin) of the profile.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said, with the field.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error("starting {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A profile cannot be converted or combined as asked.
    #[error("{0}")]
    Convert(String),
    /// The request does not make sense.
    #[error("{0}")]
    Usage(String),
    /// The container ran longer than allowed and was killed.
    #[error("the container ran longer than {0:?} and was killed")]
    Timeout(std::time::Duration),
    /// Recording is not supported on this architecture.
    #[error("recording on {0} is not supported (x86_64 and aarch64 are)")]
    Unsupported(&'static str),
    /// The recorder could not start or be read.
    #[error(transparent)]
    Sensor(#[from] haechi_sensor::SensorError),
}
