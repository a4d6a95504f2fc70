//! Where alerts go besides the agent's output: a file of JSON lines, HTTP endpoints that take
//! Falco's JSON (Falcosidekick, pipelines built for Falco), Slack incoming webhooks.
//!
//! The one rule that shapes this module: detection never waits for a sink. Each sink is a task
//! behind a bounded queue; [`Sinks::send`] only tries to enqueue, and a full queue counts a
//! drop (`haechi_sink_dropped_total`) instead of blocking. A slow or dead endpoint therefore
//! costs alerts on that sink, counted, and nothing else.

mod file;
mod http;
mod slack;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use haechi_rules::alert::Alert;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

pub use http::Endpoint;

/// One place alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// JSON lines appended to a file, one alert per line in Falco's shape.
    File(PathBuf),
    /// Each alert POSTed as Falco's JSON.
    Http(Endpoint),
    /// Each alert POSTed as a Slack incoming-webhook message.
    Slack(Endpoint),
}

/// The names of `sinks` in metrics and logs, in order: [`Sink::name`], with `#2`, `#3`, … added
/// to the second and later sinks of the same name (two Slack channels on one host).
pub fn names(sinks: &[Sink]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    sinks
        .iter()
        .map(|sink| {
            let name = sink.name();
            let count = seen.entry(name.clone()).or_default();
            *count += 1;
            match *count {
                1 => name,
                n => format!("{name}#{n}"),
            }
        })
        .collect()
}

impl Sink {
    /// The name in metrics and logs: `file:<path>`, `http:<host>:<port>`, `slack:<host>`. A
    /// URL's path and query are left out: a Slack webhook's path is its secret.
    pub fn name(&self) -> String {
        match self {
            Sink::File(path) => format!("file:{}", path.display()),
            Sink::Http(endpoint) => format!("http:{}", endpoint.authority()),
            Sink::Slack(endpoint) => format!("slack:{}", endpoint.authority()),
        }
    }
}

/// How sinks queue and deliver.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Alerts each sink's queue holds before new ones are dropped.
    pub queue: usize,
    /// Tries per alert for HTTP sinks (the first included).
    pub attempts: u32,
    /// Wait before the first retry; it doubles for each later one.
    pub backoff: Duration,
    /// Limit on one HTTP request, connecting included.
    pub timeout: Duration,
    /// Certificate authorities trusted besides the system's, for https endpoints.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            queue: 1024,
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            extra_roots: Vec::new(),
        }
    }
}

/// Why the sinks could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The alerts file cannot be opened for appending.
    #[error("cannot open alerts file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CA file does not hold PEM certificates.
    #[error("CA file {path}: {reason}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The TLS client cannot be set up.
    #[error("TLS client for alert endpoints: {0}")]
    Tls(String),
}

/// The certificates of a PEM file, for [`SinkOptions::extra_roots`].
pub fn read_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, SinkError> {
    let error = |reason: String| SinkError::Ca {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no CERTIFICATE block".to_owned()));
    }
    Ok(certs)
}

/// The sending side: what the pipeline holds. Dropping it closes every queue.
#[derive(Debug, Default)]
pub struct Sinks {
    queues: Vec<Queue>,
}

#[derive(Debug)]
struct Queue {
    name: String,
    tx: mpsc::Sender<Arc<Alert>>,
    depth: Gauge,
    dropped: Counter,
    /// Whether a full queue has been reported (once; the counter has the rest).
    reported_full: AtomicBool,
}

/// The sinks' tasks, to let them finish what is queued when the agent stops.
#[derive(Debug, Default)]
pub struct SinkTasks {
    tasks: Vec<(String, JoinHandle<()>)>,
}

/// What a sink's task gets: its queue and its counters.
struct Worker {
    rx: mpsc::Receiver<Arc<Alert>>,
    name: String,
    depth: Gauge,
    sent: Counter,
    failures: Counter,
    dropped: Counter,
}

impl Worker {
    fn new(rx: mpsc::Receiver<Arc<Alert>>, name: String, metrics: &Metrics) -> Worker {
        let labels = Metrics::sink(&name);
        Worker {
            rx,
            depth: metrics.sink_queue.get_or_create(&labels).clone(),
            sent: metrics.sink_sent.get_or_create(&labels).clone(),
            failures: metrics.sink_failures.get_or_create(&labels).clone(),
            dropped: metrics.sink_dropped.get_or_create(&labels).clone(),
            name,
        }
    }

    /// The next alert (waiting for one), the queue-depth gauge kept in step.
    async fn next(&mut self) -> Option<Arc<Alert>> {
        let alert = self.rx.recv().await?;
        self.depth.dec();
        Some(alert)
    }

    /// [`Worker::next`] for a blocking thread.
    fn next_blocking(&mut self) -> Option<Arc<Alert>> {
        let alert = self.rx.blocking_recv()?;
        self.depth.dec();
        Some(alert)
    }
}

impl Sinks {
    /// Opens files and starts one task per sink. Must run inside a tokio runtime.
    pub fn start(
        sinks: &[Sink],
        options: &SinkOptions,
        metrics: &Arc<Metrics>,
    ) -> Result<(Sinks, SinkTasks), SinkError> {
        let mut client = None;
        let mut senders = Sinks::default();
        let mut tasks = SinkTasks::default();
        for (sink, name) in sinks.iter().zip(names(sinks)) {
            let (tx, rx) = mpsc::channel(options.queue.max(1));
            let worker = Worker::new(rx, name.clone(), metrics);
            let queue = Queue {
                name: name.clone(),
                tx,
                depth: worker.depth.clone(),
                dropped: worker.dropped.clone(),
                reported_full: AtomicBool::new(false),
            };
            let task = match sink {
                Sink::File(path) => {
                    let file = file::open(path).map_err(|source| SinkError::File {
                        path: path.clone(),
                        source,
                    })?;
                    tokio::task::spawn_blocking(move || file::run(file, worker))
                }
                Sink::Http(endpoint) => {
                    let post = poster(&mut client, endpoint, options)?;
                    tokio::spawn(http::run(post, worker, http::Payload::Falco))
                }
                Sink::Slack(endpoint) => {
                    let post = poster(&mut client, endpoint, options)?;
                    tokio::spawn(http::run(post, worker, http::Payload::Slack))
                }
            };
            senders.queues.push(queue);
            tasks.tasks.push((name, task));
        }
        Ok((senders, tasks))
    }

    /// Hands `alert` to every sink without waiting; a full queue counts a drop.
    pub fn send(&self, alert: &Alert) {
        if self.queues.is_empty() {
            return;
        }
        let alert = Arc::new(alert.clone());
        for queue in &self.queues {
            // Raise the gauge first: the task may take the alert (and lower it) at once.
            queue.depth.inc();
            if queue.tx.try_send(alert.clone()).is_err() {
                queue.depth.dec();
                queue.dropped.inc();
                if !queue.reported_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "{}: queue full, dropping alerts (counted in haechi_sink_dropped_total)",
                        queue.name
                    );
                }
            }
        }
    }
}

/// A poster for `endpoint` on the shared client, made on first use (it reads the system's CA
/// certificates).
fn poster(
    client: &mut Option<http::Client>,
    endpoint: &Endpoint,
    options: &SinkOptions,
) -> Result<http::Poster, SinkError> {
    let client = match client {
        Some(client) => client.clone(),
        None => client.insert(http::client(&options.extra_roots)?).clone(),
    };
    Ok(http::Poster::new(client, endpoint.clone(), options))
}

impl SinkTasks {
    /// Waits, up to `grace` in all, for the sinks to deliver what is queued (the senders must
    /// be dropped first); returns the names of those that did not finish in time.
    pub async fn finish(self, grace: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + grace;
        let mut unfinished = Vec::new();
        for (name, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                unfinished.push(name);
            }
        }
        unfinished
    }
}
