//! haechi's view inside gVisor sandboxes. A process under runsc talks to gVisor's kernel (the
//! Sentry), not the host's, so the host's eBPF sensor sees only the Sentry; gVisor exports
//! what happens inside through trace sessions instead. This crate owns that path: the server
//! end of runsc's `remote` sink (an AF_UNIX SOCK_SEQPACKET socket, a version handshake, an
//! 8-byte little-endian header before each protobuf point), the points decoded into the
//! event vocabulary's [`haechi_events::Event`]s, the session configuration runsc is given
//! (`--pod-init-config` or `runsc trace create`), and attaching to sandboxes already running.
//!
//! The design decision: a sandbox's points become the event vocabulary the host's sensor
//! speaks too, not a type of their own, so the agent's process table, Falco field rendering, rules, alerts, sinks and
//! metrics serve both without a line of difference; what is gVisor-specific ends at
//! [`decode::Sandboxed`]. Everything a sandbox sends is untrusted: sizes are checked, strings
//! bounded, and a bad message is counted and skipped, never fatal to the agent or to other
//! sandboxes' connections. This crate holds no rule logic and touches no kernel.

pub mod config;
pub mod decode;
pub mod proto;
pub mod runsc;
pub mod server;
pub mod wire;

pub use decode::{DecodeError, Decoded, Decoder, Sandboxed};
pub use server::{ListenError, Listener, Received, Stats};
