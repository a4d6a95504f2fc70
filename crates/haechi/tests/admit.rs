//! End-to-end tests of `haechi admit`: the real binary, real files, a real signal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

fn haechi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_haechi"))
}

#[test]
fn certs_writes_the_pair_and_prints_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let output = haechi()
        .args([
            "admit",
            "certs",
            "--service",
            "hook",
            "--namespace",
            "sec",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("for hook.sec.svc, hook.sec.svc.cluster.local, hook.sec, hook"),
        "{stderr}"
    );
    let bundle = String::from_utf8(output.stdout).unwrap();
    let ca = base64::engine::general_purpose::STANDARD
        .decode(bundle.trim())
        .unwrap();
    assert_eq!(ca, std::fs::read(out.join("ca.crt")).unwrap());
    for file in ["tls.crt", "tls.key"] {
        assert!(out.join(file).is_file());
    }
}

#[test]
fn serve_refuses_a_bad_policy_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path();
    assert!(
        haechi()
            .args([
                "admit",
                "certs",
                "--service",
                "s",
                "--namespace",
                "n",
                "--out"
            ])
            .arg(certs)
            .output()
            .unwrap()
            .status
            .success()
    );
    let config = certs.join("admit.yaml");
    std::fs::write(&config, "defaults:\n  enforce: strict\n").unwrap();
    let output = haechi()
        .args(["admit", "serve", "--listen", "127.0.0.1:0", "--cert"])
        .arg(certs.join("tls.crt"))
        .arg("--key")
        .arg(certs.join("tls.key"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("admit.yaml: defaults.enforce: unknown Pod Security level `strict`"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path();
    assert!(
        haechi()
            .args([
                "admit",
                "certs",
                "--service",
                "s",
                "--namespace",
                "n",
                "--out"
            ])
            .arg(certs)
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut child = haechi()
        .args(["admit", "serve", "--listen", "127.0.0.1:0", "--cert"])
        .arg(certs.join("tls.crt"))
        .arg("--key")
        .arg(certs.join("tls.key"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("serving on https://127.0.0.1:"), "{line}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("haechi admit serve did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
