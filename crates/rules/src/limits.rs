//! The bounds on what loading rules may cost, whatever the input. Each is far above what real
//! rules need (haechi's defaults and Falco's stable ruleset together compile to 2,261 nodes and
//! an index of 1,797 entries; Falco's stable and sandbox rulesets to 5,505 and 4,033); passing
//! one is an
//! [`crate::Error`] that names it, or for the event-type index a [`crate::Warning`], never a
//! silent truncation. docs/rules.md states them, generated from these constants.

/// Largest rules file, in bytes (Falco's largest stable file is under 100 KiB).
pub const MAX_FILE_BYTES: usize = 8 << 20;

/// Most YAML nodes in one rules document, counting each copy an alias makes.
pub const MAX_YAML_NODES: usize = 1_000_000;

/// Deepest nesting of YAML sequences and mappings in a rules file.
pub const MAX_YAML_DEPTH: usize = 64;

/// Deepest nesting of parentheses, `not`s and transformers in one condition.
pub const MAX_CONDITION_NESTING: usize = 256;

/// Longest chain of macros using macros, and of lists naming lists.
pub const MAX_EXPANSION_CHAIN: usize = 64;

/// Most nodes all compiled conditions may hold together, macros and lists expanded: each
/// `and`, `or`, `not` and test counts one, each value of an expanded list one more. Each macro
/// and list is expanded once and its result copied where it is used; the copies count.
pub const MAX_COMPILED_SIZE: usize = 4_000_000;

/// Deepest nesting of a compiled condition, macros expanded (evaluation recurses this deep).
pub const MAX_COMPILED_DEPTH: usize = 512;

/// Most entries the index by event type may hold: each rule once per event type it can match
/// (rules that may match any type count once per type), plus the nodes of each condition
/// specialized for its type. Past it, rules are evaluated unindexed (slower, same alerts) and
/// the report warns.
pub const MAX_INDEX_SIZE: usize = 4_000_000;

/// `4000000` as `4,000,000`, as messages and docs write the limits.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
