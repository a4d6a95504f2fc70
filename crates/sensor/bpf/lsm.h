/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * haechi's BPF-LSM programs: true refusal (the syscall fails with EPERM and
 * nothing happens) for the rules whose action is `deny`, on kernels that run
 * the BPF LSM (CONFIG_BPF_LSM=y and "bpf" in the lsm= list). Included at the
 * end of enforce.bpf.c: the programs read the same tables as the tracepoint
 * and cgroup programs there (scopes, file_rules, exec_rules, exceptions,
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
#ifndef HAECHI_LSM_H
#define HAECHI_LSM_H

#define LSM_EPERM 1
#define LSM_PTRACE_MODE_ATTACH 0x02
#define LSM_FMODE_EXEC 0x20

/* A struct path built from a directory and a new dentry (path_mknod). */
struct lsm_scratch {
	struct path path;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_scratch);
} lsm_scratch_space SEC(".maps");

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
 * (len bytes with its NUL) for `access`; reports it. exe_known: the
 * exception key's executable is already filled in.
 */
static __always_inline int lsm_check_path(struct enforce_scratch *es, void *rules, __u32 mask, __u32 len,
					  __u8 access, __u8 kind, int exe_known)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct haechi_verdict *v;

	if (len == 0)
		return 0;
	if (len > HAECHI_PREFIX_MAX - 1)
		len = HAECHI_PREFIX_MAX - 1;
	bpf_probe_read_kernel(&es->key.path[1], HAECHI_PREFIX_MAX - 1, es->s.buf);
	bpf_probe_read_kernel_str(es->record.path, sizeof(es->record.path), es->s.buf);
	es->key.prefix_len = 8 + len * 8;
	es->exe_resolved = exe_known;
	for (__u32 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		es->key.path[0] = i;
		v = bpf_map_lookup_elem(rules, &es->key);
		if (!v || v->action != HAECHI_ACTION_DENY || !(v->access & access))
			continue;
		if (v->has_exceptions && excepted(es, v->rule, task))
			continue;
		report(es, v, kind);
		return -LSM_EPERM;
	}
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(enforce_lsm_file_open, struct file *file)
{
	struct enforce_scratch *es;
	__u32 mask;

	mask = current_scope();
	if (!mask)
		return 0;
	/* execve's own open of the binary is bprm_check_security's. */
	if (BPF_CORE_READ(file, f_mode) & LSM_FMODE_EXEC)
		return 0;
	es = lsm_record();
	if (!es)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	int len = write_path(&es->s, 0, (__u64)&file->f_path, (__u64)task);
	return lsm_check_path(es, &file_rules, mask, field_len(len), open_access(BPF_CORE_READ(file, f_flags)),
			      HAECHI_ENF_OPEN, 0);
}

SEC("lsm/path_mknod")
int BPF_PROG(enforce_lsm_path_mknod, const struct path *dir, struct dentry *dentry)
{
	struct enforce_scratch *es;
	struct lsm_scratch *ls;
	__u32 zero = 0, mask;

	mask = current_scope();
	if (!mask)
		return 0;
	ls = bpf_map_lookup_elem(&lsm_scratch_space, &zero);
	es = lsm_record();
	if (!ls || !es)
		return 0;
	ls->path.mnt = BPF_CORE_READ(dir, mnt);
	ls->path.dentry = dentry;
	struct task_struct *task = (void *)bpf_get_current_task();
	int len = write_path(&es->s, 0, (__u64)&ls->path, (__u64)task);
	return lsm_check_path(es, &file_rules, mask, field_len(len), HAECHI_ACCESS_WRITE, HAECHI_ENF_OPEN, 0);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(enforce_lsm_exec, struct linux_binprm *bprm)
{
	struct enforce_scratch *es;
	__u32 mask;

	mask = current_scope();
	if (!mask)
		return 0;
	es = lsm_record();
	if (!es)
		return 0;
	struct file *file = BPF_CORE_READ(bprm, file);
	if (!file)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	int len = write_path(&es->s, 0, (__u64)&file->f_path, (__u64)task);
	/* An exec rule's exceptions name the binary being executed (as the
	 * tracepoint sees it once it runs), not the one calling execve. */
	__builtin_memset(es->exception.exe, 0, sizeof(es->exception.exe));
	bpf_probe_read_kernel_str(es->exception.exe, sizeof(es->exception.exe), es->s.buf);
	return lsm_check_path(es, &exec_rules, mask, field_len(len), HAECHI_ACCESS_READ, HAECHI_ENF_EXEC, 1);
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
	for (__u32 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		rules = bpf_map_lookup_elem(&privilege_rules, &i);
		if (!rules || !rules->rules[class].rule)
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

SEC("lsm/ptrace_access_check")
int BPF_PROG(enforce_lsm_ptrace, struct task_struct *child, unsigned int mode)
{
	/* Reads through /proc (ps, top) ask in read mode: only attaching is a privilege. */
	if (!(mode & LSM_PTRACE_MODE_ATTACH))
		return 0;
	return lsm_privilege(HAECHI_PRIV_PTRACE);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(enforce_lsm_traceme)
{
	return lsm_privilege(HAECHI_PRIV_PTRACE);
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(enforce_lsm_setuid)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(enforce_lsm_setgid)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}

SEC("lsm/capset")
int BPF_PROG(enforce_lsm_capset)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}

SEC("lsm/bpf")
int BPF_PROG(enforce_lsm_bpf)
{
	return lsm_privilege(HAECHI_PRIV_BPF);
}

#endif
