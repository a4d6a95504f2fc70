//! Alerts in Falco's JSON shape, so Falcosidekick and existing pipelines read them unchanged.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A rule's priority, Falco's syslog-like levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// The system is unusable.
    Emergency,
    /// Act immediately.
    Alert,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Normal but significant.
    Notice,
    /// Informational.
    Informational,
    /// Debug.
    Debug,
}

impl Priority {
    /// Parses a priority the way Falco does: case-insensitive, `INFO` for informational.
    pub fn parse(text: &str) -> Option<Priority> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// The priority on haechi's report scale, for a report that rates alerts beside findings:
    /// emergency, alert and critical are critical; error high; warning medium; notice low;
    /// informational and debug info. Alerts themselves keep Falco's name.
    pub fn severity(self) -> haechi_report::Severity {
        use haechi_report::Severity;
        match self {
            Priority::Emergency | Priority::Alert | Priority::Critical => Severity::Critical,
            Priority::Error => Severity::High,
            Priority::Warning => Severity::Medium,
            Priority::Notice => Severity::Low,
            Priority::Informational | Priority::Debug => Severity::Info,
        }
    }

    /// Falco's capitalised name, as it appears in alerts.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One alert. Fields are in the order Falco writes them (alphabetical).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The host that saw the event.
    pub hostname: String,
    /// `<time>: <Priority> <rendered output>`, as Falco prints it (for a rule, its output
    /// followed by [`SUGGESTED_FIELDS`] as `container_id=...`).
    pub output: String,
    /// Every field the output names, with its value (`null` when the event lacks it), and
    /// [`TIME_FIELD`]: never empty, as Falcosidekick requires.
    pub output_fields: BTreeMap<String, serde_json::Value>,
    /// The rule's priority.
    pub priority: Priority,
    /// The rule's name.
    pub rule: String,
    /// The event source (`syscall`).
    pub source: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// When the event happened, RFC 3339 with nanoseconds, UTC.
    pub time: String,
}

impl Alert {
    /// One line of text: `time: Priority output`.
    pub fn text(&self) -> &str {
        &self.output
    }
}

/// Nanoseconds since the epoch as RFC 3339 with nanoseconds (`2024-05-01T10:20:30.123456789Z`).
pub fn rfc3339(ns: i128) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(ns) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000000000Z".to_owned(),
    }
}

/// The time of day of a timestamp, UTC, as Falco renders `%evt.time` (`10:20:30.123456789`).
pub fn time_of_day(ns: i128) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(ns) {
        Ok(t) => format!(
            "{:02}:{:02}:{:02}.{:09}",
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        Err(_) => "00:00:00.000000000".to_owned(),
    }
}

/// The fields Falco's default configuration adds to every syscall alert, in order:
/// `append_output: [{suggested_output: true}]` appends the fields the container plugin marks
/// as suggested, so alerts carry their container and pod even when the rule's output names
/// neither.
pub const SUGGESTED_FIELDS: [&str; 6] = [
    "container.id",
    "container.name",
    "container.image.repository",
    "container.image.tag",
    "k8s.pod.name",
    "k8s.ns.name",
];

/// The `output_fields` key of the event's time. Falco starts every output with `%evt.time`,
/// so every alert it writes has it.
pub const TIME_FIELD: &str = "evt.time";

/// The value of [`TIME_FIELD`]: nanoseconds since the epoch, as Falco writes it.
pub fn time_value(ns: i128) -> serde_json::Value {
    i64::try_from(ns).map_or(serde_json::Value::Null, serde_json::Value::from)
}

/// The environment variable that names the host in alerts (Falco's is `FALCO_HOSTNAME`). In a
/// pod the kernel's host name is the pod's: the agent's pod sets it to the node's name
/// (`spec.nodeName` through the downward API).
pub const HOSTNAME_VAR: &str = "HAECHI_HOSTNAME";

/// The host name alerts carry: [`HOSTNAME_VAR`] when set, else the kernel's.
pub fn hostname() -> String {
    hostname_from(std::env::var(HOSTNAME_VAR).ok().as_deref())
}

/// [`hostname`] given the variable's value: it wins when not blank; else the kernel's host
/// name, `localhost` when that cannot be read.
pub fn hostname_from(var: Option<&str>) -> String {
    var.map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .or_else(kernel_hostname)
        .unwrap_or_else(|| "localhost".to_owned())
}

fn kernel_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_map_onto_the_report_scale() {
        use haechi_report::Severity;
        assert_eq!(Priority::Emergency.severity(), Severity::Critical);
        assert_eq!(Priority::Error.severity(), Severity::High);
        assert_eq!(Priority::Warning.severity(), Severity::Medium);
        assert_eq!(Priority::Notice.severity(), Severity::Low);
        assert_eq!(Priority::Debug.severity(), Severity::Info);
    }

    #[test]
    fn times_render_like_falco() {
        let ns = 1_700_000_000_123_456_789i128;
        assert_eq!(rfc3339(ns), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(time_of_day(ns), "22:13:20.123456789");
    }

    #[test]
    fn the_variable_names_the_host_unless_blank() {
        assert_eq!(hostname_from(Some("node-7")), "node-7");
        assert_eq!(hostname_from(Some(" node-7\n")), "node-7");
        let kernel = kernel_hostname().unwrap_or_else(|| "localhost".to_owned());
        assert_eq!(hostname_from(Some("  ")), kernel);
        assert_eq!(hostname_from(None), kernel);
    }

    #[test]
    fn times_are_nanoseconds_in_output_fields() {
        assert_eq!(
            time_value(1_700_000_000_123_456_789),
            1_700_000_000_123_456_789u64
        );
    }

    #[test]
    fn priorities_parse_case_insensitively() {
        assert_eq!(Priority::parse("WARNING"), Some(Priority::Warning));
        assert_eq!(Priority::parse("info"), Some(Priority::Informational));
        assert_eq!(Priority::parse("loud"), None);
        assert_eq!(Priority::Critical.name(), "Critical");
    }
}
