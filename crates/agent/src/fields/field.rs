//! The catalogue of fields the agent fills in, by Falco name: what `--events` writes and what
//! rules may read. A rules field name resolves to a [`Field`] once, when the rules load.

use std::borrow::Cow;

/// Declares the fields that take no argument, each with its Falco name, in one table.
macro_rules! named {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// A field without an argument.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Named {
            $($(#[$doc])* #[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Named {
            /// Every field without an argument.
            pub const ALL: &[Named] = &[$(Named::$variant,)*];

            /// The field's Falco name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Named::$variant => $name,)*
                }
            }
        }
    };
}

named! {
    EvtType => "evt.type",
    EvtTime => "evt.time",
    EvtRes => "evt.res",
    EvtRawres => "evt.rawres",
    EvtIsOpenRead => "evt.is_open_read",
    EvtIsOpenWrite => "evt.is_open_write",
    ProcPid => "proc.pid",
    ThreadTid => "thread.tid",
    ProcPpid => "proc.ppid",
    ProcVpid => "proc.vpid",
    ProcIsExeUpperLayer => "proc.is_exe_upper_layer",
    ProcIsExeFromMemfd => "proc.is_exe_from_memfd",
    ProcName => "proc.name",
    ProcExe => "proc.exe",
    ProcExepath => "proc.exepath",
    ProcCmdline => "proc.cmdline",
    ProcArgs => "proc.args",
    ProcCwd => "proc.cwd",
    ProcTty => "proc.tty",
    ProcIsArgsTruncated => "proc.is_args_truncated",
    ProcCmdnargs => "proc.cmdnargs",
    ProcCmdlenargs => "proc.cmdlenargs",
    ProcDuration => "proc.duration",
    ProcPname => "proc.pname",
    ProcPexe => "proc.pexe",
    ProcPexepath => "proc.pexepath",
    ProcPcmdline => "proc.pcmdline",
    UserUid => "user.uid",
    UserName => "user.name",
    UserLoginname => "user.loginname",
    UserHomedir => "user.homedir",
    UserShell => "user.shell",
    UserLoginuid => "user.loginuid",
    GroupGid => "group.gid",
    GroupName => "group.name",
    ThreadCapEffective => "thread.cap_effective",
    ContainerId => "container.id",
    ContainerFullId => "container.full_id",
    ContainerName => "container.name",
    ContainerImage => "container.image",
    ContainerImageRepository => "container.image.repository",
    ContainerImageTag => "container.image.tag",
    ContainerPrivileged => "container.privileged",
    ContainerSandbox => "container.sandbox",
    K8sPodName => "k8s.pod.name",
    K8sNsName => "k8s.ns.name",
    K8sPodUid => "k8s.pod.uid",
    FdName => "fd.name",
    FdNameraw => "fd.nameraw",
    FdDirectory => "fd.directory",
    FdFilename => "fd.filename",
    FdTypechar => "fd.typechar",
    FdType => "fd.type",
    FdL4proto => "fd.l4proto",
    FdCip => "fd.cip",
    FdCipName => "fd.cip.name",
    FdCport => "fd.cport",
    FdSip => "fd.sip",
    FdSipName => "fd.sip.name",
    FdLipName => "fd.lip.name",
    FdRipName => "fd.rip.name",
    FdSport => "fd.sport",
    ArgFilename => "evt.arg.filename",
    ArgChildPid => "evt.arg.child_pid",
    ArgStatus => "evt.arg.status",
    ArgFlags => "evt.arg.flags",
    ArgOldpath => "evt.arg.oldpath",
    ArgNewpath => "evt.arg.newpath",
    ArgLinkpath => "evt.arg.linkpath",
    ArgTarget => "evt.arg.target",
    ArgDir => "evt.arg.dir",
    ArgDev => "evt.arg.dev",
    ArgType => "evt.arg.type",
    ArgRequest => "evt.arg.request",
    ArgPid => "evt.arg.pid",
    ArgDomain => "evt.arg.domain",
    ArgProto => "evt.arg.proto",
    ArgUid => "evt.arg.uid",
    ArgRuid => "evt.arg.ruid",
    ArgEuid => "evt.arg.euid",
    ArgName => "evt.arg.name",
    ArgCmd => "evt.arg.cmd",
    ArgMode => "evt.arg.mode",
}

/// A field the agent fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// One without an argument.
    Named(Named),
    /// `proc.aname[n]`: the name of the n-th ancestor, 1 being the parent.
    AName(u32),
    /// `proc.apid[n]`: the pid of the n-th ancestor, 1 being the parent.
    APid(u32),
}

impl Field {
    /// The field a Falco name stands for, `None` for names the agent never fills in. Names are
    /// matched exactly as written in events (`proc.aname[2]`, not `proc.aname[02]`).
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(level) = indexed(name, "proc.aname[") {
            return Some(Field::AName(level));
        }
        if let Some(level) = indexed(name, "proc.apid[") {
            return Some(Field::APid(level));
        }
        Named::ALL
            .iter()
            .find(|f| f.name() == name)
            .map(|&f| Field::Named(f))
    }

    /// The field's Falco name.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Field::Named(f) => Cow::Borrowed(f.name()),
            Field::AName(i) => Cow::Owned(format!("proc.aname[{i}]")),
            Field::APid(i) => Cow::Owned(format!("proc.apid[{i}]")),
        }
    }
}

/// The level in `prefix<level>]`, when `name` is that with a level from 1 written plainly.
fn indexed(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(']')?;
    let level: u32 = digits.parse().ok()?;
    (level >= 1 && level.to_string() == digits).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &f in Named::ALL {
            assert_eq!(Field::parse(f.name()), Some(Field::Named(f)));
        }
        assert_eq!(Field::parse("proc.aname[2]"), Some(Field::AName(2)));
        assert_eq!(Field::AName(2).name(), "proc.aname[2]");
        assert_eq!(Field::parse("proc.apid[13]"), Some(Field::APid(13)));
        for unknown in [
            "proc.aname[0]",
            "proc.aname[02]",
            "proc.aname",
            "fd.num",
            "x",
        ] {
            assert_eq!(Field::parse(unknown), None, "{unknown}");
        }
    }
}
