//! haechi's runtime pipeline on top of the sensor: the process table (seeded from /proc, kept
//! from fork/exec/exit), container attribution from cgroup paths with metadata from the
//! container engine, user and group names, the names DNS answers gave the servers processes
//! connect to, Falco's fields of each event (read in place by the rules through a typed view,
//! written as JSON only for `--events`), the alerts compiled rules raise on them, where those
//! alerts go (deduplication, sinks — file, HTTP, Slack — that never hold up detection, and the
//! Prometheus metrics of it all), and the scoping of enforcement policies to container cgroups
//! with alerts for what the kernel enforced.
//!
//! This crate never touches the kernel directly (that is `haechi-sensor`) and holds no rule
//! logic (that is `haechi-rules`'): it feeds events to a [`haechi_rules::Ruleset`].

pub mod accounts;
mod agent;
pub mod containers;
pub mod dedup;
pub mod dns;
pub mod enforcement;
pub mod fields;
mod held;
pub mod metrics;
pub mod paths;
pub mod process;
pub mod sinks;
pub mod view;

pub use agent::{Agent, AgentError, Format, Options, Reload, Summary};
