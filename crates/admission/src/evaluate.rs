//! Validating and mutating one AdmissionRequest: which requests are reviewed, which checks run
//! at which level in the request's namespace, and how their findings become a verdict, warnings,
//! audit records or a patch. The checks themselves are the policy engine's.

use haechi_manifest::Node;
use haechi_policy::object::is_pod_bearing;
use haechi_policy::{Check, Engine, Finding, Object, ObjectSet, PssLevel, checks};
use serde_json::Value as Json;

use crate::policy::{LevelVersion, Mode, NamespaceLabels, Policy};
use crate::review::{AdmissionRequest, AdmissionResponse, BadReview, Operation};

/// The subresource whose requests carry a Pod to review; other subresources are admitted.
const EPHEMERAL_CONTAINERS: &str = "ephemeralcontainers";

/// A violation recorded in audit mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The check.
    pub check: &'static str,
    /// `<level>: <check>: <path>: <message>`, or `<level>: <check>: and N more like it`.
    pub message: String,
    /// How many violations the record stands for: 1, or N for the line that counts the rest.
    pub violations: u64,
}

/// What reviewing one request produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The answer for the API server.
    pub response: AdmissionResponse,
    /// Audit-mode violations, for the log and metrics (the caller skips them on dry runs).
    pub audit: Vec<AuditRecord>,
}

/// The object under review, after the checks that make it reviewable.
struct Subject {
    object: Json,
    namespace: String,
}

/// Decides whether `request` is reviewed at all; `Ok(None)` admits it without evaluation.
fn subject(policy: &Policy, request: &AdmissionRequest) -> Result<Option<Subject>, BadReview> {
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return Ok(None);
    }
    match request.sub_resource.as_deref() {
        None | Some("") => {}
        Some(EPHEMERAL_CONTAINERS) if request.kind.kind == "Pod" => {}
        Some(_) => return Ok(None),
    }
    let namespace = request.namespace.clone().unwrap_or_default();
    let exempt = &policy.exemptions;
    if exempt.usernames.contains(&request.user_info.username)
        || (!namespace.is_empty() && exempt.namespaces.contains(&namespace))
    {
        return Ok(None);
    }
    let Some(mut object) = request.object.clone() else {
        return Err(BadReview(format!(
            "request.object is missing (operation {:?} on {})",
            request.operation, request.kind.kind
        )));
    };
    let Json::Object(map) = &mut object else {
        return Err(BadReview("request.object is not a JSON object".into()));
    };
    let api_version = request.kind.api_version();
    for (field, expected) in [("kind", &request.kind.kind), ("apiVersion", &api_version)] {
        match map.get(field) {
            None | Some(Json::Null) => {
                map.insert(field.into(), Json::String(expected.clone()));
            }
            Some(Json::String(actual)) if actual == expected => {}
            Some(actual) => {
                return Err(BadReview(format!(
                    "request.kind says {field} {expected} but object.{field} is {actual}"
                )));
            }
        }
    }
    if !namespace.is_empty() {
        // On CREATE the object may leave its namespace to the request; checks and exemptions
        // read it from the object.
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Json::Object(Default::default()));
        if let Json::Object(metadata) = metadata {
            metadata
                .entry("namespace")
                .or_insert_with(|| Json::String(namespace.clone()));
        }
    }
    let kind = request.kind.kind.as_str();
    let node = Node::from_json(&object);
    let pod_spec = if is_pod_bearing(kind, &api_version) {
        let spec = Object::new(&node).and_then(|o| o.pod().map(|p| p.spec.to_json()));
        let Some(spec) = spec else {
            return Err(BadReview(format!(
                "request.object is a {kind} without a pod spec mapping"
            )));
        };
        Some(spec)
    } else {
        None
    };
    if let Some(spec) = &pod_spec {
        let runtime_class = spec.get("runtimeClassName").and_then(Json::as_str);
        if runtime_class.is_some_and(|rc| exempt.runtime_classes.iter().any(|e| e == rc)) {
            return Ok(None);
        }
        // Like PSA, an update that leaves the pod spec as it was (labels, annotations, scaling)
        // is not re-judged: the pod or workload was admitted under the policy of its day.
        let is_ephemeral = request.sub_resource.as_deref() == Some(EPHEMERAL_CONTAINERS);
        if request.operation == Operation::Update && !is_ephemeral {
            let old_spec = request.old_object.as_ref().and_then(|old| {
                let node = Node::from_json(old);
                Object::new(&node).and_then(|o| o.pod().map(|p| p.spec.to_json()))
            });
            if old_spec.as_ref() == Some(spec) {
                return Ok(None);
            }
        }
    }
    Ok(Some(Subject { object, namespace }))
}

/// The engine for one level plus some haechi checks, with the policy file's options.
fn engine(policy: &Policy, level: &LevelVersion, extra: &[&str], namespace: &str) -> Engine {
    let enabled = |c: &Check| {
        c.meta.pss.is_some_and(|l| {
            // PSS levels are ordered privileged < baseline < restricted; privileged runs none.
            level.level != PssLevel::Privileged && l <= level.level
        }) || extra.contains(&c.meta.id)
    };
    let mut config = policy.engine.clone();
    config.disabled = checks::all()
        .filter(|c| !enabled(c))
        .map(|c| c.meta.id.to_string())
        .collect();
    config.options.pss_version = level.version;
    Engine::new(config).honour_ignore_annotation(policy.honours_ignore_annotation(namespace))
}

/// One counted violation, formatted for messages.
fn describe(finding: &Finding) -> String {
    let v = &finding.violation;
    format!("{}: {}: {}", finding.check.id, v.path, v.message)
}

/// How many findings of one check a verdict, an audit annotation or the warnings name; the rest
/// are counted in one more line. A workload with thousands of containers would otherwise give
/// a message, an audit log and warnings as long as itself.
pub const NAMED_PER_CHECK: usize = 5;

/// The counted violations of one mode.
#[derive(Clone)]
struct ModeResult {
    pss: Vec<Finding>,
    haechi: Vec<Finding>,
}

/// One line of a verdict, warning or audit record: a finding, or how many more of a check
/// there were.
enum Line<'a> {
    Finding(&'a Finding),
    More { check: &'static str, count: usize },
}

impl Line<'_> {
    fn check(&self) -> &'static str {
        match self {
            Line::Finding(f) => f.check.id,
            Line::More { check, .. } => check,
        }
    }

    fn violations(&self) -> u64 {
        match self {
            Line::Finding(_) => 1,
            Line::More { count, .. } => *count as u64,
        }
    }

    fn describe(&self) -> String {
        match self {
            Line::Finding(f) => describe(f),
            Line::More { check, count } => format!("{check}: and {count} more like it"),
        }
    }
}

impl ModeResult {
    fn is_empty(&self) -> bool {
        self.pss.is_empty() && self.haechi.is_empty()
    }

    /// `(policy, line)` pairs, Pod Security ones first; the policy names the level as PSA
    /// does (`PodSecurity "restricted:latest"`). Each check names at most [`NAMED_PER_CHECK`]
    /// findings and counts the rest in one line.
    fn lines(&self, level: &LevelVersion) -> Vec<(String, Line<'_>)> {
        let pss = format!("PodSecurity \"{level}\"");
        let mut lines = bounded(&self.pss, &pss);
        lines.extend(bounded(&self.haechi, "haechi checks"));
        lines
    }
}

/// `findings` in order, at most [`NAMED_PER_CHECK`] per check, each check's rest counted in one
/// line after its last named one.
fn bounded<'a>(findings: &'a [Finding], policy: &str) -> Vec<(String, Line<'a>)> {
    let mut per_check: Vec<(&'static str, usize)> = Vec::new();
    let mut lines = Vec::new();
    for finding in findings {
        let id = finding.check.id;
        let seen = match per_check.iter_mut().find(|(check, _)| *check == id) {
            Some((_, n)) => n,
            None => {
                per_check.push((id, 0));
                &mut per_check.last_mut().expect("just pushed").1
            }
        };
        *seen += 1;
        if *seen <= NAMED_PER_CHECK {
            lines.push((policy.to_owned(), Line::Finding(finding)));
        }
    }
    for (check, count) in per_check {
        if count > NAMED_PER_CHECK {
            let last = lines
                .iter()
                .rposition(|(_, line)| line.check() == check)
                .map_or(lines.len(), |i| i + 1);
            let more = Line::More {
                check,
                count: count - NAMED_PER_CHECK,
            };
            lines.insert(last, (policy.to_owned(), more));
        }
    }
    lines
}

/// Runs one mode's checks on `subject`.
fn run(policy: &Policy, subject: &Subject, level: &LevelVersion, extra: &[&str]) -> ModeResult {
    let node = Node::from_json(&subject.object);
    let mut result = ModeResult {
        pss: Vec::new(),
        haechi: Vec::new(),
    };
    let Some(object) = Object::new(&node) else {
        return result;
    };
    let set = ObjectSet::new(vec![object]);
    let engine = engine(policy, level, extra, &subject.namespace);
    for finding in engine.evaluate(&set) {
        if finding.ignored.is_some() {
            continue;
        }
        if finding.check.pss.is_some() {
            result.pss.push(finding);
        } else {
            result.haechi.push(finding);
        }
    }
    result
}

/// Validates `request`: enforce-mode violations deny it (403), audit-mode ones are returned for
/// recording and as an `audit-violations` audit annotation, warn-mode ones become warnings when
/// the request is admitted.
pub fn validate(
    policy: &Policy,
    labels: &NamespaceLabels,
    request: &AdmissionRequest,
) -> Result<Outcome, BadReview> {
    let mut outcome = Outcome {
        response: AdmissionResponse::allow(&request.uid),
        audit: Vec::new(),
    };
    let Some(subject) = subject(policy, request)? else {
        return Ok(outcome);
    };
    let ns = policy.namespace(&subject.namespace, labels.get(&subject.namespace).as_ref());
    if !ns.label_errors.is_empty() {
        tracing::warn!(
            namespace = %subject.namespace,
            labels = ?ns.label_errors,
            "invalid Pod Security labels: enforcing restricted:latest"
        );
    }
    // Modes with the same level and checks share one evaluation.
    let same = |a: Mode, b: Mode| ns.level(a) == ns.level(b) && ns.checks(a) == ns.checks(b);
    let evaluate = |mode: Mode| run(policy, &subject, ns.level(mode), ns.checks(mode));
    let enforce = evaluate(Mode::Enforce);
    let audit = if same(Mode::Audit, Mode::Enforce) {
        enforce.clone()
    } else {
        evaluate(Mode::Audit)
    };
    let warn = if same(Mode::Warn, Mode::Enforce) {
        enforce.clone()
    } else if same(Mode::Warn, Mode::Audit) {
        audit.clone()
    } else {
        evaluate(Mode::Warn)
    };

    if !enforce.is_empty() {
        let mut message = String::new();
        let mut heading = String::new();
        for (prefix, line) in enforce.lines(ns.level(Mode::Enforce)) {
            if prefix != heading {
                if !message.is_empty() {
                    message.push_str("; ");
                }
                message.push_str(&format!("violates {prefix}: "));
                heading = prefix;
            } else {
                message.push_str(", ");
            }
            message.push_str(&line.describe());
        }
        outcome.response = AdmissionResponse::deny(&request.uid, message);
    }
    for (prefix, line) in audit.lines(ns.level(Mode::Audit)) {
        outcome.audit.push(AuditRecord {
            check: line.check(),
            message: format!("would violate {prefix}: {}", line.describe()),
            violations: line.violations(),
        });
    }
    if !outcome.audit.is_empty() {
        let all: Vec<&str> = outcome.audit.iter().map(|a| a.message.as_str()).collect();
        outcome
            .response
            .audit_annotations
            .insert("audit-violations".into(), all.join("; "));
    }
    // As PSA: no warnings on a request that is rejected anyway.
    if outcome.response.allowed {
        outcome.response.warnings = warn
            .lines(ns.level(Mode::Warn))
            .into_iter()
            .map(|(prefix, line)| format!("would violate {prefix}: {}", line.describe()))
            .collect();
    }
    Ok(outcome)
}

/// Mutates `request`: applies the fixes of the policy's mutate checks and returns them as a
/// JSON Patch. Pods are patched on CREATE only (a pod's spec is immutable after that),
/// workloads on CREATE and UPDATE; namespaces enforced at `privileged` are left alone.
pub fn mutate(
    policy: &Policy,
    labels: &NamespaceLabels,
    request: &AdmissionRequest,
) -> Result<Outcome, BadReview> {
    let mut outcome = Outcome {
        response: AdmissionResponse::allow(&request.uid),
        audit: Vec::new(),
    };
    let Some(subject) = subject(policy, request)? else {
        return Ok(outcome);
    };
    let is_pod = request.kind.kind == "Pod";
    if (is_pod && request.operation != Operation::Create) || request.sub_resource.is_some() {
        return Ok(outcome);
    }
    let ns = policy.namespace(&subject.namespace, labels.get(&subject.namespace).as_ref());
    if ns.level(Mode::Enforce).level == PssLevel::Privileged {
        return Ok(outcome);
    }
    // No level: only the listed checks run (their PSS version is the latest).
    let only_listed = LevelVersion {
        level: PssLevel::Privileged,
        version: haechi_policy::PssVersion::LATEST,
        version_name: "latest".into(),
    };
    let engine = engine(policy, &only_listed, &policy.mutate, &subject.namespace);
    let fixed = engine.fix(&Node::from_json(&subject.object));
    outcome.response = outcome.response.with_patch(&fixed.patch);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::review::parse;

    fn request(fixture: &str, edit: impl FnOnce(&mut Json)) -> AdmissionRequest {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/reviews")
            .join(fixture);
        let mut review: Json = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        edit(&mut review["request"]);
        parse(&serde_json::to_vec(&review).unwrap()).unwrap()
    }

    fn allowed_silently(outcome: &Outcome) -> bool {
        outcome.response == AdmissionResponse::allow(&outcome.response.uid)
            && outcome.audit.is_empty()
    }

    #[test]
    fn only_create_update_and_ephemeral_containers_are_judged() {
        let policy = Policy::default();
        let labels = NamespaceLabels::default();
        for edit in [
            |r: &mut Json| r["operation"] = json!("DELETE"),
            |r: &mut Json| r["subResource"] = json!("status"),
            |r: &mut Json| r["namespace"] = json!("kube-system"),
        ] {
            let mut policy = policy.clone();
            policy.exemptions.namespaces = vec!["kube-system".into()];
            let outcome = validate(
                &policy,
                &labels,
                &request("pod-create-privileged.json", edit),
            );
            assert!(allowed_silently(&outcome.unwrap()));
        }
    }

    #[test]
    fn object_without_type_meta_takes_the_requests() {
        let req = request("pod-create-privileged.json", |r| {
            let object = r["object"].as_object_mut().unwrap();
            object.remove("kind");
            object.remove("apiVersion");
            object["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("namespace");
        });
        let outcome = validate(&Policy::default(), &NamespaceLabels::default(), &req).unwrap();
        assert!(!outcome.response.allowed);
    }

    #[test]
    fn scaling_a_workload_is_not_rejudged() {
        let req = request("cronjob-create.json", |r| {
            r["operation"] = json!("UPDATE");
            r["oldObject"] = r["object"].clone();
            r["object"]["spec"]["suspend"] = json!(true);
        });
        let labels = NamespaceLabels::default();
        assert!(allowed_silently(
            &validate(&Policy::default(), &labels, &req).unwrap()
        ));
        assert!(allowed_silently(
            &mutate(&Policy::default(), &labels, &req).unwrap()
        ));
    }

    #[test]
    fn privileged_namespaces_are_not_mutated() {
        let policy = Policy::parse(
            "namespaces: {team-a: {enforce: privileged}}",
            Path::new("admit.yaml"),
        )
        .unwrap();
        let req = request("deployment-create.json", |_| {});
        let labels = NamespaceLabels::default();
        assert!(
            mutate(&policy, &labels, &req)
                .unwrap()
                .response
                .patch
                .is_none()
        );
        labels.set(
            "team-a",
            [(
                "pod-security.kubernetes.io/enforce".into(),
                "baseline".into(),
            )]
            .into(),
        );
        assert!(
            mutate(&policy, &labels, &req)
                .unwrap()
                .response
                .patch
                .is_some()
        );
    }
}
