/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* mapset.h -- what tests/bpf/mapset.bpf.c and t_kmapset share. */
#ifndef RINGBUF_TEST_MAPSET_H
#define RINGBUF_TEST_MAPSET_H

#define MAPSET_SLOTS 8

struct mapset_ctx {
	__u32 n;       /* records to emit */
	__u32 tag;     /* put in each record */
	__u64 seq;     /* the first record's sequence; advanced */
	__u32 cpu;     /* out: the CPU the program ran on */
	__u32 missing; /* out: records with no ring in the CPU's slot */
	__u32 dropped; /* out: records a full ring refused */
	__u32 _pad;
};

struct mapset_rec {
	__u32 cpu, tag;
	__u64 seq;
};

#endif
