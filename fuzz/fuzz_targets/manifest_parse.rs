//! The manifest parser on hostile input: no panic, and bounded output.
//!
//! Half the inputs are raw bytes; the other half drive a structure-aware generator that writes
//! what random bytes rarely reach: deep nesting (block and flow), wide fan-out, anchors with
//! aliases to them (billion laughs), merge keys, duplicate keys, `kind: List` documents whose
//! items are streamed, and several documents per stream. Whatever comes in, every tree handed
//! out stays within the node limit and everything handed out together stays proportional to the
//! input (aliases add at most the document's own size or the allowance).
#![no_main]

use haechi_manifest::{Limits, Node, Parsed, parse_stream};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_depth: 64,
    max_nodes: 20_000,
    alias_allowance: 5_000,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode % 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        }
    } else {
        let mut u = Unstructured::new(rest);
        let mut generator = Generator {
            anchors: 0,
            out: String::new(),
        };
        if generator.stream(&mut u).is_err() {
            return;
        }
        generator.out
    };
    for split_items in [false, true] {
        let mut total = 0usize;
        parse_stream(&text, 1, &LIMITS, split_items, &mut |parsed| {
            let node = match &parsed {
                Parsed::Item(node) => node,
                Parsed::Document(Ok(node)) => node,
                Parsed::Document(Err(_)) => return,
            };
            let size = weight(node);
            assert!(size <= LIMITS.max_nodes, "a tree of {size} nodes was handed out");
            total += size;
            let _ = node.to_json();
        });
        // Written nodes take at least a byte or so each; aliases add at most as many again, or
        // the allowance.
        let bound = 4 * text.len() + 2 * LIMITS.alias_allowance + 16;
        assert!(total <= bound, "{total} nodes from {} bytes", text.len());
    }
});

/// Nodes of a tree as the limits count them (keys included), without recursion.
fn weight(node: &Node) -> usize {
    let mut total = 0;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        total += 1 + node.entries().len();
        pending.extend(node.items());
        pending.extend(node.entries().iter().map(|(_, v)| v));
    }
    total
}

struct Generator {
    anchors: usize,
    out: String,
}

const SCALARS: &[&str] = &[
    "x", "Pod", "List", "v1", "true", "on", "0x1F", "~", "''", "\"q\\n\"", "{{ .Values.x }}",
    "-----BEGIN RSA PRIVATE KEY-----", "AKIAIOSFODNN7EXAMPLE",
];
const KEYS: &[&str] = &[
    "kind", "apiVersion", "items", "metadata", "name", "spec", "containers", "securityContext",
    "privileged", "data", "<<", "\"kind\"", "? kind",
];

impl Generator {
    /// One stream: a few documents, separated by markers.
    fn stream(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let documents = u.int_in_range(1..=4)?;
        for n in 0..documents {
            if n > 0 || u.arbitrary()? {
                self.out.push_str(if u.ratio(1, 8)? { "--- " } else { "---\n" });
            }
            self.anchors = 0;
            if u.ratio(1, 3)? {
                self.list(u)?;
            } else {
                self.block(u, 0, 0)?;
            }
            self.out.push('\n');
        }
        Ok(())
    }

    /// A `kind: List` (or not quite one) with its items, in kubectl's key order.
    fn list(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let json = u.arbitrary::<bool>()?;
        let items = u.int_in_range(0..=200)?;
        if json {
            self.out.push_str("{\"apiVersion\": \"v1\", \"items\": [");
            for i in 0..items {
                if i > 0 {
                    self.out.push(',');
                }
                self.flow(u, 2)?;
            }
            let kind = if u.ratio(1, 4)? { "Other" } else { "List" };
            self.out.push_str(&format!("], \"kind\": \"{kind}\"}}"));
        } else {
            self.out.push_str("apiVersion: v1\nitems:\n");
            for _ in 0..items {
                self.out.push_str("- ");
                self.flow(u, 2)?;
                self.out.push('\n');
            }
            let kind = if u.ratio(1, 4)? { "Other" } else { "List" };
            self.out.push_str(&format!("kind: {kind}\n"));
            if u.ratio(1, 8)? {
                self.out.push_str("kind: List\n");
            }
        }
        Ok(())
    }

    fn scalar(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let s = *u.choose(SCALARS)?;
        self.out.push_str(s);
        Ok(())
    }

    /// A flow node: nesting, fan-out, anchors and aliases (each alias to the latest anchors
    /// repeated many times is the billion-laughs shape).
    fn flow(&mut self, u: &mut Unstructured<'_>, depth: usize) -> Result<()> {
        if self.anchors > 0 && u.ratio(1, 4)? {
            let target = u.int_in_range(0..=self.anchors - 1)?;
            self.out.push_str(&format!("*a{target}"));
            return Ok(());
        }
        let anchor = u.ratio(1, 5)?;
        if anchor {
            self.out.push_str(&format!("&a{} ", self.anchors));
        }
        let deep = u.ratio(1, 16)?;
        match u.int_in_range(0..=2)? {
            _ if depth > 80 => self.scalar(u)?,
            0 => self.scalar(u)?,
            1 => {
                self.out.push('[');
                let width = if deep { 1 } else { u.int_in_range(0..=12)? };
                for i in 0..width {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.flow(u, depth + 1)?;
                }
                self.out.push(']');
            }
            _ => {
                self.out.push('{');
                let width = if deep { 1 } else { u.int_in_range(0..=8)? };
                for i in 0..width {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let key = *u.choose(KEYS)?;
                    self.out.push_str(key);
                    self.out.push_str(": ");
                    self.flow(u, depth + 1)?;
                }
                self.out.push('}');
            }
        }
        if anchor {
            self.anchors += 1;
        }
        Ok(())
    }

    /// A block mapping at `indent`: nested block mappings and sequences, or flow values.
    fn block(&mut self, u: &mut Unstructured<'_>, indent: usize, depth: usize) -> Result<()> {
        let width = u.int_in_range(1..=6)?;
        for _ in 0..width {
            self.out.push_str(&" ".repeat(indent));
            let key = *u.choose(KEYS)?;
            self.out.push_str(key);
            self.out.push(':');
            match u.int_in_range(0..=3)? {
                _ if depth > 70 => {
                    self.out.push(' ');
                    self.scalar(u)?;
                    self.out.push('\n');
                }
                0 => {
                    self.out.push('\n');
                    self.block(u, indent + 2, depth + 1)?;
                }
                1 => {
                    self.out.push('\n');
                    let items = u.int_in_range(0..=4)?;
                    for _ in 0..items {
                        self.out.push_str(&" ".repeat(indent));
                        self.out.push_str("- ");
                        self.flow(u, depth + 1)?;
                        self.out.push('\n');
                    }
                }
                _ => {
                    self.out.push(' ');
                    self.flow(u, depth + 1)?;
                    self.out.push('\n');
                }
            }
        }
        Ok(())
    }
}
