/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The kernel/user ABI of haechi's sensor: every struct and constant that
 * crosses between the eBPF programs (sensor.bpf.c) and the Rust decoder
 * (crates/sensor/src/abi.rs) is defined here and nowhere else. The Rust side
 * mirrors these layouts; a test compares both against the BTF that clang
 * writes into sensor.bpf.o, so a change here that is not made there fails.
 *
 * All integers are little-endian host order (the programs run on the host).
 */
#ifndef HAECHI_ABI_H
#define HAECHI_ABI_H

/* Event kinds (haechi_event.kind). */
#define HAECHI_EV_EXEC 1    /* a process image was replaced (sched_process_exec) */
#define HAECHI_EV_FORK 2    /* a new process (not a thread) was created */
#define HAECHI_EV_EXIT 3    /* a process (its thread-group leader) exited */
#define HAECHI_EV_SYSCALL 4 /* a watched syscall returned */

/*
 * Variable-length fields follow the fixed part of an event, in this order,
 * each as many bytes as lens[i] says (strings include their NUL).
 * For HAECHI_EV_SYSCALL: up to three string arguments as the process passed
 * them, the path of the file descriptor the syscall returned or used
 * (resolved by the kernel, relative to the process's root), the directory a
 * relative first path argument is relative to, and the socket address the
 * process passed.
 * For HAECHI_EV_EXEC: the file name given to execve, the resolved path of
 * the executable, argv (NUL-separated), the working directory and the
 * cgroup path of the process.
 */
#define HAECHI_FIELD_COUNT 6
#define HAECHI_F_STR0 0
#define HAECHI_F_STR1 1
#define HAECHI_F_STR2 2
#define HAECHI_F_FD_PATH 3
#define HAECHI_F_DIR 4
#define HAECHI_F_ADDR 5

#define HAECHI_F_EXEC_FILENAME 0
#define HAECHI_F_EXEC_EXE 1
#define HAECHI_F_EXEC_ARGV 2
#define HAECHI_F_EXEC_CWD 3
#define HAECHI_F_EXEC_CGROUP 4

/* Sizes: a path is at most HAECHI_PATH_MAX bytes, argv at most HAECHI_ARGS_MAX. */
#define HAECHI_PATH_MAX 4096
#define HAECHI_ARGS_MAX 4096
#define HAECHI_ADDR_MAX 128
#define HAECHI_PREFIX_MAX 256

/* haechi_syscall_conf: "no argument" marker and the return value as a source. */
#define HAECHI_ARG_NONE 0xff
#define HAECHI_ARG_RET 6
/* dirfd_arg: the path is relative to the working directory (open, mkdir, ...). */
#define HAECHI_ARG_CWD 7

/* Indices of the stats array (per CPU, u64 each). */
#define HAECHI_STAT_EMITTED 0 /* events written to the ring buffer */
#define HAECHI_STAT_LOST 1    /* events dropped because the ring buffer was full */
#define HAECHI_STAT_FILTERED 2 /* events dropped by the in-kernel filters */
#define HAECHI_STAT_COUNT 3

/* Capacity of the syscall table: x86_64 and arm64 syscall numbers fit. */
#define HAECHI_SYSCALL_MAX 512

/*
 * How the programs treat one syscall number; user space fills the
 * `syscalls` array map with one entry per syscall it wants to see.
 * An entry with enabled == 0 (the default) means the syscall is ignored in
 * the kernel and costs one array lookup.
 */
struct haechi_syscall_conf {
	__u8 enabled;
	/* Argument indices (0..5) of user-space strings to copy, or HAECHI_ARG_NONE. */
	__u8 str_args[3];
	/* Argument index of the directory fd that str_args[0] is relative to;
	 * AT_FDCWD resolves to the working directory. */
	__u8 dirfd_arg;
	/* File descriptor to resolve to a path: an argument index or HAECHI_ARG_RET. */
	__u8 fd_path;
	/* File descriptor whose socket endpoints to report: an argument or HAECHI_ARG_RET. */
	__u8 sock_fd;
	/* Argument indices of a user-space sockaddr and of its length. */
	__u8 addr_arg;
	__u8 addr_len_arg;
	/* 1: drop the event unless the resolved path (or the first string)
	 * starts with a prefix in the `path_prefixes` trie (when it is in use). */
	__u8 path_filter;
	/* 1: drop the event when the syscall failed. */
	__u8 success_only;
	__u8 _pad[5];
};

/* Local and remote endpoints of a socket, as the kernel holds them. */
struct haechi_sock {
	__u16 family;   /* AF_INET, AF_INET6, AF_UNIX, ...; 0: not a socket */
	__u16 type;     /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u16 _pad[3];
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
};

/* The fixed part every event starts with. */
struct haechi_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id; /* cgroup v2 id of the task */
	__u32 tgid;
	__u32 tid;
	__u32 ppid; /* tgid of the real parent */
	__u32 uid; /* effective */
	__u32 gid; /* effective */
	__u16 kind; /* HAECHI_EV_* */
	__u16 size; /* bytes of the whole event, fixed and variable parts */
	__u16 lens[HAECHI_FIELD_COUNT];
	__u16 _pad[2];
	char comm[16];
};

struct haechi_syscall_event {
	struct haechi_event ev;
	__s64 ret;
	__u64 args[6];
	__u32 nr;
	__u32 _pad;
	struct haechi_sock sock;
};

struct haechi_exec_event {
	struct haechi_event ev;
	__u32 ruid; /* real ids; the header carries the effective ones */
	__u32 rgid;
	__u32 loginuid;
	__u32 tty; /* as /proc/<pid>/stat's tty_nr; 0: none */
	__u32 old_tid; /* the thread that called execve */
	__u32 args_truncated; /* 1 when argv was longer than HAECHI_ARGS_MAX */
};

struct haechi_fork_event {
	struct haechi_event ev;
	__u32 child_tgid;
	__u32 _pad;
};

struct haechi_exit_event {
	struct haechi_event ev;
	__s32 exit_code; /* as wait(2) reports it: status << 8 | signal */
	__u32 _pad;
};

/* Key of the `path_prefixes` LPM trie: prefix_len is in bits. */
struct haechi_prefix_key {
	__u32 prefix_len;
	__u8 path[HAECHI_PREFIX_MAX];
};

#endif
