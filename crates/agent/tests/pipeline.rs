//! The whole pipeline from recorded events, without root: a recording of a container's shell
//! (running when the recording began) reading a secret three times (`sh` forks three `cat`s),
//! replayed through the process table,
//! container attribution with metadata from a stand-in runtime state, a rule, deduplication,
//! the file sink and the `/metrics` endpoint, all counted exactly. The kernel's side of the
//! same path is tested as root by `crates/sensor/tests/kernel.rs` and `haechi agent`'s tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use haechi_agent::containers::Engines;
use haechi_agent::dedup::SUPPRESSED_FIELD;
use haechi_agent::metrics::{self, Metrics};
use haechi_agent::sinks::{Sink, SinkOptions, Sinks};
use haechi_agent::sources::{Replay, Replayed};
use haechi_agent::{Agent, Format, Options};
use haechi_events::{Event, Exec, Observation, Process, SyscallRecord, Task, recording, syscalls};
use haechi_rules::Ruleset;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The container the recording comes from.
const ID: &str = "26697885686bd3548122e7f371995a358e36c82e115016a5aeb0f3710da7d745";
/// The file it reads.
const SECRET: &str = "/run/secrets/demo-token";

fn rules() -> Ruleset {
    let yaml = format!(
        "- rule: Read demo secret\n  desc: d\n  condition: evt.type = openat and fd.name = {SECRET}\n  \
         output: secret read by %proc.name (parent=%proc.pname container=%container.id)\n  \
         priority: WARNING\n  tags: [test]\n"
    );
    Ruleset::from_text("demo.yaml", &yaml, haechi_rules::Options::default()).unwrap()
}

/// A task of the container at `ts` seconds.
fn task(pid: u32, ppid: u32, comm: &str, ts: u64) -> Task {
    Task {
        ts_ns: ts * 1_000_000_000,
        cgroup_id: 4242,
        pid,
        tid: pid,
        ppid,
        uid: 0,
        gid: 0,
        cap_effective: Some(0),
        comm: comm.into(),
    }
}

fn exec(task: Task, argv: &[&str]) -> Event {
    Event::Exec(Exec {
        ruid: 0,
        rgid: 0,
        loginuid: None,
        tty: 0,
        filename: format!("/bin/{}", argv[0]),
        exe_path: "/bin/busybox".into(),
        argv: argv.iter().map(|a| a.to_string()).collect(),
        args_truncated: false,
        cwd: "/".into(),
        cgroup: format!("/system.slice/docker-{ID}.scope"),
        vpid: task.pid - 99,
        exe_upper_layer: false,
        task,
    })
}

/// What the kernel reported of a shell in the container, running when the recording began,
/// that runs `cat SECRET` three times.
fn recorded() -> Vec<Observation> {
    let shell = Process {
        pid: 100,
        ppid: 90,
        name: "sh".into(),
        exe_path: "/bin/busybox".into(),
        argv: vec!["sh".into()],
        cwd: "/".into(),
        cgroup: format!("/system.slice/docker-{ID}.scope"),
        vpid: Some(1),
        ..Process::default()
    };
    let mut events = Vec::new();
    for (i, pid) in (101..104).enumerate() {
        let ts = 2 + i as u64;
        events.push(Event::Fork {
            task: task(100, 90, "sh", ts),
            child_pid: pid,
        });
        events.push(exec(task(pid, 100, "cat", ts), &["cat", SECRET]));
        events.push(Event::Syscall(SyscallRecord {
            task: task(pid, 100, "cat", ts),
            syscall: syscalls::by_name("openat").unwrap(),
            ret: 3,
            args: [-100i64 as u64, 0x7ffd_0000, 0, 0, 0, 0],
            strings: [Some(SECRET.into()), None, None],
            fd_path: Some(SECRET.into()),
            dir: None,
            endpoints: None,
            addr: None,
        }));
        events.push(Event::Exit {
            task: task(pid, 100, "cat", ts),
            exit_code: 0,
        });
    }
    std::iter::once(Observation::Running(shell))
        .chain(events.into_iter().map(Observation::Event))
        .collect()
}

/// The container's runtime state as runc keeps it, with the annotations CRI writes: the
/// stand-in for the container engine.
fn runtime_state(root: &Path) {
    let bundle = root.join("bundle");
    std::fs::create_dir_all(root.join(ID)).unwrap();
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(
        root.join(ID).join("state.json"),
        format!(
            r#"{{"config":{{"labels":["bundle={}"]}}}}"#,
            bundle.display()
        ),
    )
    .unwrap();
    std::fs::write(
        bundle.join("config.json"),
        r#"{"annotations":{"io.kubernetes.cri.container-name":"web",
            "io.kubernetes.cri.image-name":"registry.local/shop/web:1.0",
            "io.kubernetes.cri.sandbox-name":"web-0",
            "io.kubernetes.cri.sandbox-namespace":"shop"}}"#,
    )
    .unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("events.jsonl");
    let mut text = Vec::new();
    let observations = recorded();
    for observation in &observations {
        recording::write(observation, haechi_events::boot_to_epoch_ns(), &mut text).unwrap();
    }
    // A line that is not a recorded event is skipped and counted, never fatal.
    text.extend_from_slice(b"{\"kind\":\"teleport\"}\n");
    std::fs::write(&recording, text).unwrap();
    let runtime_root = dir.path().join("runc");
    runtime_state(&runtime_root);
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
            sources: vec![Box::new(Replay::open(&recording).unwrap())],
            engines: Engines {
                docker_socket: dir.path().join("no-docker.sock"),
                containerd_sockets: Vec::new(),
                runtime_roots: vec![runtime_root],
            },
            format: Format::Json,
            events: false,
            rules: Some(rules()),
            enforce: None,
            sinks,
            dedup: Some(Duration::from_secs(3600)),
            metrics: metrics.clone(),
        })
        .expect("agent starts");
        // The replay ends the run where the recording ends.
        let (_no_reloads, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        let run = agent.run(&mut out, std::future::pending(), &mut reloads);
        let summary = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the replay ends")
            .unwrap();
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

    // The process table followed the forks and execs; the container was attributed from its
    // cgroup path and described by its runtime state before the first alert was judged.
    let first = &written[0]["output_fields"];
    assert_eq!(first["proc.name"], "cat");
    assert_eq!(first["proc.pname"], "sh");
    assert_eq!(first["container.id"], ID[..12]);
    assert_eq!(first["container.name"], "web");
    assert_eq!(
        first["container.image.repository"],
        "registry.local/shop/web"
    );
    assert_eq!(first["k8s.pod.name"], "web-0");
    assert_eq!(first["k8s.ns.name"], "shop");
    assert_eq!(
        summary.replayed,
        Some(Replayed {
            observations: observations.len() as u64,
            skipped: 1
        })
    );

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
    assert_eq!(opens, 3);
    let evaluated = sample(&body, "haechi_rules_events_evaluated_total");
    let events: u64 = summary.by_type.values().sum();
    assert_eq!(evaluated, events, "every event is tested against the rules");
    let recorded_events = observations
        .iter()
        .filter(|o| matches!(o, Observation::Event(_)))
        .count();
    assert_eq!(
        events, recorded_events as u64,
        "the running shell is no event"
    );
    assert_eq!(
        sample(&body, "haechi_agent_events_lost_total"),
        summary.kernel.map_or(0, |kernel| kernel.lost)
    );
}
