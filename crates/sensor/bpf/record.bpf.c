// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's syscall recorder: which syscalls a workload makes, for
 * `haechi seccomp record`.
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
#include "vfs.h"

char LICENSE[] SEC("license") = "GPL";

/* Cgroup v2 ids whose tasks are recorded (filled by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HAECHI_RECORD_CGROUPS_MAX);
	__type(key, __u64);
	__type(value, __u8);
} record_cgroups SEC(".maps");

/* Processes (tgids) that are recorded; their children are added on fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HAECHI_RECORD_TASKS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} record_tgids SEC(".maps");

/* seen[nr] == 1: the target made syscall nr at least once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, __u8);
} seen SEC(".maps");

static __always_inline int is_target(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 cgroup;

	if (bpf_map_lookup_elem(&record_tgids, &tgid))
		return 1;
	cgroup = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&record_cgroups, &cgroup) != NULL;
}

/* raw_syscalls/sys_enter: args[0] is the pt_regs, args[1] the syscall number. */
SEC("raw_tracepoint/sys_enter")
int record_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = (__u32)raw_arg(ctx, 1);
	__u8 *mark;

	if (nr >= HAECHI_SYSCALL_MAX || !is_target())
		return 0;
	mark = bpf_map_lookup_elem(&seen, &nr);
	/* Read before writing: a store on every call would bounce the cache line. */
	if (mark && !*mark)
		*mark = 1;
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int record_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)raw_arg(ctx, 0);
	struct task_struct *child = (void *)raw_arg(ctx, 1);
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (child_tgid != parent_tgid && bpf_map_lookup_elem(&record_tgids, &parent_tgid))
		bpf_map_update_elem(&record_tgids, &child_tgid, &one, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int record_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)raw_arg(ctx, 0);
	__u32 tgid;

	/* Forget a process when its last thread goes: its tgid may be reused. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_delete_elem(&record_tgids, &tgid);
	return 0;
}
