//! Building [`Node`] trees from parser events, with bounds on depth, size and alias expansion.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use granit_parser::{ErrorKind, Event, Options, Parser, ScalarStyle, Span};

use crate::node::{Key, Node, Pos, Scalar, ScalarKind, Value};

/// Bounds on what one document may cost. Every bound that is hit ends the document with a
/// [`ParseError`] that names it; nothing is cut silently.
///
/// The defaults are far above what real Kubernetes objects need (the API server stores at most
/// about 1.5 MiB per object) and keep one document's tree to a few hundred megabytes at worst.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings. Real objects stay far below the default
    /// (1000): the deepest are CRD schemas and `managedFields`, a hundred or so levels.
    pub max_depth: usize,
    /// Most nodes (scalars, keys, sequences, mappings) one document may hold at once, copies
    /// made by aliases included. Items handed out one by one (see [`parse_stream`]) no longer
    /// count once they are out, so a `kind: List` of any length passes as long as each item
    /// does.
    pub max_nodes: usize,
    /// Aliases may add this many nodes to a document, or as many as the document itself writes
    /// out when that is more: a "billion laughs" document costs at most twice its own size.
    pub alias_allowance: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1000,
            max_nodes: 2_000_000,
            alias_allowance: 100_000,
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
    /// Which kind of problem it is.
    pub kind: ParseErrorKind,
}

/// What kind of problem ended a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Not valid YAML or JSON (an unrendered template included).
    Syntax,
    /// A mapping with the same key twice.
    DuplicateKey,
    /// A bound of [`Limits`] was hit: nesting, nodes held, or alias expansion.
    Limit,
}

/// What [`parse_stream`] hands out, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// One element of the top-level `items` sequence of the document being read (only when
    /// items are split out), as soon as it is complete. Whether the document really is a list
    /// (`kind: List`) is only known at its end: keep what an item leads to until then.
    Item(Node),
    /// A finished document. When items were split out, its top-level `items` sequence is empty
    /// (its position kept). An error means the items handed out for it belong to a broken
    /// document.
    Document(Result<Node, ParseError>),
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
    let mut documents = Vec::new();
    parse_stream(source, first_line, limits, false, &mut |parsed| {
        if let Parsed::Document(doc) = parsed {
            documents.push(doc);
        }
    });
    documents
}

/// Parses a YAML (or JSON) stream and hands every document to `sink` as it ends. With
/// `split_items`, the elements of each document's top-level `items` sequence are handed out one
/// by one as they complete instead of being kept in the tree, so a `kind: List` export of any
/// length is read holding one item at a time.
pub fn parse_stream(
    source: &str,
    first_line: u32,
    limits: &Limits,
    split_items: bool,
    sink: &mut dyn FnMut(Parsed),
) {
    let line_offset = first_line.saturating_sub(1);
    let mut options = Options::default();
    options.set_emit_comments(false);
    // The builder's own depth bound is the one that speaks; the parser's is set just above it.
    options.flow_nesting_limit = limits.max_depth.saturating_add(2);
    options.block_nesting_limit = limits.max_depth.saturating_add(2);
    let mut parser = Parser::new_from_str_with_options(source, options);
    let mut builder = Builder::new(*limits, line_offset, split_items);
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((event, span))) => {
                if let Some(out) = builder.event(event, span) {
                    sink(out);
                }
            }
            Some(Err(err)) => {
                let mark = err.marker();
                let (message, kind) = match err.kind() {
                    ErrorKind::RecursionLimitExceeded => {
                        (depth_message(limits.max_depth), ParseErrorKind::Limit)
                    }
                    _ => (err.info().to_string(), ParseErrorKind::Syntax),
                };
                sink(Parsed::Document(Err(ParseError {
                    line: to_u32(mark.line()).saturating_add(line_offset),
                    column: to_u32(mark.col() + 1),
                    message,
                    kind,
                })));
                builder = Builder::new(*limits, line_offset, split_items);
                match parser.proceed_next_document() {
                    Ok(true) => continue,
                    Ok(false) | Err(_) => break,
                }
            }
        }
    }
}

fn depth_message(max_depth: usize) -> String {
    format!(
        "nesting deeper than {max_depth} levels: not read (limit {max_depth}; no Kubernetes \
         object nests this deep)"
    )
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

/// Mappings with more keys than this look duplicates up in a hash set instead of a scan.
const LINEAR_KEY_SEARCH: usize = 16;

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
        /// The top-level `items` of a document whose items are handed out.
        streamed: bool,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        merges: Vec<Node>,
        /// Hashes of the keys and how many entries they cover, once the mapping is large.
        hashes: Option<(HashSet<u64>, usize)>,
    },
}

struct Builder {
    limits: Limits,
    line_offset: u32,
    split_items: bool,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    /// Nodes in the tree under construction.
    held: usize,
    /// Nodes kept for anchors.
    anchored: usize,
    /// Nodes the document writes out (every event that makes one).
    written: usize,
    /// Nodes made by copying: aliases and anchors.
    copied: usize,
    /// `held` when the streamed `items` sequence opened: an item handed out gives its nodes back.
    held_before_items: usize,
    root: Option<Node>,
    failure: Option<ParseError>,
}

fn hash_key(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The number of nodes of a tree as the limits count them: keys included.
fn weight(node: &Node) -> usize {
    let mut total = 0;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        total += 1;
        match &node.value {
            Value::Scalar(_) => {}
            Value::Seq(items) => pending.extend(items),
            Value::Map(entries) => {
                total += entries.len();
                pending.extend(entries.iter().map(|(_, v)| v));
            }
        }
    }
    total
}

impl Builder {
    fn new(limits: Limits, line_offset: u32, split_items: bool) -> Builder {
        Builder {
            limits,
            line_offset,
            split_items,
            stack: Vec::new(),
            anchors: HashMap::new(),
            held: 0,
            anchored: 0,
            written: 0,
            copied: 0,
            held_before_items: 0,
            root: None,
            failure: None,
        }
    }

    /// Feeds one event; returns an item or a finished document.
    fn event(&mut self, event: Event<'_>, span: Span) -> Option<Parsed> {
        if let Event::DocumentEnd = event {
            let result = match self.failure.take() {
                Some(err) => Err(err),
                None => Ok(self.root.take().unwrap_or_else(Node::null)),
            };
            *self = Builder::new(self.limits, self.line_offset, self.split_items);
            return Some(Parsed::Document(result));
        }
        if self.failure.is_some() {
            return None;
        }
        match self.try_event(event, span) {
            Ok(item) => item.map(Parsed::Item),
            Err(err) => {
                self.failure = Some(err);
                self.stack = Vec::new();
                self.anchors = HashMap::new();
                None
            }
        }
    }

    fn try_event(&mut self, event: Event<'_>, span: Span) -> Result<Option<Node>, ParseError> {
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
                self.write(1, pos)?;
                if anchor != 0 {
                    self.anchor(anchor, &node, 1, pos)?;
                }
                self.push_node(node, 0)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open(pos)?;
                let streamed = self.split_items
                    && self.stack.len() == 1
                    && matches!(
                        self.stack.last(),
                        Some(Frame::Map { key: Some(k), .. }) if k.text == "items"
                    );
                if streamed {
                    self.held_before_items = self.held;
                }
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                    streamed,
                });
                Ok(None)
            }
            Event::MappingStart(_, anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                    hashes: None,
                });
                Ok(None)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(None);
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
                    let size = weight(&node);
                    self.anchor(anchor, &node, size, pos)?;
                }
                // The collection's nodes are already counted in `held`.
                self.push_node(node, 0)
            }
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(weight) else {
                    return Err(error(pos, "alias to an unknown anchor"));
                };
                self.copy(size, pos)?;
                let mut copy = self.anchors[&id].clone();
                copy.pos = pos;
                self.push_node(copy, size)
            }
            _ => Ok(None),
        }
    }

    fn open(&mut self, pos: Pos) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(error_of(
                ParseErrorKind::Limit,
                pos,
                &depth_message(self.limits.max_depth),
            ));
        }
        self.write(1, pos)
    }

    /// Counts nodes the document writes out.
    fn write(&mut self, added: usize, pos: Pos) -> Result<(), ParseError> {
        self.written = self.written.saturating_add(added);
        self.hold(added, pos)
    }

    /// Counts nodes copied by an alias or kept for an anchor against the alias allowance.
    fn copy(&mut self, added: usize, pos: Pos) -> Result<(), ParseError> {
        self.copied = self.copied.saturating_add(added);
        let allowance = self.limits.alias_allowance.max(self.written);
        if self.copied > allowance {
            return Err(error_of(
                ParseErrorKind::Limit,
                pos,
                &format!(
                    "aliases expand to more than {allowance} nodes, more than the document \
                     itself writes out: not read (alias expansion bomb?)"
                ),
            ));
        }
        Ok(())
    }

    fn anchor(&mut self, id: usize, node: &Node, size: usize, pos: Pos) -> Result<(), ParseError> {
        self.copy(size, pos)?;
        if let Some(old) = self.anchors.insert(id, node.clone()) {
            self.anchored -= weight(&old);
        }
        self.anchored += size;
        self.hold(0, pos)
    }

    fn hold(&mut self, added: usize, pos: Pos) -> Result<(), ParseError> {
        self.held = self.held.saturating_add(added);
        if self.held.saturating_add(self.anchored) > self.limits.max_nodes {
            return Err(error_of(
                ParseErrorKind::Limit,
                pos,
                &format!(
                    "document holds more than {} nodes at once: not read (limit {}; a \
                     Kubernetes object has far fewer)",
                    self.limits.max_nodes, self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Places a finished node into its parent (as a key, a value or an item) or as the root;
    /// `added` more nodes are now held (a copy's). An item of a streamed `items` sequence is
    /// returned instead.
    fn push_node(&mut self, node: Node, added: usize) -> Result<Option<Node>, ParseError> {
        let pos = node.pos;
        self.hold(added, pos)?;
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { streamed: true, .. }) => {
                self.held = self.held_before_items;
                return Ok(Some(node));
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                hashes,
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
                    if scalar.text != "<<" {
                        check_duplicate(entries, hashes, &scalar.text, node.pos)?;
                    }
                    *key = Some(Key {
                        text: scalar.text,
                        pos: node.pos,
                    });
                }
                Some(k) if k.text == "<<" => merges.push(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(None)
    }
}

/// Refuses a key the mapping already has, as the Kubernetes API server's strict decoding does:
/// two `kind:` keys would otherwise be one kind to one reader and another to the next.
fn check_duplicate(
    entries: &[(Key, Node)],
    hashes: &mut Option<(HashSet<u64>, usize)>,
    text: &str,
    pos: Pos,
) -> Result<(), ParseError> {
    let first = |entries: &[(Key, Node)]| {
        entries
            .iter()
            .find(|(k, _)| k.text == text)
            .map(|(k, _)| k.pos)
    };
    let seen = if entries.len() < LINEAR_KEY_SEARCH {
        first(entries)
    } else {
        let (set, counted) = hashes.get_or_insert_with(|| (HashSet::new(), 0));
        for (k, _) in &entries[*counted..] {
            set.insert(hash_key(&k.text));
        }
        *counted = entries.len();
        // A hash seen before is a duplicate or a collision: the scan tells which.
        if set.contains(&hash_key(text)) {
            first(entries)
        } else {
            None
        }
    };
    match seen {
        Some(first) => Err(error_of(
            ParseErrorKind::DuplicateKey,
            pos,
            &format!(
                "duplicate key \"{text}\" (first at line {}, column {}): Kubernetes refuses \
                 duplicate keys; keep one",
                first.line, first.column
            ),
        )),
        None => Ok(()),
    }
}

/// YAML merge keys (`<<: *base`): merged entries never override the mapping's own keys, and an
/// earlier merge source wins over a later one.
fn apply_merges(entries: &mut Vec<(Key, Node)>, merges: Vec<Node>) {
    if merges.is_empty() {
        return;
    }
    let mut present: HashSet<String> = entries.iter().map(|(k, _)| k.text.clone()).collect();
    for merge in merges {
        let sources: Vec<Node> = match merge.value {
            Value::Seq(items) => items,
            _ => vec![merge],
        };
        for source in sources {
            if let Value::Map(merged) = source.value {
                for (k, v) in merged {
                    if present.insert(k.text.clone()) {
                        entries.push((k, v));
                    }
                }
            }
        }
    }
}

fn error(pos: Pos, message: &str) -> ParseError {
    error_of(ParseErrorKind::Syntax, pos, message)
}

fn error_of(kind: ParseErrorKind, pos: Pos, message: &str) -> ParseError {
    ParseError {
        line: pos.line,
        column: pos.column,
        message: message.to_string(),
        kind,
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

    /// A document whose aliases nest ten levels of ten copies each: 10^10 nodes if expanded.
    fn laughs(levels: usize) -> String {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..levels {
            let prev = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{prev}"); 10].join(", ")
            ));
        }
        src
    }

    #[test]
    fn alias_bombs_are_bounded_relative_to_the_input() {
        let docs = parse_documents(&laughs(10), &Limits::default());
        let err = docs[0].as_ref().unwrap_err();
        assert!(err.message.contains("alias expansion bomb"), "{err}");
        // Aliases that add less than the allowance are fine.
        let docs = parse_documents(&laughs(4), &Limits::default());
        assert!(docs[0].is_ok(), "{docs:?}");
        // And so is a large document that uses aliases no more than it writes out.
        let limits = Limits {
            alias_allowance: 10,
            ..Limits::default()
        };
        let mut src = String::from("base: &b {a: 1, b: 2}\nitems:\n");
        for i in 0..1000 {
            src.push_str(&format!("- {{name: n{i}, value: v, <<: *b}}\n"));
        }
        assert!(parse_documents(&src, &limits)[0].is_ok());
        src.push_str(&format!("big: [{}]\n", vec!["*b"; 2000].join(", ")));
        let err = parse_documents(&src, &limits).remove(0).unwrap_err();
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn anchored_chains_count_as_copies() {
        // Every anchored collection is copied for its aliases: nested anchors cost the sum of
        // their sizes, which the allowance bounds too.
        let depth = 900;
        let mut src = String::new();
        for i in 0..depth {
            src.push_str(&format!("&a{i} ["));
        }
        src.push('x');
        src.push_str(&"]".repeat(depth));
        let limits = Limits {
            alias_allowance: 1000,
            ..Limits::default()
        };
        let err = parse_documents(&src, &limits).remove(0).unwrap_err();
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn nesting_is_bounded_above_what_real_objects_need() {
        // managedFields mirror the object with `f:` keys; a deep CRD or a generated object
        // goes past a hundred levels, which must read.
        let mut src = String::from("metadata:\n  managedFields:\n  - fieldsV1:\n");
        for level in 0..130 {
            src.push_str(&" ".repeat(6 + 2 * level));
            src.push_str(&format!("f:l{level}:\n"));
        }
        src.push_str(&" ".repeat(6 + 2 * 130));
        src.push_str("{}\n");
        assert!(parse_documents(&src, &Limits::default())[0].is_ok());
        let depth = Limits::default().max_depth;
        let ok = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse_documents(&ok, &Limits::default())[0].is_ok());
        let deep = format!("{}{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
        let err = parse_documents(&deep, &Limits::default())
            .remove(0)
            .unwrap_err();
        assert!(err.message.contains("nesting deeper than 1000"), "{err}");
        // Block nesting too, and far deeper input, still as the same error.
        let mut block = String::new();
        for level in 0..=depth {
            block.push_str(&" ".repeat(level));
            block.push_str("k:\n");
        }
        let err = parse_documents(&block, &Limits::default())
            .remove(0)
            .unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err}");
        let src = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse_documents(&src, &Limits::default())
            .remove(0)
            .unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err}");
    }

    #[test]
    fn nodes_held_at_once_are_bounded() {
        let limits = Limits {
            max_nodes: 1000,
            ..Limits::default()
        };
        let src = format!("[{}]", vec!["1"; 2000].join(","));
        let err = parse_documents(&src, &limits).remove(0).unwrap_err();
        assert!(err.message.contains("more than 1000 nodes"), "{err}");
    }

    #[test]
    fn list_items_are_handed_out_one_at_a_time() {
        // 500 items of 7 nodes each: 3500 nodes, more than the limit, but never more than one
        // item is held.
        let limits = Limits {
            max_nodes: 50,
            ..Limits::default()
        };
        let items: Vec<String> = (0..500)
            .map(|i| format!("{{\"kind\": \"Pod\", \"metadata\": {{\"name\": \"p{i}\"}}}}"))
            .collect();
        let src = format!(
            "{{\"apiVersion\": \"v1\",\n\"items\": [{}],\n\"kind\": \"List\"}}\n---\nkind: Other\n",
            items.join(",\n")
        );
        let mut out = Vec::new();
        parse_stream(&src, 1, &limits, true, &mut |p| out.push(p));
        assert_eq!(out.len(), 502);
        let Parsed::Item(last) = &out[499] else {
            panic!("{:?}", out[499])
        };
        assert_eq!(
            last.path(&["metadata", "name"]).unwrap().as_str(),
            Some("p499")
        );
        assert_eq!(last.pos, Pos::new(501, 1));
        let Parsed::Document(Ok(root)) = &out[500] else {
            panic!("{:?}", out[500])
        };
        assert_eq!(root.get("kind").unwrap().as_str(), Some("List"));
        assert!(
            root.get("items").unwrap().is_seq() && root.get("items").unwrap().items().is_empty()
        );
        assert!(matches!(&out[501], Parsed::Document(Ok(n)) if n.get("kind").is_some()));
        // Without splitting, the same document is over the limit.
        assert!(parse_documents(&src, &limits)[0].is_err());
        // Only the top-level `items` is split.
        let mut out = Vec::new();
        parse_stream("spec:\n  items: [1, 2]\n", 1, &limits, true, &mut |p| {
            out.push(p)
        });
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nkind: Pod\n",
            &Limits::default(),
        );
        let err = docs[0].as_ref().unwrap_err();
        assert_eq!((err.line, err.column), (4, 1), "{err}");
        assert!(
            err.message
                .contains("duplicate key \"kind\" (first at line 2"),
            "{err}"
        );
        // In large mappings too, and quoted spellings are the same key.
        let mut src: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        src.push_str("\"k57\": again\n");
        let err = parse_documents(&src, &Limits::default())
            .remove(0)
            .unwrap_err();
        assert!(err.message.contains("\"k57\" (first at line 58"), "{err}");
        // Merge keys are not duplicates, and what they merge never overrides.
        let doc = one("a: &a {x: 1}\nb: &b {y: 2}\nm:\n  <<: *a\n  <<: *b\n  x: 3\n");
        assert_eq!(doc.path(&["m", "x"]).unwrap().as_i64(), Some(3));
        assert_eq!(doc.path(&["m", "y"]).unwrap().as_i64(), Some(2));
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
