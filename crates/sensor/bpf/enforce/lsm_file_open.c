// SPDX-License-Identifier: GPL-2.0-only
/* lsm/file_open: `deny` an open of a protected file (before O_TRUNC truncates it). */

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
	int len = write_path(&es->s, 0, lsm_addr(&file->f_path), (__u64)task);
	return lsm_path_verdict(es, mask, field_len(len), open_access(BPF_CORE_READ(file, f_flags)), 0);
}
