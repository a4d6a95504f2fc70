//! The rules the agent runs: loaded ([`load`]: haechi's defaults, then the user's files) and
//! evaluated straight on each event: a [`View`] answers the rule engine's field look-ups from
//! the event and its context, through the fields each rules key resolved to when the rules
//! loaded. Nothing is built for fields the rules never ask for.

use std::path::PathBuf;

use haechi_events::Event;
use haechi_rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, Errors, Key, Loader, Options, Ruleset, Val};

use crate::fields::{Context, Field, value};

/// haechi's default rules (unless `no_default_rules`), then `files` in order (later files
/// override and append to earlier ones); `None` when that is no rules at all. What the rules
/// use that haechi cannot evaluate is left out, and listed in the ruleset's report.
pub fn load(no_default_rules: bool, files: &[PathBuf]) -> Result<Option<Ruleset>, Errors> {
    if no_default_rules && files.is_empty() {
        return Ok(None);
    }
    let mut loader = Loader::new();
    if !no_default_rules {
        loader.add_source(DEFAULT_RULES_NAME, DEFAULT_RULES);
    }
    for path in files {
        loader.add_file(path);
    }
    loader.compile(Options::default()).map(Some)
}

/// A ruleset with each of its keys resolved to the agent's field (`None` for a field the agent
/// never fills in, which is then missing from every event).
#[derive(Debug)]
pub struct Rules {
    set: Ruleset,
    fields: Box<[Option<Field>]>,
}

impl Rules {
    /// Resolves every key of `set`, once.
    pub fn new(set: Ruleset) -> Rules {
        let fields = set.keys().iter().map(|k| Field::parse(k.name())).collect();
        Rules { set, fields }
    }

    /// The compiled rules.
    pub fn set(&self) -> &Ruleset {
        &self.set
    }

    /// `event` as these rules read it.
    pub fn view<'a>(&'a self, event: &'a Event, cx: &'a Context<'a>) -> View<'a> {
        View {
            event,
            cx,
            fields: &self.fields,
        }
    }
}

/// One event as a [`haechi_rules::Event`], for the ruleset it was made by.
pub struct View<'a> {
    event: &'a Event,
    cx: &'a Context<'a>,
    fields: &'a [Option<Field>],
}

impl haechi_rules::Event for View<'_> {
    fn get(&self, key: &Key) -> Option<Val<'_>> {
        let field = (*self.fields.get(key.id())?)?;
        value(field, self.event, self.cx)?.into_val()
    }
}
