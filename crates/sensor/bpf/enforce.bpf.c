// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's in-kernel enforcement: decisions taken before the process sees
 * the result of what it asked for. One object; one file per hook:
 *
 *   enforce/connect.c         cgroup/connect4, connect6      refuse a connection
 *   enforce/sendmsg.c         cgroup/sendmsg4, sendmsg6      refuse a datagram
 *   enforce/dns_answers.c     cgroup_skb/ingress             hand over scoped DNS answers
 *   enforce/sys_exit.c        raw_tracepoint/sys_exit        kill: opens, privileged syscalls,
 *                                                            refused egress
 *   enforce/exec.c            raw_tracepoint/sched_process_exec  select, kill executions
 *   enforce/fork.c            raw_tracepoint/sched_process_fork  inherit a selection
 *   enforce/exit.c            raw_tracepoint/sched_process_exit  forget a selection
 *   enforce/lsm_file_open.c   lsm/file_open                  deny: opens
 *   enforce/lsm_path_mknod.c  lsm/path_mknod                 deny: file creation
 *   enforce/lsm_bprm_check_security.c  lsm/bprm_check_security  deny: executions
 *   enforce/lsm_ptrace.c      lsm/ptrace_access_check, ptrace_traceme  deny: ptrace
 *   enforce/lsm_setid.c       lsm/task_fix_setuid, task_fix_setgid, capset  deny: setid
 *   enforce/lsm_bpf.c         lsm/bpf                        deny: bpf
 *
 * and what they share: enforce/maps.h (the pinned maps), enforce/verdict.h
 * (scope, selection, exceptions, acting and reporting), enforce/egress.h
 * (destinations against the egress rules), enforce/selection.h (process
 * selectors at exec), enforce/lsm.h (what the LSM programs share), lib/ (path
 * resolution, DNS payloads) and abi.h (what crosses to user space).
 *
 * Built on hooks that load where BPF-LSM does not:
 *  - cgroup/connect4, connect6, sendmsg4, sendmsg6 refuse a connection or a
 *    datagram (the syscall fails with EPERM) per container cgroup; when the
 *    rule says kill, they mark the thread and the sys_exit program kills it
 *    before the refused syscall returns;
 *  - cgroup_skb/ingress hands the DNS answers a scoped container receives to
 *    user space when its policies deny domains, so the addresses those names
 *    resolve to can be denied too;
 *  - raw tracepoints on sys_exit and sched_process_exec send SIGKILL, which
 *    the kernel delivers before the syscall returns to user space, for opens
 *    of protected paths, privileged syscalls and executions of forbidden
 *    binaries;
 *  - raw tracepoints on sched_process_exec, sched_process_fork and
 *    sched_process_exit keep, per process of a scoped cgroup, which process
 *    selectors (a rule's `binaries` and `ancestors`) select it: computed at
 *    exec from the new executable and what the process inherited, copied to
 *    the child at fork, dropped at exit.
 * The BPF-LSM programs refuse (EPERM) what `deny` rules forbid, on kernels
 * that run the BPF LSM; the loader attaches them only there.
 *
 * Everything is scoped: `scopes` maps a cgroup v2 id to the set of policies
 * that apply to it, and every program returns after that one lookup for a
 * process no policy covers. The maps are pinned under bpffs by the loader,
 * so a restarted agent finds them (and the pinned links keep the programs
 * running while no agent does).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "lib/dns.h"
#include "lib/vfs.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL 9
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define O_ACCMODE 3
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000

/* Where the executable's path is resolved, after the file's. */
#define EXE_OFFSET 8192

/* Puts the enforcement structs into the object's BTF for the ABI test. */
struct haechi_enforce_abi {
	struct haechi_verdict verdict;
	struct haechi_net_allow allow;
	struct haechi_net_policy net;
	struct haechi_net_key net_key;
	struct haechi_policy_path_key path_key;
	struct haechi_exception_key exception;
	struct haechi_enforced_syscall syscall;
	struct haechi_privilege_rules privilege;
	struct haechi_enforcement enforcement;
	struct haechi_dns_answer dns;
	struct haechi_selector_match selector_match;
	struct haechi_selector_config selector_config;
	struct haechi_task_selection task_selection;
};
const volatile struct haechi_enforce_abi *haechi_enforce_abi_anchor = 0;

#include "enforce/maps.h"
#include "enforce/verdict.h"
#include "enforce/egress.h"
#include "enforce/selection.h"
#include "enforce/lsm.h"

#include "enforce/connect.c"
#include "enforce/sendmsg.c"
#include "enforce/dns_answers.c"
#include "enforce/sys_exit.c"
#include "enforce/exec.c"
#include "enforce/fork.c"
#include "enforce/exit.c"
#include "enforce/lsm_file_open.c"
#include "enforce/lsm_path_mknod.c"
#include "enforce/lsm_bprm_check_security.c"
#include "enforce/lsm_ptrace.c"
#include "enforce/lsm_setid.c"
#include "enforce/lsm_bpf.c"
