//! The condition parser: a scanner and a recursive-descent parser in one, because Falco's
//! tokens depend on context (`<` is an operator after a field and a bare value after `=`, and
//! `runc:[0:PARENT]` is one bare list item).
//!
//! Grammar, following libsinsp's filter parser:
//!
//! ```text
//! expr     := and ('or' and)*
//! and      := not ('and' not)*
//! not      := 'not' not | '(' expr ')' | MACRO | operand OP [value | list]
//! operand  := FIELD ['[' arg ']'] | TRANSFORMER '(' operand ')'
//! value    := QUOTED | BARE | 'val(' operand ')' | TRANSFORMER '(' operand ')'
//! list     := '(' [value (',' value)*] ')' | LISTNAME
//! ```
//!
//! `not` binds tighter than `and`, which binds tighter than `or`.

use crate::ast::{Check, Expr, FieldName, Op, Operand, Rhs, Transformer, Value};

/// Deepest nesting of parentheses, `not`s and transformers the parser accepts.
const MAX_DEPTH: usize = crate::limits::MAX_CONDITION_NESTING;

/// A syntax error and the byte offset it was found at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at offset {offset})")]
pub struct ParseError {
    /// Byte offset in the condition.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a condition.
pub fn parse_condition(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let expr = p.or_expr()?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error(format!("unexpected `{}`", p.rest_preview())));
    }
    Ok(expr)
}

/// Parses a field reference as written after `%` in an output or in an exception's `fields`:
/// returns the field and how many bytes it took.
pub fn parse_field_prefix(src: &str) -> Option<(FieldName, usize)> {
    let mut p = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
    };
    // A sentence may end right after the field: `%proc.name.` names `proc.name`.
    let word = p.word().trim_end_matches('.');
    p.pos = word.len();
    if !word.contains('.') {
        return None;
    }
    let field = p.field_arg(word).ok()?;
    Some((field, p.pos))
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// Bytes that end a bare value: Falco's `[^()"'[:space:]=,]`.
fn ends_bare(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') || b.is_ascii_whitespace()
}

impl<'a> Parser<'a> {
    fn error(&self, message: String) -> ParseError {
        ParseError {
            offset: self.pos,
            message,
        }
    }

    fn rest_preview(&self) -> String {
        self.src[self.pos..].chars().take(24).collect()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// A word of letters, digits, `_` and `.`, starting with a letter; empty when none is here.
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        if self.peek().is_some_and(is_word_start) {
            while self.peek().is_some_and(is_word_byte) {
                self.pos += 1;
            }
        }
        &self.src[start..self.pos]
    }

    /// Consumes `keyword` when it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        self.skip_ws();
        let save = self.pos;
        if self.word() == keyword {
            return true;
        }
        self.pos = save;
        false
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and_expr()?];
        while self.keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.not_expr()?];
        while self.keyword("and") {
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        let mut negations = 0usize;
        while self.keyword("not") {
            negations += 1;
        }
        // `not not x` is `x`: only the parity matters, and deep `Not` chains would cost stack.
        let expr = self.primary()?;
        Ok(if negations % 2 == 1 {
            Expr::Not(Box::new(expr))
        } else {
            expr
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        if self.peek() == Some(b'(') {
            self.enter()?;
            self.pos += 1;
            let expr = self.or_expr()?;
            self.skip_ws();
            if self.peek() != Some(b')') {
                return Err(self.error("expected `)`".into()));
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(expr);
        }
        let at = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(match self.peek() {
                None => self.error("expected a field, a macro or `(`, found the end".into()),
                Some(_) => self.error(format!(
                    "expected a field, a macro or `(`, found `{}`",
                    self.rest_preview()
                )),
            });
        }
        if matches!(word, "and" | "or") {
            self.pos = at;
            return Err(self.error(format!("`{word}` needs an expression before it")));
        }
        let lhs = if self.peek() == Some(b'(') && !word.contains('.') {
            self.transformer(word)?
        } else if word.contains('.') {
            Operand::Field(self.field_arg(word)?)
        } else {
            return Ok(Expr::Macro {
                name: word.to_owned(),
                at,
            });
        };
        let (op, rhs) = self.condition(&lhs)?;
        Ok(Expr::Check(Check { lhs, op, rhs, at }))
    }

    /// After a field's name: its optional `[arg]`.
    fn field_arg(&mut self, name: &str) -> Result<FieldName, ParseError> {
        if name.ends_with('.') || name.contains("..") {
            return Err(self.error(format!("`{name}` is not a field name")));
        }
        let mut arg = None;
        if self.peek() == Some(b'[') {
            self.pos += 1;
            let text = if matches!(self.peek(), Some(b'"' | b'\'')) {
                self.quoted()?
            } else {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    !matches!(b, b']' | b'[' | b'"' | b'\'') && !b.is_ascii_whitespace()
                }) {
                    self.pos += 1;
                }
                self.src[start..self.pos].to_owned()
            };
            if self.peek() != Some(b']') {
                return Err(self.error(format!("expected `]` after the argument of `{name}`")));
            }
            self.pos += 1;
            arg = Some(text);
        }
        Ok(FieldName {
            name: name.to_owned(),
            arg,
        })
    }

    /// `name(` has been seen: a transformer application.
    fn transformer(&mut self, name: &str) -> Result<Operand, ParseError> {
        let Some(t) = Transformer::from_name(name) else {
            return Err(self.error(format!(
                "unknown transformer `{name}`; known: tolower, toupper, b64, basename, len"
            )));
        };
        self.enter()?;
        self.pos += 1; // `(`
        let inner = self.operand()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.error(format!("expected `)` to close `{name}(`")));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(Operand::Transform(t, Box::new(inner)))
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        self.skip_ws();
        let word = self.word();
        if self.peek() == Some(b'(') && !word.contains('.') && !word.is_empty() {
            return self.transformer(word);
        }
        if !word.contains('.') {
            return Err(self.error(format!(
                "expected a field name, found `{}`",
                if word.is_empty() {
                    self.rest_preview()
                } else {
                    word.to_owned()
                }
            )));
        }
        Ok(Operand::Field(self.field_arg(word)?))
    }

    fn operator(&mut self, lhs: &Operand) -> Result<Op, ParseError> {
        self.skip_ws();
        let symbols: [(&str, Op); 7] = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (text, op) in symbols {
            if self.src[self.pos..].starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if word.is_empty() {
            return Err(self.error(format!("expected an operator after `{}`", lhs.field())));
        }
        match Op::WORDS.iter().find(|(n, _)| *n == word) {
            Some((_, op)) => Ok(*op),
            None => {
                self.pos = start;
                Err(self.error(format!(
                    "unknown operator `{word}` after `{}`; known: =, !=, <, <=, >, >=, {}",
                    lhs.field(),
                    Op::WORDS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }

    fn condition(&mut self, lhs: &Operand) -> Result<(Op, Rhs), ParseError> {
        let op = self.operator(lhs)?;
        if op == Op::Exists {
            return Ok((op, Rhs::None));
        }
        self.skip_ws();
        if op.takes_list() {
            if self.peek() == Some(b'(') {
                return Ok((op, Rhs::List(self.list()?)));
            }
            // A list by name without parentheses.
            let start = self.pos;
            let word = self.word();
            if word.is_empty() || word.contains('.') {
                self.pos = start;
                return Err(self.error(format!("`{}` needs a list: `(a, b)`", op.name())));
            }
            return Ok((
                op,
                Rhs::List(vec![Value {
                    text: word.to_owned(),
                    quoted: false,
                }]),
            ));
        }
        // `val(field)` or `transformer(field)` compares two fields.
        let save = self.pos;
        let word = self.word();
        if self.peek() == Some(b'(') && !word.contains('.') {
            if word == "val" {
                self.enter()?;
                self.pos += 1;
                let field = self.operand()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(self.error("expected `)` to close `val(`".into()));
                }
                self.pos += 1;
                self.depth -= 1;
                return Ok((op, Rhs::Field(field)));
            }
            if Transformer::from_name(word).is_some() {
                return Ok((op, Rhs::Field(self.transformer(word)?)));
            }
        }
        self.pos = save;
        match self.value()? {
            Some(v) => Ok((op, Rhs::Value(v))),
            None => Err(self.error(format!("`{}` needs a value", op.name()))),
        }
    }

    /// `(a, b, "c d")`, the opening parenthesis next.
    fn list(&mut self) -> Result<Vec<Value>, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(b',') if !items.is_empty() => {
                    self.pos += 1;
                    continue;
                }
                None => return Err(self.error("expected `)` to close the list".into())),
                _ => {}
            }
            match self.value()? {
                Some(v) => items.push(v),
                None => {
                    return Err(
                        self.error(format!("unexpected `{}` in a list", self.rest_preview()))
                    );
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',' | b')') => {}
                None => return Err(self.error("expected `)` to close the list".into())),
                Some(_) => {
                    return Err(self.error(format!(
                        "expected `,` or `)` in a list, found `{}`",
                        self.rest_preview()
                    )));
                }
            }
        }
    }

    /// A quoted or bare value; `None` when neither starts here.
    fn value(&mut self) -> Result<Option<Value>, ParseError> {
        match self.peek() {
            Some(b'"' | b'\'') => Ok(Some(Value {
                text: self.quoted()?,
                quoted: true,
            })),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|b| !ends_bare(b)) {
                    self.pos += 1;
                }
                Ok((self.pos > start).then(|| Value {
                    text: self.src[start..self.pos].to_owned(),
                    quoted: false,
                }))
            }
        }
    }

    /// A quoted string with backslash escapes, the quote next.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let quote = self.bytes[self.pos];
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        while let Some(b) = self.peek() {
            if b == quote {
                out.push_str(&self.src[run..self.pos]);
                self.pos += 1;
                return Ok(out);
            }
            if b == b'\\' {
                out.push_str(&self.src[run..self.pos]);
                self.pos += 1;
                let escaped = match self.peek() {
                    Some(b'n') => "\n",
                    Some(b't') => "\t",
                    Some(b'r') => "\r",
                    Some(b'b') => "\u{8}",
                    Some(b'f') => "\u{c}",
                    Some(b'\\') => "\\",
                    Some(b'"') => "\"",
                    Some(b'\'') => "'",
                    _ => "\\",
                };
                if escaped != "\\" || self.peek() == Some(b'\\') {
                    self.pos += 1;
                }
                out.push_str(escaped);
                run = self.pos;
                continue;
            }
            self.pos += 1;
        }
        self.pos = start;
        Err(self.error("unterminated string".into()))
    }
}

/// Unquotes a list item written with its quotes (`'"sh -c"'` in YAML), as Falco did when it
/// pasted list items into condition text.
pub fn unquote_item(item: &str) -> String {
    let b = item.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'"' | b'\'') && b[b.len() - 1] == b[0] {
        let mut p = Parser {
            src: item,
            bytes: b,
            pos: 0,
            depth: 0,
        };
        if let Ok(text) = p.quoted()
            && p.pos == b.len()
        {
            return text;
        }
    }
    item.to_owned()
}
