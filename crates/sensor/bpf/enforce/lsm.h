/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * haechi's BPF-LSM programs: true refusal (the syscall fails with EPERM and
 * nothing happens) for the rules whose action is `deny`, on kernels that run
 * the BPF LSM (CONFIG_BPF_LSM=y and "bpf" in the lsm= list): what they share
 * (enforce/lsm_*.c are the programs). They read the same tables as the
 * tracepoint and cgroup programs (scopes, file_rules, exec_rules, exceptions,
 * privilege_rules) and write the same records. The loader attaches them only
 * where the kernel runs them; elsewhere they stay in the object, unloaded.
 *
 * The programs read only the hook arguments whose position every kernel
 * since 5.19 agrees on, and not the previous program's return value (its
 * position moves when a hook gains an argument): stacking with other BPF
 * LSM programs is left to the kernel, which stops at the first error.
 *
 * Division of labour with the tracepoint programs: these act on `deny`
 * verdicts only (the refused syscall returns an error, so sys_exit and
 * sched_process_exec never see it succeed); `alert` and `kill` verdicts stay
 * with the tracepoints.
 *
 *  - file_open: opens of protected files (before O_TRUNC truncates them);
 *  - path_mknod: creation of a file below a protected directory (O_CREAT,
 *    mknod), before the inode exists;
 *  - bprm_check_security: executions of forbidden binaries (and of scripts
 *    whose own path is forbidden), before the old image is torn down;
 *  - ptrace_access_check (attach mode), ptrace_traceme: the ptrace class;
 *  - task_fix_setuid, task_fix_setgid, capset: the setid class;
 *  - bpf: the bpf class.
 * The module, mount and namespace classes have syscalls no LSM hook sees
 * (delete_module, fsopen/fsmount, unshare/setns): the policy compiler never
 * gives them `deny`.
 */

#ifndef HAECHI_ENFORCE_LSM_H
#define HAECHI_ENFORCE_LSM_H

#define LSM_EPERM 1
#define LSM_PTRACE_MODE_ATTACH 0x02
#define LSM_FMODE_EXEC 0x20

/*
 * A struct path built from a directory and a new dentry (path_mknod), and
 * the LPM and exception keys: in a map value, since verifiers before 6.4
 * take no map key from a global function's memory argument.
 */
struct lsm_scratch {
	struct path path;
	struct haechi_policy_path_key key;
	struct haechi_exception_key exception;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_scratch);
} lsm_scratch_space SEC(".maps");

static __always_inline struct lsm_scratch *lsm_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&lsm_scratch_space, &zero);
}

/*
 * A typed pointer (a hook argument, a map value) as a plain number, for the
 * path walkers' integer arguments: the verifier refuses a typed pointer
 * there, and a copy through memory is a number to it.
 */
static __always_inline __u64 lsm_addr(const void *ptr)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), &ptr);
	return addr;
}

/* The scratch record, task-independent fields reset; NULL when out of scratch. */
static __always_inline struct enforce_scratch *lsm_record(void)
{
	struct enforce_scratch *es = get_scratch();
	struct task_struct *task;
	struct pt_regs *regs;

	if (!es)
		return NULL;
	__builtin_memset(es->record.addr, 0, sizeof(es->record.addr));
	es->record.port = 0;
	es->record.protocol = 0;
	es->record.path[0] = 0;
	/* The syscall that led here, for the alert's evt.type. */
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	es->record.nr = regs ? (__u16)BPF_CORE_READ(regs, orig_ax) : 0;
	return es;
}

/*
 * -EPERM when a `deny` rule of a policy in mask covers the path in es->s.buf
 * (len bytes with its NUL) for `access` in exec_rules (exec) or file_rules;
 * reports it. The executable an exec rule's exceptions are compared with is
 * the path itself (the binary being executed, as the tracepoint sees it once
 * it runs); a file rule's, the current task's. Global, so the verifier checks it once, apart from every caller.
 */
__noinline int lsm_path_verdict(struct enforce_scratch *es, __u32 mask, __u32 len, __u32 access, __u32 exec)
{
	struct lsm_scratch *ls = lsm_scratch();
	struct haechi_verdict *v;
	__u64 task = bpf_get_current_task();
	int exe_resolved = 0;
	struct haechi_task_selection after_exec = {};

	if (!es || !ls || len == 0)
		return 0;
	if (len > HAECHI_PREFIX_MAX - 1)
		len = HAECHI_PREFIX_MAX - 1;
	/* An exec rule's process selector judges the process as it will be once it
	 * runs the binary (as the tracepoint sees it); ls->key serves as the lookup
	 * key before it holds the rules' key. */
	if (exec)
		exec_selection(es->s.buf, (struct haechi_prefix_key *)&ls->key, len, &after_exec);
	bpf_probe_read_kernel(&ls->key.path[1], HAECHI_PREFIX_MAX - 1, es->s.buf);
	bpf_probe_read_kernel_str(es->record.path, sizeof(es->record.path), es->s.buf);
	ls->key.prefix_len = 8 + len * 8;
	for (__u64 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		ls->key.path[0] = i;
		v = bpf_map_lookup_elem(exec ? (void *)&exec_rules : (void *)&file_rules, &ls->key);
		if (!v || v->action != HAECHI_ACTION_DENY || !(v->access & access))
			continue;
		if (v->selector && exec) {
			if (!(after_exec.selected & (1u << ((v->selector - 1) & (HAECHI_SELECTOR_MAX - 1)))))
				continue;
		} else if (!selects(v)) {
			continue;
		}
		if (v->has_exceptions) {
			if (!exe_resolved) {
				__builtin_memset(ls->exception.exe, 0, sizeof(ls->exception.exe));
				if (exec) {
					bpf_probe_read_kernel_str(ls->exception.exe, sizeof(ls->exception.exe),
								  es->s.buf);
				} else {
					struct file *exe = BPF_CORE_READ((struct task_struct *)task, mm, exe_file);
					int n = exe ? write_path(&es->s, EXE_OFFSET, (__u64)&exe->f_path, task) : 0;
					if (n > 0)
						bpf_probe_read_kernel_str(ls->exception.exe,
									  sizeof(ls->exception.exe),
									  &es->s.buf[EXE_OFFSET]);
				}
				exe_resolved = 1;
			}
			ls->exception.rule = v->rule;
			if (bpf_map_lookup_elem(&exceptions, &ls->exception))
				continue;
		}
		report(es, v, exec ? HAECHI_ENF_EXEC : HAECHI_ENF_OPEN);
		return -LSM_EPERM;
	}
	return 0;
}

/*
 * -EPERM when the first policy in the task's scope with a rule for `class`
 * says deny (the sys_exit program takes the first one the same way).
 */
static __always_inline int lsm_privilege(__u32 class)
{
	struct haechi_privilege_rules *rules;
	struct enforce_scratch *es;
	__u32 mask = current_scope();

	if (!mask || class >= HAECHI_PRIV_CLASSES)
		return 0;
	for (__u64 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		__u32 index = i;
		rules = bpf_map_lookup_elem(&privilege_rules, &index);
		if (!rules || !rules->rules[class].rule || !selects(&rules->rules[class]))
			continue;
		if (rules->rules[class].action != HAECHI_ACTION_DENY)
			return 0;
		es = lsm_record();
		if (!es)
			return 0;
		report(es, &rules->rules[class], HAECHI_ENF_SYSCALL);
		return -LSM_EPERM;
	}
	return 0;
}

#endif
