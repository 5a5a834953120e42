// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mapset.bpf.c -- the per-CPU pattern: an ARRAY_OF_MAPS of ring buffers,
 * each record written into the ring in the slot of the CPU the program
 * runs on.  Run (SEC("syscall"), BPF_PROG_TEST_RUN) by t_kmapset, which
 * puts the inner maps in the slots from user space.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "mapset.h"

char LICENSE[] SEC("license") = "GPL";

struct inner {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* t_kmapset makes its rings the page size */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAPSET_SLOTS);
	__type(key, __u32);
	__array(values, struct inner);
} rings SEC(".maps");

SEC("syscall")
int produce(struct mapset_ctx *c)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 i;

	c->cpu = cpu;
	for (i = 0; i < c->n && i < 4096; i++) {
		void *rb = bpf_map_lookup_elem(&rings, &cpu);
		struct mapset_rec *r;

		if (!rb) {
			c->missing++;
			continue;
		}
		r = bpf_ringbuf_reserve(rb, sizeof(*r), 0);
		if (!r) {
			c->dropped++;
			continue;
		}
		r->cpu = cpu;
		r->tag = c->tag;
		r->seq = c->seq++;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}
