//! The trace session haechi asks runsc for: which points, with which context, sent where. The
//! same session goes in a `--pod-init-config` file (sandboxes started with it stream from
//! their first instruction) and to `runsc trace create` (sandboxes already running).

use std::path::Path;

use serde_json::{Value, json};

/// Where haechi's agent listens for sandboxes unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/haechi/gvisor.sock";

/// The session's name. runsc (0.0~20221219) starts a `--pod-init-config` session only under
/// this name (one named otherwise is created and sends nothing, measured); `trace create
/// --force` replaces a session of the same name.
pub const SESSION: &str = "Default";

/// Points every session has: the process table needs them.
const PROCESS_POINTS: &[&str] = &[
    "container/start",
    "sentry/clone",
    "sentry/execve",
    "sentry/task_exit",
];

/// Syscall points haechi decodes, by the `evt.type` they become, with their optional fields.
const SYSCALL_POINTS: &[(&str, &str, &[&str])] = &[
    ("open", "syscall/open/exit", &[]),
    ("openat", "syscall/openat/exit", &["fd_path"]),
    ("creat", "syscall/creat/exit", &["fd_path"]),
    ("connect", "syscall/connect/exit", &["fd_path"]),
    ("socket", "syscall/socket/exit", &[]),
    ("setuid", "syscall/setuid/exit", &[]),
    ("setgid", "syscall/setgid/exit", &[]),
    ("setresuid", "syscall/setresuid/exit", &[]),
    ("setresgid", "syscall/setresgid/exit", &[]),
];

/// The context every point carries: who, in which container, when.
const CONTEXT: &[&str] = &[
    "time",
    "thread_id",
    "group_id",
    "container_id",
    "credentials",
    "cwd",
    "process_name",
];

/// The `evt.type`s a sandbox can report.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    ["execve", "clone", "procexit"]
        .into_iter()
        .chain(SYSCALL_POINTS.iter().map(|(t, _, _)| *t))
}

/// The points for rules that match `event_types` (`None`: every type), sorted as runsc lists
/// them. `connect` brings `socket` along: it tells a connect's protocol.
pub fn points(event_types: Option<&[&str]>) -> Vec<&'static str> {
    let wanted = |t: &str| {
        event_types
            .is_none_or(|types| types.contains(&t) || (t == "socket" && types.contains(&"connect")))
    };
    PROCESS_POINTS
        .iter()
        .copied()
        .chain(
            SYSCALL_POINTS
                .iter()
                .filter(|(t, _, _)| wanted(t))
                .map(|(_, point, _)| *point),
        )
        .collect()
}

/// The session sending `points` to the remote sink at `endpoint`.
pub fn session(endpoint: &str, points: &[&str]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|&name| {
            let optional = SYSCALL_POINTS
                .iter()
                .find(|(_, p, _)| *p == name)
                .map_or(&[][..], |(_, _, o)| *o);
            let mut point = json!({ "name": name, "context_fields": CONTEXT });
            if !optional.is_empty() {
                point["optional_fields"] = json!(optional);
            }
            point
        })
        .collect();
    json!({
        "name": SESSION,
        "points": points,
        "sinks": [{
            "name": "remote",
            "config": { "endpoint": endpoint, "retries": 3 },
        }],
    })
}

/// The remote sink's endpoint for the agent's socket at `socket`: runsc must be given an
/// absolute path (a relative one is taken from the current directory).
pub fn endpoint(socket: &Path) -> std::io::Result<String> {
    let absolute = if socket.is_absolute() {
        socket.to_owned()
    } else {
        std::env::current_dir()?.join(socket)
    };
    absolute
        .into_os_string()
        .into_string()
        .map_err(|path| std::io::Error::other(format!("{}: not UTF-8", Path::new(&path).display())))
}

/// The `--pod-init-config` file's content.
pub fn pod_init_config(endpoint: &str, points: &[&str]) -> Value {
    json!({ "trace_session": session(endpoint, points) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_follow_the_rules_event_types() {
        let all = points(None);
        assert_eq!(all.len(), PROCESS_POINTS.len() + SYSCALL_POINTS.len());
        let some = points(Some(&["openat", "connect", "execve"]));
        assert_eq!(
            &some[PROCESS_POINTS.len()..],
            [
                "syscall/openat/exit",
                "syscall/connect/exit",
                "syscall/socket/exit"
            ]
        );
    }

    #[test]
    fn optional_fields_only_where_the_point_has_them() {
        let s = session("/run/x.sock", &["syscall/open/exit", "syscall/openat/exit"]);
        assert_eq!(s["points"][0].get("optional_fields"), None);
        assert_eq!(s["points"][1]["optional_fields"], json!(["fd_path"]));
        assert_eq!(s["sinks"][0]["config"]["endpoint"], "/run/x.sock");
    }
}
