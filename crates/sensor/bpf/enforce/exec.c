// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_tracepoint/sched_process_exec: the process's selection from its new
 * executable, then the exec rules (kill or alert) on it.
 */

SEC("raw_tracepoint/sched_process_exec")
int enforce_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)raw_arg(ctx, 0);
	struct enforce_scratch *es;
	__u32 mask = current_scope();

	if (!mask)
		return 0;
	es = get_scratch();
	if (!es)
		return 0;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return 0;
	__builtin_memset(es->record.addr, 0, sizeof(es->record.addr));
	es->record.port = 0;
	es->record.protocol = 0;
	es->record.nr = 0;
	int len = write_path(&es->s, 0, (__u64)&exe->f_path, (__u64)task);
	select_on_exec(es, field_len(len));
	check_path(es, &exec_rules, mask, field_len(len), HAECHI_ACCESS_READ, HAECHI_ENF_EXEC, task);
	return 0;
}
