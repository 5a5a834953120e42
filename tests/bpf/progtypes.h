/* SPDX-License-Identifier: MIT */
/*
 * progtypes.h -- shared by tests/bpf/progtypes*.bpf.c and the t_progtypes*
 * tests: one plan of bpf_ringbuf_output / reserve+submit / reserve+discard
 * calls that a program of any BPF program type runs when it is triggered.
 *
 * Every program of those objects does the same thing: if the row's filter
 * lets this invocation through, it takes the arming (a compare-and-swap of
 * cfg.armed from 1 to 0, so exactly one invocation per arming runs the
 * plan, however often the hook fires) and runs cfg.ops[0 .. nops) on its
 * BPF_MAP_TYPE_RINGBUF map "rb", writing each helper's result to cfg.ret[].
 * The test arms, triggers the hook, waits for cfg.fired to move and checks
 * what its consumer got.
 */
#ifndef RINGBUF_TEST_BPF_PROGTYPES_H
#define RINGBUF_TEST_BPF_PROGTYPES_H

#include <linux/types.h>

#define PT_RING_SIZE 16384 /* max_entries of "rb" */
#define PT_MAX_OPS   8
#define PT_FILL      32
#define PT_MAGIC     0x50545950u /* "PYTP" */

/* What one operation of the plan does. */
enum pt_kind {
	PT_OUT = 1,  /* bpf_ringbuf_output(&rec, sizeof(rec), flags) */
	PT_SUBMIT,   /* bpf_ringbuf_reserve(sizeof(rec)), fill, bpf_ringbuf_submit(flags) */
	PT_DISCARD,  /* bpf_ringbuf_reserve(sizeof(rec)), fill, bpf_ringbuf_discard(flags) */
};

struct pt_op {
	__u32 kind;
	__u32 flags;
};

/* The "cfg" array map's one value (mmapable: the test writes it directly). */
struct pt_cfg {
	__u32 armed;   /* 1: the next invocation through the filter runs the plan */
	__u32 tid;     /* filter for the programs that can read it: this thread only */
	__u32 row;     /* stamped into every record */
	__u32 trigger; /* stamped into every record */
	__u32 nops;
	__u32 fired;   /* plans run (atomically incremented after the plan) */
	__u32 calls;   /* invocations through the filter, armed or not */
	__u32 arg;     /* a row-specific filter value (syscall number, device) */
	struct pt_op ops[PT_MAX_OPS];
	__s64 ret[PT_MAX_OPS]; /* 0, or the helper's error (-EAGAIN: no room) */
};

/* One record, 56 bytes: what the program says it did. */
struct pt_rec {
	__u32 magic;   /* PT_MAGIC */
	__u32 prog;    /* PT_P_*: which program ran */
	__u32 row;     /* cfg.row */
	__u32 trigger; /* cfg.trigger */
	__u32 idx;     /* index of the operation in the plan */
	__u32 kind;    /* enum pt_kind */
	__u32 flags;   /* the wakeup flags of the operation */
	__u32 pad;
	__u8 fill[PT_FILL - 8];
};

/* fill[i] of a record: a function of where it comes from. */
#define PT_FILL_BYTE(row, trigger, idx, i) \
	((__u8)((row) * 29u + (trigger) * 13u + (idx) * 7u + (i) * 3u + 0x5au))

/* Program ids (pt_rec.prog). */
enum pt_prog {
	PT_P_SYSCALL = 1,
	PT_P_SOCKET,
	PT_P_SCHED_CLS,
	PT_P_SCHED_ACT,
	PT_P_XDP,
	PT_P_LWT_IN,
	PT_P_LWT_OUT,
	PT_P_LWT_XMIT,
	PT_P_LWT_SEG6,
	PT_P_CGROUP_SKB,
	PT_P_FLOW_DISSECTOR,
	PT_P_SK_LOOKUP,
	PT_P_RAW_TP,
	PT_P_RAW_TP_W,
	PT_P_FENTRY,
	PT_P_FEXIT,
	PT_P_FMOD_RET,
	PT_P_TP_BTF,
	PT_P_ITER,
	PT_P_EXT,
	PT_P_TRACEPOINT,
	PT_P_KPROBE,
	PT_P_UPROBE,
	PT_P_URETPROBE,
	PT_P_PERF_EVENT,
	PT_P_SOCK_CREATE,
	PT_P_CONNECT4,
	PT_P_SYSCTL,
	PT_P_GETSOCKOPT,
	PT_P_SETSOCKOPT,
	PT_P_DEVICE,
	PT_P_SOCK_OPS,
	PT_P_SK_SKB,
	PT_P_SK_MSG,
	PT_P_REUSEPORT,
	PT_P_LSM,
	PT_P_NETFILTER,
	PT_P_LIRC,
	PT_P_STRUCT_OPS,
};

/* The TCP congestion control the struct_ops object registers is named
 * PT_CA_NAME in the object file; the test patches the name to one of its
 * own (same length) before opening it, so concurrent runs do not clash. */
#define PT_CA_NAME "ptca_XXXXXXXXXX" /* 15 characters + NUL = TCP_CA_NAME_MAX */

#endif
