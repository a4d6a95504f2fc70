// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's kernel sensor: process, file, network and privilege events.
 *
 * Built only on hooks that load where fentry, kprobes and BPF-LSM do not:
 * raw tracepoints on sched_process_{exec,fork,exit} and on sys_exit. The
 * sys_exit program reads a syscall's arguments back from the saved user
 * registers, so one program serves every syscall, and a per-syscall table
 * (`syscalls`, filled from user space) says which ones matter and how to
 * decode them. Everything else is dropped after one array lookup. While
 * rules name servers by domain, a cgroup_skb program on the cgroup v2 root
 * also reports the DNS answers sockets receive.
 *
 * Events are assembled in a per-CPU scratch buffer and copied into the
 * `events` ring buffer; a full ring buffer counts as a lost event in
 * `stats`, never silently.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "dns.h"
#include "vfs.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Puts every ABI struct into the object's BTF (nothing else references the
 * event layouts by type), so the Rust side can check its mirror against it.
 */
struct haechi_abi {
	struct haechi_event event;
	struct haechi_syscall_event syscall;
	struct haechi_exec_event exec;
	struct haechi_fork_event fork;
	struct haechi_exit_event exit;
	struct haechi_dns_event dns;
	struct haechi_sock sock;
	struct haechi_syscall_conf conf;
};
const volatile struct haechi_abi *haechi_abi_anchor = 0;

/* Set by the loader before the programs load. */
const volatile __u32 haechi_agent_tgid = 0;
/* 1: take the cgroup path from the v1 memory hierarchy (v1 or hybrid hosts). */
const volatile __u8 haechi_cgroup_v1 = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct haechi_syscall_conf);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HAECHI_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_prefix_key);
	__type(value, __u8);
} path_prefixes SEC(".maps");

/*
 * The path filter's verdict cache. Resolving an opened file's path costs a
 * probe read per component; most opens hit the same few files again and
 * again, so the trie's answer for a file is kept here, keyed by what
 * identifies the path the filter saw (struct verdict_key), and a later open
 * of the same file takes it without resolving the path. A verdict counts only
 * while both generations in `path_generation` are those it was computed
 * under: the kernel one is bumped after every syscall that can change what
 * path a (mount, dentry) resolves to (note_path_change), the filter one by
 * user space after it changes `path_prefixes` (Sensor::set_filter). Only the
 * filter's verdict is cached: an event that passes is reported in full.
 */
struct verdict_key {
	/* The task's root: the path is resolved relative to it (chroot, container). */
	__u64 root_mnt;
	__u64 root_dentry;
	/* The opened file as seen through its mount. */
	__u64 mnt;
	__u64 dentry;
	/*
	 * What a dentry whose memory was freed and reused for another file would
	 * also have to match: its parent, its name's hash and length, its inode.
	 */
	__u64 parent;
	__u64 name_hash_len;
	__u64 ino;
};

struct verdict {
	__u64 gen_kernel;
	__u64 gen_filter;
	/* The longest matching prefix's kinds (HAECHI_PATH_*), 0 when none matched. */
	__u8 kinds;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct verdict_key);
	__type(value, struct verdict);
} path_verdicts SEC(".maps");

/* Indexed by HAECHI_GEN_*. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} path_generation SEC(".maps");

/* Processes whose comm is a key here are not reported (syscall events). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[16]);
	__type(value, __u8);
} ignored_comms SEC(".maps");

/* Cgroups (v2 ids) whose processes are not reported (syscall events). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} ignored_cgroups SEC(".maps");

/* Slot 0 is 1 while DNS answers are reported (see handle_dns_answer). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} dns_watch SEC(".maps");

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

SEC("raw_tracepoint/sched_process_exec")
int handle_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)raw_arg(ctx, 0);
	struct linux_binprm *bprm = (void *)raw_arg(ctx, 2);
	struct scratch *s;
	__u32 off, len;

	if (is_agent())
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	struct haechi_exec_event *ev = (void *)s->buf;
	fill_header(&ev->ev, task, HAECHI_EV_EXEC);
	ev->ruid = BPF_CORE_READ(task, cred, uid.val);
	ev->rgid = BPF_CORE_READ(task, cred, gid.val);
	ev->loginuid = BPF_CORE_READ(task, loginuid.val);
	ev->old_tid = (__u32)raw_arg(ctx, 1);
	ev->args_truncated = 0;
	ev->tty = 0;
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (tty) {
		__u32 major = BPF_CORE_READ(tty, driver, major);
		__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
		ev->tty = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
	}
	off = sizeof(*ev);

	long copied = bpf_probe_read_kernel_str(&s->buf[at(off)], HAECHI_PATH_MAX,
						BPF_CORE_READ(bprm, filename));
	if (copied > 0) {
		ev->ev.lens[HAECHI_F_EXEC_FILENAME] = copied;
		off += copied;
	}

	ev->vpid = namespace_pid(task);
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	ev->flags = exe && in_upper_layer(BPF_CORE_READ(exe, f_path.dentry, d_inode)) ? HAECHI_EXEC_UPPER_LAYER : 0;
	if (exe && off < DATA_LIMIT) {
		len = field_len(write_path(s, off, (__u64)&exe->f_path, (__u64)task));
		ev->ev.lens[HAECHI_F_EXEC_EXE] = len;
		off += len;
	}

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	if (arg_end > arg_start && off < DATA_LIMIT) {
		unsigned long args_len = arg_end - arg_start;
		if (args_len > HAECHI_ARGS_MAX - 1) {
			args_len = HAECHI_ARGS_MAX - 1;
			ev->args_truncated = 1;
		}
		if (bpf_probe_read_user(&s->buf[at(off)], args_len & (HAECHI_ARGS_MAX - 1),
					(const void *)arg_start) == 0) {
			ev->ev.lens[HAECHI_F_EXEC_ARGV] = args_len;
			off += args_len;
		}
	}

	if (off < DATA_LIMIT) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		len = field_len(write_path(s, off, (__u64)&fs->pwd, (__u64)task));
		ev->ev.lens[HAECHI_F_EXEC_CWD] = len;
		off += len;
	}
	if (off < DATA_LIMIT) {
		len = field_len(write_cgroup(s, off, (__u64)task));
		ev->ev.lens[HAECHI_F_EXEC_CGROUP] = len;
		off += len;
	}
	emit(s, off);
	return 0;
}

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

static __always_inline int ignored_task(struct haechi_event *ev)
{
	__u64 cgroup = ev->cgroup_id;
	return bpf_map_lookup_elem(&ignored_comms, ev->comm) != NULL ||
	       bpf_map_lookup_elem(&ignored_cgroups, &cgroup) != NULL;
}

#define FMODE_WRITE 0x2

/* One argument (0..5) or the result: only what the path filter needs is read. */
static __always_inline __u64 syscall_arg(struct pt_regs *regs, __u8 i, long ret)
{
	switch (i) {
	case 0: return BPF_CORE_READ(regs, di);
	case 1: return BPF_CORE_READ(regs, si);
	case 2: return BPF_CORE_READ(regs, dx);
	case 3: return BPF_CORE_READ(regs, r10);
	case 4: return BPF_CORE_READ(regs, r8);
	case 5: return BPF_CORE_READ(regs, r9);
	case HAECHI_ARG_RET: return ret;
	}
	return 0;
}

/* The trie's kinds for the path just written at the start of the scratch buffer. */
static __always_inline __u8 prefix_kinds(struct scratch *s, __u32 len)
{
	__u32 bytes = len - 1;
	if (bytes > HAECHI_PREFIX_MAX)
		bytes = HAECHI_PREFIX_MAX;
	bpf_probe_read_kernel(s->key.path, HAECHI_PREFIX_MAX, s->buf);
	s->key.prefix_len = bytes * 8;
	__u8 *kinds = bpf_map_lookup_elem(&path_prefixes, &s->key);
	return kinds ? *kinds : 0;
}

/*
 * The filter reads a few fields of structs whose layout CO-RE gives: where
 * they sit close together, one probe read copies them all (each read costs
 * far more than the bytes it copies); elsewhere, one read per field.
 */
#define FILE_HEAD_MAX 128

/*
 * Kernels from 5.11 give the current task as a typed pointer, whose fields
 * the program loads directly (a plain load that the kernel makes fault-safe)
 * instead of through a probe read helper each; older ones take probe reads.
 */
static __always_inline bool typed_task(void)
{
	return bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf);
}

/* What the filter needs of an open file. */
struct file_head {
	fmode_t mode;
	struct inode *inode;
	struct path path;
};

static __always_inline void read_file_head(struct file *file, struct file_head *out)
{
	__u32 mode_off = bpf_core_field_offset(struct file, f_mode);
	__u32 inode_off = bpf_core_field_offset(struct file, f_inode);
	__u32 path_off = bpf_core_field_offset(struct file, f_path);
	__u32 size = bpf_core_type_size(struct file);
	__u8 head[FILE_HEAD_MAX];

	if (size > FILE_HEAD_MAX)
		size = FILE_HEAD_MAX;
	if (mode_off + sizeof(fmode_t) <= size && inode_off + 8 <= size &&
	    path_off + sizeof(struct path) <= size &&
	    bpf_probe_read_kernel(head, size, file) == 0) {
		__builtin_memcpy(&out->mode, &head[mode_off], sizeof(out->mode));
		__builtin_memcpy(&out->inode, &head[inode_off], sizeof(out->inode));
		__builtin_memcpy(&out->path, &head[path_off], sizeof(out->path));
		return;
	}
	out->mode = BPF_CORE_READ(file, f_mode);
	out->inode = BPF_CORE_READ(file, f_inode);
	bpf_probe_read_kernel(&out->path, sizeof(out->path), &file->f_path);
}

/* fd_file(), with fdtable's max_fds and fd read together where they are adjacent. */
static __always_inline struct file *filter_fd_file(struct task_struct *task, long fd)
{
	struct {
		unsigned int max_fds;
		struct file **fd;
	} table = {};
	struct file *file = NULL;

	if (fd < 0)
		return NULL;
	if (typed_task()) {
		struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
		table.max_fds = fdt->max_fds;
		table.fd = fdt->fd;
		goto found;
	}
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (bpf_core_field_offset(struct fdtable, max_fds) == 0 &&
	    bpf_core_field_offset(struct fdtable, fd) == 8) {
		bpf_probe_read_kernel(&table, sizeof(table), fdt);
	} else {
		table.max_fds = BPF_CORE_READ(fdt, max_fds);
		table.fd = BPF_CORE_READ(fdt, fd);
	}
found:
	if ((unsigned long)fd >= table.max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &table.fd[fd]);
	return file;
}

/* The trie's kinds for an open file's path: from the verdict cache, else resolved. */
static __always_inline int file_prefix_kinds(struct scratch *s, struct file *file,
					     const struct file_head *head, struct task_struct *task)
{
	struct verdict_key key = {};
	struct verdict verdict = {};
	struct path root = {};
	__u32 gen_kernel = HAECHI_GEN_KERNEL, gen_filter = HAECHI_GEN_FILTER;
	__u64 *kernel = bpf_map_lookup_elem(&path_generation, &gen_kernel);
	__u64 *filter = bpf_map_lookup_elem(&path_generation, &gen_filter);
	__u32 len;

	if (!kernel || !filter)
		return -1;
	/*
	 * The generations are read before anything of the path: a rename or a
	 * filter change that lands while this resolves bumps them past what the
	 * verdict is stored under, so it is never taken afterwards.
	 */
	verdict.gen_kernel = *kernel;
	verdict.gen_filter = *filter;
	if (typed_task()) {
		struct fs_struct *fs = bpf_get_current_task_btf()->fs;
		root.mnt = fs->root.mnt;
		root.dentry = fs->root.dentry;
	} else {
		bpf_probe_read_kernel(&root, sizeof(root), &BPF_CORE_READ(task, fs)->root);
	}
	struct dentry *dentry = head->path.dentry;
	key.root_mnt = (__u64)root.mnt;
	key.root_dentry = (__u64)root.dentry;
	key.mnt = (__u64)head->path.mnt;
	key.dentry = (__u64)dentry;
	/* d_parent and d_name.hash_len in one read where d_name follows d_parent. */
	if (bpf_core_field_offset(struct dentry, d_name) ==
	    bpf_core_field_offset(struct dentry, d_parent) + 8) {
		bpf_probe_read_kernel(&key.parent, 16, &dentry->d_parent);
	} else {
		key.parent = (__u64)BPF_CORE_READ(dentry, d_parent);
		key.name_hash_len = BPF_CORE_READ(dentry, d_name.hash_len);
	}
	/* A local first: inside BPF_CORE_READ, head->inode would be relocated too. */
	struct inode *inode = head->inode;
	key.ino = BPF_CORE_READ(inode, i_ino);
	struct verdict *cached = bpf_map_lookup_elem(&path_verdicts, &key);
	if (cached && cached->gen_kernel == verdict.gen_kernel &&
	    cached->gen_filter == verdict.gen_filter) {
		count(HAECHI_STAT_VERDICT_HITS);
		return cached->kinds;
	}
	len = field_len(write_path(s, 0, (__u64)&file->f_path, (__u64)task));
	if (len == 0)
		return -1;
	verdict.kinds = prefix_kinds(s, len);
	bpf_map_update_elem(&path_verdicts, &key, &verdict, BPF_ANY);
	return verdict.kinds;
}

/*
 * Whether a file event passes the path filter, decided before anything else
 * of the event is read so that a dropped event costs one path resolution, or
 * none when the file's verdict is cached. The path is the one the event
 * reports: the file its descriptor resolves to, else its first string when
 * that is absolute; a relative string without a descriptor passes (only user
 * space joins it to its directory). The path is written at the start of the
 * scratch buffer, which the event overwrites.
 */
static __always_inline int path_passes(struct scratch *s, const struct haechi_syscall_conf *conf,
				       struct pt_regs *regs, long ret, struct task_struct *task)
{
	__u8 kind = HAECHI_PATH_WRITES;
	struct file *file = NULL;

	if (conf->fd_path <= HAECHI_ARG_RET)
		file = filter_fd_file(task, (long)syscall_arg(regs, conf->fd_path, ret));
	if (file) {
		struct file_head head = {};
		read_file_head(file, &head);
		if (conf->fd_path == HAECHI_ARG_RET && !(head.mode & FMODE_WRITE))
			kind = HAECHI_PATH_READS;
		if (!(conf->path_filter & kind))
			return 1;
		int kinds = file_prefix_kinds(s, file, &head, task);
		return kinds < 0 || (kinds & kind);
	}
	if (!(conf->path_filter & kind) || conf->str_args[0] > 5)
		return 1;
	long copied = bpf_probe_read_user_str(s->buf, HAECHI_PATH_MAX,
					      (const void *)syscall_arg(regs, conf->str_args[0], ret));
	if (copied <= 1 || s->buf[0] != '/')
		return 1;
	return prefix_kinds(s, copied) & kind;
}

/* Whether the current task's mount namespace differs from its parent's. */
static __always_inline bool new_mount_namespace(void)
{
	if (typed_task()) {
		struct task_struct *task = bpf_get_current_task_btf();
		return task->nsproxy->mnt_ns != task->real_parent->nsproxy->mnt_ns;
	}
	struct task_struct *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, nsproxy, mnt_ns) !=
	       BPF_CORE_READ(task, real_parent, nsproxy, mnt_ns);
}

/*
 * Bumps the verdict cache's kernel generation after each syscall that can
 * change the path an already looked-up (mount, dentry) resolves to: renames
 * (of the file or of any directory above it) and changes to mounts or to the
 * task's root; whether or not those syscalls are watched. x86_64 numbers (the
 * only architecture the sensor reads registers for). unshare and setns give
 * the task another root mount, which the key already holds, but are counted
 * too, and so is a clone or clone3 whose child got a new mount namespace
 * (told in the child, which compares its namespace with its parent's rather
 * than trusting clone3's arguments, which user memory could change since):
 * its mounts are new copies, possibly at the addresses of freed ones. Mounts
 * the kernel makes on its own (automounts) are not covered. io_uring can rename (IORING_OP_RENAMEAT) without any of these
 * syscalls: io_uring_enter bumps as well, which covers submissions that
 * complete before it returns; an SQPOLL ring submits with no syscall and
 * io-wq may complete a rename later, and those are not covered: the sensor
 * does not see io_uring's opens at all (they make no open syscall), so this
 * blind spot is the one it already has.
 */
static __always_inline void note_path_change(__u32 nr, long ret)
{
	switch (nr) {
	case 56:  /* clone */
	case 435: /* clone3 */
		if (ret != 0 || !new_mount_namespace())
			return;
		break;
	case 82:  /* rename */
	case 264: /* renameat */
	case 316: /* renameat2 */
	case 155: /* pivot_root */
	case 161: /* chroot */
	case 165: /* mount */
	case 166: /* umount2 */
	case 272: /* unshare */
	case 308: /* setns */
	case 426: /* io_uring_enter */
	case 428: /* open_tree */
	case 429: /* move_mount */
	case 432: /* fsmount */
	case 442: /* mount_setattr */
		break;
	default:
		return;
	}
	if (ret < 0)
		return;
	__u32 index = HAECHI_GEN_KERNEL;
	__u64 *gen = bpf_map_lookup_elem(&path_generation, &index);
	if (gen)
		__sync_fetch_and_add(gen, 1);
}

SEC("raw_tracepoint/sys_exit")
int handle_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)raw_arg(ctx, 0);
	long ret = (long)raw_arg(ctx, 1);
	__u32 nr = BPF_CORE_READ(regs, orig_ax);
	struct haechi_syscall_conf *conf;
	struct task_struct *task;
	struct scratch *s;
	__u64 args[8];
	__u32 off, len;

	note_path_change(nr, ret);
	if (nr >= HAECHI_SYSCALL_MAX)
		return 0;
	conf = bpf_map_lookup_elem(&syscalls, &nr);
	if (!conf || !conf->enabled)
		return 0;
	if ((conf->success_only && ret < 0) || is_agent())
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	task = (void *)bpf_get_current_task();
	if (conf->path_filter && !path_passes(s, conf, regs, ret, task)) {
		count(HAECHI_STAT_FILTERED);
		return 0;
	}
	/* The registers in one read (x86_64's pt_regs layout is fixed ABI). */
	struct pt_regs user;
	if (bpf_probe_read_kernel(&user, sizeof(user), regs))
		return 0;
	args[0] = user.di;
	args[1] = user.si;
	args[2] = user.dx;
	args[3] = user.r10;
	args[4] = user.r8;
	args[5] = user.r9;
	args[6] = ret;
	args[7] = 0;
	struct haechi_syscall_event *ev = (void *)s->buf;
	fill_header(&ev->ev, task, HAECHI_EV_SYSCALL);
	if (ignored_task(&ev->ev)) {
		count(HAECHI_STAT_FILTERED);
		return 0;
	}
	for (int i = 0; i < 6; i++)
		ev->args[i] = args[i];
	ev->ret = ret;
	ev->nr = nr;
	ev->_pad = 0;
	__builtin_memset(&ev->sock, 0, sizeof(ev->sock));
	off = sizeof(*ev);

	for (int i = 0; i < 3; i++) {
		__u8 arg = conf->str_args[i];
		if (arg > 5 || off >= DATA_LIMIT)
			continue;
		long copied = bpf_probe_read_user_str(&s->buf[at(off)], HAECHI_PATH_MAX,
						      (const void *)args[arg & 7]);
		if (copied > 0) {
			ev->ev.lens[i] = copied;
			off += copied;
		}
	}

	if (conf->fd_path <= HAECHI_ARG_RET && off < DATA_LIMIT) {
		long fd = (long)args[conf->fd_path & 7];
		struct file *file = fd_file(task, fd);
		if (file) {
			len = field_len(write_path(s, off, (__u64)&file->f_path, (__u64)task));
			ev->ev.lens[HAECHI_F_FD_PATH] = len;
			off += len;
		}
	}

	/* A relative first path: report the directory it is relative to. */
	__u32 str0 = sizeof(*ev);
	if (ev->ev.lens[0] > 1 && s->buf[at(str0)] != '/' && off < DATA_LIMIT) {
		struct file *dir = NULL;
		len = 0;
		if (conf->dirfd_arg == HAECHI_ARG_CWD ||
		    (conf->dirfd_arg <= 5 && (int)args[conf->dirfd_arg & 7] == AT_FDCWD)) {
			struct fs_struct *fs = BPF_CORE_READ(task, fs);
			len = field_len(write_path(s, off, (__u64)&fs->pwd, (__u64)task));
		}
		else if (conf->dirfd_arg <= 5 && (dir = fd_file(task, (int)args[conf->dirfd_arg & 7])))
			len = field_len(write_path(s, off, (__u64)&dir->f_path, (__u64)task));
		ev->ev.lens[HAECHI_F_DIR] = len;
		off += len;
	}

	if (conf->sock_fd <= HAECHI_ARG_RET) {
		struct file *file = fd_file(task, (long)args[conf->sock_fd & 7]);
		if (file)
			read_sock(&ev->sock, file);
	}

	if (conf->addr_arg <= 5 && conf->addr_len_arg <= 5 && off < DATA_LIMIT) {
		__u64 addr_len = args[conf->addr_len_arg & 7];
		if (addr_len > HAECHI_ADDR_MAX)
			addr_len = HAECHI_ADDR_MAX;
		if (addr_len > 0 &&
		    bpf_probe_read_user(&s->buf[at(off)], addr_len,
					(const void *)args[conf->addr_arg & 7]) == 0) {
			ev->ev.lens[HAECHI_F_ADDR] = addr_len;
			off += addr_len;
		}
	}

	emit(s, off);
	return 0;
}

/*
 * Reports the DNS answers sockets receive, on the cgroup v2 root's ingress,
 * so that user space can name the server of a later connect by the domain the
 * process asked for (fd.sip.name). The answer goes into `events` with the
 * syscalls, so it is read before any connect that used it. Its own record,
 * reserved in the ring buffer: this runs in softirq context, which may
 * interrupt a syscall program using the per-CPU scratch buffer. Always lets
 * the packet through.
 */
SEC("cgroup_skb/ingress")
int handle_dns_answer(struct __sk_buff *skb)
{
	__u32 zero = 0, offset, len = 0;
	__u32 *on = bpf_map_lookup_elem(&dns_watch, &zero);

	if (!on || !*on)
		return 1;
	offset = dns_payload(skb, &len);
	if (!offset)
		return 1;
	__u64 flags = wakeup_flag(sizeof(struct haechi_dns_event));
	struct haechi_dns_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(HAECHI_STAT_LOST);
		return 1;
	}
	if (dns_copy(skb, offset, len, e->payload)) {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	__builtin_memset(&e->ev, 0, sizeof(e->ev));
	e->ev.ts_ns = bpf_ktime_get_boot_ns();
	e->ev.cgroup_id = bpf_skb_cgroup_id(skb);
	e->ev.kind = HAECHI_EV_DNS;
	e->ev.size = sizeof(e->ev) + len;
	e->ev.lens[0] = len;
	bpf_ringbuf_submit(e, flags);
	count(HAECHI_STAT_EMITTED);
	return 1;
}
