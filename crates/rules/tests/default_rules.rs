//! haechi's default rules (rules/haechi_rules.yaml): each scenario they cover fires its rule on
//! an event shaped as `haechi agent --events` writes it, and its near misses fire nothing.

use haechi_rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, Loader, Options, Ruleset};
use serde_json::{Map, Value, json};

fn defaults() -> Ruleset {
    let strict = Options { strict: true };
    Ruleset::from_text(DEFAULT_RULES_NAME, DEFAULT_RULES, strict).unwrap_or_else(|e| panic!("{e}"))
}

/// A process in a Kubernetes pod's container, with `fields` on top.
fn in_container(fields: Value) -> Map<String, Value> {
    let mut event = json!({
        "evt.time": 1_763_884_800_000_000_000u64, "proc.pid": 4242, "thread.tid": 4242,
        "proc.ppid": 4200, "proc.name": "sh", "proc.exe": "/bin/sh", "proc.exepath": "/bin/sh",
        "proc.cmdline": "sh -c x", "proc.pname": "containerd-shim", "proc.aname[1]": "containerd-shim",
        "user.uid": 0, "user.name": "root", "group.gid": 0,
        "container.id": "3f9a1c2b7d4e", "container.full_id": "3f9a1c2b7d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
        "container.name": "web", "container.image.repository": "registry.example/web",
        "container.image.tag": "1.4.2", "k8s.pod.name": "web-7d4b9c", "k8s.ns.name": "shop",
    });
    merge(&mut event, fields);
    into_map(event)
}

/// The same, on the host.
fn on_host(fields: Value) -> Map<String, Value> {
    let mut event = Value::Object(in_container(fields));
    let map = event.as_object_mut().unwrap();
    for key in [
        "container.full_id",
        "container.image.repository",
        "container.image.tag",
        "k8s.pod.name",
        "k8s.ns.name",
    ] {
        map.remove(key);
    }
    map.insert("container.id".into(), json!("host"));
    map.insert("container.name".into(), json!("host"));
    into_map(event)
}

fn merge(base: &mut Value, fields: Value) {
    for (k, v) in into_map(fields) {
        base[k] = v;
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn open(path: &str, flags: &str, process: &str) -> Value {
    let (directory, filename) = path.rsplit_once('/').unwrap();
    json!({"evt.type": "openat", "evt.res": "SUCCESS", "evt.rawres": 3, "evt.arg.flags": flags,
        "evt.is_open_read": flags.starts_with("O_RDONLY") || flags.starts_with("O_RDWR"),
        "evt.is_open_write": flags.starts_with("O_WRONLY") || flags.starts_with("O_RDWR"),
        "fd.typechar": "f", "fd.name": path, "fd.directory": directory, "fd.filename": filename,
        "proc.name": process, "proc.cmdline": format!("{process} {path}")})
}

fn exec(name: &str, exepath: &str) -> Value {
    json!({"evt.type": "execve", "evt.res": "SUCCESS", "evt.arg.filename": exepath,
        "proc.name": name, "proc.exe": exepath, "proc.exepath": exepath, "proc.cmdline": name})
}

fn connect(ip: &str, port: u16, process: &str) -> Value {
    json!({"evt.type": "connect", "evt.res": "EINPROGRESS", "evt.rawres": -115,
        "fd.typechar": "4", "fd.type": "ipv4", "fd.l4proto": "tcp", "fd.cip": "10.244.1.7",
        "fd.cport": 40112, "fd.sip": ip, "fd.sport": port,
        "fd.name": format!("10.244.1.7:40112->{ip}:{port}"), "proc.name": process})
}

/// `event` with the name a DNS answer gave its server.
fn named(mut event: Value, server: &str) -> Value {
    event["fd.sip.name"] = json!(server);
    event
}

fn syscall(kind: &str, rawres: i64, fields: Value) -> Value {
    let mut event = json!({"evt.type": kind, "evt.rawres": rawres,
        "evt.res": if rawres < 0 { "EPERM" } else { "SUCCESS" }});
    merge(&mut event, fields);
    event
}

fn fired(set: &Ruleset, event: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    set.matches(event, &mut out);
    out.into_iter()
        .map(|i| set.rules()[i].name.clone())
        .collect()
}

/// Asserts `rule` fires on each of `hits` and on none of `misses` (nor does any other rule).
fn scenario(rule: &str, hits: &[Map<String, Value>], misses: &[Map<String, Value>]) {
    let set = defaults();
    assert!(
        set.rules().iter().any(|r| r.name == rule),
        "no rule named {rule}"
    );
    for event in hits {
        assert_eq!(
            fired(&set, event),
            [rule],
            "{}",
            Value::Object(event.clone())
        );
    }
    for event in misses {
        assert!(
            fired(&set, event).is_empty(),
            "{}",
            Value::Object(event.clone())
        );
    }
}

#[test]
fn every_default_rule_compiles_and_carries_mitre_tags() {
    let set = defaults();
    assert_eq!(set.report().compiled, set.report().rules);
    assert!(set.report().unsupported.is_empty());
    for rule in set.rules() {
        assert!(
            rule.tags.iter().any(|t| t.starts_with("mitre_")),
            "{} has no MITRE tactic",
            rule.name
        );
        assert!(
            rule.tags.iter().any(|t| t.starts_with('T')),
            "{} has no MITRE technique",
            rule.name
        );
    }
}

#[test]
fn sensitive_file_read_by_untrusted_program() {
    scenario(
        "Read sensitive file by untrusted program",
        &[
            in_container(open("/etc/shadow", "O_RDONLY", "cat")),
            on_host(open(
                "/root/.ssh/id_ed25519",
                "O_RDONLY|O_CLOEXEC",
                "python3",
            )),
            on_host(open("/etc/sudoers.d/90-cloud", "O_RDONLY", "less")),
        ],
        &[
            on_host(open("/etc/shadow", "O_RDONLY|O_CLOEXEC", "sshd")),
            in_container(open("/etc/passwd", "O_RDONLY", "cat")),
            in_container(open("/etc/sudoers.dx", "O_RDONLY", "cat")),
        ],
    );
}

#[test]
fn service_account_token_read() {
    let token = "/run/secrets/kubernetes.io/serviceaccount/..2026_11_23_07_00_00.1/token";
    scenario(
        "Read service account token by unexpected program",
        &[
            in_container(open(token, "O_RDONLY", "curl")),
            in_container(open(
                "/var/run/secrets/kubernetes.io/serviceaccount/token",
                "O_RDONLY",
                "python3",
            )),
        ],
        &[
            in_container(open(token, "O_RDONLY", "kube-proxy")),
            in_container(open(
                "/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                "O_RDONLY",
                "curl",
            )),
            on_host(open(token, "O_RDONLY", "curl")),
        ],
    );
}

#[test]
fn writes_below_binary_directories() {
    let mut rename = in_container(syscall(
        "renameat2",
        0,
        json!({"proc.name": "mv", "fd.name": "/tmp/x", "evt.arg.oldpath": "/tmp/x",
            "evt.arg.newpath": "/usr/local/bin/kubectl"}),
    ));
    rename.remove("fd.typechar");
    scenario(
        "Write below binary directory",
        &[
            in_container(open("/usr/bin/ls", "O_WRONLY|O_CREAT|O_TRUNC", "cp")),
            on_host(open("/sbin/init", "O_RDWR", "python3")),
            rename,
        ],
        &[
            in_container(open("/usr/bin/ls", "O_RDONLY", "sh")),
            in_container(open("/usr/bin/ls", "O_WRONLY|O_CREAT|O_TRUNC", "dpkg")),
            in_container(open("/usr/binx/ls", "O_WRONLY", "cp")),
        ],
    );
}

#[test]
fn writes_below_etc() {
    let mut failed = in_container(open("/etc/passwd", "O_WRONLY|O_APPEND", "sh"));
    failed.insert("evt.rawres".into(), json!(-30));
    failed.insert("evt.res".into(), json!("EROFS"));
    scenario(
        "Write below etc",
        &[
            in_container(open("/etc/passwd", "O_WRONLY|O_APPEND", "sh")),
            on_host(open(
                "/etc/cron.d/backdoor",
                "O_WRONLY|O_CREAT|O_TRUNC",
                "python3",
            )),
        ],
        &[
            in_container(open("/etc/passwd", "O_RDONLY", "sh")),
            in_container(open("/etc/passwd", "O_WRONLY", "useradd")),
            failed,
        ],
    );
}

#[test]
fn package_manager_in_container() {
    scenario(
        "Package management process launched in container",
        &[
            in_container(exec("apt-get", "/usr/bin/apt-get")),
            in_container(exec("pip3", "/usr/local/bin/pip3")),
        ],
        &[
            on_host(exec("apt-get", "/usr/bin/apt-get")),
            in_container(exec("nginx", "/usr/sbin/nginx")),
        ],
    );
}

#[test]
fn fileless_execution() {
    scenario(
        "Fileless execution via memfd_create",
        &[on_host(exec("payload", "/memfd:payload (deleted)"))],
        &[on_host(exec("payload", "/usr/local/bin/payload"))],
    );
}

#[test]
fn drop_and_execute() {
    let run = |layer: bool| {
        let mut event = exec("xmrig", "/tmp/xmrig");
        event["proc.is_exe_upper_layer"] = json!(layer);
        event
    };
    let mut allowed = in_container(run(true));
    allowed.insert("container.image.repository".into(), json!("ci/builder"));
    let mut loader = Loader::new();
    loader.add_source(DEFAULT_RULES_NAME, DEFAULT_RULES);
    loader.add_source(
        "local.yaml",
        "- list: known_drop_and_execute_images\n  items: [ci/builder]\n  append: true\n",
    );
    let extended = loader
        .compile(Options { strict: true })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(fired(&extended, &allowed).is_empty());
    assert_eq!(
        fired(&defaults(), &allowed),
        ["Drop and execute new binary in container"]
    );
    scenario(
        "Drop and execute new binary in container",
        &[in_container(run(true))],
        &[
            in_container(run(false)),
            on_host(run(true)),
            // Processes read from /proc at start: the layer is not known.
            in_container(exec("xmrig", "/tmp/xmrig")),
        ],
    );
}

#[test]
fn shell_in_container() {
    let mut with_tty = in_container(exec("bash", "/usr/bin/bash"));
    with_tty.insert("proc.tty".into(), json!(34816));
    scenario(
        "Terminal shell in container",
        &[in_container(exec("sh", "/bin/busybox")), with_tty],
        &[
            on_host(exec("bash", "/usr/bin/bash")),
            in_container(exec("python3", "/usr/bin/python3")),
        ],
    );
}

#[test]
fn kubernetes_api_contact_from_container() {
    scenario(
        "Contact Kubernetes API server from container",
        &[in_container(connect("10.96.0.1", 443, "curl"))],
        &[
            in_container(connect("10.96.0.1", 443, "kubectl")),
            in_container(connect("10.96.0.10", 53, "curl")),
            in_container(connect("93.184.215.14", 443, "curl")),
            on_host(connect("10.96.0.1", 443, "curl")),
        ],
    );
}

#[test]
fn connection_to_c2_server() {
    scenario(
        "Outbound connection to C2 server",
        &[
            in_container(connect("192.0.2.66", 8443, "sh")),
            on_host(connect("198.51.100.23", 4444, "x")),
            in_container(named(
                connect("203.0.113.9", 443, "curl"),
                "c2.haechi.example",
            )),
        ],
        &[
            in_container(connect("192.0.2.67", 8443, "sh")),
            in_container(named(connect("203.0.113.9", 443, "curl"), "haechi.example")),
            in_container(named(
                connect("203.0.113.9", 443, "curl"),
                "c2.haechi.example.org",
            )),
        ],
    );
}

#[test]
fn packet_socket_in_container() {
    scenario(
        "Packet socket created in container",
        &[in_container(syscall(
            "socket",
            5,
            json!({"evt.arg.domain": "AF_PACKET", "proc.name": "tcpdump"}),
        ))],
        &[
            in_container(syscall("socket", 5, json!({"evt.arg.domain": "AF_INET"}))),
            on_host(syscall("socket", 5, json!({"evt.arg.domain": "AF_PACKET"}))),
        ],
    );
}

#[test]
fn privileged_container_start() {
    let start = |privileged: bool, vpid: u32| {
        let mut event = in_container(exec("nginx", "/usr/sbin/nginx"));
        event.insert("container.privileged".into(), json!(privileged));
        event.insert("proc.vpid".into(), json!(vpid));
        event
    };
    scenario(
        "Launch privileged container",
        &[start(true, 1)],
        &[start(false, 1), start(true, 27)],
    );
}

#[test]
fn kernel_module_load() {
    scenario(
        "Linux kernel module injection",
        &[in_container(syscall(
            "finit_module",
            0,
            json!({"proc.name": "insmod"}),
        ))],
        &[in_container(syscall(
            "finit_module",
            -1,
            json!({"proc.name": "insmod"}),
        ))],
    );
}

#[test]
fn ptrace_attach() {
    let ptrace = |request: &str| {
        in_container(syscall(
            "ptrace",
            0,
            json!({"evt.arg.request": request, "evt.arg.pid": 77,
            "proc.name": "gdb"}),
        ))
    };
    scenario(
        "PTRACE attached to process",
        &[ptrace("PTRACE_ATTACH"), ptrace("PTRACE_POKETEXT")],
        &[ptrace("PTRACE_TRACEME"), ptrace("PTRACE_CONT")],
    );
}

#[test]
fn mount_in_container() {
    let mount = json!({"evt.arg.dir": "/mnt/host", "evt.arg.dev": "/dev/sda1", "evt.arg.type": "ext4",
        "proc.name": "mount"});
    scenario(
        "Mount launched in container",
        &[in_container(syscall("mount", 0, mount.clone()))],
        &[
            in_container(syscall("mount", -1, mount.clone())),
            on_host(syscall("mount", 0, mount)),
        ],
    );
}

#[test]
fn release_agent_and_core_pattern_escapes() {
    scenario(
        "Container escape via release_agent or core_pattern",
        &[
            in_container(open(
                "/sys/fs/cgroup/rdma/release_agent",
                "O_WRONLY|O_TRUNC",
                "sh",
            )),
            in_container(open("/proc/sys/kernel/core_pattern", "O_WRONLY", "sh")),
        ],
        &[
            in_container(open("/sys/fs/cgroup/rdma/release_agent", "O_RDONLY", "cat")),
            in_container(open("/proc/sys/kernel/core_pattern_x", "O_WRONLY", "sh")),
        ],
    );
}

#[test]
fn log_clearing() {
    let unlink = |process: &str| {
        in_container(syscall(
            "unlinkat",
            0,
            json!({"fd.name": "/var/log/nginx/access.log",
            "proc.name": process}),
        ))
    };
    scenario(
        "Clear log activities",
        &[
            on_host(open("/var/log/auth.log", "O_WRONLY|O_TRUNC", "sh")),
            unlink("rm"),
        ],
        &[
            on_host(open("/var/log/auth.log", "O_WRONLY|O_APPEND", "rsyslogd")),
            on_host(open("/var/log/auth.log", "O_WRONLY|O_TRUNC", "logrotate")),
            unlink("logrotate"),
            on_host(open("/var/logx/a.log", "O_WRONLY|O_TRUNC", "sh")),
        ],
    );
}
