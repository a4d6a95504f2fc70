//! Deduplication of alerts: the same rule on the same container within a window is emitted
//! once; when the window closes, one summary alert says how many were held back.
//!
//! Time is passed in (`now`) rather than read here, so the behaviour is tested without clocks
//! and the agent decides when windows close (on each alert, and on its one-second tick).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use haechi_rules::alert::Alert;

/// The `output_fields` key of a summary alert: how many alerts like it were held back.
pub const SUPPRESSED_FIELD: &str = "haechi.suppressed";

/// What to do with one alert.
#[derive(Debug, Default)]
pub struct Admitted {
    /// The summary of an expired window of the same rule and container, to emit first.
    pub closed: Option<Alert>,
    /// The alert itself, unless it was held back.
    pub alert: Option<Alert>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    rule: String,
    container: String,
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    suppressed: u64,
    /// The latest alert held back: the summary carries its time and fields.
    last: Option<Alert>,
}

/// Open windows by rule and container. Memory is bounded by how many distinct rule/container
/// pairs alert within one window; closed windows are forgotten.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    open: HashMap<Key, Window>,
}

impl Dedup {
    /// Deduplicates within `window`.
    pub fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            open: HashMap::new(),
        }
    }

    /// Judges `alert`, raised on `container` (its `container.id`) at `now`.
    pub fn admit(&mut self, alert: Alert, container: &str, now: Instant) -> Admitted {
        let key = Key {
            rule: alert.rule.clone(),
            container: container.to_owned(),
        };
        let mut admitted = Admitted::default();
        if let Some(window) = self.open.get_mut(&key) {
            if now.saturating_duration_since(window.opened) < self.window {
                window.suppressed += 1;
                window.last = Some(alert);
                return admitted;
            }
            admitted.closed = self
                .open
                .remove(&key)
                .and_then(|window| self.summary(window));
        }
        self.open.insert(
            key,
            Window {
                opened: now,
                suppressed: 0,
                last: None,
            },
        );
        admitted.alert = Some(alert);
        admitted
    }

    /// Closes the windows that have expired at `now`; returns the summaries of those that held
    /// alerts back, oldest window first.
    pub fn expire(&mut self, now: Instant) -> Vec<Alert> {
        let window = self.window;
        self.close(|w| now.saturating_duration_since(w.opened) >= window)
    }

    /// Closes every window (the agent is stopping); returns the summaries.
    pub fn close_all(&mut self) -> Vec<Alert> {
        self.close(|_| true)
    }

    fn close(&mut self, done: impl Fn(&Window) -> bool) -> Vec<Alert> {
        let keys: Vec<Key> = self
            .open
            .iter()
            .filter(|(_, w)| done(w))
            .map(|(k, _)| k.clone())
            .collect();
        let mut closed: Vec<Window> = keys.iter().filter_map(|k| self.open.remove(k)).collect();
        closed.sort_by_key(|w| w.opened);
        closed.into_iter().filter_map(|w| self.summary(w)).collect()
    }

    /// The latest alert held back, marked with how many were: `output_fields` gets
    /// [`SUPPRESSED_FIELD`] and `output` says it in words.
    fn summary(&self, window: Window) -> Option<Alert> {
        let mut alert = window.last?;
        alert
            .output_fields
            .insert(SUPPRESSED_FIELD.to_owned(), window.suppressed.into());
        alert.output.push_str(&format!(
            " (suppressed {} more like this within {}s)",
            window.suppressed,
            self.window.as_secs_f64()
        ));
        Some(alert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haechi_rules::alert::Priority;

    fn alert(rule: &str, n: u64) -> Alert {
        Alert {
            hostname: "h".into(),
            output: format!("{rule} #{n}"),
            output_fields: [("n".to_owned(), n.into())].into_iter().collect(),
            priority: Priority::Warning,
            rule: rule.into(),
            source: "syscall".into(),
            tags: vec![],
            time: String::new(),
        }
    }

    #[test]
    fn identical_alerts_in_a_window_become_one_and_a_summary() {
        let t0 = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(10));
        let mut emitted = Vec::new();
        for n in 0..5 {
            let admitted = dedup.admit(alert("R", n), "c1", t0 + Duration::from_secs(n));
            assert!(admitted.closed.is_none());
            emitted.extend(admitted.alert);
        }
        assert_eq!(emitted.len(), 1);
        assert_eq!(emitted[0].output, "R #0");
        assert!(dedup.expire(t0 + Duration::from_secs(9)).is_empty());
        let summaries = dedup.expire(t0 + Duration::from_secs(10));
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].output_fields[SUPPRESSED_FIELD], 4);
        assert_eq!(summaries[0].output_fields["n"], 4, "the latest held back");
        assert_eq!(
            summaries[0].output,
            "R #4 (suppressed 4 more like this within 10s)"
        );
        // The window is closed: the next one is emitted again.
        let again = dedup.admit(alert("R", 9), "c1", t0 + Duration::from_secs(11));
        assert!(again.alert.is_some());
    }

    #[test]
    fn different_rules_and_containers_are_not_merged() {
        let t0 = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(10));
        let emitted = [("R", "c1"), ("R", "c2"), ("S", "c1"), ("R", "c1")]
            .into_iter()
            .filter_map(|(rule, c)| dedup.admit(alert(rule, 0), c, t0).alert)
            .count();
        assert_eq!(emitted, 3);
        let summaries = dedup.close_all();
        assert_eq!(summaries.len(), 1, "only R on c1 held one back");
        assert_eq!(summaries[0].output_fields[SUPPRESSED_FIELD], 1);
    }

    #[test]
    fn an_alert_after_the_window_closes_it_first() {
        let t0 = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(1));
        dedup.admit(alert("R", 0), "c", t0);
        dedup.admit(alert("R", 1), "c", t0);
        let late = dedup.admit(alert("R", 2), "c", t0 + Duration::from_secs(2));
        assert_eq!(late.closed.unwrap().output_fields[SUPPRESSED_FIELD], 1);
        assert_eq!(late.alert.unwrap().output, "R #2");
        // A window that held nothing back has no summary.
        assert!(dedup.expire(t0 + Duration::from_secs(5)).is_empty());
    }
}
