/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The observe programs' state: the `events` ring buffer and what the loader
 * writes before and while they run (the constants it sets at load, the
 * per-syscall table, the path filter's trie and its verdict cache, the
 * ignore lists, whether DNS answers are reported), with the per-CPU scratch
 * buffer events are assembled in and the counters user space reads.
 */

#ifndef HAECHI_OBSERVE_MAPS_H
#define HAECHI_OBSERVE_MAPS_H

/* Set by the loader before the programs load. */
const volatile __u32 haechi_agent_tgid = 0;
/* 1: take the cgroup path from the v1 memory hierarchy (v1 or hybrid hosts). */
const volatile __u8 haechi_cgroup_v1 = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct haechi_syscall_conf);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HAECHI_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct haechi_prefix_key);
	__type(value, __u8);
} path_prefixes SEC(".maps");

/*
 * The path filter's verdict cache. Resolving an opened file's path costs a
 * probe read per component; most opens hit the same few files again and
 * again, so the trie's answer for a file is kept here, keyed by what
 * identifies the path the filter saw (struct verdict_key), and a later open
 * of the same file takes it without resolving the path. A verdict counts only
 * while both generations in `path_generation` are those it was computed
 * under: the kernel one is bumped after every syscall that can change what
 * path a (mount, dentry) resolves to (note_path_change), the filter one by
 * user space after it changes `path_prefixes` (Sensor::set_filter). Only the
 * filter's verdict is cached: an event that passes is reported in full.
 */
struct verdict_key {
	/* The task's root: the path is resolved relative to it (chroot, container). */
	__u64 root_mnt;
	__u64 root_dentry;
	/* The opened file as seen through its mount. */
	__u64 mnt;
	__u64 dentry;
	/*
	 * What a dentry whose memory was freed and reused for another file would
	 * also have to match: its parent, its name's hash and length, its inode.
	 */
	__u64 parent;
	__u64 name_hash_len;
	__u64 ino;
};

struct verdict {
	__u64 gen_kernel;
	__u64 gen_filter;
	/* The longest matching prefix's kinds (HAECHI_PATH_*), 0 when none matched. */
	__u8 kinds;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct verdict_key);
	__type(value, struct verdict);
} path_verdicts SEC(".maps");

/* Indexed by HAECHI_GEN_*. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} path_generation SEC(".maps");

/* Processes whose comm is a key here are not reported (syscall events). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[16]);
	__type(value, __u8);
} ignored_comms SEC(".maps");

/* Cgroups (v2 ids) whose processes are not reported (syscall events). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} ignored_cgroups SEC(".maps");

/* Slot 0 is 1 while DNS answers are reported (see handle_dns_answer). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} dns_watch SEC(".maps");

#endif
