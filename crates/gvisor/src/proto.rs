//! The protobuf messages of gVisor's trace points that haechi decodes, declared with the tags
//! of `pkg/sentry/seccheck/points/{common,container,sentry,syscall}.proto`.
//!
//! Only the fields haechi reads are declared: protobuf skips the others, so a newer Sentry that
//! adds fields still decodes. Declaring them here instead of compiling the .proto files keeps
//! protoc out of the build.

/// `gvisor.common.Handshake`: each side's protocol version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Handshake {
    /// The sender's version.
    #[prost(uint32, tag = "1")]
    pub version: u32,
}

/// `gvisor.common.Credentials`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Credentials {
    /// Real user id.
    #[prost(uint32, tag = "1")]
    pub real_uid: u32,
    /// Effective user id.
    #[prost(uint32, tag = "2")]
    pub effective_uid: u32,
    /// Real group id.
    #[prost(uint32, tag = "4")]
    pub real_gid: u32,
    /// Effective group id.
    #[prost(uint32, tag = "5")]
    pub effective_gid: u32,
}

/// `gvisor.common.ContextData`: who caused a point (the fields a session asked for).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContextData {
    /// CLOCK_REALTIME nanoseconds.
    #[prost(int64, tag = "1")]
    pub time_ns: i64,
    /// Thread id in the sandbox's root pid namespace.
    #[prost(int32, tag = "2")]
    pub thread_id: i32,
    /// Thread-group (process) id in the sandbox's root pid namespace.
    #[prost(int32, tag = "4")]
    pub thread_group_id: i32,
    /// The container the task runs in.
    #[prost(string, tag = "6")]
    pub container_id: String,
    /// The task's credentials.
    #[prost(message, optional, tag = "7")]
    pub credentials: Option<Credentials>,
    /// Working directory.
    #[prost(string, tag = "8")]
    pub cwd: String,
    /// The task's name (`comm`).
    #[prost(string, tag = "9")]
    pub process_name: String,
}

/// `gvisor.container.Start`: a container's first process started.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Start {
    /// Context of the process that started it.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Container id.
    #[prost(string, tag = "2")]
    pub id: String,
    /// Working directory.
    #[prost(string, tag = "3")]
    pub cwd: String,
    /// Arguments of the first process.
    #[prost(string, repeated, tag = "4")]
    pub args: Vec<String>,
}

/// `gvisor.sentry.CloneInfo`: a task created another.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CloneInfo {
    /// The parent.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// The new thread's id.
    #[prost(int32, tag = "3")]
    pub created_thread_id: i32,
    /// The new thread's thread group.
    #[prost(int32, tag = "4")]
    pub created_thread_group_id: i32,
}

/// `gvisor.sentry.ExecveInfo`: a process image was replaced.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecveInfo {
    /// The task after the exec.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// The executable's path.
    #[prost(string, tag = "2")]
    pub binary_path: String,
    /// Arguments.
    #[prost(string, repeated, tag = "3")]
    pub argv: Vec<String>,
}

/// `gvisor.sentry.TaskExit`: a task exited.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskExit {
    /// The exiting task.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Status as wait(2) reports it.
    #[prost(int32, tag = "2")]
    pub exit_status: i32,
}

/// `gvisor.syscall.Exit`: how a syscall returned.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exit {
    /// Return value.
    #[prost(int64, tag = "1")]
    pub result: i64,
    /// Error number, 0 on success.
    #[prost(int64, tag = "2")]
    pub errorno: i64,
}

/// `gvisor.syscall.Open` (open, openat, creat).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Open {
    /// The caller.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Return (exit points only).
    #[prost(message, optional, tag = "2")]
    pub exit: Option<Exit>,
    /// Syscall number.
    #[prost(uint64, tag = "3")]
    pub sysno: u64,
    /// Directory descriptor (AT_FDCWD for open and creat).
    #[prost(int64, tag = "4")]
    pub fd: i64,
    /// Path of the directory descriptor, when the session asked for it.
    #[prost(string, tag = "5")]
    pub fd_path: String,
    /// The path as passed.
    #[prost(string, tag = "6")]
    pub pathname: String,
    /// Open flags.
    #[prost(uint32, tag = "7")]
    pub flags: u32,
    /// Creation mode.
    #[prost(uint32, tag = "8")]
    pub mode: u32,
}

/// `gvisor.syscall.Connect`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Connect {
    /// The caller.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Return.
    #[prost(message, optional, tag = "2")]
    pub exit: Option<Exit>,
    /// Syscall number.
    #[prost(uint64, tag = "3")]
    pub sysno: u64,
    /// The socket.
    #[prost(int64, tag = "4")]
    pub fd: i64,
    /// The `struct sockaddr` as passed.
    #[prost(bytes = "vec", tag = "6")]
    pub address: Vec<u8>,
}

/// `gvisor.syscall.Socket`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Socket {
    /// The caller.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Return.
    #[prost(message, optional, tag = "2")]
    pub exit: Option<Exit>,
    /// Syscall number.
    #[prost(uint64, tag = "3")]
    pub sysno: u64,
    /// Address family.
    #[prost(int32, tag = "4")]
    pub domain: i32,
    /// Socket type (with SOCK_NONBLOCK/SOCK_CLOEXEC).
    #[prost(int32, tag = "5")]
    pub r#type: i32,
    /// Protocol.
    #[prost(int32, tag = "6")]
    pub protocol: i32,
}

/// `gvisor.syscall.Setid` (setuid, setgid).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Setid {
    /// The caller.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Return.
    #[prost(message, optional, tag = "2")]
    pub exit: Option<Exit>,
    /// Syscall number.
    #[prost(uint64, tag = "3")]
    pub sysno: u64,
    /// The id.
    #[prost(uint32, tag = "4")]
    pub id: u32,
}

/// `gvisor.syscall.Setresid` (setresuid, setresgid).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Setresid {
    /// The caller.
    #[prost(message, optional, tag = "1")]
    pub context_data: Option<ContextData>,
    /// Return.
    #[prost(message, optional, tag = "2")]
    pub exit: Option<Exit>,
    /// Syscall number.
    #[prost(uint64, tag = "3")]
    pub sysno: u64,
    /// Real id.
    #[prost(uint32, tag = "4")]
    pub rid: u32,
    /// Effective id.
    #[prost(uint32, tag = "5")]
    pub eid: u32,
    /// Saved id.
    #[prost(uint32, tag = "6")]
    pub sid: u32,
}
