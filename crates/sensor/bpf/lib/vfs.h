/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the observe, enforce and record programs share: the per-CPU scratch
 * layout, path resolution the way d_path() does it, file descriptor lookup
 * and raw tracepoint arguments. Included by each *.bpf.c after vmlinux.h and
 * abi.h; every object gets its own copy.
 */
#ifndef HAECHI_VFS_H
#define HAECHI_VFS_H

#define AT_FDCWD -100
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define NAME_MAX 255

/* Path components are collected leaf-first, then written root-first. */
#define PATH_DEPTH 32

/*
 * Every variable-length write lands at (offset & SCRATCH_MASK) and is at
 * most HAECHI_PATH_MAX bytes long, so it stays inside the buffer whatever
 * the verifier assumes about the offset. Offsets are kept below
 * SCRATCH_MASK by explicit checks; the mask only convinces the verifier.
 */
#define SCRATCH_MASK 16383
#define SCRATCH_SIZE (SCRATCH_MASK + 1 + HAECHI_PATH_MAX + NAME_MAX + 2)
#define DATA_LIMIT (SCRATCH_MASK - HAECHI_PATH_MAX)

struct scratch {
	__u8 buf[SCRATCH_SIZE];
	__u64 names[PATH_DEPTH];
	struct haechi_prefix_key key;
};

/* An offset into the scratch buffer the verifier can bound; the barrier
 * keeps clang from dropping a mask it proves redundant. */
static __always_inline __u32 at(__u32 off)
{
	barrier_var(off);
	return off & SCRATCH_MASK;
}

/*
 * The path walkers below are global functions: the verifier checks each
 * once, on its own, instead of once per call site and caller state, which
 * keeps the programs far below the verifier's instruction budget. Kernel
 * pointers cross as integers because a global function's pointer
 * arguments must point to memory of a known size.
 */

/*
 * Writes "/" + names[n-1] + "/" + ... + names[0] with a final NUL at
 * buf[off..] and returns the bytes written (NUL included). Null entries
 * (steps that crossed a mount) are skipped.
 */
__noinline int write_components(struct scratch *s, __u32 off, __u32 n)
{
	__u32 len = 0;

	if (!s || off >= DATA_LIMIT)
		return 0;
	#pragma clang loop unroll(disable)
	for (int i = 0; i < PATH_DEPTH; i++) {
		if (i >= n || len > HAECHI_PATH_MAX - NAME_MAX - 2)
			break;
		const void *name = (const void *)s->names[(n - 1 - i) & (PATH_DEPTH - 1)];
		if (!name)
			continue;
		s->buf[at(off + len)] = '/';
		long copied = bpf_probe_read_kernel_str(&s->buf[at(off + len + 1)], NAME_MAX + 1, name);
		if (copied <= 0)
			break;
		len += copied;
	}
	if (len == 0) {
		s->buf[at(off)] = '/';
		s->buf[at(off + 1)] = 0;
		return 2;
	}
	return len + 1;
}

/*
 * Resolves a struct path the way d_path() does, relative to the task's
 * root (so a container's /etc/shadow reads /etc/shadow), crossing mounts.
 * Step i stores its component in names[i] (null when the step crossed a
 * mount), so the loop has a single counter and the verifier stays linear.
 */
__noinline int write_path(struct scratch *s, __u32 off, __u64 path_ptr, __u64 task_ptr)
{
	struct task_struct *task = (void *)task_ptr;
	struct path where = {}, root = {};
	__u32 steps = 0;

	/* Each probe read costs; a struct path comes in one. */
	bpf_probe_read_kernel(&where, sizeof(where), (const void *)path_ptr);
	bpf_probe_read_kernel(&root, sizeof(root), &BPF_CORE_READ(task, fs)->root);
	struct dentry *dentry = where.dentry;
	struct vfsmount *vfsmnt = where.mnt;
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	if (!s || !dentry || !vfsmnt)
		return 0;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	#pragma clang loop unroll(disable)
	for (int i = 0; i < PATH_DEPTH; i++) {
		if (dentry == root.dentry && vfsmnt == root.mnt)
			break;
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		__u64 name = 0;
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (dentry != mnt_root || mnt == mnt_parent)
				break;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
			mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		} else {
			name = (__u64)BPF_CORE_READ(dentry, d_name.name);
			dentry = parent;
		}
		s->names[i & (PATH_DEPTH - 1)] = name;
		steps = i + 1;
	}
	return write_components(s, off, steps);
}

/*
 * A raw tracepoint's arguments. Read through a plain pointer, not
 * ctx->args[i]: args is a flexible array, and a CO-RE relocation on it is
 * rejected by loaders that bound-check the index.
 */
static __always_inline __u64 raw_arg(struct bpf_raw_tracepoint_args *ctx, int i)
{
	return ((__u64 *)ctx)[i];
}

/* A global function's result is unknown to the verifier; bound it. */
static __always_inline __u32 field_len(int len)
{
	if (len < 0 || len > HAECHI_PATH_MAX)
		return 0;
	return len;
}

static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct file *file = NULL;

	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max_fds)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#endif
