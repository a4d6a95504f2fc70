//! Output templates: `%proc.name`, `%fd.name`, `%proc.aname[2]` ... resolved at compile time,
//! rendered only when a rule fires. A field the event lacks renders as `<NA>` (and `null` in
//! `output_fields`), as in Falco.

use std::collections::BTreeMap;

use crate::alert::time_of_day;
use crate::ast::FieldName;
use crate::eval::{Event, Operand, Val};
use crate::fields::FieldType;
use crate::parse::parse_field_prefix;

/// A piece of a template as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Lit(String),
    Field(FieldName),
}

/// Splits a template into text and `%field` references; a `%` not followed by a field name
/// stays text.
pub(crate) fn split(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('%') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match parse_field_prefix(after) {
            Some((field, used)) => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Field(field));
                rest = &after[used..];
            }
            None => {
                lit.push('%');
                rest = after;
            }
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    pieces
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    Lit(String),
    Field {
        name: String,
        operand: Operand,
        ty: FieldType,
    },
}

/// A compiled output template.
#[derive(Debug, Clone, Default)]
pub(crate) struct Template {
    pub parts: Vec<Part>,
}

impl Template {
    /// The rendered text and the value of every field it names.
    pub fn render<E: Event + ?Sized>(
        &self,
        ev: &E,
    ) -> (String, BTreeMap<String, serde_json::Value>) {
        let mut text = String::new();
        let mut fields = BTreeMap::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => text.push_str(s),
                Part::Field { name, operand, ty } => {
                    let value = operand.first(ev);
                    match &value {
                        None => text.push_str("<NA>"),
                        Some(Val::Num(n)) if *ty == FieldType::Time => {
                            text.push_str(&time_of_day(i128::from(*n)))
                        }
                        Some(Val::Num(n)) => text.push_str(&n.to_string()),
                        Some(Val::Bool(b)) => text.push_str(if *b { "true" } else { "false" }),
                        Some(Val::Str(s)) => text.push_str(s),
                    }
                    let json = match value {
                        None => serde_json::Value::Null,
                        Some(Val::Num(n)) => serde_json::Value::from(n),
                        Some(Val::Bool(b)) => serde_json::Value::Bool(b),
                        Some(Val::Str(s)) => serde_json::Value::String(s.into_owned()),
                    };
                    fields.insert(name.clone(), json);
                }
            }
        }
        (text, fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_fields() {
        let pieces = split("user=%user.name cmd=%proc.aname[2] 100% done %");
        assert_eq!(
            pieces,
            vec![
                Piece::Lit("user=".into()),
                Piece::Field(FieldName {
                    name: "user.name".into(),
                    arg: None
                }),
                Piece::Lit(" cmd=".into()),
                Piece::Field(FieldName {
                    name: "proc.aname".into(),
                    arg: Some("2".into())
                }),
                Piece::Lit(" 100% done %".into()),
            ]
        );
    }
}
