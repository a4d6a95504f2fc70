// SPDX-License-Identifier: GPL-2.0-only
/* lsm/task_fix_setuid, lsm/task_fix_setgid, lsm/capset: `deny` the setid class. */

SEC("lsm/task_fix_setuid")
int BPF_PROG(enforce_lsm_setuid)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(enforce_lsm_setgid)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}

SEC("lsm/capset")
int BPF_PROG(enforce_lsm_capset)
{
	return lsm_privilege(HAECHI_PRIV_SETID);
}
