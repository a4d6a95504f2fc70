//! SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it: one run of haechi
//! whose driver lists every rule that ran, each with help and a `security-severity`; every
//! finding a result with a rule index, a location relative to the run's root
//! (`uriBaseId`/`originalUriBaseIds`) and a `partialFingerprints` entry that survives edits
//! above it; every problem a tool notification, and `executionSuccessful` false when one was
//! fatal.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location as SarifLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use crate::finding::{Finding, Level, Problem, Rule};
use crate::location::{Location, Root};

/// The SARIF 2.1.0 schema URI written in `$schema`.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of haechi's entry in a result's `partialFingerprints`: [`Finding::fingerprint`].
pub const FINGERPRINT: &str = "haechi/v1";

/// One run of haechi, ready to be written.
#[derive(Debug, Clone)]
pub struct Log {
    /// What the files are relative to; `None` when no finding is in a file (endpoints).
    pub root: Option<Root>,
    /// Every rule that ran, in the order the report lists them.
    pub rules: Vec<Rule>,
    /// What was found.
    pub findings: Vec<Finding>,
    /// What could not be checked.
    pub problems: Vec<Problem>,
    /// Whether the run checked everything it was asked to (SARIF's `executionSuccessful`).
    pub successful: bool,
}

impl Log {
    /// A log of `rules` and `findings` under `root`, successful when nothing went unchecked (no
    /// problem at all: a file that could not be parsed is as much a gap as one that could not be
    /// read).
    pub fn new(
        root: Option<Root>,
        rules: Vec<Rule>,
        findings: Vec<Finding>,
        problems: Vec<Problem>,
    ) -> Log {
        let successful = problems.is_empty();
        Log {
            root,
            rules,
            findings,
            problems,
            successful,
        }
    }

    /// The log as SARIF.
    pub fn to_sarif(&self) -> Sarif {
        let rules: Vec<ReportingDescriptor> = self.rules.iter().map(descriptor).collect();
        let results: Vec<SarifResult> = self.findings.iter().map(|f| self.result(f)).collect();
        let notifications: Vec<Notification> =
            self.problems.iter().map(|p| self.notification(p)).collect();
        let invocation = Invocation::builder()
            .execution_successful(self.successful)
            .tool_execution_notifications(notifications)
            .build();
        let driver = ToolComponent::builder()
            .name("haechi")
            .version(env!("CARGO_PKG_VERSION"))
            .information_uri("https://github.com/haechi-dev/haechi")
            .rules(rules)
            .build();
        let mut run = Run::builder()
            .tool(Tool::builder().driver(driver).build())
            .results(results)
            .invocations(vec![invocation])
            .build();
        run.original_uri_base_ids = self.root.as_ref().map(|root| {
            let mut base = ArtifactLocation::builder()
                .description(Message::builder().text(root.description.clone()).build())
                .build();
            base.uri.clone_from(&root.uri);
            BTreeMap::from([(root.id.to_string(), base)])
        });
        Sarif::builder()
            .schema(SCHEMA)
            .version(json!("2.1.0"))
            .runs(vec![run])
            .build()
    }

    /// Writes the log as pretty JSON with a final newline.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        crate::json::write(out, &self.to_sarif())
    }

    fn artifact(&self, file: &str) -> (ArtifactLocation, String) {
        let (uri, base) = match &self.root {
            Some(root) => root.locate(file),
            None => (file.to_string(), None),
        };
        let mut artifact = ArtifactLocation::builder().uri(uri.clone()).build();
        artifact.uri_base_id = base.map(str::to_string);
        (artifact, uri)
    }

    fn physical(&self, location: &Location) -> (PhysicalLocation, String) {
        let (artifact, uri) = self.artifact(&location.file);
        let mut physical = PhysicalLocation::builder()
            .artifact_location(artifact)
            .build();
        if let Some(line) = location.line {
            let mut region = Region::builder().start_line(i64::from(line.max(1))).build();
            region.start_column = location.column.map(|c| i64::from(c.max(1)));
            physical.region = Some(region);
        }
        (physical, uri)
    }

    fn result(&self, finding: &Finding) -> SarifResult {
        let (locations, uri) = match &finding.location {
            Some(location) => {
                let (physical, uri) = self.physical(location);
                (
                    vec![SarifLocation::builder().physical_location(physical).build()],
                    uri,
                )
            }
            None => (Vec::new(), String::new()),
        };
        let mut result = SarifResult::builder()
            .rule_id(finding.rule.clone())
            .level(match finding.level {
                Level::Error => ResultLevel::Error,
                Level::Warning => ResultLevel::Warning,
                Level::Note => ResultLevel::Note,
            })
            .message(Message::builder().text(finding.message.clone()).build())
            .locations(locations)
            .build();
        if !finding.properties.is_empty() {
            result.properties = Some(
                PropertyBag::builder()
                    .additional_properties(finding.properties.clone())
                    .build(),
            );
        }
        result.rule_index = self
            .rules
            .iter()
            .position(|r| r.id == finding.rule)
            .and_then(|i| i64::try_from(i).ok());
        result.partial_fingerprints = Some(BTreeMap::from([(
            FINGERPRINT.to_string(),
            finding.fingerprint(&uri),
        )]));
        if let Some(reason) = &finding.suppressed {
            result.suppressions = Some(vec![
                Suppression::builder()
                    .kind(json!("inSource"))
                    .justification(reason.clone())
                    .build(),
            ]);
        }
        result
    }

    fn notification(&self, problem: &Problem) -> Notification {
        let mut notification = Notification::builder()
            .level(json!(if problem.fatal { "error" } else { "warning" }))
            .message(Message::builder().text(problem.message.clone()).build())
            .build();
        if let Some(location) = problem.location() {
            let (physical, _) = self.physical(&location);
            notification.locations = Some(vec![
                SarifLocation::builder().physical_location(physical).build(),
            ]);
        }
        notification
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        json!(format!(
            "{:.1}",
            rule.score.unwrap_or(rule.severity.score())
        )),
    );
    let mut help = MultiformatMessageString::builder()
        .text(rule.help.clone())
        .build();
    help.markdown.clone_from(&rule.help_markdown);
    let mut descriptor = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.name.clone())
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.title.clone())
                .build(),
        )
        .help(help)
        .properties(
            PropertyBag::builder()
                .tags(rule.tags.clone())
                .additional_properties(extra)
                .build(),
        )
        .build();
    descriptor.full_description = rule
        .description
        .as_ref()
        .map(|d| MultiformatMessageString::builder().text(d.clone()).build());
    descriptor.help_uri.clone_from(&rule.help_uri);
    descriptor
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::Severity;

    fn rule() -> Rule {
        Rule::check(
            "pss-privileged",
            "Privileged container",
            Severity::Critical,
            "Privileged containers can do anything the host can.",
            "Remove privileged: true.",
            &[crate::Reference {
                name: "PSS",
                url: "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            }],
            vec!["security".into()],
        )
    }

    fn finding(file: &str, line: u32) -> Finding {
        Finding::new("pss-privileged", Severity::Critical, "privileged: true")
            .at(Location {
                file: file.to_string(),
                line: Some(line),
                column: Some(9),
                path: Some("spec.containers[0].securityContext.privileged".into()),
            })
            .about("Pod prod/web")
    }

    fn sarif(log: &Log) -> Value {
        let mut out = Vec::new();
        log.write(&mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn uris_are_relative_to_the_root_with_its_base_id() {
        let log = Log::new(
            Some(Root::source("/work/repo")),
            vec![rule()],
            vec![
                finding("k8s/pod.yaml", 7),
                finding("/work/repo/k8s/other.yaml", 3),
                finding("/elsewhere/pod.yaml", 1),
            ],
            Vec::new(),
        );
        let sarif = sarif(&log);
        let run = &sarif["runs"][0];
        assert_eq!(
            run["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"],
            "the directory haechi ran in"
        );
        assert!(run["originalUriBaseIds"]["%SRCROOT%"].get("uri").is_none());
        let artifact =
            |i: usize| &run["results"][i]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact(0)["uri"], "k8s/pod.yaml");
        assert_eq!(artifact(0)["uriBaseId"], "%SRCROOT%");
        assert_eq!(artifact(1)["uri"], "k8s/other.yaml");
        assert_eq!(artifact(1)["uriBaseId"], "%SRCROOT%");
        assert_eq!(artifact(2)["uri"], "file:///elsewhere/pod.yaml");
        assert!(artifact(2).get("uriBaseId").is_none());
        assert_eq!(run["results"][0]["ruleIndex"], 0);
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "9.5"
        );
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    }

    #[test]
    fn a_node_root_publishes_its_uri() {
        let log = Log::new(
            Some(Root::node(std::path::Path::new("/mnt/node"))),
            vec![rule()],
            vec![finding("/etc/kubernetes/manifests/kube-apiserver.yaml", 12)],
            Vec::new(),
        );
        let sarif = sarif(&log);
        let run = &sarif["runs"][0];
        assert_eq!(
            run["originalUriBaseIds"]["NODEROOT"]["uri"],
            "file:///mnt/node/"
        );
        let artifact = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(
            artifact["uri"],
            "etc/kubernetes/manifests/kube-apiserver.yaml"
        );
        assert_eq!(artifact["uriBaseId"], "NODEROOT");
    }

    #[test]
    fn fingerprints_ignore_lines_and_tell_findings_apart() {
        let log = |findings| {
            Log::new(
                Some(Root::source("/src")),
                vec![rule()],
                findings,
                Vec::new(),
            )
        };
        let print = |sarif: &Value, i: usize| {
            sarif["runs"][0]["results"][i]["partialFingerprints"][FINGERPRINT]
                .as_str()
                .unwrap()
                .to_string()
        };
        let before = sarif(&log(vec![finding("pod.yaml", 7)]));
        let moved = sarif(&log(vec![finding("./pod.yaml", 19)]));
        assert_eq!(print(&before, 0), print(&moved, 0), "a line moved");
        assert_eq!(print(&before, 0).len(), 32);

        let mut other_object = finding("pod.yaml", 7);
        other_object.subject = "Pod prod/api".into();
        let mut other_field = finding("pod.yaml", 7);
        other_field.location.as_mut().unwrap().path =
            Some("spec.containers[1].securityContext.privileged".into());
        let others = sarif(&log(vec![
            finding("other.yaml", 7),
            other_object,
            other_field,
        ]));
        for i in 0..3 {
            assert_ne!(print(&before, 0), print(&others, i), "finding {i}");
        }
    }

    #[test]
    fn problems_are_notifications_and_a_fatal_one_fails_the_run() {
        let problems = vec![
            Problem {
                file: "broken.yaml".into(),
                line: Some(3),
                column: Some(1),
                message: "not valid YAML".into(),
                fatal: false,
            },
            Problem::text("missing.yaml: cannot read", true),
        ];
        let sarif = sarif(&Log::new(
            Some(Root::source("/src")),
            vec![rule()],
            Vec::new(),
            problems,
        ));
        let invocation = &sarif["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(notes[0]["level"], "warning");
        assert_eq!(
            notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(notes[1]["level"], "error");
        assert!(notes[1].get("locations").is_none());
    }
}
