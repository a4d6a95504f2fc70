// SPDX-License-Identifier: GPL-2.0-only
/* raw_tracepoint/sched_process_fork: a new process (threads are not reported). */

SEC("raw_tracepoint/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)raw_arg(ctx, 0);
	struct task_struct *child = (void *)raw_arg(ctx, 1);
	struct scratch *s;

	/* Threads share their process's table entry; only new processes count. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid) || is_agent())
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	struct haechi_fork_event *ev = (void *)s->buf;
	fill_header(&ev->ev, parent, HAECHI_EV_FORK);
	ev->child_tgid = BPF_CORE_READ(child, tgid);
	ev->_pad = 0;
	emit(s, sizeof(*ev));
	return 0;
}
