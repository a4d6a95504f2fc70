//! The shipped example policies compile to the tables the kernel reads, and bad policies are
//! refused with the file, the field and what to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use haechi_enforce::policy::parse;
use haechi_enforce::{Action, Compiled, Hooks, Target, load};
use haechi_sensor::abi;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/policies")
        .join(name)
}

fn compile(text: &str) -> Result<Compiled, String> {
    parse(text, Path::new("policy.yaml"))
        .and_then(Compiled::new)
        .map_err(|e| e.to_string())
}

#[test]
fn the_example_policies_compile() {
    let files: Vec<_> = [
        "dns-only-egress.yaml",
        "block-c2.yaml",
        "protect-binaries.yaml",
        "protect-secrets.yaml",
    ]
    .map(example)
    .to_vec();
    let compiled = load(&files).expect("examples compile");
    let names: Vec<_> = compiled
        .policies()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "dns-only-egress",
            "block-c2",
            "protect-binaries",
            "protect-secrets"
        ]
    );
    let tables = compiled.tables();

    // DNS only: one default-deny entry allowing port 53 over UDP and TCP, anywhere.
    let [(0, dns)] = tables.net_policies.as_slice() else {
        panic!("{:?}", tables.net_policies)
    };
    assert_eq!((dns.default_deny, dns.n_allow), (1, 1));
    assert_eq!((dns.allow[0].port_min, dns.allow[0].port_max), (53, 53));
    assert_eq!(dns.allow[0].protocols, abi::PROTO_TCP | abi::PROTO_UDP);
    assert_eq!(dns.verdict.action, abi::ACTION_DENY);

    // C2: three ranges of policy 1; IPv4 mapped into ::ffff:0:0/96.
    let bits: Vec<_> = tables.net_denied.iter().map(|r| r.bits).collect();
    assert_eq!(bits, [8 + 96 + 24, 8 + 128, 8 + 48]);
    assert!(tables.net_denied.iter().all(|r| r.data[0] == 1));
    assert_eq!(
        &tables.net_denied[1].data[11..17],
        &[0xff, 0xff, 198, 51, 100, 23]
    );

    // C2 names: learned from the DNS answers of policy 1's containers only.
    assert_eq!(compiled.dns_policies(), 1 << 1);
    let named = |scope, name| {
        compiled
            .domain_rules_for(scope, name)
            .map(|r| compiled.rule(r.verdict.rule).unwrap().rule.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(named(0b10, "c2.haechi.test"), ["c2-domains"]);
    assert_eq!(named(0b10, "C2.Haechi.Test."), ["c2-domains"]);
    assert_eq!(named(0b10, "beacon.cdn.evil.test"), ["c2-domains"]);
    assert!(
        named(0b10, "evil.test").is_empty(),
        "*. covers names below only"
    );
    assert!(named(0b10, "notevil.test").is_empty());
    assert!(named(0b10, "www.c2.haechi.test").is_empty());
    assert!(
        named(0b01, "c2.haechi.test").is_empty(),
        "other policies' scope"
    );

    // Binaries: the deny falls back to kill; directory prefixes without a NUL.
    let info = compiled.rule(tables.file_rules[0].verdict.rule).unwrap();
    assert_eq!(
        (info.action, info.requested),
        (Action::Kill, Some(Action::Deny))
    );
    assert_eq!(&tables.file_rules[0].data[..6], b"\x02/bin/");
    assert_eq!(tables.file_rules[0].bits, 8 * 6);
    assert_eq!(tables.file_rules[0].verdict.access, abi::ACCESS_WRITE);

    // Secrets: /var/run/secrets/ and its /run alias, reads, one excepted binary.
    let secrets: Vec<_> = tables
        .file_rules
        .iter()
        .filter(|r| r.data[0] == 3)
        .collect();
    assert_eq!(secrets.len(), 2);
    assert_eq!(&secrets[1].data[1..14], b"/run/secrets/");
    assert_eq!(secrets[0].verdict.has_exceptions, 1);
    assert_eq!(tables.exceptions.len(), 1);
    assert!(tables.exceptions[0].exe.starts_with(b"/app/server\0"));
    let [(3, privilege)] = tables.privilege.as_slice() else {
        panic!("{:?}", tables.privilege)
    };
    assert_ne!(privilege.rules[abi::PRIV_PTRACE].rule, 0);
    assert_eq!(privilege.rules[abi::PRIV_SETID].rule, 0);
}

#[test]
fn selectors_scope_containers_and_never_the_host() {
    let compiled = load(&[example("dns-only-egress.yaml"), example("block-c2.yaml")]).unwrap();
    let labels = BTreeMap::new();
    let target = |namespace| Target {
        id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        name: Some("web"),
        image: Some("nginx:1.27"),
        namespace,
        labels: &labels,
    };
    assert_eq!(compiled.scope(&target(Some("payments"))), 0b11);
    assert_eq!(compiled.scope(&target(Some("default"))), 0b10);
    assert_eq!(compiled.scope(&target(None)), 0b10);
    assert_eq!(compiled.names(0b11), ["dns-only-egress", "block-c2"]);

    let by_image = compile(
        "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {name: p}\nspec:\n  \
         selector: {images: ['nginx:*'], labels: {tier: web}}\n  rules:\n  - name: r\n    \
         privilege: [ptrace]\n    action: kill\n",
    )
    .unwrap();
    let mut web = BTreeMap::new();
    web.insert("tier".to_owned(), "web".to_owned());
    let mut t = target(None);
    assert_eq!(by_image.scope(&t), 0, "label missing");
    t.labels = &web;
    assert_eq!(by_image.scope(&t), 1);
    t.image = Some("redis:7");
    assert_eq!(by_image.scope(&t), 0);
}

#[test]
fn bad_policies_name_the_file_the_field_and_the_fix() {
    let rule = |body: &str| {
        format!(
            "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {{name: p}}\n\
             spec:\n  rules:\n  - name: r\n{body}"
        )
    };
    let cases = [
        (
            rule("    files: {paths: [/etc/]}\n    action: deny\n"),
            "policy.yaml: policy p: spec.rules[0].action: `deny` needs a BPF-LSM hook",
        ),
        (
            rule("    egress: {deny: {cidrs: [10.0.0/8]}}\n    action: deny\n"),
            "spec.rules[0].egress.deny.cidrs[0]: `10.0.0/8` is not an address or CIDR",
        ),
        (
            rule(
                "    egress: {deny: {domains: [c2.example, 'bad name.example']}}\n    action: deny\n",
            ),
            "spec.rules[0].egress.deny.domains[1]: `bad name.example` is not a domain name",
        ),
        (
            rule("    files: {paths: [etc/]}\n    action: kill\n"),
            "spec.rules[0].files.paths[0]: `etc/` is not absolute",
        ),
        (
            rule("    files: {paths: [/etc/]}\n    exec: {paths: [/bin/]}\n    action: kill\n"),
            "spec.rules[0]: a rule matches exactly one of",
        ),
        (
            rule("    egress: {allow: [{ports: ['90-80']}]}\n    action: deny\n"),
            "spec.rules[0].egress.allow[0].ports[0]: `90-80`: write a port",
        ),
        (
            rule("    privilege: [ptrace]\n    action: kill\n    actoin: kill\n"),
            "unknown field `actoin`",
        ),
        (
            rule("    privilege: [ptrace]\n    action: kill\n").replace("v1alpha1", "v1"),
            "apiVersion: `haechi.dev/v1` is not supported",
        ),
    ];
    for (text, expected) in cases {
        let err = compile(&text).expect_err(expected);
        assert!(
            err.contains(expected),
            "{err}\n  does not contain\n{expected}"
        );
    }
    let syntax = compile(&rule(
        "    privilege: [ptrace]\n    action: kill\n    actoin: kill\n",
    ))
    .unwrap_err();
    assert!(syntax.contains("line 9"), "the line is named: {syntax}");
}

#[test]
fn too_many_allowed_destinations_are_refused_not_truncated() {
    let ports: Vec<String> = (1..=17).map(|p| p.to_string()).collect();
    let text = format!(
        "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {{name: p}}\nspec:\n  \
         rules:\n  - name: r\n    egress: {{allow: [{{ports: [{}]}}]}}\n    action: deny\n",
        ports.join(", ")
    );
    let err = compile(&text).unwrap_err();
    assert!(err.contains("17 address and port combinations"), "{err}");
}

#[test]
fn egress_can_be_killed() {
    let compiled = compile(
        "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {name: p}\nspec:\n  \
         rules:\n  - name: r\n    egress: {deny: {cidrs: [10.0.0.0/8]}}\n    action: kill\n",
    )
    .unwrap();
    assert_eq!(compiled.rules()[0].action, Action::Kill);
    assert_eq!(
        compiled.tables().net_denied[0].verdict.action,
        abi::ACTION_KILL
    );
}

#[test]
fn deny_on_files_executables_and_privileges_needs_bpf_lsm() {
    let text = [
        "apiVersion: haechi.dev/v1alpha1",
        "kind: HaechiPolicy",
        "metadata: {name: p}",
        "spec:",
        "  rules:",
        "  - {name: files, files: {paths: [/etc/]}, action: deny, fallback: kill}",
        "  - {name: exec, exec: {paths: [/tmp/]}, action: deny, fallback: kill}",
        "  - {name: escalation, privilege: [ptrace, setid, bpf], action: deny, fallback: kill}",
        "  - {name: mounts, privilege: [mount], action: deny, fallback: kill}",
    ]
    .join("\n");
    let policies = parse(&text, Path::new("policy.yaml")).unwrap();
    let actions = |compiled: &Compiled| -> Vec<(Action, Option<Action>)> {
        compiled
            .rules()
            .iter()
            .map(|r| (r.action, r.requested))
            .collect()
    };
    // Without BPF-LSM every rule falls back to kill.
    let without = Compiled::new(policies.clone()).unwrap();
    assert!(!without.hooks().lsm);
    assert_eq!(
        actions(&without),
        vec![(Action::Kill, Some(Action::Deny)); 4]
    );
    // With it, files, executables and the ptrace, setid and bpf classes are refused; mount
    // (fsopen/fsmount have no LSM hook) still falls back.
    let with = Compiled::for_hooks(policies, Hooks { lsm: true }).unwrap();
    assert!(with.hooks().lsm);
    assert_eq!(
        actions(&with),
        vec![
            (Action::Deny, None),
            (Action::Deny, None),
            (Action::Deny, None),
            (Action::Kill, Some(Action::Deny)),
        ]
    );
    assert!(
        with.tables()
            .file_rules
            .iter()
            .chain(&with.tables().exec_rules)
            .all(|r| r.verdict.action == abi::ACTION_DENY)
    );

    // Without a fallback, a class no LSM hook fully sees is refused by name.
    let mounts = "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {name: p}\n\
                  spec:\n  rules:\n  - {name: m, privilege: [ptrace, mount], action: deny}\n";
    let err = parse(mounts, Path::new("policy.yaml"))
        .and_then(|p| Compiled::for_hooks(p, Hooks { lsm: true }))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`deny` on mount needs a BPF-LSM hook for every syscall"),
        "{err}"
    );
}
