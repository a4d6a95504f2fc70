//! `haechi scan`.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use haechi_manifest::Node;
use haechi_policy::{Config, Engine, Object, PssVersion, Severity, checks};
use haechi_report::{Format, render};
use haechi_scan::{DEFAULT_MAX_FILE_SIZE, Input, LoadOptions, Problem, Visitor, load, scan};

/// Exit status when a finding at or above `--fail-on` exists.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors, and for input that could not be checked (unless
/// `--allow-problems`).
const EXIT_PROBLEMS: u8 = 2;

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
    /// Read files (and standard input) up to this many bytes; a larger one is a problem.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_SIZE)]
    max_file_size: u64,
    /// Exit 0 (or 1 for findings) even when some input could not be checked. Problems are still
    /// reported and counted; without this flag they make the exit status 2.
    #[arg(long)]
    allow_problems: bool,
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
    s.parse()
}

fn parse_pss_version(s: &str) -> Result<PssVersion, String> {
    s.parse()
}

pub fn run(args: ScanArgs) -> ExitCode {
    match run_scan(args) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(io::stderr(), "haechi scan: {message}");
            ExitCode::from(EXIT_PROBLEMS)
        }
    }
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
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
    let options = LoadOptions {
        max_file_size: args.max_file_size,
        parse_unchecked_kinds: args.fix,
        ..LoadOptions::default()
    };
    if args.fix {
        let problems = write_fixes(&engine, &inputs, &options, args.fix_dir.as_deref())?;
        for problem in &problems {
            eprintln!("haechi scan: {}", describe_problem(problem));
        }
        let status = if problems.is_empty() || args.allow_problems {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_PROBLEMS)
        };
        return Ok(status);
    }
    let report = scan(&inputs, &options, &engine, args.show_ignored);
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
        eprintln!("haechi scan: {}", describe_problem(problem));
    }
    // What was not checked decides first: a clean verdict on part of the input is no verdict.
    let status = if report.has_problems() && !args.allow_problems {
        eprintln!(
            "haechi scan: {} problem(s): some input was not checked (exit status 2; \
             --allow-problems accepts that)",
            report.problems.len()
        );
        ExitCode::from(EXIT_PROBLEMS)
    } else if args.fail_on.is_some_and(|s| report.has_finding_at_least(s)) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends right after: freeing a large scan's findings one allocation at a time
    // would only delay the exit.
    std::mem::forget(report);
    Ok(status)
}

fn describe_problem(p: &Problem) -> String {
    match (p.line, p.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", p.file, p.message),
        _ => format!("{}: {}", p.file, p.message),
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

/// Writes every object with its fixes applied, as YAML, as the objects are read: to standard
/// output (documents separated by `---`), or one file per input under `dir`. Returns what could
/// not be checked.
fn write_fixes(
    engine: &Engine,
    inputs: &[Input],
    options: &LoadOptions,
    dir: Option<&Path>,
) -> Result<Vec<Problem>, String> {
    let mut writer = FixWriter {
        engine,
        dir,
        file: None,
        text: String::new(),
        stdout: io::BufWriter::new(io::stdout()),
        first: true,
        error: None,
        provisional: Vec::new(),
    };
    let loaded = load(inputs, options, &mut writer);
    writer.flush();
    if writer.error.is_none()
        && let Err(e) = stdout_result(writer.stdout.flush())
    {
        writer.error = Some(e);
    }
    match writer.error {
        Some(e) => Err(e),
        None => Ok(loaded.problems),
    }
}

/// Fixes objects as they come and writes them out.
struct FixWriter<'a> {
    engine: &'a Engine,
    dir: Option<&'a Path>,
    /// The input file whose objects `text` holds (with `--fix-dir`).
    file: Option<String>,
    text: String,
    stdout: io::BufWriter<io::Stdout>,
    /// Nothing written to standard output yet.
    first: bool,
    error: Option<String>,
    /// Fixed items of a document not yet known to be a list.
    provisional: Vec<(String, Result<String, String>)>,
}

impl FixWriter<'_> {
    /// Writes the fixed objects of the current file under the fix directory.
    fn flush(&mut self) {
        let (Some(dir), Some(file)) = (self.dir, self.file.take()) else {
            return;
        };
        let text = std::mem::take(&mut self.text);
        if self.error.is_some() {
            return;
        }
        let target = dir.join(mirror(&file));
        let written = target
            .parent()
            .map_or(Ok(()), |parent| {
                fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))
            })
            .and_then(|()| {
                fs::write(&target, text)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))
            });
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
}

impl Visitor for FixWriter<'_> {
    fn object(&mut self, file: &str, node: &Node, provisional: bool) {
        let fixed = match Object::new(node) {
            Some(_) => self.engine.fix(node).object,
            None => node.to_json(),
        };
        let yaml = serde_saphyr::to_string(&fixed).map_err(|e| format!("cannot write YAML: {e}"));
        if provisional {
            self.provisional.push((file.to_string(), yaml));
        } else {
            self.write(file.to_string(), yaml);
        }
    }

    fn settle(&mut self, keep: bool) {
        let provisional = std::mem::take(&mut self.provisional);
        if keep {
            for (file, yaml) in provisional {
                self.write(file, yaml);
            }
        }
    }
}

impl FixWriter<'_> {
    /// Writes one fixed object (to standard output, or to the current file's text).
    fn write(&mut self, file: String, yaml: Result<String, String>) {
        if self.error.is_some() {
            return;
        }
        let yaml = match yaml {
            Ok(yaml) => yaml,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        if self.dir.is_none() {
            let separator = if self.first { "" } else { "---\n" };
            self.first = false;
            let written = self
                .stdout
                .write_all(separator.as_bytes())
                .and_then(|()| self.stdout.write_all(yaml.as_bytes()));
            if let Err(e) = stdout_result(written) {
                self.error = Some(e);
            }
            return;
        }
        if self.file.as_deref() != Some(file.as_str()) {
            self.flush();
            self.file = Some(file);
        } else {
            self.text.push_str("---\n");
        }
        self.text.push_str(&yaml);
    }
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
