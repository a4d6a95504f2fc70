/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Egress verdicts: a destination (address, port, protocol) against each
 * policy's denied ranges and learned addresses (`net_denied`) and its
 * default-deny allow list (`net_policies`).
 */

#ifndef HAECHI_ENFORCE_EGRESS_H
#define HAECHI_ENFORCE_EGRESS_H

static __always_inline int addr_matches(const __u8 *addr, const struct haechi_net_allow *allow)
{
	__u32 bits = allow->prefix_len;

	#pragma clang loop unroll(disable)
	for (int i = 0; i < 16; i++) {
		if (bits == 0)
			return 1;
		__u8 mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
		if ((addr[i] & mask) != (allow->addr[i] & mask))
			return 0;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return 1;
}

/*
 * The verdict of one policy on a destination (es->record.addr, port and
 * protocol already filled); NULL when the policy lets it through. Global,
 * so the verifier checks it once for every policy index.
 */
__noinline int net_verdict(struct enforce_scratch *es, __u32 policy, struct haechi_verdict *out)
{
	struct haechi_verdict *denied;
	struct haechi_net_policy *np;

	if (!es || !out || policy >= HAECHI_POLICY_MAX)
		return 0;
	/* The key on the stack: verifiers before 6.4 take no map key from a
	 * global function's memory argument. */
	struct haechi_net_key key = {};
	key.prefix_len = 8 + 128;
	key.data[0] = policy;
	__builtin_memcpy(&key.data[1], es->record.addr, 16);
	denied = bpf_map_lookup_elem(&net_denied, &key);
	if (denied) {
		*out = *denied;
		return 1;
	}
	np = bpf_map_lookup_elem(&net_policies, &policy);
	if (!np || !np->default_deny)
		return 0;
	#pragma clang loop unroll(disable)
	for (int i = 0; i < HAECHI_NET_ALLOW_MAX; i++) {
		if (i >= np->n_allow)
			break;
		struct haechi_net_allow *a = &np->allow[i];
		if (a->protocols && !(a->protocols & es->record.protocol))
			continue;
		if (es->record.port < a->port_min || es->record.port > a->port_max)
			continue;
		if (addr_matches(es->record.addr, a))
			return 0;
	}
	*out = np->verdict;
	return 1;
}

/* 1: let the connection or datagram through; 0: refuse it (EPERM). */
static __always_inline int check_destination(struct enforce_scratch *es, __u32 mask, __u8 kind)
{
	struct haechi_verdict v = {};
	int allow = 1;

	for (__u32 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)) || !net_verdict(es, i, &v) || !selects(&v))
			continue;
		report(es, &v, kind);
		if (v.action == HAECHI_ACTION_KILL) {
			__u64 thread = bpf_get_current_pid_tgid();
			__u8 one = 1;
			bpf_map_update_elem(&egress_kills, &thread, &one, BPF_ANY);
		}
		if (v.action != HAECHI_ACTION_ALERT) {
			allow = 0;
			break;
		}
	}
	return allow;
}

static __always_inline __u8 protocol_bit(__u32 protocol)
{
	if (protocol == IPPROTO_TCP)
		return HAECHI_PROTO_TCP;
	if (protocol == IPPROTO_UDP)
		return HAECHI_PROTO_UDP;
	return 0;
}

static __always_inline int check_v4(struct bpf_sock_addr *ctx, __u8 kind)
{
	__u32 mask = current_scope();
	struct enforce_scratch *es;

	if (!mask)
		return 1;
	es = get_scratch();
	if (!es)
		return 1;
	__u32 ip = ctx->user_ip4;
	__builtin_memset(es->record.addr, 0, 10);
	es->record.addr[10] = 0xff;
	es->record.addr[11] = 0xff;
	__builtin_memcpy(&es->record.addr[12], &ip, 4);
	es->record.port = bpf_ntohs((__u16)ctx->user_port);
	es->record.protocol = protocol_bit(ctx->protocol);
	es->record.nr = 0;
	es->record.path[0] = 0;
	return check_destination(es, mask, kind);
}

static __always_inline int check_v6(struct bpf_sock_addr *ctx, __u8 kind)
{
	__u32 mask = current_scope();
	struct enforce_scratch *es;

	if (!mask)
		return 1;
	es = get_scratch();
	if (!es)
		return 1;
	/* Context fields only allow constant offsets: one read per word. */
	__u32 words[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
	__builtin_memcpy(es->record.addr, words, 16);
	es->record.port = bpf_ntohs((__u16)ctx->user_port);
	es->record.protocol = protocol_bit(ctx->protocol);
	es->record.nr = 0;
	es->record.path[0] = 0;
	return check_destination(es, mask, kind);
}

#endif
