//! The loaded, compiled rules and the entry points: [`Loader`] in, [`Ruleset`] out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::alert::{Alert, TIME_FIELD, rfc3339, time_of_day, time_value};
use crate::compile::{Compiler, event_types, specialize};
use crate::error::{Error, Errors, Loc, Warning};
use crate::eval::{Event, Key, Node, Val};
use crate::hash::StrMap;
use crate::load::Definitions;
use crate::rule::{Rule, Unsupported};

/// How to treat what haechi cannot evaluate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Turn unsupported constructs into errors instead of leaving their rules out.
    pub strict: bool,
}

/// Reads rules files, in order: a later file overrides or appends to an earlier one.
#[derive(Debug, Default)]
pub struct Loader {
    defs: Definitions,
    files: usize,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Adds rules text; `name` is how errors refer to it.
    pub fn add_source(&mut self, name: &str, text: &str) {
        self.files += 1;
        self.defs.add(name, text);
    }

    /// Adds a rules file; a file that cannot be read is an error of the load.
    pub fn add_file(&mut self, path: &Path) {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => self.add_source(&name, &text),
            Err(e) => self.defs.errors.push(
                Error::new(
                    &Loc {
                        file: Arc::from(name.as_str()),
                        line: 0,
                    },
                    None,
                    format!("cannot read the file: {e}"),
                )
                .hint("check the path and its permissions"),
            ),
        }
    }

    /// Compiles everything added. Errors come back all together, in file order.
    pub fn compile(self, options: Options) -> Result<Ruleset, Errors> {
        let defs = self.defs;
        let mut compiler = Compiler::new(&defs);
        let mut rules = Vec::new();
        let mut unsupported = Vec::new();
        for def in &defs.rules {
            match compiler.rule(def) {
                Some(Ok(rule)) => rules.push(rule),
                Some(Err(u)) => unsupported.push(u),
                None => {}
            }
        }
        let mut errors = defs.errors.clone();
        errors.append(&mut compiler.errors);
        if options.strict {
            for u in &unsupported {
                errors.push(
                    Error::new(
                        &u.loc,
                        Some(&format!("rule '{}'", u.rule)),
                        format!("unsupported: {}", u.constructs.join("; ")),
                    )
                    .hint(
                        "haechi cannot evaluate this yet; disable the rule or load without strict",
                    ),
                );
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| {
                a.loc
                    .file
                    .cmp(&b.loc.file)
                    .then(a.loc.line.cmp(&b.loc.line))
            });
            return Err(Errors(errors));
        }
        let evt_type = compiler.interner.key("evt.type");
        let evt_time = compiler.interner.key("evt.time");
        let report = Report {
            files: self.files,
            rules: defs.rules.len(),
            compiled: rules.len(),
            enabled: rules.iter().filter(|r| r.enabled).count(),
            macros: defs.macros.len(),
            lists: defs.lists.len(),
            unsupported,
            warnings: defs.warnings.clone(),
            required_engine_version: defs.required_engine_version.clone(),
        };
        let (by_type, any_type) = index(&rules, &evt_type);
        Ok(Ruleset {
            rules,
            by_type,
            any_type,
            evt_type,
            evt_time,
            keys: compiler.interner.keys,
            report,
        })
    }
}

/// A rule that may match, with its condition as evaluated.
#[derive(Debug)]
struct Candidate {
    rule: u32,
    cond: Node,
}

/// The candidates of each event type, their conditions specialized for the type.
type TypeIndex = StrMap<Box<[Candidate]>>;

/// Rules by the event types they can match; rules that may match any type are in every list.
/// Under a type, a rule's condition is specialized for it, and left out when that makes it false.
fn index(rules: &[Rule], evt_type: &Key) -> (TypeIndex, Box<[Candidate]>) {
    let mut typed: Vec<(u32, Option<BTreeSet<Box<str>>>)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.enabled {
            typed.push((i as u32, event_types(&rule.cond, evt_type)));
        }
    }
    let any = typed
        .iter()
        .filter(|(_, t)| t.is_none())
        .map(|&(rule, _)| Candidate {
            rule,
            cond: rules[rule as usize].cond.clone(),
        })
        .collect();
    let names: BTreeSet<&Box<str>> = typed
        .iter()
        .filter_map(|(_, t)| t.as_ref())
        .flatten()
        .collect();
    let by_type = names
        .into_iter()
        .map(|name| {
            let list = typed
                .iter()
                .filter(|(_, t)| t.as_ref().is_none_or(|t| t.contains(name)))
                .map(|&(rule, _)| Candidate {
                    rule,
                    cond: specialize(&rules[rule as usize].cond, evt_type, name),
                })
                .filter(|c| !matches!(c.cond, Node::Const(false)))
                .collect();
            (name.clone(), list)
        })
        .collect();
    (by_type, any)
}

/// What a load produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// Rules defined.
    pub rules: usize,
    /// Rules compiled (enabled or not).
    pub compiled: usize,
    /// Compiled rules that are enabled.
    pub enabled: usize,
    /// Macros defined.
    pub macros: usize,
    /// Lists defined.
    pub lists: usize,
    /// Rules left out, with what they need.
    pub unsupported: Vec<Unsupported>,
    /// Accepted oddities (unknown keys).
    pub warnings: Vec<Warning>,
    /// The last `required_engine_version` seen.
    pub required_engine_version: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rules ({} compiled, {} enabled, {} unsupported), {} macros, {} lists from {} file(s)",
            self.rules,
            self.compiled,
            self.enabled,
            self.unsupported.len(),
            self.macros,
            self.lists,
            self.files
        )?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        for u in &self.unsupported {
            writeln!(f, "unsupported: {}: rule '{}':", u.loc, u.rule)?;
            for c in &u.constructs {
                writeln!(f, "  - {c}")?;
            }
        }
        Ok(())
    }
}

/// Compiled rules, indexed by event type.
#[derive(Debug)]
pub struct Ruleset {
    rules: Vec<Rule>,
    by_type: TypeIndex,
    any_type: Box<[Candidate]>,
    evt_type: Key,
    evt_time: Key,
    keys: Vec<Key>,
    report: Report,
}

impl Ruleset {
    /// Loads and compiles files in order.
    pub fn from_files<P: AsRef<Path>>(paths: &[P], options: Options) -> Result<Ruleset, Errors> {
        let mut loader = Loader::new();
        for p in paths {
            loader.add_file(p.as_ref());
        }
        loader.compile(options)
    }

    /// Loads and compiles one text.
    pub fn from_text(name: &str, text: &str, options: Options) -> Result<Ruleset, Errors> {
        let mut loader = Loader::new();
        loader.add_source(name, text);
        loader.compile(options)
    }

    /// The compiled rules; matches are indexes into this.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What the load produced.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The event types (`evt.type` values) some enabled rule can match, or `None` when a rule
    /// may match any type. The agent lets only these cross from the kernel.
    pub fn event_types(&self) -> Option<BTreeSet<&str>> {
        if !self.any_type.is_empty() {
            return None;
        }
        Some(self.by_type.keys().map(|t| &**t).collect())
    }

    /// The `fd.name` prefixes an event must have for some enabled rule to match it, given the
    /// `known` values of a few of its fields (`evt.type`, `evt.is_open_read`, ...): the agent
    /// lets only file events under them cross from the kernel. `None` when a rule may match
    /// whatever the path; empty when no rule can match such an event.
    pub fn path_prefixes(&self, known: &[(&str, Val<'_>)]) -> Option<BTreeSet<Box<str>>> {
        let evt_type = known
            .iter()
            .find(|(name, _)| *name == self.evt_type.name())
            .and_then(|(_, v)| match v {
                Val::Str(t) => self.by_type.get(&**t),
                _ => None,
            })
            .unwrap_or(&self.any_type);
        let mut all = BTreeSet::new();
        for c in evt_type.iter() {
            all.extend(crate::paths::prefixes(
                &self.rules[c.rule as usize].cond,
                known,
            )?);
        }
        Some(all)
    }

    /// Every field key the rules use, by id.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The rules that can match an event, in rule order.
    fn candidates<E: Event + ?Sized>(&self, ev: &E) -> &[Candidate] {
        match ev.get(&self.evt_type) {
            Some(Val::Str(t)) => self.by_type.get(&*t).unwrap_or(&self.any_type),
            _ => &self.any_type,
        }
    }

    /// Appends the index of every enabled rule `ev` matches to `out`, in rule order.
    pub fn matches<E: Event + ?Sized>(&self, ev: &E, out: &mut Vec<usize>) {
        for c in self.candidates(ev) {
            if c.cond.eval(ev) {
                out.push(c.rule as usize);
            }
        }
    }

    /// The first enabled rule `ev` matches (Falco's default `rule_matching: first`).
    pub fn first_match<E: Event + ?Sized>(&self, ev: &E) -> Option<usize> {
        self.candidates(ev)
            .iter()
            .find(|c| c.cond.eval(ev))
            .map(|c| c.rule as usize)
    }

    /// The alert rule `rule` raises for `ev`.
    pub fn alert<E: Event + ?Sized>(&self, rule: usize, ev: &E, hostname: &str) -> Alert {
        let r = &self.rules[rule];
        let ns = match ev.get(&self.evt_time) {
            Some(Val::Num(n)) => i128::from(n),
            _ => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128),
        };
        let (text, mut output_fields): (String, BTreeMap<String, serde_json::Value>) =
            r.output.render(ev);
        output_fields.insert(TIME_FIELD.to_owned(), time_value(ns));
        Alert {
            hostname: hostname.to_owned(),
            output: format!("{}: {} {}", time_of_day(ns), r.priority, text),
            output_fields,
            priority: r.priority,
            rule: r.name.clone(),
            source: r.source.clone(),
            tags: r.tags.clone(),
            time: rfc3339(ns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values the generated events draw from: types some rule names and others, paths the
    /// rules look for, numbers on either side of zero.
    const VALUES: &[&str] = &[
        "openat",
        "execve",
        "connect",
        "unlinkat",
        "ptrace",
        "mount",
        "socket",
        "clone",
        "renameat2",
        "/etc/shadow",
        "/usr/bin/x",
        "/var/log/syslog",
        "host",
        "bash",
        "sh",
        "O_WRONLY|O_TRUNC",
        "AF_PACKET",
        "SUCCESS",
        "10.96.0.1",
        "PTRACE_ATTACH",
        "",
    ];

    fn event(seed: &mut u64, keys: &[Key]) -> serde_json::Map<String, serde_json::Value> {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let mut m = serde_json::Map::new();
        for k in keys {
            let value = match next() % 5 {
                0 => continue,
                1 => serde_json::Value::from(next() as i64 % 3 - 1),
                2 => serde_json::Value::Bool(next() % 2 == 0),
                _ => VALUES[(next() % VALUES.len() as u64) as usize].into(),
            };
            m.insert(k.name().to_owned(), value);
        }
        let t = [
            "openat", "execve", "connect", "unlinkat", "ptrace", "mount", "nosuch",
        ];
        m.insert(
            "evt.type".into(),
            t[(next() % t.len() as u64) as usize].into(),
        );
        m
    }

    /// The conditions specialized by event type match exactly what the rules as written do.
    #[test]
    fn specialized_conditions_agree_with_the_rules() {
        let mut loader = Loader::new();
        loader.add_source(crate::DEFAULT_RULES_NAME, crate::DEFAULT_RULES);
        loader.add_source(
            "falco_rules.yaml",
            include_str!("../tests/falco/falco_rules.yaml"),
        );
        let set = loader
            .compile(Options::default())
            .expect("the rules compile");
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut hits = 0;
        for _ in 0..20_000 {
            let ev = event(&mut seed, set.keys());
            let mut fast = Vec::new();
            set.matches(&ev, &mut fast);
            let slow: Vec<usize> = (0..set.rules.len())
                .filter(|&i| set.rules[i].enabled && set.rules[i].cond.eval(&ev))
                .collect();
            assert_eq!(fast, slow, "{ev:?}");
            hits += fast.len();
        }
        assert!(hits > 100, "the events exercise the rules ({hits} matches)");
    }
}
