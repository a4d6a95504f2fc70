//! `haechi gvisor config`: the trace session runsc needs so that `haechi agent --gvisor` sees
//! inside its sandboxes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use haechi_agent::sources::points_for;
use haechi_gvisor::config::{self, DEFAULT_SOCKET};

const EXIT_USAGE: u8 = 2;

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
    let rules = super::load_rules(args.no_default_rules, &args.rules)?;
    let points = points_for(rules.as_ref(), args.all);
    let endpoint = config::endpoint(&args.socket).map_err(|e| format!("--socket: {e}"))?;
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
