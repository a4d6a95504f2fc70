// SPDX-License-Identifier: GPL-2.0-only
/* raw_tracepoint/sched_process_exit: a process exited (its last thread). */

SEC("raw_tracepoint/sched_process_exit")
int handle_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)raw_arg(ctx, 0);
	struct scratch *s;

	/* Report the process once, when its last thread goes. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 || is_agent())
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	struct haechi_exit_event *ev = (void *)s->buf;
	fill_header(&ev->ev, task, HAECHI_EV_EXIT);
	ev->exit_code = BPF_CORE_READ(task, exit_code);
	ev->_pad = 0;
	emit(s, sizeof(*ev));
	return 0;
}
