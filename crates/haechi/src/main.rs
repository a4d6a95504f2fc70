//! The `haechi` command line. It parses arguments and wires the library crates together; what a
//! command does lives in those crates.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The webhook and the agent allocate per review and per event on several threads; mimalloc
/// halves what glibc's allocator costs them (measured with bench/admit.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// haechi guards containers at build, deploy and run time.
#[derive(Parser)]
#[command(name = "haechi", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check Kubernetes manifests against the Pod Security Standards and hardening practice.
    Scan(cmd::scan::ScanArgs),
    /// Run the admission webhook that enforces the same checks in the cluster.
    Admit(cmd::admit::AdmitArgs),
    /// Watch every process, file and network action on this host with eBPF (needs root), or
    /// replay a recording of them.
    // Boxed: its many options would make every variant as large.
    Agent(Box<cmd::agent::AgentArgs>),
    /// Check Falco rules files, or replay recorded events through them.
    Rules(cmd::rules::RulesArgs),
    /// Audit a node against the CIS Kubernetes Benchmark, or probe endpoints for anonymous access.
    Audit(cmd::audit::AuditArgs),
    /// Configure gVisor (runsc) sandboxes to stream what runs inside them to `haechi agent --gvisor`.
    Gvisor(cmd::gvisor::GvisorArgs),
    /// Record least-privilege seccomp profiles from real behaviour, check them, and run
    /// commands under them with runc or gVisor.
    Seccomp(cmd::seccomp::SeccompArgs),
    /// Scan container images for vulnerable packages and secrets, and write their SBOM.
    Image(cmd::image::ImageArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // clap uses 0 for --help/--version and 2 for usage errors, as `haechi` documents.
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Admit(args) => cmd::admit::run(args),
        Command::Agent(args) => cmd::agent::run(*args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Gvisor(args) => cmd::gvisor::run(args),
        Command::Seccomp(args) => cmd::seccomp::run(args),
        Command::Image(args) => cmd::image::run(args),
    }
}
