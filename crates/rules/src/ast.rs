//! The syntax tree of a condition, before macros and lists are expanded.

use std::fmt;

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of these.
    And(Vec<Expr>),
    /// Any of these.
    Or(Vec<Expr>),
    /// The negation.
    Not(Box<Expr>),
    /// A macro by name; `at` is its byte offset in the condition.
    Macro {
        /// Macro name.
        name: String,
        /// Byte offset in the condition text.
        at: usize,
    },
    /// A test of a field.
    Check(Check),
}

/// `operand op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What is tested.
    pub lhs: Operand,
    /// How.
    pub op: Op,
    /// Against what.
    pub rhs: Rhs,
    /// Byte offset of the operand in the condition text.
    pub at: usize,
}

/// A field, possibly transformed (`tolower(proc.name)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field.
    Field(FieldName),
    /// A transformer applied to an operand.
    Transform(Transformer, Box<Operand>),
}

impl Operand {
    /// The field under the transformers.
    pub fn field(&self) -> &FieldName {
        match self {
            Operand::Field(f) => f,
            Operand::Transform(_, inner) => inner.field(),
        }
    }
}

/// A field name as written: `proc.aname[2]` is `proc.aname` with the argument `2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldName {
    /// The name without its bracketed argument.
    pub name: String,
    /// The bracketed argument.
    pub arg: Option<String>,
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(arg) => write!(f, "{}[{arg}]", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Field transformers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformer {
    /// ASCII lower case.
    ToLower,
    /// ASCII upper case.
    ToUpper,
    /// Base64 decoding.
    B64,
    /// The last path component.
    Basename,
    /// Length in bytes.
    Len,
}

impl Transformer {
    /// Every transformer with its name.
    pub const ALL: &[(&'static str, Transformer)] = &[
        ("tolower", Transformer::ToLower),
        ("toupper", Transformer::ToUpper),
        ("b64", Transformer::B64),
        ("basename", Transformer::Basename),
        ("len", Transformer::Len),
    ];

    /// The transformer called `name`.
    pub fn from_name(name: &str) -> Option<Transformer> {
        Transformer::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    /// Its name in conditions.
    pub fn name(self) -> &'static str {
        Transformer::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    IStartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Pmatch,
    In,
    Intersects,
    Exists,
    Regex,
}

impl Op {
    /// Operators spelled as words, with their names.
    pub const WORDS: &[(&'static str, Op)] = &[
        ("contains", Op::Contains),
        ("icontains", Op::IContains),
        ("bcontains", Op::BContains),
        ("startswith", Op::StartsWith),
        ("istartswith", Op::IStartsWith),
        ("bstartswith", Op::BStartsWith),
        ("endswith", Op::EndsWith),
        ("glob", Op::Glob),
        ("iglob", Op::IGlob),
        ("pmatch", Op::Pmatch),
        ("in", Op::In),
        ("intersects", Op::Intersects),
        ("exists", Op::Exists),
        ("regex", Op::Regex),
    ];

    /// Whether the operator takes a list of values.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::Pmatch)
    }

    /// How the operator is written.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            other => Op::WORDS
                .iter()
                .find(|(_, o)| *o == other)
                .map_or("?", |(n, _)| n),
        }
    }
}

/// A value: its text and whether it was quoted (an unquoted list item may name a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text, escapes processed.
    pub text: String,
    /// Whether it was quoted.
    pub quoted: bool,
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// None (`exists`).
    None,
    /// One value.
    Value(Value),
    /// `(a, b, "c d")`.
    List(Vec<Value>),
    /// Another field: `val(proc.pname)` or a transformed field.
    Field(Operand),
}
