//! The serving certificate kept in a Secret and its CA put into the webhook configurations, for
//! a Helm hook Job where cert-manager is absent (`haechi admit certs --secret`). Both steps can
//! run again at any time: a Secret whose certificate is still good is kept as it is, and setting
//! the same `caBundle` again changes nothing.
//!
//! Writes are guarded: the Secret is replaced at the resourceVersion it was read at, and each
//! `caBundle` is set by index behind a JSON Patch `test` of the webhook's name. A write that
//! loses a race (another Job, an edit) is retried from a fresh read.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, TestOperation};
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ServiceReference, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{Generated, Unusable};

/// How many times a write that lost a race is tried again from a fresh read.
const ATTEMPTS: usize = 3;
/// The Secret type the kubelet and cert-manager use for a serving pair.
const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// A kind of object, as messages and RBAC rules name it.
#[derive(Debug, PartialEq, Eq)]
struct Kind {
    kind: &'static str,
    group: &'static str,
    resource: &'static str,
}

const SECRET: Kind = Kind {
    kind: "Secret",
    group: "",
    resource: "secrets",
};
const VALIDATING: Kind = Kind {
    kind: "ValidatingWebhookConfiguration",
    group: "admissionregistration.k8s.io",
    resource: "validatingwebhookconfigurations",
};
const MUTATING: Kind = Kind {
    kind: "MutatingWebhookConfiguration",
    group: "admissionregistration.k8s.io",
    resource: "mutatingwebhookconfigurations",
};

/// An object the API server was asked about, for messages and RBAC hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    kind: &'static Kind,
    namespace: Option<String>,
    name: String,
}

impl Object {
    fn secret(namespace: &str, name: &str) -> Object {
        Object {
            kind: &SECRET,
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    /// The RBAC rule that allows `verb` on this object.
    fn rule(&self, verb: &str) -> String {
        let role = match &self.namespace {
            Some(namespace) => format!("a Role in namespace {namespace}"),
            None => "a ClusterRole".to_string(),
        };
        // RBAC cannot restrict create by name: the name is not known when it is authorized.
        let names = if verb == "create" {
            String::new()
        } else {
            format!(", resourceNames: [{}]", self.name)
        };
        format!(
            "{role} with {{apiGroups: [\"{}\"], resources: [{}], verbs: [{verb}]{names}}}",
            self.kind.group, self.kind.resource
        )
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind.kind, self.name),
            None => write!(f, "{} {}", self.kind.kind, self.name),
        }
    }
}

/// Why the certificate could not be kept in the cluster or its CA not put in place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RBAC refused a request.
    #[error(
        "cannot {verb} {object}: {message}; grant the service account {}",
        .object.rule(verb)
    )]
    Forbidden {
        /// The RBAC verb refused.
        verb: &'static str,
        /// What it was refused on.
        object: Object,
        /// The API server's message (it names the user).
        message: String,
    },
    /// A webhook configuration to patch does not exist.
    #[error(
        "{0} not found: --patch-validating and --patch-mutating name configurations to update, \
         not to create; install it first"
    )]
    NotFound(Object),
    /// A webhook configuration has no webhook calling the Service.
    #[error(
        "{object} has no webhook whose clientConfig.service is {namespace}/{service}; \
         check --service and --namespace"
    )]
    NoWebhook {
        /// The configuration.
        object: Object,
        /// The Service's name.
        service: String,
        /// The Service's namespace.
        namespace: String,
    },
    /// The Secret exists with another type, which cannot be changed in place.
    #[error(
        "{object} has type {found}, not {TLS_SECRET_TYPE}, and a Secret's type cannot change: \
         delete it or name another Secret"
    )]
    SecretType {
        /// The Secret.
        object: Object,
        /// Its type.
        found: String,
    },
    /// Any other failure of a request.
    #[error("cannot {verb} {object}: {}", describe(.source))]
    Api {
        /// The RBAC verb of the request.
        verb: &'static str,
        /// What it was about.
        object: Object,
        /// What went wrong (boxed: kube's errors are large).
        source: Box<kube::Error>,
    },
    /// The new certificates could not be made.
    #[error("cannot create certificates: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The API server's own message where there is one: the rest of kube's rendering of a
/// `Status` is its Debug form.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} ({} {})", status.message, status.code, status.reason)
        }
        other => other.to_string(),
    }
}

fn failed(verb: &'static str, object: &Object, source: kube::Error) -> Error {
    match source {
        kube::Error::Api(status) if status.is_forbidden() => Error::Forbidden {
            verb,
            object: object.clone(),
            message: status.message,
        },
        source => Error::Api {
            verb,
            object: object.clone(),
            source: Box::new(source),
        },
    }
}

/// Whether a create or update lost a race: the object was created or changed meanwhile.
fn conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_already_exists() || status.is_conflict())
}

/// Whether a JSON Patch lost a race: the API server answers a failed `test` with 422.
fn test_failed(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_invalid())
}

/// What [`ensure_secret`] did with the Secret.
#[derive(Debug)]
pub enum SecretAction {
    /// Its certificate is good: left as it was.
    Kept,
    /// There was none: created.
    Created,
    /// Its certificate was not good, for this reason: new ones written over it.
    Replaced(Unusable),
}

/// The Secret as [`ensure_secret`] left it.
#[derive(Debug)]
pub struct EnsuredSecret {
    /// What was done.
    pub action: SecretAction,
    /// Base64 of the Secret's `ca.crt`, as a webhook's `clientConfig.caBundle` wants it.
    pub ca_bundle: String,
    /// When the serving certificate in the Secret expires.
    pub not_after: OffsetDateTime,
}

/// Makes sure Secret `name` in `namespace` (type `kubernetes.io/tls`, keys `tls.crt`,
/// `tls.key` and `ca.crt`) holds a certificate for `names` that [`super::check`] accepts:
/// keeps it if it does, otherwise creates the Secret or replaces its contents with a new CA
/// and certificate.
pub async fn ensure_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    names: &[String],
) -> Result<EnsuredSecret, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let object = Object::secret(namespace, name);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = api
            .get_opt(name)
            .await
            .map_err(|e| failed("get", &object, e))?;
        let (action, secret) = match existing {
            None => (SecretAction::Created, new_secret(namespace, name)),
            Some(secret) => match stored(&secret, names) {
                Ok(kept) => return Ok(kept),
                Err(reason) => {
                    writable(&object, &secret)?;
                    (SecretAction::Replaced(reason), secret)
                }
            },
        };
        let generated = super::generate(names)?;
        let secret = with_certificates(secret, &generated);
        let (verb, written) = match action {
            SecretAction::Created => ("create", api.create(&PostParams::default(), &secret).await),
            _ => (
                "update",
                api.replace(name, &PostParams::default(), &secret).await,
            ),
        };
        match written {
            Ok(_) => {
                return Ok(EnsuredSecret {
                    action,
                    ca_bundle: generated.ca_bundle(),
                    not_after: generated.not_after,
                });
            }
            Err(e) if conflict(&e) && attempt < ATTEMPTS => continue,
            Err(e) => return Err(failed(verb, &object, e)),
        }
    }
}

/// The Secret's certificate, if [`super::check`] accepts it.
fn stored(secret: &Secret, names: &[String]) -> Result<EnsuredSecret, Unusable> {
    let field = |key: &'static str| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .map(|value| value.0.as_slice())
            .ok_or(Unusable::Missing(key))
    };
    let ca_cert = field("ca.crt")?;
    let not_after = super::check(
        ca_cert,
        field("tls.crt")?,
        field("tls.key")?,
        names,
        OffsetDateTime::now_utc(),
    )?;
    Ok(EnsuredSecret {
        action: SecretAction::Kept,
        ca_bundle: base64::engine::general_purpose::STANDARD.encode(ca_cert),
        not_after,
    })
}

/// Refuses to overwrite a Secret whose type is not `kubernetes.io/tls`: the API server would
/// reject the change of type.
fn writable(object: &Object, secret: &Secret) -> Result<(), Error> {
    match secret.type_.as_deref() {
        Some(TLS_SECRET_TYPE) => Ok(()),
        found => Err(Error::SecretType {
            object: object.clone(),
            found: found.unwrap_or("Opaque").to_string(),
        }),
    }
}

fn new_secret(namespace: &str, name: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    }
}

/// `secret` holding `generated` and nothing else; its metadata (resourceVersion included, so
/// that a replace is refused if the Secret changed since it was read) is kept.
fn with_certificates(mut secret: Secret, generated: &Generated) -> Secret {
    let entry = |key: &str, pem: &str| (key.to_string(), ByteString(pem.as_bytes().to_vec()));
    secret.type_ = Some(TLS_SECRET_TYPE.to_string());
    secret.string_data = None;
    secret.data = Some(BTreeMap::from([
        entry("ca.crt", &generated.ca_cert),
        entry("tls.crt", &generated.cert),
        entry("tls.key", &generated.key),
    ]));
    secret
}

/// The two kinds of webhook configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configuration {
    /// A `ValidatingWebhookConfiguration`.
    Validating,
    /// A `MutatingWebhookConfiguration`.
    Mutating,
}

impl Configuration {
    fn kind_of(self) -> &'static Kind {
        match self {
            Configuration::Validating => &VALIDATING,
            Configuration::Mutating => &MUTATING,
        }
    }

    /// The kind: `ValidatingWebhookConfiguration` or `MutatingWebhookConfiguration`.
    pub fn kind(self) -> &'static str {
        self.kind_of().kind
    }

    fn object(self, name: &str) -> Object {
        Object {
            kind: self.kind_of(),
            namespace: None,
            name: name.to_string(),
        }
    }
}

/// What [`inject_ca_bundle`] did to one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The webhooks whose `caBundle` was set, by name.
    pub patched: Vec<String>,
    /// How many webhooks the configuration has.
    pub webhooks: usize,
}

/// Sets `clientConfig.caBundle` to `ca_bundle` in every webhook of the `configuration` named
/// `name` that calls Service `service` in `namespace`. A configuration with no such webhook
/// is an error: its webhooks would go on calling with a CA the server does not have.
pub async fn inject_ca_bundle(
    client: &Client,
    configuration: Configuration,
    name: &str,
    service: &str,
    namespace: &str,
    ca_bundle: &str,
) -> Result<Injected, Error> {
    let object = configuration.object(name);
    let target = Target {
        object: &object,
        service,
        namespace,
        ca_bundle,
    };
    match configuration {
        Configuration::Validating => {
            inject::<ValidatingWebhookConfiguration>(Api::all(client.clone()), &target).await
        }
        Configuration::Mutating => {
            inject::<MutatingWebhookConfiguration>(Api::all(client.clone()), &target).await
        }
    }
}

/// One [`inject_ca_bundle`] call's arguments.
struct Target<'a> {
    object: &'a Object,
    service: &'a str,
    namespace: &'a str,
    ca_bundle: &'a str,
}

/// What the two configuration kinds share: a list of webhooks with a client config.
trait Webhooks: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug {
    /// Each webhook's name and the Service it calls, if it calls one.
    fn webhooks(&self) -> Vec<(&str, Option<&ServiceReference>)>;
}

impl Webhooks for ValidatingWebhookConfiguration {
    fn webhooks(&self) -> Vec<(&str, Option<&ServiceReference>)> {
        let webhooks = self.webhooks.iter().flatten();
        webhooks
            .map(|w| (w.name.as_str(), w.client_config.service.as_ref()))
            .collect()
    }
}

impl Webhooks for MutatingWebhookConfiguration {
    fn webhooks(&self) -> Vec<(&str, Option<&ServiceReference>)> {
        let webhooks = self.webhooks.iter().flatten();
        webhooks
            .map(|w| (w.name.as_str(), w.client_config.service.as_ref()))
            .collect()
    }
}

async fn inject<K: Webhooks>(api: Api<K>, target: &Target<'_>) -> Result<Injected, Error> {
    let object = target.object;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = api
            .get_opt(&object.name)
            .await
            .map_err(|e| failed("get", object, e))?
            .ok_or_else(|| Error::NotFound(object.clone()))?;
        let webhooks = current.webhooks();
        let calling: Vec<(usize, &str)> = webhooks
            .iter()
            .enumerate()
            .filter(|(_, (_, service))| {
                service.is_some_and(|s| s.name == target.service && s.namespace == target.namespace)
            })
            .map(|(index, (name, _))| (index, *name))
            .collect();
        if calling.is_empty() {
            return Err(Error::NoWebhook {
                object: object.clone(),
                service: target.service.to_string(),
                namespace: target.namespace.to_string(),
            });
        }
        let patch = Patch::Json::<()>(ca_bundle_patch(&calling, target.ca_bundle));
        match api
            .patch(&object.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {
                return Ok(Injected {
                    patched: calling.iter().map(|(_, name)| name.to_string()).collect(),
                    webhooks: webhooks.len(),
                });
            }
            Err(e) if (conflict(&e) || test_failed(&e)) && attempt < ATTEMPTS => continue,
            Err(e) => return Err(failed("patch", object, e)),
        }
    }
}

/// A JSON Patch setting `caBundle` of the webhooks at these indexes, each behind a `test` that
/// the index still holds the webhook of that name.
fn ca_bundle_patch(webhooks: &[(usize, &str)], ca_bundle: &str) -> json_patch::Patch {
    let operations = webhooks.iter().flat_map(|(index, name)| {
        let index = index.to_string();
        [
            PatchOperation::Test(TestOperation {
                path: PointerBuf::from_tokens(["webhooks", &index, "name"]),
                value: (*name).into(),
            }),
            PatchOperation::Add(AddOperation {
                path: PointerBuf::from_tokens(["webhooks", &index, "clientConfig", "caBundle"]),
                value: ca_bundle.into(),
            }),
        ]
    });
    json_patch::Patch(operations.collect())
}
