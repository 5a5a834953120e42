// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kuser.bpf.c -- the kernel consumer for t_kuser: drains its
 * BPF_MAP_TYPE_USER_RINGBUF map with bpf_user_ringbuf_drain() (see kuser.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kuser.h"

char LICENSE[] SEC("license") = "GPL";

extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, KU_RING_SIZE);
} urb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KU_OUT_SIZE);
} out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ku_log);
} logm SEC(".maps");

/* The sample being looked at.  A global, not a map value: with no map
 * lookup before the read, clang keeps the callback's dynptr pointer in a
 * register, and the verifier cannot follow one spilled to the stack. */
struct ku_sbuf {
	__u8 b[KU_SBUF];
} sbuf;

struct dctx {
	__u64 cnt, bytes, sum, out_fail, too_big, read_fail;
	__u32 copy, stop_after;
};

struct fctx {
	__u32 h;
};

/* One FNV-1a step over byte @i of the sample. */
static long fnv_step(__u64 i, void *c)
{
	struct fctx *f = c;

	f->h = (f->h ^ sbuf.b[i & (KU_SBUF - 1)]) * 16777619u;
	return 0;
}

static long drain_cb(struct bpf_dynptr *dp, void *c)
{
	struct dctx *d = c;
	__u64 sz = bpf_dynptr_size(dp);
	struct fctx f = { .h = 2166136261u };
	struct ku_log *lg;
	__u32 zero = 0, idx;

	/* one 64-bit register for the check and every use after it (clang
	 * would otherwise pass the kfunc's raw u32 return on to the helper) */
	asm volatile("" : "+r"(sz));
	d->cnt++;
	d->bytes += sz;
	if (sz > KU_SBUF) {
		d->too_big++;
		return 0;
	}
	if (sz && bpf_dynptr_read(sbuf.b, sz, dp, 0, 0)) {
		d->read_fail++;
		return 0;
	}
	bpf_loop(sz, fnv_step, &f, 0);
	d->sum += f.h;
	lg = bpf_map_lookup_elem(&logm, &zero);
	if (!lg)
		return 1;
	idx = lg->n;
	if (idx < KU_MAX_LOG) {
		lg->len[idx] = (__u32)sz;
		lg->fnv[idx] = f.h;
	}
	lg->n = idx + 1;
	if (d->copy && bpf_ringbuf_output(&out, sbuf.b, sz, 0))
		d->out_fail++;
	if (d->stop_after && d->cnt >= d->stop_after)
		return 1;
	return 0;
}

SEC("syscall")
int drain(struct ku_ctx *ctx)
{
	struct dctx d = { 0 };
	__u32 zero = 0;
	struct ku_log *lg = bpf_map_lookup_elem(&logm, &zero);

	if (!lg)
		return -1;
	lg->n = 0;
	d.copy = ctx->copy;
	d.stop_after = ctx->stop_after;
	ctx->ret = bpf_user_ringbuf_drain(&urb, drain_cb, &d, ctx->flags);
	ctx->cnt = d.cnt;
	ctx->bytes = d.bytes;
	ctx->sum = d.sum;
	ctx->out_fail = d.out_fail;
	ctx->too_big = d.too_big;
	ctx->read_fail = d.read_fail;
	return 0;
}
