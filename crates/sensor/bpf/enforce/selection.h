/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process selectors (a rule's `binaries` and `ancestors`): which selectors
 * select a process once it runs an executable, from the executable and what
 * the process inherited.
 */

#ifndef HAECHI_ENFORCE_SELECTION_H
#define HAECHI_ENFORCE_SELECTION_H

/*
 * The selection the current process has once it runs the executable at
 * `path` (len bytes with the NUL), looked up through `key` (a map value:
 * older verifiers take no other memory as a map key); 0 when no selector is
 * in use. Also for BPF-LSM's bprm_check_security, which judges the exec
 * before it is done.
 */
static __always_inline int exec_selection(const __u8 *path, struct haechi_prefix_key *key, __u32 len,
					  struct haechi_task_selection *next)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct haechi_selector_config *conf = bpf_map_lookup_elem(&selector_config, &zero);
	struct haechi_task_selection *now;
	struct haechi_selector_match *match;

	next->ancestry = 0;
	next->selected = 0;
	if (!conf || !conf->in_use || len == 0)
		return 0;
	if (len > HAECHI_PREFIX_MAX)
		len = HAECHI_PREFIX_MAX;
	bpf_probe_read_kernel(key->path, HAECHI_PREFIX_MAX, path);
	key->prefix_len = len * 8;
	match = bpf_map_lookup_elem(&selector_binaries, key);
	now = bpf_map_lookup_elem(&task_selections, &tgid);
	if (now)
		next->ancestry = now->ancestry;
	if (match)
		next->ancestry |= match->ancestor;
	next->ancestry &= conf->in_use;
	next->selected = ((match ? match->binary : 0) | conf->any_binary) &
			 (next->ancestry | conf->any_ancestor) & conf->in_use;
	return 1;
}

/*
 * At exec: which selectors select the process now, from its new executable
 * (es->s.buf, len bytes with the NUL) and the ancestry it inherited. Before
 * the exec rules are checked, so a rule can select by the executable it is
 * about to judge.
 */
static __always_inline void select_on_exec(struct enforce_scratch *es, __u32 len)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct haechi_task_selection next;

	if (!exec_selection(es->s.buf, &es->s.key, len, &next))
		return;
	if (next.ancestry || next.selected)
		bpf_map_update_elem(&task_selections, &tgid, &next, BPF_ANY);
	else
		bpf_map_delete_elem(&task_selections, &tgid);
}

#endif
