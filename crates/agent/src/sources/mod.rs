//! Where the pipeline's events come from. A [`Source`] hands over [`Input`]s, in the event
//! vocabulary: the kernel's observe programs ([`Kernel`]), gVisor sandboxes' trace streams
//! ([`Sandboxes`]), a recording of the kernel's ([`Replay`], written by [`Recorded`]). Each is the only module of the agent
//! that touches where its events come from; the pipeline sees inputs and nothing else, which
//! is what lets it run, and be tested, from a recording without root.

mod kernel;
mod recording;
mod sandboxes;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use haechi_events::{DnsReply, Event, Observation, Process};
use haechi_gvisor::Sandboxed;
use haechi_gvisor::runsc::SandboxProcess;
use haechi_rules::Ruleset;
use haechi_sensor::{SensorError, Stats};

use crate::metrics::Metrics;

pub use kernel::{Crossing, Kernel};
pub use recording::{Recorded, Replay, Replayed};
pub use sandboxes::{Sandboxes, points_for};

/// What a source hands the pipeline.
// Nearly every input is an event: boxing them to shrink the rarer variants would cost an
// allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Input {
    /// What a task of the host did (seen by the kernel, now or in a recording).
    Host(Event),
    /// A DNS answer a socket of the host received.
    Dns(DnsReply),
    /// A process of the host that was running when the source began.
    Running(Process),
    /// What a task in a gVisor sandbox did.
    Sandboxed(Box<Sandboxed>),
    /// The processes a sandboxed container ran before haechi attached to it.
    SandboxProcesses {
        /// The container.
        container_id: String,
        /// Its processes, as `runsc trace procfs` showed them.
        processes: Vec<SandboxProcess>,
    },
    /// A sandbox's connection closed: its containers' processes can be forgotten.
    SandboxClosed(Vec<String>),
    /// Something the source could not read: counted, logged and skipped.
    Unreadable(String),
}

impl From<Observation> for Input {
    fn from(observation: Observation) -> Input {
        match observation {
            Observation::Event(event) => Input::Host(event),
            Observation::Dns(reply) => Input::Dns(reply),
            Observation::Running(process) => Input::Running(process),
        }
    }
}

/// A source's own counters, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// The kernel's counters (lost events among them).
    Kernel(Stats),
    /// What the gVisor listener saw.
    Sandboxes(haechi_gvisor::Stats),
    /// What a replay read.
    Replay(Replayed),
}

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The kernel's programs failed.
    #[error(transparent)]
    Kernel(#[from] SensorError),
    /// A recording could not be read.
    #[error("reading {}: {error}", path.display())]
    Recording {
        /// The recording.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
}

/// The future [`Source::ready`] returns.
pub type Ready<'a> = Pin<Box<dyn Future<Output = Result<bool, SourceError>> + 'a>>;

/// Where events come from.
pub trait Source {
    /// Whether the source reports this host's events as they happen: then a process it has not
    /// reported yet is read from /proc, and a container's user names from its root file
    /// system. A recording's processes are not this host's, nor its containers.
    fn live(&self) -> bool {
        false
    }

    /// Waits until inputs may be waiting; `Ok(false)` once the source has nothing more to give
    /// (a recording at its end, a listener that failed). May complete with nothing to take.
    fn ready(&mut self) -> Ready<'_>;

    /// Moves up to `max` waiting inputs into `into`, oldest first; returns how many.
    fn take(&mut self, max: usize, into: &mut Vec<Input>) -> usize;

    /// New rules are in force: what the source reports follows them from now on (the kernel
    /// lets through what they need). Inputs already waiting are kept.
    fn reload(&mut self, rules: Option<&Ruleset>) -> Result<(), SourceError> {
        let _ = rules;
        Ok(())
    }

    /// Brings the metrics up to date with the source's own counters, and returns them.
    fn tally(&mut self, metrics: &Metrics) -> Tally;
}
