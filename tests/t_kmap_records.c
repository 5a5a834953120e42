/* SPDX-License-Identifier: MIT */
/*
 * t_kmap_records -- the t_kmap tests of: test_records, test_blocked_poller.
 * What they share, and the whole plan, are in tests/common/kmap_run.h.
 */
#include "kmap_run.h"

static void test_records(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct plan p;
	struct km_ctx c;
	struct list *l = calloc(1, sizeof(*l));
	uint64_t seed = 42;

	CHECK(l != NULL);
	kobj_load(&k);
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);

	/* every kind with every constant size and every flag combination */
	for (int round = 0; round < 4; round++) {
		plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
		for (size_t i = 0; i < N_CONST; i++) {
			uint32_t s = const_sizes[i], f = wflags[(i + (size_t)round) % 4];
			uint32_t off = (uint32_t)(i * 1111 + (size_t)round * 7) & KM_PAT_MASK;

			if (s > 1000)
				continue; /* the 4000-byte ones below, to fit the ring */
			plan_add(&p, KM_OUTPUT, s, off, f);
			plan_add(&p, KM_RESERVE_SUBMIT, s, off + 1, f);
			plan_add(&p, KM_RESERVE_DISCARD, s, off + 2, f);
			plan_add(&p, KM_DYN_SUBMIT, s + (uint32_t)round, off + 3, f);
			plan_add(&p, KM_DYN_DISCARD, s, off + 4, f);
			plan_add(&p, KM_SELFTEST_ODD, s + 2, off + 5, f);
		}
		CHECK(p.pos - ringbuf_query(rb, RINGBUF_PROD_POS) < KM_RING_SIZE);
		produce_consume(&k, rb, &p);
	}
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	plan_add(&p, KM_RESERVE_SUBMIT, 4000, 17, 0);
	plan_add(&p, KM_RESERVE_DISCARD, 4000, 18, 0);
	plan_add(&p, KM_OUTPUT, 4000, 19, RINGBUF_FORCE_WAKEUP);
	plan_add(&p, KM_DYN_SUBMIT, 4000 - 8, 20, RINGBUF_NO_WAKEUP);
	produce_consume(&k, rb, &p);

	/* many random small records, several rounds (positions go round the ring) */
	for (int round = 0; round < 20; round++) {
		plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
		while (p.n < KM_MAX_OPS) {
			uint32_t kind = 1 + (uint32_t)(t_rand(&seed) % 6), s;

			if (kind == KM_RESERVE_SUBMIT || kind == KM_RESERVE_DISCARD)
				s = const_sizes[t_rand(&seed) % 6]; /* up to 64 */
			else
				s = (uint32_t)(t_rand(&seed) % 80);
			if (p.pos + 2 * rv_rec_size(s) - ringbuf_query(rb, RINGBUF_PROD_POS) > KM_RING_SIZE - 8)
				break;
			plan_add(&p, kind, s, (uint32_t)(t_rand(&seed) % KM_PAT_MASK),
				 wflags[t_rand(&seed) % 4]);
		}
		produce_consume(&k, rb, &p);
	}

	/* a kernel ring's consumer_pos is published once per consume call
	 * (ringbuf.h), at its end */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 10; i++)
		plan_add(&p, KM_OUTPUT, 30 + (uint32_t)i, (uint32_t)i * 3, 0);
	run_plan(&k, &p, &c);
	l->rb = rb;
	l->cons_start = ringbuf_query(rb, RINGBUF_CONS_POS);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 10);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	check_recs(l, 0, p.exp, 10, &k);
	check_positions(rb, &k);
	list_clear(l);

	/* consume_n: exact counts, in order, across calls */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 12; i++) {
		plan_add(&p, KM_OUTPUT, 16 + (uint32_t)i, (uint32_t)i * 13, 0);
		if (i % 3 == 0)
			plan_add(&p, KM_DYN_DISCARD, 8, 0, 0);
	}
	run_plan(&k, &p, &c);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 0), 0);
	CHECK_EQ(atomic_load(&l->n), 0);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 1), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[0].end);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 4), 4);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[4].end);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 100), 7);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 100), 0);
	CHECK_EQ(atomic_load(&l->n), 12);
	check_recs(l, 0, p.exp, 12, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	list_clear(l);

	/* a negative callback return stops consumption and is returned; the
	 * position is already past that record */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 6; i++)
		plan_add(&p, i == 3 ? KM_DYN_SUBMIT : KM_OUTPUT, 24, 50 + (uint32_t)i, 0);
	run_plan(&k, &p, &c);
	l->call_limit = 3;
	l->stop_ret = -42;
	CHECK_ERR(ringbuf_consume(rb, collect, l), 42);
	CHECK_EQ(atomic_load(&l->n), 3);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[2].end);
	check_positions(rb, &k);
	l->call_cnt = 0;
	l->call_limit = 1;
	l->stop_ret = -EINTR;
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 2), -EINTR);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[3].end);
	l->call_limit = 0;
	l->stop_ret = 1; /* positive returns are ignored */
	CHECK_EQ(ringbuf_consume(rb, collect, l), 2);
	CHECK_EQ(atomic_load(&l->n), 6);
	check_recs(l, 0, p.exp, 6, &k);
	check_positions(rb, &k);
	list_clear(l);

	/* a full ring: the kernel refuses the 17th record of 1000 bytes
	 * (16 * 1008 = 16128 bytes; 17 would exceed size - 1) */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 16; i++)
		plan_add(&p, i & 1 ? KM_RESERVE_SUBMIT : KM_OUTPUT, 1000, (uint32_t)i * 100, 0);
	run_plan(&k, &p, &c);
	CHECK_EQ(c.avail, 16 * 1008);
	{
		struct plan more;

		plan_init(&more, p.pos);
		plan_add(&more, KM_OUTPUT, 1000, 0, 0);
		memcpy(k.plan->ops, more.ops, sizeof(more.ops[0]));
		c.nops = 1;
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c));
		CHECK_EQ(bpf_prog_test_run_opts(k.prog_fd, &o), 0);
		CHECK_EQ(k.plan->ret[0], -EAGAIN);
		CHECK_EQ(c.prod, p.pos);
	}
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 16);
	check_recs(l, 0, p.exp, 16, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	list_clear(l);

	test_wrap(&k, rb);
	check_positions(rb, &k);

	/* ringbuf_poll with records waiting: at once, though they were
	 * committed with NO_WAKEUP (first take any notification still queued
	 * from the records above, so only the waiting records can end it) */
	CHECK_EQ(ringbuf_poll(rb, collect, l, 50), 0);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 20), 0);
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	plan_add(&p, KM_OUTPUT, 10, 1, RINGBUF_NO_WAKEUP);
	plan_add(&p, KM_OUTPUT, 11, 2, RINGBUF_NO_WAKEUP);
	run_plan(&k, &p, &c);
	{
		uint64_t t0 = t_now_ns();

		CHECK_EQ(ringbuf_poll(rb, collect, l, 5000), 2);
		CHECK(t_now_ns() - t0 < 1000000000ull);
	}
	check_recs(l, 0, p.exp, 2, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 0), 0);
	list_clear(l);

	ringbuf_free(rb);
	kobj_free(&k);
	free(l);
}

static void test_blocked_poller(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct plan p;
	struct poller pl;
	struct list *l = calloc(1, sizeof(*l));
	uint64_t t0;
	int r;

	CHECK(l != NULL);
	kobj_load(&k);
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);
	plan_init(&p, 0);

	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(50);
	CHECK(!atomic_load(&pl.done));

	/* NO_WAKEUP: no notification */
	trigger(&k, &p, RINGBUF_NO_WAKEUP, 100);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	CHECK_EQ(atomic_load(&l->n), 0);

	/* adaptive while the consumer is behind (at 0): none either */
	trigger(&k, &p, 0, 200);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	trigger(&k, &p, 0, 333);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	CHECK_EQ(atomic_load(&l->n), 0);

	/* FORCE_WAKEUP: woken */
	trigger(&k, &p, RINGBUF_FORCE_WAKEUP, 777);
	CHECK(poller_wait(&pl, 2000));
	/* woken by the first forced record (the second may or may not be
	 * committed by then): everything before it is delivered */
	CHECK(pl.ret == 7 || pl.ret == 8);
	r = ringbuf_consume(rb, collect, l);
	CHECK_EQ(pl.ret + r, 8);
	CHECK_EQ(atomic_load(&l->n), 8);
	check_recs(l, 0, p.exp, 8, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	/* take the possibly queued second forced notification */
	CHECK_EQ(ringbuf_poll(rb, collect, l, 100), 0);

	/* a caught-up poller is woken by an adaptive record */
	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(50);
	CHECK(!atomic_load(&pl.done));
	t0 = t_now_ns();
	{
		struct km_ctx c;
		int first = p.n;

		plan_add(&p, KM_OUTPUT, 48, 900, 0);
		run_ops(&k, &p, first, first + 1, &c);
	}
	CHECK(poller_wait(&pl, 2000));
	CHECK(t_now_ns() - t0 < 2000000000ull);
	CHECK_EQ(pl.ret, 1);
	CHECK_EQ(atomic_load(&l->n), 9);
	check_recs(l, 0, p.exp, 9, &k);
	check_positions(rb, &k);

	/* ... and also by reserve/submit and by a discard at its position */
	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(30);
	CHECK(!atomic_load(&pl.done));
	trigger(&k, &p, 0, 1234);
	CHECK(poller_wait(&pl, 2000));
	CHECK(pl.ret >= 1);
	CHECK_EQ(pl.ret + ringbuf_consume(rb, collect, l), 2);
	CHECK_EQ(atomic_load(&l->n), 11);
	check_recs(l, 0, p.exp, 11, &k);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 100), 0); /* a possible second wakeup */

	/* a caught-up poller is not woken by a NO_WAKEUP record: it times out,
	 * then consumes it */
	poller_start(&pl, rb, l, 300);
	t_sleep_ms(30);
	t0 = t_now_ns();
	{
		struct km_ctx c;
		int first = p.n;

		plan_add(&p, KM_OUTPUT, 8, 901, RINGBUF_NO_WAKEUP);
		run_ops(&k, &p, first, first + 1, &c);
	}
	t_sleep_ms(100);
	CHECK(!atomic_load(&pl.done));
	CHECK(poller_wait(&pl, 3000));
	CHECK(t_now_ns() - t0 >= 240000000ull);
	CHECK_EQ(pl.ret, 1);
	CHECK_EQ(atomic_load(&l->n), 12);
	check_recs(l, 0, p.exp, 12, &k);
	check_positions(rb, &k);

	/* a timed-out poll with nothing delivers nothing */
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, collect, l, 50), 0);
	CHECK(t_now_ns() - t0 >= 45000000ull);

	ringbuf_free(rb);
	kobj_free(&k);
	list_clear(l);
	free(l);
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	kbpf_require();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_records();
	test_blocked_poller();
	printf("t_kmap_records: ok\n");
	return 0;
}
