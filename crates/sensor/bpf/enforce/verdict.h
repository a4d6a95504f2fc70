/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finding and acting on a verdict: the policies that scope the current task,
 * whether a rule's process selector selects it, an executable's exceptions,
 * the path rules of a file or an executable, and what acting means (SIGKILL
 * for `kill`) and reports (a record in `enforcements`).
 */

#ifndef HAECHI_ENFORCE_VERDICT_H
#define HAECHI_ENFORCE_VERDICT_H

static __always_inline struct enforce_scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&enforce_scratch_space, &zero);
}

/* The policies that cover the current task's cgroup; 0 for most of them. */
static __always_inline __u32 current_scope(void)
{
	__u64 cgroup = bpf_get_current_cgroup_id();
	__u32 *mask = bpf_map_lookup_elem(&scopes, &cgroup);
	return mask ? *mask : 0;
}

/* Whether the verdict's process selector (if it has one) selects the current process. */
static __always_inline int selects(const struct haechi_verdict *v)
{
	__u32 tgid;
	struct haechi_task_selection *t;

	if (!v->selector)
		return 1;
	tgid = bpf_get_current_pid_tgid() >> 32;
	t = bpf_map_lookup_elem(&task_selections, &tgid);
	return t && (t->selected & (1u << ((v->selector - 1) & (HAECHI_SELECTOR_MAX - 1))));
}

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&enforce_stats, &index);
	if (value)
		*value += 1;
}

/* Fills the record's task part; the caller has set the rest. */
static __always_inline void report(struct enforce_scratch *es, const struct haechi_verdict *v, __u8 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct haechi_enforcement *r = &es->record;

	r->ts_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->tgid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->rule = v->rule;
	r->action = v->action;
	r->kind = kind;
	r->_pad = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	if (bpf_ringbuf_output(&enforcements, r, sizeof(*r), 0))
		count(HAECHI_ENFORCE_STAT_LOST);
	else
		count(HAECHI_ENFORCE_STAT_WRITTEN);
}

/* Whether the current executable is one of the rule's exceptions. */
static __always_inline int excepted(struct enforce_scratch *es, __u32 rule, struct task_struct *task)
{
	if (!es->exe_resolved) {
		struct file *exe = BPF_CORE_READ(task, mm, exe_file);
		__builtin_memset(es->exception.exe, 0, sizeof(es->exception.exe));
		if (exe) {
			int len = write_path(&es->s, EXE_OFFSET, (__u64)&exe->f_path, (__u64)task);
			if (len > 0)
				bpf_probe_read_kernel_str(es->exception.exe, sizeof(es->exception.exe),
							  &es->s.buf[EXE_OFFSET]);
		}
		es->exe_resolved = 1;
	}
	es->exception.rule = rule;
	return bpf_map_lookup_elem(&exceptions, &es->exception) != NULL;
}

static __always_inline void act(struct enforce_scratch *es, const struct haechi_verdict *v, __u8 kind)
{
	if (v->action == HAECHI_ACTION_KILL)
		bpf_send_signal(SIGKILL);
	report(es, v, kind);
}

/*
 * Looks the path in es->s.buf (len bytes with its NUL) up in `rules` for
 * every policy in mask and acts on the first match that covers `access`.
 */
static __always_inline void check_path(struct enforce_scratch *es, void *rules, __u32 mask, __u32 len,
				       __u8 access, __u8 kind, struct task_struct *task)
{
	struct haechi_verdict *v;

	if (len == 0)
		return;
	if (len > HAECHI_PREFIX_MAX - 1)
		len = HAECHI_PREFIX_MAX - 1;
	bpf_probe_read_kernel(&es->key.path[1], HAECHI_PREFIX_MAX - 1, es->s.buf);
	bpf_probe_read_kernel_str(es->record.path, sizeof(es->record.path), es->s.buf);
	es->key.prefix_len = 8 + len * 8;
	es->exe_resolved = 0;
	for (__u32 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		es->key.path[0] = i;
		v = bpf_map_lookup_elem(rules, &es->key);
		if (!v || !(v->access & access) || !selects(v))
			continue;
		if (v->has_exceptions && excepted(es, v->rule, task))
			continue;
		act(es, v, kind);
		return;
	}
}

static __always_inline __u8 open_access(__u64 flags)
{
	__u8 access;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		access = HAECHI_ACCESS_READ;
		break;
	case O_WRONLY:
		access = HAECHI_ACCESS_WRITE;
		break;
	default:
		access = HAECHI_ACCESS_READ | HAECHI_ACCESS_WRITE;
	}
	if (flags & (O_CREAT | O_TRUNC))
		access |= HAECHI_ACCESS_WRITE;
	return access;
}

#endif
