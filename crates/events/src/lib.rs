//! The event vocabulary of haechi's runtime: what a task did ([`Event`]: an exec, a fork, an
//! exit or a watched syscall, each with its [`Task`]), the processes already running when a
//! source began ([`Process`]), the DNS answers sockets receive ([`DnsReply`], read with
//! [`dns::resolution`]), the syscalls an event can be about and what their arguments mean
//! ([`syscalls`]), and the recorded form of it all ([`recording`]).
//!
//! The design decision: every source of events speaks this vocabulary and nothing else. The
//! kernel crate decodes its ring-buffer records into it, the gVisor crate decodes sandboxes'
//! trace points into it, a recording replays it; the agent's pipeline reads it, and
//! enforcement learns from the same DNS answers. So the vocabulary is a crate of its own that
//! touches nothing: no kernel (the kernel/user ABI is the kernel crate's, which translates),
//! no process table, no containers, no rules.

pub mod dns;
mod event;
mod process;
pub mod recording;
pub mod syscalls;

pub use event::{
    DnsReply, Endpoints, Event, Exec, Observation, SockAddr, SyscallRecord, Task, boot_to_epoch_ns,
};
pub use process::Process;
pub use syscalls::Syscall;
