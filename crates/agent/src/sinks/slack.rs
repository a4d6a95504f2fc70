//! Slack incoming-webhook messages, laid out as Falcosidekick's Slack output lays them out:
//! the rendered output as the attachment's text, the alert's facts as fields, the colour by
//! priority.

use haechi_rules::alert::{Alert, Priority};
use serde_json::{Value, json};

/// Tags and output-field values shorter than this sit side by side (Slack's `short`), as
/// Falcosidekick does; rule, priority and the like always do.
const SHORT: usize = 36;

/// The message for one alert.
pub(super) fn message(alert: &Alert) -> Value {
    let field = |title: &str, value: String, short: bool| json!({ "title": title, "value": value, "short": short });
    let by_length = |title: &str, value: String| {
        let short = value.chars().count() < SHORT;
        field(title, value, short)
    };
    let container = alert
        .output_fields
        .get("container.id")
        .and_then(Value::as_str)
        .unwrap_or("<NA>")
        .to_owned();
    let mut fields = vec![
        field("rule", alert.rule.clone(), true),
        field("priority", alert.priority.name().to_owned(), true),
        field("container", container, true),
        field("hostname", alert.hostname.clone(), true),
        field("source", alert.source.clone(), true),
    ];
    if !alert.tags.is_empty() {
        fields.push(by_length("tags", alert.tags.join(", ")));
    }
    for (name, value) in &alert.output_fields {
        let value = match value {
            Value::Null => continue,
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        fields.push(by_length(name, value));
    }
    fields.push(field("time", alert.time.clone(), false));
    json!({
        "text": format!("{}: {}", alert.priority, alert.rule),
        "username": "haechi",
        "attachments": [{
            "fallback": alert.output,
            "color": color(alert.priority),
            "text": alert.output,
            "fields": fields,
            "footer": "haechi",
        }],
    })
}

/// Falcosidekick's colours.
fn color(priority: Priority) -> &'static str {
    match priority {
        Priority::Emergency => "#e20b0b",
        Priority::Alert => "#ff5400",
        Priority::Critical => "#ff9000",
        Priority::Error => "#ffc700",
        Priority::Warning => "#ffff00",
        Priority::Notice => "#5bffb5",
        Priority::Informational => "#68c2ff",
        Priority::Debug => "#ccfff2",
    }
}
