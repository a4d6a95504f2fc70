// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_tracepoint/sched_process_exec: a process image was replaced. Reports
 * the file name given to execve, the resolved executable, argv, the working
 * directory and the cgroup path, with the real ids, login uid, tty, the pid
 * in the task's own namespace and whether the executable is in an overlayfs
 * upper layer.
 */

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
