// SPDX-License-Identifier: GPL-2.0-only
/* A process of a scoped cgroup exits (its thread-group leader): forget its selection. */

SEC("raw_tracepoint/sched_process_exit")
int enforce_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id;
	__u32 tgid;

	if (!current_scope())
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	if (tgid != (__u32)id)
		return 0;
	bpf_map_delete_elem(&task_selections, &tgid);
	return 0;
}
