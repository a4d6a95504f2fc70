//! The conventions of haechi's JSON reports: pretty-printed with a final newline, field names in
//! camelCase where a schema is new and as documented where one exists, severities in lowercase
//! (upper case, as Trivy writes them, where a report says so with [`upper`]), absent values as
//! `null` rather than missing where the schema lists them.

use std::io::{self, Write};

use serde::Serialize;

/// Writes `value` as pretty JSON and a newline.
pub fn write(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// `#[serde(with = "haechi_report::json::upper")]`: a severity as `CRITICAL`, read in any case.
pub mod upper {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Severity;

    /// Writes the upper-case name.
    pub fn serialize<S: Serializer>(severity: &Severity, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(severity.as_upper())
    }

    /// Reads a name in any case.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
        Severity::deserialize(deserializer)
    }
}
