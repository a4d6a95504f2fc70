//! The positioned value tree.

use std::fmt;

/// A position in a source text: 1-based line and column. `Pos::UNKNOWN` (0, 0) marks nodes that
/// did not come from a text, such as those converted from JSON values received over the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
}

impl Pos {
    /// The position of a node that has no source text.
    pub const UNKNOWN: Pos = Pos { line: 0, column: 0 };

    /// A known position.
    pub fn new(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    /// Whether this position points into a source text.
    pub fn is_known(self) -> bool {
        self.line != 0
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The type a scalar resolved to (YAML 1.1 booleans included, as Kubernetes reads them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarKind {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// `true`/`false` and the YAML 1.1 spellings `yes`/`no`/`on`/`off`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str,
}

/// A scalar: its source text and what it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text after YAML escape processing.
    pub text: String,
    /// The resolved type.
    pub kind: ScalarKind,
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key's text.
    pub text: String,
    /// Where the key starts.
    pub pos: Pos,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Lookups take the last of duplicate keys, as Kubernetes does.
    Map(Vec<(Key, Node)>),
}

/// A value and where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub value: Value,
}

impl Node {
    /// A node without a source position.
    pub fn new(value: Value) -> Node {
        Node {
            pos: Pos::UNKNOWN,
            value,
        }
    }

    /// A `null` node.
    pub fn null() -> Node {
        Node::new(Value::Scalar(Scalar {
            text: String::new(),
            kind: ScalarKind::Null,
        }))
    }

    /// Looks up a mapping key; `None` when absent or when this is not a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Looks up a mapping key and returns the key (for its position) with the value.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.text == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The entries of a mapping; empty for anything else.
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence; empty for anything else.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The text of any scalar that is not null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            }) => None,
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// The value of a boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(Scalar {
                kind: ScalarKind::Bool(b),
                ..
            }) => Some(*b),
            _ => None,
        }
    }

    /// The value of an integer scalar.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar(Scalar {
                kind: ScalarKind::Int(i),
                ..
            }) => Some(*i),
            _ => None,
        }
    }

    /// Whether this is `null` (or an empty plain scalar).
    pub fn is_null(&self) -> bool {
        matches!(
            &self.value,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            })
        )
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// Whether this is a sequence.
    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    /// The number of nodes in this tree, keys not counted.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|(_, v)| v.size()).sum(),
        }
    }
}
