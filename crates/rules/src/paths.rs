//! Which file paths the rules can match at all, so that the kernel can drop every other file
//! event before it crosses into user space.
//!
//! The analysis runs on compiled conditions, under a few field values the caller knows about the
//! events in question (`evt.type = openat`, `evt.is_open_write = false`): tests of those fields
//! are decided, tests of `fd.name` and `fd.directory` that only a path under some prefix can pass
//! become prefixes, and every other test may go either way. The answer over-approximates: an
//! event outside the prefixes matches no rule, an event inside may or may not.

use std::collections::BTreeSet;

use crate::eval::{Access, Event, Key, Node, Pred, Test, Val};

/// What a condition needs of `fd.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    /// The condition cannot hold under the known values.
    Never,
    /// It holds only when `fd.name` starts with one of these.
    Under(BTreeSet<Box<str>>),
    /// It may hold whatever the path; `certain`: it always holds.
    Any { certain: bool },
}

/// The field values an analysis takes as given.
struct Known<'a>(&'a [(&'a str, Val<'a>)]);

impl Event for Known<'_> {
    fn get(&self, key: &Key) -> Option<Val<'_>> {
        self.0
            .iter()
            .find(|(name, _)| *name == key.name())
            .map(|(_, v)| v.clone())
    }
}

impl Known<'_> {
    fn knows(&self, key: &Key) -> bool {
        self.0.iter().any(|(name, _)| *name == key.name())
    }
}

/// The `fd.name` prefixes an event with the `known` field values must have for `node` to match;
/// `None` when it may match whatever the path.
pub(crate) fn prefixes(node: &Node, known: &[(&str, Val<'_>)]) -> Option<BTreeSet<Box<str>>> {
    match need(node, &Known(known)) {
        Need::Never => Some(BTreeSet::new()),
        Need::Under(set) => Some(set),
        Need::Any { .. } => None,
    }
}

fn need(node: &Node, known: &Known<'_>) -> Need {
    match node {
        Node::Const(b) => decided(*b),
        Node::Not(inner) => match need(inner, known) {
            Need::Never => decided(true),
            Need::Any { certain: true } => decided(false),
            _ => Need::Any { certain: false },
        },
        Node::And(items) => {
            let needs: Vec<Need> = items.iter().map(|n| need(n, known)).collect();
            if needs.contains(&Need::Never) {
                return Need::Never;
            }
            // Any one constrained operand bounds the conjunction; the narrowest serves best.
            needs
                .iter()
                .filter_map(|n| match n {
                    Need::Under(set) => Some(set),
                    _ => None,
                })
                .min_by_key(|set| set.len())
                .map_or_else(
                    || Need::Any {
                        certain: needs.iter().all(|n| *n == Need::Any { certain: true }),
                    },
                    |set| Need::Under(set.clone()),
                )
        }
        Node::Or(items) => {
            let mut union = BTreeSet::new();
            let mut any = None;
            for n in items {
                match need(n, known) {
                    Need::Never => {}
                    Need::Under(set) => union.extend(set),
                    Need::Any { certain } => any = Some(any.unwrap_or(false) || certain),
                }
            }
            match any {
                Some(certain) => Need::Any { certain },
                None if union.is_empty() => Need::Never,
                None => Need::Under(union),
            }
        }
        Node::Test(test) => test_need(test, node, known),
    }
}

fn decided(holds: bool) -> Need {
    if holds {
        Need::Any { certain: true }
    } else {
        Need::Never
    }
}

fn test_need(test: &Test, node: &Node, known: &Known<'_>) -> Need {
    let key = match &test.operand.access {
        Access::Key(k) | Access::Derived(k, _) => k,
        Access::Ancestors(_) => return Need::Any { certain: false },
    };
    // A comparison with another field would read a field the analysis does not know.
    if known.knows(key) && !matches!(test.pred, Some(Pred::Field(..))) {
        return decided(node.eval(known));
    }
    if test.negate || !test.operand.transforms.is_empty() {
        return Need::Any { certain: false };
    }
    let directory = match key.name() {
        "fd.name" => false,
        "fd.directory" => true,
        _ => return Need::Any { certain: false },
    };
    let paths: Vec<&str> = match &test.pred {
        Some(Pred::StrEq(s) | Pred::StartsWith(s)) => vec![s],
        Some(Pred::StrIn(set)) => set.iter().map(|s| &**s).collect(),
        Some(Pred::Pmatch(p)) => match p.items() {
            Some(items) => items.collect(),
            None => return Need::Any { certain: false },
        },
        Some(Pred::Glob(g)) => {
            let pattern = g.glob().glob();
            vec![
                &pattern[..pattern
                    .find(['*', '?', '[', '{', '\\'])
                    .unwrap_or(pattern.len())],
            ]
        }
        _ => return Need::Any { certain: false },
    };
    let mut set = BTreeSet::new();
    for path in paths {
        // Only an absolute prefix narrows anything (a relative one says nothing of the path).
        if !path.starts_with('/') || path == "/" {
            return Need::Any { certain: false };
        }
        if directory {
            // The files of directory /etc are the names under /etc/.
            set.insert(format!("{}/", path.trim_end_matches('/')).into_boxed_str());
        } else {
            set.insert(Box::from(path));
        }
    }
    Need::Under(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, Ruleset};

    fn needs(condition: &str, read_only_open: bool) -> Option<Vec<String>> {
        let text = format!(
            "- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: WARNING\n"
        );
        let set = Ruleset::from_text("t.yaml", &text, Options::default()).expect("compiles");
        let known = [
            ("evt.type", Val::Str("openat".into())),
            ("evt.is_open_read", Val::Bool(true)),
            ("evt.is_open_write", Val::Bool(!read_only_open)),
        ];
        set.path_prefixes(&known)
            .map(|s| s.into_iter().map(String::from).collect())
    }

    #[test]
    fn reads_of_named_files_need_those_names() {
        let c = "evt.type = openat and evt.is_open_read = true and fd.name in (/etc/shadow, /etc/sudoers) and not proc.name = sudo";
        assert_eq!(
            needs(c, true),
            Some(vec!["/etc/shadow".into(), "/etc/sudoers".into()])
        );
    }

    #[test]
    fn a_write_only_rule_needs_no_read() {
        let c =
            "evt.type = openat and evt.is_open_write = true and fd.name endswith /release_agent";
        assert_eq!(needs(c, true), Some(vec![]));
        assert_eq!(needs(c, false), None);
    }

    #[test]
    fn alternatives_add_up_and_directories_cover_their_files() {
        let c = "evt.type = openat and (fd.name startswith /root/.ssh or fd.directory in (/etc/pam.d) or fd.name pmatch (/run/secrets))";
        assert_eq!(
            needs(c, true),
            Some(vec![
                "/etc/pam.d/".into(),
                "/root/.ssh".into(),
                "/run/secrets".into()
            ])
        );
    }

    #[test]
    fn negations_transformers_and_other_fields_say_nothing() {
        assert_eq!(
            needs("evt.type = openat and not fd.name startswith /etc", true),
            None
        );
        assert_eq!(
            needs("evt.type = openat and tolower(fd.name) = /etc/x", true),
            None
        );
        assert_eq!(
            needs("evt.type = openat and fd.filename = token", true),
            None
        );
        assert_eq!(
            needs("evt.type = openat and fd.name glob '*.key'", true),
            None
        );
        assert_eq!(
            needs(
                "evt.type = openat and (fd.name = /etc/x or proc.name = cat)",
                true
            ),
            None
        );
    }

    #[test]
    fn other_event_types_need_nothing() {
        assert_eq!(
            needs("evt.type = execve and proc.name = sh", true),
            Some(vec![])
        );
        assert_eq!(
            needs("not evt.type = execve and fd.name glob '/var/log/*'", true),
            Some(vec!["/var/log/".into()])
        );
    }

    #[test]
    fn default_rules_read_only_credentials_and_tokens() {
        let set = Ruleset::from_text(
            crate::DEFAULT_RULES_NAME,
            crate::DEFAULT_RULES,
            Options::default(),
        )
        .expect("compiles");
        let open = |write: bool| {
            set.path_prefixes(&[
                ("evt.type", Val::Str("openat".into())),
                ("evt.is_open_read", Val::Bool(!write)),
                ("evt.is_open_write", Val::Bool(write)),
            ])
        };
        let reads = open(false).expect("reads are bounded");
        assert!(reads.contains("/etc/shadow"), "{reads:?}");
        assert!(
            reads.contains("/var/run/secrets/kubernetes.io/serviceaccount"),
            "{reads:?}"
        );
        assert!(!reads.iter().any(|p| p.len() < 5), "{reads:?}");
        // A write anywhere can be a release_agent.
        assert_eq!(open(true), None);
    }
}
