//! An event's Falco fields (`evt.type`, `proc.name`, `fd.name`, ...): the catalogue of them
//! ([`Field`]), the value of each for an event ([`value`]), and the flat map of them all that
//! `haechi agent --events` writes ([`render`]). Rules read the same values through
//! [`crate::rules::View`] without building the map.

mod field;
mod value;

use std::io::Write;

use haechi_events::Event;
use serde_json::Map;

use crate::accounts::Accounts;
use crate::dns::ServerNames;
use crate::process::Process;

pub use field::{Field, Named};
pub use value::{Value, value};

/// What is known of the container a process runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerView {
    /// Full id; empty for the host.
    pub id: String,
    /// Runtime's name for it.
    pub name: Option<String>,
    /// Image repository.
    pub image_repository: Option<String>,
    /// Image tag.
    pub image_tag: Option<String>,
    /// Runs privileged.
    pub privileged: Option<bool>,
    /// Kubernetes pod name.
    pub pod_name: Option<String>,
    /// Kubernetes namespace.
    pub pod_namespace: Option<String>,
    /// Kubernetes pod uid.
    pub pod_uid: Option<String>,
    /// Labels the engine reports (Docker labels, OCI annotations).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The engine has answered (or none knew the container); false while a lookup runs.
    pub resolved: bool,
}

/// Everything needed to render one event.
pub struct Context<'a> {
    /// The process the event is about (after the table was updated).
    pub process: &'a Process,
    /// Its ancestors, parent first.
    pub ancestors: &'a [std::sync::Arc<Process>],
    /// Its container.
    pub container: &'a ContainerView,
    /// User and group names.
    pub accounts: &'a Accounts,
    /// Offset from CLOCK_BOOTTIME to the Unix epoch, in nanoseconds.
    pub boot_to_epoch_ns: u64,
    /// The sandbox the event comes from (`gvisor`), `None` for the host kernel's events.
    pub sandbox: Option<&'a str>,
    /// What the DNS answers seen so far named the servers.
    pub server_names: &'a ServerNames,
}

/// Falco's `evt.type` for an event.
pub fn event_type(event: &Event) -> &'static str {
    match event {
        Event::Exec(_) => "execve",
        Event::Fork { .. } => "clone",
        Event::Exit { .. } => "procexit",
        Event::Syscall(s) => s.syscall.name,
    }
}

/// Writes `event` as one JSON object of Falco fields: what [`render`] gives, keys in the same
/// order, written straight to `out` without building the map (a map of some fifty owned keys
/// and values per event is most of what streaming every event costs the agent).
pub fn write_json(event: &Event, cx: &Context<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut first = true;
    let mut put = |out: &mut dyn Write, name: &str, f: Field| -> std::io::Result<()> {
        let Some(v) = value(f, event, cx) else {
            return Ok(());
        };
        out.write_all(if first { b"{\"" } else { b",\"" })?;
        first = false;
        // Field names are plain ASCII: nothing in them needs escaping.
        out.write_all(name.as_bytes())?;
        out.write_all(b"\":")?;
        v.write_json(out)
    };
    let levels = 1..=u32::try_from(cx.ancestors.len()).unwrap_or(u32::MAX);
    for &f in sorted_names() {
        // The ancestor fields sort between `proc.aname`'s neighbours: just before `proc.args`.
        if f == Named::ProcArgs {
            for level in levels.clone() {
                put(out, &Field::AName(level).name(), Field::AName(level))?;
            }
            for level in levels.clone() {
                put(out, &Field::APid(level).name(), Field::APid(level))?;
            }
        }
        put(out, f.name(), Field::Named(f))?;
    }
    out.write_all(if first { b"{}" } else { b"}" })
}

/// The fields without an argument in the order of their names (a JSON map's order).
fn sorted_names() -> &'static [Named] {
    static SORTED: std::sync::LazyLock<Vec<Named>> = std::sync::LazyLock::new(|| {
        let mut names = Named::ALL.to_vec();
        names.sort_by_key(|f| f.name());
        names
    });
    &SORTED
}

/// Renders `event` as Falco fields: every field of the catalogue the event has, with the value
/// [`value`] gives the rules.
pub fn render(event: &Event, cx: &Context<'_>) -> Map<String, serde_json::Value> {
    let mut m = Map::new();
    let mut put = |f: Field| {
        if let Some(v) = value(f, event, cx) {
            m.insert(f.name().into_owned(), v.into_json());
        }
    };
    for &f in Named::ALL {
        put(Field::Named(f));
    }
    for level in 1..=u32::try_from(cx.ancestors.len()).unwrap_or(u32::MAX) {
        put(Field::AName(level));
        put(Field::APid(level));
    }
    m
}
