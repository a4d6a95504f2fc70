//! `haechi agent`: the eBPF runtime sensor and its event stream.

use std::fs::File;
use std::io::{self, BufWriter, LineWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use haechi_agent::containers::Sources;
use haechi_agent::metrics::{self, Metrics};
use haechi_agent::sinks::{self, Endpoint, Sink, SinkOptions, Sinks};
use haechi_agent::{Agent, Format, Options, Reload, Summary};
use haechi_events::syscalls;
use haechi_gvisor::Listener;
use haechi_gvisor::runsc::{self, Runsc};
use haechi_rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, Loader, Options as RulesOptions, Ruleset};
use haechi_sensor::enforce::Enforcer;
use haechi_sensor::probe::{self, KernelReport};
use haechi_sensor::{Filter, Paths};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;

const EXIT_USAGE: u8 = 2;

/// Decoded sandbox messages waiting for the pipeline; past this, sandboxes drop and count.
const GVISOR_QUEUE: usize = 8192;

#[derive(Args)]
#[command(after_help = "Environment:
  HAECHI_HOSTNAME  The host name alerts carry (default: the kernel's); in a pod, set it
                   to the node's name from the downward API's spec.nodeName")]
pub struct AgentArgs {
    /// Print what the kernel offers the sensor and exit.
    #[arg(long)]
    probe: bool,
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
    /// Reload the rules, as SIGHUP does, when a rules file's content changes (checked every
    /// 2 s; for rules mounted from a ConfigMap).
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
    #[arg(long, value_name = "DIR", default_value = haechi_sensor::enforce::DEFAULT_PIN_DIR)]
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
    #[arg(long, value_name = "PATH", default_value = super::gvisor::DEFAULT_SOCKET,
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
    let rules = load_rules(&args)?;
    let filter = filter_for(&args, rules.as_ref())?;
    // The rules as first loaded choose the points of sandboxes attached at start.
    let gvisor_points = super::gvisor::points_for(rules.as_ref(), args.events);
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
    let mut options = Options {
        filter,
        sources: Sources {
            docker_socket: args.docker_socket.clone(),
            ..Sources::default()
        },
        format: match args.format {
            OutputFormat::Json => Format::Json,
            OutputFormat::Text => Format::Text,
        },
        events: args.events,
        rules,
        enforce,
        sinks: Sinks::default(),
        dedup: Some(args.dedup_window).filter(|w| !w.is_zero()),
        metrics: metrics.clone(),
        gvisor: None,
    };
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
        options.sinks = sinks;
        if args.gvisor {
            options.gvisor = Some(listen_gvisor(&args.gvisor_socket)?);
        }
        let mut agent = Agent::start(options).map_err(|e| e.to_string())?;
        if !args.runsc_root.is_empty() {
            attach_sandboxes(&mut agent, &args, &gvisor_points).await?;
        }
        metrics.set_ready();
        let (reload_tx, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        // Listen before saying so: until then SIGHUP would end the process.
        let hangups =
            signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
        let watching = if args.watch_config {
            ", and so does a change to a rules file"
        } else {
            ""
        };
        tokio::spawn(reload_rules(args, hangups, reload_tx));
        let stop = super::shutdown_signal()?;
        eprintln!("watching; Ctrl-C or SIGTERM stops, SIGHUP reloads the rules{watching}");
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

/// Which syscalls cross from the kernel: `--syscalls`, else what the rules can match (exec, fork
/// and exit always do: the process table needs them), else everything; and which file paths:
/// `--path-prefix`, else those the rules can match (without `--events`), else every one; and
/// whether DNS answers cross (with `--events`, or when a rule reads `fd.sip.name`).
fn filter_for(args: &AgentArgs, rules: Option<&Ruleset>) -> Result<Filter, String> {
    let filter = if !args.syscalls.is_empty() {
        Filter::default()
            .with_syscalls(args.syscalls.iter().map(String::as_str))
            .map_err(|e| e.to_string())?
    } else {
        match rules.and_then(Ruleset::event_types) {
            Some(types) if !args.events => Filter::default()
                .with_syscalls(types.into_iter().filter(|t| syscalls::by_name(t).is_some()))
                .map_err(|e| e.to_string())?,
            _ => Filter::everything(),
        }
    };
    // Only the file events the rules can match, unless every event is written.
    let paths = match rules {
        _ if !args.path_prefixes.is_empty() => Paths::under(args.path_prefixes.iter().cloned()),
        Some(rules) if !args.events => haechi_agent::paths::paths_for(rules, &filter.syscalls),
        _ => Paths::default(),
    };
    // DNS answers name the servers of later connects, for the rules that ask.
    let names_servers = rules.is_some_and(|r| r.keys().iter().any(|k| k.name() == "fd.sip.name"));
    Ok(Filter {
        paths,
        dns_answers: filter.dns_answers || names_servers,
        ..filter
    })
}

/// Reloads the rules files on each SIGHUP and, with `--watch-config`, when their content
/// changes (a ConfigMap update swaps the files under a mounted volume); a file that no longer
/// loads is reported and the rules in force stay.
async fn reload_rules(args: AgentArgs, mut hangups: Signal, reloads: UnboundedSender<Reload>) {
    let mut poll = tokio::time::interval(CONFIG_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seen = fingerprint(&args.rules);
    loop {
        tokio::select! {
            signal = hangups.recv() => {
                if signal.is_none() {
                    return;
                }
                seen = fingerprint(&args.rules);
            }
            _ = poll.tick(), if args.watch_config => {
                let now = fingerprint(&args.rules);
                if now == seen {
                    continue;
                }
                seen = now;
                eprintln!("a rules file changed: reloading the rules");
            }
        }
        let reload = load_rules(&args).and_then(|rules| {
            let filter = filter_for(&args, rules.as_ref())?;
            Ok(Reload { rules, filter })
        });
        match reload {
            // The agent says "rules reloaded" once they are in force.
            Ok(reload) => {
                if reloads.send(reload).is_err() {
                    return;
                }
            }
            Err(message) => eprintln!("keeping the rules in force: {message}"),
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
    rules_from(args.no_default_rules, &args.rules)
}

/// The default rules (unless left out) and `files`, in that order; what they use that haechi
/// cannot evaluate is reported and left out.
pub fn rules_from(no_default_rules: bool, files: &[PathBuf]) -> Result<Option<Ruleset>, String> {
    if no_default_rules && files.is_empty() {
        return Ok(None);
    }
    let mut loader = Loader::new();
    if !no_default_rules {
        loader.add_source(DEFAULT_RULES_NAME, DEFAULT_RULES);
    }
    for path in files {
        loader.add_file(path);
    }
    let rules = loader
        .compile(RulesOptions::default())
        .map_err(|e| format!("rules: {e}"))?;
    eprint!("rules: {}", rules.report());
    Ok(Some(rules))
}

/// Listens for gVisor sandboxes at `socket` (its directory is made if missing).
fn listen_gvisor(socket: &Path) -> Result<Listener, String> {
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--gvisor-socket: {}: {e}", dir.display()))?;
    }
    let listener =
        Listener::bind(socket, GVISOR_QUEUE).map_err(|e| format!("--gvisor-socket: {e}"))?;
    eprintln!("gVisor: listening at {}", socket.display());
    Ok(listener)
}

/// Attaches haechi's trace session to every sandbox running under the `--runsc-root`s and seeds
/// the process table with their processes. A sandbox that cannot be attached is reported and
/// the others are still attached.
async fn attach_sandboxes(
    agent: &mut Agent,
    args: &AgentArgs,
    points: &[&str],
) -> Result<(), String> {
    let endpoint = super::gvisor::endpoint(&args.gvisor_socket)?;
    let session = args.gvisor_socket.with_extension("session.json");
    let text = serde_json::to_string(&haechi_gvisor::config::session(&endpoint, points))
        .map_err(|e| e.to_string())?;
    std::fs::write(&session, text).map_err(|e| format!("{}: {e}", session.display()))?;
    for root in &args.runsc_root {
        let runsc = Runsc::new(root);
        let session = session.clone();
        // runsc's handshake needs this runtime to answer it: run runsc off it.
        let attached = tokio::task::spawn_blocking(move || {
            let ids = runsc.running()?;
            let mut attached = Vec::new();
            for id in ids.into_iter().filter(|id| runsc::plausible_id(id)) {
                let result = runsc
                    .attach(&id, &session)
                    .and_then(|()| runsc.processes(&id));
                attached.push((id, result));
            }
            Ok::<_, runsc::RunscError>(attached)
        })
        .await
        .map_err(|e| e.to_string())?;
        let attached = match attached {
            Ok(attached) => attached,
            Err(err) => {
                eprintln!("gVisor: {}: {err}", root.display());
                continue;
            }
        };
        for (id, result) in attached {
            match result {
                Ok(processes) => {
                    eprintln!(
                        "gVisor: attached to {id} under {} ({} processes)",
                        root.display(),
                        processes.len()
                    );
                    agent.seed_sandbox(&id, &processes);
                }
                Err(err) => eprintln!("gVisor: cannot attach to {id}: {err}"),
            }
        }
    }
    Ok(())
}

fn print_summary(summary: &Summary, sinks: &[Sink], metrics: &Metrics) {
    let total: u64 = summary.by_type.values().sum();
    eprintln!(
        "events {total} (kernel emitted {}, lost {}, filtered in kernel {}, undecodable {})",
        summary.kernel.emitted, summary.kernel.lost, summary.kernel.filtered, summary.undecodable
    );
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
