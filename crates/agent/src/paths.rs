//! The file paths the kernel lets through for a set of rules: only file events some rule can
//! match cross into user space, which is what keeps the sensor's cost on a busy file system low.

use std::collections::BTreeSet;

use haechi_events::syscalls::{self, Class};
use haechi_rules::{Ruleset, Val};
use haechi_sensor::Paths;

/// The prefixes under which `rules` can match file events of the watched `syscalls`, split
/// the way the kernel tells events apart (reads are opens that returned a descriptor not open
/// for writing; everything else is a write). Fields the analysis takes as known are exactly
/// the ones the agent renders from the syscall alone, so no event a rule matches is dropped.
pub fn paths_for(rules: &Ruleset, watched: &BTreeSet<&'static str>) -> Paths {
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
