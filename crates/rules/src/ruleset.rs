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
use crate::limits::{MAX_FILE_BYTES, MAX_INDEX_SIZE, thousands};
use crate::load::{Definitions, too_large};
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

    /// Adds a rules file; a file that cannot be read is an error of the load. Only regular
    /// files are read (a FIFO or a device is refused before reading), and at most
    /// [`crate::limits::MAX_FILE_BYTES`] of them.
    pub fn add_file(&mut self, path: &Path) {
        let name: Arc<str> = Arc::from(path.display().to_string());
        match read_rules_file(path, &name) {
            Ok(text) => self.add_source(&name, &text),
            Err(error) => self.defs.errors.push(error),
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
        let mut report = Report {
            files: self.files,
            rules: defs.rules.len(),
            compiled: rules.len(),
            enabled: rules.iter().filter(|r| r.enabled).count(),
            macros: defs.macros.len(),
            lists: defs.lists.len(),
            size: compiler.size,
            indexed: 0,
            unsupported,
            warnings: defs.warnings.clone(),
            required_engine_version: defs.required_engine_version.clone(),
        };
        let (by_type, any_type) = match index(&rules, &evt_type) {
            Ok((by_type, any_type, size)) => {
                report.indexed = size;
                (by_type, any_type)
            }
            Err(needed) => {
                report.warnings.push(Warning {
                    loc: Loc {
                        file: Arc::from(""),
                        line: 0,
                    },
                    message: format!(
                        "the rules are not indexed by event type: the index would hold {} \
                         entries, more than the {} it may have; every event is tested against \
                         every rule (the same alerts, slower)",
                        thousands(needed),
                        thousands(MAX_INDEX_SIZE)
                    ),
                });
                let all = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.enabled)
                    .map(|(i, r)| Candidate {
                        rule: i as u32,
                        cond: r.cond.clone(),
                    })
                    .collect();
                (StrMap::default(), all)
            }
        };
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

/// The text of the rules file at `path`, or the error to report for it under the name `file`.
fn read_rules_file(path: &Path, file: &Arc<str>) -> Result<String, Error> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let at = Loc {
        file: file.clone(),
        line: 0,
    };
    let unreadable = |e: std::io::Error| {
        Error::new(&at, None, format!("cannot read the file: {e}"))
            .hint("check the path and its permissions")
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(unreadable)?;
    let meta = handle.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Error::new(
            &at,
            None,
            "not a regular file (a directory, FIFO, socket or device); only regular files are read",
        )
        .hint("give the path of a rules file"));
    }
    // One byte past the limit is read whatever size the file reports (files in /proc say 0).
    let mut bytes = Vec::new();
    (&handle)
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(file, meta.len().max(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            &at,
            None,
            format!(
                "not UTF-8 text (invalid bytes at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
        .hint("save the rules file as UTF-8")
    })
}

/// A rule that may match, with its condition as evaluated.
#[derive(Debug)]
struct Candidate {
    rule: u32,
    cond: Arc<Node>,
}

/// The candidates of each event type, their conditions specialized for the type.
type TypeIndex = StrMap<Box<[Candidate]>>;

/// Rules by the event types they can match; rules that may match any type are in every list.
/// Under a type, a rule's condition is specialized for it, and left out when that makes it
/// false; once the specialized copies fill the [`MAX_INDEX_SIZE`] budget, the rest share the
/// rule's own condition. Returns the index and its size, or (`Err`) the number of entries it
/// would need when even one entry per rule and type is past the budget.
fn index(rules: &[Rule], evt_type: &Key) -> Result<(TypeIndex, Box<[Candidate]>, usize), usize> {
    let mut typed: Vec<(u32, Option<BTreeSet<Box<str>>>)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.enabled {
            typed.push((i as u32, event_types(&rule.cond, evt_type)));
        }
    }
    let names: BTreeSet<&Box<str>> = typed
        .iter()
        .filter_map(|(_, t)| t.as_ref())
        .flatten()
        .collect();
    // One entry per rule and type it can match, counted before anything is built.
    let any_count = typed.iter().filter(|(_, t)| t.is_none()).count();
    let entries = typed
        .iter()
        .filter_map(|(_, t)| t.as_ref().map(BTreeSet::len))
        .fold(
            any_count.saturating_mul(names.len() + 1),
            usize::saturating_add,
        );
    if entries > MAX_INDEX_SIZE {
        return Err(entries);
    }
    let mut size = entries;
    let any_rules: Vec<u32> = typed
        .iter()
        .filter(|(_, t)| t.is_none())
        .map(|&(rule, _)| rule)
        .collect();
    let any = any_rules
        .iter()
        .map(|&rule| Candidate {
            rule,
            cond: rules[rule as usize].cond.clone(),
        })
        .collect();
    // The typed rules of each type, in rule order, built in one pass over the rules.
    let mut per_type: BTreeMap<&Box<str>, Vec<u32>> =
        names.into_iter().map(|n| (n, Vec::new())).collect();
    for (rule, types) in &typed {
        for name in types.iter().flatten() {
            if let Some(list) = per_type.get_mut(name) {
                list.push(*rule);
            }
        }
    }
    let nodes: Vec<usize> = rules
        .iter()
        .map(|r| crate::compile::count(&r.cond))
        .collect();
    let by_type = per_type
        .into_iter()
        .map(|(name, typed_rules)| {
            let list = merge_sorted(&any_rules, &typed_rules)
                .filter_map(|rule| {
                    let cond = &rules[rule as usize].cond;
                    let nodes = nodes[rule as usize];
                    let cond = if size + nodes <= MAX_INDEX_SIZE {
                        size += nodes;
                        Arc::new(specialize(cond, evt_type, name))
                    } else {
                        cond.clone()
                    };
                    (!matches!(*cond, Node::Const(false))).then_some(Candidate { rule, cond })
                })
                .collect();
            (name.clone(), list)
        })
        .collect();
    Ok((by_type, any, size))
}

/// The union of two ascending lists, ascending.
fn merge_sorted<'a>(a: &'a [u32], b: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x <= y => {
                i += 1;
                j += usize::from(x == y);
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => return None,
        };
        Some(next)
    })
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
    /// Nodes and list values the compiled conditions hold, macros and lists expanded, each
    /// copy counted (at most [`crate::limits::MAX_COMPILED_SIZE`]).
    pub size: usize,
    /// Entries of the index by event type (at most [`crate::limits::MAX_INDEX_SIZE`]; 0 when
    /// the rules are evaluated unindexed).
    pub indexed: usize,
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
