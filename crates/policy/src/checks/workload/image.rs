//! Image references: mutable tags, missing digests, and pull policies that trust a node's cache.

use serde_json::json;

use crate::check::{Check, CheckMeta, Context, Rule, Severity, Violation};
use crate::checks::refs::{NSA_CISA, cis, mitre};
use crate::fix;
use crate::kinds::WORKLOADS;
use crate::object::Container;

pub const TAG: Check = Check {
    meta: CheckMeta {
        id: "image-tag",
        title: "Image without a version tag",
        severity: Severity::Medium,
        pss: None,
        description: "An image without a tag means `:latest`: what runs changes whenever someone \
                      pushes, rollbacks do not roll back, and a vulnerability scan of the \
                      manifest's image says nothing about what the node pulled.",
        remediation: "Name a version tag, better a digest: `image: repo/app:1.4.2@sha256:…`.",
        references: &[NSA_CISA, mitre!("T1525", "T1525")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(tag),
};

pub const DIGEST: Check = Check {
    meta: CheckMeta {
        id: "image-digest",
        title: "Image not pinned by digest",
        severity: Severity::Low,
        pss: None,
        description: "A tag can be moved to another image by anyone who can push to the \
                      registry; only a digest names exactly the image that was reviewed and \
                      scanned.",
        remediation: "Pin the image by digest: `repo/app:1.4.2@sha256:…` (tools such as `crane \
                      digest` print it).",
        references: &[NSA_CISA, cis!("5.5.1"), mitre!("T1525", "T1525")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(digest),
};

pub const PULL_POLICY: Check = Check {
    meta: CheckMeta {
        id: "image-pull-policy",
        title: "Mutable image not pulled on every start",
        severity: Severity::Low,
        pss: None,
        description: "With `IfNotPresent` or `Never`, a node runs whatever image it cached under \
                      a mutable tag, and a pod may use a private image another tenant pulled \
                      without proving it may read it.",
        remediation: "Set `imagePullPolicy: Always`, or pin the image by digest.",
        references: &[NSA_CISA, mitre!("T1525", "T1525")],
    },
    kinds: WORKLOADS,
    rule: Rule::Object(pull_policy),
};

/// The parts of an image reference that these checks need.
#[derive(Debug, PartialEq)]
struct ImageRef<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Splits `[registry[:port]/]repo[:tag][@digest]`. A colon before the last `/` belongs to a
/// registry port, not a tag.
fn parse_image(image: &str) -> ImageRef<'_> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let tag = last_segment.split_once(':').map(|(_, tag)| tag);
    ImageRef { tag, digest }
}

fn images<'a>(ctx: &Context<'a>) -> Vec<(Container<'a>, &'a str)> {
    let Some(pod) = ctx.object.pod() else {
        return Vec::new();
    };
    pod.containers()
        .filter_map(|c| {
            let image = c.node.get("image")?.as_str()?;
            Some((c, image))
        })
        .collect()
}

fn tag(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    for (container, image) in images(ctx) {
        let image_ref = parse_image(image);
        if image_ref.digest.is_some() {
            continue;
        }
        let problem = match image_ref.tag {
            None | Some("") => "has no tag (means :latest)",
            Some("latest") => "uses the :latest tag",
            Some(_) => continue,
        };
        out.push(ctx.violation(
            container.path.key("image"),
            format!("{} image {image} {problem}", container.describe()),
            None,
        ));
    }
}

fn digest(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    for (container, image) in images(ctx) {
        if parse_image(image).digest.is_none() {
            out.push(ctx.violation(
                container.path.key("image"),
                format!(
                    "{} image {image} is not pinned by digest",
                    container.describe()
                ),
                None,
            ));
        }
    }
}

fn pull_policy(ctx: &Context<'_>, out: &mut Vec<Violation>) {
    for (container, image) in images(ctx) {
        if parse_image(image).digest.is_some() {
            continue;
        }
        let image_ref = parse_image(image);
        let policy = container
            .node
            .get("imagePullPolicy")
            .and_then(|p| p.as_str());
        let problem = match policy {
            Some("Always") => continue,
            // Kubernetes defaults to Always for untagged and :latest images.
            None if matches!(image_ref.tag, None | Some("") | Some("latest")) => continue,
            None => "defaults to IfNotPresent".to_string(),
            Some(other) => format!("is {other}"),
        };
        let path = container.path.key("imagePullPolicy");
        let fix = fix::set(ctx.object.root, &path, json!("Always"));
        out.push(ctx.violation(
            path,
            format!(
                "{} pulls mutable image {image} but imagePullPolicy {problem}",
                container.describe()
            ),
            Some(fix),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_ports_are_not_tags() {
        assert_eq!(
            parse_image("registry:5000/app"),
            ImageRef {
                tag: None,
                digest: None
            }
        );
        assert_eq!(parse_image("registry:5000/app:1.2").tag, Some("1.2"));
        assert_eq!(parse_image("nginx").tag, None);
        assert_eq!(parse_image("nginx:latest").tag, Some("latest"));
        let pinned = parse_image("nginx:1.27@sha256:abc");
        assert_eq!(pinned.tag, Some("1.27"));
        assert_eq!(pinned.digest, Some("sha256:abc"));
        assert_eq!(parse_image("nginx@sha256:abc").tag, None);
    }
}
