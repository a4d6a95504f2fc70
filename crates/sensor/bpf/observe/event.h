/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writing an event: its header (the task, its ids and capabilities), what
 * exec events add (cgroup path, namespace pid, overlayfs upper layer),
 * socket endpoints, and emitting it into the `events` ring buffer with the
 * wakeup policy and the counters.
 */

#ifndef HAECHI_OBSERVE_EVENT_H
#define HAECHI_OBSERVE_EVENT_H

/* kernfs_node.parent became __parent in 6.15; accept both. */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline void count(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&stats, &stat);
	if (value)
		*value += 1;
}

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_space, &zero);
}

static __always_inline void fill_header(struct haechi_event *ev, struct task_struct *task, __u16 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	ev->ts_ns = bpf_ktime_get_boot_ns();
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->tgid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	const struct cred *cred = BPF_CORE_READ(task, cred);

	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = BPF_CORE_READ(cred, euid.val);
	ev->gid = BPF_CORE_READ(cred, egid.val);
	/* kernel_cap_t is a u64 since 6.3 and two u32s before: the same 8 bytes either way. */
	ev->cap_effective = 0;
	bpf_probe_read_kernel(&ev->cap_effective, sizeof(ev->cap_effective), &cred->cap_effective);
	ev->kind = kind;
	ev->size = 0;
	for (int i = 0; i < HAECHI_FIELD_COUNT; i++)
		ev->lens[i] = 0;
	ev->_pad[0] = 0;
	ev->_pad[1] = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(((struct kernfs_node___new *)0)->__parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* The task's cgroup path, as /proc/<pid>/cgroup shows it from the root namespace. */
__noinline int write_cgroup(struct scratch *s, __u32 off, __u64 task_ptr)
{
	struct task_struct *task = (void *)task_ptr;
	struct kernfs_node *kn;
	__u32 n = 0;

	if (!s)
		return 0;
	if (haechi_cgroup_v1) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct css_set *cset = BPF_CORE_READ(task, cgroups);
		struct cgroup_subsys_state *css = NULL;
		if (id < 0 || id >= 16)
			return 0;
		bpf_probe_read_kernel(&css, sizeof(css), &cset->subsys[id]);
		kn = BPF_CORE_READ(css, cgroup, kn);
	} else {
		kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	}
	#pragma clang loop unroll(disable)
	for (int i = 0; i < PATH_DEPTH; i++) {
		struct kernfs_node *parent;
		if (!kn)
			break;
		parent = kernfs_parent(kn);
		if (!parent)
			break;
		s->names[n & (PATH_DEPTH - 1)] = (__u64)BPF_CORE_READ(kn, name);
		n++;
		kn = parent;
	}
	return write_components(s, off, n);
}

static __always_inline void read_sock(struct haechi_sock *out, struct file *file)
{
	umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	out->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	out->type = BPF_CORE_READ(sock, type);
	out->protocol = BPF_CORE_READ(sk, sk_protocol);
	out->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	out->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (out->family == AF_INET) {
		bpf_probe_read_kernel(out->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_probe_read_kernel(out->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else if (out->family == AF_INET6) {
		bpf_probe_read_kernel(out->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(out->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/*
 * Waking the reader for every event costs the producing CPU an interrupt and
 * the reader a context switch per event: events are written without a wakeup
 * until this much waits, and the reader drains on a short timer meanwhile
 * (HAECHI_WAKEUP_BYTES in abi.h says how much; the agent's timer, how often).
 * Only the record that takes the waiting data past that mark wakes the
 * reader: while the reader is behind, every record would otherwise pay for a
 * wakeup of a reader that is already awake (it reads until the buffer is
 * empty, and its timer covers a reader that stopped short).
 */
static __always_inline __u64 wakeup_flag(__u64 size)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return waiting < HAECHI_WAKEUP_BYTES && waiting + size >= HAECHI_WAKEUP_BYTES
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit(struct scratch *s, __u64 size)
{
	/*
	 * Asked first, and the size taken as 64 bits: the verifier must see the very
	 * register that is bounded here reach the output.
	 */
	__u64 flags = wakeup_flag(size);

	barrier_var(size);
	if (size > SCRATCH_SIZE)
		return;
	((struct haechi_event *)s->buf)->size = size;
	if (bpf_ringbuf_output(&events, s->buf, size, flags))
		count(HAECHI_STAT_LOST);
	else
		count(HAECHI_STAT_EMITTED);
}

static __always_inline int is_agent(void)
{
	return haechi_agent_tgid && (bpf_get_current_pid_tgid() >> 32) == haechi_agent_tgid;
}

/* The task's pid as its own pid namespace numbers it. */
static __always_inline __u32 namespace_pid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	bpf_probe_read_kernel(&upid, sizeof(upid), &pid->numbers[level & 0x1f]);
	return upid.nr;
}

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/*
 * Whether an overlayfs inode has an upper-layer dentry, i.e. the file was created or copied up
 * in the writable layer. overlayfs may be a module whose types are not in vmlinux's BTF, so
 * this relies only on struct ovl_inode's layout that has held since overlayfs was merged: the
 * upper dentry pointer follows the embedded struct inode (whose size CO-RE gives).
 */
static __always_inline bool in_upper_layer(struct inode *inode)
{
	struct dentry *upper = NULL;

	if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return false;
	bpf_probe_read_kernel(&upper, sizeof(upper), (char *)inode + bpf_core_type_size(struct inode));
	return upper != NULL;
}

#endif
