//! Falco's rule language for haechi: load, compile, evaluate.
//!
//! This crate owns the rules format (Falco's YAML `list`, `macro` and `rule` items with
//! `append`/`override` and exceptions, [`Loader`]), the condition language ([`parse`]), the
//! catalogue of fields a condition may name ([`fields`]), their compiled form and evaluation
//! against events ([`Event`], [`Ruleset`]) and alerts in Falco's JSON shape ([`Alert`]), whose
//! [`Priority`] stays Falco's and maps onto haechi's report scale only where a report rates
//! alerts beside findings ([`Priority::severity`]). It does not produce events, watch the
//! kernel or deliver alerts: the agent feeds it events and the binary prints what it returns.
//!
//! The design decision that shapes it: everything that depends on the rules is done once, at
//! compile time. Macros and lists are expanded, field names resolved to [`Key`]s, values parsed to
//! the field's type and operators built into matchers (hash sets for `in`, substring finders,
//! globs, anchored regexes), and rules indexed by the event types they can match, each condition
//! specialized for the type (its tests of `evt.type` decided). Evaluating an event then reads
//! fields by pre-resolved key, tests only the rules indexed under its `evt.type`, and allocates
//! nothing unless a transformer has to build a new string.
//!
//! A field Falco has but haechi cannot evaluate makes its rule *unsupported*: reported by name
//! with what it needs, left out, and the rest still loads; [`Options::strict`] makes it an error.
pub mod alert;
pub mod ast;
mod compile;
mod error;
mod eval;
pub mod fields;
mod hash;
pub mod limits;
mod load;
mod output;
pub mod parse;
mod paths;
pub mod replay;
mod rule;
mod ruleset;

/// haechi's default rules (`rules/haechi_rules.yaml`), embedded in the binary.
pub const DEFAULT_RULES: &str = include_str!("../../../rules/haechi_rules.yaml");

/// The name [`DEFAULT_RULES`] goes by in errors and alerts.
pub const DEFAULT_RULES_NAME: &str = "haechi_rules.yaml";

pub use alert::{Alert, Priority};
pub use error::{Error, Errors, Loc, Warning};
pub use eval::{Event, Key, Val, json_val};
pub use rule::{Rule, Unsupported};
pub use ruleset::{Loader, Options, Report, Ruleset};
