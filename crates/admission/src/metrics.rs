//! The webhook's Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a review.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReviewLabels {
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    /// `allowed`, `denied` or `patched`.
    pub verdict: &'static str,
    /// The request's kind.
    pub kind: String,
}

/// Labels of a failed request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The endpoint asked for (`other` for unknown paths).
    pub endpoint: &'static str,
    /// `bad_request`, `too_large`, `timeout`, `tls_handshake`, …
    pub reason: &'static str,
}

/// Labels of an audit-mode violation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CheckLabels {
    /// The check id.
    pub check: &'static str,
}

/// Labels of a reload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `config` or `certificate`.
    pub what: &'static str,
    /// `ok` or `error`.
    pub result: &'static str,
}

/// Every metric, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    /// `haechi_admission_reviews_total`.
    pub reviews: Family<ReviewLabels, Counter>,
    /// `haechi_admission_review_duration_seconds`.
    pub duration: Family<Vec<(&'static str, &'static str)>, Histogram>,
    /// `haechi_admission_errors_total`.
    pub errors: Family<ErrorLabels, Counter>,
    /// `haechi_admission_audit_violations_total`.
    pub audit_violations: Family<CheckLabels, Counter>,
    /// `haechi_admission_reloads_total`.
    pub reloads: Family<ReloadLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("haechi_admission");
        let reviews = Family::<ReviewLabels, Counter>::default();
        registry.register(
            "reviews",
            "AdmissionReviews answered, by endpoint, verdict and kind",
            reviews.clone(),
        );
        let duration =
            Family::<Vec<(&'static str, &'static str)>, Histogram>::new_with_constructor(|| {
                Histogram::new([
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ])
            });
        registry.register(
            "review_duration_seconds",
            "Time from a complete request body to the response, by endpoint",
            duration.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors",
            "Requests answered with an error status or dropped, by endpoint and reason",
            errors.clone(),
        );
        let audit_violations = Family::<CheckLabels, Counter>::default();
        registry.register(
            "audit_violations",
            "Audit-mode violations recorded (dry runs excluded), by check",
            audit_violations.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Configuration and certificate reloads, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            reviews,
            duration,
            errors,
            audit_violations,
            reloads,
        }
    }
}

impl Metrics {
    /// Counts an error.
    pub fn error(&self, endpoint: &'static str, reason: &'static str) {
        self.errors
            .get_or_create(&ErrorLabels { endpoint, reason })
            .inc();
    }

    /// Counts a reload.
    pub fn reload(&self, what: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&ReloadLabels { what, result })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
