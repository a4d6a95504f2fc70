//! Field paths inside an object: `spec.template.spec.containers[0].securityContext.privileged`.

use std::fmt;

use haechi_manifest::{Node, Pos};
use json_patch::jsonptr::PointerBuf;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(Box<str>),
    /// A sequence index.
    Index(usize),
}

/// A path from an object's root to one of its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The object's root.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// A path of mapping keys.
    pub fn of(keys: &[&str]) -> FieldPath {
        FieldPath(keys.iter().map(|k| Segment::Key((*k).into())).collect())
    }

    /// This path extended by mapping keys.
    pub fn key(&self, key: &str) -> FieldPath {
        self.keys(&[key])
    }

    /// This path extended by several mapping keys.
    pub fn keys(&self, keys: &[&str]) -> FieldPath {
        let mut path = self.clone();
        path.0
            .extend(keys.iter().map(|k| Segment::Key((*k).into())));
        path
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// The steps of this path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path as an RFC 6901 JSON Pointer, as JSON Patch uses it.
    pub fn pointer(&self) -> PointerBuf {
        pointer(&self.0)
    }

    /// Resolves the path in a tree.
    pub fn resolve<'a>(&self, root: &'a Node) -> Option<&'a Node> {
        self.0.iter().try_fold(root, |node, seg| match seg {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.items().get(*i),
        })
    }

    /// Where a finding on this path points: the key of the field when it is present, otherwise
    /// the closest ancestor that is present (so a missing `securityContext` points at its
    /// container).
    pub fn locate(&self, root: &Node) -> Pos {
        let mut node = root;
        let mut pos = root.pos;
        for seg in &self.0 {
            let next = match seg {
                Segment::Key(k) => node.entry(k).map(|(key, value)| (key.pos, value)),
                Segment::Index(i) => node.items().get(*i).map(|item| (item.pos, item)),
            };
            match next {
                Some((p, child)) => {
                    pos = p;
                    node = child;
                }
                None => break,
            }
        }
        pos
    }
}

/// The JSON Pointer of a run of segments.
pub(crate) fn pointer(segments: &[Segment]) -> PointerBuf {
    PointerBuf::from_tokens(segments.iter().map(|s| match s {
        Segment::Key(k) => k.to_string(),
        Segment::Index(i) => i.to_string(),
    }))
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if n == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_kubectl_explain() {
        let path = FieldPath::of(&["spec", "containers"])
            .index(0)
            .keys(&["securityContext", "privileged"]);
        assert_eq!(
            path.to_string(),
            "spec.containers[0].securityContext.privileged"
        );
        assert_eq!(
            path.pointer().as_str(),
            "/spec/containers/0/securityContext/privileged"
        );
    }

    #[test]
    fn pointer_escapes_slashes_in_keys() {
        let path = FieldPath::of(&["metadata", "annotations", "a/b~c"]);
        assert_eq!(path.pointer().as_str(), "/metadata/annotations/a~1b~0c");
    }
}
