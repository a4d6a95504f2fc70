//! The alert path on the real kernel: events from the sensor, a rule, deduplication, the file
//! sink and the `/metrics` endpoint, all counted exactly. The rule watches a file of this
//! test's own, so other activity on the machine cannot change the counts. Needs root (set
//! HAECHI_ALLOW_SKIP=1 to skip without; CI never sets it).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use haechi_agent::dedup::SUPPRESSED_FIELD;
use haechi_agent::metrics::{self, Metrics};
use haechi_agent::sinks::{Sink, SinkOptions, Sinks};
use haechi_agent::{Agent, Format, Options};
use haechi_rules::Ruleset;
use haechi_sensor::Filter;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("HAECHI_ALLOW_SKIP").is_some(),
        "needs root; HAECHI_ALLOW_SKIP=1 skips"
    );
    eprintln!("skipped: needs root");
    false
}

fn rules(secret: &Path) -> Ruleset {
    let yaml = format!(
        "- rule: Read demo secret\n  desc: d\n  condition: evt.type = openat and fd.name = {}\n  \
         output: secret read by %proc.name (container=%container.id)\n  priority: WARNING\n  \
         tags: [test]\n",
        secret.display()
    );
    Ruleset::from_text("demo.yaml", &yaml, haechi_rules::Options::default()).unwrap()
}

/// The body of `GET /metrics`.
async fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample `name{labels}` (exactly as written).
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{series}` in:\n{body}"))
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn alerts_are_deduplicated_written_to_sinks_and_counted() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "x").unwrap();
    let alerts_file = dir.path().join("alerts.jsonl");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = Vec::new();
    let metrics = Arc::new(Metrics::default());
    let (summary, body) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = listener.local_addr().unwrap();
        tokio::spawn(metrics::serve(listener, metrics.clone()));
        let sink = Sink::File(alerts_file.clone());
        let (sinks, tasks) = Sinks::start(&[sink], &SinkOptions::default(), &metrics).unwrap();
        let mut agent = Agent::start(Options {
            filter: Filter::everything(),
            sources: Default::default(),
            format: Format::Json,
            events: false,
            rules: Some(rules(&secret)),
            enforce: None,
            sinks,
            dedup: Some(Duration::from_secs(3600)),
            metrics: metrics.clone(),
            gvisor: None,
        })
        .expect("agent starts");
        // Three reads by three processes on the host: one alert, two held back.
        let secret = secret.clone();
        let readers = tokio::task::spawn_blocking(move || {
            for _ in 0..3 {
                let status = Command::new("cat")
                    .arg(&secret)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        });
        let stop = async {
            readers.await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        let (_no_reloads, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        let summary = agent.run(&mut out, stop, &mut reloads).await.unwrap();
        drop(agent);
        assert!(tasks.finish(Duration::from_secs(10)).await.is_empty());
        (summary, scrape(metrics_addr).await)
    });

    // The output and the file carry the same two alerts: the first, and on stop the summary
    // of the window with the count it held back.
    let written = lines(&String::from_utf8(out).unwrap());
    assert_eq!(
        written,
        lines(&std::fs::read_to_string(&alerts_file).unwrap())
    );
    assert_eq!(written.len(), 2, "{written:#?}");
    assert_eq!(written[0]["rule"], "Read demo secret");
    assert_eq!(written[0]["output_fields"].get(SUPPRESSED_FIELD), None);
    assert_eq!(written[1]["output_fields"][SUPPRESSED_FIELD], 2);
    assert!(
        written[1]["output"]
            .as_str()
            .unwrap()
            .ends_with("(suppressed 2 more like this within 3600s)")
    );
    assert_eq!(summary.alerts["Read demo secret"], 3);
    assert_eq!(summary.suppressed, 2);

    let rule = "rule=\"Read demo secret\"";
    let sink = format!("sink=\"file:{}\"", alerts_file.display());
    assert_eq!(
        sample(
            &body,
            &format!("haechi_rules_alerts_total{{{rule},priority=\"Warning\"}}")
        ),
        3
    );
    assert_eq!(
        sample(&body, &format!("haechi_alerts_suppressed_total{{{rule}}}")),
        2
    );
    assert_eq!(
        sample(&body, &format!("haechi_sink_sent_total{{{sink}}}")),
        2
    );
    assert_eq!(
        sample(&body, &format!("haechi_sink_dropped_total{{{sink}}}")),
        0
    );
    let opens = sample(&body, "haechi_agent_events_total{type=\"openat\"}");
    assert!(opens >= 3, "{opens} opens");
    let evaluated = sample(&body, "haechi_rules_events_evaluated_total");
    let events: u64 = summary.by_type.values().sum();
    assert_eq!(evaluated, events, "every event is tested against the rules");
    assert_eq!(
        sample(&body, "haechi_agent_events_lost_total"),
        summary.kernel.lost
    );
}
