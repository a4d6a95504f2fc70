// SPDX-License-Identifier: GPL-2.0-only
/* cgroup/connect4, cgroup/connect6: refuse (or report) a connection. */

SEC("cgroup/connect4")
int enforce_connect4(struct bpf_sock_addr *ctx)
{
	return check_v4(ctx, HAECHI_ENF_CONNECT);
}

SEC("cgroup/connect6")
int enforce_connect6(struct bpf_sock_addr *ctx)
{
	return check_v6(ctx, HAECHI_ENF_CONNECT);
}
