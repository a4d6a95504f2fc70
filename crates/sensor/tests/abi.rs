//! The Rust mirror of the kernel/user ABI (src/abi.rs) must match `bpf/abi.h` exactly. clang
//! records the C layouts as BTF in `bpf/observe.bpf.o` and `bpf/enforce.bpf.o`; this test reads them with bpftool and
//! compares sizes and field offsets.

use std::collections::HashMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

use haechi_sensor::abi::{
    DnsAnswer, DnsEvent, EnforcedSyscall, Enforcement, EventHeader, ExceptionKey, ExecEvent,
    ExitEvent, ForkEvent, NetAllow, NetKeyData, NetPolicy, PolicyPathData, PrivilegeRules,
    SelectorConfig, SelectorMatch, SelectorPathData, Sock, SyscallConf, SyscallEvent,
    TaskSelection, Verdict,
};
use serde_json::Value;

/// C struct name → (size, member name → byte offset), from the object's BTF.
fn btf_layouts(object: &str) -> HashMap<String, (usize, HashMap<String, usize>)> {
    let object = format!("{}/bpf/{object}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bpftool")
        .args(["-j", "btf", "dump", "file", &object])
        .output()
        .expect("bpftool (Debian package bpftool) reads the object's BTF");
    assert!(output.status.success(), "bpftool: {output:?}");
    let btf: Value = serde_json::from_slice(&output.stdout).unwrap();
    btf["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "STRUCT")
        .filter_map(|t| {
            let name = t["name"].as_str()?.strip_prefix("haechi_")?.to_owned();
            let members = t["members"]
                .as_array()?
                .iter()
                .map(|m| {
                    let bits = m["bits_offset"].as_u64().unwrap() as usize;
                    (m["name"].as_str().unwrap().to_owned(), bits / 8)
                })
                .collect();
            Some((name, (t["size"].as_u64()? as usize, members)))
        })
        .collect()
}

macro_rules! check {
    ($layouts:expr, $c:literal, $rust:ty, { $($cfield:literal => $field:ident),* $(,)? }) => {{
        let (size, members) = $layouts
            .get($c)
            .unwrap_or_else(|| panic!("struct haechi_{} is not in the object's BTF", $c));
        assert_eq!(*size, size_of::<$rust>(), "size of haechi_{}", $c);
        let mut named = 0;
        $(
            assert_eq!(
                members.get($cfield).copied(),
                Some(offset_of!($rust, $field)),
                "offset of haechi_{}.{}", $c, $cfield
            );
            named += 1;
        )*
        assert_eq!(named, members.len(), "haechi_{} has fields the Rust mirror lacks", $c);
    }};
}

#[test]
fn abi_matches_btf() {
    let layouts = btf_layouts("observe.bpf.o");
    check!(layouts, "event", EventHeader, {
        "ts_ns" => ts_ns, "cgroup_id" => cgroup_id, "cap_effective" => cap_effective,
        "tgid" => tgid, "tid" => tid,
        "ppid" => ppid, "uid" => uid, "gid" => gid, "kind" => kind, "size" => size,
        "lens" => lens, "_pad" => _pad, "comm" => comm,
    });
    check!(layouts, "syscall_event", SyscallEvent, {
        "ev" => ev, "ret" => ret, "args" => args, "nr" => nr, "_pad" => _pad, "sock" => sock,
    });
    check!(layouts, "exec_event", ExecEvent, {
        "ev" => ev, "ruid" => ruid, "rgid" => rgid, "loginuid" => loginuid, "tty" => tty,
        "old_tid" => old_tid, "args_truncated" => args_truncated, "vpid" => vpid,
        "flags" => flags,
    });
    check!(layouts, "fork_event", ForkEvent, {
        "ev" => ev, "child_tgid" => child_tgid, "_pad" => _pad,
    });
    check!(layouts, "exit_event", ExitEvent, {
        "ev" => ev, "exit_code" => exit_code, "_pad" => _pad,
    });
    check!(layouts, "dns_event", DnsEvent, { "ev" => ev, "payload" => payload });
    check!(layouts, "sock", Sock, {
        "family" => family, "type" => kind, "protocol" => protocol,
        "local_port" => local_port, "remote_port" => remote_port, "_pad" => _pad,
        "local_addr" => local_addr, "remote_addr" => remote_addr,
    });
    check!(layouts, "syscall_conf", SyscallConf, {
        "enabled" => enabled, "str_args" => str_args, "dirfd_arg" => dirfd_arg,
        "fd_path" => fd_path, "sock_fd" => sock_fd, "addr_arg" => addr_arg,
        "addr_len_arg" => addr_len_arg, "path_filter" => path_filter,
        "success_only" => success_only, "_pad" => _pad,
    });
}

#[test]
fn enforcement_abi_matches_btf() {
    let layouts = btf_layouts("enforce.bpf.o");
    check!(layouts, "verdict", Verdict, {
        "rule" => rule, "action" => action, "access" => access,
        "has_exceptions" => has_exceptions, "selector" => selector,
    });
    check!(layouts, "net_allow", NetAllow, {
        "addr" => addr, "prefix_len" => prefix_len, "protocols" => protocols,
        "port_min" => port_min, "port_max" => port_max, "_pad" => _pad,
    });
    check!(layouts, "net_policy", NetPolicy, {
        "verdict" => verdict, "default_deny" => default_deny, "n_allow" => n_allow,
        "_pad" => _pad, "allow" => allow,
    });
    check!(layouts, "exception_key", ExceptionKey, { "rule" => rule, "exe" => exe });
    check!(layouts, "enforced_syscall", EnforcedSyscall, {
        "kind" => kind, "flags_arg" => flags_arg, "flags_in_how" => flags_in_how,
        "class" => class,
    });
    check!(layouts, "privilege_rules", PrivilegeRules, { "rules" => rules });
    check!(layouts, "enforcement", Enforcement, {
        "ts_ns" => ts_ns, "cgroup_id" => cgroup_id, "tgid" => tgid, "tid" => tid,
        "uid" => uid, "rule" => rule, "action" => action, "kind" => kind,
        "protocol" => protocol, "_pad" => _pad, "port" => port, "nr" => nr,
        "addr" => addr, "comm" => comm, "path" => path,
    });
    check!(layouts, "dns_answer", DnsAnswer, {
        "cgroup_id" => cgroup_id, "scope" => scope, "len" => len, "_pad" => _pad,
        "payload" => payload,
    });
    check!(layouts, "selector_match", SelectorMatch, {
        "binary" => binary, "ancestor" => ancestor,
    });
    check!(layouts, "selector_config", SelectorConfig, {
        "in_use" => in_use, "any_binary" => any_binary, "any_ancestor" => any_ancestor,
        "_pad" => _pad,
    });
    check!(layouts, "task_selection", TaskSelection, {
        "ancestry" => ancestry, "selected" => selected,
    });
    // LPM keys: a u32 prefix length, then the data the Rust side builds.
    let (size, _) = &layouts["net_key"];
    assert_eq!(*size, 4 + size_of::<NetKeyData>(), "size of haechi_net_key");
    let (size, _) = &layouts["prefix_key"];
    assert_eq!(
        *size,
        4 + size_of::<SelectorPathData>(),
        "size of haechi_prefix_key"
    );
    let (size, _) = &layouts["policy_path_key"];
    assert_eq!(
        *size,
        4 + size_of::<PolicyPathData>(),
        "size of haechi_policy_path_key"
    );
}
