//! `deny` through BPF-LSM, for real, on a kernel that runs the BPF LSM: this host's kernel
//! does not, so the test boots Debian's kernel (package `linux-image-amd64`, CONFIG_BPF_LSM=y,
//! BTF) under qemu with `lsm=...,bpf`, from an initramfs it builds here: busybox-static, the
//! `haechi` binary and the shared libraries it needs. Inside, `haechi agent` runs with a
//! `deny` policy on a hand-made container cgroup (`docker-<id>.scope`); the init script opens,
//! creates, truncates and executes what the policy forbids, in that cgroup and in another one,
//! and prints one `CHECK <name> PASS|FAIL` line per expectation and the agent's alerts on the
//! serial console, which the test reads.
//!
//! Needs qemu-system-x86_64 and a Debian kernel in /boot (or HAECHI_VM_KERNEL); .ci/run
//! installs both. Never skipped: without them it fails and says what is missing. The guest
//! runs under qemu's TCG emulation, which needs no /dev/kvm: nested KVM on this workplace's
//! machines stops in the guest kernel's first instructions, and TCG boots in seconds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A container id the agent recognises in a cgroup path (`docker-<id>.scope`).
const CONTAINER: &str = "1a5de7a11a5de7a11a5de7a11a5de7a11a5de7a11a5de7a11a5de7a11a5de7a1";

const POLICY: &str = "\
apiVersion: haechi.dev/v1alpha1
kind: HaechiPolicy
metadata:
  name: lsm-deny
spec:
  selector:
    containerIds: [1a5de7a11a5d]
  rules:
    - name: no-secrets
      files:
        paths: [/secret/]
      action: deny
    - name: no-forbidden-tools
      exec:
        paths: [/opt/forbidden/]
      action: deny
    - name: no-escalation
      privilege: [setid, ptrace, bpf]
      action: deny
    - name: no-tools-from-the-launcher
      ancestors: [/opt/launcher/sh]
      exec:
        paths: [/opt/tools/]
      action: deny
";

/// The guest's /init: mounts, starts the agent, runs the checks, prints the results.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mkdir -p /secret /opt/forbidden /opt/launcher /opt/tools /tmp
echo token > /secret/token
echo 'root:x:0:0::/:/bin/sh
nobody:x:65534:65534::/:/bin/sh' > /etc/passwd
echo 'root:x:0:
nogroup:x:65534:' > /etc/group
cp /bin/busybox /opt/forbidden/echo
cp /bin/busybox /opt/launcher/sh
cp /bin/busybox /opt/tools/echo
C=/sys/fs/cgroup/docker-@CONTAINER@.scope
O=/sys/fs/cgroup/other
mkdir $C $O
echo "== haechi agent --probe"
/haechi agent --probe
/haechi agent --policy /policy.yaml --format text >/alerts 2>/agent.log &
AGENT=$!
i=0
until grep -q watching /agent.log || ! kill -0 $AGENT || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done
echo "== agent log"
cat /agent.log
check() { if [ "$2" = "$3" ]; then echo "CHECK $1 PASS"; else echo "CHECK $1 FAIL: expected [$3], got [$2]"; fi; }
denied() { case "$2" in *"Operation not permitted"*) echo "CHECK $1 PASS";; *) echo "CHECK $1 FAIL: not refused: [$2]";; esac; }
in_container() { sh -c "echo \$\$ > $C/cgroup.procs; exec sh -c '$1'" 2>&1; }
in_other() { sh -c "echo \$\$ > $O/cgroup.procs; exec sh -c '$1'" 2>&1; }
in_container true
i=0
until grep -q "enforcing lsm-deny" /agent.log || ! kill -0 $AGENT || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); in_container true >/dev/null; done
grep "enforcing lsm-deny" /agent.log
echo "== in the container cgroup"
out=$(in_container 'cat /secret/token'); echo "\$ cat /secret/token"; echo "$out"
denied open-denied "$out"
out=$(in_container 'echo x > /secret/token'); echo "\$ echo x > /secret/token"; echo "$out"
denied truncate-denied "$out"
check not-truncated "$(cat /secret/token)" "token"
out=$(in_container 'echo x > /secret/new'); echo "\$ echo x > /secret/new"; echo "$out"
denied create-denied "$out"
check not-created "$(ls /secret)" "token"
out=$(in_container '/opt/forbidden/echo ran; echo status $?'); echo "\$ /opt/forbidden/echo ran; echo status \$?"; echo "$out"
denied exec-denied "$out"
check exec-status "$(echo "$out" | tail -n 1)" "status 126"
out=$(in_container '/opt/launcher/sh -c "/opt/tools/echo ran"'); echo "\$ /opt/launcher/sh -c '/opt/tools/echo ran'"; echo "$out"
denied launched-exec-denied "$out"
out=$(in_container '/opt/tools/echo ran'); echo "\$ /opt/tools/echo ran"; echo "$out"
check unlaunched-exec "$out" "ran"
out=$(in_container 'su -s /bin/id nobody; echo status $?'); echo "\$ su -s /bin/id nobody; echo status \$?"; echo "$out"
denied setid-denied "$out"
out=$(in_container 'sleep 2 & cat /proc/$!/mem; kill $!'); echo "\$ sleep 2 & cat /proc/\$!/mem"; echo "$out"
# /proc/<pid>/mem asks the ptrace hook in attach mode; the kernel turns its refusal into EACCES.
case "$out" in *"/mem': Permission denied"*) echo "CHECK ptrace-denied PASS";; *) echo "CHECK ptrace-denied FAIL: [$out]";; esac
out=$(in_container '/haechi agent --probe 2>&1 | grep "raw tracepoints"'); echo "\$ haechi agent --probe | grep 'raw tracepoints'"; echo "$out"
check bpf-denied "$out" "raw tracepoints   no"
echo "== in another cgroup"
out=$(in_other 'cat /secret/token'); echo "\$ cat /secret/token"; echo "$out"
check other-open "$out" "token"
out=$(in_other '/opt/forbidden/echo ran'); echo "\$ /opt/forbidden/echo ran"; echo "$out"
check other-exec "$out" "ran"
# cat must open sleep's memory after the exec: the forked shell's memory, opened before, is
# gone once sleep runs, and reads as empty rather than failing.
out=$(in_other 'sleep 2 & sleep 0.5; cat /proc/$!/mem; kill $!'); echo "\$ sleep 2 & sleep 0.5; cat /proc/\$!/mem"; echo "$out"
check other-ptrace "$out" "cat: read error: Input/output error"
sleep 1
kill -INT $AGENT
i=0
while kill -0 $AGENT 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo "== alerts"
cat /alerts | sed 's/^/ALERT /'
echo "== agent exit"
grep "^haechi agent:" /agent.log | cut -c1-300
grep -v "^haechi agent:" /agent.log | tail -n 5
echo HAECHI-VM-DONE
poweroff -f
"#;

fn fail(message: &str) -> ! {
    panic!("lsm_vm: {message}")
}

/// The Debian kernel to boot: HAECHI_VM_KERNEL, else the newest /boot/vmlinuz-*.
fn kernel() -> PathBuf {
    if let Some(path) = std::env::var_os("HAECHI_VM_KERNEL") {
        return path.into();
    }
    let mut kernels: Vec<PathBuf> = std::fs::read_dir("/boot")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("vmlinuz-"))
                })
                .collect()
        })
        .unwrap_or_default();
    kernels.sort();
    kernels.pop().unwrap_or_else(|| {
        fail(
            "no kernel in /boot: install Debian's `linux-image-amd64` (apt-get install -y \
             --no-install-recommends linux-image-amd64) or set HAECHI_VM_KERNEL",
        )
    })
}

fn qemu() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("qemu-system-x86_64"))
            .find(|p| p.exists())
    });
    found.unwrap_or_else(|| {
        fail("qemu-system-x86_64 is missing: apt-get install -y qemu-system-x86")
    })
}

/// An initramfs in the "newc" cpio format, uncompressed.
struct Cpio {
    out: Vec<u8>,
    inode: u32,
}

impl Cpio {
    fn new() -> Self {
        Cpio {
            out: Vec::new(),
            inode: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        let name = name.trim_start_matches('/');
        let header = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            self.inode,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        self.inode += 1;
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[]);
    }

    /// Adds `name` and the directories above it that are not there yet.
    fn file(&mut self, name: &str, mode: u32, data: &[u8], dirs: &mut Vec<String>) {
        let mut prefix = String::new();
        let parts: Vec<&str> = name.trim_start_matches('/').split('/').collect();
        for part in &parts[..parts.len() - 1] {
            prefix.push('/');
            prefix.push_str(part);
            if !dirs.contains(&prefix) {
                self.dir(&prefix);
                dirs.push(prefix.clone());
            }
        }
        self.entry(name, 0o100000 | mode, data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        self.out
    }
}

/// The shared libraries `binary` loads (ldd), the dynamic loader included.
fn libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .unwrap_or_else(|e| fail(&format!("ldd: {e}")));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// The haechi binary without its debug information (a smaller initramfs boots faster).
fn haechi_binary(dir: &Path) -> Vec<u8> {
    let built = Path::new(env!("CARGO_BIN_EXE_haechi"));
    let stripped = dir.join("haechi");
    let status = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(built)
        .arg(&stripped)
        .status();
    match status {
        Ok(s) if s.success() => std::fs::read(&stripped).unwrap(),
        _ => std::fs::read(built).unwrap(),
    }
}

fn initramfs(dir: &Path) -> PathBuf {
    let mut cpio = Cpio::new();
    let mut dirs = Vec::new();
    for d in [
        "/bin", "/proc", "/sys", "/dev", "/tmp", "/run", "/var", "/etc",
    ] {
        cpio.dir(d);
        dirs.push(d.to_owned());
    }
    let busybox = std::fs::read("/bin/busybox")
        .unwrap_or_else(|_| fail("/bin/busybox is missing: apt-get install -y busybox-static"));
    cpio.file("/bin/busybox", 0o755, &busybox, &mut dirs);
    let haechi = haechi_binary(dir);
    cpio.file("/haechi", 0o755, &haechi, &mut dirs);
    for lib in libraries(Path::new(env!("CARGO_BIN_EXE_haechi"))) {
        let data = std::fs::read(&lib).unwrap();
        cpio.file(&lib.to_string_lossy(), 0o755, &data, &mut dirs);
    }
    cpio.file("/policy.yaml", 0o644, POLICY.as_bytes(), &mut dirs);
    cpio.file(
        "/init",
        0o755,
        INIT.replace("@CONTAINER@", CONTAINER).as_bytes(),
        &mut dirs,
    );
    let path = dir.join("initramfs.cpio");
    std::fs::write(&path, cpio.finish()).unwrap();
    path
}

#[test]
fn deny_through_bpf_lsm_in_a_vm() {
    let kernel = kernel();
    let qemu = qemu();
    let dir = tempfile::tempdir().unwrap();
    let initrd = initramfs(dir.path());
    let started = Instant::now();
    let mut child = Command::new(&qemu)
        .args([
            "-accel",
            "tcg",
            "-m",
            "2G",
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args([
            "-append",
            "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 quiet",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("{}: {e}", qemu.display())));
    // qemu ends on the guest's poweroff; a guest that hangs is stopped after the limit.
    let limit = Duration::from_secs(150);
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(200));
            // SAFETY: kill with signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid as i32, 0) } != 0 {
                return;
            }
        }
        // SAFETY: `pid` is our own qemu child, not yet waited for.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let output = {
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let out = std::io::read_to_string(stdout).unwrap_or_default();
        let _ = child.wait();
        format!("{out}{}", err.join().unwrap())
    };
    let _ = watchdog.join();
    let console: String = output.replace('\r', "");
    let elapsed = started.elapsed();
    std::io::stderr()
        .write_all(format!("--- guest console ({elapsed:.1?}) ---\n{console}\n---\n").as_bytes())
        .unwrap();
    assert!(
        console.contains("HAECHI-VM-DONE"),
        "the guest did not finish within {limit:?} (console above)"
    );
    assert!(
        console.contains("bpf lsm           yes"),
        "the guest kernel does not run the BPF LSM (console above)"
    );
    let checks: Vec<&str> = console
        .lines()
        .filter(|l| l.starts_with("CHECK "))
        .collect();
    let failed: Vec<&&str> = checks.iter().filter(|l| !l.ends_with(" PASS")).collect();
    assert!(failed.is_empty(), "failed in the guest: {failed:#?}");
    for name in [
        "open-denied",
        "truncate-denied",
        "not-truncated",
        "create-denied",
        "not-created",
        "exec-denied",
        "launched-exec-denied",
        "unlaunched-exec",
        "setid-denied",
        "ptrace-denied",
        "bpf-denied",
        "other-open",
        "other-ptrace",
        "other-exec",
    ] {
        assert!(
            checks.contains(&format!("CHECK {name} PASS").as_str()),
            "check {name} did not run (console above)"
        );
    }
    let alerts: Vec<&str> = console
        .lines()
        .filter_map(|l| l.strip_prefix("ALERT "))
        .collect();
    for (what, rule) in [
        ("refused an open of /secret/token by cat", "no-secrets"),
        ("refused an open of /secret/new by sh", "no-secrets"),
        (
            "refused the execution of /opt/forbidden/echo by sh",
            "no-forbidden-tools",
        ),
        (
            "refused the execution of /opt/tools/echo by sh",
            "no-tools-from-the-launcher",
        ),
        ("refused a setgid call by su", "no-escalation"),
        ("refused a bpf call by haechi", "no-escalation"),
        ("by cat", "no-escalation"),
    ] {
        let needle = format!("(policy lsm-deny, rule {rule}, action deny)");
        assert!(
            alerts
                .iter()
                .any(|a| a.contains(what) && a.contains(&needle)),
            "no alert `{what}` ... `{needle}` (console above)"
        );
    }
    assert!(
        !alerts.iter().any(|a| a.contains("action kill")),
        "a `deny` policy killed (console above)"
    );
}
