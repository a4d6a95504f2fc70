// SPDX-License-Identifier: GPL-2.0-only

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
