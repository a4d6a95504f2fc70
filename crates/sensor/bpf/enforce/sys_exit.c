// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_tracepoint/sys_exit: SIGKILL before the syscall returns, for a thread
 * a `kill` egress rule marked, an open of a protected path and a privileged
 * syscall whose rule says kill (or alert).
 */

SEC("raw_tracepoint/sys_exit")
int enforce_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)raw_arg(ctx, 0);
	long ret = (long)raw_arg(ctx, 1);
	struct haechi_enforced_syscall *conf;
	struct enforce_scratch *es;
	struct task_struct *task;
	__u32 mask = current_scope();
	__u32 nr;

	if (!mask)
		return 0;
	__u64 thread = bpf_get_current_pid_tgid();
	if (bpf_map_lookup_elem(&egress_kills, &thread)) {
		/* A `kill` egress rule refused this syscall: end the process before it returns. */
		bpf_map_delete_elem(&egress_kills, &thread);
		bpf_send_signal(SIGKILL);
		return 0;
	}
	nr = BPF_CORE_READ(regs, orig_ax);
	conf = bpf_map_lookup_elem(&enforced_syscalls, &nr);
	if (!conf || !conf->kind)
		return 0;
	es = get_scratch();
	if (!es)
		return 0;
	__builtin_memset(es->record.addr, 0, sizeof(es->record.addr));
	es->record.port = 0;
	es->record.protocol = 0;
	es->record.nr = nr;
	task = (void *)bpf_get_current_task();

	if (conf->kind == HAECHI_SYS_PRIVILEGE) {
		__u32 class = conf->class;
		es->record.path[0] = 0;
		if (class >= HAECHI_PRIV_CLASSES)
			return 0;
		/* A 64-bit counter and a separate key: verifiers before 6.3 lose a
		 * spilled 32-bit counter and call the loop infinite. */
		for (__u64 i = 0; i < HAECHI_POLICY_MAX; i++) {
			if (!(mask & (1u << i)))
				continue;
			__u32 index = i;
			struct haechi_privilege_rules *rules = bpf_map_lookup_elem(&privilege_rules, &index);
			if (!rules || !rules->rules[class].rule || !selects(&rules->rules[class]))
				continue;
			/* `deny`: a BPF-LSM hook refused the syscall and reported it. */
			if (rules->rules[class].action == HAECHI_ACTION_DENY)
				return 0;
			act(es, &rules->rules[class], HAECHI_ENF_SYSCALL);
			return 0;
		}
		return 0;
	}

	if (conf->kind != HAECHI_SYS_OPEN || ret < 0)
		return 0;
	__u64 flags = O_WRONLY | O_CREAT | O_TRUNC; /* creat() */
	/* The flags are the second argument (open) or the third (openat, openat2). */
	if (conf->flags_arg == 1 || conf->flags_arg == 2) {
		flags = conf->flags_arg == 1 ? BPF_CORE_READ(regs, si) : BPF_CORE_READ(regs, dx);
		if (conf->flags_in_how &&
		    bpf_probe_read_user(&flags, sizeof(flags), (const void *)flags))
			return 0;
	}
	struct file *file = fd_file(task, ret);
	if (!file)
		return 0;
	int len = write_path(&es->s, 0, (__u64)&file->f_path, (__u64)task);
	check_path(es, &file_rules, mask, field_len(len), open_access(flags), HAECHI_ENF_OPEN, task);
	return 0;
}
