//! Slack incoming-webhook messages, laid out as Falcosidekick's Slack output lays them out:
//! the rendered output as the attachment's text, the alert's facts as fields, the colour by
//! priority.

use haechi_rules::alert::{Alert, Priority};
use serde_json::{Value, json};

/// Output-field values shorter than this sit side by side (Slack's `short`), as
/// Falcosidekick does.
const SHORT: usize = 36;

/// The message for one alert.
pub(super) fn message(alert: &Alert) -> Value {
    let field = |title: &str, value: String| {
        let short = value.chars().count() < SHORT;
        json!({ "title": title, "value": value, "short": short })
    };
    let container = alert
        .output_fields
        .get("container.id")
        .and_then(Value::as_str)
        .unwrap_or("<NA>")
        .to_owned();
    let mut fields = vec![
        field("rule", alert.rule.clone()),
        field("priority", alert.priority.name().to_owned()),
        field("container", container),
        field("hostname", alert.hostname.clone()),
        field("source", alert.source.clone()),
    ];
    if !alert.tags.is_empty() {
        fields.push(field("tags", alert.tags.join(", ")));
    }
    for (name, value) in &alert.output_fields {
        let value = match value {
            Value::Null => continue,
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        fields.push(field(name, value));
    }
    fields.push(json!({ "title": "time", "value": alert.time, "short": false }));
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
