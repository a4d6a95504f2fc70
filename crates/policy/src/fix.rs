//! Building RFC 6902 JSON Patches that repair an object.
//!
//! A check knows what value a field must have; these helpers turn that into patch operations that
//! apply to the object as it is, creating the parents that are missing (`securityContext`,
//! `capabilities`, …) instead of assuming they exist.

use haechi_manifest::Node;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::Value as Json;

use crate::path::{FieldPath, Segment, pointer};

/// A fix: operations applied in order.
pub type Fix = Vec<PatchOperation>;

/// Sets the field at `path` to `value`, adding whatever parents are missing.
pub fn set(root: &Node, path: &FieldPath, value: Json) -> Fix {
    let segments = path.segments();
    let mut node = root;
    for (depth, seg) in segments.iter().enumerate() {
        let child = match seg {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.items().get(*i),
        };
        match child {
            Some(_) if depth + 1 == segments.len() => return vec![replace(segments, value)],
            Some(child) if fits(child, &segments[depth + 1]) => node = child,
            // A null, scalar or the wrong kind of collection where the path needs a mapping (or
            // a sequence): replace it with what the path needs.
            Some(_) => {
                return vec![replace(
                    &segments[..=depth],
                    nest(&segments[depth + 1..], value),
                )];
            }
            None => {
                return vec![add(
                    &segments[..=depth],
                    nest(&segments[depth + 1..], value),
                )];
            }
        }
    }
    Vec::new()
}

/// Whether `node` is the collection that `next` steps into.
fn fits(node: &Node, next: &Segment) -> bool {
    match next {
        Segment::Key(_) => node.is_map(),
        Segment::Index(_) => node.is_seq(),
    }
}

/// Appends `value` to the sequence at `path`, creating the sequence when it is missing.
pub fn append(root: &Node, path: &FieldPath, value: Json) -> Fix {
    match path.resolve(root) {
        Some(seq) if seq.is_seq() => {
            let mut end = path.pointer();
            end.push_back("-");
            vec![PatchOperation::Add(AddOperation { path: end, value })]
        }
        _ => set(root, path, Json::Array(vec![value])),
    }
}

/// Removes the field at `path`.
pub fn remove(path: &FieldPath) -> Fix {
    vec![PatchOperation::Remove(RemoveOperation {
        path: path.pointer(),
    })]
}

fn replace(segments: &[Segment], value: Json) -> PatchOperation {
    PatchOperation::Replace(ReplaceOperation {
        path: pointer(segments),
        value,
    })
}

fn add(segments: &[Segment], value: Json) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: pointer(segments),
        value,
    })
}

/// Wraps `value` in the mappings named by `rest`: `[a, b]`, v → `{"a": {"b": v}}`.
fn nest(rest: &[Segment], value: Json) -> Json {
    rest.iter().rev().fold(value, |inner, seg| match seg {
        Segment::Key(k) => {
            let mut map = serde_json::Map::new();
            map.insert(k.to_string(), inner);
            Json::Object(map)
        }
        Segment::Index(_) => Json::Array(vec![inner]),
    })
}
