/* SPDX-License-Identifier: MIT */
/*
 * t_kmulti.c -- the kernel's prog_tests/ringbuf_multi.c, ported to struct
 * ringbuf_manager over kernel BPF_MAP_TYPE_RINGBUF maps opened with
 * ringbuf_map_open(): two page-sized rings written by a BPF program
 * (tests/bpf/multi.bpf.c), three triggers of which one has no ring, one
 * poll returns both records in the right callbacks with the right ctx, a
 * second poll returns nothing; dropped 0, skipped 1, total 2.  Also: maps
 * that are not ring buffers are refused, and a ringbuf ring served by the
 * same manager beside the kernel rings.  Skips (77) where BPF is not
 * permitted.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kbpf.h"
#include "multi_expect.h"
#include "ringbuf.h"
#include "test.h"

static int g_seen[4];

static int process_sample(void *ctx, void *data, size_t len)
{
	int ring = (int)(long)ctx;
	struct multi_sample s;

	CHECK_EQ(len, sizeof(s));
	memcpy(&s, data, sizeof(s));
	if (!multi_selftest_sample(ring, &s)) {
		if (s.seq != 2) { /* 2: the ringbuf ring's record */
			fprintf(stderr, "unexpected sample seq %d, val %ld\n", s.seq, s.value);
			CHECK(!"extra sample");
		}
		CHECK_EQ(ring, 3);
		CHECK_EQ(s.value, 999);
	}
	CHECK_EQ(s.pid, getpid());
	g_seen[ring]++;
	return 0;
}

static void trigger(int prog_fd, struct multi_ctx *c, int target, long value)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = c, .ctx_size_in = sizeof(*c));

	c->target_ring = target;
	c->value = value;
	CHECK_EQ(bpf_prog_test_run_opts(prog_fd, &o), 0);
}

int main(void)
{
	int page = getpagesize(), err, prog_fd, arr_fd;
	struct multi_ctx c = { .pid = getpid() };
	struct ringbuf *k1, *k2, *user, *ku;
	struct ringbuf_manager *m;
	struct bpf_object *obj;

	kbpf_require();
	obj = bpf_object__open_file(kbpf_object_path("multi"), NULL);
	CHECK(obj != NULL);
	CHECK_EQ(bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "ringbuf1"),
					  (uint32_t)page), 0);
	CHECK_EQ(bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "ringbuf2"),
					  (uint32_t)page), 0);
	err = bpf_object__load(obj);
	if (err == -EPERM)
		SKIP("loading BPF programs is not permitted here (%s)", strerror(-err));
	CHECK_EQ(err, 0);
	prog_fd = kbpf_prog_fd(obj, "produce");

	m = ringbuf_manager_new(NULL);
	CHECK(m);
	k1 = ringbuf_map_open(kbpf_map_fd(obj, "ringbuf1"), NULL);
	k2 = ringbuf_map_open(kbpf_map_fd(obj, "ringbuf2"), NULL);
	CHECK(k1 && k2);
	CHECK_EQ(ringbuf_manager_add(m, k1, process_sample, (void *)1L), 0);
	CHECK_EQ(ringbuf_manager_add(m, k2, process_sample, (void *)2L), 0);

	/* adding what is not a ring to consume fails (ring_buffer__add of
	 * ringbuf_arr in the selftest): an array map cannot even be opened,
	 * a USER_RINGBUF handle is a producer */
	arr_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	CHECK(arr_fd >= 0);
	CHECK_OPEN_ERR(ringbuf_map_open(arr_fd, NULL), EMEDIUMTYPE);
	CHECK_EQ(ringbuf_manager_add(m, NULL, process_sample, NULL), -EINVAL);
	close(arr_fd);
	arr_fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, (uint32_t)page, NULL);
	CHECK(arr_fd >= 0);
	ku = ringbuf_map_open(arr_fd, NULL);
	CHECK(ku);
	CHECK_EQ(ringbuf_manager_add(m, ku, process_sample, NULL), -EOPNOTSUPP);
	ringbuf_free(ku);
	close(arr_fd);

	/* trigger a few samples, one skipped (no ring in slot 1) */
	trigger(prog_fd, &c, 0, 333);
	trigger(prog_fd, &c, 1, 555);
	trigger(prog_fd, &c, 2, 777);

	/* one poll, both rings */
	CHECK_EQ(ringbuf_manager_poll(m, -1), 2);
	/* extra polling returns nothing */
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);
	CHECK_EQ(c.dropped, 0);
	CHECK_EQ(c.skipped, 1);
	CHECK_EQ(c.total, 2);
	CHECK_EQ(g_seen[1], 1);
	CHECK_EQ(g_seen[2], 1);

	/* a ringbuf ring beside the kernel's, in the same wait */
	user = ringbuf_new((size_t)page, NULL);
	CHECK(user);
	CHECK_EQ(ringbuf_manager_add(m, user, process_sample, (void *)3L), 0);
	{
		struct multi_sample s = { .pid = getpid(), .seq = 2, .value = 999 };

		CHECK_EQ(ringbuf_output(user, &s, sizeof(s), 0), 0);
	}
	CHECK_EQ(ringbuf_manager_poll(m, 1000), 1);
	CHECK_EQ(g_seen[3], 1);
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);
	CHECK_EQ(ringbuf_manager_consume(m), 0);

	ringbuf_manager_free(m);
	ringbuf_free(user);
	ringbuf_free(k1);
	ringbuf_free(k2);
	bpf_object__close(obj);
	printf("t_kmulti: ok\n");
	return 0;
}
