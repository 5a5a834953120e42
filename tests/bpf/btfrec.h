/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* btfrec.h -- a record with one of each kind of field, for t_cli_btf:
 * tests/bpf/btfrec.bpf.c puts its BTF in an object, the test writes such
 * records into a ring and `ringbuf tail --btf` decodes them. */
#ifndef RINGBUF_TEST_BTFREC_H
#define RINGBUF_TEST_BTFREC_H

enum btfrec_kind { KIND_OPEN = 1, KIND_CLOSE = 2, KIND_EXEC = 7 };

struct btfrec_inner {
	short delta;
	unsigned char flags;
};

struct btfrec {
	unsigned long long ts;
	int pid;
	enum btfrec_kind kind;
	char comm[8];
	unsigned int vals[3];
	struct btfrec_inner in;
	unsigned int low : 4, high : 12;
};

#endif
