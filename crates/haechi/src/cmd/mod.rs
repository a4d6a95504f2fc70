//! One module per subcommand.

pub mod admit;
pub mod agent;
pub mod audit;
pub mod gvisor;
pub mod image;
pub mod rules;
pub mod scan;
pub mod seccomp;

use std::path::PathBuf;

use haechi_rules::Ruleset;

/// The rules the agent runs: haechi's defaults (unless left out), then `files`; says on
/// standard error what they use that haechi cannot evaluate (left out).
pub fn load_rules(no_default_rules: bool, files: &[PathBuf]) -> Result<Option<Ruleset>, String> {
    let rules = haechi_agent::rules::load(no_default_rules, files)
        .map_err(|errors| format!("rules: {errors}"))?;
    if let Some(rules) = &rules {
        eprint!("rules: {}", rules.report());
    }
    Ok(rules)
}

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
