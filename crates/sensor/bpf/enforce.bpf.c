// SPDX-License-Identifier: GPL-2.0-only
/*
 * haechi's in-kernel enforcement: decisions taken before the process sees
 * the result of what it asked for.
 *
 * Built on hooks that load where BPF-LSM does not:
 *  - cgroup/connect4, connect6, sendmsg4, sendmsg6 refuse a connection or a
 *    datagram (the syscall fails with EPERM) per container cgroup; when the
 *    rule says kill, they mark the thread and the sys_exit program below
 *    kills it before the refused syscall returns;
 *  - cgroup_skb/ingress hands the DNS answers a scoped container receives to
 *    user space when its policies deny domains, so the addresses those names
 *    resolve to can be denied too;
 *  - raw tracepoints on sys_exit and sched_process_exec send SIGKILL, which
 *    the kernel delivers before the syscall returns to user space, for opens
 *    of protected paths, privileged syscalls and executions of forbidden
 *    binaries;
 *  - raw tracepoints on sched_process_exec, sched_process_fork and
 *    sched_process_exit keep, per process of a scoped cgroup, which process
 *    selectors (a rule's `binaries` and `ancestors`) select it: computed at
 *    exec from the new executable and what the process inherited, copied to
 *    the child at fork, dropped at exit.
 *
 * Everything is scoped: `scopes` maps a cgroup v2 id to the set of policies
 * that apply to it, and every program returns after that one lookup for a
 * process no policy covers. The maps are pinned under bpffs by the loader,
 * so a restarted agent finds them (and the pinned links keep the programs
 * running while no agent does).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "dns.h"
#include "vfs.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL 9
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define O_ACCMODE 3
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000

/* Where the executable's path is resolved, after the file's. */
#define EXE_OFFSET 8192

/* Puts the enforcement structs into the object's BTF for the ABI test. */
struct haechi_enforce_abi {
	struct haechi_verdict verdict;
	struct haechi_net_allow allow;
	struct haechi_net_policy net;
	struct haechi_net_key net_key;
	struct haechi_policy_path_key path_key;
	struct haechi_exception_key exception;
	struct haechi_enforced_syscall syscall;
	struct haechi_privilege_rules privilege;
	struct haechi_enforcement enforcement;
	struct haechi_dns_answer dns;
	struct haechi_selector_match selector_match;
	struct haechi_selector_config selector_config;
	struct haechi_task_selection task_selection;
};
const volatile struct haechi_enforce_abi *haechi_enforce_abi_anchor = 0;

struct enforce_scratch {
	struct scratch s;
	struct haechi_policy_path_key key;
	struct haechi_net_key net_key;
	struct haechi_exception_key exception;
	struct haechi_enforcement record;
	__u8 exe_resolved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} scopes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_POLICY_MAX);
	__type(key, __u32);
	__type(value, struct haechi_net_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_net_key);
	__type(value, struct haechi_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_denied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_policy_path_key);
	__type(value, struct haechi_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_policy_path_key);
	__type(value, struct haechi_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct haechi_exception_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exceptions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct haechi_enforced_syscall);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforced_syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_POLICY_MAX);
	__type(key, __u32);
	__type(value, struct haechi_privilege_rules);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} privilege_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforcements SEC(".maps");

/* Indexed by HAECHI_ENFORCE_STAT_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HAECHI_ENFORCE_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforce_stats SEC(".maps");

/*
 * Threads (pid_tgid) whose connection or datagram a `kill` egress rule
 * refused: the sys_exit program kills them before the syscall returns (the
 * socket hooks cannot signal). LRU: a mark whose thread died first ages out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_kills SEC(".maps");

/* Bit i: policy i denies domains (its containers' DNS answers are read). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_answers SEC(".maps");

/* Process selectors: see abi.h. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_prefix_key);
	__type(value, struct haechi_selector_match);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} selector_binaries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct haechi_selector_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} selector_config SEC(".maps");

/*
 * Per process (tgid) of a scoped cgroup: the selectors that select it. LRU:
 * an entry whose process left without its exit being seen ages out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct haechi_task_selection);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} task_selections SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enforce_scratch);
} enforce_scratch_space SEC(".maps");

static __always_inline struct enforce_scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&enforce_scratch_space, &zero);
}

/* The policies that cover the current task's cgroup; 0 for most of them. */
static __always_inline __u32 current_scope(void)
{
	__u64 cgroup = bpf_get_current_cgroup_id();
	__u32 *mask = bpf_map_lookup_elem(&scopes, &cgroup);
	return mask ? *mask : 0;
}

/* Whether the verdict's process selector (if it has one) selects the current process. */
static __always_inline int selects(const struct haechi_verdict *v)
{
	__u32 tgid;
	struct haechi_task_selection *t;

	if (!v->selector)
		return 1;
	tgid = bpf_get_current_pid_tgid() >> 32;
	t = bpf_map_lookup_elem(&task_selections, &tgid);
	return t && (t->selected & (1u << ((v->selector - 1) & (HAECHI_SELECTOR_MAX - 1))));
}

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&enforce_stats, &index);
	if (value)
		*value += 1;
}

/* Fills the record's task part; the caller has set the rest. */
static __always_inline void report(struct enforce_scratch *es, const struct haechi_verdict *v, __u8 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct haechi_enforcement *r = &es->record;

	r->ts_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->tgid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->rule = v->rule;
	r->action = v->action;
	r->kind = kind;
	r->_pad = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	if (bpf_ringbuf_output(&enforcements, r, sizeof(*r), 0))
		count(HAECHI_ENFORCE_STAT_LOST);
	else
		count(HAECHI_ENFORCE_STAT_WRITTEN);
}

/* ---- network ---------------------------------------------------------- */

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

/* ---- DNS answers -------------------------------------------------------- */

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

/* ---- files, executables, privileged syscalls -------------------------- */

/* Whether the current executable is one of the rule's exceptions. */
static __always_inline int excepted(struct enforce_scratch *es, __u32 rule, struct task_struct *task)
{
	if (!es->exe_resolved) {
		struct file *exe = BPF_CORE_READ(task, mm, exe_file);
		__builtin_memset(es->exception.exe, 0, sizeof(es->exception.exe));
		if (exe) {
			int len = write_path(&es->s, EXE_OFFSET, (__u64)&exe->f_path, (__u64)task);
			if (len > 0)
				bpf_probe_read_kernel_str(es->exception.exe, sizeof(es->exception.exe),
							  &es->s.buf[EXE_OFFSET]);
		}
		es->exe_resolved = 1;
	}
	es->exception.rule = rule;
	return bpf_map_lookup_elem(&exceptions, &es->exception) != NULL;
}

static __always_inline void act(struct enforce_scratch *es, const struct haechi_verdict *v, __u8 kind)
{
	if (v->action == HAECHI_ACTION_KILL)
		bpf_send_signal(SIGKILL);
	report(es, v, kind);
}

/*
 * Looks the path in es->s.buf (len bytes with its NUL) up in `rules` for
 * every policy in mask and acts on the first match that covers `access`.
 */
static __always_inline void check_path(struct enforce_scratch *es, void *rules, __u32 mask, __u32 len,
				       __u8 access, __u8 kind, struct task_struct *task)
{
	struct haechi_verdict *v;

	if (len == 0)
		return;
	if (len > HAECHI_PREFIX_MAX - 1)
		len = HAECHI_PREFIX_MAX - 1;
	bpf_probe_read_kernel(&es->key.path[1], HAECHI_PREFIX_MAX - 1, es->s.buf);
	bpf_probe_read_kernel_str(es->record.path, sizeof(es->record.path), es->s.buf);
	es->key.prefix_len = 8 + len * 8;
	es->exe_resolved = 0;
	for (__u32 i = 0; i < HAECHI_POLICY_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		es->key.path[0] = i;
		v = bpf_map_lookup_elem(rules, &es->key);
		if (!v || !(v->access & access) || !selects(v))
			continue;
		if (v->has_exceptions && excepted(es, v->rule, task))
			continue;
		act(es, v, kind);
		return;
	}
}

static __always_inline __u8 open_access(__u64 flags)
{
	__u8 access;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		access = HAECHI_ACCESS_READ;
		break;
	case O_WRONLY:
		access = HAECHI_ACCESS_WRITE;
		break;
	default:
		access = HAECHI_ACCESS_READ | HAECHI_ACCESS_WRITE;
	}
	if (flags & (O_CREAT | O_TRUNC))
		access |= HAECHI_ACCESS_WRITE;
	return access;
}

SEC("raw_tracepoint/sys_exit")
int enforce_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)raw_arg(ctx, 0);
	long ret = (long)raw_arg(ctx, 1);
	struct haechi_enforced_syscall *conf;
	struct enforce_scratch *es;
	struct task_struct *task;
	__u32 mask = current_scope();
	__u32 nr;

	if (!mask)
		return 0;
	__u64 thread = bpf_get_current_pid_tgid();
	if (bpf_map_lookup_elem(&egress_kills, &thread)) {
		/* A `kill` egress rule refused this syscall: end the process before it returns. */
		bpf_map_delete_elem(&egress_kills, &thread);
		bpf_send_signal(SIGKILL);
		return 0;
	}
	nr = BPF_CORE_READ(regs, orig_ax);
	conf = bpf_map_lookup_elem(&enforced_syscalls, &nr);
	if (!conf || !conf->kind)
		return 0;
	es = get_scratch();
	if (!es)
		return 0;
	__builtin_memset(es->record.addr, 0, sizeof(es->record.addr));
	es->record.port = 0;
	es->record.protocol = 0;
	es->record.nr = nr;
	task = (void *)bpf_get_current_task();

	if (conf->kind == HAECHI_SYS_PRIVILEGE) {
		__u32 class = conf->class;
		es->record.path[0] = 0;
		if (class >= HAECHI_PRIV_CLASSES)
			return 0;
		/* A 64-bit counter and a separate key: verifiers before 6.3 lose a
		 * spilled 32-bit counter and call the loop infinite. */
		for (__u64 i = 0; i < HAECHI_POLICY_MAX; i++) {
			if (!(mask & (1u << i)))
				continue;
			__u32 index = i;
			struct haechi_privilege_rules *rules = bpf_map_lookup_elem(&privilege_rules, &index);
			if (!rules || !rules->rules[class].rule || !selects(&rules->rules[class]))
				continue;
			/* `deny`: a BPF-LSM hook refused the syscall and reported it. */
			if (rules->rules[class].action == HAECHI_ACTION_DENY)
				return 0;
			act(es, &rules->rules[class], HAECHI_ENF_SYSCALL);
			return 0;
		}
		return 0;
	}

	if (conf->kind != HAECHI_SYS_OPEN || ret < 0)
		return 0;
	__u64 flags = O_WRONLY | O_CREAT | O_TRUNC; /* creat() */
	/* The flags are the second argument (open) or the third (openat, openat2). */
	if (conf->flags_arg == 1 || conf->flags_arg == 2) {
		flags = conf->flags_arg == 1 ? BPF_CORE_READ(regs, si) : BPF_CORE_READ(regs, dx);
		if (conf->flags_in_how &&
		    bpf_probe_read_user(&flags, sizeof(flags), (const void *)flags))
			return 0;
	}
	struct file *file = fd_file(task, ret);
	if (!file)
		return 0;
	int len = write_path(&es->s, 0, (__u64)&file->f_path, (__u64)task);
	check_path(es, &file_rules, mask, field_len(len), open_access(flags), HAECHI_ENF_OPEN, task);
	return 0;
}

/*
 * At exec: which selectors select the process now, from its new executable
 * (es->s.buf, len bytes with the NUL) and the ancestry it inherited. Before
 * the exec rules are checked, so a rule can select by the executable it is
 * about to judge.
 */
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

SEC("raw_tracepoint/sched_process_exec")
int enforce_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)raw_arg(ctx, 0);
	struct enforce_scratch *es;
	__u32 mask = current_scope();

	if (!mask)
		return 0;
	es = get_scratch();
	if (!es)
		return 0;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return 0;
	__builtin_memset(es->record.addr, 0, sizeof(es->record.addr));
	es->record.port = 0;
	es->record.protocol = 0;
	es->record.nr = 0;
	int len = write_path(&es->s, 0, (__u64)&exe->f_path, (__u64)task);
	select_on_exec(es, field_len(len));
	check_path(es, &exec_rules, mask, field_len(len), HAECHI_ACCESS_READ, HAECHI_ENF_EXEC, task);
	return 0;
}

/* A new process of a scoped cgroup inherits its parent's selection (threads share theirs). */
SEC("raw_tracepoint/sched_process_fork")
int enforce_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)raw_arg(ctx, 0);
	struct task_struct *child = (void *)raw_arg(ctx, 1);
	struct haechi_task_selection *inherited, copy;
	__u32 parent_tgid, child_tgid;

	if (!current_scope())
		return 0;
	parent_tgid = BPF_CORE_READ(parent, tgid);
	child_tgid = BPF_CORE_READ(child, tgid);
	if (parent_tgid == child_tgid)
		return 0;
	inherited = bpf_map_lookup_elem(&task_selections, &parent_tgid);
	if (inherited) {
		copy = *inherited;
		bpf_map_update_elem(&task_selections, &child_tgid, &copy, BPF_ANY);
	} else {
		/* A reused pid must not inherit what its last owner had. */
		bpf_map_delete_elem(&task_selections, &child_tgid);
	}
	return 0;
}

/* A process of a scoped cgroup exits (its thread-group leader): forget its selection. */
SEC("raw_tracepoint/sched_process_exit")
int enforce_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id;
	__u32 tgid;

	if (!current_scope())
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	if (tgid != (__u32)id)
		return 0;
	bpf_map_delete_elem(&task_selections, &tgid);
	return 0;
}

/* ---- BPF-LSM: `deny` for files, executables and privileged syscalls ---- */
#include "lsm.h"
