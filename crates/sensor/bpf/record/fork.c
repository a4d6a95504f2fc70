// SPDX-License-Identifier: GPL-2.0-only
/* raw_tracepoint/sched_process_fork: a followed process's child is followed too. */

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
