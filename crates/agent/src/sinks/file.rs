//! The file sink: alerts appended as JSON lines, one alert per line in Falco's shape (what
//! Falco's `file_output` with `json_output` writes).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::Worker;

/// Opens (creating if needed) `path` for appending.
pub(super) fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Writes each queued alert with one `write` call (O_APPEND keeps lines whole even when
/// another writer shares the file) until the queue closes. Runs on a blocking thread: a slow
/// disk holds up this sink only.
pub(super) fn run(mut file: File, mut worker: Worker) {
    while let Some(alert) = worker.next_blocking() {
        let mut line = match serde_json::to_vec(&*alert) {
            Ok(line) => line,
            Err(err) => {
                tracing::warn!("{}: cannot encode an alert: {err}", worker.name);
                worker.dropped.inc();
                continue;
            }
        };
        line.push(b'\n');
        match file.write_all(&line) {
            Ok(()) => {
                worker.sent.inc();
            }
            Err(err) => {
                tracing::warn!("{}: {err}", worker.name);
                worker.failures.inc();
                worker.dropped.inc();
            }
        }
    }
}
