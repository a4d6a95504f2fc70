//! haechi's kernel side: three eBPF programs, each with its loader, and what they share.
//!
//! - [`observe`]: the sensor (`bpf/observe.bpf.c`): raw tracepoints on exec, fork, exit and
//!   syscall exit, and the DNS answers sockets receive; its in-kernel filter ([`Filter`]) and
//!   the decoder that turns its ring-buffer records into the event vocabulary
//!   ([`haechi_events::Observation`]).
//! - [`enforce`]: the enforcement programs (`bpf/enforce.bpf.c`): cgroup socket hooks, raw
//!   tracepoints and BPF-LSM hooks, pinned so they outlive the agent, and the policy tables
//!   they read ([`enforce::Tables`]).
//! - [`record`]: the syscall recorder (`bpf/record.bpf.c`) that seccomp profiles are made from.
//!
//! Beside them: the kernel/user ABI ([`abi`], mirroring `bpf/abi.h`, the one definition of the
//! structs both sides read), what the running kernel offers and how its cgroups are mounted
//! ([`probe`]), and the one error type of them all ([`SensorError`]).
//!
//! The design decision: this crate is the kernel's and nothing else's. It loads programs,
//! writes their maps and reads their records; what an event means (the vocabulary), which
//! events a set of rules needs, what a policy says, which container a cgroup holds: all that
//! is decided elsewhere and handed in as data.

pub mod abi;
pub mod enforce;
mod error;
mod load;
pub mod observe;
pub mod probe;
pub mod record;

pub use error::SensorError;
pub use observe::{DRAIN_INTERVAL, DecodeError, Filter, Paths, Sensor, Stats, decode};
pub use record::Recorder;
