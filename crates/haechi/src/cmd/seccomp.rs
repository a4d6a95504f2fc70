//! `haechi seccomp`: record a workload's syscalls into a least-privilege profile, merge, diff
//! and check profiles, and run a command in a container under one.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use haechi_report::render;
use haechi_seccomp::format::Checked;
use haechi_seccomp::record::{RUNTIME_COMMENT, RUNTIME_SYSCALLS};
use haechi_seccomp::{
    Arch, Profile, RunOptions, Runtime, Severity, SpoProfile, check, container_cgroup, diff,
    docker_default, merge, record_cgroup, record_command,
};

/// A finding at or above --fail-on (check), or the profiles differ (diff).
const EXIT_FINDINGS: u8 = 1;
/// Usage errors, unreadable input, a recorder or runtime that cannot start.
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct SeccompArgs {
    #[command(subcommand)]
    command: SeccompCommand,
}

#[derive(Subcommand)]
enum SeccompCommand {
    /// Record the syscalls of a command (and every process it starts), a running container or a
    /// cgroup, and write the least-privilege profile that allows exactly those (needs root).
    Record(RecordArgs),
    /// Write the union of several allow-list profiles.
    Merge(MergeArgs),
    /// Show what two profiles allow differently. Exit status 1 when they differ.
    Diff(DiffArgs),
    /// Lint a profile (unknown names, duplicates, dangerous allows) and compare it with
    /// Docker's default profile. Exit status 1 on a finding at or above --fail-on.
    Check(CheckArgs),
    /// Run a command in a fresh OCI container with the profile applied, under runc or runsc
    /// (gVisor); exits with the command's status (needs root).
    Run(RunArgs),
    /// Copy profiles into a node's seccomp directory (the kubelet's, for `Localhost` profiles),
    /// each checked to parse first and written atomically; what the Helm chart's installer runs.
    Install(InstallArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// OCI / Docker seccomp JSON, for Localhost profiles, `docker run --security-opt` and OCI
    /// runtimes.
    Oci,
    /// A security-profiles-operator SeccompProfile object (YAML).
    Spo,
}

#[derive(Args)]
struct OutputArgs {
    /// Write the profile to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Profile format.
    #[arg(long, short, value_enum, default_value_t = FormatArg::Oci)]
    format: FormatArg,
    /// With --format spo: the object's name (default: the output file's stem, or `recorded`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// With --format spo: the object's namespace.
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["command", "container", "cgroup"])))]
struct RecordArgs {
    #[command(flatten)]
    out: OutputArgs,
    /// Record a running container: its id or a unique prefix (runc, Docker, containerd, CRI-O).
    #[arg(long, value_name = "ID")]
    container: Option<String>,
    /// Record every process in this cgroup v2 directory and below.
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,
    /// Stop after this many seconds (a command gets SIGTERM); default: when the command or
    /// container exits, or on Ctrl-C / SIGTERM.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
    /// Leave out the syscalls the OCI runtime (runc) makes after it applies the filter. Only
    /// for profiles that are not applied by runc.
    #[arg(long)]
    no_runtime_syscalls: bool,
    /// The command to record and its arguments.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Args)]
struct MergeArgs {
    #[command(flatten)]
    out: OutputArgs,
    /// Profiles to merge.
    #[arg(value_name = "PROFILE", required = true)]
    profiles: Vec<PathBuf>,
}

#[derive(Args)]
struct DiffArgs {
    /// The first profile.
    a: PathBuf,
    /// The second profile.
    b: PathBuf,
}

#[derive(Args)]
struct CheckArgs {
    /// Exit with status 1 on a finding at or above this severity.
    #[arg(long, value_enum, default_value_t = SeverityArg::High)]
    fail_on: SeverityArg,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = super::scan::FormatArg::Table)]
    format: super::scan::FormatArg,
    /// The profile.
    profile: PathBuf,
}

#[derive(Args)]
struct InstallArgs {
    /// The directory to write into, created if missing (e.g.
    /// /var/lib/kubelet/seccomp/haechi).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Profiles (OCI / Docker seccomp JSON), or directories whose `*.json` files are profiles.
    #[arg(value_name = "PROFILE", required = true)]
    profiles: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Low,
    Medium,
    High,
}

#[derive(Clone, Copy, ValueEnum)]
enum RuntimeArg {
    Runc,
    Runsc,
}

#[derive(Args)]
struct RunArgs {
    /// The profile to apply (OCI / Docker seccomp JSON).
    #[arg(long, value_name = "FILE")]
    profile: PathBuf,
    /// The OCI runtime.
    #[arg(long, value_enum, default_value_t = RuntimeArg::Runc)]
    runtime: RuntimeArg,
    /// Kill the container after this many seconds (exit status 2).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Root filesystem of the container (default: one built from Debian's busybox-static).
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// The command and its arguments, as the container sees them.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: SeccompArgs) -> ExitCode {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let (out, err) = (&mut stdout.lock(), &mut stderr.lock());
    let result = match args.command {
        SeccompCommand::Record(a) => record(&a, err),
        SeccompCommand::Merge(a) => merge_profiles(&a),
        SeccompCommand::Install(a) => install_profiles(&a, err),
        SeccompCommand::Diff(a) => diff_profiles(&a, out),
        SeccompCommand::Check(a) => check_profile(&a, out),
        SeccompCommand::Run(a) => run_container(&a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            let _ = writeln!(err, "haechi seccomp: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

type Outcome = Result<u8, String>;

fn read(path: &Path) -> Result<Profile, String> {
    Profile::read(path).map_err(|e| e.to_string())
}

fn write_profile(profile: &Profile, out: &OutputArgs) -> Result<(), String> {
    let text = match out.format {
        FormatArg::Oci => profile.to_json(),
        FormatArg::Spo => {
            let stem = out
                .output
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned());
            let name = out.name.clone().or(stem).unwrap_or("recorded".into());
            SpoProfile::new(profile, &name, out.namespace.as_deref())
                .map_err(|e| e.to_string())?
                .to_yaml()
        }
    };
    match &out.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    }
}

/// A flag raised by Ctrl-C (SIGINT) or SIGTERM. Installing the handler also keeps them from
/// ending haechi before the profile is written: a recorded command gets SIGTERM passed on
/// (and the terminal's Ctrl-C itself) and is waited for.
fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let raised = flag.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            let _ = ready_tx.send(());
            return;
        };
        runtime.block_on(async {
            // The handlers are installed once this returns, before the command starts.
            let signal = super::shutdown_signal();
            let _ = ready_tx.send(());
            match signal {
                Ok(signal) => {
                    signal.await;
                    raised.store(true, Ordering::SeqCst);
                }
                Err(err) => eprintln!("haechi seccomp: {err}; Ctrl-C ends haechi too"),
            }
        });
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(2));
    flag
}

fn record(args: &RecordArgs, err: &mut dyn Write) -> Outcome {
    let stop = stop_flag();
    let started = Instant::now();
    let deadline = args.duration.map(|s| started + Duration::from_secs(s));
    let until = || stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
    let (recording, what) = if let Some(id) = &args.container {
        let dir = container_cgroup(id).map_err(|e| e.to_string())?;
        let what = format!("container {id} ({})", dir.display());
        (record_cgroup(&dir, &until), what)
    } else if let Some(dir) = &args.cgroup {
        if !dir.join("cgroup.procs").exists() {
            return Err(format!(
                "{} is not a cgroup v2 directory (no cgroup.procs)",
                dir.display()
            ));
        }
        (
            record_cgroup(dir, &until),
            format!("cgroup {}", dir.display()),
        )
    } else {
        let what = format!("`{}`", args.command[0].to_string_lossy());
        (record_command(&args.command, &until), what)
    };
    let recording = recording.map_err(|e| e.to_string())?;
    let runtime: std::collections::BTreeSet<String> =
        RUNTIME_SYSCALLS.iter().map(|s| (*s).to_owned()).collect();
    let extra = (!args.no_runtime_syscalls).then_some((&runtime, RUNTIME_COMMENT));
    let profile = Profile::allow_list(&[recording.arch], &recording.names, extra);
    write_profile(&profile, &args.out)?;
    let allowed = profile.allowed(recording.arch).len();
    let docker = docker_default().allowed(recording.arch).len();
    let _ = writeln!(
        err,
        "recorded {} syscalls from {what} in {:.1}s{}; the profile allows {allowed} \
         ({} added for the runtime), Docker's default allows {docker}: {} fewer",
        recording.names.len(),
        started.elapsed().as_secs_f64(),
        match recording.status {
            Some(status) if !status.success() => format!(" (it exited with {status})"),
            _ => String::new(),
        },
        allowed - recording.names.len(),
        docker.saturating_sub(allowed),
    );
    if !recording.unnamed.is_empty() {
        let _ = writeln!(
            err,
            "warning: syscall numbers {:?} have no name in haechi's {} table (a newer kernel); \
             they are not in the profile",
            recording.unnamed, recording.arch
        );
    }
    Ok(0)
}

fn install_profiles(args: &InstallArgs, err: &mut dyn Write) -> Outcome {
    let mut sources = Vec::new();
    for path in &args.profiles {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
                .collect();
            found.sort();
            sources.extend(found);
        } else {
            sources.push(path.clone());
        }
    }
    // Every profile is read and checked before any is written: a bad one installs nothing.
    let mut profiles = Vec::new();
    for path in &sources {
        let name = path
            .file_name()
            .ok_or_else(|| format!("{}: not a file name", path.display()))?;
        profiles.push((name.to_owned(), read(path)?));
    }
    std::fs::create_dir_all(&args.to).map_err(|e| format!("{}: {e}", args.to.display()))?;
    for (name, profile) in &profiles {
        let target = args.to.join(name);
        let partial = args.to.join(format!(".{}.partial", name.to_string_lossy()));
        std::fs::write(&partial, profile.to_json())
            .and_then(|()| std::fs::rename(&partial, &target))
            .map_err(|e| format!("{}: {e}", target.display()))?;
        let _ = writeln!(err, "installed {}", target.display());
    }
    Ok(0)
}

fn merge_profiles(args: &MergeArgs) -> Outcome {
    let mut profiles = Vec::new();
    for path in &args.profiles {
        profiles.push((path.display().to_string(), read(path)?));
    }
    let merged = merge(&profiles).map_err(|e| e.to_string())?;
    write_profile(&merged, &args.out)?;
    Ok(0)
}

fn diff_profiles(args: &DiffArgs, out: &mut dyn Write) -> Outcome {
    let (a, b) = (read(&args.a)?, read(&args.b)?);
    let diffs = diff(&a, &b);
    for d in &diffs {
        let _ = write!(out, "{d}");
    }
    let differ = diffs.iter().any(|d| !d.is_empty());
    Ok(if differ { EXIT_FINDINGS } else { 0 })
}

fn check_profile(args: &CheckArgs, out: &mut dyn Write) -> Outcome {
    let profile = read(&args.profile)?;
    let checked = Checked::new(args.profile.display().to_string(), check(&profile));
    super::scan::stdout_result(render(&checked, args.format.format(), false, out))?;
    let report = &checked.report;
    let threshold = match args.fail_on {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
    };
    let failed = report.findings.iter().any(|f| f.severity >= threshold);
    Ok(if failed { EXIT_FINDINGS } else { 0 })
}

fn run_container(args: &RunArgs) -> Outcome {
    let profile = read(&args.profile)?;
    if Arch::native().is_none() {
        return Err(format!("{} is not supported", std::env::consts::ARCH));
    }
    let options = RunOptions {
        profile,
        runtime: match args.runtime {
            RuntimeArg::Runc => Runtime::Runc,
            RuntimeArg::Runsc => Runtime::Runsc,
        },
        rootfs: args.rootfs.clone(),
        argv: args.command.clone(),
        timeout: args.timeout.map(Duration::from_secs),
    };
    let status = haechi_seccomp::run(&options).map_err(|e| e.to_string())?;
    // A command killed by a signal reports 128 + the signal, as shells do.
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    Ok(u8::try_from(code).unwrap_or(1))
}
