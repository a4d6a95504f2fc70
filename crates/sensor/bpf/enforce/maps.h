/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The enforcement programs' state, every map pinned by name under the
 * loader's pin directory so that a restarted agent finds it: which policies
 * scope each cgroup, the policies' tables (egress, files, executables,
 * exceptions, privileged syscalls, process selectors), what the programs
 * hand to user space (records, DNS answers), and their per-CPU scratch.
 */

#ifndef HAECHI_ENFORCE_MAPS_H
#define HAECHI_ENFORCE_MAPS_H

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

#endif
