/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The recorder's state: its target (cgroups and processes, filled by user
 * space and grown at fork) and the syscalls the target made.
 */

#ifndef HAECHI_RECORD_MAPS_H
#define HAECHI_RECORD_MAPS_H

/* Cgroup v2 ids whose tasks are recorded (filled by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HAECHI_RECORD_CGROUPS_MAX);
	__type(key, __u64);
	__type(value, __u8);
} record_cgroups SEC(".maps");

/* Processes (tgids) that are recorded; their children are added on fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HAECHI_RECORD_TASKS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} record_tgids SEC(".maps");

/* seen[nr] == 1: the target made syscall nr at least once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HAECHI_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, __u8);
} seen SEC(".maps");

#endif
