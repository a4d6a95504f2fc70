// SPDX-License-Identifier: GPL-2.0-only
/* lsm/ptrace_access_check (attach mode), lsm/ptrace_traceme: `deny` the ptrace class. */

SEC("lsm/ptrace_access_check")
int BPF_PROG(enforce_lsm_ptrace, struct task_struct *child, unsigned int mode)
{
	/* Reads through /proc (ps, top) ask in read mode: only attaching is a privilege. */
	if (!(mode & LSM_PTRACE_MODE_ATTACH))
		return 0;
	return lsm_privilege(HAECHI_PRIV_PTRACE);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(enforce_lsm_traceme)
{
	return lsm_privilege(HAECHI_PRIV_PTRACE);
}
