//! Which containers a policy applies to. Every field given must match; a list matches when
//! any of its entries does. An empty selector selects every container (never the host).

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

/// What the agent knows of a container when it decides which policies cover it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// Full container id.
    pub id: &'a str,
    /// The runtime's name for it.
    pub name: Option<&'a str>,
    /// Image as `repository:tag` (or the repository alone).
    pub image: Option<&'a str>,
    /// Kubernetes namespace.
    pub namespace: Option<&'a str>,
    /// Labels as the runtime reports them (Docker labels, OCI annotations).
    pub labels: &'a BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSelector {
    #[serde(default)]
    container_ids: Vec<String>,
    #[serde(default)]
    container_names: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    // Process selectors belong to rules; named here only to say so.
    #[serde(default)]
    binaries: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    ancestors: Option<serde::de::IgnoredAny>,
}

/// A checked selector.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    container_ids: Vec<String>,
    container_names: Vec<String>,
    images: Vec<GlobMatcher>,
    namespaces: Vec<String>,
    labels: BTreeMap<String, String>,
}

impl RawSelector {
    /// Checks the fields; an error names the field and what is wrong.
    pub(crate) fn check(self) -> Result<Selector, (String, String)> {
        for (given, name) in [
            (self.binaries.is_some(), "binaries"),
            (self.ancestors.is_some(), "ancestors"),
        ] {
            if given {
                return Err((
                    name.into(),
                    format!(
                        "the policy's selector picks containers; `{name}` picks processes and \
                         belongs to each rule that needs it (spec.rules[i].{name})"
                    ),
                ));
            }
        }
        for (i, id) in self.container_ids.iter().enumerate() {
            if id.len() < 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err((
                    format!("containerIds[{i}]"),
                    format!("`{id}`: give at least 12 hex digits of a container id"),
                ));
            }
        }
        let images = self
            .images
            .iter()
            .enumerate()
            .map(|(i, pattern)| {
                Glob::new(pattern)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| (format!("images[{i}]"), format!("`{pattern}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Selector {
            container_ids: self
                .container_ids
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            container_names: self.container_names,
            images,
            namespaces: self.namespaces,
            labels: self.labels,
        })
    }
}

impl Selector {
    /// Whether the selector covers `target`.
    pub fn selects(&self, target: &Target<'_>) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|item| item == v))
        };
        (self.container_ids.is_empty()
            || self
                .container_ids
                .iter()
                .any(|id| target.id.starts_with(id.as_str())))
            && any(&self.container_names, target.name)
            && any(&self.namespaces, target.namespace)
            && (self.images.is_empty()
                || target
                    .image
                    .is_some_and(|image| self.images.iter().any(|g| g.is_match(image))))
            && self
                .labels
                .iter()
                .all(|(k, v)| target.labels.get(k) == Some(v))
    }

    /// Whether the selector needs what only the container engine knows (name, image,
    /// namespace, labels); a selector of ids alone can be decided from the cgroup path.
    pub fn needs_metadata(&self) -> bool {
        !(self.container_names.is_empty()
            && self.images.is_empty()
            && self.namespaces.is_empty()
            && self.labels.is_empty())
    }
}
