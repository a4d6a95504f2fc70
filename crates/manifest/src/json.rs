//! Conversion between [`Node`] trees and `serde_json` values.

use serde_json::{Map as JsonMap, Number, Value as Json};

use crate::node::{Key, Node, Pos, Scalar, ScalarKind, Value};

impl Node {
    /// Converts a JSON value (an AdmissionReview object, a patched document) into a tree whose
    /// positions are all [`Pos::UNKNOWN`].
    pub fn from_json(json: &Json) -> Node {
        let scalar = |text: String, kind| Value::Scalar(Scalar { text, kind });
        let value = match json {
            Json::Null => scalar(String::new(), ScalarKind::Null),
            Json::Bool(b) => scalar(b.to_string(), ScalarKind::Bool(*b)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => scalar(n.to_string(), ScalarKind::Int(i)),
                None => scalar(
                    n.to_string(),
                    ScalarKind::Float(n.as_f64().unwrap_or(f64::NAN)),
                ),
            },
            Json::String(s) => scalar(s.clone(), ScalarKind::Str),
            Json::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            Json::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                text: k.clone(),
                                pos: Pos::UNKNOWN,
                            },
                            Node::from_json(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(value)
    }

    /// Converts the tree to JSON. Duplicate keys keep their last value; floats that JSON cannot
    /// carry (NaN, infinities) become their YAML text.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Scalar(s) => match s.kind {
                ScalarKind::Null => Json::Null,
                ScalarKind::Bool(b) => Json::Bool(b),
                ScalarKind::Int(i) => Json::Number(i.into()),
                ScalarKind::Float(f) => Number::from_f64(f)
                    .map(Json::Number)
                    .unwrap_or_else(|| Json::String(s.text.clone())),
                ScalarKind::Str => Json::String(s.text.clone()),
            },
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = JsonMap::with_capacity(entries.len());
                for (k, v) in entries {
                    map.insert(k.text.clone(), v.to_json());
                }
                Json::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_values() {
        let json: Json = serde_json::json!({
            "a": [1, 2.5, "x", true, null],
            "b": {"c": -3}
        });
        assert_eq!(Node::from_json(&json).to_json(), json);
    }
}
