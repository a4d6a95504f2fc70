//! gVisor sandboxes as a source: the socket runsc's remote sinks connect to, the sandboxes
//! already running attached to it (their processes the first inputs), and the trace points a
//! set of rules needs.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use haechi_gvisor::runsc::{self, Runsc};
use haechi_gvisor::{ListenError, Listener, Received, config};
use haechi_rules::Ruleset;

use super::{Input, Ready, Source, Tally};
use crate::metrics::{Metrics, ReasonLabels, catch_up};

/// The points `rules` need (every point when they match any event type, or with `all`).
pub fn points_for(rules: Option<&Ruleset>, all: bool) -> Vec<&'static str> {
    let types = rules
        .and_then(Ruleset::event_types)
        .filter(|_| !all)
        .map(|types| types.into_iter().collect::<Vec<&str>>());
    config::points(types.as_deref())
}

/// The listener, and what it received that waits for the pipeline.
#[derive(Debug)]
pub struct Sandboxes {
    /// `None` once it failed (it said why): the other sources carry on.
    listener: Option<Listener>,
    socket: PathBuf,
    waiting: VecDeque<Input>,
    /// The listener's counters already added to the metrics.
    reported: haechi_gvisor::Stats,
}

impl Sandboxes {
    /// Listens for sandboxes at `socket` (its directory is made if missing); up to `queue`
    /// decoded messages wait for the pipeline, past which sandboxes drop and count. Must run
    /// inside a tokio runtime.
    pub fn listen(socket: &Path, queue: usize) -> Result<Sandboxes, ListenError> {
        if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| ListenError::Io {
                path: dir.to_owned(),
                error,
            })?;
        }
        let listener = Listener::bind(socket, queue)?;
        tracing::info!("gVisor: listening at {}", socket.display());
        Ok(Sandboxes {
            listener: Some(listener),
            socket: socket.to_owned(),
            waiting: VecDeque::new(),
            reported: haechi_gvisor::Stats::default(),
        })
    }

    /// Attaches haechi's trace session, sending `points` to this listener, to every sandbox
    /// running under the runsc state `roots` (`runsc trace create`), and reads their processes
    /// (`runsc trace procfs`), which the pipeline takes first. A root or a sandbox that cannot
    /// be attached is reported and the others are still attached; an error is returned only
    /// when the session file cannot be written.
    pub async fn attach(&mut self, roots: &[PathBuf], points: &[&str]) -> std::io::Result<()> {
        let endpoint = config::endpoint(&self.socket)?;
        let session = self.socket.with_extension("session.json");
        let text = config::session(&endpoint, points).to_string();
        std::fs::write(&session, text)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", session.display())))?;
        for root in roots {
            let runsc = Runsc::new(root);
            let session = session.clone();
            // runsc's handshake needs this runtime to answer it: run runsc off it.
            let attached = tokio::task::spawn_blocking(move || {
                let ids = runsc.running()?;
                let mut attached = Vec::new();
                for id in ids.into_iter().filter(|id| runsc::plausible_id(id)) {
                    let result = runsc
                        .attach(&id, &session)
                        .and_then(|()| runsc.processes(&id));
                    attached.push((id, result));
                }
                Ok::<_, runsc::RunscError>(attached)
            })
            .await
            .map_err(std::io::Error::other)?;
            let attached = match attached {
                Ok(attached) => attached,
                Err(err) => {
                    tracing::warn!("gVisor: {}: {err}", root.display());
                    continue;
                }
            };
            for (container_id, result) in attached {
                match result {
                    Ok(processes) => {
                        tracing::info!(
                            "gVisor: attached to {container_id} under {} ({} processes)",
                            root.display(),
                            processes.len()
                        );
                        self.waiting.push_back(Input::SandboxProcesses {
                            container_id,
                            processes,
                        });
                    }
                    Err(err) => tracing::warn!("gVisor: cannot attach to {container_id}: {err}"),
                }
            }
        }
        Ok(())
    }
}

impl Source for Sandboxes {
    fn ready(&mut self) -> Ready<'_> {
        Box::pin(async move {
            if !self.waiting.is_empty() {
                return Ok(true);
            }
            let Some(listener) = &mut self.listener else {
                return Ok(false);
            };
            match listener.recv().await {
                Some(received) => {
                    self.waiting.push_back(input(received));
                    Ok(true)
                }
                None => {
                    self.listener = None;
                    Ok(false)
                }
            }
        })
    }

    fn take(&mut self, max: usize, into: &mut Vec<Input>) -> usize {
        let mut count = 0;
        while count < max {
            let next = match self.waiting.pop_front() {
                Some(input) => input,
                None => match self.listener.as_mut().and_then(Listener::try_recv) {
                    Some(received) => input(received),
                    None => break,
                },
            };
            into.push(next);
            count += 1;
        }
        count
    }

    fn tally(&mut self, metrics: &Metrics) -> Tally {
        let Some(listener) = &self.listener else {
            return Tally::Sandboxes(self.reported);
        };
        let stats = listener.stats();
        let was = &mut self.reported;
        catch_up(
            &metrics.gvisor_connections,
            &mut was.connections,
            stats.connections,
        );
        for (reason, now, then) in [
            ("handshake", stats.refused, &mut was.refused),
            ("malformed", stats.malformed, &mut was.malformed),
            ("unknown_type", stats.unknown, &mut was.unknown),
        ] {
            catch_up(
                &metrics
                    .gvisor_skipped
                    .get_or_create(&ReasonLabels { reason }),
                then,
                now,
            );
        }
        catch_up(&metrics.gvisor_dropped, &mut was.dropped, stats.dropped);
        *was = stats;
        Tally::Sandboxes(stats)
    }
}

/// What the listener received, as the pipeline takes it.
fn input(received: Received) -> Input {
    match received {
        Received::Event(sandboxed) => Input::Sandboxed(sandboxed),
        Received::Closed { containers } => Input::SandboxClosed(containers),
    }
}
