//! Reading rules files: YAML items into lists, macros and rules, with Falco's `append: true` and
//! `override:` merging across files. Conditions stay text here; [`crate::compile`] parses them
//! once every file is in, so an item may use a macro or list defined later or in another file.

use std::collections::HashMap;
use std::sync::Arc;

use haechi_manifest::{Limits, Node, parse_documents};

use crate::alert::Priority;
use crate::error::{Error, Loc, Warning};
use crate::limits::{MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES};

/// A `list` item after merging.
#[derive(Debug, Clone)]
pub(crate) struct ListDef {
    pub name: String,
    pub items: Vec<String>,
}

/// A `macro` item after merging.
#[derive(Debug, Clone)]
pub(crate) struct MacroDef {
    pub name: String,
    pub condition: String,
    pub loc: Loc,
}

/// A `rule` item after merging.
#[derive(Debug, Clone)]
pub(crate) struct RuleDef {
    pub name: String,
    pub desc: String,
    pub condition: String,
    pub output: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub exceptions: Vec<ExceptionDef>,
    pub source: String,
    pub skip_if_unknown_filter: bool,
    pub loc: Loc,
    pub cond_loc: Loc,
}

/// One entry of a rule's `exceptions`.
#[derive(Debug, Clone)]
pub(crate) struct ExceptionDef {
    pub name: String,
    /// The fields; `single` when `fields` was one name rather than a list.
    pub fields: Vec<String>,
    pub single: bool,
    /// One operator per field (Falco's defaults filled in).
    pub comps: Vec<String>,
    pub values: Vec<ExValue>,
    pub loc: Loc,
}

/// An exception value: a string, or a list (a tuple, or the values of an `in`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExValue {
    Str(String),
    List(Vec<ExValue>),
}

/// Everything read so far.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    pub lists: Vec<ListDef>,
    pub macros: Vec<MacroDef>,
    pub rules: Vec<RuleDef>,
    list_index: HashMap<String, usize>,
    macro_index: HashMap<String, usize>,
    rule_index: HashMap<String, usize>,
    pub required_engine_version: Option<String>,
    pub errors: Vec<Error>,
    pub warnings: Vec<Warning>,
}

const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "tags",
    "enabled",
    "exceptions",
    "source",
    "append",
    "override",
    "skip-if-unknown-filter",
    "warn_evttypes",
    "capture",
    "capture_duration",
];
/// What `override:` may append to and replace, per Falco's loader.
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "source",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];

/// How an item changes an earlier one of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Append,
    Replace,
}

/// What an item asks for: define, or merge per key.
enum Mode {
    Define,
    Merge(Vec<(String, Merge)>),
}

impl Definitions {
    /// Reads one rules file into the definitions, after those of earlier files.
    pub fn add(&mut self, file: &str, text: &str) {
        let file: Arc<str> = Arc::from(file);
        if text.len() > MAX_FILE_BYTES {
            self.errors.push(too_large(&file, text.len() as u64));
            return;
        }
        let limits = Limits {
            max_depth: MAX_YAML_DEPTH,
            max_nodes: MAX_YAML_NODES,
            ..Limits::default()
        };
        for doc in parse_documents(text, &limits) {
            match doc {
                Err(e) => self.errors.push(
                    Error::new(
                        &Loc {
                            file: file.clone(),
                            line: e.line,
                        },
                        None,
                        format!("not valid YAML: {}", e.message),
                    )
                    .hint("a rules file is a YAML sequence of list, macro and rule items"),
                ),
                Ok(node) if node.is_null() => {}
                Ok(node) if node.is_seq() => {
                    for item in node.items() {
                        self.item(&file, item);
                    }
                }
                Ok(node) => self.errors.push(
                    Error::new(
                        &at(&file, &node),
                        None,
                        "the document is not a sequence of items",
                    )
                    .hint("start each item with `- rule:`, `- macro:` or `- list:`"),
                ),
            }
        }
    }

    fn item(&mut self, file: &Arc<str>, item: &Node) {
        let loc = at(file, item);
        if !item.is_map() {
            self.errors.push(
                Error::new(&loc, None, "an item is not a mapping")
                    .hint("write `- rule: name`, `- macro: name` or `- list: name` with its keys"),
            );
            return;
        }
        if let Some(v) = item.get("required_engine_version") {
            self.required_engine_version = v.as_str().map(str::to_owned);
            return;
        }
        if item.get("required_plugin_versions").is_some() {
            return;
        }
        let kinds: Vec<&str> = ["list", "macro", "rule"]
            .into_iter()
            .filter(|k| item.get(k).is_some())
            .collect();
        match kinds.as_slice() {
            ["list"] => self.list(file, item),
            ["macro"] => self.macro_(file, item),
            ["rule"] => self.rule(file, item),
            [] => {
                let first = item.entries().first().map_or("", |(k, _)| k.text.as_str());
                self.errors.push(
                    Error::new(&loc, None, format!("unknown item `{first}`")).hint(
                        "items are `rule`, `macro`, `list`, `required_engine_version` or `required_plugin_versions`",
                    ),
                );
            }
            _ => self.errors.push(
                Error::new(
                    &loc,
                    None,
                    format!("an item has several kinds: {}", kinds.join(", ")),
                )
                .hint("split it into one item per list, macro and rule"),
            ),
        }
    }

    /// The item's name, or an error when it is not a string.
    fn name(&mut self, file: &Arc<str>, item: &Node, kind: &str) -> Option<String> {
        match item.get(kind).and_then(Node::as_str) {
            Some(name) if !name.is_empty() => Some(name.to_owned()),
            _ => {
                self.errors.push(
                    Error::new(&at(file, item), None, format!("a {kind} without a name"))
                        .hint(format!("write `- {kind}: some_name`")),
                );
                None
            }
        }
    }

    /// Warns about keys not in `known`.
    fn check_keys(&mut self, file: &Arc<str>, item: &Node, known: &[&str], what: &str) {
        for (key, _) in item.entries() {
            if !known.contains(&key.text.as_str()) {
                self.warnings.push(Warning {
                    loc: Loc {
                        file: file.clone(),
                        line: key.pos.line,
                    },
                    message: format!(
                        "{what}: unknown key `{}` ignored (known: {})",
                        key.text,
                        known.join(", ")
                    ),
                });
            }
        }
    }

    /// Reads `append:` and `override:`.
    fn mode(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        what: &str,
        appendable: &[&str],
        replaceable: &[&str],
    ) -> Option<Mode> {
        let loc = at(file, item);
        let append = match item.get("append") {
            None => false,
            Some(v) => match v.as_bool() {
                Some(b) => b,
                None => {
                    self.errors.push(
                        Error::new(&at(file, v), Some(what), "`append` is not true or false")
                            .hint("write `append: true`"),
                    );
                    return None;
                }
            },
        };
        let Some(ov) = item.get("override") else {
            return Some(if append {
                Mode::Merge(
                    appendable
                        .iter()
                        .filter(|k| item.get(k).is_some())
                        .map(|k| (k.to_string(), Merge::Append))
                        .collect(),
                )
            } else {
                Mode::Define
            });
        };
        if append {
            self.errors.push(
                Error::new(&loc, Some(what), "`append` and `override` together")
                    .hint("keep `override:` and drop `append: true`"),
            );
            return None;
        }
        if !ov.is_map() {
            self.errors.push(
                Error::new(&at(file, ov), Some(what), "`override` is not a mapping")
                    .hint("write `override:` followed by `key: append` or `key: replace` lines"),
            );
            return None;
        }
        let mut merges = Vec::new();
        for (key, how) in ov.entries() {
            let kloc = Loc {
                file: file.clone(),
                line: key.pos.line,
            };
            let (merge, allowed) = match how.as_str() {
                Some("append") => (Merge::Append, appendable),
                Some("replace") => (Merge::Replace, replaceable),
                _ => {
                    self.errors.push(
                        Error::new(
                            &kloc,
                            Some(what),
                            format!("override of `{}` is neither append nor replace", key.text),
                        )
                        .hint(format!(
                            "write `{}: append` or `{}: replace`",
                            key.text, key.text
                        )),
                    );
                    return None;
                }
            };
            if !allowed.contains(&key.text.as_str()) {
                self.errors.push(
                    Error::new(
                        &kloc,
                        Some(what),
                        format!(
                            "`{}` cannot be overridden with {}",
                            key.text,
                            how.as_str().unwrap_or("")
                        ),
                    )
                    .hint(format!("keys that can: {}", allowed.join(", "))),
                );
                return None;
            }
            if item.get(&key.text).is_none() {
                self.errors.push(
                    Error::new(
                        &kloc,
                        Some(what),
                        format!(
                            "override names `{}` but the item has no `{}`",
                            key.text, key.text
                        ),
                    )
                    .hint(format!(
                        "add `{}:` with the value to {}",
                        key.text,
                        how.as_str().unwrap_or("merge")
                    )),
                );
                return None;
            }
            merges.push((key.text.clone(), merge));
        }
        let name_key = ["list", "macro", "rule"];
        for (key, _) in item.entries() {
            let k = key.text.as_str();
            if !name_key.contains(&k)
                && k != "override"
                && appendable.iter().chain(replaceable).any(|a| *a == k)
                && !merges.iter().any(|(m, _)| m == k)
            {
                self.errors.push(
                    Error::new(
                        &Loc {
                            file: file.clone(),
                            line: key.pos.line,
                        },
                        Some(what),
                        format!("`{k}` is set but `override` does not say how to merge it"),
                    )
                    .hint(format!(
                        "add `{k}: append` or `{k}: replace` under `override:`"
                    )),
                );
                return None;
            }
        }
        Some(Mode::Merge(merges))
    }

    fn list(&mut self, file: &Arc<str>, item: &Node) {
        let Some(name) = self.name(file, item, "list") else {
            return;
        };
        let what = format!("list '{name}'");
        self.check_keys(file, item, LIST_KEYS, &what);
        let Some(mode) = self.mode(file, item, &what, &["items"], &["items"]) else {
            return;
        };
        let Some(items) = self.strings(file, item, "items", &what) else {
            return;
        };
        let loc = at(file, item);
        match mode {
            Mode::Define => {
                let def = ListDef {
                    name: name.clone(),
                    items,
                };
                define(&mut self.lists, &mut self.list_index, name, def);
            }
            Mode::Merge(merges) => {
                let Some(&i) = self.list_index.get(&name) else {
                    self.errors.push(no_earlier(&loc, &what, "list"));
                    return;
                };
                let list = &mut self.lists[i];
                match merges.first().map(|(_, m)| *m) {
                    Some(Merge::Replace) => list.items = items,
                    _ => list.items.extend(items),
                }
            }
        }
    }

    fn macro_(&mut self, file: &Arc<str>, item: &Node) {
        let Some(name) = self.name(file, item, "macro") else {
            return;
        };
        let what = format!("macro '{name}'");
        self.check_keys(file, item, MACRO_KEYS, &what);
        let Some(mode) = self.mode(file, item, &what, &["condition"], &["condition"]) else {
            return;
        };
        let Some((condition, loc)) = self.text(file, item, "condition", &what, true) else {
            return;
        };
        match mode {
            Mode::Define => {
                let def = MacroDef {
                    name: name.clone(),
                    condition,
                    loc,
                };
                define(&mut self.macros, &mut self.macro_index, name, def);
            }
            Mode::Merge(merges) => {
                let Some(&i) = self.macro_index.get(&name) else {
                    self.errors
                        .push(no_earlier(&at(file, item), &what, "macro"));
                    return;
                };
                let m = &mut self.macros[i];
                match merges.first().map(|(_, m)| *m) {
                    Some(Merge::Replace) => {
                        m.condition = condition;
                        m.loc = loc;
                    }
                    _ => m.condition = format!("{} {}", m.condition, condition),
                }
            }
        }
    }

    fn rule(&mut self, file: &Arc<str>, item: &Node) {
        let Some(name) = self.name(file, item, "rule") else {
            return;
        };
        let what = format!("rule '{name}'");
        self.check_keys(file, item, RULE_KEYS, &what);
        let loc = at(file, item);
        let Some(mode) = self.mode(file, item, &what, RULE_APPENDABLE, RULE_REPLACEABLE) else {
            return;
        };
        // Falco's shorthand: a rule item with nothing but `enabled` switches an earlier rule.
        let only_enabled = item
            .entries()
            .iter()
            .all(|(k, _)| matches!(k.text.as_str(), "rule" | "enabled"));
        if matches!(mode, Mode::Define) && only_enabled && item.get("enabled").is_some() {
            let Some(enabled) = self.flag(file, item, "enabled", &what) else {
                return;
            };
            match self.rule_index.get(&name) {
                Some(&i) => self.rules[i].enabled = enabled,
                None => self.errors.push(no_earlier(&loc, &what, "rule")),
            }
            return;
        }
        match mode {
            Mode::Define => {
                if let Some(def) = self.new_rule(file, item, &name, &what) {
                    define(&mut self.rules, &mut self.rule_index, name, def);
                }
            }
            Mode::Merge(merges) => {
                let Some(&i) = self.rule_index.get(&name) else {
                    self.errors.push(no_earlier(&loc, &what, "rule"));
                    return;
                };
                self.merge_rule(file, item, i, &merges, &what);
            }
        }
    }

    fn new_rule(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        name: &str,
        what: &str,
    ) -> Option<RuleDef> {
        let loc = at(file, item);
        let (condition, cond_loc) = self.text(file, item, "condition", what, true)?;
        let (output, _) = self.text(file, item, "output", what, true)?;
        let (desc, _) = self.text(file, item, "desc", what, true)?;
        let priority = self.priority(file, item, what)?;
        let tags = match item.get("tags") {
            Some(_) => self.strings(file, item, "tags", what)?,
            None => Vec::new(),
        };
        let enabled = match item.get("enabled") {
            Some(_) => self.flag(file, item, "enabled", what)?,
            None => true,
        };
        let skip_if_unknown_filter = match item.get("skip-if-unknown-filter") {
            Some(_) => self.flag(file, item, "skip-if-unknown-filter", what)?,
            None => false,
        };
        let source = match item.get("source") {
            Some(_) => self.text(file, item, "source", what, true)?.0,
            None => "syscall".to_owned(),
        };
        let exceptions = self.exceptions(file, item, what)?;
        Some(RuleDef {
            name: name.to_owned(),
            desc,
            condition,
            output,
            priority,
            tags,
            enabled,
            exceptions,
            source,
            skip_if_unknown_filter,
            loc,
            cond_loc,
        })
    }

    fn merge_rule(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        i: usize,
        merges: &[(String, Merge)],
        what: &str,
    ) {
        for (key, merge) in merges {
            let append = *merge == Merge::Append;
            match key.as_str() {
                "condition" | "output" | "desc" | "source" => {
                    let Some((text, loc)) = self.text(file, item, key, what, true) else {
                        return;
                    };
                    let rule = &mut self.rules[i];
                    let slot = match key.as_str() {
                        "condition" => {
                            rule.cond_loc = loc;
                            &mut rule.condition
                        }
                        "output" => &mut rule.output,
                        "desc" => &mut rule.desc,
                        _ => &mut rule.source,
                    };
                    *slot = if append {
                        format!("{slot} {text}")
                    } else {
                        text
                    };
                }
                "tags" => {
                    let Some(tags) = self.strings(file, item, "tags", what) else {
                        return;
                    };
                    let rule = &mut self.rules[i];
                    if !append {
                        rule.tags.clear();
                    }
                    rule.tags.extend(tags);
                }
                "priority" => {
                    let Some(p) = self.priority(file, item, what) else {
                        return;
                    };
                    self.rules[i].priority = p;
                }
                "enabled" | "skip-if-unknown-filter" => {
                    let Some(b) = self.flag(file, item, key, what) else {
                        return;
                    };
                    let rule = &mut self.rules[i];
                    if key == "enabled" {
                        rule.enabled = b;
                    } else {
                        rule.skip_if_unknown_filter = b;
                    }
                }
                "exceptions" => {
                    let Some(new) = self.exceptions(file, item, what) else {
                        return;
                    };
                    let rule = &mut self.rules[i];
                    if append {
                        merge_exceptions(&mut rule.exceptions, new);
                    } else {
                        rule.exceptions = new;
                    }
                }
                _ => {} // warn_evttypes, capture, capture_duration: accepted, no effect here.
            }
        }
    }

    fn text(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        key: &str,
        what: &str,
        required: bool,
    ) -> Option<(String, Loc)> {
        match item.get(key) {
            Some(v) if v.is_null() => Some((String::new(), at(file, v))),
            Some(v) => match v.as_str() {
                Some(s) => Some((s.to_owned(), at(file, v))),
                None => {
                    self.errors.push(
                        Error::new(&at(file, v), Some(what), format!("`{key}` is not a string"))
                            .hint(format!("write `{key}:` followed by text")),
                    );
                    None
                }
            },
            None if required => {
                self.errors.push(
                    Error::new(&at(file, item), Some(what), format!("missing `{key}`")).hint(
                        format!("add `{key}:`; to change an earlier definition, use `override:`"),
                    ),
                );
                None
            }
            None => Some((String::new(), at(file, item))),
        }
    }

    fn flag(&mut self, file: &Arc<str>, item: &Node, key: &str, what: &str) -> Option<bool> {
        let v = item.get(key)?;
        let b = v.as_bool();
        if b.is_none() {
            self.errors.push(
                Error::new(
                    &at(file, v),
                    Some(what),
                    format!("`{key}` is not true or false"),
                )
                .hint(format!("write `{key}: true` or `{key}: false`")),
            );
        }
        b
    }

    fn priority(&mut self, file: &Arc<str>, item: &Node, what: &str) -> Option<Priority> {
        let (text, loc) = self.text(file, item, "priority", what, true)?;
        let p = Priority::parse(&text);
        if p.is_none() {
            self.errors.push(
                Error::new(&loc, Some(what), format!("unknown priority `{text}`")).hint(
                    "use EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL or DEBUG",
                ),
            );
        }
        p
    }

    fn strings(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        key: &str,
        what: &str,
    ) -> Option<Vec<String>> {
        let v = item.get(key)?;
        if v.is_null() {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        if v.is_seq() {
            for x in v.items() {
                match x.as_str() {
                    Some(s) => out.push(s.to_owned()),
                    None => {
                        self.errors.push(
                            Error::new(
                                &at(file, x),
                                Some(what),
                                format!("an entry of `{key}` is not a string"),
                            )
                            .hint("write each entry as a plain or quoted string"),
                        );
                        return None;
                    }
                }
            }
            return Some(out);
        }
        self.errors.push(
            Error::new(&at(file, v), Some(what), format!("`{key}` is not a list"))
                .hint(format!("write `{key}: [a, b]`")),
        );
        None
    }

    fn exceptions(
        &mut self,
        file: &Arc<str>,
        item: &Node,
        what: &str,
    ) -> Option<Vec<ExceptionDef>> {
        let Some(v) = item.get("exceptions") else {
            return Some(Vec::new());
        };
        if v.is_null() {
            return Some(Vec::new());
        }
        if !v.is_seq() {
            self.errors.push(
                Error::new(&at(file, v), Some(what), "`exceptions` is not a list")
                    .hint("write `exceptions:` followed by `- name: ...` entries"),
            );
            return None;
        }
        let mut out = Vec::new();
        for e in v.items() {
            out.push(self.exception(file, e, what)?);
        }
        Some(out)
    }

    fn exception(&mut self, file: &Arc<str>, e: &Node, what: &str) -> Option<ExceptionDef> {
        let loc = at(file, e);
        let fail = |this: &mut Self, msg: String, hint: &str| {
            this.errors
                .push(Error::new(&loc, Some(what), msg).hint(hint));
            None
        };
        let Some(name) = e.get("name").and_then(Node::as_str).map(str::to_owned) else {
            return fail(
                self,
                "an exception without a name".into(),
                "add `name:` to the exception",
            );
        };
        for (key, _) in e.entries() {
            if !matches!(key.text.as_str(), "name" | "fields" | "comps" | "values") {
                self.warnings.push(Warning {
                    loc: Loc {
                        file: file.clone(),
                        line: key.pos.line,
                    },
                    message: format!(
                        "{what}: exception '{name}': unknown key `{}` ignored",
                        key.text
                    ),
                });
            }
        }
        let (fields, single) = match e.get("fields") {
            Some(f) if f.is_seq() => (
                f.items()
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect::<Vec<_>>(),
                false,
            ),
            Some(f) => match f.as_str() {
                Some(s) => (vec![s.to_owned()], true),
                None => {
                    return fail(
                        self,
                        format!("exception '{name}': `fields` is not a field or a list of fields"),
                        "write `fields: [proc.name, fd.name]`",
                    );
                }
            },
            None => (Vec::new(), false),
        };
        let comps = match e.get("comps") {
            Some(c) if c.is_seq() => c
                .items()
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            Some(c) => match c.as_str() {
                Some(s) => vec![s.to_owned()],
                None => {
                    return fail(
                        self,
                        format!("exception '{name}': `comps` is not an operator or a list"),
                        "write `comps: [=, in]`",
                    );
                }
            },
            // Falco's defaults: `in` for one field, `=` for each of a list.
            None if single => vec!["in".to_owned()],
            None => vec!["=".to_owned(); fields.len()],
        };
        if comps.len() != fields.len() {
            return fail(
                self,
                format!(
                    "exception '{name}': {} fields but {} comps",
                    fields.len(),
                    comps.len()
                ),
                "give one operator in `comps` per entry of `fields`",
            );
        }
        let values = match e.get("values") {
            Some(v) if v.is_seq() => v.items().iter().map(ex_value).collect::<Option<Vec<_>>>(),
            Some(v) if v.is_null() => Some(Vec::new()),
            None => Some(Vec::new()),
            Some(_) => None,
        };
        let Some(values) = values else {
            return fail(
                self,
                format!("exception '{name}': `values` is not a list of values"),
                "write `values: [[a, b], [c, d]]`, one tuple per exception",
            );
        };
        Some(ExceptionDef {
            name,
            fields,
            single,
            comps,
            values,
            loc,
        })
    }
}

fn ex_value(node: &Node) -> Option<ExValue> {
    if node.is_seq() {
        return node
            .items()
            .iter()
            .map(ex_value)
            .collect::<Option<Vec<_>>>()
            .map(ExValue::List);
    }
    node.as_str().map(|s| ExValue::Str(s.to_owned()))
}

/// Appending exceptions: values join an exception of the same name, others are added.
fn merge_exceptions(existing: &mut Vec<ExceptionDef>, new: Vec<ExceptionDef>) {
    for e in new {
        match existing.iter_mut().find(|x| x.name == e.name) {
            Some(x) => x.values.extend(e.values),
            None => existing.push(e),
        }
    }
}

/// Adds or replaces (in place, keeping the first definition's order) a named item.
fn define<T>(items: &mut Vec<T>, index: &mut HashMap<String, usize>, name: String, def: T) {
    match index.get(&name) {
        Some(&i) => items[i] = def,
        None => {
            index.insert(name, items.len());
            items.push(def);
        }
    }
}

fn no_earlier(loc: &Loc, what: &str, kind: &str) -> Error {
    Error::new(
        loc,
        Some(what),
        format!("nothing to append to or override: no earlier {kind} of that name"),
    )
    .hint(format!(
        "define the {kind} first (an earlier file or item), or drop `append`/`override`"
    ))
}

/// A rules file over [`MAX_FILE_BYTES`].
pub(crate) fn too_large(file: &Arc<str>, bytes: u64) -> Error {
    Error::new(
        &Loc {
            file: file.clone(),
            line: 0,
        },
        None,
        format!(
            "the file is {}, more than the {} MiB a rules file may have",
            mib(bytes),
            MAX_FILE_BYTES >> 20
        ),
    )
    .hint(
        "check that this is a rules file; split a large ruleset into several files, which \
         load in the order given as one ruleset",
    )
}

/// `20.0 MiB`, `512 KiB`, `300 bytes`.
fn mib(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

fn at(file: &Arc<str>, node: &Node) -> Loc {
    Loc {
        file: file.clone(),
        line: node.pos.line,
    }
}
