//! `haechi gvisor config`: the trace session runsc needs so that `haechi agent --gvisor` sees
//! inside its sandboxes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use haechi_gvisor::config;
use haechi_rules::Ruleset;

const EXIT_USAGE: u8 = 2;

/// Where `haechi agent --gvisor` listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/haechi/gvisor.sock";

#[derive(Args)]
pub struct GvisorArgs {
    #[command(subcommand)]
    command: GvisorCommand,
}

#[derive(Subcommand)]
enum GvisorCommand {
    /// Write the JSON for `runsc --pod-init-config` (or, with --session, for `runsc trace
    /// create --config`): the points the rules need, sent to the agent's socket.
    Config(ConfigArgs),
}

#[derive(Args)]
struct ConfigArgs {
    /// The socket `haechi agent --gvisor` listens on (as runsc on the node sees it).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Falco rules files the agent loads besides the default rules (repeatable): their event
    /// types choose the points.
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Leave haechi's default rules out.
    #[arg(long)]
    no_default_rules: bool,
    /// Every point haechi reads, whatever the rules need (for `haechi agent --events`).
    #[arg(long)]
    all: bool,
    /// Write the bare session, the format `runsc trace create --config` reads.
    #[arg(long)]
    session: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: GvisorArgs) -> ExitCode {
    let GvisorCommand::Config(args) = args.command;
    match write_config(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("haechi gvisor config: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn write_config(args: &ConfigArgs) -> Result<(), String> {
    let rules = super::agent::rules_from(args.no_default_rules, &args.rules)?;
    let points = points_for(rules.as_ref(), args.all);
    let endpoint = endpoint(&args.socket)?;
    let json = if args.session {
        config::session(&endpoint, &points)
    } else {
        config::pod_init_config(&endpoint, &points)
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    text.push('\n');
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {} ({} points)", path.display(), points.len());
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?,
    }
    Ok(())
}

/// The points `rules` need (every point when they match any event type, or `all`).
pub fn points_for(rules: Option<&Ruleset>, all: bool) -> Vec<&'static str> {
    let types = rules
        .and_then(Ruleset::event_types)
        .filter(|_| !all)
        .map(|types| types.into_iter().collect::<Vec<&str>>());
    config::points(types.as_deref())
}

/// The socket path as runsc must be given it: absolute.
pub fn endpoint(socket: &Path) -> Result<String, String> {
    let absolute = if socket.is_absolute() {
        socket.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("current directory: {e}"))?
            .join(socket)
    };
    absolute
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: not UTF-8", socket.display()))
}
