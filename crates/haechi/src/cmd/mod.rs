//! One module per subcommand.

pub mod admit;
pub mod agent;
pub mod audit;
pub mod gvisor;
pub mod image;
pub mod rules;
pub mod scan;
pub mod seccomp;

/// Listens for SIGTERM (what Kubernetes sends) and SIGINT (Ctrl-C) from now on, and returns
/// what completes on the first of them. Call it before announcing that a server or the agent
/// runs: a signal that arrives between the announcement and the first poll of the returned
/// future must stop it cleanly, not end the process with the signal's default action. Needs a
/// tokio runtime.
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| format!("cannot listen for {name}: {e}"))
    };
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
