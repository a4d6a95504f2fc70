//! Loads the recorder into the running kernel and checks that it marks the syscalls of its
//! target — a process tree, or a cgroup — and of nothing else. Needs root; without it the tests
//! fail (set HAECHI_ALLOW_SKIP=1 to skip them on a developer machine — CI never sets it).

use std::io::Write;
use std::process::{Command, Stdio};

use haechi_sensor::Recorder;
use haechi_sensor::probe::cgroup2_root;

fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("HAECHI_ALLOW_SKIP").is_some() {
        eprintln!("skipped: loading eBPF programs needs root");
        return false;
    }
    panic!("these tests load eBPF programs and need root (HAECHI_ALLOW_SKIP=1 skips them)");
}

/// A shell that waits for a line on stdin before it runs `script`, so the recorder can be
/// pointed at it first.
fn gated_shell(script: &str) -> std::process::Child {
    Command::new("/bin/sh")
        .args(["-c", &format!("read go; {script}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap()
}

fn release_and_wait(mut child: std::process::Child) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
}

const SYNC: u32 = libc::SYS_sync as u32;
const SCHED_GET_PRIORITY_MAX: u32 = libc::SYS_sched_get_priority_max as u32;

/// A syscall no shell makes, made by this (unrecorded) test process.
fn unrelated_syscall() {
    // SAFETY: sched_get_priority_max takes a policy number and touches no memory.
    unsafe { libc::sched_get_priority_max(libc::SCHED_FIFO) };
}

#[test]
fn a_process_tree_is_recorded_children_included_and_nothing_else() {
    if !root_or_skip() {
        return;
    }
    let mut recorder = Recorder::start().expect("recorder starts");
    // `sync` is a separate program: its syscall comes from a child of the followed shell.
    let child = gated_shell("sync");
    recorder.follow_process(child.id()).unwrap();
    unrelated_syscall();
    release_and_wait(child);
    let seen = recorder.seen().unwrap();
    assert!(
        seen.contains(&SYNC),
        "the child's sync is recorded: {seen:?}"
    );
    let execve = libc::SYS_execve as u32;
    assert!(seen.contains(&execve), "the exec of the child is recorded");
    assert!(
        !seen.contains(&SCHED_GET_PRIORITY_MAX),
        "another process's syscall is not recorded"
    );
}

#[test]
fn a_cgroup_and_its_children_are_recorded() {
    if !root_or_skip() {
        return;
    }
    let root = cgroup2_root().expect("a cgroup v2 hierarchy");
    let dir = root.join(format!("haechi-record-test-{}", std::process::id()));
    let leaf = dir.join("leaf");
    std::fs::create_dir_all(&leaf).unwrap();
    let mut recorder = Recorder::start().expect("recorder starts");
    assert_eq!(
        recorder.follow_cgroup(&dir).unwrap(),
        2,
        "the cgroup and its child"
    );
    let child = gated_shell("sync");
    std::fs::write(leaf.join("cgroup.procs"), child.id().to_string()).unwrap();
    unrelated_syscall();
    release_and_wait(child);
    let seen = recorder.seen().unwrap();
    let _ = std::fs::remove_dir(&leaf);
    let _ = std::fs::remove_dir(&dir);
    assert!(
        seen.contains(&SYNC),
        "sync in the child cgroup is recorded: {seen:?}"
    );
    assert!(!seen.contains(&SCHED_GET_PRIORITY_MAX));
}
