//! `haechi image`: vulnerability scan and SBOM of container images, and the OSV index build.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use haechi_image::format;
use haechi_image::fs::WalkOptions;
use haechi_image::osv::Database;
use haechi_image::report::{IgnoreFile, MatchOptions, Report};
use haechi_image::{Image, Inventory, Severity};
use haechi_report::{Format, render};

/// Exit status when a finding at or above `--fail-on` exists.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors and unreadable input.
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Find vulnerable packages and secrets in an image, offline, against OSV advisories.
    Scan(ScanArgs),
    /// Write the image's software bill of materials.
    Sbom(SbomArgs),
    /// Manage the vulnerability database.
    Db(DbArgs),
}

#[derive(Args)]
struct Target {
    /// A `docker save` tarball, an OCI image layout directory or an OCI archive.
    #[arg(
        value_name = "IMAGE",
        required_unless_present = "rootfs",
        conflicts_with = "rootfs"
    )]
    image: Option<PathBuf>,
    /// Scan an unpacked root filesystem instead of an image.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Files larger than this many bytes are not read by the analyzers.
    #[arg(long, value_name = "BYTES", default_value_t = haechi_image::fs::MAX_FILE_SIZE)]
    max_file_size: u64,
    /// The archives inside the image's files (jars in jars) may inflate to this many bytes in
    /// all; past it they are not read, and each is reported.
    #[arg(long, value_name = "BYTES", default_value_t = haechi_image::fs::MAX_ARCHIVE_BYTES)]
    max_archive_bytes: u64,
    /// No progress bar (it is shown only when standard error is a terminal).
    #[arg(long)]
    no_progress: bool,
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    target: Target,
    /// OSV advisories: a directory of JSON records, a zip of them (osv.dev's all.zip) or an
    /// index file from `haechi image db build`. Repeat for several.
    #[arg(long, value_name = "PATH", required = true)]
    db: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when a vulnerability or secret at or above this severity is found.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Leave out vulnerabilities that have no fixed version yet.
    #[arg(long)]
    ignore_unfixed: bool,
    /// YAML file of accepted vulnerabilities and secrets, each with a reason.
    #[arg(long, value_name = "FILE")]
    ignore_file: Option<PathBuf>,
    /// Do not search layers for secrets.
    #[arg(long)]
    no_secrets: bool,
    /// Exit 0 or 1 even when something could not be checked (a layer, a package database or an
    /// advisory that could not be read); by default that exits 2, as the verdict is incomplete.
    #[arg(long)]
    allow_problems: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScanFormat {
    Table,
    Json,
    Sarif,
}

#[derive(Args)]
struct SbomArgs {
    #[command(flatten)]
    target: Target,
    /// SBOM format.
    #[arg(long, short, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    format: SbomFormat,
    /// Write the SBOM to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SbomFormat {
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
}

#[derive(Args)]
struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Index OSV advisories into one file for fast repeated scans.
    Build {
        /// OSV advisories: directories of JSON records or zips of them. Repeat for several.
        #[arg(long, value_name = "PATH", required = true)]
        db: Vec<PathBuf>,
        /// The index file to write.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse_among(s, &Severity::ADVISORY)
}

pub fn run(args: ImageArgs) -> ExitCode {
    let result = match args.command {
        ImageCommand::Scan(a) => scan(a),
        ImageCommand::Sbom(a) => sbom(a),
        ImageCommand::Db(DbArgs {
            command: DbCommand::Build { db, output },
        }) => build_db(&db, &output),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(io::stderr(), "haechi image: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn open(target: &Target) -> Result<Image, String> {
    match (&target.image, &target.rootfs) {
        (_, Some(dir)) => Image::rootfs(dir),
        (Some(path), None) => Image::open(path),
        (None, None) => unreachable!("clap requires IMAGE or --rootfs"),
    }
    .map_err(|e| e.to_string())
}

/// Reads every layer, with a progress bar when standard error is a terminal.
fn collect(image: &Image, target: &Target, secrets: bool) -> Inventory {
    let options = WalkOptions {
        secrets,
        max_file_size: target.max_file_size,
        max_archive_bytes: target.max_archive_bytes,
    };
    let bar = (!target.no_progress && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(image.layers.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} layers {pos}/{len} {bar:30} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let inventory = Inventory::collect(image, options, &mut |_| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    inventory
}

/// Loads the database; `say` prints what could not be read (a scan's report carries it).
fn load_db(paths: &[PathBuf], say: bool) -> Result<Database, String> {
    let db = Database::load(paths).map_err(|e| e.to_string())?;
    if say && let Some(first) = db.problems.first() {
        eprintln!(
            "haechi image: {} advisory file(s) could not be read and were skipped; first: {first}",
            db.problems.len()
        );
    }
    Ok(db)
}

fn scan(args: ScanArgs) -> Result<ExitCode, String> {
    let ignore = match &args.ignore_file {
        Some(path) => IgnoreFile::load(path).map_err(|e| e.to_string())?,
        None => IgnoreFile::default(),
    };
    let db = load_db(&args.db, false)?;
    let image = open(&args.target)?;
    let inventory = collect(&image, &args.target, !args.no_secrets);
    let options = MatchOptions {
        ignore_unfixed: args.ignore_unfixed,
        ignore,
    };
    let report = Report::build(&image, inventory, Some(&db), &options);
    let format = match args.format {
        ScanFormat::Table => Format::Table,
        ScanFormat::Json => Format::Json,
        ScanFormat::Sarif => Format::Sarif,
    };
    write_output(args.output.as_deref(), |out| {
        render(&report, format, false, out)
    })?;
    for problem in &report.problems {
        eprintln!("haechi image: {problem}");
    }
    if report.incomplete || !report.problems.is_empty() && !args.allow_problems {
        if !report.problems.is_empty() {
            eprintln!(
                "haechi image: {} problem(s): not everything was checked (--allow-problems \
                 exits 0 or 1 anyway)",
                report.problems.len()
            );
        }
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    Ok(
        if args.fail_on.is_some_and(|s| report.has_finding_at_least(s)) {
            ExitCode::from(EXIT_FINDINGS)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn sbom(args: SbomArgs) -> Result<ExitCode, String> {
    let image = open(&args.target)?;
    let inventory = collect(&image, &args.target, false);
    let report = Report::build(&image, inventory, None, &MatchOptions::default());
    let SbomFormat::Cyclonedx = args.format;
    let bom = format::cyclonedx(&report);
    write_output(args.output.as_deref(), |out| {
        serde_json::to_writer_pretty(&mut *out, &bom)?;
        writeln!(out)
    })?;
    for problem in &report.problems {
        eprintln!("haechi image: {problem}");
    }
    Ok(if report.incomplete {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    })
}

fn build_db(sources: &[PathBuf], output: &Path) -> Result<ExitCode, String> {
    let start = Instant::now();
    let db = load_db(sources, true)?;
    db.write_index(output).map_err(|e| e.to_string())?;
    let size = fs::metadata(output).map_or(0, |m| m.len());
    eprintln!(
        "haechi image: indexed {} advisories into {} ({} bytes) in {:.2}s",
        db.len(),
        output.display(),
        size,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes to FILE or standard output; a reader that closed the pipe early is not an error.
fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), String> {
    match path {
        Some(path) => fs::File::create(path)
            .and_then(|file| {
                let mut out = io::BufWriter::new(file);
                write(&mut out)?;
                out.flush()
            })
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            match write(&mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}
