//! `haechi scan`.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use haechi_policy::{Config, Engine, Object, PssVersion, Severity, checks};
use haechi_report::{Format, render};
use haechi_scan::{Input, LoadOptions, build_report, load};

/// Exit status when a finding at or above `--fail-on` exists.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors and unreadable input.
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively: .yaml, .yml, .json); `-` reads
    /// standard input. Default: the current directory.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when a finding at or above this severity exists.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Configuration file (default: .haechi.yaml found upward from the first path).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Pod Security Standards version to check against: `latest` or `v1.N`.
    #[arg(long, value_name = "VERSION", value_parser = parse_pss_version)]
    pss_version: Option<PssVersion>,
    /// Also show findings silenced by annotations or exemptions.
    #[arg(long)]
    show_ignored: bool,
    /// Write every object with all available fixes applied (YAML, to standard output or --fix-dir).
    #[arg(long)]
    fix: bool,
    /// With --fix: write fixed files under DIR, mirroring the input paths.
    #[arg(long, value_name = "DIR", requires = "fix")]
    fix_dir: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    max_file_size: u64,
    /// Colour in the table: auto (on a terminal), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Directory of Localhost seccomp profiles as on the nodes (the kubelet's
    /// /var/lib/kubelet/seccomp): report `localhostProfile`s that are not in it.
    #[arg(long, value_name = "DIR")]
    seccomp_dir: Option<PathBuf>,
    /// List the checks and exit.
    #[arg(long)]
    list_checks: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Table,
    Json,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}

impl FormatArg {
    pub(crate) fn format(self) -> Format {
        match self {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Junit => Format::Junit,
        }
    }
}

impl ColorArg {
    /// Whether the table is coloured; `to_file` when the report goes to --output.
    pub(crate) fn enabled(self, to_file: bool) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                !to_file && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse_among(s, &Severity::RATED)
}

fn parse_pss_version(s: &str) -> Result<PssVersion, String> {
    s.parse()
}

pub fn run(args: ScanArgs) -> ExitCode {
    match scan(args) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(io::stderr(), "haechi scan: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn scan(args: ScanArgs) -> Result<ExitCode, String> {
    if args.list_checks {
        write_stdout(list_checks().as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let inputs: Vec<Input> = if args.paths.is_empty() {
        vec![Input::Path(PathBuf::from("."))]
    } else {
        args.paths
            .iter()
            .map(|p| match p.as_str() {
                "-" => Input::Stdin,
                path => Input::Path(PathBuf::from(path)),
            })
            .collect()
    };
    let mut config = load_config(&args, &inputs)?;
    if let Some(version) = args.pss_version {
        config.options.pss_version = version;
    }
    if let Some(dir) = &args.seccomp_dir {
        if !dir.is_dir() {
            return Err(format!("--seccomp-dir {}: not a directory", dir.display()));
        }
        config.options.seccomp_dir = Some(dir.clone());
    }
    let engine = Engine::new(config);
    let loaded = load(
        &inputs,
        &LoadOptions {
            max_file_size: args.max_file_size,
            parse_unchecked_kinds: args.fix,
            ..LoadOptions::default()
        },
    );
    if args.fix {
        write_fixes(&engine, &loaded, args.fix_dir.as_deref())?;
        for problem in &loaded.problems {
            eprintln!("haechi scan: {}", problem.describe());
        }
        return Ok(exit_for_problems(&loaded.problems));
    }
    let report = build_report(&engine, &loaded, args.show_ignored);
    let format = args.format.format();
    let color = args.color.enabled(args.output.is_some());
    let rendered = match &args.output {
        Some(path) => fs::File::create(path)
            .and_then(|file| {
                let mut out = io::BufWriter::new(file);
                render(&report, format, color, &mut out)?;
                out.flush()
            })
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            stdout_result(render(&report, format, color, &mut out).and_then(|()| out.flush()))
        }
    };
    rendered?;
    for problem in &report.problems {
        eprintln!("haechi scan: {}", problem.describe());
    }
    if report.has_fatal_problem() {
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let status = if args.fail_on.is_some_and(|s| report.has_finding_at_least(s)) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends right after: freeing a large scan's trees and findings one allocation
    // at a time would only delay the exit (a tenth of the run time on 10,000 objects).
    std::mem::forget(report);
    std::mem::forget(loaded);
    Ok(status)
}

fn exit_for_problems(problems: &[haechi_scan::Problem]) -> ExitCode {
    if problems.iter().any(|p| p.fatal) {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

fn load_config(args: &ScanArgs, inputs: &[Input]) -> Result<Config, String> {
    let path = match &args.config {
        Some(path) => Some(path.clone()),
        None => inputs.iter().find_map(|input| match input {
            Input::Path(p) => Config::discover(p),
            Input::Stdin => Config::discover(Path::new(".")),
        }),
    };
    match path {
        Some(path) => {
            Config::load(&path, |id| checks::find(id).is_some()).map_err(|e| e.to_string())
        }
        None => Ok(Config::default()),
    }
}

fn list_checks() -> String {
    let mut list = String::new();
    for check in checks::all() {
        let meta = &check.meta;
        let pss = meta.pss.map(|l| format!("pss:{l}")).unwrap_or_default();
        list.push_str(&format!(
            "{:<34} {:<8} {:<14} {}\n",
            meta.id,
            meta.severity.as_str(),
            pss,
            meta.title
        ));
    }
    list
}

/// Writes to standard output.
fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    stdout_result(io::stdout().lock().write_all(bytes))
}

/// A reader that closed the pipe early (`| head`) has what it wanted: that is not an error.
pub(crate) fn stdout_result(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("cannot write: {e}")),
        _ => Ok(()),
    }
}

/// Writes every object with its fixes applied, as YAML, grouped by input file.
fn write_fixes(
    engine: &Engine,
    loaded: &haechi_scan::Loaded,
    dir: Option<&Path>,
) -> Result<(), String> {
    let mut files: Vec<(&str, String)> = Vec::new();
    for source in &loaded.objects {
        let fixed = match Object::new(&source.node) {
            Some(_) => engine.fix(&source.node).object,
            None => source.node.to_json(),
        };
        let yaml =
            serde_saphyr::to_string(&fixed).map_err(|e| format!("cannot write YAML: {e}"))?;
        match files.last_mut() {
            Some((file, text)) if *file == source.file => {
                text.push_str("---\n");
                text.push_str(&yaml);
            }
            _ => files.push((&source.file, yaml)),
        }
    }
    match dir {
        None => {
            let texts: Vec<&str> = files.iter().map(|(_, text)| text.as_str()).collect();
            write_stdout(texts.join("---\n").as_bytes())?;
        }
        Some(dir) => {
            for (file, text) in files {
                let target = dir.join(mirror(file));
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                fs::write(&target, text)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            }
        }
    }
    Ok(())
}

/// Where a fixed copy of `file` goes under the fix directory: its path without root or `..`
/// components (`-` becomes `stdin.yaml`).
fn mirror(file: &str) -> PathBuf {
    if file == "-" {
        return PathBuf::from("stdin.yaml");
    }
    Path::new(file)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect()
}
