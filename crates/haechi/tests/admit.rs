//! End-to-end tests of `haechi admit`: the real binary, real files, a real signal, and the
//! admission crate's Kubernetes API server stand-in reached through KUBECONFIG.

#[path = "../../admission/tests/common/apiserver.rs"]
mod apiserver;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiserver::Cluster;
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

/// `admit certs --secret` as the Helm hook Job runs it, against `cluster` through `kubeconfig`.
fn certs_in_cluster(kubeconfig: &Path, validating: &str) -> Output {
    haechi()
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args([
            "admit",
            "certs",
            "--service",
            "haechi-webhook",
            "--namespace",
            "haechi-system",
            "--secret",
            "haechi-webhook-tls",
            "--patch-validating",
            validating,
            "--patch-mutating",
            "haechi",
        ])
        .output()
        .unwrap()
}

#[test]
fn certs_keeps_the_certificate_in_a_secret_and_its_ca_in_the_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = Arc::new(Cluster::default());
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("../admission/tests/apiserver");
    for file in [
        "validatingwebhookconfiguration.json",
        "mutatingwebhookconfiguration.json",
    ] {
        let text = std::fs::read_to_string(recorded.join(file)).unwrap();
        cluster.insert(serde_json::from_str(&text).unwrap());
    }
    let kubeconfig = runtime.block_on(cluster.serve(dir.path()));

    let first = certs_in_cluster(&kubeconfig, "haechi");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(first.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with(
            "created Secret haechi-system/haechi-webhook-tls: a new CA and certificate for \
             haechi-webhook.haechi-system.svc, haechi-webhook.haechi-system.svc.cluster.local, \
             haechi-webhook.haechi-system, haechi-webhook, valid until "
        ),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        "set caBundle of 1 of 2 webhooks in ValidatingWebhookConfiguration haechi: \
         validate.haechi.dev"
    );
    assert_eq!(
        lines[2],
        "set caBundle of 1 of 2 webhooks in MutatingWebhookConfiguration haechi: mutate.haechi.dev"
    );
    let secret = cluster
        .get("/api/v1/namespaces/haechi-system/secrets/haechi-webhook-tls")
        .unwrap();
    let validating = cluster
        .get("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/haechi")
        .unwrap();
    assert_eq!(
        validating["webhooks"][0]["clientConfig"]["caBundle"],
        secret["data"]["ca.crt"]
    );

    let second = certs_in_cluster(&kubeconfig, "haechi");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.starts_with(
            "kept Secret haechi-system/haechi-webhook-tls: its certificate is good until "
        ),
        "{stderr}"
    );

    let typo = certs_in_cluster(&kubeconfig, "haechi-typo");
    assert_eq!(typo.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.ends_with(
            "haechi admit: ValidatingWebhookConfiguration haechi-typo not found: \
             --patch-validating and --patch-mutating name configurations to update, not to \
             create; install it first\n"
        ),
        "{stderr}"
    );
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
