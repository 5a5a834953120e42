/* SPDX-License-Identifier: MIT */
/*
 * kuser.h -- shared by tests/bpf/kuser.bpf.c and tests/t_kuser_*.c.
 *
 * The SEC("syscall") program "drain" runs bpf_user_ringbuf_drain() on its
 * BPF_MAP_TYPE_USER_RINGBUF map "urb".  For every sample it reads the bytes
 * (bpf_dynptr_read), computes their FNV-1a, logs (size, fnv) in order in the
 * mmapable array map "log", and optionally copies the sample into the
 * BPF_MAP_TYPE_RINGBUF map "out".  Totals come back through the ctx.
 */
#ifndef RINGBUF_TEST_BPF_KUSER_H
#define RINGBUF_TEST_BPF_KUSER_H

#include <linux/types.h>

#define KU_RING_SIZE 16384      /* max_entries of "urb" */
#define KU_OUT_SIZE  (1u << 20) /* max_entries of "out" */
#define KU_SBUF      16384      /* largest sample read (the ring holds at most size - 8) */
#define KU_MAX_LOG   2048

struct ku_log {
	__u32 n;         /* samples seen by the last run (may exceed KU_MAX_LOG) */
	__u32 pad;
	__u32 len[KU_MAX_LOG];
	__u32 fnv[KU_MAX_LOG];
};

/* BPF_PROG_TEST_RUN ctx of "drain". */
struct ku_ctx {
	__u64 flags;      /* in: bpf_user_ringbuf_drain() flags */
	__u32 copy;       /* in: copy each sample into "out" */
	__u32 stop_after; /* in: the callback returns 1 after this many (0: never) */
	__s64 ret;        /* out: bpf_user_ringbuf_drain()'s return */
	__u64 cnt;        /* out: samples the callback saw */
	__u64 bytes;      /* out: their total size */
	__u64 sum;        /* out: sum of their FNV-1a */
	__u64 out_fail;   /* out: failed copies into "out" */
	__u64 too_big;    /* out: samples larger than KU_SBUF (not read) */
	__u64 read_fail;  /* out: failed bpf_dynptr_read()s */
};

#endif
