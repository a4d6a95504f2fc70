//! Events per second through a ruleset on one core, on the replay path of `haechi rules test`:
//! `cargo run --release -p haechi-rules --example bench -- RULES.yaml...` (bench/rules.sh runs it
//! after the agent's path, `crates/agent/examples/rules_bench.rs`, on the default rules and on
//! Falco's stable ruleset). The events are generated in the flat JSON shape `haechi agent
//! --events` writes, in a mix like a busy node's: mostly opens, then process starts and exits,
//! forks and network calls. Prints figures; asserts nothing.

use std::hint::black_box;
use std::time::Instant;

use haechi_rules::{Options, Ruleset};
use serde_json::{Map, Value, json};

const EVENTS: usize = 100_000;

/// A small deterministic generator, so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn event(rng: &mut Rng, i: usize) -> Map<String, Value> {
    let procs = [
        "nginx",
        "python3",
        "java",
        "node",
        "bash",
        "sh",
        "postgres",
        "containerd-shim",
        "kubelet",
        "curl",
    ];
    let files = [
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/etc/ld.so.cache",
        "/proc/self/stat",
        "/var/log/nginx/access.log",
        "/tmp/cache/obj",
        "/etc/passwd",
        "/app/config.yaml",
        "/dev/null",
        "/sys/fs/cgroup/cpu.max",
        "/etc/shadow",
    ];
    let name = rng.pick(&procs);
    let container = if rng.next().is_multiple_of(3) {
        "host"
    } else {
        "3f1c2a9b7d10"
    };
    let mut m = json!({
        "evt.time": 1_700_000_000_000_000_000u64 + i as u64 * 1000,
        "proc.pid": 1000 + (i % 5000), "thread.tid": 1000 + (i % 5000), "proc.ppid": 1,
        "proc.name": name, "proc.exe": format!("/usr/bin/{name}"), "proc.exepath": format!("/usr/bin/{name}"),
        "proc.cmdline": format!("{name} --serve"), "proc.args": "--serve", "proc.cwd": "/app", "proc.tty": 0,
        "proc.pname": "containerd-shim", "proc.aname[1]": "containerd-shim", "proc.aname[2]": "systemd",
        "user.uid": 1000, "user.name": "app", "user.loginuid": -1, "group.gid": 1000,
        "container.id": container, "container.name": "web", "container.image.repository": "nginx",
    });
    let m2 = m.as_object_mut().expect("object");
    let kind = rng.next() % 100;
    let mut set = |k: &str, v: Value| {
        m2.insert(k.to_owned(), v);
    };
    match kind {
        0..50 => {
            let file = rng.pick(&files);
            let write = rng.next().is_multiple_of(4);
            set("evt.type", json!("openat"));
            set("evt.res", json!("SUCCESS"));
            set("evt.rawres", json!(3));
            set(
                "evt.arg.flags",
                json!(if write {
                    "O_WRONLY|O_CREAT"
                } else {
                    "O_RDONLY|O_CLOEXEC"
                }),
            );
            set("evt.is_open_read", json!(!write));
            set("evt.is_open_write", json!(write));
            set("fd.typechar", json!("f"));
            set("fd.name", json!(file));
            let (dir, base) = file.rsplit_once('/').unwrap_or(("/", file));
            set("fd.directory", json!(dir));
            set("fd.filename", json!(base));
        }
        50..65 => {
            set("evt.type", json!("execve"));
            set("evt.res", json!("SUCCESS"));
            set("evt.arg.filename", json!(format!("/usr/bin/{name}")));
        }
        65..75 => {
            set("evt.type", json!("clone"));
            set("evt.res", json!("SUCCESS"));
            set("evt.arg.child_pid", json!(9999));
        }
        75..82 => {
            set("evt.type", json!("procexit"));
            set("evt.arg.status", json!(0));
        }
        82..94 => {
            set("evt.type", json!("connect"));
            set("evt.res", json!("SUCCESS"));
            set("evt.rawres", json!(0));
            set("fd.typechar", json!("4"));
            set("fd.type", json!("ipv4"));
            set("fd.l4proto", json!("tcp"));
            set("fd.cip", json!("10.0.3.7"));
            set("fd.cport", json!(40000 + i % 20000));
            set(
                "fd.sip",
                json!(if i.is_multiple_of(2) {
                    "10.96.0.1"
                } else {
                    "93.184.216.34"
                }),
            );
            set("fd.sport", json!(443));
            set("fd.name", json!("10.0.3.7:40000->10.96.0.1:443"));
        }
        94..97 => {
            set("evt.type", json!("unlinkat"));
            set("evt.res", json!("SUCCESS"));
            set("evt.rawres", json!(0));
            set("fd.name", json!("/tmp/cache/obj"));
        }
        _ => {
            set("evt.type", json!("socket"));
            set("evt.res", json!("SUCCESS"));
            set("evt.rawres", json!(5));
            set("evt.arg.domain", json!("AF_INET"));
        }
    }
    m.as_object().cloned().unwrap_or_default()
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: bench RULES.yaml...");
        std::process::exit(2);
    }
    let start = Instant::now();
    let set = match Ruleset::from_files(&files, Options::default()) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let load = start.elapsed();
    let report = set.report();
    println!(
        "ruleset: {} rules enabled ({} unsupported), loaded and compiled in {:.1} ms",
        report.enabled,
        report.unsupported.len(),
        load.as_secs_f64() * 1e3
    );

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let events: Vec<Map<String, Value>> = (0..EVENTS).map(|i| event(&mut rng, i)).collect();
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect();

    // Warm up, then measure evaluation alone (rule_matching: all), best of five passes.
    let mut matched = Vec::new();
    let mut alerts = 0usize;
    for ev in &events {
        matched.clear();
        set.matches(ev, &mut matched);
        alerts += matched.len();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for ev in &events {
            matched.clear();
            set.matches(black_box(ev), &mut matched);
            black_box(&matched);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "evaluation:            {:>12.0} events/s ({} events, {} matches per pass)",
        EVENTS as f64 / best,
        EVENTS,
        alerts
    );

    // End to end: JSON line parsed, evaluated, alerts rendered.
    let t = Instant::now();
    let mut rendered = 0usize;
    for line in &lines {
        let ev: Map<String, Value> = serde_json::from_str(line).unwrap_or_default();
        if let Some(rule) = set.first_match(&ev) {
            rendered += black_box(set.alert(rule, &ev, "bench")).output.len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "parse + evaluate + alert: {:>9.0} events/s ({} bytes of alert text)",
        EVENTS as f64 / secs,
        rendered
    );
}
