// SPDX-License-Identifier: GPL-2.0-only
/* cgroup/sendmsg4, cgroup/sendmsg6: refuse (or report) a datagram. */

SEC("cgroup/sendmsg4")
int enforce_sendmsg4(struct bpf_sock_addr *ctx)
{
	return check_v4(ctx, HAECHI_ENF_SENDMSG);
}

SEC("cgroup/sendmsg6")
int enforce_sendmsg6(struct bpf_sock_addr *ctx)
{
	return check_v6(ctx, HAECHI_ENF_SENDMSG);
}
