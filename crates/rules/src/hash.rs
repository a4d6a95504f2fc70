//! The hash behind the engine's string sets (`in` lists, `pmatch` prefixes, the event-type
//! index): foldhash's fast hasher, several times faster than the standard SipHash on the short
//! strings events carry. SipHash's resistance to flooding is not needed: these tables are built
//! once from the rules and only looked up with event values, so what an event contains cannot
//! lengthen any probe sequence.

use std::collections::{HashMap, HashSet};

/// A set of strings looked up by event values.
pub(crate) type StrSet = HashSet<Box<str>, foldhash::fast::RandomState>;

/// A map looked up by event values.
pub(crate) type StrMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;
