// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench.bpf.c -- the kernel producer of ringbuf_bench (see bench.h): a
 * SEC("syscall") program run with BPF_PROG_TEST_RUN that emits ctx->n
 * records with bpf_ringbuf_output into its BPF_MAP_TYPE_RINGBUF map.  The
 * ring's size is set by the benchmark before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* resized by the benchmark */
} rb SEC(".maps");

/* One scratch record per producer id: the payload bpf_ringbuf_output copies. */
struct kb_rec {
	__u8 b[KB_MAX_REC + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KB_MAX_IDS);
	__type(key, __u32);
	__type(value, struct kb_rec);
} scratch SEC(".maps");

struct loop_ctx {
	struct kb_rec *rec;
	__u64 tag;
	__u64 seq;
	__u64 flags;
	__u32 size;
	__u32 stamp;
	__u32 done;
	__u32 fails;
};

static long emit(__u64 i, void *c)
{
	struct loop_ctx *lc = c;
	struct kb_rec *rec = lc->rec;
	__u32 size = lc->size;
	__u64 word;
	long err;

	(void)i;
	if (!rec || size < 8 || size > KB_MAX_REC)
		return 1;
	word = lc->stamp ? bpf_ktime_get_ns() : lc->tag | lc->seq;
	*(__u64 *)&rec->b[0] = word;
	if (size >= 16)
		*(__u64 *)&rec->b[(size - 8) & (KB_MAX_REC - 1)] = ~word;
	err = bpf_ringbuf_output(&rb, rec, size, lc->flags);
	if (err) {
		lc->fails++;
		return 1; /* ring full: end this run, retry the record next run */
	}
	lc->seq++;
	lc->done++;
	return 0;
}

SEC("syscall")
int produce(struct kb_ctx *ctx)
{
	__u32 id = ctx->id;
	struct loop_ctx lc = {
		.tag = (__u64)id << KB_ID_SHIFT,
		.seq = ctx->seq,
		.flags = ctx->flags,
		.size = ctx->size,
		.stamp = ctx->stamp,
	};

	if (id >= KB_MAX_IDS || ctx->n > KB_MAX_N)
		return -1;
	lc.rec = bpf_map_lookup_elem(&scratch, &id);
	if (!lc.rec)
		return -1;
	bpf_loop(ctx->n, emit, &lc, 0);
	ctx->done = lc.done;
	ctx->fails = lc.fails;
	return 0;
}
