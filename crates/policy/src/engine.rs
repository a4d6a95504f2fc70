//! Running the enabled checks over a set of objects, applying exemptions, and fixing objects.

use haechi_manifest::Node;
use json_patch::PatchOperation;
use serde_json::Value as Json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks;
use crate::config::Config;
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
    /// Index of the object in the evaluated [`ObjectSet`].
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
        let mut findings = Vec::new();
        let mut violations = Vec::new();
        // Object by object, so that one object's tree stays in cache while every check reads it.
        for (index, object) in set.objects.iter().enumerate() {
            let ctx = Context {
                object,
                set,
                options: &self.config.options,
            };
            for check in &self.checks {
                if !check.kinds.contains(&object.kind) {
                    continue;
                }
                if let Rule::Object(rule) = check.rule {
                    rule(&ctx, &mut violations);
                    for violation in violations.drain(..) {
                        findings.push(self.finding(check, set, index, violation));
                    }
                }
            }
        }
        let mut set_violations = Vec::new();
        for check in &self.checks {
            if let Rule::Set(rule) = check.rule {
                rule(set, &self.config.options, &mut set_violations);
                for sv in set_violations.drain(..) {
                    findings.push(self.finding(check, set, sv.object, sv.violation));
                }
            }
        }
        findings.sort_by(|a, b| {
            (a.object, a.violation.pos, a.check.id).cmp(&(b.object, b.violation.pos, b.check.id))
        });
        findings
    }

    fn finding(
        &self,
        check: &'static Check,
        set: &ObjectSet<'_>,
        object: usize,
        violation: Violation,
    ) -> Finding {
        let target = &set.objects[object];
        Finding {
            check: &check.meta,
            severity: self
                .config
                .severities
                .get(check.meta.id)
                .copied()
                .unwrap_or(check.meta.severity),
            object,
            violation,
            ignored: self.ignored(check.meta.id, target),
        }
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
    use super::*;

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
