/* SPDX-License-Identifier: MIT */
/*
 * multi_expect.h -- the kernel's ringbuf_multi selftest expectation, shared
 * by t_multi (ringbuf rings) and t_kmulti (kernel maps): the record with
 * seq 0 belongs to ring 1 with value 333, seq 1 to ring 2 with 777.
 */
#ifndef RINGBUF_TEST_MULTI_EXPECT_H
#define RINGBUF_TEST_MULTI_EXPECT_H

#include <stdbool.h>

#include "bpf/multi.h"
#include "test.h"

/* Checks @s delivered to the callback whose ctx is ring @ring; returns
 * false if @s is none of the selftest's two records (the caller's own). */
static inline bool multi_selftest_sample(int ring, const struct multi_sample *s)
{
	switch (s->seq) {
	case 0:
		CHECK_EQ(ring, 1);
		CHECK_EQ(s->value, 333);
		return true;
	case 1:
		CHECK_EQ(ring, 2);
		CHECK_EQ(s->value, 777);
		return true;
	default:
		return false;
	}
}

#endif
