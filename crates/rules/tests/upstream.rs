//! The upstream Falco rulesets (vendored in tests/falco, see SOURCE.md there): the stable file compiles completely, the
//! incubating and sandbox files load with whatever is unsupported reported by name.

use std::path::PathBuf;

use haechi_rules::{Options, Ruleset};

fn compat(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/falco")
        .join(name)
}

fn load(files: &[&str]) -> Ruleset {
    let paths: Vec<PathBuf> = files.iter().map(|f| compat(f)).collect();
    match Ruleset::from_files(&paths, Options::default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn stable_rules_compile_completely() {
    let set = load(&["falco_rules.yaml"]);
    let report = set.report();
    println!("{report}");
    assert_eq!(report.rules, 25);
    assert!(report.unsupported.is_empty(), "{report}");
    assert_eq!(report.compiled, 25);
}

#[test]
fn incubating_and_sandbox_load() {
    for file in ["falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let set = load(&["falco_rules.yaml", file]);
        println!("{file}: {}", set.report());
    }
}

#[test]
fn incubating_and_sandbox_report_exactly_what_is_unsupported() {
    let incubating = load(&["falco_rules.yaml", "falco-incubating_rules.yaml"]);
    assert_eq!(incubating.report().rules, 56);
    assert!(
        incubating.report().unsupported.is_empty(),
        "{}",
        incubating.report()
    );
    let sandbox = load(&["falco_rules.yaml", "falco-sandbox_rules.yaml"]);
    let report = sandbox.report();
    assert_eq!(report.rules, 62);
    let names: Vec<_> = report.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(
        names,
        [
            "Launch Sensitive Mount Container",
            "Java Process Class File Download"
        ]
    );
    assert_eq!(report.compiled, 60);
}

fn fired(set: &Ruleset, ev: serde_json::Value) -> Vec<String> {
    let serde_json::Value::Object(ev) = ev else {
        unreachable!()
    };
    let mut out = Vec::new();
    set.matches(&ev, &mut out);
    out.into_iter()
        .map(|i| set.rules()[i].name.clone())
        .collect()
}

/// Events shaped like `haechi agent --events` writes them.
#[test]
fn stable_rules_fire_on_agent_events() {
    use serde_json::json;
    let set = load(&["falco_rules.yaml"]);
    let shell = json!({"evt.type": "execve", "evt.time": 1_700_000_000_000_000_000u64,
        "evt.res": "SUCCESS", "proc.pid": 4242, "proc.name": "bash", "proc.exe": "/bin/bash",
        "proc.exepath": "/bin/bash", "proc.cmdline": "bash", "proc.args": "", "proc.tty": 34816,
        "user.uid": 0, "user.name": "root", "user.loginuid": -1,
        "container.id": "0123456789ab", "container.name": "web"});
    assert!(fired(&set, shell).contains(&"Terminal shell in container".to_owned()));

    let shadow = json!({"evt.type": "openat", "evt.rawres": 3, "evt.res": "SUCCESS",
        "evt.is_open_read": true, "evt.is_open_write": false, "evt.arg.flags": "O_RDONLY",
        "fd.typechar": "f", "fd.name": "/etc/shadow", "fd.directory": "/etc", "fd.filename": "shadow",
        "proc.name": "python3", "proc.pname": "bash", "proc.cmdline": "python3 x.py",
        "container.id": "host", "user.uid": 0});
    assert_eq!(
        fired(&set, shadow.clone()),
        ["Read sensitive file untrusted"]
    );
    let mut failed = shadow;
    failed["evt.rawres"] = json!(-13);
    failed["evt.res"] = json!("EACCES");
    assert!(fired(&set, failed).is_empty());

    let packet = json!({"evt.type": "socket", "evt.arg.domain": "AF_PACKET", "proc.name": "python3",
        "container.id": "0123456789ab", "evt.rawres": 5});
    assert_eq!(fired(&set, packet), ["Packet socket created in container"]);

    let ssh = json!({"evt.type": "connect", "evt.res": "SUCCESS", "evt.rawres": 0,
        "fd.typechar": "4", "fd.l4proto": "tcp", "fd.cip": "10.0.0.2", "fd.cport": 50000,
        "fd.sip": "203.0.113.9", "fd.sport": 4444, "proc.exe": "/usr/bin/ssh", "proc.name": "ssh"});
    assert_eq!(
        fired(&set, ssh.clone()),
        ["Disallowed SSH Connection Non Standard Port"]
    );
    let mut private = ssh;
    private["fd.sip"] = json!("192.168.1.9");
    assert!(fired(&set, private).is_empty());

    let ptrace = json!({"evt.type": "ptrace", "evt.arg.request": "PTRACE_ATTACH", "evt.rawres": 0,
        "proc.name": "gdbx", "proc.pname": "bash"});
    assert_eq!(fired(&set, ptrace), ["PTRACE attached to process"]);

    let benign = json!({"evt.type": "openat", "evt.rawres": 3, "evt.is_open_read": true,
        "fd.typechar": "f", "fd.name": "/usr/lib/libc.so.6", "proc.name": "ls", "container.id": "host"});
    assert!(fired(&set, benign).is_empty());
}
