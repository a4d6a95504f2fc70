//! The kernel's observe programs as a source: the sensor started with what the rules need to
//! cross into user space, its records decoded into the event vocabulary, its lost events
//! counted. Which syscalls, which file paths and whether DNS answers cross is decided here,
//! from the rules ([`Crossing::filter`]): only file events some rule can match cross, which is
//! what keeps the sensor's cost on a busy file system low.

use std::collections::BTreeSet;

use haechi_events::syscalls::{self, Class};
use haechi_rules::{Ruleset, Val};
use haechi_sensor::{Filter, Paths, Sensor, SensorError, decode};

use super::{Input, Ready, Source, SourceError, Tally};
use crate::metrics::{Metrics, catch_up};
use crate::process;

/// What crosses the kernel besides what the rules need: the user's choices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Crossing {
    /// Syscalls to report, whatever the rules need (`--syscalls`); empty: the ones the rules
    /// need, or every one with `everything`.
    pub syscalls: Vec<String>,
    /// File paths to report, whatever the rules can match (`--path-prefix`); empty: the paths
    /// the rules can match, or every path with `everything`.
    pub path_prefixes: Vec<String>,
    /// Every event is written (`--events`): everything crosses that the two lists above do
    /// not narrow.
    pub everything: bool,
}

impl Crossing {
    /// What the kernel lets through for `rules`. Syscalls: [`Crossing::syscalls`], else what
    /// the rules can match (exec, fork and exit always cross: the process table needs them),
    /// else every one. File paths: [`Crossing::path_prefixes`], else those the rules can match
    /// (unless every event is written), else every one. DNS answers cross with every event, or
    /// when a rule reads `fd.sip.name`.
    pub fn filter(&self, rules: Option<&Ruleset>) -> Result<Filter, SensorError> {
        let filter = if !self.syscalls.is_empty() {
            Filter::default().with_syscalls(self.syscalls.iter().map(String::as_str))?
        } else {
            match rules.and_then(Ruleset::event_types) {
                Some(types) if !self.everything => Filter::default()
                    .with_syscalls(types.into_iter().filter(|t| syscalls::by_name(t).is_some()))?,
                _ => Filter::everything(),
            }
        };
        // Only the file events the rules can match, unless every event is written.
        let paths = match rules {
            _ if !self.path_prefixes.is_empty() => Paths::under(self.path_prefixes.iter().cloned()),
            Some(rules) if !self.everything => paths_for(rules, &filter.syscalls),
            _ => Paths::default(),
        };
        // DNS answers name the servers of later connects, for the rules that ask.
        let names_servers =
            rules.is_some_and(|r| r.keys().iter().any(|k| k.name() == "fd.sip.name"));
        Ok(Filter {
            paths,
            dns_answers: filter.dns_answers || names_servers,
            ..filter
        })
    }
}

/// The observe programs, started and read.
pub struct Kernel {
    sensor: Sensor,
    crossing: Crossing,
    /// The processes running when the programs were attached, handed over first.
    running: Vec<Input>,
    /// The kernel's lost-event count already added to the metrics.
    lost_reported: u64,
}

impl Kernel {
    /// Loads and attaches the observe programs, letting through what `rules` need and what
    /// `crossing` adds, and reads the processes running then from /proc (after attaching, so
    /// that none starts unseen in between). Needs root and a tokio runtime; the calling
    /// process's own events are not reported.
    pub fn start(crossing: Crossing, rules: Option<&Ruleset>) -> Result<Kernel, SensorError> {
        let sensor = Sensor::start(&crossing.filter(rules)?)?;
        let running = process::running().into_iter().map(Input::Running);
        Ok(Kernel {
            sensor,
            crossing,
            running: running.rev().collect(),
            lost_reported: 0,
        })
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("crossing", &self.crossing)
            .finish_non_exhaustive()
    }
}

impl Source for Kernel {
    fn live(&self) -> bool {
        true
    }

    /// Completes once many records wait: the kernel does not wake the reader for each one,
    /// so the agent also takes from the kernel on its short tick.
    fn ready(&mut self) -> Ready<'_> {
        Box::pin(async move {
            self.sensor.readable().await?;
            Ok(true)
        })
    }

    fn take(&mut self, max: usize, into: &mut Vec<Input>) -> usize {
        let mut count = 0;
        while count < max
            && let Some(running) = self.running.pop()
        {
            into.push(running);
            count += 1;
        }
        count
            + self.sensor.drain_at_most(max - count, |record| {
                into.push(match decode(record) {
                    Ok(observation) => observation.into(),
                    Err(err) => Input::Unreadable(format!("undecodable kernel record: {err}")),
                })
            })
    }

    fn reload(&mut self, rules: Option<&Ruleset>) -> Result<(), SourceError> {
        let filter = self.crossing.filter(rules)?;
        self.sensor.set_filter(&filter)?;
        Ok(())
    }

    fn tally(&mut self, metrics: &Metrics) -> Tally {
        let stats = self.sensor.stats();
        catch_up(&metrics.events_lost, &mut self.lost_reported, stats.lost);
        Tally::Kernel(stats)
    }
}

/// The prefixes under which `rules` can match file events of the watched `syscalls`, split
/// the way the kernel tells events apart (reads are opens that returned a descriptor not open
/// for writing; everything else is a write). Fields the analysis takes as known are exactly
/// the ones the agent renders from the syscall alone, so no event a rule matches is dropped.
fn paths_for(rules: &Ruleset, watched: &BTreeSet<&'static str>) -> Paths {
    let mut reads = Some(BTreeSet::new());
    let mut writes = Some(BTreeSet::new());
    let file_syscalls = watched
        .iter()
        .filter_map(|name| syscalls::by_name(name))
        .filter(|s| s.class == Class::File);
    for syscall in file_syscalls {
        let evt_type = ("evt.type", Val::Str(syscall.name.into()));
        if !syscall.is_open() {
            add(&mut writes, rules.path_prefixes(&[evt_type]));
            continue;
        }
        let open = |read: bool, write: bool| {
            rules.path_prefixes(&[
                evt_type.clone(),
                ("evt.is_open_read", Val::Bool(read)),
                ("evt.is_open_write", Val::Bool(write)),
            ])
        };
        if syscall.name == "creat" {
            // Always write-only (O_CREAT|O_WRONLY|O_TRUNC): never a read.
            add(&mut writes, open(false, true));
            continue;
        }
        add(&mut reads, open(true, false));
        // Failed opens count as writes in the kernel, whatever their flags.
        for (read, write) in [(true, false), (false, true), (true, true)] {
            add(&mut writes, open(read, write));
        }
    }
    Paths { reads, writes }
}

/// Widens `all` by `more`; `None` (any path) absorbs everything.
fn add(all: &mut Option<BTreeSet<String>>, more: Option<BTreeSet<Box<str>>>) {
    match (all.as_mut(), more) {
        (Some(all), Some(more)) => all.extend(more.into_iter().map(String::from)),
        _ => *all = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haechi_rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, Options};

    fn default_rules() -> Ruleset {
        Ruleset::from_text(DEFAULT_RULES_NAME, DEFAULT_RULES, Options::default()).unwrap()
    }

    #[test]
    fn default_rules_let_through_only_sensitive_reads() {
        let rules = default_rules();
        let watched = rules.event_types().expect("typed rules");
        let watched: BTreeSet<&'static str> = watched
            .into_iter()
            .filter_map(|t| syscalls::by_name(t).map(|s| s.name))
            .collect();
        let paths = paths_for(&rules, &watched);
        let reads = paths.reads.expect("reads are bounded");
        assert!(reads.contains("/etc/shadow"), "{reads:?}");
        assert!(
            !reads
                .iter()
                .any(|p| "/etc/hostname".starts_with(p.as_str())),
            "{reads:?}"
        );
        assert_eq!(
            paths.writes, None,
            "a write anywhere can be a release_agent"
        );
    }

    #[test]
    fn a_rule_on_any_read_lets_every_read_through() {
        let text = "- rule: r\n  desc: d\n  condition: evt.type = openat and proc.name = cat\n  output: o\n  priority: WARNING\n";
        let rules = Ruleset::from_text("r.yaml", text, Options::default()).unwrap();
        let paths = paths_for(&rules, &["openat"].into());
        assert_eq!(paths, Paths::default());
    }

    #[test]
    fn unwatched_and_non_file_syscalls_bound_nothing() {
        let text = "- rule: r\n  desc: d\n  condition: evt.type = unlinkat and fd.name startswith /var/log\n  output: o\n  priority: WARNING\n";
        let rules = Ruleset::from_text("r.yaml", text, Options::default()).unwrap();
        let paths = paths_for(&rules, &["unlinkat", "connect"].into());
        assert_eq!(paths.reads, Some(BTreeSet::new()));
        assert_eq!(paths.writes, Some(["/var/log".to_owned()].into()));
    }
}
