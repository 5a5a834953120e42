// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kmap.bpf.c -- the kernel producer for t_kmap: runs a plan of
 * bpf_ringbuf_output / reserve / submit / discard operations (kmap.h) on its
 * BPF_MAP_TYPE_RINGBUF map and reports bpf_ringbuf_query() through the ctx.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kmap.h"

char LICENSE[] SEC("license") = "GPL"; /* bpf_probe_read_kernel */

#define EAGAIN_ 11
#define ENOENT_ 2

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KM_RING_SIZE);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct km_plan);
} plan SEC(".maps");

struct km_pat {
	__u8 b[KM_PAT_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct km_pat);
} pat SEC(".maps");

/* Reserve a record of the constant size N, fill it, then submit or discard. */
#define KM_RESERVE_CASE(N)                                                     \
	case N: {                                                              \
		void *s = bpf_ringbuf_reserve(&rb, N, 0);                      \
		if (!s)                                                        \
			return -EAGAIN_;                                       \
		if (N > 0)                                                     \
			bpf_probe_read_kernel(s, N, src);                      \
		if (discard)                                                   \
			bpf_ringbuf_discard(s, flags);                         \
		else                                                           \
			bpf_ringbuf_submit(s, flags);                          \
		return 0;                                                      \
	}

static __always_inline long reserve_const(__u32 size, const void *src, __u64 flags, int discard)
{
	switch (size) {
	KM_RESERVE_CASE(0)
	KM_RESERVE_CASE(1)
	KM_RESERVE_CASE(7)
	KM_RESERVE_CASE(8)
	KM_RESERVE_CASE(13)
	KM_RESERVE_CASE(64)
	KM_RESERVE_CASE(333)
	KM_RESERVE_CASE(1000)
	KM_RESERVE_CASE(4000)
	default:
		return -ENOENT_;
	}
}

static long reserve_dyn(__u32 size, const void *src, __u64 flags, int discard)
{
	struct bpf_dynptr dp;
	long err = bpf_ringbuf_reserve_dynptr(&rb, size, 0, &dp);

	if (err) {
		bpf_ringbuf_discard_dynptr(&dp, 0); /* required even on failure */
		return err;
	}
	if (size)
		err = bpf_dynptr_write(&dp, 0, (void *)src, size, 0);
	if (discard || err)
		bpf_ringbuf_discard_dynptr(&dp, flags);
	else
		bpf_ringbuf_submit_dynptr(&dp, flags);
	return err;
}

struct loop_ctx {
	__u32 nfail;
};

static long do_op(__u64 i, void *c)
{
	struct loop_ctx *lc = c;
	__u32 zero = 0;
	struct km_plan *p = bpf_map_lookup_elem(&plan, &zero);
	struct km_pat *pt = bpf_map_lookup_elem(&pat, &zero);
	struct km_op op;
	const void *src;
	__u32 size;
	long r;

	if (!p || !pt || i >= KM_MAX_OPS)
		return 1;
	op = p->ops[i];
	size = op.size & KM_PAT_MASK;
	src = &pt->b[op.off & KM_PAT_MASK];
	switch (op.kind) {
	case KM_OUTPUT:
		r = bpf_ringbuf_output(&rb, (void *)src, size, op.flags);
		break;
	case KM_RESERVE_SUBMIT:
		r = reserve_const(size, src, op.flags, 0);
		break;
	case KM_RESERVE_DISCARD:
		r = reserve_const(size, src, op.flags, 1);
		break;
	case KM_DYN_SUBMIT:
		r = reserve_dyn(size, src, op.flags, 0);
		break;
	case KM_DYN_DISCARD:
		r = reserve_dyn(size, src, op.flags, 1);
		break;
	case KM_SELFTEST_ODD: {
		struct bpf_dynptr dp;

		r = bpf_ringbuf_reserve_dynptr(&rb, size, 0, &dp);
		if (r) {
			bpf_ringbuf_discard_dynptr(&dp, 0);
			break;
		}
		r = bpf_ringbuf_output(&rb, (void *)src, size, op.flags);
		bpf_ringbuf_discard_dynptr(&dp, op.flags);
		break;
	}
	default:
		r = -ENOENT_;
		break;
	}
	p->ret[i] = r;
	if (r)
		lc->nfail++;
	return 0;
}

SEC("syscall")
int produce(struct km_ctx *ctx)
{
	struct loop_ctx lc = { 0 };
	__u32 n = ctx->nops;

	if (n > KM_MAX_OPS)
		return -1;
	bpf_loop(n, do_op, &lc, 0);
	ctx->nfail = lc.nfail;
	ctx->avail = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
	ctx->ring_size = bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE);
	ctx->cons = bpf_ringbuf_query(&rb, BPF_RB_CONS_POS);
	ctx->prod = bpf_ringbuf_query(&rb, BPF_RB_PROD_POS);
	ctx->bad_query = bpf_ringbuf_query(&rb, 77);
	return 0;
}
