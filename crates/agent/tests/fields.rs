//! The rules and `--events` never disagree: for generated events of every kind, each field the
//! rules' view answers equals the value in the rendered JSON map, every key of the map is in the
//! catalogue, and an alert rendered from the view is the one rendered from the map.

use std::net::SocketAddr;
use std::sync::Arc;

use haechi_agent::accounts::Accounts;
use haechi_agent::dns::ServerNames;
use haechi_agent::fields::{self, ContainerView, Context, Field, Named};
use haechi_agent::process::Process;
use haechi_agent::rules::Rules;
use haechi_events::syscalls::SYSCALLS;
use haechi_events::{Endpoints, Event, Exec, SockAddr, SyscallRecord, Task};
use haechi_rules::{Options, Ruleset, json_val};

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn maybe(&mut self, items: &[&str]) -> Option<String> {
        self.coin().then(|| self.pick(items).to_owned())
    }
}

const PATHS: &[&str] = &[
    "/etc/shadow",
    "etc/passwd",
    "x",
    "/",
    "/tmp/",
    "rel/dir/file",
    "/proc/self/mem",
];

fn task(rng: &mut Rng) -> Task {
    Task {
        // Within the hour the DNS answer below names its address for.
        ts_ns: rng.below(1 << 40) as u64,
        cgroup_id: rng.below(3) as u64,
        pid: rng.below(100_000) as u32,
        tid: rng.below(100_000) as u32,
        ppid: rng.below(100) as u32,
        uid: rng.pick(&["0", "1000", "4294967295"]).parse().unwrap_or(0),
        gid: rng.below(2000) as u32,
        cap_effective: rng.coin().then(|| rng.next() & 0x1ff_ffff_ffff),
        comm: rng.pick(&["sh", "nginx", "kworker/0:1", ""]).to_owned(),
    }
}

fn addr(rng: &mut Rng) -> Option<SocketAddr> {
    let a = rng.pick(&[
        "10.0.0.1:443",
        "[::1]:8080",
        "0.0.0.0:0",
        "93.184.216.34:53",
    ]);
    rng.coin().then(|| a.parse().ok()).flatten()
}

fn event(rng: &mut Rng) -> Event {
    match rng.below(10) {
        0 => Event::Exec(Exec {
            task: task(rng),
            ruid: 0,
            rgid: 0,
            loginuid: None,
            tty: 0,
            filename: rng.pick(PATHS).to_owned(),
            exe_path: rng.pick(&["/bin/sh", "/memfd:x (deleted)"]).to_owned(),
            argv: (0..rng.below(4)).map(|i| format!("arg{i}")).collect(),
            args_truncated: rng.coin(),
            cwd: "/".into(),
            cgroup: String::new(),
            vpid: 1,
            exe_upper_layer: rng.coin(),
        }),
        1 => Event::Fork {
            task: task(rng),
            child_pid: rng.below(100_000) as u32,
        },
        2 => Event::Exit {
            task: task(rng),
            exit_code: rng.pick(&["0", "-1", "256", "9"]).parse().unwrap_or(0),
        },
        _ => {
            let syscall = &SYSCALLS[rng.below(SYSCALLS.len())];
            let mut args = [0u64; 6];
            for a in &mut args {
                *a = match rng.below(4) {
                    0 => rng.next(),
                    1 => rng.below(8) as u64,
                    2 => (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64,
                    _ => u64::MAX,
                };
            }
            let endpoints = rng.coin().then(|| Endpoints {
                family: [libc::AF_INET, libc::AF_INET6, libc::AF_UNIX, 99][rng.below(4)] as u16,
                kind: 1,
                protocol: [libc::IPPROTO_TCP, libc::IPPROTO_UDP, libc::IPPROTO_ICMP, 0]
                    [rng.below(4)] as u16,
                local: addr(rng),
                remote: addr(rng),
            });
            let sockaddr = match rng.below(3) {
                0 => addr(rng).map(SockAddr::Inet),
                1 => Some(SockAddr::Unix("/run/docker.sock".into())),
                _ => None,
            };
            Event::Syscall(SyscallRecord {
                task: task(rng),
                syscall,
                ret: [0, 3, -2, -13, -4095][rng.below(5)],
                args,
                strings: [rng.maybe(PATHS), rng.maybe(PATHS), rng.maybe(&["tmpfs"])],
                fd_path: rng.maybe(PATHS),
                dir: rng.maybe(&["/var/lib/", "/work", "/"]),
                endpoints,
                addr: sockaddr,
            })
        }
    }
}

fn process(rng: &mut Rng, pid: u32) -> Arc<Process> {
    Arc::new(Process {
        pid,
        ppid: rng.below(100) as u32,
        name: rng.pick(&["containerd-shim", "bash", "systemd"]).to_owned(),
        exe_path: rng.pick(&["/usr/bin/bash", "/memfd:payload"]).to_owned(),
        argv: (0..rng.below(4)).map(|i| format!("-a{i}")).collect(),
        cwd: "/srv".into(),
        uid: 0,
        loginuid: rng.coin().then_some(1000),
        tty: rng.below(3) as u32,
        cgroup: String::new(),
        vpid: rng.coin().then_some(1),
        exe_upper_layer: rng.coin().then(|| rng.coin()),
        start_ns: rng.coin().then(|| rng.below(1 << 30) as u64),
    })
}

fn container(rng: &mut Rng) -> ContainerView {
    if rng.coin() {
        return ContainerView::default();
    }
    ContainerView {
        id: rng.pick(&["3f1c2a9b7d10e2f4a5b6", "short"]).to_owned(),
        name: rng.maybe(&["web"]),
        image_repository: rng.maybe(&["nginx"]),
        image_tag: rng.maybe(&["1.27"]),
        privileged: rng.coin().then(|| rng.coin()),
        pod_name: rng.maybe(&["web-0"]),
        pod_namespace: rng.maybe(&["default"]),
        pod_uid: rng.maybe(&["0f2e"]),
        resolved: true,
        ..ContainerView::default()
    }
}

/// Every field of the agent's catalogue the rule engine knows, a few ancestor levels included.
fn names() -> Vec<String> {
    Named::ALL
        .iter()
        .map(|f| f.name().to_owned())
        .chain((1..=4).flat_map(|i| [format!("proc.aname[{i}]"), format!("proc.apid[{i}]")]))
        .filter(|n| {
            haechi_rules::fields::lookup(n).is_some_and(|(def, _)| {
                !matches!(def.source, haechi_rules::fields::Source::Unsupported(_))
            })
        })
        .collect()
}

/// A rule that names every field in its condition and its output, so every field is a key.
fn ruleset() -> Ruleset {
    let names = names();
    assert!(names.len() > 60, "the rule engine knows the agent's fields");
    let condition = names
        .iter()
        .map(|n| format!("{n} exists"))
        .collect::<Vec<_>>()
        .join(" or ");
    let output = names
        .iter()
        .map(|n| format!("{n}=%{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "- rule: everything\n  desc: d\n  condition: {condition}\n  output: \"{output}\"\n  priority: NOTICE\n"
    );
    Ruleset::from_text("everything.yaml", &text, Options { strict: true })
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What cgroup 1 learned at boot: api.example.test is 10.0.0.1.
fn server_names() -> ServerNames {
    use simple_dns::rdata::{A, RData};
    use simple_dns::{
        CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, ResourceRecord, TYPE,
    };

    let mut answer = Packet::new_reply(1);
    answer.set_flags(PacketFlag::RESPONSE);
    let name = Name::new_unchecked("api.example.test");
    answer.questions.push(Question::new(
        name.clone(),
        QTYPE::TYPE(TYPE::A),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    answer.answers.push(ResourceRecord::new(
        name,
        CLASS::IN,
        60,
        RData::A(A {
            address: u32::from_be_bytes([10, 0, 0, 1]),
        }),
    ));
    let mut names = ServerNames::default();
    names.learn(1, &answer.build_bytes_vec().unwrap(), 0);
    names
}

#[test]
fn the_view_and_the_rendered_map_never_disagree() {
    let rules = Rules::new(ruleset());
    let server_names = server_names();
    let accounts = Accounts::parse(
        "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/app:/bin/sh",
        "root:x:0:\napp:x:1000:",
    );
    let mut named_servers = 0;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..5_000 {
        let event = event(&mut rng);
        let p = process(&mut rng, event.task().pid);
        let ancestors: Vec<Arc<Process>> = (0..rng.below(4))
            .map(|i| process(&mut rng, 10 + i as u32))
            .collect();
        let container = container(&mut rng);
        let cx = Context {
            process: &p,
            ancestors: &ancestors,
            container: &container,
            accounts: &accounts,
            boot_to_epoch_ns: 1_700_000_000_000_000_000,
            sandbox: rng.coin().then_some("gvisor"),
            server_names: &server_names,
        };
        let map = fields::render(&event, &cx);
        named_servers += usize::from(map.contains_key("fd.sip.name"));
        // What `--events` writes is that map, byte for byte.
        let mut written = Vec::new();
        fields::write_json(&event, &cx, &mut written).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            serde_json::to_string(&map).unwrap(),
            "round {round}"
        );
        for (name, json) in &map {
            let field = Field::parse(name).unwrap_or_else(|| panic!("{name} is catalogued"));
            let value = fields::value(field, &event, &cx).map(fields::Value::into_json);
            assert_eq!(value.as_ref(), Some(json), "{name} in round {round}");
        }
        let view = rules.view(&event, &cx);
        for key in rules.set().keys() {
            assert_eq!(
                haechi_rules::Event::get(&view, key),
                map.get(key.name()).and_then(json_val),
                "{} in round {round}: {event:?}",
                key.name()
            );
        }
        let from_view = rules.set().first_match(&view);
        assert_eq!(from_view, rules.set().first_match(&map), "round {round}");
        if let Some(rule) = from_view {
            assert_eq!(
                rules.set().alert(rule, &view, "h"),
                rules.set().alert(rule, &map, "h"),
                "round {round}"
            );
        }
    }
    assert!(named_servers > 0, "some rounds name their server");
}

/// docs/rules.md says which fields `haechi agent` fills in (from the rules catalogue): the
/// agent's own catalogue must say the same.
#[test]
fn the_rules_catalogue_tells_what_the_agent_fills() {
    use haechi_rules::fields::{Arg, CATALOGUE, Source};
    let mut wrong = Vec::new();
    for def in CATALOGUE.iter().filter(|def| def.arg == Arg::None) {
        let filled = Field::parse(def.name).is_some();
        match def.source {
            Source::Agent if !filled => wrong.push(format!("{} is not filled", def.name)),
            Source::Event | Source::Unsupported(_) if filled => {
                wrong.push(format!("{} is filled", def.name))
            }
            _ => {}
        }
    }
    for &named in Named::ALL {
        // `evt.arg.flags` is `evt.arg` with an argument.
        let name = match named.name().strip_prefix("evt.arg.") {
            Some(_) => "evt.arg",
            None => named.name(),
        };
        if !CATALOGUE.iter().any(|def| def.name == name) {
            wrong.push(format!("{} is not catalogued", named.name()));
        }
    }
    assert!(wrong.is_empty(), "the rules catalogue is wrong: {wrong:#?}");
}
