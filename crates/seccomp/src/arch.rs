//! Architectures and their syscall tables. The tables come from the `syscalls` crate, which is
//! generated from the kernel's own syscall tables; none is typed here.

use std::fmt;

use syscalls::{aarch64, arm, x86, x86_64};

/// An architecture haechi records on and counts profiles for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    /// x86_64 (amd64).
    X86_64,
    /// aarch64 (arm64).
    Aarch64,
}

impl Arch {
    /// Every supported architecture.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The architecture this binary runs on, if supported.
    pub fn native() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// libseccomp's name, as profiles write it (`SCMP_ARCH_X86_64`).
    pub fn scmp(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
        }
    }

    /// The architecture a libseccomp name stands for.
    pub fn from_scmp(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.scmp() == name)
    }

    /// Go's name (`amd64`), as Docker's `includes.arches` writes it.
    pub fn go(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// The name of syscall `nr` in this architecture's native table.
    pub fn name(self, nr: u32) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            Arch::X86_64 => x86_64::Sysno::new(nr).map(|s| s.name()),
            Arch::Aarch64 => aarch64::Sysno::new(nr).map(|s| s.name()),
        }
    }

    /// Whether this architecture's native table has a syscall called `name`.
    pub fn has(self, name: &str) -> bool {
        match self {
            Arch::X86_64 => name.parse::<x86_64::Sysno>().is_ok(),
            Arch::Aarch64 => name.parse::<aarch64::Sysno>().is_ok(),
        }
    }

    /// Every syscall name of this architecture's native table.
    pub fn names(self) -> Vec<&'static str> {
        match self {
            Arch::X86_64 => x86_64::Sysno::iter().map(|s| s.name()).collect(),
            Arch::Aarch64 => aarch64::Sysno::iter().map(|s| s.name()).collect(),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// Every architecture name libseccomp accepts (`SCMP_ARCH_*`), as profiles write them.
pub const LIBSECCOMP_ARCHES: [&str; 23] = [
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_SHEB",
];

/// Whether libseccomp knows architecture `name` (also `SCMP_ARCH_SH`, little-endian SuperH).
pub fn is_known_arch(name: &str) -> bool {
    LIBSECCOMP_ARCHES.contains(&name) || name == "SCMP_ARCH_SH"
}

/// 32-bit ARM's private syscalls (`__ARM_NR_*`, outside the generic table), which libseccomp
/// names and Docker's default profile allows.
const ARM_PRIVATE: [&str; 6] = [
    "breakpoint",
    "cacheflush",
    "usr26",
    "usr32",
    "set_tls",
    "get_tls",
];

/// Whether any architecture Linux supports has a syscall called `name` (profiles such as
/// Docker's list 32-bit and other architectures' names too).
pub fn is_known(name: &str) -> bool {
    use syscalls::{
        loongarch64, mips, mips64, powerpc, powerpc64, riscv32, riscv64, s390x, sparc, sparc64,
    };
    Arch::ALL.iter().any(|a| a.has(name))
        || ARM_PRIVATE.contains(&name)
        || name.parse::<x86::Sysno>().is_ok()
        || name.parse::<arm::Sysno>().is_ok()
        || name.parse::<riscv64::Sysno>().is_ok()
        || name.parse::<riscv32::Sysno>().is_ok()
        || name.parse::<s390x::Sysno>().is_ok()
        || name.parse::<powerpc64::Sysno>().is_ok()
        || name.parse::<powerpc::Sysno>().is_ok()
        || name.parse::<mips64::Sysno>().is_ok()
        || name.parse::<mips::Sysno>().is_ok()
        || name.parse::<loongarch64::Sysno>().is_ok()
        || name.parse::<sparc64::Sysno>().is_ok()
        || name.parse::<sparc::Sysno>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_kernel_numbers() {
        assert_eq!(Arch::X86_64.name(0), Some("read"));
        assert_eq!(Arch::X86_64.name(59), Some("execve"));
        assert_eq!(Arch::Aarch64.name(221), Some("execve"));
        assert_eq!(Arch::Aarch64.name(63), Some("read"));
        assert!(!Arch::Aarch64.has("open"), "arm64 has only openat");
        assert!(Arch::X86_64.has("open"));
        assert!(is_known("chown32") && is_known("s390_pci_mmio_read"));
        assert!(
            is_known("breakpoint") && is_known("set_tls"),
            "ARM's private syscalls"
        );
        assert!(is_known_arch("SCMP_ARCH_X32") && !is_known_arch("SCMP_ARCH_Z80"));
        assert!(!is_known("opne"));
        assert!(Arch::X86_64.names().len() > 350);
    }
}
