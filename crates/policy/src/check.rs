//! What a check is: its metadata, and the function that finds violations.

use haechi_manifest::Pos;

use crate::facts::Facts;
use crate::fix::Fix;
use crate::object::Object;
use crate::options::Options;
use crate::path::FieldPath;
pub use crate::standards::PssLevel;
pub use haechi_report::{Reference, Severity};

/// What describes a check; the same for every finding it raises.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// Stable identifier, used in configuration, annotations and reports.
    pub id: &'static str,
    /// One line: what is wrong.
    pub title: &'static str,
    /// Default severity (a configuration may override it).
    pub severity: Severity,
    /// The Pod Security Standards level this control belongs to, when it is one.
    pub pss: Option<PssLevel>,
    /// Why it matters, in a few sentences.
    pub description: &'static str,
    /// What to do.
    pub remediation: &'static str,
    /// Where the control is defined.
    pub references: &'static [Reference],
}

/// One place where an object breaks a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The offending field (or where it must be added).
    pub path: FieldPath,
    /// The source position of the field, or of its closest present ancestor.
    pub pos: Pos,
    /// What is wrong here, naming the value.
    pub message: String,
    /// A JSON Patch that makes this violation go away, when one is safe to suggest.
    pub fix: Option<Fix>,
}

/// A violation of a check that looks across objects, attached to one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SetViolation {
    /// Number of the object the finding is reported on (its place in the scan, from 0).
    pub object: usize,
    /// The violation.
    pub violation: Violation,
}

/// What another object of the scan must say for a violation to stand. Checks that look past
/// their object say so with a condition instead of reading the other objects, which may come
/// later in the input: the engine decides once every object is seen, from the [`Facts`] it
/// kept of each, so no object's tree has to be kept until then.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Stands unless the ServiceAccount `account` (looked up in `namespace`, then among
    /// ServiceAccounts without a namespace) sets `automountServiceAccountToken: false`.
    TokenNotRefused {
        /// The pod's namespace, when set.
        namespace: Option<String>,
        /// The ServiceAccount's name.
        account: String,
    },
    /// Stands when the Namespace `namespace` of the scan carries an untrusted label.
    NamespaceUntrusted {
        /// The namespace.
        namespace: String,
    },
    /// Stands when the ClusterRole `name` grants writing workloads; `message` then says what
    /// it grants (the resources, comma-separated).
    ClusterRoleWritesWorkloads {
        /// The ClusterRole.
        name: String,
        /// The violation's message, given the resources.
        message: fn(&str, &str) -> String,
    },
}

impl Condition {
    /// Whether the condition holds over `facts`; `violation` gets the message the condition
    /// completes.
    pub fn holds(&self, facts: &Facts, options: &Options, violation: &mut Violation) -> bool {
        match self {
            Condition::TokenNotRefused { namespace, account } => {
                let found = [namespace.as_deref(), None]
                    .into_iter()
                    .find_map(|ns| facts.named("ServiceAccount", ns, account));
                !matches!(
                    found,
                    Some(crate::facts::Fact::ServiceAccount {
                        refuses_token: true
                    })
                )
            }
            Condition::NamespaceUntrusted { namespace } => {
                facts.namespace_untrusted(namespace, options)
            }
            Condition::ClusterRoleWritesWorkloads { name, message } => {
                match facts.named("ClusterRole", None, name) {
                    Some(crate::facts::Fact::ClusterRole { rbac: true, writes })
                        if !writes.is_empty() =>
                    {
                        violation.message = message(name, &writes.join(", "));
                        true
                    }
                    _ => false,
                }
            }
        }
    }
}

/// A violation that may depend on other objects.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The violation as it stands when the condition holds.
    pub violation: Violation,
    /// `None`: it stands whatever the other objects say.
    pub condition: Option<Condition>,
}

/// How a check runs.
#[derive(Clone, Copy)]
pub enum Rule {
    /// Looks at one object at a time.
    Object(fn(&Context<'_>, &mut Vec<Violation>)),
    /// Looks at one object, but whether a violation stands may depend on other objects (its
    /// ServiceAccount, Namespace, ClusterRole): decided when every object has been seen.
    Depends(fn(&Context<'_>, &mut Vec<Pending>)),
    /// Looks across the whole scan through the facts kept of each object (NetworkPolicy
    /// coverage, for example).
    Set(fn(&Facts, &Options, &mut Vec<SetViolation>)),
}

/// A check: metadata, the kinds it reads and rule.
#[derive(Clone, Copy)]
pub struct Check {
    /// What it is.
    pub meta: CheckMeta,
    /// The object kinds it can apply to ([`crate::kinds`]); the engine runs an object rule only
    /// on these, and reports name it as not applicable to any other.
    pub kinds: &'static [&'static str],
    /// What it does.
    pub rule: Rule,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("meta", &self.meta)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// What an object-level check sees.
pub struct Context<'a> {
    /// The object under check.
    pub object: &'a Object<'a>,
    /// Engine options (PSS version, sandbox runtime classes, …).
    pub options: &'a Options,
}

impl<'a> Context<'a> {
    /// A violation at `path`, located in the object's source.
    pub fn violation(
        &self,
        path: FieldPath,
        message: impl Into<String>,
        fix: Option<Fix>,
    ) -> Violation {
        Violation {
            pos: path.locate(self.object.root),
            path,
            message: message.into(),
            fix,
        }
    }
}
