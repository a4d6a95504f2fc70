// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_tracepoint/sys_enter: marks each syscall number the target makes, once;
 * every other task's syscall costs one or two hash lookups.
 */

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
