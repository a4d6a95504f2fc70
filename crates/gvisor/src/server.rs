//! The remote sink's server end: an AF_UNIX SOCK_SEQPACKET socket that each sandbox's Sentry
//! connects to, one task per connection, and a bounded queue of decoded events to the agent.
//!
//! The queue is bounded on purpose: when the agent falls behind, a connection stops reading,
//! the Sentry's non-blocking writes fail and it counts the points it dropped, which the next
//! header reports and [`Stats::dropped`] adds up. A sandbox is never slowed down by haechi.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use crate::decode::{Decoded, Decoder, Sandboxed};
use crate::wire::{self, MAX_MESSAGE};

/// How long a new connection has to send its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Warnings logged per connection before the rest go to debug (a hostile sandbox must not
/// flood the agent's log).
const WARNINGS_PER_CONNECTION: u32 = 10;
/// Container ids remembered per connection, to forget their processes when it closes.
const MAX_CONTAINERS: usize = 1024;
/// Connections served at once (a sandbox holds one; this bounds descriptors and buffers).
const MAX_CONNECTIONS: u64 = 1024;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Something else than a stale socket is at the path.
    #[error("{0}: exists and is not a socket; choose another --gvisor-socket")]
    NotASocket(PathBuf),
    /// The socket could not be created, bound or listened on.
    #[error("{path}: {error}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
}

/// What the listener hands the agent.
#[derive(Debug)]
pub enum Received {
    /// An event from a sandbox.
    Event(Box<Sandboxed>),
    /// A sandbox's connection closed; these containers' processes can be forgotten.
    Closed {
        /// Containers that sent events on it.
        containers: Vec<String>,
    },
}

/// Counters of everything the listener saw, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sandbox connections accepted.
    pub connections: u64,
    /// Connections closed because of their handshake (wrong version, not a handshake, none).
    pub refused: u64,
    /// Messages that became events.
    pub events: u64,
    /// Messages that did not decode (bad header, bad protobuf, missing context, too large).
    pub malformed: u64,
    /// Messages of types haechi does not read, skipped.
    pub unknown: u64,
    /// Points the sandboxes report they dropped.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    events: AtomicU64,
    malformed: AtomicU64,
    unknown: AtomicU64,
    dropped: AtomicU64,
    /// Connections open now.
    open: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The listening socket and the queue of what its connections decode.
pub struct Listener {
    receiver: mpsc::Receiver<Received>,
    counters: Arc<Counters>,
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Listens at `path` (a stale socket there is replaced) and accepts sandboxes in the
    /// background; up to `queue` decoded messages wait for [`Listener::recv`]. Must run inside a
    /// tokio runtime.
    pub fn bind(path: &Path, queue: usize) -> Result<Listener, ListenError> {
        let io = |error| ListenError::Io {
            path: path.to_owned(),
            error,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                use std::os::unix::fs::FileTypeExt;
                if !meta.file_type().is_socket() {
                    return Err(ListenError::NotASocket(path.to_owned()));
                }
                std::fs::remove_file(path).map_err(io)?;
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(io(err)),
        }
        let socket = Socket::new(Domain::UNIX, Type::SEQPACKET.cloexec(), None).map_err(io)?;
        socket
            .bind(&SockAddr::unix(path).map_err(io)?)
            .map_err(io)?;
        socket.listen(128).map_err(io)?;
        socket.set_nonblocking(true).map_err(io)?;
        let socket = register(socket).map_err(io)?;
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let counters = Arc::new(Counters::default());
        let accept = tokio::spawn(accept(socket, sender, counters.clone()));
        Ok(Listener {
            receiver,
            counters,
            path: path.to_owned(),
            accept,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next decoded message; `None` only after the listener failed.
    pub async fn recv(&mut self) -> Option<Received> {
        self.receiver.recv().await
    }

    /// A decoded message if one waits.
    pub fn try_recv(&mut self) -> Option<Received> {
        self.receiver.try_recv().ok()
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: get(&c.connections),
            refused: get(&c.refused),
            events: get(&c.events),
            malformed: get(&c.malformed),
            unknown: get(&c.unknown),
            dropped: get(&c.dropped),
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn accept(socket: AsyncFd<Socket>, sender: mpsc::Sender<Received>, counters: Arc<Counters>) {
    let mut number = 0u64;
    loop {
        let mut guard = match socket.readable().await {
            Ok(guard) => guard,
            Err(err) => {
                tracing::error!("gVisor socket: {err}; no more sandboxes are accepted");
                return;
            }
        };
        match guard.try_io(|inner| inner.get_ref().accept()) {
            Ok(Ok((connection, _))) => {
                number += 1;
                add(&counters.connections, 1);
                if counters.open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    add(&counters.refused, 1);
                    tracing::warn!(
                        "gVisor connection {number} refused: {MAX_CONNECTIONS} are open already"
                    );
                    continue;
                }
                add(&counters.open, 1);
                let (sender, counters) = (sender.clone(), counters.clone());
                tokio::spawn(async move {
                    serve(connection, number, sender, &counters).await;
                    counters.open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Ok(Err(err)) => {
                // Out of descriptors, most likely: wait rather than spin.
                tracing::warn!("gVisor socket: accept: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_would_block) => {}
        }
    }
}

/// Reads one datagram; `Ok(0)` is the end of the connection.
async fn read(socket: &AsyncFd<Socket>, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        let mut guard = socket.readable().await?;
        match guard.try_io(|inner| (&mut inner.get_ref()).read(buf)) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

/// One sandbox's connection: handshake, then messages until it closes.
async fn serve(
    connection: Socket,
    number: u64,
    sender: mpsc::Sender<Received>,
    counters: &Counters,
) {
    let socket = match connection
        .set_nonblocking(true)
        .and_then(|()| register(connection))
    {
        Ok(socket) => socket,
        Err(err) => {
            tracing::warn!("gVisor connection {number}: {err}");
            return;
        }
    };
    // One byte more than the largest message, to tell a too-large one from a full one.
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, read(&socket, &mut buf)).await;
    let version = match handshake {
        Ok(Ok(n)) if n > 0 => wire::read_handshake(&buf[..n]).map_err(|e| e.to_string()),
        Ok(Ok(_)) => Err("closed before its handshake".to_owned()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")),
    };
    let version = match version {
        Ok(version) => version,
        Err(why) => {
            add(&counters.refused, 1);
            tracing::warn!("gVisor connection {number} refused: {why}");
            return;
        }
    };
    if let Err(err) = send(socket.get_ref(), &wire::handshake()) {
        add(&counters.refused, 1);
        tracing::warn!("gVisor connection {number}: sending the handshake: {err}");
        return;
    }
    tracing::info!("gVisor sandbox connected (connection {number}, protocol version {version})");
    let mut decoder = Decoder::default();
    let mut containers = HashSet::new();
    let mut dropped_seen = 0u32;
    let mut warnings = 0u32;
    let mut warn = |what: String| {
        warnings += 1;
        if warnings <= WARNINGS_PER_CONNECTION {
            tracing::warn!("gVisor connection {number}: {what}");
        } else {
            tracing::debug!("gVisor connection {number}: {what}");
        }
    };
    let end = loop {
        let n = match read(&socket, &mut buf).await {
            Ok(0) => break "closed".to_owned(),
            Ok(n) => n,
            Err(err) => break err.to_string(),
        };
        if n > MAX_MESSAGE {
            add(&counters.malformed, 1);
            warn(format!("message larger than {MAX_MESSAGE} bytes skipped"));
            continue;
        }
        let (header, payload) = match wire::split(&buf[..n]) {
            Ok(split) => split,
            Err(err) => {
                add(&counters.malformed, 1);
                warn(err.to_string());
                continue;
            }
        };
        // The count is cumulative per connection and wraps.
        add(
            &counters.dropped,
            u64::from(header.dropped.wrapping_sub(dropped_seen)),
        );
        dropped_seen = header.dropped;
        match decoder.decode(header.message_type, payload) {
            Ok(Decoded::Event(event)) => {
                add(&counters.events, 1);
                if containers.len() < MAX_CONTAINERS {
                    containers.insert(event.container_id.clone());
                }
                if sender.send(Received::Event(event)).await.is_err() {
                    return;
                }
            }
            Ok(Decoded::Quiet) => {}
            Ok(Decoded::Unknown(kind)) => {
                add(&counters.unknown, 1);
                tracing::debug!("gVisor connection {number}: message type {kind} skipped");
            }
            Err(err) => {
                add(&counters.malformed, 1);
                warn(err.to_string());
            }
        }
    };
    tracing::info!("gVisor connection {number} ended: {end}");
    let _ = sender
        .send(Received::Closed {
            containers: containers.into_iter().collect(),
        })
        .await;
}

/// Registers a socket with tokio's reactor.
fn register(socket: Socket) -> std::io::Result<AsyncFd<Socket>> {
    // SAFETY: the Socket owns its fd; it stays open and unchanged for as long as the AsyncFd,
    // which owns the Socket, lives.
    unsafe { AsyncFd::register(socket) }.map_err(|e| e.into_parts().1)
}

/// Sends one whole datagram. The handshake is two bytes on a fresh connection, so the send
/// buffer has room; should it not, the Sentry gives up on its side and the connection ends.
fn send(socket: &Socket, bytes: &[u8]) -> std::io::Result<()> {
    let written = (&mut &*socket).write(bytes)?;
    if written == bytes.len() {
        Ok(())
    } else {
        Err(std::io::Error::other("handshake reply cut short"))
    }
}
