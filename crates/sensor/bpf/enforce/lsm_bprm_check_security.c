// SPDX-License-Identifier: GPL-2.0-only
/*
 * lsm/bprm_check_security: `deny` executing a forbidden binary (or a script
 * whose own path is forbidden), before the old image is torn down.
 */

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
	return lsm_path_verdict(es, mask, field_len(len), HAECHI_ACCESS_READ, 1);
}
