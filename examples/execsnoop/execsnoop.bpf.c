/* SPDX-License-Identifier: MIT */
/*
 * execsnoop.bpf.c -- one record per exec, into a BPF_MAP_TYPE_RINGBUF map.
 *
 * Attached to the sched_process_exec tracepoint as a raw tracepoint, which
 * needs neither tracefs nor a generated vmlinux.h: its arguments are
 * (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm), and
 * the two fields read from kernel structs are located by CO-RE (the
 * kernel's own BTF at load time) through the minimal declarations below.
 * A record that finds the ring full is counted in `dropped`.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "execsnoop.h"

/* Only the fields read; preserve_access_index lets libbpf relocate them. */
struct task_struct {
	struct task_struct *real_parent;
	int tgid;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

unsigned long long dropped = 0;

SEC("raw_tp/sched_process_exec")
int handle_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (unsigned int)bpf_get_current_uid_gid();
	e->old_pid = (int)ctx->args[1];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* struct event in the object's BTF, for `ringbuf tail --btf execsnoop.bpf.o
 * --type event`: clang describes only the types of globals and functions,
 * and the program uses struct event through a pointer alone. */
struct event execsnoop_event_type;
