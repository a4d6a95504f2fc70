// SPDX-License-Identifier: GPL-2.0-only
/* lsm/path_mknod: `deny` creating a file below a protected directory, before the inode exists. */

SEC("lsm/path_mknod")
int BPF_PROG(enforce_lsm_path_mknod, const struct path *dir, struct dentry *dentry)
{
	struct enforce_scratch *es;
	struct lsm_scratch *ls;
	__u32 mask;

	mask = current_scope();
	if (!mask)
		return 0;
	ls = lsm_scratch();
	es = lsm_record();
	if (!ls || !es)
		return 0;
	ls->path.mnt = BPF_CORE_READ(dir, mnt);
	ls->path.dentry = (struct dentry *)lsm_addr(dentry);
	struct task_struct *task = (void *)bpf_get_current_task();
	int len = write_path(&es->s, 0, lsm_addr(&ls->path), (__u64)task);
	return lsm_path_verdict(es, mask, field_len(len), HAECHI_ACCESS_WRITE, 0);
}
