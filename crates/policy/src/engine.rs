//! Running the enabled checks over objects, applying exemptions, and fixing objects.
//!
//! Objects go through a [`Session`] one at a time: each is checked while its tree is at hand and
//! leaves behind only its findings and its [`Facts`]. Findings that depend on other objects, and
//! checks over the whole set, are decided when the session finishes. Memory therefore grows
//! with the findings, not with the objects' trees.

use std::collections::HashMap;

use haechi_manifest::Node;
use json_patch::PatchOperation;
use serde_json::Value as Json;

use crate::check::{Check, CheckMeta, Condition, Context, Rule, SetViolation, Severity, Violation};
use crate::checks;
use crate::config::Config;
use crate::facts::{Facts, ObjectFacts};
use crate::object::{Object, ObjectSet};
use crate::options::Options;

/// The annotation that silences checks on one object: `"<ID>[,<ID>...]: <reason>"`.
pub const IGNORE_ANNOTATION: &str = "haechi.dev/ignore";

/// One check failed by one object.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The check.
    pub check: &'static CheckMeta,
    /// Its severity after configuration overrides.
    pub severity: Severity,
    /// Number of the object: its place (from 0) in the evaluated [`ObjectSet`] or [`Session`].
    pub object: usize,
    /// Where and what.
    pub violation: Violation,
    /// Why the finding is not counted, when an exemption or annotation covers it.
    pub ignored: Option<Ignored>,
}

/// Why a finding is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// The object's `haechi.dev/ignore` annotation, with its reason.
    Annotation(String),
    /// An exemption in the configuration file, with its reason.
    Exemption(String),
}

impl Ignored {
    /// The reason given.
    pub fn reason(&self) -> &str {
        match self {
            Ignored::Annotation(r) | Ignored::Exemption(r) => r,
        }
    }
}

/// An object with every available fix applied.
#[derive(Debug, Clone)]
pub struct Fixed {
    /// The repaired object.
    pub object: Json,
    /// The JSON Patch that turns the original into `object`, in order.
    pub patch: Vec<PatchOperation>,
    /// The checks whose fixes were applied, in order.
    pub applied: Vec<&'static str>,
}

/// The policy engine: enabled checks and the configuration that shapes them.
pub struct Engine {
    checks: Vec<&'static Check>,
    config: Config,
    honour_ignore_annotation: bool,
}

impl Engine {
    /// An engine running every check the configuration does not disable.
    pub fn new(config: Config) -> Engine {
        let checks = checks::all()
            .filter(|c| !config.disabled.iter().any(|d| d == c.meta.id || d == "*"))
            .collect();
        Engine {
            checks,
            config,
            honour_ignore_annotation: true,
        }
    }

    /// Whether the `haechi.dev/ignore` annotation silences findings (it does unless turned off).
    /// An admission webhook turns it off where whoever creates a pod could silence its checks.
    pub fn honour_ignore_annotation(mut self, honour: bool) -> Engine {
        self.honour_ignore_annotation = honour;
        self
    }

    /// The checks this engine runs.
    pub fn checks(&self) -> &[&'static Check] {
        &self.checks
    }

    /// The options checks read.
    pub fn options(&self) -> &Options {
        &self.config.options
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every finding for the objects in `set`, ignored ones included (marked), ordered by object,
    /// position and check.
    pub fn evaluate(&self, set: &ObjectSet<'_>) -> Vec<Finding> {
        let mut session = self.session();
        let mut findings = Vec::new();
        for object in &set.objects {
            findings.extend(session.commit(self.check(object)).1);
        }
        findings.extend(session.finish());
        sort_findings(&mut findings);
        findings
    }

    /// A session to hand objects to one at a time.
    pub fn session(&self) -> Session<'_> {
        Session {
            engine: self,
            facts: Facts::default(),
            deferred: Vec::new(),
            set_ignored: HashMap::new(),
            objects: 0,
        }
    }

    /// Runs the checks of one object on its own: the findings that need no other object, those
    /// that wait for the others, and the facts other objects' checks need. Nothing here refers
    /// to the object's tree, which can be dropped once this returns.
    pub fn check(&self, object: &Object<'_>) -> Checked {
        let ctx = Context {
            object,
            options: &self.config.options,
        };
        let mut checked = Checked {
            findings: Vec::new(),
            deferred: Vec::new(),
            facts: crate::checks::facts_of(object),
            set_ignored: Vec::new(),
        };
        let mut violations = Vec::new();
        let mut pending = Vec::new();
        for check in &self.checks {
            if !check.kinds.contains(&object.kind) {
                continue;
            }
            match check.rule {
                Rule::Object(rule) => {
                    rule(&ctx, &mut violations);
                    for violation in violations.drain(..) {
                        checked
                            .findings
                            .push(self.finding(check, object, violation));
                    }
                }
                Rule::Depends(rule) => {
                    rule(&ctx, &mut pending);
                    for p in pending.drain(..) {
                        let finding = self.finding(check, object, p.violation);
                        match p.condition {
                            None => checked.findings.push(finding),
                            Some(condition) => checked.deferred.push((finding, condition)),
                        }
                    }
                }
                Rule::Set(_) => {
                    if checked.facts.is_workload() {
                        checked
                            .set_ignored
                            .push(self.ignored(check.meta.id, object));
                    }
                }
            }
        }
        sort_findings(&mut checked.findings);
        checked
    }

    fn finding(&self, check: &'static Check, object: &Object<'_>, violation: Violation) -> Finding {
        Finding {
            check: &check.meta,
            severity: self.severity(check),
            object: 0,
            violation,
            ignored: self.ignored(check.meta.id, object),
        }
    }

    fn severity(&self, check: &Check) -> Severity {
        self.config
            .severities
            .get(check.meta.id)
            .copied()
            .unwrap_or(check.meta.severity)
    }

    fn ignored(&self, check: &str, object: &Object<'_>) -> Option<Ignored> {
        if let Some(reason) = object
            .annotation(IGNORE_ANNOTATION)
            .filter(|_| self.honour_ignore_annotation)
            .and_then(|value| ignore_reason(value, check))
        {
            return Some(Ignored::Annotation(reason));
        }
        self.config
            .exemptions
            .iter()
            .find(|e| e.covers(check, object))
            .map(|e| Ignored::Exemption(e.reason.clone()))
    }

    /// Applies every fix the enabled checks offer for `root`, one at a time, re-checking after
    /// each so that each patch is computed against the object as the previous ones left it (two
    /// fixes that both add a `securityContext` must not overwrite each other). The result is the
    /// object and the concatenated patch, which applies to the original in one go.
    pub fn fix(&self, root: &Node) -> Fixed {
        let mut json = root.to_json();
        let mut patch = Vec::new();
        let mut applied = Vec::new();
        let mut tried: Vec<(&str, String)> = Vec::new();
        // Every fix sets at least one field a check reads, so the number of rounds is bounded by
        // the number of distinct (check, field) pairs; the cap only guards against a bad fix.
        for _ in 0..256 {
            let node = Node::from_json(&json);
            let Some(object) = Object::new(&node) else {
                break;
            };
            let set = ObjectSet::new(vec![object]);
            let next = self.evaluate(&set).into_iter().find(|f| {
                f.ignored.is_none()
                    && f.violation.fix.is_some()
                    && !tried.iter().any(|(id, path)| {
                        *id == f.check.id && *path == f.violation.path.to_string()
                    })
            });
            let Some(finding) = next else { break };
            tried.push((finding.check.id, finding.violation.path.to_string()));
            let ops = finding.violation.fix.unwrap_or_default();
            let mut candidate = json.clone();
            if json_patch::patch(&mut candidate, &ops).is_ok() {
                json = candidate;
                patch.extend(ops);
                applied.push(finding.check.id);
            }
        }
        Fixed {
            object: json,
            patch,
            applied,
        }
    }
}

/// Findings in report order: by object, position and check.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.object, a.violation.pos, a.check.id).cmp(&(b.object, b.violation.pos, b.check.id))
    });
}

/// One object checked on its own ([`Engine::check`]), waiting to join a [`Session`].
#[derive(Debug, Clone)]
pub struct Checked {
    findings: Vec<Finding>,
    deferred: Vec<(Finding, Condition)>,
    facts: ObjectFacts,
    /// When the object is a workload: whether each set rule's findings on it are ignored.
    set_ignored: Vec<Option<Ignored>>,
}

impl Checked {
    /// The findings known so far (others may follow from [`Session::finish`]), in position order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Takes the findings known so far out (their `object` is not yet known: 0), for a caller
    /// that turns them into its own form before committing; [`Session::commit`] then returns
    /// none for this object.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }
}

/// Objects checked one at a time, and what is decided once all are seen.
pub struct Session<'e> {
    engine: &'e Engine,
    facts: Facts,
    deferred: Vec<(Finding, Condition)>,
    /// Object number → whether each set rule's findings on it are ignored.
    set_ignored: HashMap<usize, Vec<Option<Ignored>>>,
    objects: usize,
}

impl Session<'_> {
    /// Adds a checked object as the next one: returns its number and its findings.
    pub fn commit(&mut self, checked: Checked) -> (usize, Vec<Finding>) {
        let index = self.objects;
        self.objects += 1;
        if self.facts.add(index, checked.facts) {
            self.set_ignored.insert(index, checked.set_ignored);
        }
        self.deferred.extend(
            checked
                .deferred
                .into_iter()
                .map(|(mut finding, condition)| {
                    finding.object = index;
                    (finding, condition)
                }),
        );
        let mut findings = checked.findings;
        for finding in &mut findings {
            finding.object = index;
        }
        (index, findings)
    }

    /// How many objects were committed.
    pub fn objects(&self) -> usize {
        self.objects
    }

    /// The facts kept so far.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Decides the findings that waited for every object and runs the set rules.
    pub fn finish(self) -> Vec<Finding> {
        let engine = self.engine;
        let options = &engine.config.options;
        let mut findings = Vec::new();
        for (mut finding, condition) in self.deferred {
            if condition.holds(&self.facts, options, &mut finding.violation) {
                findings.push(finding);
            }
        }
        let mut violations: Vec<SetViolation> = Vec::new();
        let set_checks = engine
            .checks
            .iter()
            .filter(|c| matches!(c.rule, Rule::Set(_)));
        for (n, check) in set_checks.enumerate() {
            let Rule::Set(rule) = check.rule else {
                continue;
            };
            rule(&self.facts, options, &mut violations);
            for sv in violations.drain(..) {
                let ignored = self
                    .set_ignored
                    .get(&sv.object)
                    .and_then(|i| i.get(n).cloned())
                    .flatten();
                findings.push(Finding {
                    check: &check.meta,
                    severity: engine.severity(check),
                    object: sv.object,
                    violation: sv.violation,
                    ignored,
                });
            }
        }
        sort_findings(&mut findings);
        findings
    }
}

/// The reason an ignore annotation gives for `check`, if it names it.
fn ignore_reason(annotation: &str, check: &str) -> Option<String> {
    annotation.lines().find_map(|line| {
        let (ids, reason) = line.split_once(':').unwrap_or((line, ""));
        ids.split(',')
            .any(|id| id.trim() == check || id.trim() == "*")
            .then(|| reason.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use haechi_manifest::{Limits, parse_documents};

    use super::*;

    fn node(yaml: &str) -> Node {
        parse_documents(yaml, &Limits::default()).remove(0).unwrap()
    }

    #[test]
    fn a_session_decides_from_facts_after_the_trees_are_gone() {
        let engine = Engine::new(Config::default());
        let mut session = engine.session();
        let mut findings = Vec::new();
        // The pod comes first and its tree is dropped before its ServiceAccount is seen.
        for yaml in [
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a, annotations: {haechi.dev/ignore: 'network-policy-default-deny: test'}}\nspec: {containers: [{name: c, image: i}]}",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: b}\nspec: {serviceAccountName: robot, containers: [{name: c, image: i}]}",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: a}\nautomountServiceAccountToken: false",
        ] {
            let tree = node(yaml);
            let checked = engine.check(&Object::new(&tree).unwrap());
            drop(tree);
            findings.extend(session.commit(checked).1);
        }
        findings.extend(session.finish());
        let on = |object: usize, id: &str| {
            findings
                .iter()
                .filter(|f| f.object == object && f.check.id == id)
                .map(|f| f.ignored.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(on(0, "automount-service-account-token"), [] as [bool; 0]);
        assert_eq!(on(1, "automount-service-account-token"), [false]);
        assert_eq!(
            on(0, "network-policy-default-deny"),
            [true],
            "ignored by annotation"
        );
        assert_eq!(on(1, "network-policy-default-deny"), [false]);
    }

    #[test]
    fn ignore_annotation_names_checks_and_reason() {
        let value = "pss-privileged, pss-host-namespaces: node agent\nreadonly-root-filesystem: writes cache";
        assert_eq!(
            ignore_reason(value, "pss-privileged").as_deref(),
            Some("node agent")
        );
        assert_eq!(
            ignore_reason(value, "readonly-root-filesystem").as_deref(),
            Some("writes cache")
        );
        assert_eq!(ignore_reason(value, "pss-host-path-volumes"), None);
    }
}
