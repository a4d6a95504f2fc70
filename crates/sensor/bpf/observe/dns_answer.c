// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reports the DNS answers sockets receive, on the cgroup v2 root's ingress,
 * so that user space can name the server of a later connect by the domain the
 * process asked for (fd.sip.name). The answer goes into `events` with the
 * syscalls, so it is read before any connect that used it. Its own record,
 * reserved in the ring buffer: this runs in softirq context, which may
 * interrupt a syscall program using the per-CPU scratch buffer. Always lets
 * the packet through.
 */

SEC("cgroup_skb/ingress")
int handle_dns_answer(struct __sk_buff *skb)
{
	__u32 zero = 0, offset, len = 0;
	__u32 *on = bpf_map_lookup_elem(&dns_watch, &zero);

	if (!on || !*on)
		return 1;
	offset = dns_payload(skb, &len);
	if (!offset)
		return 1;
	__u64 flags = wakeup_flag(sizeof(struct haechi_dns_event));
	struct haechi_dns_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(HAECHI_STAT_LOST);
		return 1;
	}
	if (dns_copy(skb, offset, len, e->payload)) {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	__builtin_memset(&e->ev, 0, sizeof(e->ev));
	e->ev.ts_ns = bpf_ktime_get_boot_ns();
	e->ev.cgroup_id = bpf_skb_cgroup_id(skb);
	e->ev.kind = HAECHI_EV_DNS;
	e->ev.size = sizeof(e->ev) + len;
	e->ev.lens[0] = len;
	bpf_ringbuf_submit(e, flags);
	count(HAECHI_STAT_EMITTED);
	return 1;
}
