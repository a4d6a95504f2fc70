//! NetworkPolicy: namespaces whose workloads are not isolated by a default-deny policy, and
//! policies that open everything.
//!
//! Kubernetes isolates a pod for a direction only once some NetworkPolicy selecting it names that
//! direction; until then every connection is allowed. A policy's directions are `policyTypes`,
//! or, when that is absent or empty, Ingress plus Egress if the policy has at least one egress
//! rule (the API server's defaulting: `egress: []` alone does not make a policy an egress one).
//!
//! A rule opens everything when it names no peers and no ports, or, on every port, a peer that
//! is `{}` (rejected by the API server, but meant as "anyone") or an ipBlock of 0.0.0.0/0 or ::/0
//! without `except`. Rules restricted to ports are not reported: a public service is meant to be
//! reached from anywhere on its port.

use haechi_manifest::Node;

use crate::check::{Check, CheckMeta, Context, Rule, SetViolation, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::facts::Facts;
use crate::kinds::WORKLOADS;
use crate::object::Object;
use crate::options::Options;
use crate::path::FieldPath;

/// The NetworkPolicy checks.
pub static CHECKS: &[Check] = &[DEFAULT_DENY, ALLOW_ALL_INGRESS, ALLOW_ALL_EGRESS];

const DEFAULT_DENY: Check = Check {
    meta: CheckMeta {
        id: "network-policy-default-deny",
        title: "Namespace without default-deny NetworkPolicy",
        severity: Severity::Medium,
        pss: None,
        description: "A namespace that runs workloads and has no NetworkPolicy selecting all of \
                      its pods with no rules for a direction lets every pod talk to and be \
                      reached from everything: one compromised pod reaches the whole cluster \
                      and the internet. Judged over the scanned set: a policy applied from \
                      elsewhere is not seen.",
        remediation: "Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress, \
                      Egress]` and no rules to the namespace, then allow the flows each workload \
                      needs (DNS included) with further policies.",
        references: &[NSA_CISA, cis!("5.3.2"), mitre!("T1046", "T1046")],
    },
    kinds: WORKLOADS,
    rule: Rule::Set(default_deny),
};

const ALLOW_ALL_INGRESS: Check = Check {
    meta: CheckMeta {
        id: "network-policy-allow-all-ingress",
        title: "NetworkPolicy allows all ingress",
        severity: Severity::Medium,
        pss: None,
        description: "An ingress rule without `from` and `ports`, or from 0.0.0.0/0 or ::/0 on \
                      every port, admits every source: the policy isolates nothing.",
        remediation: "Name the peers (podSelector, namespaceSelector, narrow ipBlock) and ports \
                      that may connect.",
        references: &[NSA_CISA, cis!("5.3.2")],
    },
    kinds: &["NetworkPolicy"],
    rule: Rule::Object(allow_all_ingress),
};

const ALLOW_ALL_EGRESS: Check = Check {
    meta: CheckMeta {
        id: "network-policy-allow-all-egress",
        title: "NetworkPolicy allows all egress",
        severity: Severity::Medium,
        pss: None,
        description: "An egress rule without `to` and `ports`, or to 0.0.0.0/0 or ::/0 on every \
                      port, lets a compromised pod reach any address: command and control, data \
                      exfiltration, the cloud metadata service.",
        remediation: "Allow egress to the peers and ports the workload needs (DNS on 53, its \
                      backends); exclude the metadata address 169.254.169.254 from broad \
                      ipBlocks.",
        references: &[NSA_CISA, cis!("5.3.2"), mitre!("T1041", "T1041")],
    },
    kinds: &["NetworkPolicy"],
    rule: Rule::Object(allow_all_egress),
};

/// Traffic direction of a NetworkPolicy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn rules_field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    fn peers_field(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}

fn is_network_policy(object: &Object<'_>) -> bool {
    object.kind == "NetworkPolicy" && object.api_version == "networking.k8s.io/v1"
}

/// The directions a policy isolates, with `policyTypes` defaulting as the API server does: an
/// absent or empty list means Ingress, plus Egress when there is at least one egress rule.
fn directions(policy: &Node) -> Vec<Direction> {
    let spec = policy.get("spec");
    let types = spec
        .and_then(|s| s.get("policyTypes"))
        .map(Node::items)
        .unwrap_or_default();
    if types.is_empty() {
        let mut found = vec![Direction::Ingress];
        if spec
            .and_then(|s| s.get("egress"))
            .is_some_and(|e| !e.items().is_empty())
        {
            found.push(Direction::Egress);
        }
        return found;
    }
    types
        .iter()
        .filter_map(|t| match t.as_str()? {
            "Ingress" => Some(Direction::Ingress),
            "Egress" => Some(Direction::Egress),
            _ => None,
        })
        .collect()
}

/// Whether a label selector selects everything: absent, `null`, `{}`, or with empty (or null)
/// `matchLabels` and `matchExpressions`.
fn selects_all(selector: Option<&Node>) -> bool {
    selector.is_none_or(|s| {
        ["matchLabels", "matchExpressions"].iter().all(|f| {
            s.get(f)
                .is_none_or(|v| v.entries().is_empty() && v.items().is_empty())
        })
    })
}

/// Whether `policy` denies every connection of `direction` for every pod of its namespace.
fn denies_all(policy: &Node, direction: Direction) -> bool {
    let spec = policy.get("spec");
    selects_all(spec.and_then(|s| s.get("podSelector")))
        && directions(policy).contains(&direction)
        && spec
            .and_then(|s| s.get(direction.rules_field()))
            .is_none_or(|rules| rules.items().is_empty())
}

/// Whether a NetworkPolicy denies all ingress and all egress of its namespace by default;
/// `None` for other objects.
pub(crate) fn default_denies(object: &Object<'_>) -> Option<[bool; 2]> {
    is_network_policy(object)
        .then(|| [Direction::Ingress, Direction::Egress].map(|d| denies_all(object.root, d)))
}

fn default_deny(facts: &Facts, _: &Options, out: &mut Vec<SetViolation>) {
    for (namespace, coverage) in facts.coverage() {
        let Some((index, pos)) = coverage.first_workload else {
            continue;
        };
        let missing = match coverage.denied {
            [true, true] => continue,
            [true, false] => "egress",
            [false, true] => "ingress",
            [false, false] => "ingress and egress",
        };
        out.push(SetViolation {
            object: index,
            violation: Violation {
                pos,
                path: FieldPath::of(&["metadata", "namespace"]),
                message: format!(
                    "namespace \"{namespace}\" runs workloads but no NetworkPolicy denies all {missing} by default"
                ),
                fix: None,
            },
        });
    }
}

const EVERYWHERE: &[&str] = &["0.0.0.0/0", "::/0"];

/// Why a rule of `direction` opens everything, if it does.
fn opens_everything(rule: &Node, direction: Direction) -> Option<(Option<usize>, &'static str)> {
    // A null rule decodes as `{}`; anything else that is not a mapping is not a rule.
    if !rule.is_map() && !rule.is_null() {
        return None;
    }
    let all_ports = rule.get("ports").is_none_or(|p| p.items().is_empty());
    if !all_ports {
        return None;
    }
    let peers = rule.get(direction.peers_field());
    let Some(peers) = peers.filter(|p| !p.items().is_empty()) else {
        return Some((None, "has no peers and no ports: every address, every port"));
    };
    peers.items().iter().enumerate().find_map(|(i, peer)| {
        if peer.is_map() && peer.entries().is_empty() {
            // The API server rejects a peer that names nothing; what it says is "anyone".
            return Some((Some(i), "has an empty peer `{}`: every address, every port"));
        }
        let cidr = peer.path(&["ipBlock", "cidr"]).and_then(Node::as_str)?;
        let unrestricted = peer
            .path(&["ipBlock", "except"])
            .is_none_or(|e| e.items().is_empty());
        (EVERYWHERE.contains(&cidr) && unrestricted)
            .then_some((Some(i), "allows every address on every port"))
    })
}

fn allow_all(ctx: &Context<'_>, direction: Direction, out: &mut Vec<Violation>) {
    if !is_network_policy(ctx.object) || !directions(ctx.object.root).contains(&direction) {
        return;
    }
    let list = FieldPath::of(&["spec", direction.rules_field()]);
    let Some(rules) = list.resolve(ctx.object.root) else {
        return;
    };
    for (i, rule) in rules.items().iter().enumerate() {
        let Some((peer, why)) = opens_everything(rule, direction) else {
            continue;
        };
        let path = match peer {
            Some(p) => list.index(i).key(direction.peers_field()).index(p),
            None => list.index(i),
        };
        out.push(ctx.violation(
            path,
            format!(
                "NetworkPolicy \"{}\": {} rule {i} {why}",
                ctx.object.name,
                direction.rules_field()
            ),
            None,
        ));
    }
}

fn allow_all_ingress(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    allow_all(ctx, Direction::Ingress, out);
}

fn allow_all_egress(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    allow_all(ctx, Direction::Egress, out);
}

#[cfg(test)]
mod tests {
    use haechi_manifest::{Limits, parse_documents};

    use super::*;

    fn node(yaml: &str) -> Node {
        parse_documents(yaml, &Limits::default()).remove(0).unwrap()
    }

    #[test]
    fn policy_types_default_like_the_api_server() {
        assert_eq!(
            directions(&node("spec: {podSelector: {}}")),
            [Direction::Ingress]
        );
        assert_eq!(
            directions(&node("spec: {podSelector: {}, egress: []}")),
            [Direction::Ingress]
        );
        assert_eq!(
            directions(&node("spec: {podSelector: {}, egress: [{}]}")),
            [Direction::Ingress, Direction::Egress]
        );
        assert_eq!(
            directions(&node("spec: {policyTypes: [], egress: [{to: []}]}")),
            [Direction::Ingress, Direction::Egress]
        );
        assert_eq!(
            directions(&node("spec: {policyTypes: Egress}")),
            [Direction::Ingress]
        );
        assert_eq!(directions(&node("spec: [a]")), [Direction::Ingress]);
        assert_eq!(
            directions(&node("spec: {policyTypes: [Egress]}")),
            [Direction::Egress]
        );
    }

    #[test]
    fn everything_is_an_empty_rule_an_empty_peer_or_the_whole_internet() {
        let opens = |rule: &str| opens_everything(&node(rule), Direction::Egress);
        assert_eq!(opens("{}").map(|o| o.0), Some(None));
        assert_eq!(opens("{to: []}").map(|o| o.0), Some(None));
        assert_eq!(
            opens("{to: [{podSelector: {}}, {}]}").map(|o| o.0),
            Some(Some(1))
        );
        assert_eq!(
            opens("{to: [{ipBlock: {cidr: '::/0'}}]}").map(|o| o.0),
            Some(Some(0))
        );
        assert!(opens("{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}").is_none());
        assert!(opens("{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 443}]}").is_none());
        assert!(opens("{to: [{namespaceSelector: {}}]}").is_none());
        assert!(opens("{to: {}, ports: 53}").is_some());
        assert!(opens("~").is_some());
        assert!(opens("[]").is_none());
    }

    #[test]
    fn default_deny_needs_all_pods_and_no_rules() {
        let deny = node("spec: {podSelector: {}, policyTypes: [Ingress, Egress]}");
        assert!(denies_all(&deny, Direction::Ingress) && denies_all(&deny, Direction::Egress));
        let some = node("spec: {podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress]}");
        assert!(!denies_all(&some, Direction::Ingress));
        let empty = node(
            "spec: {podSelector: {matchLabels: {}, matchExpressions: []}, policyTypes: [Egress]}",
        );
        assert!(denies_all(&empty, Direction::Egress) && !denies_all(&empty, Direction::Ingress));
        let null = node("spec: {podSelector: {matchLabels: null}}");
        assert!(denies_all(&null, Direction::Ingress));
        let allows = node("spec: {podSelector: {}, ingress: [{}]}");
        assert!(!denies_all(&allows, Direction::Ingress));
    }
}
