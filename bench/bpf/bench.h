/* SPDX-License-Identifier: MIT */
/*
 * bench.h -- shared by bench/bpf/bench.bpf.c and the benchmark (bench/): the
 * BPF_PROG_TEST_RUN ctx of the benchmark's kernel producer.
 *
 * One run of the SEC("syscall") program "produce" emits up to ctx->n records
 * of ctx->size bytes with bpf_ringbuf_output(ctx->flags) into the map "rb",
 * in a bpf_loop.  A record carries (id << 56 | seq) in its first 8 bytes and
 * the complement of that word in its last 8 (records of 16 bytes or more),
 * the format ringbuf_bench verifies; with ctx->stamp set it carries
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC) instead.  A failed output (ring full)
 * ends the run: ctx->fails counts it and the record is tried again by the
 * next run, so sequences stay gap-free.
 */
#ifndef RINGBUF_BENCH_BPF_H
#define RINGBUF_BENCH_BPF_H

#include <linux/types.h>

#define KB_MAX_REC  4096 /* largest record */
#define KB_MAX_IDS  16   /* producer ids (one scratch record each) */
#define KB_ID_SHIFT 56
#define KB_MAX_N    (1U << 20)

struct kb_ctx {
	__u32 id;    /* in: producer id, < KB_MAX_IDS */
	__u32 size;  /* in: record bytes, 8 .. KB_MAX_REC, a multiple of 8 */
	__u32 n;     /* in: records to emit */
	__u32 flags; /* in: bpf_ringbuf_output flags */
	__u32 stamp; /* in: 1 = payload is bpf_ktime_get_ns() */
	__u32 done;  /* out: records emitted */
	__u32 fails; /* out: failed bpf_ringbuf_output calls (0 or 1) */
	__u32 _pad;
	__u64 seq;   /* in: sequence of the first record */
};

#endif
