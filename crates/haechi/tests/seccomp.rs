//! End-to-end tests of `haechi seccomp`: the real binary records a real busybox workload with
//! the eBPF recorder, and the profile it writes is applied by the real runc and runsc (gVisor)
//! from Debian. The recording and container tests need root and the Debian packages runc,
//! runsc and busybox-static (set HAECHI_ALLOW_SKIP=1 to skip without them; CI never sets it).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn haechi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs haechi")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether the root-only tests can run here; panics when they cannot and skipping was not
/// asked for.
fn can_record_and_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing: Vec<&str> = [
        ("runc", "runc"),
        ("runsc", "runsc"),
        ("busybox", "busybox-static"),
    ]
    .into_iter()
    .filter(|(bin, _)| Command::new(bin).arg("--help").output().is_err())
    .map(|(_, package)| package)
    .collect();
    if root && missing.is_empty() && Path::new("/bin/busybox").exists() {
        return true;
    }
    let why = format!("needs root (root: {root}) and the Debian packages {missing:?}");
    assert!(
        std::env::var_os("HAECHI_ALLOW_SKIP").is_some(),
        "{why}; HAECHI_ALLOW_SKIP=1 skips"
    );
    eprintln!("skipped: {why}");
    false
}

/// Reads and writes files and talks to itself over a loopback TCP socket; busybox applets
/// only, so it runs the same on the host and in the busybox container. It waits for a child
/// that is still running on purpose: whether the shell's `wait` suspends (rt_sigsuspend)
/// otherwise depends on timing, and a recording only sees the paths a run takes. The client
/// tries again while the listener is not up yet (a loaded machine can take longer than 0.3 s).
const WORKLOAD: &str = "set -e
busybox sleep 0.2 &
wait
d=$(busybox mktemp -d)
echo hello > $d/a
busybox cat $d/a > $d/b
busybox ls $d > /dev/null
busybox nc -l -p 7791 127.0.0.1 > $d/got &
busybox sleep 0.3
for i in 1 2 3 4 5 6 7 8 9 10; do
  echo ping | busybox nc 127.0.0.1 7791 && break
  busybox sleep 0.3
done
wait
busybox grep -q ping $d/got
busybox rm -r $d
echo workload ok";

#[test]
fn a_recorded_profile_runs_its_workload_and_blocks_the_rest_under_runc_and_runsc() {
    if !can_record_and_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("busybox.json");
    let profile = profile.to_str().unwrap();
    let recorded = haechi(&[
        "seccomp", "record", "--output", profile, "--", "busybox", "sh", "-c", WORKLOAD,
    ]);
    assert!(recorded.status.success(), "{}", text(&recorded.stderr));
    assert!(text(&recorded.stdout).contains("workload ok"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 1);
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"])
    );
    let names: Vec<&str> = json["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for needed in [
        "execve", "openat", "socket", "bind", "listen", "connect", "accept",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(needed)),
            "{needed} in {names:?}"
        );
    }
    assert!(!names.contains(&"unshare") && !names.contains(&"mount"));

    let checked = haechi(&["seccomp", "check", profile]);
    let report = text(&checked.stdout);
    assert!(checked.status.success(), "{report}");
    let counts = report
        .lines()
        .find(|l| l.trim_start().starts_with("x86_64: allows"))
        .expect("the comparison line");
    let numbers: Vec<usize> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    // "x86_64: allows N syscalls; Docker's default allows M: ..."
    let (ours, docker) = (numbers[2], numbers[3]);
    println!(
        "recorded profile: {ours} syscalls; Docker's default: {docker}; {} fewer",
        docker - ours
    );
    assert!(ours < docker / 3, "{counts}");

    // The same profile with unshare allowed: proves it is the profile that refuses it.
    let mut permissive = json.clone();
    permissive["syscalls"][0]["names"]
        .as_array_mut()
        .unwrap()
        .push("unshare".into());
    let permissive_path = dir.path().join("with-unshare.json");
    std::fs::write(&permissive_path, permissive.to_string()).unwrap();
    let permissive_path = permissive_path.to_str().unwrap();

    for runtime in ["runc", "runsc"] {
        let run = |profile: &str, command: &[&str]| {
            let mut args = vec![
                "seccomp",
                "run",
                "--timeout",
                "60",
                "--runtime",
                runtime,
                "--profile",
                profile,
                "--",
            ];
            args.extend(command);
            haechi(&args)
        };
        let ok = run(profile, &["sh", "-c", WORKLOAD]);
        assert!(
            ok.status.success() && text(&ok.stdout).contains("workload ok"),
            "{runtime}: the recorded workload runs under its profile: {}{}",
            text(&ok.stdout),
            text(&ok.stderr)
        );
        let refused = run(profile, &["unshare", "-U", "true"]);
        assert_eq!(refused.status.code(), Some(1), "{runtime}");
        assert!(
            text(&refused.stderr).contains("Operation not permitted"),
            "{runtime}: unshare fails with EPERM: {}",
            text(&refused.stderr)
        );
        let allowed = run(permissive_path, &["unshare", "-U", "true"]);
        assert!(
            allowed.status.success(),
            "{runtime}: unshare runs once the profile allows it: {}",
            text(&allowed.stderr)
        );
    }
}

#[test]
fn a_running_container_is_recorded_by_its_id() {
    if !can_record_and_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let rootfs = bundle.join("rootfs");
    for sub in ["bin", "proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "sync", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    assert!(
        Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .status()
            .unwrap()
            .success()
    );
    let config_path = bundle.join("config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = Value::Bool(false);
    config["process"]["args"] =
        serde_json::json!(["sh", "-c", "for i in $(seq 40); do sync; sleep 0.1; done"]);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let id = format!("haechi-seccomp-test-{}", std::process::id());
    let started = Command::new("runc")
        .args(["run", "--detach", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(started.success());
    let recorded = haechi(&["seccomp", "record", "--container", &id, "--duration", "2"]);
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .status();
    assert!(recorded.status.success(), "{}", text(&recorded.stderr));
    let json: Value = serde_json::from_slice(&recorded.stdout).unwrap();
    let names = json["syscalls"][0]["names"].to_string();
    assert!(names.contains("\"sync\""), "{names}");
    assert!(text(&recorded.stderr).contains(&format!("container {id}")));
    assert!(
        !names.contains("\"bpf\""),
        "the recorder's own syscalls are not the container's: {names}"
    );
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn check_flags_dangerous_and_unknown_names_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let risky = write(
        dir.path(),
        "risky.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"names":["read","write","bpf","opne"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let out = haechi(&["seccomp", "check", &risky]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("dangerous") && report.contains("`bpf`"),
        "{report}"
    );
    assert!(
        report.contains("unknown-syscall") && report.contains("`opne`"),
        "{report}"
    );
    assert!(report.contains("x86_64: allows 3 syscalls"), "{report}");

    let broken = write(dir.path(), "broken.json", "{\n  \"defaultAction\": 5\n}\n");
    let out = haechi(&["seccomp", "check", &broken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("{broken}:2:")),
        "{}",
        text(&out.stderr)
    );
    let out = haechi(&["seccomp", "check", "/nonexistent/profile.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/profile.json"));
}

#[test]
fn merge_writes_the_union_and_diff_exits_one_on_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let profile = |names: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{{"names":[{names}],"action":"SCMP_ACT_ALLOW"}}]}}"#
        )
    };
    let a = write(dir.path(), "a.json", &profile(r#""read","write""#));
    let b = write(dir.path(), "b.json", &profile(r#""read","openat""#));
    let out = haechi(&["seccomp", "merge", &a, &b]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        merged["syscalls"][0]["names"],
        serde_json::json!(["openat", "read", "write"])
    );
    let out = haechi(&["seccomp", "diff", &a, &b]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "x86_64: 1 in both, 1 only in the first, 1 only in the second, 0 under other argument \
         conditions\n- write\n+ openat\n"
    );
    assert_eq!(haechi(&["seccomp", "diff", &a, &a]).status.code(), Some(0));

    let out = haechi(&[
        "seccomp",
        "merge",
        "--format",
        "spo",
        "--name",
        "web",
        "--namespace",
        "shop",
        &a,
        &b,
    ]);
    assert!(out.status.success());
    let object: Value = serde_saphyr::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(object["kind"], "SeccompProfile");
    assert_eq!(object["metadata"]["namespace"], "shop");
    assert_eq!(object["spec"]["syscalls"][0]["names"][2], "write");
    assert_eq!(
        object["apiVersion"], "security-profiles-operator.x-k8s.io/v1",
        "the version the operator stores"
    );
    // What `--format spo` writes, `check` and `diff` read back.
    let spo = write(dir.path(), "web.yaml", &text(&out.stdout));
    let out = haechi(&["seccomp", "check", &spo]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let merged = write(
        dir.path(),
        "merged.json",
        &text(&haechi(&["seccomp", "merge", &a, &b]).stdout),
    );
    assert_eq!(
        haechi(&["seccomp", "diff", &spo, &merged]).status.code(),
        Some(0)
    );
}

#[test]
fn scan_reports_localhost_profiles_missing_from_the_seccomp_dir() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/gvisor");
    let nodes = tempfile::tempdir().unwrap();
    let dir = nodes.path().to_str().unwrap();
    let scan = |args: &[&str]| {
        let mut all = vec!["scan", "--format", "json", "--seccomp-dir", dir];
        all.extend(args);
        haechi(&all)
    };
    let ids = |out: &Output| -> Vec<String> {
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["check"].as_str().unwrap_or(""),
                    f["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let out = scan(&[manifest]);
    let missing: Vec<String> = ids(&out)
        .into_iter()
        .filter(|f| f.starts_with("seccomp-localhost-missing"))
        .collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("haechi/busybox.json"), "{missing:?}");

    std::fs::create_dir_all(nodes.path().join("haechi")).unwrap();
    std::fs::write(
        nodes.path().join("haechi/busybox.json"),
        r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#,
    )
    .unwrap();
    let out = scan(&[manifest]);
    assert!(
        !ids(&out)
            .iter()
            .any(|f| f.starts_with("seccomp-localhost-missing"))
    );

    let out = haechi(&["scan", "--seccomp-dir", "/nonexistent", manifest]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--seccomp-dir /nonexistent"));
}

#[test]
fn install_checks_every_profile_then_writes_them_into_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("configmap");
    std::fs::create_dir(&from).unwrap();
    let profile = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#;
    write(&from, "web.json", profile);
    write(&from, "README", "not a profile, not installed");
    let to = dir.path().join("kubelet/seccomp/haechi");
    let out = haechi(&[
        "seccomp",
        "install",
        "--to",
        to.to_str().unwrap(),
        from.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let installed: Vec<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(installed, ["web.json"]);
    let written: Value =
        serde_json::from_slice(&std::fs::read(to.join("web.json")).unwrap()).unwrap();
    assert_eq!(written["syscalls"][0]["names"][2], "exit_group");

    // One bad profile: nothing is written, and the message names it.
    write(&from, "broken.json", "{\"defaultAction\": 5}");
    write(&from, "web.json", &profile.replace("exit_group", "exit"));
    let out = haechi(&[
        "seccomp",
        "install",
        "--to",
        to.to_str().unwrap(),
        from.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("broken.json"),
        "{}",
        text(&out.stderr)
    );
    let kept: Value = serde_json::from_slice(&std::fs::read(to.join("web.json")).unwrap()).unwrap();
    assert_eq!(
        kept["syscalls"][0]["names"][2], "exit_group",
        "the installed one stays"
    );
}

#[test]
fn profiles_are_read_only_from_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.json");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let out = haechi(&["seccomp", "check", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let out = haechi(&["seccomp", "check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/dev/zero"),
        "{}",
        text(&out.stderr)
    );
}
