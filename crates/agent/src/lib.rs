//! haechi's runtime pipeline: events from sources, judged, delivered.
//!
//! - [`sources`]: where events come from, each behind the [`Source`] trait and each the only
//!   module touching its origin: the kernel's observe programs ([`sources::Kernel`], which also
//!   decides what crosses the kernel for the rules), gVisor sandboxes' trace streams
//!   ([`sources::Sandboxes`], attaching to running ones), a recording ([`sources::Replay`]).
//! - [`pipeline`]: what every input goes through: the process table (of the host, or of each
//!   sandboxed container), container attribution from cgroup paths with metadata from the
//!   container engine ([`containers`]), user and group names ([`accounts`]), the names DNS
//!   answers gave servers ([`dns`]), events held until their container is described, Falco's
//!   fields of each event ([`fields`], read in place by the rules through a typed view,
//!   [`rules`]) and the alerts the rules raise.
//! - [`delivery`]: where it all goes, behind one seam: the output (events with `--events`,
//!   alerts), deduplication ([`dedup`]), the sinks ([`sinks`]: file, HTTP, Slack, which never
//!   hold up detection), and the Prometheus metrics of it all ([`metrics`]).
//! - [`enforcement`]: beside the pipeline, the scoping of enforcement policies to container
//!   cgroups as containers appear, and alerts for what the kernel enforced.
//!
//! [`Agent`] wires them and runs. The design decision: the pipeline and delivery see inputs
//! in the event vocabulary ([`haechi_events`]) and never a kernel, so they run, and are tested
//! end to end, from a recording without root. This crate holds no rule logic (that is
//! `haechi-rules`') and loads no program (that is `haechi-sensor`'s, behind the kernel source
//! and enforcement).

pub mod accounts;
mod agent;
pub mod containers;
pub mod dedup;
pub mod delivery;
pub mod dns;
pub mod enforcement;
pub mod fields;
mod held;
pub mod metrics;
pub mod pipeline;
pub mod process;
pub mod rules;
pub mod sinks;
pub mod sources;

pub use agent::{Agent, AgentError, Options, Reload, Summary};
pub use delivery::Format;
pub use sources::Source;
