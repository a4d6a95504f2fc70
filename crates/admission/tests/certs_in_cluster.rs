//! `haechi admit certs --secret`'s library half against the API server stand-in of
//! tests/common/apiserver.rs (HTTPS, bearer token, kube-rs through a kubeconfig): the Secret is
//! created, kept or replaced, and the CA goes into the webhooks that call the Service only.

mod common;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use common::apiserver::Cluster;
use common::kube_client;
use haechi_admission::certs::cluster::{
    self, Configuration, EnsuredSecret, Error, Injected, SecretAction,
};
use haechi_admission::certs::{self, Generated, Unusable};
use hyper::Method;
use serde_json::{Value as Json, json};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

const SERVICE: &str = "haechi-webhook";
const NAMESPACE: &str = "haechi-system";
const SECRET: &str = "haechi-webhook-tls";
const SECRET_PATH: &str = "/api/v1/namespaces/haechi-system/secrets/haechi-webhook-tls";
const VALIDATING_PATH: &str =
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/haechi";
const MUTATING_PATH: &str =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/haechi";

/// The stand-in, holding both webhook configurations, and a client for it.
struct Setup {
    cluster: Arc<Cluster>,
    client: kube::Client,
    _dir: TempDir,
}

async fn setup() -> Setup {
    let dir = TempDir::new().unwrap();
    let cluster = Arc::new(Cluster::default());
    for file in [
        "validatingwebhookconfiguration.json",
        "mutatingwebhookconfiguration.json",
    ] {
        cluster.insert(recorded(file));
    }
    let kubeconfig = cluster.serve(dir.path()).await;
    let client = kube_client(&kubeconfig).await;
    Setup {
        cluster,
        client,
        _dir: dir,
    }
}

fn recorded(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apiserver")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names() -> Vec<String> {
    certs::dns_names(SERVICE, NAMESPACE)
}

/// A Secret as `kubectl create secret tls` makes it, plus ca.crt.
fn secret(generated: &Generated, secret_type: &str) -> Json {
    let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": SECRET, "namespace": NAMESPACE},
        "type": secret_type,
        "data": {
            "ca.crt": encode(&generated.ca_cert),
            "tls.crt": encode(&generated.cert),
            "tls.key": encode(&generated.key),
        }
    })
}

/// The PEM under `key` of the stored Secret.
fn stored_pem(cluster: &Cluster, key: &str) -> Vec<u8> {
    let secret = cluster.get(SECRET_PATH).expect("the Secret exists");
    let encoded = secret["data"][key].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap()
}

/// The Secret's certificate is one `admit serve` can use for the Service, per certs::check.
fn assert_secret_serves(cluster: &Cluster) {
    let secret = cluster.get(SECRET_PATH).unwrap();
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let pem = |key| stored_pem(cluster, key);
    certs::check(
        &pem("ca.crt"),
        &pem("tls.crt"),
        &pem("tls.key"),
        &names(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
}

fn ca_bundle_of(cluster: &Cluster, path: &str, webhook: usize) -> Json {
    cluster.get(path).unwrap()["webhooks"][webhook]["clientConfig"]["caBundle"].clone()
}

async fn ensure(setup: &Setup) -> Result<EnsuredSecret, Error> {
    cluster::ensure_secret(&setup.client, NAMESPACE, SECRET, &names()).await
}

async fn inject(
    setup: &Setup,
    configuration: Configuration,
    name: &str,
    ca_bundle: &str,
) -> Result<Injected, Error> {
    cluster::inject_ca_bundle(
        &setup.client,
        configuration,
        name,
        SERVICE,
        NAMESPACE,
        ca_bundle,
    )
    .await
}

/// What the Job does: the Secret, then both configurations.
async fn run(setup: &Setup) -> EnsuredSecret {
    let ensured = ensure(setup).await.unwrap();
    let validating = inject(
        setup,
        Configuration::Validating,
        "haechi",
        &ensured.ca_bundle,
    );
    assert_eq!(
        validating.await.unwrap(),
        Injected {
            patched: vec!["validate.haechi.dev".to_string()],
            webhooks: 2
        }
    );
    let mutating = inject(setup, Configuration::Mutating, "haechi", &ensured.ca_bundle);
    assert_eq!(
        mutating.await.unwrap(),
        Injected {
            patched: vec!["mutate.haechi.dev".to_string()],
            webhooks: 2
        }
    );
    ensured
}

#[tokio::test]
async fn the_first_run_creates_the_secret_and_sets_the_ca_of_the_services_webhooks() {
    let setup = setup().await;
    let untouched = (
        ca_bundle_of(&setup.cluster, VALIDATING_PATH, 1),
        ca_bundle_of(&setup.cluster, MUTATING_PATH, 0),
    );
    let ensured = run(&setup).await;
    assert!(
        matches!(ensured.action, SecretAction::Created),
        "{ensured:?}"
    );
    assert_secret_serves(&setup.cluster);
    let ca_cert = stored_pem(&setup.cluster, "ca.crt");
    assert_eq!(
        ensured.ca_bundle,
        base64::engine::general_purpose::STANDARD.encode(&ca_cert)
    );
    assert!(ensured.not_after > OffsetDateTime::now_utc() + Duration::days(364));
    // The service's webhooks trust the new CA; the others keep what they had.
    assert_eq!(
        ca_bundle_of(&setup.cluster, VALIDATING_PATH, 0),
        ensured.ca_bundle.as_str()
    );
    assert_eq!(
        ca_bundle_of(&setup.cluster, MUTATING_PATH, 1),
        ensured.ca_bundle.as_str()
    );
    assert_eq!(
        ca_bundle_of(&setup.cluster, VALIDATING_PATH, 1),
        untouched.0
    );
    assert_eq!(ca_bundle_of(&setup.cluster, MUTATING_PATH, 0), untouched.1);
    assert_eq!(
        setup.cluster.requests(),
        [
            format!("GET {SECRET_PATH}"),
            "POST /api/v1/namespaces/haechi-system/secrets".to_string(),
            format!("GET {VALIDATING_PATH}"),
            format!("PATCH {VALIDATING_PATH}"),
            format!("GET {MUTATING_PATH}"),
            format!("PATCH {MUTATING_PATH}"),
        ]
    );
}

#[tokio::test]
async fn a_second_run_keeps_the_secret_and_changes_nothing() {
    let setup = setup().await;
    let first = run(&setup).await;
    let before = [SECRET_PATH, VALIDATING_PATH, MUTATING_PATH].map(|p| setup.cluster.get(p));
    let asked = setup.cluster.requests().len();

    let second = run(&setup).await;
    assert!(matches!(second.action, SecretAction::Kept), "{second:?}");
    assert_eq!(second.ca_bundle, first.ca_bundle);
    assert_eq!(second.not_after.date(), first.not_after.date());
    // No write to the Secret; the patches are sent again and change nothing (no new
    // resourceVersion).
    let after = [SECRET_PATH, VALIDATING_PATH, MUTATING_PATH].map(|p| setup.cluster.get(p));
    assert_eq!(after, before);
    let methods: Vec<String> = setup.cluster.requests()[asked..]
        .iter()
        .map(|r| r.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(methods, ["GET", "GET", "PATCH", "GET", "PATCH"]);
}

#[tokio::test]
async fn an_expired_certificate_is_replaced_in_the_same_secret() {
    let setup = setup().await;
    let year_and_a_month_ago = OffsetDateTime::now_utc() - Duration::days(400);
    let old = certs::generate_at(&names(), year_and_a_month_ago).unwrap();
    setup.cluster.insert(secret(&old, "kubernetes.io/tls"));
    let uid = setup.cluster.get(SECRET_PATH).unwrap()["metadata"]["uid"].clone();

    let ensured = run(&setup).await;
    let SecretAction::Replaced(reason) = &ensured.action else {
        panic!("{ensured:?}");
    };
    assert!(
        matches!(
            reason,
            Unusable::Expiring {
                file: "tls.crt",
                ..
            }
        ),
        "{reason}"
    );
    assert_secret_serves(&setup.cluster);
    assert_ne!(stored_pem(&setup.cluster, "ca.crt"), old.ca_cert.as_bytes());
    let replaced = setup.cluster.get(SECRET_PATH).unwrap();
    assert_eq!(replaced["metadata"]["uid"], uid, "updated, not recreated");
    assert!(
        setup
            .cluster
            .requests()
            .contains(&format!("PUT {SECRET_PATH}"))
    );
}

#[tokio::test]
async fn a_certificate_for_another_service_is_replaced() {
    let setup = setup().await;
    let other = certs::generate(&certs::dns_names("other", NAMESPACE)).unwrap();
    setup.cluster.insert(secret(&other, "kubernetes.io/tls"));
    let ensured = ensure(&setup).await.unwrap();
    let SecretAction::Replaced(reason) = &ensured.action else {
        panic!("{ensured:?}");
    };
    assert_eq!(
        reason.to_string(),
        "tls.crt is not valid for haechi-webhook.haechi-system.svc"
    );
    assert_secret_serves(&setup.cluster);
}

#[tokio::test]
async fn a_secret_of_another_type_is_not_overwritten() {
    let setup = setup().await;
    let other = certs::generate(&["other".to_string()]).unwrap();
    setup.cluster.insert(secret(&other, "Opaque"));
    let error = ensure(&setup).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Secret haechi-system/haechi-webhook-tls has type Opaque, not kubernetes.io/tls, and a \
         Secret's type cannot change: delete it or name another Secret"
    );
}

#[tokio::test]
async fn a_secret_created_meanwhile_by_another_run_is_kept() {
    let setup = setup().await;
    let theirs = certs::generate(&names()).unwrap();
    setup
        .cluster
        .race_next(Method::POST, secret(&theirs, "kubernetes.io/tls"));
    let ensured = ensure(&setup).await.unwrap();
    assert!(matches!(ensured.action, SecretAction::Kept), "{ensured:?}");
    assert_eq!(
        ensured.ca_bundle,
        base64::engine::general_purpose::STANDARD.encode(&theirs.ca_cert)
    );
    assert_eq!(
        setup.cluster.requests(),
        [
            format!("GET {SECRET_PATH}"),
            "POST /api/v1/namespaces/haechi-system/secrets".to_string(),
            format!("GET {SECRET_PATH}"),
        ]
    );
}

#[tokio::test]
async fn webhooks_reordered_meanwhile_are_patched_where_they_now_are() {
    let setup = setup().await;
    let mut reordered = setup.cluster.get(VALIDATING_PATH).unwrap();
    reordered["webhooks"].as_array_mut().unwrap().reverse();
    setup.cluster.race_next(Method::PATCH, reordered);
    let injected = inject(&setup, Configuration::Validating, "haechi", "Cg==");
    assert_eq!(injected.await.unwrap().patched, ["validate.haechi.dev"]);
    // The first patch's test of /webhooks/0/name failed (422); the second went to index 1.
    let stored = setup.cluster.get(VALIDATING_PATH).unwrap();
    assert_eq!(stored["webhooks"][1]["name"], "validate.haechi.dev");
    assert_eq!(stored["webhooks"][1]["clientConfig"]["caBundle"], "Cg==");
    assert_ne!(stored["webhooks"][0]["clientConfig"]["caBundle"], "Cg==");
    let patches = setup
        .cluster
        .requests()
        .iter()
        .filter(|r| r.starts_with("PATCH"))
        .count();
    assert_eq!(patches, 2);
}

#[tokio::test]
async fn a_missing_configuration_is_an_error_naming_it() {
    let setup = setup().await;
    let ensured = ensure(&setup).await.unwrap();
    let error = inject(
        &setup,
        Configuration::Mutating,
        "haechi-typo",
        &ensured.ca_bundle,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "MutatingWebhookConfiguration haechi-typo not found: --patch-validating and \
         --patch-mutating name configurations to update, not to create; install it first"
    );
}

#[tokio::test]
async fn a_configuration_without_a_webhook_for_the_service_is_an_error() {
    let setup = setup().await;
    let error = cluster::inject_ca_bundle(
        &setup.client,
        Configuration::Validating,
        "haechi",
        SERVICE,
        "default",
        "Cg==",
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ValidatingWebhookConfiguration haechi has no webhook whose clientConfig.service is \
         default/haechi-webhook; check --service and --namespace"
    );
}

#[tokio::test]
async fn refusals_name_the_rbac_rule_to_grant() {
    let setup = setup().await;
    setup.cluster.forbid("create", "secrets");
    let error = ensure(&setup).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot create Secret haechi-system/haechi-webhook-tls: secrets is forbidden: User \
         \"system:serviceaccount:haechi-system:haechi-certs\" cannot create resource \"secrets\" \
         in API group \"\" in the namespace \"haechi-system\"; grant the service account a Role \
         in namespace haechi-system with {apiGroups: [\"\"], resources: [secrets], verbs: [create]}"
    );

    setup
        .cluster
        .forbid("patch", "validatingwebhookconfigurations");
    let error = inject(&setup, Configuration::Validating, "haechi", "Cg==")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot patch ValidatingWebhookConfiguration haechi: \
         validatingwebhookconfigurations.admissionregistration.k8s.io \"haechi\" is forbidden: \
         User \"system:serviceaccount:haechi-system:haechi-certs\" cannot patch resource \
         \"validatingwebhookconfigurations\" in API group \"admissionregistration.k8s.io\" at \
         the cluster scope; grant the service account a ClusterRole with {apiGroups: \
         [\"admissionregistration.k8s.io\"], resources: [validatingwebhookconfigurations], \
         verbs: [patch], resourceNames: [haechi]}"
    );
}
