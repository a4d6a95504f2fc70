// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's observe programs: process, file, network and privilege events, and
 * the DNS answers sockets receive. One object; one file per hook:
 *
 *   observe/exec.c        raw_tracepoint/sched_process_exec   a process image was replaced
 *   observe/fork.c        raw_tracepoint/sched_process_fork   a new process
 *   observe/exit.c        raw_tracepoint/sched_process_exit   a process exited
 *   observe/sys_exit.c    raw_tracepoint/sys_exit             a watched syscall returned
 *   observe/dns_answer.c  cgroup_skb/ingress                  a DNS answer arrived
 *
 * and what they share: observe/maps.h (the maps and the loader's constants),
 * observe/event.h (writing and emitting an event), observe/path_filter.h (the
 * in-kernel path filter and its verdict cache), lib/ (path resolution, DNS
 * payloads) and abi.h (what crosses to user space).
 *
 * Built only on hooks that load where fentry, kprobes and BPF-LSM do not:
 * raw tracepoints, and a cgroup_skb program on the cgroup v2 root while rules
 * name servers by domain. Events are assembled in a per-CPU scratch buffer and
 * copied into the `events` ring buffer; a full ring buffer counts as a lost
 * event in `stats`, never silently.
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

/*
 * Puts every ABI struct into the object's BTF (nothing else references the
 * event layouts by type), so the Rust side can check its mirror against it.
 */
struct haechi_abi {
	struct haechi_event event;
	struct haechi_syscall_event syscall;
	struct haechi_exec_event exec;
	struct haechi_fork_event fork;
	struct haechi_exit_event exit;
	struct haechi_dns_event dns;
	struct haechi_sock sock;
	struct haechi_syscall_conf conf;
};
const volatile struct haechi_abi *haechi_abi_anchor = 0;

#include "observe/maps.h"
#include "observe/event.h"
#include "observe/path_filter.h"

#include "observe/exec.c"
#include "observe/fork.c"
#include "observe/exit.c"
#include "observe/sys_exit.c"
#include "observe/dns_answer.c"
