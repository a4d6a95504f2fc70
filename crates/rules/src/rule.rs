//! A compiled rule, and a rule left out: what the compiler produces and the ruleset indexes.

use std::sync::Arc;

use crate::alert::Priority;
use crate::error::Loc;
use crate::eval::Node;
use crate::output::Template;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name.
    pub name: String,
    /// Its description.
    pub desc: String,
    /// Its priority.
    pub priority: Priority,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its event source.
    pub source: String,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// Where it is defined.
    pub loc: Loc,
    pub(crate) cond: Arc<Node>,
    pub(crate) output: Template,
}

/// A rule left out because it needs what haechi cannot evaluate yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The rule's name.
    pub rule: String,
    /// Where it is defined.
    pub loc: Loc,
    /// What it needs, one entry per field, operator or source.
    pub constructs: Vec<String>,
}
