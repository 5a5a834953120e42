// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * multi.bpf.c -- the producer side of the kernel's ringbuf_multi selftest
 * (progs/test_ringbuf_multi.c) as a SEC("syscall") program: one sample to
 * ringbuf1 (slot 0) or ringbuf2 (slot 2); slot 1 holds no ring and the
 * sample is counted as skipped.  Run by t_kmulti.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "multi.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* t_kmulti sets the page size */
} ringbuf1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ringbuf2 SEC(".maps");

/* One call site per map: the verifier tracks the map pointer per call. */
static __always_inline void emit(void *rb, struct multi_ctx *c)
{
	struct multi_sample *s = bpf_ringbuf_reserve(rb, sizeof(*s), 0);

	if (!s) {
		c->dropped++;
		return;
	}
	s->pid = c->pid;
	s->seq = (int)c->total;
	s->value = c->value;
	__builtin_memset(s->comm, 0, sizeof(s->comm));
	c->total++;
	bpf_ringbuf_submit(s, 0);
}

SEC("syscall")
int produce(struct multi_ctx *c)
{
	if (c->target_ring == 0)
		emit(&ringbuf1, c);
	else if (c->target_ring == 2)
		emit(&ringbuf2, c);
	else
		c->skipped++;
	return 0;
}
