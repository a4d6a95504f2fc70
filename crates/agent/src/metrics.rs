//! The agent's Prometheus metrics and the endpoint that serves them (`/metrics`, OpenMetrics
//! text, as the admission webhook serves its own) with the kubelet's probes (`/healthz`,
//! `/readyz`).
//!
//! Counters are updated where things happen (the pipeline, the dedup, each sink's task), so a
//! scrape only encodes; the kernel's lost-event counter is read from the sensor's map on the
//! agent's housekeeping tick, once a second, not on each scrape.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Labels of an event count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct TypeLabels {
    /// The event's `evt.type`.
    pub r#type: &'static str,
}

/// Labels of an alert count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AlertLabels {
    /// The rule's name.
    pub rule: String,
    /// The rule's priority, as Falco names it.
    pub priority: &'static str,
}

/// Labels of a suppressed-alert count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RuleLabels {
    /// The rule's name.
    pub rule: String,
}

/// Labels of a count of what was refused or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why.
    pub reason: &'static str,
}

/// Labels of a sink's counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SinkLabels {
    /// The sink's name (`file:/path`, `http:host:port`, `slack:host`).
    pub sink: String,
}

/// A sink's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkCounts {
    /// Alerts delivered.
    pub sent: u64,
    /// Failed delivery attempts.
    pub failures: u64,
    /// Alerts never delivered.
    pub dropped: u64,
}

/// Every metric the agent exports, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `haechi_agent_events_total{type}`: events handled.
    pub events: Family<TypeLabels, Counter>,
    /// `haechi_agent_events_lost_total`: events the kernel dropped on a full ring buffer.
    pub events_lost: Counter,
    /// `haechi_enforcement_records_lost_total`: records of enforcement actions the kernel
    /// dropped on a full ring buffer (the actions were taken).
    pub enforcement_lost: Counter,
    /// `haechi_enforcement_dns_answers_lost_total`: DNS answers the kernel dropped on a full
    /// ring buffer (the addresses they named were not learned).
    pub dns_answers_lost: Counter,
    /// `haechi_agent_queue_depth`: records waiting in the ring buffer when the agent last
    /// drained it.
    pub queue_depth: Gauge,
    /// `haechi_rules_events_evaluated_total`: events tested against the rules.
    pub evaluated: Counter,
    /// `haechi_rules_alerts_total{rule,priority}`: alerts raised (before deduplication).
    pub alerts: Family<AlertLabels, Counter>,
    /// `haechi_alerts_suppressed_total{rule}`: alerts held back by deduplication.
    pub suppressed: Family<RuleLabels, Counter>,
    /// `haechi_sink_sent_total{sink}`: alerts a sink delivered.
    pub sink_sent: Family<SinkLabels, Counter>,
    /// `haechi_sink_failures_total{sink}`: failed delivery attempts (each retry counts).
    pub sink_failures: Family<SinkLabels, Counter>,
    /// `haechi_sink_dropped_total{sink}`: alerts a sink never delivered (queue full, or every
    /// attempt failed).
    pub sink_dropped: Family<SinkLabels, Counter>,
    /// `haechi_sink_queue_depth{sink}`: alerts waiting in a sink's queue.
    pub sink_queue: Family<SinkLabels, Gauge>,
    /// `haechi_gvisor_connections_total`: gVisor sandbox connections accepted.
    pub gvisor_connections: Counter,
    /// `haechi_gvisor_skipped_total{reason}`: connections refused at the handshake
    /// (`handshake`), messages that did not decode (`malformed`) or of a type haechi does not
    /// read (`unknown_type`).
    pub gvisor_skipped: Family<ReasonLabels, Counter>,
    /// `haechi_gvisor_dropped_total`: points the sandboxes dropped (haechi or the socket fell
    /// behind), as their message headers report.
    pub gvisor_dropped: Counter,
    /// Whether the sensor is attached and the rules are in force: `/readyz` answers 200 from
    /// then on, 503 before.
    ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let events = Family::<TypeLabels, Counter>::default();
        registry.register(
            "haechi_agent_events",
            "Events handled, by evt.type",
            events.clone(),
        );
        let events_lost = Counter::default();
        registry.register(
            "haechi_agent_events_lost",
            "Events the kernel dropped because the ring buffer was full",
            events_lost.clone(),
        );
        let enforcement_lost = Counter::default();
        registry.register(
            "haechi_enforcement_records_lost",
            "Records of enforcement actions the kernel dropped because the ring buffer was full \
             (the actions were taken)",
            enforcement_lost.clone(),
        );
        let dns_answers_lost = Counter::default();
        registry.register(
            "haechi_enforcement_dns_answers_lost",
            "DNS answers the kernel dropped because their ring buffer was full (the addresses \
             they named were not learned)",
            dns_answers_lost.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "haechi_agent_queue_depth",
            "Records waiting in the ring buffer when the agent last drained it",
            queue_depth.clone(),
        );
        let evaluated = Counter::default();
        registry.register(
            "haechi_rules_events_evaluated",
            "Events tested against the rules",
            evaluated.clone(),
        );
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "haechi_rules_alerts",
            "Alerts raised, by rule and priority (before deduplication)",
            alerts.clone(),
        );
        let suppressed = Family::<RuleLabels, Counter>::default();
        registry.register(
            "haechi_alerts_suppressed",
            "Alerts held back by deduplication, by rule",
            suppressed.clone(),
        );
        let sink_sent = Family::<SinkLabels, Counter>::default();
        registry.register(
            "haechi_sink_sent",
            "Alerts delivered, by sink",
            sink_sent.clone(),
        );
        let sink_failures = Family::<SinkLabels, Counter>::default();
        registry.register(
            "haechi_sink_failures",
            "Failed delivery attempts, by sink (each retry counts)",
            sink_failures.clone(),
        );
        let sink_dropped = Family::<SinkLabels, Counter>::default();
        registry.register(
            "haechi_sink_dropped",
            "Alerts never delivered (queue full or attempts exhausted), by sink",
            sink_dropped.clone(),
        );
        let sink_queue = Family::<SinkLabels, Gauge>::default();
        registry.register(
            "haechi_sink_queue_depth",
            "Alerts waiting in a sink's queue, by sink",
            sink_queue.clone(),
        );
        let gvisor_connections = Counter::default();
        registry.register(
            "haechi_gvisor_connections",
            "gVisor sandbox connections accepted",
            gvisor_connections.clone(),
        );
        let gvisor_skipped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "haechi_gvisor_skipped",
            "gVisor connections refused at the handshake and messages skipped, by reason",
            gvisor_skipped.clone(),
        );
        let gvisor_dropped = Counter::default();
        registry.register(
            "haechi_gvisor_dropped",
            "Points gVisor sandboxes report they dropped",
            gvisor_dropped.clone(),
        );
        Metrics {
            registry,
            events,
            events_lost,
            enforcement_lost,
            dns_answers_lost,
            queue_depth,
            evaluated,
            alerts,
            suppressed,
            sink_sent,
            sink_failures,
            sink_dropped,
            sink_queue,
            gvisor_connections,
            gvisor_skipped,
            gvisor_dropped,
            ready: AtomicBool::new(false),
        }
    }
}

impl Metrics {
    /// Marks the agent ready: its sensor is attached and its rules are in force.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    /// Whether [`Metrics::set_ready`] was called.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The labels of sink `name`.
    pub fn sink(name: &str) -> SinkLabels {
        SinkLabels {
            sink: name.to_owned(),
        }
    }

    /// What sink `name` has done so far.
    pub fn sink_counts(&self, name: &str) -> SinkCounts {
        let labels = Metrics::sink(name);
        SinkCounts {
            sent: self.sink_sent.get_or_create(&labels).get(),
            failures: self.sink_failures.get_or_create(&labels).get(),
            dropped: self.sink_dropped.get_or_create(&labels).get(),
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics`, `GET /healthz` and `GET /readyz` on `listener` until the task is
/// dropped; one task per connection. `/healthz` answers whenever the runtime that runs the
/// pipeline is responsive (a wedged pipeline fails the kubelet's liveness probe); `/readyz`
/// once the sensor is attached.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!("metrics endpoint: accept: {err}");
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = respond(&metrics, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = connection.await {
                tracing::debug!("metrics endpoint: {err}");
            }
        });
    }
}

fn respond(metrics: &Metrics, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let path = request.uri().path();
    let (status, body, content_type) = match path {
        "/metrics" | "/healthz" | "/readyz" if request.method() != Method::GET => {
            (StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_owned(), TEXT)
        }
        "/metrics" => (
            StatusCode::OK,
            metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/healthz" => (StatusCode::OK, "ok\n".to_owned(), TEXT),
        "/readyz" if metrics.is_ready() => (StatusCode::OK, "ok\n".to_owned(), TEXT),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the sensor is not attached yet\n".to_owned(),
            TEXT,
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "served here: /metrics, /healthz, /readyz\n".to_owned(),
            TEXT,
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Adds to `counter` what a running `total` kept elsewhere (the kernel's, a listener's) gained
/// since `reported`, which it then records.
pub fn catch_up(counter: &Counter, reported: &mut u64, total: u64) {
    counter.inc_by(total.saturating_sub(*reported));
    *reported = (*reported).max(total);
}
