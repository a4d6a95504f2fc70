//! haechi's runtime pipeline on top of the sensor: the process table (seeded from /proc, kept
//! from fork/exec/exit), container attribution from cgroup paths with metadata from the
//! container engine, and events rendered with Falco's field names.
//!
//! This crate never touches the kernel directly (that is `haechi-sensor`) and holds no rule
//! logic (that is the rule engine's).

mod agent;
pub mod containers;
pub mod fields;
pub mod process;

pub use agent::{Agent, AgentError, Format, Options, Summary};
