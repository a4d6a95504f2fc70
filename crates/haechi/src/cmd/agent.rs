//! `haechi agent`: the eBPF runtime sensor and its event stream.

use std::fs::File;
use std::io::{self, BufWriter, LineWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use haechi_agent::containers::Engines;
use haechi_agent::metrics::{self, Metrics};
use haechi_agent::sinks::{self, Endpoint, Sink, SinkOptions, Sinks};
use haechi_agent::sources::{Crossing, Kernel, Recorded, Replay, Sandboxes, Source, points_for};
use haechi_agent::{Agent, Format, Options, Reload, Summary};
use haechi_gvisor::config::DEFAULT_SOCKET;
use haechi_rules::Ruleset;
use haechi_sensor::enforce::{DEFAULT_PIN_DIR, Enforcer};
use haechi_sensor::probe::{self, KernelReport};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;

const EXIT_USAGE: u8 = 2;

/// Decoded sandbox messages waiting for the pipeline; past this, sandboxes drop and count.
const GVISOR_QUEUE: usize = 8192;

#[derive(Args)]
#[command(after_help = "Environment:
  HAECHI_HOSTNAME      The host name alerts carry (default: the kernel's); in a pod, set it
                       to the node's name from the downward API's spec.nodeName
  HAECHI_CGROUP_MOUNT  Where the host's cgroup file system is mounted (default:
                       /sys/fs/cgroup); in a pod, the host's mounted at another path, as the
                       pod's own /sys/fs/cgroup shows only its private cgroup namespace")]
pub struct AgentArgs {
    /// Print what the kernel offers the sensor and exit.
    #[arg(long)]
    probe: bool,
    /// Replay a recording (`--record`'s) through the pipeline instead of watching the kernel,
    /// and stop at its end; `-` reads standard input. Needs no root.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["policies", "gvisor", "record"])]
    replay: Option<PathBuf>,
    /// Also append what the kernel reports, before the pipeline, to FILE (JSON lines), for
    /// `--replay`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Write every event (one line each; keys are Falco field names in JSON), besides alerts.
    #[arg(long)]
    events: bool,
    /// Format of events and alerts (alerts in JSON have Falco's shape).
    #[arg(long, value_enum, default_value = "json")]
    format: OutputFormat,
    /// Write events and alerts to FILE (appended to) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Falco rules files to load after haechi's default rules (repeatable; later files
    /// override and append to earlier ones).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Leave haechi's default rules out.
    #[arg(long)]
    no_default_rules: bool,
    /// Reload the rules and policies, as SIGHUP does, when a rules or policy file's content
    /// changes (checked every 2 s; for files mounted from a ConfigMap).
    #[arg(long)]
    watch_config: bool,
    /// Syscalls to watch, comma-separated (default: the ones the rules need, or every one the
    /// sensor knows with --events).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    syscalls: Vec<String>,
    /// Report file events only under these path prefixes (filtered in the kernel; default:
    /// the paths the rules can match, or every path with --events).
    #[arg(long = "path-prefix", value_name = "PREFIX")]
    path_prefixes: Vec<String>,
    /// Enforcement policies (HaechiPolicy YAML, repeatable): the kernel refuses or kills what
    /// they forbid in the containers they select.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// Where the enforcement programs and maps are pinned (they stay in force when the agent
    /// stops or is killed).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_PIN_DIR)]
    pin_dir: PathBuf,
    /// Remove the pinned enforcement programs and maps (ends all enforcement) and exit.
    #[arg(long)]
    cleanup: bool,
    /// Docker Engine API socket for container names and images.
    #[arg(long, value_name = "PATH", default_value = "/var/run/docker.sock")]
    docker_socket: PathBuf,
    /// Also append alerts to FILE as JSON lines in Falco's shape (repeatable).
    #[arg(
        long = "alerts-file",
        value_name = "FILE",
        help_heading = "Alert sinks"
    )]
    alerts_files: Vec<PathBuf>,
    /// Also POST each alert as Falco's JSON to URL, e.g. Falcosidekick's
    /// http://falcosidekick:2801/ (repeatable).
    #[arg(long = "alerts-http", value_name = "URL", help_heading = "Alert sinks")]
    alerts_http: Vec<Endpoint>,
    /// Also post each alert to a Slack incoming webhook (repeatable).
    #[arg(
        long = "alerts-slack",
        value_name = "URL",
        help_heading = "Alert sinks"
    )]
    alerts_slack: Vec<Endpoint>,
    /// PEM file of CA certificates trusted for https sinks besides the system's.
    #[arg(long, value_name = "FILE", help_heading = "Alert sinks")]
    alerts_ca: Option<PathBuf>,
    /// Alerts each sink queues before it drops new ones (a slow sink never holds up detection).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        help_heading = "Alert sinks"
    )]
    alerts_queue: usize,
    /// Tries per alert for HTTP and Slack sinks, the first included.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..), help_heading = "Alert sinks")]
    alerts_attempts: u32,
    /// Wait before the first retry, in seconds; it doubles for each later one.
    #[arg(long, value_name = "SECONDS", default_value = "0.5", value_parser = seconds,
          help_heading = "Alert sinks")]
    alerts_backoff: Duration,
    /// Time limit of one HTTP request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds,
          help_heading = "Alert sinks")]
    alerts_timeout: Duration,
    /// Emit the same rule on the same container once per window of SECONDS; when the window
    /// closes, one more alert says how many were suppressed. 0 emits every alert.
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = seconds,
          help_heading = "Alert sinks")]
    dedup_window: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9376).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Also watch inside gVisor sandboxes: receive runsc's trace stream (sandboxes started with
    /// `haechi gvisor config`'s --pod-init-config, or attached with --runsc-root).
    #[arg(long, help_heading = "gVisor")]
    gvisor: bool,
    /// The socket runsc's remote sink connects to.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET,
          help_heading = "gVisor")]
    gvisor_socket: PathBuf,
    /// Attach to the sandboxes already running under this runsc state root (`runsc trace
    /// create`), and read their processes (`runsc trace procfs`); repeatable. containerd's
    /// runsc shim keeps its state in /run/containerd/runsc/k8s.io.
    #[arg(long, value_name = "DIR", requires = "gvisor", help_heading = "gVisor")]
    runsc_root: Vec<PathBuf>,
}

/// A duration in (possibly fractional) seconds.
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))
}

/// How long, on exit, the sinks get to deliver what they still hold.
const SINK_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Json,
    Text,
}

pub fn run(args: AgentArgs) -> ExitCode {
    match agent(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("haechi agent: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn agent(args: AgentArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let report = KernelReport::probe();
    if args.probe {
        println!("{report}");
        return Ok(());
    }
    if args.cleanup {
        return match Enforcer::cleanup(&args.pin_dir) {
            Ok(true) => {
                eprintln!("removed {}: enforcement ended", args.pin_dir.display());
                Ok(())
            }
            Ok(false) => {
                eprintln!("nothing pinned at {}", args.pin_dir.display());
                Ok(())
            }
            Err(err) => Err(err.to_string()),
        };
    }
    let enforce = if args.policies.is_empty() {
        None
    } else {
        let hooks = haechi_enforce::Hooks { lsm: report.lsm };
        let policies =
            haechi_enforce::load_for(&args.policies, hooks).map_err(|e| e.to_string())?;
        for info in policies.rules() {
            let fallback = info
                .requested
                .map(|r| {
                    format!(
                        " (asked for {}; this kernel gives {})",
                        r.name(),
                        info.action.name()
                    )
                })
                .unwrap_or_default();
            eprintln!(
                "policy {}: rule {}: {}{fallback}",
                info.policy,
                info.rule,
                info.action.name()
            );
        }
        Some((policies, args.pin_dir.clone()))
    };
    if args.replay.is_none() {
        eprintln!("{report}");
        let missing = report.missing();
        if !missing.is_empty() {
            return Err(format!("this kernel lacks {}", missing.join(", ")));
        }
        match probe::ensure_mounts() {
            Ok(mounted) => {
                for dir in mounted {
                    eprintln!("mounted {dir}");
                }
            }
            Err(err) => return Err(format!("cannot mount tracefs/bpffs: {err}")),
        }
    }
    let rules = load_rules(&args)?;
    // Alerts go out a line at a time, so a killed agent has lost none it raised, and a
    // restarted one appends to them; a stream of every event is buffered.
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            let file = File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if args.events {
                Box::new(BufWriter::new(file))
            } else {
                Box::new(LineWriter::new(file))
            }
        }
        None => Box::new(LineWriter::new(io::stdout())),
    };
    let sink_list: Vec<Sink> = (args.alerts_files.iter().cloned().map(Sink::File))
        .chain(args.alerts_http.iter().cloned().map(Sink::Http))
        .chain(args.alerts_slack.iter().cloned().map(Sink::Slack))
        .collect();
    let sink_options = SinkOptions {
        queue: args.alerts_queue,
        attempts: args.alerts_attempts,
        backoff: args.alerts_backoff,
        timeout: args.alerts_timeout,
        extra_roots: match &args.alerts_ca {
            Some(path) => sinks::read_ca(path).map_err(|e| format!("--alerts-ca: {e}"))?,
            None => Vec::new(),
        },
    };
    let metrics = Arc::new(Metrics::default());
    // The pipeline runs on this thread. With --gvisor, one worker thread answers sandboxes'
    // handshakes and reads their sockets, so a flood of host events never starves them (the
    // bounded queue between the two makes the sandboxes drop, and count, instead).
    let runtime = if args.gvisor {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let summary = runtime.block_on(async {
        if let Some(addr) = args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
            let bound = listener.local_addr().unwrap_or(addr);
            eprintln!("metrics at http://{bound}/metrics");
            tokio::spawn(metrics::serve(listener, metrics.clone()));
        }
        let (sinks, tasks) =
            Sinks::start(&sink_list, &sink_options, &metrics).map_err(|e| e.to_string())?;
        let options = Options {
            sources: sources(&args, rules.as_ref()).await?,
            engines: Engines {
                docker_socket: args.docker_socket.clone(),
                ..Engines::default()
            },
            format: match args.format {
                OutputFormat::Json => Format::Json,
                OutputFormat::Text => Format::Text,
            },
            events: args.events,
            rules,
            enforce,
            sinks,
            dedup: Some(args.dedup_window).filter(|w| !w.is_zero()),
            metrics: metrics.clone(),
        };
        let mut agent = Agent::start(options).map_err(|e| e.to_string())?;
        metrics.set_ready();
        let (reload_tx, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        // Listen before saying so: until then SIGHUP would end the process.
        let hangups =
            signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
        let watching = if args.watch_config {
            ", and so does a change to a rules or policy file"
        } else {
            ""
        };
        let replaying = args.replay.is_some();
        tokio::spawn(reload_rules(args, report.lsm, hangups, reload_tx));
        let stop = super::shutdown_signal()?;
        if replaying {
            eprintln!("replaying; Ctrl-C or SIGTERM stops, SIGHUP reloads the rules{watching}");
        } else {
            eprintln!("watching; Ctrl-C or SIGTERM stops, SIGHUP reloads the rules{watching}");
        }
        let summary = agent
            .run(&mut out, stop, &mut reloads)
            .await
            .map_err(|e| e.to_string());
        // Dropping the agent closes the sinks' queues; they finish what they hold.
        drop(agent);
        for sink in tasks.finish(SINK_GRACE).await {
            eprintln!("{sink}: gave up on the alerts it still held after {SINK_GRACE:?}");
        }
        summary
    })?;
    print_summary(&summary, &sink_list, &metrics);
    Ok(())
}

/// Where events come from: a recording (`--replay`), or the kernel (recorded with `--record`)
/// and, with `--gvisor`, sandboxes (those running under `--runsc-root` attached with the
/// points the rules need). Must run inside the runtime.
async fn sources(
    args: &AgentArgs,
    rules: Option<&Ruleset>,
) -> Result<Vec<Box<dyn Source>>, String> {
    if let Some(path) = &args.replay {
        let replay = Replay::open(path).map_err(|e| format!("--replay {}: {e}", path.display()))?;
        return Ok(vec![Box::new(replay)]);
    }
    let crossing = Crossing {
        syscalls: args.syscalls.clone(),
        path_prefixes: args.path_prefixes.clone(),
        everything: args.events,
    };
    let kernel = Kernel::start(crossing, rules).map_err(|e| e.to_string())?;
    let kernel: Box<dyn Source> = match &args.record {
        Some(path) => Box::new(
            Recorded::to_file(Box::new(kernel), path)
                .map_err(|e| format!("--record {}: {e}", path.display()))?,
        ),
        None => Box::new(kernel),
    };
    let mut sources = vec![kernel];
    if args.gvisor {
        let mut sandboxes = Sandboxes::listen(&args.gvisor_socket, GVISOR_QUEUE)
            .map_err(|e| format!("--gvisor-socket: {e}"))?;
        if !args.runsc_root.is_empty() {
            // The rules as first loaded choose the points of the sandboxes attached now.
            let points = points_for(rules, args.events);
            sandboxes
                .attach(&args.runsc_root, &points)
                .await
                .map_err(|e| format!("gVisor: {e}"))?;
        }
        sources.push(Box::new(sandboxes));
    }
    Ok(sources)
}

/// Reloads the rules files, and the policy files of an agent that enforces, on each SIGHUP
/// and, with `--watch-config`, when their content changes (a ConfigMap update swaps the files
/// under a mounted volume); a file that no longer loads is reported and what is in force stays.
async fn reload_rules(
    args: AgentArgs,
    lsm: bool,
    mut hangups: Signal,
    reloads: UnboundedSender<Reload>,
) {
    let mut poll = tokio::time::interval(CONFIG_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let files: Vec<PathBuf> = args.rules.iter().chain(&args.policies).cloned().collect();
    let mut seen = fingerprint(&files);
    loop {
        tokio::select! {
            signal = hangups.recv() => {
                if signal.is_none() {
                    return;
                }
                seen = fingerprint(&files);
            }
            _ = poll.tick(), if args.watch_config => {
                let now = fingerprint(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                eprintln!("a rules or policy file changed: reloading");
            }
        }
        let policies = if args.policies.is_empty() {
            Ok(None)
        } else {
            haechi_enforce::load_for(&args.policies, haechi_enforce::Hooks { lsm })
                .map(Some)
                .map_err(|e| e.to_string())
        };
        match load_rules(&args).and_then(|rules| Ok((rules, policies?))) {
            // The agent says "rules reloaded" (and "policies reloaded") once they are in force.
            Ok((rules, policies)) => {
                if reloads.send(Reload { rules, policies }).is_err() {
                    return;
                }
            }
            Err(message) => eprintln!("keeping the rules and policies in force: {message}"),
        }
    }
}

/// How often `--watch-config` looks at the rules files.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// A hash of each file's content (`None` for one that cannot be read), to notice changes
/// whatever the mechanism (rewrite, rename, a ConfigMap volume's symlink swap).
fn fingerprint(files: &[PathBuf]) -> Vec<Option<u64>> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    files
        .iter()
        .map(|path| {
            let content = std::fs::read(path).ok()?;
            let mut hasher = DefaultHasher::new();
            content.hash(&mut hasher);
            Some(hasher.finish())
        })
        .collect()
}

fn load_rules(args: &AgentArgs) -> Result<Option<Ruleset>, String> {
    super::load_rules(args.no_default_rules, &args.rules)
}

fn print_summary(summary: &Summary, sinks: &[Sink], metrics: &Metrics) {
    let total: u64 = summary.by_type.values().sum();
    match &summary.kernel {
        Some(kernel) => eprintln!(
            "events {total} (kernel emitted {}, lost {}, filtered in kernel {}, undecodable {})",
            kernel.emitted, kernel.lost, kernel.filtered, summary.undecodable
        ),
        None => eprintln!("events {total}"),
    }
    if let Some(replayed) = &summary.replayed {
        eprintln!(
            "replayed {} recorded observations ({} lines skipped)",
            replayed.observations, replayed.skipped
        );
    }
    for (kind, count) in &summary.by_type {
        eprintln!("  {kind:<14} {count}");
    }
    if let Some(lost) = summary.enforcement_lost {
        eprintln!(
            "enforcement records lost to a full ring buffer: {} (the actions were taken)",
            lost.records
        );
        if lost.dns_answers > 0 {
            eprintln!(
                "DNS answers lost to a full ring buffer: {} (their addresses were not learned)",
                lost.dns_answers
            );
        }
    }
    let alerts: u64 = summary.alerts.values().sum();
    if summary.suppressed > 0 {
        eprintln!(
            "alerts {alerts} ({} suppressed as duplicates)",
            summary.suppressed
        );
    } else {
        eprintln!("alerts {alerts}");
    }
    for (rule, count) in &summary.alerts {
        eprintln!("  {count:>6}  {rule}");
    }
    if let Some(g) = &summary.gvisor {
        eprintln!(
            "gVisor: connections {}, refused {}, events {}, malformed {}, unknown types {}, dropped in sandboxes {}",
            g.connections, g.refused, g.events, g.malformed, g.unknown, g.dropped
        );
    }
    for name in sinks::names(sinks) {
        let counts = metrics.sink_counts(&name);
        eprintln!(
            "sink {name}: sent {}, failed attempts {}, dropped {}",
            counts.sent, counts.failures, counts.dropped
        );
    }
}
