//! `haechi rules`: check Falco rules files, replay recorded events through them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use haechi_rules::alert::hostname;
use haechi_rules::replay::{Matching, replay};
use haechi_rules::{Options, Ruleset};

/// Every rule compiled (or, without --strict, the rest did and the unsupported were listed).
const EXIT_OK: u8 = 0;
/// With --strict: something is unsupported.
const EXIT_UNSUPPORTED: u8 = 1;
/// Errors in the rules, unreadable files or bad usage.
const EXIT_ERROR: u8 = 2;

#[derive(Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load rules files (later files override earlier ones) and print what compiled and what is
    /// unsupported, by rule. Exit status: 0 loaded, 1 something unsupported with --strict,
    /// 2 errors.
    Check(CheckArgs),
    /// Replay recorded events (one JSON object per line, as `haechi agent --events` writes them)
    /// through rules and print the alerts.
    Test(TestArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// Fail (exit status 1) when a rule uses a field or source haechi cannot evaluate yet.
    #[arg(long)]
    strict: bool,
    /// Rules files, in load order.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct TestArgs {
    /// Rules files, in load order.
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Events file (JSON lines); `-` reads standard input.
    #[arg(long, value_name = "EVENTS.jsonl")]
    events: PathBuf,
    /// Output: Falco's JSON alerts, one per line, or Falco's text lines.
    #[arg(long, value_enum, default_value_t = FormatArg::Json)]
    format: FormatArg,
    /// Alert on the first matching rule per event (Falco's default) or on every one.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::First)]
    matching: MatchArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Json,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum MatchArg {
    First,
    All,
}

pub fn run(args: RulesArgs) -> ExitCode {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let code = match args.command {
        RulesCommand::Check(a) => check(&a, &mut stdout.lock(), &mut stderr.lock()),
        RulesCommand::Test(a) => test(&a, &mut stdout.lock(), &mut stderr.lock()),
    };
    ExitCode::from(code)
}

fn load(files: &[PathBuf], err: &mut dyn Write) -> Option<Ruleset> {
    match Ruleset::from_files(files, Options::default()) {
        Ok(set) => Some(set),
        Err(errors) => {
            let _ = writeln!(err, "{errors}");
            None
        }
    }
}

fn check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(set) = load(&args.files, err) else {
        return EXIT_ERROR;
    };
    let report = set.report();
    let _ = write!(out, "{report}");
    if args.strict && !report.unsupported.is_empty() {
        return EXIT_UNSUPPORTED;
    }
    EXIT_OK
}

fn test(args: &TestArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(set) = load(&args.rules, err) else {
        return EXIT_ERROR;
    };
    for u in &set.report().unsupported {
        let _ = writeln!(
            err,
            "warning: {}: rule '{}' left out: {}",
            u.loc,
            u.rule,
            u.constructs.join("; ")
        );
    }
    let input: Box<dyn BufRead> = if args.events.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        match File::open(&args.events) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                let _ = writeln!(err, "error: {}: {e}", args.events.display());
                return EXIT_ERROR;
            }
        }
    };
    let matching = match args.matching {
        MatchArg::First => Matching::First,
        MatchArg::All => Matching::All,
    };
    let host = hostname();
    let stats = replay(&set, input, matching, &host, |alert| {
        let _ = match args.format {
            FormatArg::Json => {
                writeln!(out, "{}", serde_json::to_string(&alert).unwrap_or_default())
            }
            FormatArg::Text => writeln!(out, "{}", alert.output),
        };
    });
    match stats {
        Ok(stats) => {
            for (line, why) in &stats.skipped {
                let _ = writeln!(
                    err,
                    "warning: {}:{line}: skipped: {why}",
                    args.events.display()
                );
            }
            let _ = writeln!(err, "{} events, {} alerts", stats.events, stats.alerts);
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {}: {e}", args.events.display());
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const RULES: &str = "- rule: shell\n  desc: d\n  condition: evt.type = execve and proc.name = bash\n  output: shell %proc.name\n  priority: WARNING\n- rule: buf\n  desc: d\n  condition: evt.buffer contains x\n  output: o\n  priority: INFO\n";

    #[test]
    fn check_exit_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let rules = write(dir.path(), "r.yaml", RULES);
        let bad = write(dir.path(), "bad.yaml", "- rule: r\n  condition: (\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args = CheckArgs {
            strict: false,
            files: vec![rules.clone()],
        };
        assert_eq!(check(&args, &mut out, &mut err), EXIT_OK);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("2 rules (1 compiled"), "{text}");
        assert!(
            text.contains("rule 'buf'") && text.contains("evt.buffer"),
            "{text}"
        );
        let args = CheckArgs {
            strict: true,
            files: vec![rules],
        };
        assert_eq!(
            check(&args, &mut Vec::new(), &mut Vec::new()),
            EXIT_UNSUPPORTED
        );
        let args = CheckArgs {
            strict: false,
            files: vec![bad],
        };
        let mut err = Vec::new();
        assert_eq!(check(&args, &mut Vec::new(), &mut err), EXIT_ERROR);
        assert!(
            String::from_utf8(err)
                .unwrap()
                .contains("bad.yaml:1: rule 'r'")
        );
    }

    #[test]
    fn test_replays_events() {
        let dir = tempfile::tempdir().unwrap();
        let rules = write(dir.path(), "r.yaml", RULES);
        let events = write(
            dir.path(),
            "e.jsonl",
            "{\"evt.type\":\"execve\",\"proc.name\":\"bash\",\"evt.time\":0}\n\nnot json\n{\"evt.type\":\"execve\",\"proc.name\":\"ls\"}\n",
        );
        for (format, want) in [
            (FormatArg::Json, "\"rule\":\"shell\""),
            (FormatArg::Text, "00:00:00.000000000: Warning shell bash"),
        ] {
            let args = TestArgs {
                rules: vec![rules.clone()],
                events: events.clone(),
                format,
                matching: MatchArg::All,
            };
            let (mut out, mut err) = (Vec::new(), Vec::new());
            assert_eq!(test(&args, &mut out, &mut err), EXIT_OK);
            let out = String::from_utf8(out).unwrap();
            let err = String::from_utf8(err).unwrap();
            assert_eq!(out.lines().count(), 1, "{out}");
            assert!(out.contains(want), "{out}");
            assert!(
                err.contains("e.jsonl:3: skipped") && err.contains("2 events, 1 alerts"),
                "{err}"
            );
        }
    }
}
