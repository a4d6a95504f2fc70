//! The webhook end to end: a real server on 127.0.0.1:0 with certificates from the certs module,
//! a real HTTPS client trusting the generated CA, and AdmissionReviews as the API server sends
//! them (tests/reviews/).

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{Harness, client_config, eventually, fixture, warnings};
use haechi_admission::{Options, Server, certs};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value as Json, json};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn privileged_pod_is_denied_naming_check_and_field() {
    let server = Harness::start(None).await;
    let response = server
        .review("/validate", &fixture("pod-create-privileged.json"))
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    assert_eq!(
        response["status"]["message"],
        "violates PodSecurity \"baseline:latest\": pss-privileged: \
         spec.containers[0].securityContext.privileged: container \"app\" is privileged"
    );
    // As PSA: no warnings on a request that is rejected anyway, but audit is recorded.
    assert!(response.get("warnings").is_none());
    assert!(
        response["auditAnnotations"]["audit-violations"]
            .as_str()
            .unwrap()
            .contains("would violate PodSecurity \"restricted:latest\": pss-seccomp-restricted")
    );
    assert!(response.get("patch").is_none());
    server.stop().await;
}

#[tokio::test]
async fn restricted_pod_is_allowed_with_nothing_to_say() {
    let server = Harness::start(None).await;
    let response = server
        .review("/validate", &fixture("pod-create-restricted.json"))
        .await;
    assert_eq!(
        response,
        json!({"uid": "7f0b2f6a-1c1e-4d55-9f43-6a1c2b3d4e02", "allowed": true})
    );
    let response = server
        .review("/mutate", &fixture("pod-create-restricted.json"))
        .await;
    assert!(response.get("patch").is_none(), "{response}");
    server.stop().await;
}

#[tokio::test]
async fn workloads_are_judged_by_their_pod_template() {
    let server = Harness::start(None).await;
    let response = server
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
    let warnings = warnings(&response);
    assert!(!warnings.is_empty());
    for warning in &warnings {
        assert!(
            warning.starts_with("would violate PodSecurity \"restricted:latest\": pss-"),
            "{warning}"
        );
        assert!(warning.contains(": spec.template.spec."), "{warning}");
    }
    let response = server
        .review("/validate", &fixture("cronjob-create.json"))
        .await;
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "pss-privileged: spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
        ),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn ephemeral_containers_are_checked() {
    let server = Harness::start(None).await;
    let response = server
        .review("/validate", &fixture("pod-ephemeralcontainers.json"))
        .await;
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("pss-privileged: spec.ephemeralContainers[0].securityContext.privileged"),
        "{message}"
    );
    // The mutator leaves subresource requests alone.
    let response = server
        .review("/mutate", &fixture("pod-ephemeralcontainers.json"))
        .await;
    assert!(response.get("patch").is_none());
    server.stop().await;
}

#[tokio::test]
async fn updates_that_keep_the_pod_spec_are_not_rejudged() {
    let server = Harness::start(None).await;
    let mut review = fixture("pod-update-labels.json");
    let response = server.review("/validate", &review).await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("warnings").is_none());
    // Changing the spec (a new image) is judged again.
    review["request"]["object"]["spec"]["containers"][0]["image"] = json!("app:2");
    let response = server.review("/validate", &review).await;
    assert_eq!(response["allowed"], false);
    // Pods are not mutated on UPDATE: their spec is immutable.
    let response = server.review("/mutate", &review).await;
    assert!(response.get("patch").is_none());
    server.stop().await;
}

#[tokio::test]
async fn dry_runs_are_judged_but_not_recorded() {
    let server = Harness::start(None).await;
    let mut review = fixture("pod-create-dryrun.json");
    let response = server.review("/validate", &review).await;
    assert_eq!(response["allowed"], true);
    assert!(!warnings(&response).is_empty());
    assert!(
        !server
            .metrics()
            .await
            .contains("haechi_admission_audit_violations_total{")
    );
    review["request"]["dryRun"] = json!(false);
    server.review("/validate", &review).await;
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(
            "haechi_admission_audit_violations_total{check=\"pss-seccomp-restricted\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "haechi_admission_reviews_total{endpoint=\"validate\",verdict=\"allowed\",kind=\"Pod\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("haechi_admission_review_duration_seconds_count{endpoint=\"validate\"} 2")
    );
    assert!(metrics.ends_with("# EOF\n"));
    server.stop().await;
}

/// Mutates `review`, checks the patch, applies it and returns the patched review.
async fn mutate_once(server: &Harness, review: &Json) -> Json {
    let response = server.review("/mutate", review).await;
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    let mut patched = review.clone();
    json_patch::patch(&mut patched["request"]["object"], &patch).unwrap();
    patched
}

#[tokio::test]
async fn mutation_fixes_what_it_mutates_and_is_idempotent() {
    let mutated = [
        "pss-seccomp-restricted",
        "pss-privilege-escalation",
        "pss-capabilities-restricted",
    ];
    let config = format!(
        "defaults: {{enforce: restricted}}\nmutate: {{checks: [{}]}}\n",
        mutated.join(", ")
    );
    let server = Harness::start(Some(&config)).await;
    for name in ["deployment-create.json", "pod-create-dryrun.json"] {
        let review = fixture(name);
        let before = server.review("/validate", &review).await;
        assert_eq!(before["allowed"], false, "{name}");
        let patched = mutate_once(&server, &review).await;
        if name.starts_with("deployment") {
            let object = &patched["request"]["object"];
            assert_eq!(
                object["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
                false
            );
        }
        let after = server.review("/validate", &patched).await;
        let message = after["status"]["message"].as_str().unwrap_or("");
        for id in mutated {
            assert!(!message.contains(id), "{name}: {id} still fails: {message}");
        }
        let again = server.review("/mutate", &patched).await;
        assert!(again.get("patch").is_none(), "{name}: {again}");
        assert_eq!(again["allowed"], true);
    }
    server.stop().await;
}

#[tokio::test]
async fn default_mutation_uses_the_catalogue() {
    let server = Harness::start(None).await;
    let patched = mutate_once(&server, &fixture("deployment-create.json")).await;
    let container = &patched["request"]["object"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    if haechi_policy::checks::find("readonly-root-filesystem").is_some() {
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    }
    let again = server.review("/mutate", &patched).await;
    assert!(again.get("patch").is_none(), "{again}");
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_get_400_and_the_server_keeps_serving() {
    let server = Harness::start(None).await;
    let expect = |status: StatusCode, body: &Bytes, code: StatusCode, text: &str| {
        let body = String::from_utf8_lossy(body);
        assert_eq!(status, code, "{body}");
        assert!(body.contains(text), "{body} lacks {text}");
    };
    let (status, body) = server
        .send(
            Method::POST,
            "/validate",
            b"{\"apiVersion\": \"admission".to_vec(),
        )
        .await;
    expect(status, &body, StatusCode::BAD_REQUEST, "line 1 column");

    let mut review = fixture("pod-create-privileged.json");
    review["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = server
        .send(Method::POST, "/validate", review.to_string().into_bytes())
        .await;
    expect(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "admission.k8s.io/v1beta1",
    );

    let no_request = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
    let (status, body) = server
        .send(Method::POST, "/mutate", no_request.to_string().into_bytes())
        .await;
    expect(status, &body, StatusCode::BAD_REQUEST, "has no request");

    let mut review = fixture("pod-create-privileged.json");
    review["request"]["object"]["kind"] = json!("Deployment");
    let (status, body) = server
        .send(Method::POST, "/validate", review.to_string().into_bytes())
        .await;
    expect(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "request.kind says kind Pod but object.kind is \"Deployment\"",
    );

    let mut review = fixture("pod-create-privileged.json");
    review["request"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("spec");
    let (status, body) = server
        .send(Method::POST, "/validate", review.to_string().into_bytes())
        .await;
    expect(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Pod without a pod spec",
    );

    let oversized = vec![b' '; 5 << 20];
    let (status, body) = server.send(Method::POST, "/validate", oversized).await;
    expect(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 4194304 bytes",
    );

    let (status, _) = server.send(Method::GET, "/validate", Vec::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = server.send(Method::POST, "/elsewhere", Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in ["/healthz", "/readyz"] {
        let (status, body) = server.send(Method::GET, path, Vec::new()).await;
        assert_eq!((status, body.as_ref()), (StatusCode::OK, b"ok\n".as_ref()));
    }

    // A slow client that never finishes its handshake does not block others.
    let _idle = TcpStream::connect(server.addr).await.unwrap();
    let response = server
        .review("/validate", &fixture("pod-create-restricted.json"))
        .await;
    assert_eq!(response["allowed"], true);
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(
            "haechi_admission_errors_total{endpoint=\"validate\",reason=\"bad_request\"} 4"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "haechi_admission_errors_total{endpoint=\"validate\",reason=\"too_large\"} 1"
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Harness::start_with(None, |o| {
        o.handshake_timeout = Duration::from_millis(300);
        o.header_timeout = Duration::from_millis(300);
    })
    .await;
    let closed_within = |secs| Duration::from_secs(secs);
    // No TLS handshake at all.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(closed_within(5), tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    // Headers started but never finished.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut tls = TlsConnector::from(client_config(&[&server.ca]))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(closed_within(5), tls.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection stays open");
    // Others are served all along.
    let response = server
        .review("/validate", &fixture("pod-create-restricted.json"))
        .await;
    assert_eq!(response["allowed"], true);
    server.stop().await;
}

#[tokio::test]
async fn rotated_certificate_serves_new_handshakes_and_keeps_open_connections() {
    let server = Harness::start(None).await;
    let old_ca = server.ca.clone();
    let mut open = server.connect().await;
    let old_cert = open.peer.clone();

    let new = certs::generate(&["localhost".to_string()]).unwrap();
    // Half-written: the new certificate with the old key is not served.
    std::fs::write(server.path("tls.crt"), &new.cert).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let client = server.connect_trusting(&[&old_ca]).await.unwrap();
    assert_eq!(client.peer, old_cert);

    std::fs::write(server.path("tls.key"), &new.key).unwrap();
    let new_der = CertificateDer::from_pem_slice(new.cert.as_bytes())
        .unwrap()
        .to_vec();
    eventually(|| {
        let server = &server;
        let new_ca = new.ca_cert.clone();
        let new_der = new_der.clone();
        async move {
            match server.connect_trusting(&[&new_ca]).await {
                Ok(client) => client.peer == new_der,
                Err(_) => false,
            }
        }
    })
    .await;
    // The old CA no longer verifies new handshakes.
    assert!(server.connect_trusting(&[&old_ca]).await.is_err());
    // The connection opened before the rotation still works.
    let body = serde_json::to_vec(&fixture("pod-create-restricted.json")).unwrap();
    let (status, _) = open.send(Method::POST, "/validate", body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        server_metrics_with_ca(&server, &new.ca_cert)
            .await
            .contains("haechi_admission_reloads_total{what=\"certificate\",result=\"error\"} 1")
    );
    server.stop().await;
}

async fn server_metrics_with_ca(server: &Harness, ca: &str) -> String {
    let mut client = server.connect_trusting(&[ca]).await.unwrap();
    let (_, body) = client.send(Method::GET, "/metrics", Vec::new()).await;
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn policy_file_reloads_and_a_broken_one_is_ignored() {
    let server = Harness::start(Some("defaults: {enforce: privileged}\n")).await;
    let review = fixture("pod-create-privileged.json");
    assert_eq!(server.review("/validate", &review).await["allowed"], true);

    std::fs::write(server.path("admit.yaml"), "defaults: {enforce: strict}\n").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.review("/validate", &review).await["allowed"], true);

    std::fs::write(server.path("admit.yaml"), "defaults: {enforce: baseline}\n").unwrap();
    eventually(|| {
        let server = &server;
        let review = review.clone();
        async move { server.review("/validate", &review).await["allowed"] == false }
    })
    .await;
    let metrics = server.metrics().await;
    assert!(metrics.contains("haechi_admission_reloads_total{what=\"config\",result=\"error\"} 1"));
    assert!(metrics.contains("haechi_admission_reloads_total{what=\"config\",result=\"ok\"} 1"));
    server.stop().await;
}

#[tokio::test]
async fn namespace_labels_override_the_file() {
    let server = Harness::start(None).await;
    let review = fixture("deployment-create.json");
    assert_eq!(server.review("/validate", &review).await["allowed"], true);
    server.labels.set(
        "team-a",
        [(
            "pod-security.kubernetes.io/enforce".to_string(),
            "restricted".to_string(),
        )]
        .into(),
    );
    let response = server.review("/validate", &review).await;
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("violates PodSecurity \"restricted:latest\": ")
    );
    server.labels.remove("team-a");
    assert_eq!(server.review("/validate", &review).await["allowed"], true);
    server.stop().await;
}

#[tokio::test]
async fn exemptions_and_the_ignore_annotation() {
    let config = "exemptions: {usernames: [system:serviceaccount:kube-system:replicaset-controller], \
                  runtimeClasses: [kata]}\nignoreAnnotation: {namespaces: ['lab-*']}\n";
    let server = Harness::start(Some(config)).await;
    let privileged = fixture("pod-create-privileged.json");

    let mut review = privileged.clone();
    review["request"]["userInfo"]["username"] =
        json!("system:serviceaccount:kube-system:replicaset-controller");
    let response = server.review("/validate", &review).await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("auditAnnotations").is_none());

    let mut review = privileged.clone();
    review["request"]["object"]["spec"]["runtimeClassName"] = json!("kata");
    assert_eq!(server.review("/validate", &review).await["allowed"], true);

    let mut annotated = privileged.clone();
    annotated["request"]["object"]["metadata"]["annotations"] =
        json!({"haechi.dev/ignore": "pss-privileged: lab node agent"});
    assert_eq!(
        server.review("/validate", &annotated).await["allowed"],
        false
    );
    annotated["request"]["namespace"] = json!("lab-1");
    annotated["request"]["object"]["metadata"]["namespace"] = json!("lab-1");
    assert_eq!(
        server.review("/validate", &annotated).await["allowed"],
        true
    );
    server.stop().await;
}

#[tokio::test]
async fn haechi_checks_run_per_mode() {
    let Some(check) = haechi_policy::checks::all()
        .find(|c| c.meta.pss.is_none() && matches!(c.rule, haechi_policy::check::Rule::Object(_)))
    else {
        return;
    };
    let id = check.meta.id;
    let config = format!(
        "defaults: {{checks: {{warn: ['*']}}}}\nnamespaces: {{strict: {{checks: {{enforce: [{id}]}}}}}}\n"
    );
    let server = Harness::start(Some(&config)).await;
    let review = fixture("deployment-create.json");
    let response = server.review("/validate", &review).await;
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.starts_with("would violate haechi checks: ")),
        "{response}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unstartable_server_says_why() {
    let dir = TempDir::new().unwrap();
    let generated = certs::generate(&["localhost".to_string()]).unwrap();
    generated.write(dir.path()).unwrap();
    let other = certs::generate(&["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("other.key"), other.key).unwrap();
    let options = Options::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("tls.crt"),
        dir.path().join("other.key"),
    );
    let err = Server::bind(options).await.err().unwrap().to_string();
    assert!(err.contains("other.key: does not go with"), "{err}");

    let mut options = Options::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
    );
    let config = dir.path().join("admit.yaml");
    std::fs::write(&config, "mutate: {checks: [no-such-check]}\n").unwrap();
    options.config = Some(config);
    let err = Server::bind(options).await.err().unwrap().to_string();
    assert!(
        err.contains("admit.yaml: mutate.checks[0]: unknown check"),
        "{err}"
    );
}

/// A pod with `n` privileged containers, as one AdmissionReview.
fn crowded_pod(n: usize) -> Json {
    let mut review = fixture("pod-create-privileged.json");
    let container = review["request"]["object"]["spec"]["containers"][0].clone();
    let containers: Vec<Json> = (0..n)
        .map(|i| {
            let mut c = container.clone();
            c["name"] = json!(format!("c{i}"));
            c
        })
        .collect();
    review["request"]["object"]["spec"]["containers"] = Json::Array(containers);
    review
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_review_is_judged_with_bounded_messages_and_small_ones_keep_their_turn() {
    let server = Harness::start(None).await;
    // 16,000 privileged containers: one verdict line per check, not one per container.
    let huge = crowded_pod(16_000);
    let body = serde_json::to_vec(&huge).unwrap();
    assert!(body.len() > 3 << 20, "{} bytes", body.len());
    let response = server.review("/validate", &huge).await;
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap();
    assert_eq!(
        message.matches("pss-privileged: spec.containers").count(),
        5,
        "{message}"
    );
    assert!(
        message.contains("pss-privileged: and 15995 more like it"),
        "{message}"
    );
    assert!(message.len() < 4096, "{} bytes", message.len());
    let audit = response["auditAnnotations"]["audit-violations"]
        .as_str()
        .unwrap();
    assert!(
        audit.len() < 16 << 10,
        "{} bytes of audit annotation",
        audit.len()
    );
    // Every violation is still counted in the metrics.
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("haechi_admission_audit_violations_total{check=\"pss-privileged\"} 16000"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("audit_violations"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Four large reviews in flight, then a small one: it is answered before the large ones are
    // all done (they are judged one at a time, beside it).
    let big = crowded_pod(4_000);
    let mut bigs = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (review, client) = (big.clone(), server.connect().await);
        bigs.spawn(async move {
            let mut client = client;
            client
                .send(
                    Method::POST,
                    "/validate",
                    serde_json::to_vec(&review).unwrap(),
                )
                .await
        });
    }
    let small = server
        .review("/validate", &fixture("pod-create-restricted.json"))
        .await;
    assert_eq!(small["allowed"], true);
    assert!(
        bigs.try_join_next().is_none(),
        "the small review waited for every large one"
    );
    while let Some(done) = bigs.join_next().await {
        assert_eq!(done.unwrap().0, StatusCode::OK);
    }
    server.stop().await;
}
