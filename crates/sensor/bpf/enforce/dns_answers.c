// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copies the payload of a UDP datagram from port 53 to user space when the
 * receiving socket's cgroup is under a policy that denies domains. Always
 * lets the packet through: the answer itself is never refused.
 */

SEC("cgroup_skb/ingress")
int enforce_dns_answers(struct __sk_buff *skb)
{
	__u32 zero = 0, offset, len;
	__u32 *watched = bpf_map_lookup_elem(&dns_policies, &zero);
	__u64 cgroup;
	__u32 *mask;

	if (!watched || !*watched)
		return 1;
	cgroup = bpf_skb_cgroup_id(skb);
	mask = bpf_map_lookup_elem(&scopes, &cgroup);
	if (!mask || !(*mask & *watched))
		return 1;
	offset = dns_payload(skb, &len);
	if (!offset)
		return 1;

	struct haechi_dns_answer *answer = bpf_ringbuf_reserve(&dns_answers, sizeof(*answer), 0);
	if (!answer) {
		count(HAECHI_ENFORCE_STAT_DNS_LOST);
		return 1;
	}
	if (dns_copy(skb, offset, len, answer->payload)) {
		bpf_ringbuf_discard(answer, 0);
		return 1;
	}
	answer->cgroup_id = cgroup;
	answer->scope = *mask & *watched;
	answer->len = len;
	answer->_pad = 0;
	bpf_ringbuf_submit(answer, 0);
	return 1;
}
