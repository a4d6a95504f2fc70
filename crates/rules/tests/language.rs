//! The rule language end to end: YAML in, events through, alerts out.

use haechi_rules::{Options, Priority, Ruleset};
use serde_json::{Map, Value, json};

fn load(yaml: &str) -> Ruleset {
    Ruleset::from_text("test.yaml", yaml, Options::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(yaml: &str) -> String {
    match Ruleset::from_text("test.yaml", yaml, Options::default()) {
        Ok(_) => panic!("loaded:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn event(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn rule_with(prelude: &str, condition: &str) -> Ruleset {
    load(&format!(
        "{prelude}\n- rule: r\n  desc: d\n  condition: {}\n  output: o\n  priority: WARNING\n",
        serde_json::to_string(condition).unwrap()
    ))
}

fn fires_with(prelude: &str, condition: &str, ev: Value) -> bool {
    rule_with(prelude, condition)
        .first_match(&event(ev))
        .is_some()
}

fn fires(condition: &str, ev: Value) -> bool {
    fires_with("", condition, ev)
}

#[test]
fn string_operators() {
    let ev = json!({"proc.name": "Bash", "fd.name": "/etc/shadow", "proc.cmdline": "bash -c 'id'"});
    let yes = [
        "proc.name = Bash",
        "proc.name == Bash",
        "proc.name != bash",
        "proc.name < C",
        "proc.name <= Bash",
        "proc.name > A",
        "proc.name >= Bash",
        "fd.name contains shad",
        "proc.name icontains ASH",
        "fd.name bcontains 736861646f77",
        "fd.name startswith /etc/",
        "proc.name istartswith bA",
        "fd.name bstartswith 2f657463",
        "fd.name endswith dow",
        "fd.name glob '/etc/*'",
        "proc.name iglob 'b*H'",
        "fd.name pmatch (/usr, /etc)",
        "fd.name pmatch (/etc/shadow)",
        "fd.name pmatch (/)",
        "proc.name in (zsh, Bash)",
        "proc.name intersects (Bash)",
        "proc.name exists",
        "fd.name regex '/etc/s[a-z]+'",
        "proc.cmdline contains \"-c 'id'\"",
    ];
    for c in yes {
        assert!(fires(c, ev.clone()), "{c}");
    }
    let no = [
        "proc.name = bash",
        "fd.name contains passwd",
        "fd.name pmatch (/et, /usr)",
        "fd.name regex 'shadow'",
        "fd.name glob '/usr/*'",
        "proc.name in (zsh, sh)",
        "fd.name startswith /usr",
        "proc.env exists",
    ];
    for c in no {
        assert!(!fires(c, ev.clone()), "{c}");
    }
}

#[test]
fn number_bool_and_address_operators() {
    let ev = json!({"user.uid": 0, "proc.tty": 34816, "evt.is_open_write": true,
        "fd.cip": "10.1.2.3", "fd.sip": "93.184.216.34", "fd.cport": 40000, "fd.sport": 443,
        "evt.type": "connect", "fd.typechar": "4"});
    for c in [
        "user.uid = 0",
        "user.uid in (0, 1)",
        "proc.tty != 0",
        "proc.tty > 0x10",
        "proc.tty >= 34816",
        "user.uid < 1",
        "evt.is_open_write = true",
        "evt.is_open_write != false",
        "fd.sip = 93.184.216.34",
        "fd.ip = 10.1.2.3",
        "fd.ip != 8.8.8.8",
        "fd.net = 10.0.0.0/8",
        "fd.snet != 10.0.0.0/8",
        "not fd.snet in (10.0.0.0/8, 192.168.0.0/16)",
        "fd.lport = 40000",
        "fd.rport = 443",
        "fd.port in (443)",
        "fd.type = ipv4",
        "fd.sockfamily = ip",
        "evt.dir = <",
    ] {
        assert!(fires(c, ev.clone()), "{c}");
    }
    for c in [
        "user.uid = 1",
        "user.uid > 0",
        "fd.ip != 10.1.2.3",
        "fd.cnet != 10.0.0.0/8",
        "evt.is_open_write = false",
    ] {
        assert!(!fires(c, ev.clone()), "{c}");
    }
    // Accepting sockets are the server end: local is the server side.
    let accepted = json!({"evt.type": "accept4", "fd.cip": "1.2.3.4", "fd.sip": "10.0.0.1",
        "fd.cport": 5555, "fd.sport": 22});
    assert!(fires("fd.lport = 22 and fd.rport = 5555", accepted));
}

#[test]
fn missing_fields_fail_every_comparison() {
    let ev = json!({"proc.name": "x"});
    assert!(!fires("fd.name = a", ev.clone()));
    assert!(!fires("fd.name != a", ev.clone()));
    assert!(fires("not fd.name = a", ev.clone()));
    assert!(!fires("fd.name exists", ev.clone()));
    assert!(fires("not fd.name exists", ev.clone()));
    assert!(!fires("user.uid < 5", ev));
}

#[test]
fn precedence_and_parentheses() {
    let ev = json!({"proc.name": "a"});
    // and binds tighter than or; not tighter than and.
    assert!(fires(
        "proc.name = a or proc.name = b and proc.name = c",
        ev.clone()
    ));
    assert!(!fires(
        "(proc.name = a or proc.name = b) and proc.name = c",
        ev.clone()
    ));
    assert!(!fires("not proc.name = a and proc.name = a", ev.clone()));
    assert!(fires("not (proc.name = b and proc.name = a)", ev.clone()));
    assert!(fires("not not proc.name = a", ev.clone()));
    assert!(fires("((((proc.name=a))))", ev));
}

#[test]
fn transformers_and_field_comparison() {
    let ev = json!({"proc.name": "Bash", "proc.pname": "bash", "proc.exepath": "/usr/bin/bash",
        "proc.args": "aWQ=", "proc.ppid": 7, "proc.pid": 9});
    for c in [
        "tolower(proc.name) = bash",
        "toupper(proc.name) = BASH",
        "basename(proc.exepath) = bash",
        "len(proc.name) = 4",
        "b64(proc.args) = id",
        "tolower(proc.name) = val(proc.pname)",
        "proc.name != val(proc.pname)",
        "proc.pid > val(proc.ppid)",
        "proc.exepath endswith val(proc.pname)",
        "proc.pname = tolower(proc.name)",
    ] {
        assert!(fires(c, ev.clone()), "{c}");
    }
    assert!(!fires("proc.name = val(proc.pname)", ev.clone()));
    assert!(!fires("proc.name = val(proc.cwd)", ev));
}

#[test]
fn ancestors() {
    let ev = json!({"proc.name": "sh", "proc.pname": "node", "proc.aname[1]": "node",
        "proc.aname[2]": "containerd-shim", "proc.apid[2]": 10});
    assert!(fires("proc.aname = containerd-shim", ev.clone()));
    assert!(fires("proc.aname in (x, node)", ev.clone()));
    assert!(fires("proc.aname[2] startswith containerd", ev.clone()));
    assert!(fires(
        "proc.aname[0] = sh and proc.apid[2] = 10",
        ev.clone()
    ));
    assert!(!fires("proc.aname = systemd", ev.clone()));
    assert!(!fires("proc.aname[3] exists", ev));
}

#[test]
fn derived_descriptor_number() {
    let open = json!({"evt.type": "openat", "evt.rawres": 3});
    assert!(fires("fd.num >= 0", open));
    let failed = json!({"evt.type": "openat", "evt.rawres": -2});
    assert!(fires("fd.num = -1", failed));
    let read = json!({"evt.type": "read", "evt.rawres": 10});
    assert!(!fires("fd.num exists", read));
}

#[test]
fn macros_and_lists_in_any_order() {
    let prelude = r#"
- macro: shell
  condition: proc.name in (shells) and not safe
- macro: safe
  condition: proc.pname in (safe_parents)
- list: shells
  items: [bash, other_shells, '"sh -c"']
- list: other_shells
  items: [zsh, "runc:[1:CHILD]"]
- list: safe_parents
  items: []
"#;
    assert!(fires_with(
        prelude,
        "shell",
        json!({"proc.name": "zsh", "proc.pname": "x"})
    ));
    assert!(fires_with(
        prelude,
        "shell",
        json!({"proc.name": "runc:[1:CHILD]"})
    ));
    assert!(fires_with(prelude, "shell", json!({"proc.name": "sh -c"})));
    assert!(!fires_with(prelude, "shell", json!({"proc.name": "fish"})));
    // An empty list matches nothing.
    assert!(!fires_with(
        prelude,
        "proc.pname in (safe_parents)",
        json!({"proc.pname": "x"})
    ));
}

#[test]
fn append_and_override() {
    let yaml = r#"
- list: bins
  items: [a]
- macro: m
  condition: proc.name in (bins)
- rule: r
  desc: d
  condition: m
  output: "first %proc.name"
  priority: INFO
  tags: [one]
- list: bins
  items: [b]
  append: true
- macro: m
  condition: or proc.name = c
  append: true
- rule: r
  condition: and not proc.pname = p
  append: true
- rule: r
  output: "second %proc.name"
  priority: ERROR
  tags: [two]
  override:
    output: replace
    priority: replace
    tags: append
"#;
    let set = load(yaml);
    for (name, pname, want) in [
        ("a", "x", true),
        ("b", "x", true),
        ("c", "x", true),
        ("d", "x", false),
        ("a", "p", false),
    ] {
        let ev = event(json!({"proc.name": name, "proc.pname": pname}));
        assert_eq!(set.first_match(&ev).is_some(), want, "{name} {pname}");
    }
    let rule = &set.rules()[0];
    assert_eq!(rule.priority, Priority::Error);
    assert_eq!(rule.tags, ["one", "two"]);
    let ev = event(json!({"proc.name": "a"}));
    assert!(
        set.alert(0, &ev, "h")
            .output
            .contains(": Error second a container_id=")
    );

    let replaced = load(&format!(
        "{yaml}\n- list: bins\n  items: [z]\n  override:\n    items: replace\n- rule: r\n  enabled: false\n"
    ));
    assert!(!replaced.rules()[0].enabled);
    assert_eq!(replaced.report().enabled, 0);
    assert!(
        replaced
            .first_match(&event(json!({"proc.name": "a"})))
            .is_none()
    );
}

#[test]
fn exceptions_become_and_not() {
    let yaml = r#"
- list: allowed
  items: [cron, anacron]
- rule: r
  desc: d
  condition: fd.name startswith /etc
  output: o
  priority: WARNING
  exceptions:
    - name: by_proc_and_file
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [vim, /etc/hosts]
        - [nano, /etc/motd]
    - name: by_proc_list
      fields: proc.name
      values: [allowed, logrotate]
    - name: by_parent_in
      fields: [proc.pname, fd.directory]
      comps: [in, =]
      values:
        - [[sshd, su], /etc]
    - name: unused
      fields: [proc.name]
"#;
    let set = load(yaml);
    let fire = |name: &str, pname: &str, file: &str| {
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        set.first_match(&event(
            json!({"proc.name": name, "proc.pname": pname, "fd.name": file, "fd.directory": dir}),
        ))
        .is_some()
    };
    assert!(fire("vim", "x", "/etc/passwd"));
    assert!(!fire("vim", "x", "/etc/hosts"));
    assert!(!fire("nano", "x", "/etc/motd.d/x"));
    assert!(!fire("cron", "x", "/etc/passwd"));
    assert!(!fire("logrotate", "x", "/etc/passwd"));
    assert!(!fire("cat", "su", "/etc/passwd"));
    assert!(fire("cat", "su", "/etc/ssl/cert"));

    // Appending values to an exception.
    let appended = load(&format!(
        "{yaml}\n- rule: r\n  exceptions:\n    - name: by_proc_list\n      values: [cat]\n  append: true\n"
    ));
    let ev = event(json!({"proc.name": "cat", "fd.name": "/etc/passwd"}));
    assert!(appended.first_match(&ev).is_none());
}

#[test]
fn alerts_have_falco_shape() {
    let set = load(
        r#"
- rule: Shell
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: "Shell %proc.name (parent=%proc.pname gp=%proc.aname[2] at %evt.time uid=%user.uid)."
  priority: NOTICE
  tags: [shell, T1059]
"#,
    );
    let ev = event(
        json!({"evt.type": "execve", "evt.time": 1_700_000_000_123_456_789u64,
        "proc.name": "bash", "user.uid": 0, "proc.aname[2]": "sshd",
        "container.id": "3ad7b26ded6d", "container.name": "web",
        "k8s.ns.name": "shop", "k8s.pod.name": "web-1"}),
    );
    let rule = set.first_match(&ev).expect("fires");
    let alert = set.alert(rule, &ev, "node-1");
    let json = serde_json::to_value(&alert).unwrap();
    // As Falco's default `append_output` does, the container plugin's suggested fields follow
    // the rule's output, named or not; `evt.time` is always there.
    assert_eq!(
        json,
        json!({
            "hostname": "node-1",
            "output": "22:13:20.123456789: Notice Shell bash (parent=<NA> gp=sshd at 22:13:20.123456789 uid=0). \
                container_id=3ad7b26ded6d container_name=web container_image_repository=<NA> \
                container_image_tag=<NA> k8s_pod_name=web-1 k8s_ns_name=shop",
            "output_fields": {"container.id": "3ad7b26ded6d",
                "container.image.repository": null, "container.image.tag": null,
                "container.name": "web", "evt.time": 1_700_000_000_123_456_789u64,
                "k8s.ns.name": "shop", "k8s.pod.name": "web-1", "proc.aname[2]": "sshd",
                "proc.name": "bash", "proc.pname": null, "user.uid": 0},
            "priority": "Notice",
            "rule": "Shell",
            "source": "syscall",
            "tags": ["shell", "T1059"],
            "time": "2023-11-14T22:13:20.123456789Z",
        })
    );
    // Only matching event types are tested, and all matches are found in rule order.
    let mut out = Vec::new();
    set.matches(
        &event(json!({"evt.type": "openat", "proc.name": "bash"})),
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn errors_name_file_line_item_and_hint() {
    let e = load_err(
        "- rule: r\n  desc: d\n  condition: proc.nme = x\n  output: o\n  priority: INFO\n",
    );
    assert!(
        e.contains("test.yaml:3: rule 'r': unknown field `proc.nme`"),
        "{e}"
    );
    assert!(e.contains("hint:"), "{e}");

    let e = load_err(
        "- macro: m\n  condition: proc.name equals x\n- rule: r\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n",
    );
    assert!(e.contains("test.yaml:2: macro 'm': syntax error"), "{e}");
    assert!(e.contains("unknown operator `equals`"), "{e}");

    let e = load_err(
        "- macro: m\n  condition: fd.nam = x\n- rule: r\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n",
    );
    assert!(
        e.contains("test.yaml:2: macro 'm' (used by rule 'r'): unknown field `fd.nam`"),
        "{e}"
    );

    let e = load_err("- rule: r\n  desc: d\n  condition: nosuch\n  output: o\n  priority: INFO\n");
    assert!(e.contains("unknown macro `nosuch`"), "{e}");

    let e = load_err(
        "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: LOUD\n",
    );
    assert!(
        e.contains("test.yaml:5: rule 'r': unknown priority `LOUD`"),
        "{e}"
    );

    let e = load_err("- rule: r\n  desc: d\n  condition: proc.name = x\n  priority: INFO\n");
    assert!(e.contains("test.yaml:1: rule 'r': missing `output`"), "{e}");

    let e = load_err(
        "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n",
    );
    assert!(e.contains("uses itself"), "{e}");

    let e = load_err(
        "- rule: r\n  desc: d\n  condition: user.uid contains 1\n  output: o\n  priority: INFO\n",
    );
    assert!(
        e.contains("operator `contains` does not apply to `user.uid`, a number field"),
        "{e}"
    );

    let e = load_err("- list: l\n  items: [a]\n  append: true\n");
    assert!(
        e.contains("test.yaml:1: list 'l': nothing to append to"),
        "{e}"
    );

    let e = load_err(
        "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: \"%proc.nam\"\n  priority: INFO\n",
    );
    assert!(e.contains("unknown field `proc.nam`"), "{e}");

    let e = load_err("- rule: r\n  output: o\n  override:\n    output: replace\n");
    assert!(
        e.contains("test.yaml:1: rule 'r': nothing to append to or override"),
        "{e}"
    );

    let e = load_err(
        "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n- rule: r\n  desc: e\n  output: p\n  override:\n    output: replace\n",
    );
    assert!(
        e.contains("test.yaml:7: rule 'r': `desc` is set but `override` does not say how"),
        "{e}"
    );

    let e = load_err("key: value\n");
    assert!(e.contains("not a sequence"), "{e}");
}

#[test]
fn unsupported_constructs_are_reported_and_strict_rejects_them() {
    let yaml = r#"
- rule: buffer
  desc: d
  condition: evt.type = read and evt.buffer bcontains cafebabe
  output: o
  priority: INFO
- rule: audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
- rule: ok
  desc: d
  condition: proc.name = x
  output: o
  priority: INFO
- rule: skipped
  desc: d
  condition: proc.frobnicate = 1
  output: o
  priority: INFO
  skip-if-unknown-filter: true
"#;
    let set = load(yaml);
    let report = set.report();
    assert_eq!(report.compiled, 1);
    let names: Vec<_> = report.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(names, ["buffer", "audit", "skipped"]);
    assert!(report.unsupported[0].constructs[0].contains("evt.buffer"));
    assert!(report.unsupported[1].constructs[0].contains("k8s_audit"));
    let text = report.to_string();
    assert!(
        text.contains("unsupported: test.yaml:2: rule 'buffer'"),
        "{text}"
    );

    let strict = Ruleset::from_text("test.yaml", yaml, Options { strict: true }).unwrap_err();
    assert_eq!(strict.0.len(), 3, "{strict}");
}

#[test]
fn unknown_keys_are_warnings() {
    let set = load(
        "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n  colour: red\n",
    );
    assert_eq!(set.report().warnings.len(), 1);
    assert!(set.report().warnings[0].to_string().contains("test.yaml:6"));
}

#[test]
fn engine_version_and_plugins_are_accepted() {
    let set = load(
        "- required_engine_version: 0.57.0\n- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n",
    );
    assert_eq!(
        set.report().required_engine_version.as_deref(),
        Some("0.57.0")
    );
}

#[test]
fn alternatives_on_one_field_merge_without_changing_meaning() {
    let c = "proc.name = a or fd.name contains /x/ or proc.name in (b, c) or fd.name contains /y/ or proc.name = d or user.uid = 0";
    for (ev, want) in [
        (json!({"proc.name": "a"}), true),
        (json!({"proc.name": "c"}), true),
        (json!({"proc.name": "d"}), true),
        (json!({"fd.name": "/tmp/y/z"}), true),
        (json!({"fd.name": "/x/"}), true),
        (json!({"user.uid": 0}), true),
        (
            json!({"proc.name": "e", "fd.name": "/z", "user.uid": 1}),
            false,
        ),
    ] {
        assert_eq!(fires(c, ev.clone()), want, "{ev}");
    }
    assert!(fires(
        "evt.type = open or evt.type = openat",
        json!({"evt.type": "openat"})
    ));
}
