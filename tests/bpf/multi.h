/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * multi.h -- shared by tests/bpf/multi.bpf.c and tests/t_kmulti.c: the
 * context of the kernel's ringbuf_multi selftest program, passed in and
 * back through BPF_PROG_TEST_RUN.
 */
#ifndef RINGBUF_TEST_MULTI_H
#define RINGBUF_TEST_MULTI_H

struct multi_sample {
	int pid;
	int seq;
	long value;
	char comm[16];
};

struct multi_ctx {
	int target_ring; /* 0: ringbuf1, 2: ringbuf2, anything else: skipped */
	int pid;
	long value;
	long total;      /* records written */
	long dropped;    /* reservations that failed */
	long skipped;    /* no ring in that slot */
};

#endif
