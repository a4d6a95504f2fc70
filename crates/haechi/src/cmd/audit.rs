//! `haechi audit`: `node` (CIS Kubernetes Benchmark from the node's files) and `probe`
//! (read-only exposure checks of named hosts). Same formats, --fail-on and exit codes as scan.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use haechi_audit::probe::{Options, Service, parse_port_override};
use haechi_audit::{Report, node, probe};
use haechi_policy::Severity;

use super::scan::{ColorArg, FormatArg, parse_severity, stdout_result};

/// Exit status when a failed item at or above `--fail-on` exists.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors and unreadable input.
const EXIT_USAGE: u8 = 2;
/// Exit status when something could not be checked: the same as unusable input.
const EXIT_PROBLEMS: u8 = 2;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check this node's Kubernetes files against the CIS Kubernetes Benchmark (as kube-bench does).
    Node(NodeArgs),
    /// Probe named hosts for endpoints open to anonymous clients (as kube-hunter does); read-only.
    Probe(ProbeArgs),
}

#[derive(Args)]
struct OutputArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when a failed item at or above this severity exists (warnings never count).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Colour in the table: auto (on a terminal), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Exit 0 or 1 even when something could not be checked (a file that could not be read, a
    /// directory that could not be listed); by default that exits 2, as the verdict is incomplete.
    #[arg(long)]
    allow_problems: bool,
}

#[derive(Args)]
struct NodeArgs {
    /// The node's root directory (a mounted host file system, an image of a node).
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// List the benchmark items and exit.
    #[arg(long)]
    list_checks: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct ProbeArgs {
    /// Hosts to probe (names or IP addresses); nothing else is contacted.
    #[arg(value_name = "HOST", required_unless_present = "list_checks")]
    hosts: Vec<String>,
    /// List the probes and exit.
    #[arg(long)]
    list_checks: bool,
    /// Ports of a service, replacing its defaults: SERVICE=PORT[,PORT...] (SERVICE= skips it).
    /// Services: apiserver (6443,443,8080), kubelet (10250), kubelet-readonly (10255),
    /// etcd (2379), etcd-peer (2380), dashboard (30000), metrics (2381,10249,10257,10259).
    #[arg(long = "port", value_name = "SERVICE=PORTS", value_parser = parse_port_override)]
    ports: Vec<(Service, Vec<u16>)>,
    /// Seconds allowed for one exchange (connect, TLS, request, answer).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    timeout: f64,
    /// Most exchanges in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: AuditArgs) -> ExitCode {
    let list = match &args.command {
        AuditCommand::Node(a) if a.list_checks => Some(node::items()),
        AuditCommand::Probe(a) if a.list_checks => Some(probe::items()),
        _ => None,
    };
    if let Some(items) = list {
        let mut text = String::new();
        for item in items {
            let kind = if item.automated {
                "automated"
            } else {
                "manual"
            };
            text.push_str(&format!(
                "{:<31} {:<8} {:<9} {}\n",
                item.meta.id,
                item.meta.severity.as_str(),
                kind,
                item.meta.title
            ));
        }
        return match stdout_result(io::stdout().lock().write_all(text.as_bytes())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                let _ = writeln!(io::stderr(), "haechi audit: {message}");
                ExitCode::from(EXIT_USAGE)
            }
        };
    }
    let (report, output) = match args.command {
        AuditCommand::Node(args) => (
            node::audit(&args.root).map_err(|e| e.to_string()),
            args.output,
        ),
        AuditCommand::Probe(args) => {
            let report = probe_options(&args)
                .and_then(|options| probe::probe(&args.hosts, &options).map_err(|e| e.to_string()));
            (report, args.output)
        }
    };
    match report.and_then(|report| write(&report, &output).map(|()| report)) {
        Ok(report) => {
            for problem in &report.problems {
                eprintln!("haechi audit: {problem}");
            }
            if !report.problems.is_empty() && !output.allow_problems {
                eprintln!(
                    "haechi audit: {} problem(s): not everything was checked (--allow-problems \
                     exits 0 or 1 anyway)",
                    report.problems.len()
                );
                ExitCode::from(EXIT_PROBLEMS)
            } else if output
                .fail_on
                .is_some_and(|s| report.has_failure_at_least(s))
            {
                ExitCode::from(EXIT_FINDINGS)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            let _ = writeln!(io::stderr(), "haechi audit: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn probe_options(args: &ProbeArgs) -> Result<Options, String> {
    if !(args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(format!(
            "--timeout {}: expected seconds between 0 and 600",
            args.timeout
        ));
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".to_string());
    }
    let ports: BTreeMap<Service, Vec<u16>> = args.ports.iter().cloned().collect();
    Ok(Options {
        ports,
        timeout: Duration::from_secs_f64(args.timeout),
        concurrency: args.concurrency,
    })
}

fn write(report: &Report, output: &OutputArgs) -> Result<(), String> {
    let format = output.format.format();
    let color = output.color.enabled(output.output.is_some());
    match &output.output {
        Some(path) => fs::File::create(path)
            .and_then(|file| {
                let mut out = io::BufWriter::new(file);
                haechi_report::render(report, format, color, &mut out)?;
                out.flush()
            })
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            stdout_result(
                haechi_report::render(report, format, color, &mut out).and_then(|()| out.flush()),
            )
        }
    }
}
