//! Building [`Node`] trees from parser events, with bounds on depth and alias expansion.

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use crate::node::{Key, Node, Pos, Scalar, ScalarKind, Value};

/// Bounds on what one document may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes in one document, counting every copy an alias makes.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 128,
            max_nodes: 1_000_000,
        }
    }
}

/// A document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    /// 1-based line of the error.
    pub line: u32,
    /// 1-based column of the error.
    pub column: u32,
    /// What went wrong.
    pub message: String,
}

/// Parses every document of a YAML (or JSON) stream.
///
/// A syntax error ends its document, not the stream: the parser resumes at the next `---`, so one
/// broken document in a multi-document file does not hide the others. Empty documents are
/// returned as `null` nodes.
pub fn parse_documents(source: &str, limits: &Limits) -> Vec<Result<Node, ParseError>> {
    parse_documents_at(source, 1, limits)
}

/// Like [`parse_documents`], for a `source` that starts at line `first_line` of a larger text
/// (one document cut out of a stream): positions are reported in the larger text's lines.
pub fn parse_documents_at(
    source: &str,
    first_line: u32,
    limits: &Limits,
) -> Vec<Result<Node, ParseError>> {
    let line_offset = first_line.saturating_sub(1);
    let mut options = Options::default();
    options.set_emit_comments(false);
    let mut parser = Parser::new_from_str_with_options(source, options);
    let mut documents = Vec::new();
    let mut builder = Builder::new(*limits, line_offset);
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((event, span))) => {
                if let Some(done) = builder.event(event, span) {
                    documents.push(done);
                }
            }
            Some(Err(err)) => {
                let mark = err.marker();
                documents.push(Err(ParseError {
                    line: to_u32(mark.line()).saturating_add(line_offset),
                    column: to_u32(mark.col() + 1),
                    message: err.info().to_string(),
                }));
                builder = Builder::new(*limits, line_offset);
                match parser.proceed_next_document() {
                    Ok(true) => continue,
                    Ok(false) | Err(_) => break,
                }
            }
        }
    }
    documents
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn pos_of(span: &Span, line_offset: u32) -> Pos {
    Pos::new(
        to_u32(span.start.line()).saturating_add(line_offset),
        to_u32(span.start.col() + 1),
    )
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        merges: Vec<Node>,
    },
}

struct Builder {
    limits: Limits,
    line_offset: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    /// How many of `nodes` are copies aliases made.
    alias_nodes: usize,
    root: Option<Node>,
    failure: Option<ParseError>,
}

impl Builder {
    fn new(limits: Limits, line_offset: u32) -> Builder {
        Builder {
            limits,
            line_offset,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            alias_nodes: 0,
            root: None,
            failure: None,
        }
    }

    /// Feeds one event; returns a finished document at its end.
    fn event(&mut self, event: Event<'_>, span: Span) -> Option<Result<Node, ParseError>> {
        if let Event::DocumentEnd = event {
            let result = match self.failure.take() {
                Some(err) => Err(err),
                None => Ok(self.root.take().unwrap_or_else(Node::null)),
            };
            *self = Builder::new(self.limits, self.line_offset);
            return Some(result);
        }
        if self.failure.is_some() {
            return None;
        }
        if let Err(err) = self.try_event(event, span) {
            self.failure = Some(err);
            self.stack.clear();
            self.anchors.clear();
        }
        None
    }

    fn try_event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        let pos = pos_of(&span, self.line_offset);
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let kind = if style == ScalarStyle::Plain {
                    resolve_plain(&text)
                } else {
                    ScalarKind::Str
                };
                let node = Node {
                    pos,
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        kind,
                    }),
                };
                self.count(1, pos)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                Ok(())
            }
            Event::MappingStart(_, anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        pos, anchor, items, ..
                    } => (
                        Node {
                            pos,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        merges,
                        ..
                    } => {
                        apply_merges(&mut entries, merges);
                        (
                            Node {
                                pos,
                                value: Value::Map(entries),
                            },
                            anchor,
                        )
                    }
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(error(pos, "alias to an unknown anchor"));
                };
                let mut copy = target.clone();
                self.alias_nodes = self.alias_nodes.saturating_add(copy.size());
                self.count(copy.size(), pos)?;
                copy.pos = pos;
                self.push_node(copy)
            }
            _ => Ok(()),
        }
    }

    fn open(&mut self, pos: Pos) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(error(
                pos,
                &format!(
                    "nesting deeper than {} levels; a Kubernetes object is never this deep",
                    self.limits.max_depth
                ),
            ));
        }
        self.count(1, pos)
    }

    fn count(&mut self, added: usize, pos: Pos) -> Result<(), ParseError> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > self.limits.max_nodes {
            // Name what passed the limit: copies made by aliases, or the document's own size.
            let message = if self.alias_nodes.saturating_mul(2) >= self.nodes {
                format!(
                    "aliases expand the document to more than {} nodes (an alias expansion bomb?)",
                    self.limits.max_nodes
                )
            } else {
                format!(
                    "the document has more than {} nodes, the most one document may have; \
                     split it into several documents or files",
                    self.limits.max_nodes
                )
            };
            return Err(error(pos, &message));
        }
        Ok(())
    }

    /// Places a finished node into its parent (as a key, a value or an item) or as the root.
    fn push_node(&mut self, node: Node) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                None => {
                    let Value::Scalar(scalar) = node.value else {
                        return Err(error(
                            node.pos,
                            "a mapping or sequence used as a key; is this an unrendered template \
                             (`{{ value }}`)? Render it first (helm template … | haechi scan -)",
                        ));
                    };
                    *key = Some(Key {
                        text: scalar.text,
                        pos: node.pos,
                    });
                }
                Some(k) if k.text == "<<" => merges.push(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// YAML merge keys (`<<: *base`): merged entries never override the mapping's own keys, and an
/// earlier merge source wins over a later one.
fn apply_merges(entries: &mut Vec<(Key, Node)>, merges: Vec<Node>) {
    for merge in merges {
        let sources: Vec<Node> = match merge.value {
            Value::Seq(items) => items,
            _ => vec![merge],
        };
        for source in sources {
            if let Value::Map(merged) = source.value {
                for (k, v) in merged {
                    if !entries.iter().any(|(e, _)| e.text == k.text) {
                        entries.push((k, v));
                    }
                }
            }
        }
    }
}

fn error(pos: Pos, message: &str) -> ParseError {
    ParseError {
        line: pos.line,
        column: pos.column,
        message: message.to_string(),
    }
}

/// Resolves a plain scalar as Kubernetes' YAML decoder does (YAML 1.1 booleans, core-schema
/// numbers and nulls).
fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return ScalarKind::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return ScalarKind::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return ScalarKind::Str;
    }
    let unsigned = text.trim_start_matches(['-', '+']);
    let negative = text.starts_with('-');
    let radix_int = |digits: &str, radix| {
        i64::from_str_radix(digits, radix)
            .ok()
            .map(|i| if negative { -i } else { i })
    };
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return radix_int(hex, 16).map_or(ScalarKind::Str, ScalarKind::Int);
    }
    if let Some(oct) = unsigned.strip_prefix("0o") {
        return radix_int(oct, 8).map_or(ScalarKind::Str, ScalarKind::Int);
    }
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_or(ScalarKind::Str, ScalarKind::Int);
    }
    let looks_float = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return ScalarKind::Float(f);
    }
    ScalarKind::Str
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        let mut docs = parse_documents(src, &Limits::default());
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0).expect("parses")
    }

    #[test]
    fn keys_and_values_carry_positions() {
        let doc = one("kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\n");
        let (key, value) = doc.entry("spec").unwrap();
        assert_eq!(key.pos, Pos::new(2, 1));
        let container = &value.get("containers").unwrap().items()[0];
        assert_eq!(container.pos, Pos::new(4, 5));
        assert_eq!(container.entry("image").unwrap().0.pos, Pos::new(5, 5));
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let doc = one("a: yes\nb: 'yes'\nc: 0x10\nd: 1.5\ne: ~\nf: 007\ng: on\n");
        assert_eq!(doc.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(doc.get("b").unwrap().as_bool(), None);
        assert_eq!(doc.get("b").unwrap().as_str(), Some("yes"));
        assert_eq!(doc.get("c").unwrap().as_i64(), Some(16));
        assert_eq!(doc.get("d").unwrap().to_json(), serde_json::json!(1.5));
        assert!(doc.get("e").unwrap().is_null());
        assert_eq!(doc.get("f").unwrap().as_i64(), Some(7));
        assert_eq!(doc.get("g").unwrap().as_str(), Some("on"));
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next() {
        let docs = parse_documents("a: 1\n---\nb: [1, 2\n---\nc: 3\n", &Limits::default());
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert!(docs[0].is_ok());
        let err = docs[1].as_ref().unwrap_err();
        assert!(err.line >= 3, "{err}");
        assert_eq!(
            docs[2].as_ref().unwrap().get("c").unwrap().as_i64(),
            Some(3)
        );
    }

    #[test]
    fn documents_cut_from_a_stream_keep_stream_lines() {
        let docs = parse_documents_at("a: 1\nb: [\n", 10, &Limits::default());
        assert_eq!(docs[0].as_ref().unwrap_err().line, 11);
        let docs = parse_documents_at("a:\n  b: 1\n", 10, &Limits::default());
        assert_eq!(
            docs[0]
                .as_ref()
                .unwrap()
                .get("a")
                .unwrap()
                .entry("b")
                .unwrap()
                .0
                .pos,
            Pos::new(11, 3)
        );
    }

    #[test]
    fn json_is_read_with_positions() {
        let doc = one("{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"hostPID\": true}\n}\n");
        assert_eq!(
            doc.path(&["spec", "hostPID"]).unwrap().as_bool(),
            Some(true)
        );
        assert_eq!(doc.entry("kind").unwrap().0.pos.line, 2);
    }

    #[test]
    fn merge_keys_fill_in_without_overriding() {
        let doc = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = doc.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(m.get("y").unwrap().as_i64(), Some(3));
        assert!(m.get("<<").is_none());
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let docs = parse_documents(&src, &Limits::default());
        let err = docs[0].as_ref().unwrap_err();
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn large_documents_name_the_node_limit_not_aliases() {
        let src = format!("[{}x]", "x, ".repeat(2000));
        let limits = Limits {
            max_nodes: 1000,
            ..Limits::default()
        };
        let docs = parse_documents(&src, &limits);
        let err = docs[0].as_ref().unwrap_err();
        assert!(!err.message.contains("alias"), "{err}");
        assert!(err.message.contains("more than 1000 nodes"), "{err}");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let docs = parse_documents(&src, &Limits::default());
        let err = docs[0].as_ref().unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
        // Far deeper input is refused by the parser itself, still as an error.
        let src = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_documents(&src, &Limits::default())[0].is_err());
    }

    #[test]
    fn template_placeholders_are_errors_not_keys() {
        let docs = parse_documents(
            "metadata:\n  labels:\n    cell: {{cell}}\n",
            &Limits::default(),
        );
        let err = docs[0].as_ref().unwrap_err();
        assert_eq!((err.line, err.column), (3, 12), "{err}");
        assert!(err.message.contains("template"), "{err}");
    }

    #[test]
    fn empty_documents_are_null() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n", &Limits::default());
        assert!(docs[0].as_ref().unwrap().is_null());
        assert_eq!(docs.len(), 2);
    }
}
