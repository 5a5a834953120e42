/* SPDX-License-Identifier: MIT */
/*
 * t_kmapset.c -- a kernel map of ring buffers as one consumer handle
 * (ringbuf_set_map_open): the per-CPU pattern, an ARRAY_OF_MAPS whose slot
 * K holds the RINGBUF map that a BPF program (tests/bpf/mapset.bpf.c) on
 * CPU K writes into.
 *
 *   - a ring per CPU, records written on every CPU: one consume delivers
 *     them all, each once, in order per CPU, from the right ring
 *   - an inner map replaced while the handle is open: the new one is
 *     followed (by ringbuf_set_refresh(), and by a waiting poll on its
 *     own), the epoll fd stays the same
 *   - a slot emptied: the handle drops that ring
 *   - `ringbuf tail id:N` and `ringbuf stat id:N` of the outer map
 *   - refusals: a plain RINGBUF map, a map of arrays, a bad fd; producer
 *     calls (-EOPNOTSUPP)
 * Skips (77) where BPF is not permitted.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include "kbpf.h"
#include "ringbuf.h"
#include "test.h"
#include "cli_run.h"

#include "bpf/mapset.h"

#define INNER (64 * 1024)
#define PER_CPU 500u

static int g_prog;

struct seen {
	uint64_t next[64];
	long total;
};

static int seen_cb(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	struct mapset_rec r;

	CHECK_EQ(size, sizeof(r));
	memcpy(&r, data, sizeof(r));
	CHECK(r.tag < 64);
	if (r.tag < 10)
		CHECK_EQ(r.cpu, r.tag); /* the ring of the CPU it was written on */
	CHECK_EQ(r.seq, s->next[r.tag]);
	s->next[r.tag]++;
	s->total++;
	return 0;
}

/* Run the program on @cpu: @n records tagged @tag, sequence from *@seq. */
static struct mapset_ctx run_on(int cpu, uint32_t n, uint32_t tag, uint64_t *seq)
{
	struct mapset_ctx c = { .n = n, .tag = tag, .seq = *seq };
	/* a syscall program's ctx comes back in ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c));
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	CHECK_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	CHECK_EQ(bpf_prog_test_run_opts(g_prog, &o), 0);
	CHECK_EQ((int)c.cpu, cpu);
	*seq = c.seq;
	return c;
}

static int new_inner(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, INNER, NULL);

	CHECK(fd >= 0);
	return fd;
}

int main(void)
{
	struct seen seen;
	uint64_t seq[64] = { 0 };
	struct bpf_object *obj;
	struct ringbuf_set *s;
	cpu_set_t all;
	int outer, ncpu = 0, err, inner[MAPSET_SLOTS], epfd;
	uint32_t outer_id;
	char id_arg[32];

	memset(&seen, 0, sizeof(seen));
	kbpf_require();
	CHECK_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
	while (ncpu < MAPSET_SLOTS && CPU_ISSET(ncpu, &all))
		ncpu++;
	if (ncpu == 0)
		SKIP("CPU 0 is not ours to run on");
	obj = bpf_object__open_file(kbpf_object_path("mapset"), NULL);
	CHECK(obj != NULL);
	err = bpf_object__load(obj);
	if (err == -EPERM)
		SKIP("loading BPF programs is not permitted here (%s)", strerror(-err));
	CHECK_EQ(err, 0);
	g_prog = kbpf_prog_fd(obj, "produce");
	outer = kbpf_map_fd(obj, "rings");
	outer_id = kbpf_map_id(outer, NULL, NULL);

	/* an empty map of maps: a set of no rings */
	s = ringbuf_set_map_open(outer, NULL);
	CHECK(s != NULL);
	CHECK_EQ(ringbuf_set_count(s), 0);
	CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), 0);
	ringbuf_set_free(s);

	for (int k = 0; k < ncpu; k++) {
		inner[k] = new_inner();
		CHECK_EQ(bpf_map_update_elem(outer, &k, &inner[k], BPF_ANY), 0);
	}
	s = ringbuf_set_map_open(outer, NULL);
	CHECK(s != NULL);
	CHECK_EQ(ringbuf_set_count(s), (unsigned)ncpu);
	CHECK_EQ(ringbuf_set_output(s, "x", 1, 0), -EOPNOTSUPP);
	CHECK_NULL_ERR(ringbuf_set_reserve(s, 8, 0), EOPNOTSUPP);
	{ /* a manager would not follow the outer map: refused */
		struct ringbuf_manager *m = ringbuf_manager_new(NULL);

		CHECK(m != NULL);
		CHECK_EQ(ringbuf_manager_add_set(m, s, seen_cb, NULL), -EOPNOTSUPP);
		CHECK_EQ(errno, EOPNOTSUPP);
		ringbuf_manager_free(m);
	}
	epfd = ringbuf_set_epoll_fd(s);
	CHECK(epfd >= 0);

	/* every CPU writes into its ring; one consume takes it all */
	for (int k = 0; k < ncpu; k++) {
		struct mapset_ctx c = run_on(k, PER_CPU, (uint32_t)k, &seq[k]);

		CHECK_EQ(c.missing, 0);
		CHECK_EQ(c.dropped, 0);
	}
	CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), (int)(PER_CPU * (unsigned)ncpu));
	for (int k = 0; k < ncpu; k++)
		CHECK_EQ(seen.next[k], PER_CPU);
	printf("ok   %d CPUs x %u records through their own rings\n", ncpu, PER_CPU);

	/* slot 0 replaced: the new map is followed, after a refresh */
	{
		int fresh = new_inner(), zero = 0;

		CHECK_EQ(bpf_map_update_elem(outer, &zero, &fresh, BPF_ANY), 0);
		close(inner[0]);
		inner[0] = fresh;
		run_on(0, 100, 0, &seq[0]);
		CHECK_EQ(ringbuf_set_refresh(s), ncpu);
		CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), 100);
		CHECK_EQ(seen.next[0], PER_CPU + 100);
		/* and again, now found by a waiting poll on its own */
		fresh = new_inner();
		CHECK_EQ(bpf_map_update_elem(outer, &zero, &fresh, BPF_ANY), 0);
		close(inner[0]);
		inner[0] = fresh;
		run_on(0, 50, 0, &seq[0]);
		{
			uint64_t t0 = t_now_ns();
			long got = 0;

			while (got < 50 && t_now_ns() - t0 < 5000000000ull) {
				int r = ringbuf_set_poll(s, seen_cb, &seen, 1000);

				CHECK(r >= 0);
				got += r;
			}
			CHECK_EQ(got, 50);
		}
		CHECK_EQ(ringbuf_set_epoll_fd(s), epfd);
	}
	printf("ok   a replaced inner map is followed\n");

	/* a slot emptied: its ring goes; the program finds no ring there */
	if (ncpu > 1) {
		int one = 1;

		CHECK_EQ(bpf_map_delete_elem(outer, &one), 0);
		CHECK_EQ(ringbuf_set_refresh(s), ncpu - 1);
		CHECK_EQ(run_on(1, 10, 1, &seq[1]).missing, 10);
		CHECK_EQ(bpf_map_update_elem(outer, &one, &inner[1], BPF_ANY), 0);
		CHECK_EQ(ringbuf_set_refresh(s), ncpu);
		printf("ok   an emptied slot is dropped\n");
	}
	ringbuf_set_free(s);
	CHECK_EQ(sched_setaffinity(0, sizeof(all), &all), 0);

	/* the command on the outer map */
	find_cli();
	snprintf(id_arg, sizeof(id_arg), "id:%u", outer_id);
	for (int k = 0; k < ncpu; k++)
		run_on(k, 20, (uint32_t)(20 + k), &seq[20 + k]);
	CHECK_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
	{
		struct buf out = { 0 };
		char want[16];

		CHECK_EQ(RUN(&out, "stat", id_arg), XC_OK);
		CHECK(strstr(out.p, "kernel map of BPF_MAP_TYPE_RINGBUF maps") != NULL);
		CHECK_EQ(stat_value(out.p, "avail_data"), (uint64_t)ncpu * 20 * 24);
		buf_free(&out);
		snprintf(want, sizeof(want), "%d", ncpu * 20);
		CHECK_EQ(RUN(&out, "tail", id_arg, "--count", want, "--format", "hex", "--timeout",
			     "5"),
			 XC_OK);
		CHECK(strstr(out.p, "record 0:") != NULL);
		snprintf(want, sizeof(want), "record %d:", ncpu * 20 - 1);
		CHECK(strstr(out.p, want) != NULL);
		buf_free(&out);
		EXPECT_EXIT(XC_UNSUPP, "write", id_arg);
	}
	s = ringbuf_set_map_open(outer, NULL);
	CHECK(s != NULL);
	CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), 0); /* tail took them all */
	ringbuf_set_free(s);
	printf("ok   ringbuf stat / tail id:%u\n", outer_id);

	/* refusals */
	CHECK_NULL_ERR(ringbuf_set_map_open(-1, NULL), EBADF);
	CHECK_NULL_ERR(ringbuf_set_map_open(inner[0], NULL), EMEDIUMTYPE);
	{
		int arr = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
		LIBBPF_OPTS(bpf_map_create_opts, mo, .inner_map_fd = arr);
		int aom = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 2, &mo);
		int zero = 0;

		CHECK(arr >= 0 && aom >= 0);
		CHECK_EQ(bpf_map_update_elem(aom, &zero, &arr, BPF_ANY), 0);
		CHECK_NULL_ERR(ringbuf_set_map_open(aom, NULL), EMEDIUMTYPE);
		close(aom);
		close(arr);
	}
	printf("ok   refusals\n");
	for (int k = 0; k < ncpu; k++)
		close(inner[k]);
	bpf_object__close(obj);
	return T_PASS;
}
