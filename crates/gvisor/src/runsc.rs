//! Attaching to sandboxes that were started without haechi's pod-init config: list them under
//! a runsc root, create haechi's trace session in each (`runsc trace create --force`), and read
//! their processes (`runsc trace procfs`) to seed the process table.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::decode::{MAX_ARGS, MAX_COMM, MAX_ID, MAX_STRING};

/// Why runsc could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RunscError {
    /// runsc did not start.
    #[error("running {binary}: {error} (install runsc, Debian package runsc)")]
    Spawn {
        /// The binary.
        binary: String,
        /// Why.
        error: std::io::Error,
    },
    /// runsc failed.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// What runsc said.
        stderr: String,
    },
    /// runsc's output did not parse.
    #[error("`{command}` printed what haechi cannot read: {why}")]
    Output {
        /// The command line.
        command: String,
        /// What was wrong.
        why: String,
    },
}

/// A process of a running sandbox, as `runsc trace procfs` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxProcess {
    /// Process id in the sandbox.
    pub pid: u32,
    /// Parent process id in the sandbox (0 for a container's first process).
    pub ppid: u32,
    /// Task name.
    pub comm: String,
    /// Executable path.
    pub exe: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Effective user id.
    pub uid: u32,
}

/// runsc, with the state root of the sandboxes to attach to.
#[derive(Clone, Debug)]
pub struct Runsc {
    /// The runsc binary.
    pub binary: PathBuf,
    /// Its `--root` (containerd's runsc shim uses /run/containerd/runsc/k8s.io).
    pub root: PathBuf,
}

impl Runsc {
    /// runsc from PATH with state under `root`.
    pub fn new(root: &Path) -> Runsc {
        Runsc {
            binary: "runsc".into(),
            root: root.to_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<String, RunscError> {
        let command = format!(
            "{} --root {} {}",
            self.binary.display(),
            self.root.display(),
            args.join(" ")
        );
        let output = Command::new(&self.binary)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .map_err(|error| RunscError::Spawn {
                binary: self.binary.display().to_string(),
                error,
            })?;
        if !output.status.success() {
            return Err(RunscError::Failed {
                command,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Ids of the running containers under the root.
    pub fn running(&self) -> Result<Vec<String>, RunscError> {
        let out = self.run(&["list", "-format", "json"])?;
        let command = || format!("runsc --root {} list", self.root.display());
        let list: Value = serde_json::from_str(&out).map_err(|e| RunscError::Output {
            command: command(),
            why: e.to_string(),
        })?;
        // runsc prints `null` when there is none.
        let Some(containers) = list.as_array() else {
            return Ok(Vec::new());
        };
        Ok(containers
            .iter()
            .filter(|c| c["status"] == "running")
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// Creates haechi's trace session (the JSON file `session`) in the sandbox running
    /// container `id`, replacing one of the same name.
    pub fn attach(&self, id: &str, session: &Path) -> Result<(), RunscError> {
        let session = session.to_string_lossy();
        self.run(&["trace", "create", "--force", "--config", &session, id])
            .map(drop)
    }

    /// The processes of the sandbox running container `id`.
    pub fn processes(&self, id: &str) -> Result<Vec<SandboxProcess>, RunscError> {
        let out = self.run(&["trace", "procfs", id])?;
        parse_procfs(&out).map_err(|why| RunscError::Output {
            command: format!("runsc --root {} trace procfs {id}", self.root.display()),
            why,
        })
    }
}

/// Reads `runsc trace procfs` output: a title line, then one JSON object per process.
pub fn parse_procfs(out: &str) -> Result<Vec<SandboxProcess>, String> {
    let text = |v: &Value, max| {
        let s = v.as_str().unwrap_or_default();
        let mut end = s.len().min(max);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_owned()
    };
    let id = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    out.lines()
        .filter(|line| line.starts_with('{'))
        .enumerate()
        .map(|(i, line)| {
            let p: Value =
                serde_json::from_str(line).map_err(|e| format!("process {}: {e}", i + 1))?;
            let status = &p["status"];
            let pid = id(&status["pid"]);
            if pid == 0 {
                return Err(format!("process {} has no status.pid", i + 1));
            }
            Ok(SandboxProcess {
                pid,
                ppid: id(&status["ppid"]),
                comm: text(&status["comm"], MAX_COMM),
                exe: text(&p["exe"], MAX_STRING),
                args: p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .take(MAX_ARGS)
                    .map(|a| text(a, MAX_STRING))
                    .collect(),
                cwd: text(&p["cwd"], MAX_STRING),
                uid: id(&status["uid"]["effective"]),
            })
        })
        .collect()
}

/// Whether `id` can be a container id runsc accepts as an argument (ids come from runsc's own
/// list, but are checked before they become arguments).
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runscs_procfs_dump() {
        let out = "PROCFS DUMP\n\n{\"exe\":\"/bin/busybox\",\"args\":[\"sleep\",\"1000\"],\
                   \"cwd\":\"/\",\"status\":{\"comm\":\"sleep\",\"pid\":1,\"ppid\":0,\
                   \"uid\":{\"real\":0,\"effective\":1000,\"saved\":0}}}\n";
        assert_eq!(
            parse_procfs(out).unwrap(),
            [SandboxProcess {
                pid: 1,
                ppid: 0,
                comm: "sleep".into(),
                exe: "/bin/busybox".into(),
                args: vec!["sleep".into(), "1000".into()],
                cwd: "/".into(),
                uid: 1000,
            }]
        );
        assert!(parse_procfs("{\"status\":{}}").is_err());
        assert!(parse_procfs("{not json").is_err());
    }

    #[test]
    fn ids_that_could_be_flags_are_not_plausible() {
        assert!(plausible_id("0123abcd"));
        assert!(!plausible_id("--root=/"));
        assert!(!plausible_id("a b"));
    }
}
