// SPDX-License-Identifier: GPL-2.0-only
/* lsm/bpf: `deny` the bpf class. */

SEC("lsm/bpf")
int BPF_PROG(enforce_lsm_bpf)
{
	return lsm_privilege(HAECHI_PRIV_BPF);
}
