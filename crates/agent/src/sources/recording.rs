//! Recordings: what a source observes written down as it is taken ([`Recorded`]), and a
//! recording replayed as a source ([`Replay`]), through the whole pipeline (process table,
//! containers, rules, deduplication, sinks, metrics) as if the kernel reported it now. The
//! form is the event vocabulary's ([`haechi_events::recording`]): one observation per line.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use haechi_events::{boot_to_epoch_ns, recording};
use haechi_rules::Ruleset;

use super::{Input, Ready, Source, SourceError, Tally};
use crate::metrics::Metrics;

/// What a replay read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Observations replayed.
    pub observations: u64,
    /// Lines that were not recorded observations (each logged with its line number).
    pub skipped: u64,
}

/// A recording being replayed.
pub struct Replay {
    path: PathBuf,
    input: Box<dyn BufRead>,
    line: u64,
    /// Where the recording's Unix times meet this host's boot clock.
    boot_to_epoch_ns: u64,
    ended: bool,
    error: Option<std::io::Error>,
    replayed: Replayed,
}

impl Replay {
    /// Replays the recording at `path` (`-`: standard input).
    pub fn open(path: &Path) -> std::io::Result<Replay> {
        let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(std::fs::File::open(path)?))
        };
        Ok(Replay::new(path, input))
    }

    /// Replays what `input` holds, named `path` in messages.
    pub fn new(path: &Path, input: Box<dyn BufRead>) -> Replay {
        Replay {
            path: path.to_owned(),
            input,
            line: 0,
            boot_to_epoch_ns: boot_to_epoch_ns(),
            ended: false,
            error: None,
            replayed: Replayed::default(),
        }
    }
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("replayed", &self.replayed)
            .finish_non_exhaustive()
    }
}

impl Source for Replay {
    /// Always ready until the recording ends; yields first, so that what runs beside the
    /// pipeline (container look-ups, the sinks) keeps pace with it.
    fn ready(&mut self) -> Ready<'_> {
        Box::pin(async move {
            if let Some(error) = self.error.take() {
                return Err(SourceError::Recording {
                    path: self.path.clone(),
                    error,
                });
            }
            tokio::task::yield_now().await;
            Ok(!self.ended)
        })
    }

    fn take(&mut self, max: usize, into: &mut Vec<Input>) -> usize {
        let mut count = 0;
        let mut text = String::new();
        while count < max && !self.ended {
            text.clear();
            match self.input.read_line(&mut text) {
                Ok(0) => self.ended = true,
                Ok(_) => {
                    self.line += 1;
                    if text.trim().is_empty() {
                        continue;
                    }
                    match recording::read(&text, self.boot_to_epoch_ns) {
                        Ok(observation) => {
                            self.replayed.observations += 1;
                            into.push(observation.into());
                            count += 1;
                        }
                        Err(err) => {
                            self.replayed.skipped += 1;
                            tracing::warn!("{}:{}: {err}", self.path.display(), self.line);
                        }
                    }
                }
                Err(error) => {
                    self.ended = true;
                    self.error = Some(error);
                }
            }
        }
        count
    }

    fn tally(&mut self, _metrics: &Metrics) -> Tally {
        Tally::Replay(self.replayed)
    }
}

/// A source whose host events, DNS answers and running processes are also written to a
/// recording as they are taken (a sandbox's are not: their processes are not the host's).
pub struct Recorded {
    source: Box<dyn Source>,
    path: PathBuf,
    out: BufWriter<Box<dyn Write>>,
    boot_to_epoch_ns: u64,
    /// The first write that failed: the next [`Source::ready`] returns it.
    error: Option<std::io::Error>,
}

impl Recorded {
    /// Records what `source` gives to `path` (appended to).
    pub fn to_file(source: Box<dyn Source>, path: &Path) -> std::io::Result<Recorded> {
        let file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Recorded::new(source, path, Box::new(file)))
    }

    /// Records what `source` gives to `out`, named `path` in messages.
    pub fn new(source: Box<dyn Source>, path: &Path, out: Box<dyn Write>) -> Recorded {
        Recorded {
            source,
            path: path.to_owned(),
            out: BufWriter::new(out),
            boot_to_epoch_ns: boot_to_epoch_ns(),
            error: None,
        }
    }

    fn failed(&mut self, error: std::io::Error) {
        self.error.get_or_insert(error);
    }
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Source for Recorded {
    fn live(&self) -> bool {
        self.source.live()
    }

    fn ready(&mut self) -> Ready<'_> {
        if let Some(error) = self.error.take() {
            let path = self.path.clone();
            return Box::pin(async move { Err(SourceError::Recording { path, error }) });
        }
        self.source.ready()
    }

    fn take(&mut self, max: usize, into: &mut Vec<Input>) -> usize {
        let first = into.len();
        let count = self.source.take(max, into);
        if self.error.is_none() {
            for input in &into[first..] {
                let written = match input {
                    Input::Host(event) => {
                        recording::write_event(event, self.boot_to_epoch_ns, &mut self.out)
                    }
                    Input::Dns(reply) => {
                        recording::write_dns(reply, self.boot_to_epoch_ns, &mut self.out)
                    }
                    Input::Running(process) => {
                        recording::write_running(process, self.boot_to_epoch_ns, &mut self.out)
                    }
                    _ => Ok(()),
                };
                if let Err(error) = written {
                    self.failed(error);
                    break;
                }
            }
        }
        count
    }

    fn reload(&mut self, rules: Option<&Ruleset>) -> Result<(), SourceError> {
        self.source.reload(rules)
    }

    /// Also flushes the recording (once a second, and when the agent stops).
    fn tally(&mut self, metrics: &Metrics) -> Tally {
        if let Err(error) = self.out.flush() {
            self.failed(error);
        }
        self.source.tally(metrics)
    }
}
