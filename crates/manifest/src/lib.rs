//! Positioned YAML and JSON documents.
//!
//! Every finding haechi reports names the file, line and column of the offending field, so the
//! manifests are not read into plain `serde_json::Value`s but into a [`Node`] tree where every
//! value and every mapping key carries its [`Pos`]. The tree is built from the events of a
//! streaming YAML parser (JSON is read by the same parser), which is also where untrusted input
//! is bounded: nesting depth and alias expansion are capped by [`Limits`], so a "billion laughs"
//! document costs an error, not the machine.
//!
//! Scalars keep their source text next to their resolved type. Kubernetes decodes YAML against
//! typed structs (`name: on` stays the string `"on"`, `privileged: on` is `true` under YAML 1.1), so
//! [`Node::as_str`] answers with the text of any scalar and [`Node::as_bool`] only for booleans.
//!
//! This crate knows nothing about Kubernetes.
mod json;
mod node;
mod parse;
pub mod read;

pub use node::{Key, Node, Pos, Scalar, ScalarKind, Value};
pub use parse::{
    Limits, ParseError, ParseErrorKind, Parsed, parse_documents, parse_documents_at, parse_stream,
};
