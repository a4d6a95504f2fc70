/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel path filter of file events (the `path_prefixes` trie, by
 * kind: reads and writes) and the cache of its verdicts per opened file,
 * kept true by the generations that renames, mounts and filter changes bump.
 */

#ifndef HAECHI_OBSERVE_PATH_FILTER_H
#define HAECHI_OBSERVE_PATH_FILTER_H

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

#endif
