/* SPDX-License-Identifier: MIT */
/*
 * kmap.h -- shared by tests/bpf/kmap.bpf.c and tests/t_kmap_*.c: the plan of
 * records the BPF program produces into its BPF_MAP_TYPE_RINGBUF map.
 *
 * The test writes a plan (a list of operations) into the mmapable array map
 * "plan" and the payload bytes into "pat", runs the SEC("syscall") program
 * "produce" with BPF_PROG_TEST_RUN, and reads the per-operation results back
 * from "plan" and the ring's positions (bpf_ringbuf_query) from the ctx.
 */
#ifndef RINGBUF_TEST_BPF_KMAP_H
#define RINGBUF_TEST_BPF_KMAP_H

#include <linux/types.h>

#define KM_RING_SIZE 16384 /* max_entries of the "rb" ring */
#define KM_PAT_SIZE  32768 /* bytes of the payload pattern ("pat") */
#define KM_PAT_MASK  16383 /* op offsets and sizes are masked with this */
#define KM_MAX_OPS   256

/* What one operation does.  Every payload is pat[off .. off + size). */
enum km_kind {
	KM_OUTPUT = 1,      /* bpf_ringbuf_output(size, flags) */
	KM_RESERVE_SUBMIT,  /* bpf_ringbuf_reserve (size one of KM_CONST_SIZES), fill, submit(flags) */
	KM_RESERVE_DISCARD, /* bpf_ringbuf_reserve (size one of KM_CONST_SIZES), discard(flags) */
	KM_DYN_SUBMIT,      /* bpf_ringbuf_reserve_dynptr (any size), write, submit_dynptr(flags) */
	KM_DYN_DISCARD,     /* bpf_ringbuf_reserve_dynptr, discard_dynptr(flags) */
	KM_SELFTEST_ODD,    /* the kernel selftest's odd run: reserve (dynptr), output a
			     * copy (flags), discard the reservation (flags) */
};

/* The sizes KM_RESERVE_* accept (bpf_ringbuf_reserve needs a constant). */
#define KM_CONST_SIZES_INIT { 0, 1, 7, 8, 13, 64, 333, 1000, 4000 }

struct km_op {
	__u32 kind;
	__u32 size;
	__u32 off;
	__u32 flags;
};

struct km_plan {
	struct km_op ops[KM_MAX_OPS];
	__s64 ret[KM_MAX_OPS]; /* 0, or the helper's error (-EAGAIN for a NULL reserve) */
};

/* BPF_PROG_TEST_RUN ctx of "produce". */
struct km_ctx {
	__u32 nops;   /* in: run plan.ops[0 .. nops) */
	__u32 nfail;  /* out: operations whose ret is not 0 */
	/* out: bpf_ringbuf_query() after the last operation */
	__u64 avail;
	__u64 ring_size;
	__u64 cons;
	__u64 prod;
	__u64 bad_query; /* bpf_ringbuf_query(rb, 77): 0 */
};

#endif
