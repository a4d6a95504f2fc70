//! haechi's eBPF sensor: the kernel programs (`bpf/sensor.bpf.c`, compiled into the committed
//! `bpf/sensor.bpf.o`), the kernel/user ABI (`bpf/abi.h`, mirrored in [`abi`]), the loader that
//! probes the kernel, configures the in-kernel filters and attaches the programs, and the
//! decoder that turns ring-buffer records into [`Event`]s (and the DNS answers sockets receive,
//! for naming servers); and the enforcement programs
//! (`bpf/enforce.bpf.c`) with their loader and policy tables ([`enforce`]); and the syscall
//! recorder (`bpf/record.bpf.c`, [`Recorder`]) that seccomp profiles are made from.
//!
//! This crate owns everything that touches the kernel. It knows nothing of processes beyond
//! one event, of containers or of rules: the agent crate builds those on top.

pub mod abi;
mod decode;
pub mod enforce;
pub mod probe;
mod record;
mod sensor;
pub mod syscalls;

pub use decode::{
    DecodeError, DnsReply, Endpoints, Event, Exec, Record, SockAddr, SyscallRecord, Task, decode,
};
pub use record::Recorder;
pub use sensor::{DRAIN_INTERVAL, Filter, Paths, Sensor, SensorError, Stats};
