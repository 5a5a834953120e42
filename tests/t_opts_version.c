/* SPDX-License-Identifier: MIT */
/*
 * t_opts_version -- RINGBUF_OPTS() and the version macros and calls:
 *   - RINGBUF_OPTS sets sz to the struct's size, the named fields, and
 *     leaves every other byte zero (padding too: a struct declared over a
 *     garbage-filled stack slot), for each struct that starts with sz;
 *   - the options it makes are accepted, and an unknown flag in them is
 *     refused as with a hand-made struct;
 *   - ringbuf_version() and ringbuf_version_string() agree with the
 *     header's RINGBUF_VERSION_* macros, and RINGBUF_MAKE_VERSION orders
 *     versions and works in #if.
 */
#include "test.h"

#include "ringbuf.h"

#if RINGBUF_VERSION < RINGBUF_MAKE_VERSION(0, 3, 0) || RINGBUF_VERSION >= RINGBUF_MAKE_VERSION(1000, 0, 0)
#error "RINGBUF_VERSION in #if"
#endif

/* Leave garbage where the next frame's locals will be. */
static __attribute__((noinline)) void dirty_stack(void)
{
	volatile unsigned char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0xa5;
}

static int all_zero(const void *p, size_t from, size_t to)
{
	const unsigned char *b = p;

	for (size_t i = from; i < to; i++)
		if (b[i])
			return 0;
	return 1;
}

static __attribute__((noinline)) void opts_filled(void)
{
	RINGBUF_OPTS(ringbuf_opts, o, .role = RINGBUF_ROLE_PRODUCER, .recover_ms = 7);
	struct ringbuf_opts copy;

	CHECK_EQ(o.sz, sizeof(struct ringbuf_opts));
	CHECK_EQ(o.role, RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(o.recover_ms, 7);
	/* every byte but sz, role and recover_ms is zero */
	memcpy(&copy, &o, sizeof(copy));
	copy.sz = 0;
	copy.role = 0;
	copy.recover_ms = 0;
	CHECK(all_zero(&copy, 0, sizeof(copy)));
}

static __attribute__((noinline)) void others_filled(void)
{
	RINGBUF_OPTS(ringbuf_stats, st);
	RINGBUF_OPTS(ringbuf_name_info, ni);

	CHECK_EQ(st.sz, sizeof(struct ringbuf_stats));
	CHECK(all_zero(&st, sizeof(st.sz), sizeof(st)));
	CHECK_EQ(ni.sz, sizeof(struct ringbuf_name_info));
	CHECK(all_zero(&ni, sizeof(ni.sz), sizeof(ni)));
}

static void opts_used(void)
{
	RINGBUF_OPTS(ringbuf_opts, o, .recover_ms = 100);
	RINGBUF_OPTS(ringbuf_opts, bad, .flags = 1);
	RINGBUF_OPTS(ringbuf_stats, st);
	struct ringbuf *rb;

	CHECK_NULL_ERR(ringbuf_new(4096, &bad), EINVAL);
	rb = ringbuf_new(4096, &o);
	CHECK(rb);
	CHECK_EQ(ringbuf_output(rb, "x", 1, 0), 0);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.reserved, 1);
	CHECK_EQ(st.ring_size, 4096);
	ringbuf_free(rb);
}

static void version(void)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", RINGBUF_VERSION_MAJOR, RINGBUF_VERSION_MINOR,
		 RINGBUF_VERSION_PATCH);
	CHECK(strcmp(RINGBUF_VERSION_STRING, want) == 0);
	CHECK(strcmp(ringbuf_version_string(), want) == 0);
	CHECK_EQ(ringbuf_version(), RINGBUF_VERSION);
	CHECK_EQ(ringbuf_version() >> 16, RINGBUF_VERSION_MAJOR);
	CHECK_EQ((ringbuf_version() >> 8) & 0xff, RINGBUF_VERSION_MINOR);
	CHECK_EQ(ringbuf_version() & 0xff, RINGBUF_VERSION_PATCH);
	CHECK(RINGBUF_MAKE_VERSION(0, 3, 1) > RINGBUF_MAKE_VERSION(0, 3, 0));
	CHECK(RINGBUF_MAKE_VERSION(0, 5, 0) > RINGBUF_MAKE_VERSION(0, 4, 255));
	CHECK(RINGBUF_MAKE_VERSION(1, 0, 0) > RINGBUF_MAKE_VERSION(0, 255, 255));
}

int main(void)
{
	dirty_stack();
	opts_filled();
	dirty_stack();
	others_filled();
	opts_used();
	version();
	printf("t_opts_version: RINGBUF_OPTS and the version: ok\n");
	return T_PASS;
}
