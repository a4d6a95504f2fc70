// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's syscall recorder: which syscalls a workload makes, for
 * `haechi seccomp record`. One object; one file per hook:
 *
 *   record/sys_enter.c  raw_tracepoint/sys_enter            mark a syscall the target made
 *   record/fork.c       raw_tracepoint/sched_process_fork   follow a followed process's child
 *   record/exit.c       raw_tracepoint/sched_process_exit   forget a process that exited
 *
 * with record/maps.h (the target and the marks).
 *
 * One raw tracepoint on sys_enter sees every syscall on the host; it keeps
 * those of the target and drops the rest after one or two hash lookups. The
 * target is a set of cgroup v2 ids (a container) and/or a set of processes
 * that grows with their children (sched_process_fork), so a command is
 * followed into every process it starts, whatever cgroup they move to.
 *
 * A syscall is marked once in the `seen` array (one byte per number): the
 * recorder answers "which syscalls", not "how often", so nothing is
 * streamed and the cost per call stays a lookup and, the first time, a
 * store. Only 64-bit syscalls are recorded (numbers of the host's native
 * table); the profile's architectures say so.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "lib/vfs.h"

char LICENSE[] SEC("license") = "GPL";

#include "record/maps.h"

#include "record/sys_enter.c"
#include "record/fork.c"
#include "record/exit.c"
