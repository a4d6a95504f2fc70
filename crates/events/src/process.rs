//! A process as a source knows it apart from its events: one that was running when the source
//! began (the kernel's source reads them from /proc; a recording keeps what it read), and what
//! the agent's process table keeps of each process its events told it about.

use serde::{Deserialize, Serialize};

/// What is known of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Task name (`comm`), Falco's `proc.name`.
    pub name: String,
    /// Resolved executable path, Falco's `proc.exepath`.
    pub exe_path: String,
    /// Arguments, argv\[0\] first.
    pub argv: Vec<String>,
    /// Working directory at exec.
    pub cwd: String,
    /// Effective user id.
    pub uid: u32,
    /// Audit login uid.
    pub loginuid: Option<u32>,
    /// Controlling terminal (tty_nr), 0 when none.
    pub tty: u32,
    /// Cgroup path, which names the container.
    pub cgroup: String,
    /// Process id in its own pid namespace (1 for a container's first process), when known.
    pub vpid: Option<u32>,
    /// Falco's `proc.is_exe_upper_layer`: the executable is in an overlayfs upper layer; known
    /// for processes seen at exec, not for those read from /proc at start.
    pub exe_upper_layer: Option<bool>,
    /// When the process started (forked), CLOCK_BOOTTIME nanoseconds, when known.
    pub start_ns: Option<u64>,
}

impl Process {
    /// Falco's `proc.exe`: argv\[0\] as the process was started.
    pub fn exe(&self) -> &str {
        self.argv.first().map_or(self.name.as_str(), String::as_str)
    }

    /// Falco's `proc.cmdline`: the name followed by the arguments after argv\[0\].
    pub fn cmdline(&self) -> String {
        let mut line = self.name.clone();
        for arg in self.argv.iter().skip(1) {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }
}
