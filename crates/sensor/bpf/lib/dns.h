/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DNS answers in cgroup_skb programs: the UDP payload of a datagram from port
 * 53, as it arrived. Shared by observe (whose answers name the servers
 * processes connect to, Falco's fd.sip.name) and enforce (whose answers deny
 * the addresses of denied domains). User space parses the payload.
 */
#ifndef HAECHI_DNS_H
#define HAECHI_DNS_H

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define DNS_PORT 53

/*
 * Where the payload of a UDP datagram from port 53 starts in skb, with its
 * length (at most HAECHI_DNS_MAX) in *len; 0 when skb is something else.
 */
static __always_inline __u32 dns_payload(struct __sk_buff *skb, __u32 *len)
{
	struct udphdr udp;
	__u32 offset;
	__u8 byte;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 9, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		if (bpf_skb_load_bytes(skb, 0, &byte, 1))
			return 0;
		offset = (byte & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		/* Extension headers before UDP are not followed. */
		if (bpf_skb_load_bytes(skb, 6, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		offset = 40;
	} else {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, offset, &udp, sizeof(udp)) || udp.source != bpf_htons(DNS_PORT))
		return 0;
	*len = bpf_ntohs(udp.len);
	if (*len <= sizeof(udp))
		return 0;
	*len -= sizeof(udp);
	if (*len > HAECHI_DNS_MAX)
		*len = HAECHI_DNS_MAX;
	return offset + sizeof(udp);
}

/* Copies the len bytes dns_payload() found at offset into out; nonzero on failure. */
static __always_inline int dns_copy(struct __sk_buff *skb, __u32 offset, __u32 len, __u8 *out)
{
	/* Bounds the verifier sees on the register it passes: 6.1's cannot tell
	 * from `!= 0` that the length is at least 1. */
	__u64 size = len - 1;

	barrier_var(size);
	if (size >= HAECHI_DNS_MAX)
		return -1;
	return bpf_skb_load_bytes(skb, offset, out, size + 1);
}

#endif
