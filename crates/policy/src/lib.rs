//! haechi's deploy-time policy engine.
//!
//! It owns the Kubernetes object model the checks read ([`object`]), the kinds haechi checks
//! ([`kinds`]), the check catalogue ([`checks`]), findings and their JSON Patch fixes ([`fix`]),
//! the Pod Security Standards' levels and versions ([`standards`]), and the configuration with
//! its exemptions ([`config`]). Severities and references are `haechi-report`'s, the vocabulary
//! every report shares. `haechi scan` and `haechi admit` are front doors to one [`Engine`]:
//! neither re-implements a check. It must not touch files, terminals or the network; reading
//! manifests and rendering reports belong to the front doors.
//!
//! Checks are plain functions over positioned trees ([`haechi_manifest::Node`]) rather than
//! typed Kubernetes structs: a check must be able to point at the line of a field, and an object
//! with one misspelled field must still be checked on all the others.

pub mod check;
pub mod checks;
pub mod config;
pub mod engine;
pub mod facts;
pub mod fix;
pub mod kinds;
pub mod object;
pub mod options;
pub mod path;
pub mod standards;

pub use check::{Check, CheckMeta, Condition, Pending, Reference, Severity, Violation};
pub use config::{Config, ConfigError};
pub use engine::{Checked, Engine, Finding, Fixed, Ignored, Session};
pub use object::{Object, ObjectRef, ObjectSet};
pub use options::Options;
pub use path::FieldPath;
pub use standards::{PssLevel, PssVersion};
