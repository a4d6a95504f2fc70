// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_tracepoint/sys_exit: a watched syscall returned. One program for every
 * syscall: the `syscalls` table says which ones matter and how to decode each
 * (string arguments, the descriptor whose path to resolve, the directory a
 * relative path is relative to, the socket and the address passed); the rest
 * is dropped after one array lookup, and file events outside the path filter
 * after at most one path resolution.
 */

static __always_inline int ignored_task(struct haechi_event *ev)
{
	__u64 cgroup = ev->cgroup_id;
	return bpf_map_lookup_elem(&ignored_comms, ev->comm) != NULL ||
	       bpf_map_lookup_elem(&ignored_cgroups, &cgroup) != NULL;
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
