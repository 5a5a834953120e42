/* SPDX-License-Identifier: MIT */
/*
 * execsnoop.h -- the record execsnoop.bpf.c writes into its ring buffer
 * map for each exec, shared by the BPF program and its consumer
 * (execsnoop.c).  The BPF object's BTF describes it as `struct event`,
 * which is what `ringbuf tail --btf execsnoop.bpf.o --type event` decodes.
 */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

#define EXECSNOOP_COMM_LEN 16
#define EXECSNOOP_FILENAME_LEN 128

struct event {
	unsigned long long ts_ns;  /* bpf_ktime_get_ns() at the exec */
	unsigned int pid;          /* the process (thread group) that exec'ed */
	unsigned int ppid;         /* its parent */
	unsigned int uid;
	int old_pid;               /* the exec'ing thread's id before the exec */
	char comm[EXECSNOOP_COMM_LEN];         /* the new program's name */
	char filename[EXECSNOOP_FILENAME_LEN]; /* the path given to execve */
};

#endif
