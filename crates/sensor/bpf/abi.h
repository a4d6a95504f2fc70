/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The kernel/user ABI of haechi's eBPF programs: every struct and constant
 * that crosses between the programs (observe.bpf.c, enforce.bpf.c,
 * record.bpf.c) and their Rust loaders and decoder (crates/sensor/src/abi.rs)
 * is defined here and nowhere else. The Rust side mirrors these layouts; a
 * test compares both against the BTF that clang writes into observe.bpf.o and
 * enforce.bpf.o, so a change here that is not made there fails.
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
#define HAECHI_EV_DNS 5     /* a DNS answer arrived (struct haechi_dns_event) */

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
#define HAECHI_STAT_VERDICT_HITS 3 /* path filter verdicts taken from the verdict cache */
#define HAECHI_STAT_COUNT 4

/* Indices of the observe programs' `path_generation` array (u64 each). */
#define HAECHI_GEN_KERNEL 0 /* bumped by sys_exit after anything that can move a path */
#define HAECHI_GEN_FILTER 1 /* bumped by user space after it changes the path filter */

/* Indices of the enforcement stats array (per CPU, u64 each). */
#define HAECHI_ENFORCE_STAT_WRITTEN 0 /* records written to the ring buffer */
#define HAECHI_ENFORCE_STAT_LOST 1    /* records dropped because the ring buffer was full */
#define HAECHI_ENFORCE_STAT_DNS_LOST 2 /* DNS answers dropped because their ring buffer was full */
#define HAECHI_ENFORCE_STAT_COUNT 3

/*
 * The events ring buffer wakes its reader only once this many bytes wait; the
 * reader must also drain it on a timer (DRAIN_INTERVAL in crates/sensor/src/observe).
 */
#define HAECHI_WAKEUP_BYTES (256 << 10)

/* Capacity of the syscall table: x86_64 and arm64 syscall numbers fit. */
#define HAECHI_SYSCALL_MAX 512

/*
 * Recorder (record.bpf.c): how many cgroups and processes one recording can
 * follow. Its `seen` array has HAECHI_SYSCALL_MAX one-byte marks.
 */
#define HAECHI_RECORD_CGROUPS_MAX 1024
#define HAECHI_RECORD_TASKS_MAX 65536

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
	/* The kinds of file event (HAECHI_PATH_READS, HAECHI_PATH_WRITES) that
	 * pass only when their path starts with a prefix in the `path_prefixes`
	 * trie whose value has that kind's bit. */
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
	__u64 cap_effective; /* the task's effective capabilities, bit i for capability i */
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

/* Longest DNS payload copied: the EDNS payload size most resolvers use (DNS flag day 2020). */
#define HAECHI_DNS_MAX 1232

/*
 * A DNS answer some socket received (the UDP payload of a datagram from port
 * 53, as it arrived): user space learns which names the addresses processes
 * then connect to stand for. Only ts_ns, cgroup_id (the receiving socket's),
 * kind, size and lens[0] (the payload's bytes) of the header are set; the
 * answer arrives outside any task that could be named.
 */
struct haechi_dns_event {
	struct haechi_event ev;
	__u8 payload[HAECHI_DNS_MAX];
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
	__u32 vpid; /* the pid in the task's own pid namespace (1 for a container's init) */
	__u32 flags; /* HAECHI_EXEC_* */
};

/* haechi_exec_event.flags */
#define HAECHI_EXEC_UPPER_LAYER 1 /* the executable is in an overlayfs upper layer: written
				      * or changed after the container started */

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

/*
 * Kinds of file event for the path filter: a read is an open that returned a
 * descriptor not open for writing; every other file event (writes, creations,
 * removals, renames, failed opens) counts as a write.
 */
#define HAECHI_PATH_READS 1
#define HAECHI_PATH_WRITES 2

/* Key of the `path_prefixes` LPM trie: prefix_len is in bits. */
struct haechi_prefix_key {
	__u32 prefix_len;
	__u8 path[HAECHI_PREFIX_MAX];
};

/*
 * Enforcement (enforce.bpf.c). Policies are numbered 0..HAECHI_POLICY_MAX-1;
 * a container's cgroup maps to the bit set of the policies that apply to it.
 * Rules are numbered from 1 across all policies; 0 means "no rule". Every
 * verdict the programs act on is reported as a haechi_enforcement record.
 */
#define HAECHI_POLICY_MAX 32
#define HAECHI_NET_ALLOW_MAX 16
#define HAECHI_EXE_MAX 256

/* What a rule does when it matches. */
#define HAECHI_ACTION_ALERT 1 /* report only */
#define HAECHI_ACTION_DENY 2  /* the syscall fails with EPERM */
#define HAECHI_ACTION_KILL 3  /* SIGKILL before the syscall returns */

/* haechi_enforcement.kind: which hook acted. */
#define HAECHI_ENF_CONNECT 1
#define HAECHI_ENF_SENDMSG 2
#define HAECHI_ENF_OPEN 3
#define HAECHI_ENF_EXEC 4
#define HAECHI_ENF_SYSCALL 5

/* Protocol bits of haechi_net_allow.protocols. */
#define HAECHI_PROTO_TCP 1
#define HAECHI_PROTO_UDP 2

/* Access bits of haechi_file_rule.access. */
#define HAECHI_ACCESS_READ 1
#define HAECHI_ACCESS_WRITE 2

/* haechi_enforced_syscall.kind */
#define HAECHI_SYS_OPEN 1      /* an open: its returned fd is checked against file rules */
#define HAECHI_SYS_PRIVILEGE 2 /* checked against the privilege rules of its class */

/* Privilege classes (haechi_privilege_rules.rules index). */
#define HAECHI_PRIV_PTRACE 0
#define HAECHI_PRIV_MODULE 1
#define HAECHI_PRIV_SETID 2
#define HAECHI_PRIV_MOUNT 3
#define HAECHI_PRIV_NAMESPACE 4
#define HAECHI_PRIV_BPF 5
#define HAECHI_PRIV_CLASSES 6

/* The rule that decided, and what it does: value of the rule maps. */
struct haechi_verdict {
	__u32 rule;
	__u8 action;
	__u8 access;         /* file rules: HAECHI_ACCESS_* bits the rule covers */
	__u8 has_exceptions; /* 1: look the executable up in `exceptions` first */
	__u8 selector;       /* 0: every process; k: only processes whose
			      * haechi_task_selection.selected has bit k-1 */
};

/* One allowed destination of a default-deny egress policy. */
struct haechi_net_allow {
	__u8 addr[16];     /* IPv6, or IPv4 mapped as ::ffff:a.b.c.d */
	__u8 prefix_len;   /* bits of addr that must match, of 128 */
	__u8 protocols;    /* HAECHI_PROTO_* bits; 0: any */
	__u16 port_min;    /* host order, inclusive */
	__u16 port_max;
	__u16 _pad;
};

/* A policy's egress rules: value of the `net_policies` array. */
struct haechi_net_policy {
	struct haechi_verdict verdict; /* what refusing a connection does, and its rule */
	__u8 default_deny; /* 1: destinations not in allow[] are refused */
	__u8 n_allow;
	__u8 _pad[2];
	struct haechi_net_allow allow[HAECHI_NET_ALLOW_MAX];
};

/* Key of the `net_denied` LPM trie: data[0] is the policy, data[1..17] the
 * address as in haechi_net_allow; prefix_len counts the policy's 8 bits. */
struct haechi_net_key {
	__u32 prefix_len;
	__u8 data[20];
};

/* Key of the `file_rules` and `exec_rules` LPM tries: path[0] is the
 * policy, the path follows. An entry whose bytes end with the path's NUL
 * matches that file only; one ending in '/' matches everything below. */
struct haechi_policy_path_key {
	__u32 prefix_len;
	__u8 path[HAECHI_PREFIX_MAX];
};

/* Key of the `exceptions` hash: executables a rule does not act on. */
struct haechi_exception_key {
	__u32 rule;
	char exe[HAECHI_EXE_MAX]; /* resolved path, NUL-padded */
};

/*
 * Process selectors (a rule's `binaries` and `ancestors`), numbered
 * 0..HAECHI_SELECTOR_MAX-1. Selector k selects a process when its executable
 * is one of its binaries (or it lists none) and the process or one of its
 * ancestors since it entered a scoped cgroup ran one of its ancestors (or it
 * lists none).
 *
 * Value of the `selector_binaries` LPM trie (keyed by a haechi_prefix_key on
 * the resolved executable path: a file's entry ends with its NUL, a
 * directory's with '/'): the selectors this executable satisfies as a
 * binary, and those it makes its process and descendants satisfy as an
 * ancestor. User space folds a directory's bits into every longer entry
 * below it, so the longest match carries them all.
 */
#define HAECHI_SELECTOR_MAX 32
struct haechi_selector_match {
	__u32 binary;
	__u32 ancestor;
};

/* Value of the `selector_config` array (one entry). */
struct haechi_selector_config {
	__u32 in_use;       /* bit k: selector k exists; 0: no selectors, nothing tracked */
	__u32 any_binary;   /* selectors that list no binaries */
	__u32 any_ancestor; /* selectors that list no ancestors */
	__u32 _pad;
};

/* Value of the `task_selections` LRU hash, keyed by tgid (u32). */
struct haechi_task_selection {
	__u32 ancestry; /* selectors whose ancestors this process or an ancestor ran */
	__u32 selected; /* selectors that select this process */
};

/* Value of the `enforced_syscalls` array, indexed by syscall number. */
struct haechi_enforced_syscall {
	__u8 kind;      /* HAECHI_SYS_*; 0: not enforced */
	__u8 flags_arg; /* opens: argument index of the flags (1 or 2), HAECHI_ARG_NONE for creat */
	__u8 flags_in_how; /* opens: the flags are the first u64 of struct open_how (openat2) */
	__u8 class;     /* privilege: HAECHI_PRIV_* */
};

/* Value of the `privilege_rules` array, one per policy. */
struct haechi_privilege_rules {
	struct haechi_verdict rules[HAECHI_PRIV_CLASSES];
};

/* What an enforcement program did; written to the `enforcements` ring buffer. */
struct haechi_enforcement {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 rule;
	__u8 action;
	__u8 kind; /* HAECHI_ENF_* */
	__u8 protocol; /* HAECHI_PROTO_* for network kinds */
	__u8 _pad;
	__u16 port; /* destination port, host order */
	__u16 nr;   /* syscall number for HAECHI_ENF_SYSCALL and HAECHI_ENF_OPEN */
	__u8 addr[16]; /* destination, as in haechi_net_allow */
	char comm[16];
	char path[HAECHI_PREFIX_MAX]; /* file or executable */
};

/*
 * A DNS answer received by a scoped container whose policies deny domains
 * (the UDP payload of a datagram from port 53, as it arrived): user space
 * reads the addresses the names resolved to and denies them.
 */
struct haechi_dns_answer {
	__u64 cgroup_id;
	__u32 scope; /* the receiving cgroup's policies that deny domains */
	__u16 len;   /* payload bytes copied (at most HAECHI_DNS_MAX) */
	__u16 _pad;
	__u8 payload[HAECHI_DNS_MAX];
};

#endif
