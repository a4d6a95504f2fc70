//! `admission.k8s.io/v1` AdmissionReview: the request the API server sends and the response it
//! expects back. Unknown fields are accepted (newer API servers add some); the ones read here
//! are checked.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The only AdmissionReview version served.
pub const API_VERSION: &str = "admission.k8s.io/v1";
/// The kind of the envelope.
pub const KIND: &str = "AdmissionReview";

/// A request that is not a usable AdmissionReview: answered with HTTP 400 and this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadReview(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    request: Option<AdmissionRequest>,
}

/// `request` of an AdmissionReview.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifies this review; echoed in the response.
    pub uid: String,
    /// The kind of `object` (for a subresource, the subresource's kind).
    pub kind: GroupVersionKind,
    /// The resource being requested.
    pub resource: GroupVersionResource,
    /// The subresource, e.g. `ephemeralcontainers` or `status`.
    #[serde(default)]
    pub sub_resource: Option<String>,
    /// The kind of the original request, when the API server converted it.
    #[serde(default)]
    pub request_kind: Option<GroupVersionKind>,
    /// The name of the object (empty on CREATE with `generateName`).
    #[serde(default)]
    pub name: Option<String>,
    /// The namespace of the object.
    #[serde(default)]
    pub namespace: Option<String>,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: Operation,
    /// Who is asking.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The object as it would be stored.
    #[serde(default)]
    pub object: Option<Json>,
    /// The object before an UPDATE (or the deleted one).
    #[serde(default)]
    pub old_object: Option<Json>,
    /// The request will not be persisted: no side effects.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// CreateOptions, UpdateOptions, …
    #[serde(default)]
    pub options: Option<Json>,
}

impl AdmissionRequest {
    /// Whether the request is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }
}

/// Group, version and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupVersionKind {
    /// `""` for the core group.
    #[serde(default)]
    pub group: String,
    /// `v1`, …
    #[serde(default)]
    pub version: String,
    /// `Pod`, `Deployment`, …
    #[serde(default)]
    pub kind: String,
}

impl GroupVersionKind {
    /// `apiVersion` as objects spell it: `v1`, `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Group, version and resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupVersionResource {
    /// `""` for the core group.
    #[serde(default)]
    pub group: String,
    /// `v1`, …
    #[serde(default)]
    pub version: String,
    /// `pods`, `deployments`, …
    #[serde(default)]
    pub resource: String,
}

/// The operation under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// Create.
    Create,
    /// Update (including subresource updates).
    Update,
    /// Delete.
    Delete,
    /// Connect (exec, attach, port-forward, proxy).
    Connect,
}

/// The requesting user.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserInfo {
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// The user's groups.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Parses an AdmissionReview body, checking the envelope.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest, BadReview> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| BadReview(format!("the body is not an AdmissionReview: {e}")))?;
    if envelope.api_version != API_VERSION || envelope.kind != KIND {
        return Err(BadReview(format!(
            "expected apiVersion {API_VERSION} and kind {KIND}, got apiVersion `{}` and kind `{}` \
             (set admissionReviewVersions: [v1] in the webhook configuration)",
            envelope.api_version, envelope.kind
        )));
    }
    envelope
        .request
        .ok_or_else(|| BadReview("the AdmissionReview has no request".into()))
}

/// `response` of an AdmissionReview.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why not, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Shown to the client (kubectl prints them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Recorded in the API server's audit event, prefixed with the webhook's name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
    /// `JSONPatch` when `patch` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// The base64-encoded RFC 6902 patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

/// A `metav1.Status` as the API server shows it when a webhook denies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// HTTP-style code: 403 for a policy denial.
    pub code: u16,
    /// What to fix.
    pub message: String,
}

impl AdmissionResponse {
    /// Admits the request `uid`, with nothing to say.
    pub fn allow(uid: &str) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: true,
            status: None,
            warnings: Vec::new(),
            audit_annotations: BTreeMap::new(),
            patch_type: None,
            patch: None,
        }
    }

    /// Denies the request `uid` with 403 and `message`.
    pub fn deny(uid: &str, message: String) -> AdmissionResponse {
        AdmissionResponse {
            allowed: false,
            status: Some(Status { code: 403, message }),
            ..AdmissionResponse::allow(uid)
        }
    }

    /// Attaches a JSON Patch (nothing when `patch` is empty).
    pub fn with_patch(mut self, patch: &[json_patch::PatchOperation]) -> AdmissionResponse {
        if !patch.is_empty() {
            // Serializing patch operations (strings, pointers and JSON values) cannot fail.
            let json = serde_json::to_vec(patch).unwrap_or_default();
            self.patch_type = Some("JSONPatch");
            self.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
        }
        self
    }

    /// The whole AdmissionReview to send back.
    pub fn into_review(self) -> Json {
        serde_json::json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "response": self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_errors_say_what_is_wrong() {
        let err = parse(b"{\"apiVersion\": ").unwrap_err();
        assert!(err.0.contains("line 1 column"), "{err}");
        let err = parse(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#)
            .unwrap_err();
        assert!(err.0.contains("admission.k8s.io/v1beta1"), "{err}");
        let err =
            parse(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#).unwrap_err();
        assert_eq!(err.0, "the AdmissionReview has no request");
    }

    #[test]
    fn response_omits_what_is_empty() {
        let review = AdmissionResponse::allow("u1").into_review();
        assert_eq!(
            review,
            serde_json::json!({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                "response":{"uid":"u1","allowed":true}})
        );
        let review = AdmissionResponse::deny("u2", "no".into()).into_review();
        assert_eq!(
            review["response"]["status"],
            serde_json::json!({"code":403,"message":"no"})
        );
    }
}
