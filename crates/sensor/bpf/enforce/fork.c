// SPDX-License-Identifier: GPL-2.0-only
/* A new process of a scoped cgroup inherits its parent's selection (threads share theirs). */

SEC("raw_tracepoint/sched_process_fork")
int enforce_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)raw_arg(ctx, 0);
	struct task_struct *child = (void *)raw_arg(ctx, 1);
	struct haechi_task_selection *inherited, copy;
	__u32 parent_tgid, child_tgid;

	if (!current_scope())
		return 0;
	parent_tgid = BPF_CORE_READ(parent, tgid);
	child_tgid = BPF_CORE_READ(child, tgid);
	if (parent_tgid == child_tgid)
		return 0;
	inherited = bpf_map_lookup_elem(&task_selections, &parent_tgid);
	if (inherited) {
		copy = *inherited;
		bpf_map_update_elem(&task_selections, &child_tgid, &copy, BPF_ANY);
	} else {
		/* A reused pid must not inherit what its last owner had. */
		bpf_map_delete_elem(&task_selections, &child_tgid);
	}
	return 0;
}
