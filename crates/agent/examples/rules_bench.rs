//! Events per second through a ruleset on one core, the way `haechi agent` evaluates them:
//! `cargo run --release -p haechi-agent --example rules_bench -- RULES.yaml...` (bench/rules.sh
//! runs it pinned to one core on the default rules and on Falco's stable ruleset). The events
//! are sensor events with their process, ancestors and container, in a mix like a busy node's:
//! mostly opens, then process starts, forks, exits and network calls. Figures are events per second
//! of the thread's CPU time (the machine may be busy with other work); each is measured
//! twice in the same run: through the typed view the agent uses, and through the JSON map of
//! Falco fields (`--events`) it used before. Prints figures; asserts nothing.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use haechi_agent::accounts::Accounts;
use haechi_agent::dns::ServerNames;
use haechi_agent::fields::{self, ContainerView, Context};
use haechi_agent::process::Process;
use haechi_agent::rules::Rules;
use haechi_events::syscalls::by_name;
use haechi_events::{Endpoints, Event, Exec, SockAddr, SyscallRecord, Task};
use haechi_rules::{Options, Ruleset};

const EVENTS: usize = 100_000;
const PASSES: usize = 5;
/// Events the agent takes from the ring buffer at a time.
const BATCH: usize = 1024;
const BOOT_TO_EPOCH_NS: u64 = 1_700_000_000_000_000_000;

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

const PROCS: &[&str] = &[
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

const FILES: &[&str] = &[
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

/// One event with what the agent knows around it.
#[derive(Clone)]
struct Sample {
    event: Event,
    process: Arc<Process>,
    container: usize,
}

fn process(pid: u32, ppid: u32, name: &str) -> Process {
    Process {
        pid,
        ppid,
        name: name.to_owned(),
        exe_path: format!("/usr/bin/{name}"),
        argv: vec![format!("/usr/bin/{name}"), "--serve".to_owned()],
        cwd: "/app".to_owned(),
        uid: 1000,
        vpid: Some(pid % 100),
        ..Process::default()
    }
}

fn syscall(task: Task, name: &str, ret: i64) -> SyscallRecord {
    SyscallRecord {
        task,
        syscall: by_name(name).expect("a syscall the sensor knows"),
        ret,
        args: [0; 6],
        strings: [None, None, None],
        fd_path: None,
        dir: None,
        endpoints: None,
        addr: None,
    }
}

fn sample(rng: &mut Rng, i: usize) -> Sample {
    let name = rng.pick(PROCS);
    let container = usize::from(!rng.next().is_multiple_of(3));
    let pid = 1000 + (i % 5000) as u32;
    let task = Task {
        ts_ns: i as u64 * 1000,
        cgroup_id: 1,
        pid,
        tid: pid,
        ppid: 1,
        uid: 1000,
        gid: 1000,
        cap_effective: Some(0),
        comm: name.to_owned(),
    };
    let event = match rng.next() % 100 {
        0..50 => {
            let file = rng.pick(FILES);
            let flags = if rng.next().is_multiple_of(4) {
                libc::O_WRONLY | libc::O_CREAT
            } else {
                libc::O_RDONLY | libc::O_CLOEXEC
            };
            let mut s = syscall(task, "openat", 3);
            s.args[2] = flags as u64;
            s.strings[0] = Some(file.to_owned());
            s.fd_path = Some(file.to_owned());
            Event::Syscall(s)
        }
        50..65 => Event::Exec(Exec {
            task,
            ruid: 1000,
            rgid: 1000,
            loginuid: None,
            tty: 0,
            filename: format!("/usr/bin/{name}"),
            exe_path: format!("/usr/bin/{name}"),
            argv: vec![format!("/usr/bin/{name}"), "--serve".to_owned()],
            args_truncated: false,
            cwd: "/app".to_owned(),
            cgroup: String::new(),
            vpid: pid % 100,
            exe_upper_layer: false,
        }),
        65..75 => Event::Fork {
            task,
            child_pid: 9999,
        },
        75..82 => Event::Exit { task, exit_code: 0 },
        82..94 => {
            let server: SocketAddr = if i.is_multiple_of(2) {
                "10.96.0.1:443"
            } else {
                "93.184.216.34:443"
            }
            .parse()
            .expect("an address");
            let local = SocketAddr::from(([10, 0, 3, 7], 40000 + (i % 20000) as u16));
            let mut s = syscall(task, "connect", 0);
            s.endpoints = Some(Endpoints {
                family: libc::AF_INET as u16,
                kind: libc::SOCK_STREAM as u16,
                protocol: libc::IPPROTO_TCP as u16,
                local: Some(local),
                remote: Some(server),
            });
            s.addr = Some(SockAddr::Inet(server));
            Event::Syscall(s)
        }
        94..97 => {
            let mut s = syscall(task, "unlinkat", 0);
            s.strings[0] = Some("/tmp/cache/obj".to_owned());
            Event::Syscall(s)
        }
        _ => {
            let mut s = syscall(task, "socket", 5);
            s.args[..3].copy_from_slice(&[libc::AF_INET as u64, libc::SOCK_STREAM as u64, 0]);
            Event::Syscall(s)
        }
    };
    Sample {
        event,
        process: Arc::new(process(pid, 1, name)),
        container,
    }
}

/// Seconds of CPU this thread has used: what one core spends, whatever else the machine runs.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Events per CPU second of `run` over every sample, at best over [`PASSES`] passes (and one
/// to warm up).
fn rate(samples: &[Sample], mut run: impl FnMut(&Event, &Context<'_>) -> usize) -> (f64, usize) {
    let server_names = ServerNames::default();
    let accounts = Accounts::parse("app:x:1000:1000::/app:/bin/sh", "app:x:1000:");
    let ancestors = [
        Arc::new(process(1, 0, "containerd-shim")),
        Arc::new(process(0, 0, "systemd")),
    ];
    let containers = [
        ContainerView::default(),
        ContainerView {
            id: "3f1c2a9b7d10e5a4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0".to_owned(),
            name: Some("web".to_owned()),
            image_repository: Some("nginx".to_owned()),
            image_tag: Some("1.27".to_owned()),
            pod_name: Some("web-0".to_owned()),
            pod_namespace: Some("default".to_owned()),
            resolved: true,
            ..ContainerView::default()
        },
    ];
    // Like the agent, a batch of events decoded just before it is judged: the batch is copied
    // (fresh, in cache, as decoding leaves it), then timed. Each batch counts with its best time
    // over the passes, which leaves out what other work on the machine took from the core.
    let mut best = vec![f64::MAX; samples.len().div_ceil(BATCH)];
    let mut out = 0;
    for _ in 0..=PASSES {
        out = 0;
        for (batch, best) in samples.chunks(BATCH).zip(&mut best) {
            let batch = batch.to_vec();
            let start = cpu_seconds();
            for s in &batch {
                let cx = Context {
                    process: &s.process,
                    ancestors: &ancestors,
                    container: &containers[s.container],
                    accounts: &accounts,
                    boot_to_epoch_ns: BOOT_TO_EPOCH_NS,
                    sandbox: None,
                    server_names: &server_names,
                };
                out += run(black_box(&s.event), &cx);
            }
            *best = best.min(cpu_seconds() - start);
        }
    }
    (samples.len() as f64 / best.iter().sum::<f64>(), out)
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: rules_bench RULES.yaml...");
        std::process::exit(2);
    }
    let set = match Ruleset::from_files(&files, Options::default()) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!(
        "ruleset: {} rules enabled, {} fields",
        set.report().enabled,
        set.keys().len()
    );
    let rules = Rules::new(set);
    let set = rules.set();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let samples: Vec<Sample> = (0..EVENTS).map(|i| sample(&mut rng, i)).collect();

    // The rules alone: the first rule each event matches (Falco's `rule_matching: first`).
    let (view, alerts) = rate(&samples, |ev, cx| {
        usize::from(set.first_match(&rules.view(ev, cx)).is_some())
    });
    let (map, _) = rate(&samples, |ev, cx| {
        usize::from(set.first_match(&fields::render(ev, cx)).is_some())
    });
    println!(
        "evaluate:         view {view:>10.0} events/s   map (render + evaluate) {map:>9.0} events/s   x{:.1} ({alerts} alerts per {EVENTS} events)",
        view / map
    );
    // And the alerts those matches raise.
    let (view, _) = rate(&samples, |ev, cx| {
        let view = rules.view(ev, cx);
        set.first_match(&view)
            .map_or(0, |rule| set.alert(rule, &view, "bench").output.len())
    });
    let (map, _) = rate(&samples, |ev, cx| {
        let fields = fields::render(ev, cx);
        set.first_match(&fields)
            .map_or(0, |rule| set.alert(rule, &fields, "bench").output.len())
    });
    println!(
        "evaluate + alert: view {view:>10.0} events/s   map (render + evaluate) {map:>9.0} events/s   x{:.1}",
        view / map
    );
}
