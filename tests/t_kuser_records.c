/* SPDX-License-Identifier: MIT */
/*
 * t_kuser_records -- the t_kuser tests of: test_records, test_raw, test_threads.
 * What they share, and the whole plan, are in tests/common/kuser_run.h.
 */
#include "kuser_run.h"

static void test_records(void)
{
	static const uint32_t sizes[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 100, 255, 256, 1000 };
	struct expect e = { 0 };
	struct kobj k;
	struct ringbuf *rb;
	uint64_t seed = 99, at;
	unsigned char *p, *q;
	struct ku_ctx c;
	int n;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);

	/* every size through every path; discarded records are skipped */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		out_rec(rb, &e, sizes[i], (uint32_t)i, wflags[i % 3]);
		res_rec(rb, &e, sizes[i], (uint32_t)i + 100, wflags[(i + 1) % 3], false);
		res_rec(rb, &e, sizes[i], (uint32_t)i + 200, wflags[(i + 2) % 3], true);
	}
	CHECK(e.ring_bytes < SZ);
	drain_check(&k, rb, &e);

	/* large ones */
	out_rec(rb, &e, 4000, 1, 0);
	res_rec(rb, &e, 8000, 2, 0, false);
	res_rec(rb, &e, 1000, 3, 0, true);
	out_rec(rb, &e, 3000, 4, 0);
	drain_check(&k, rb, &e);

	/* many random rounds: positions go round the ring many times, so
	 * records wrap at the end of the data area in every way */
	for (int round = 0; round < 60; round++) {
		for (;;) {
			uint64_t s = t_rand(&seed) % (round & 1 ? 2000 : 120);

			if (e.ring_bytes + rv_rec_size(s) > SZ)
				break;
			switch (t_rand(&seed) % 3) {
			case 0:
				out_rec(rb, &e, s, (uint32_t)t_rand(&seed), wflags[round % 3]);
				break;
			case 1:
				res_rec(rb, &e, s, (uint32_t)t_rand(&seed), 0, false);
				break;
			default:
				res_rec(rb, &e, s, (uint32_t)t_rand(&seed), 0, t_rand(&seed) & 1);
				break;
			}
		}
		drain_check(&k, rb, &e);
	}
	CHECK(ringbuf_query(rb, RINGBUF_PROD_POS) > 40 * (uint64_t)SZ);

	/* a record whose header is the last 8 bytes, one straddling the end */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t to_end = SZ - (ringbuf_query(rb, RINGBUF_PROD_POS) & (SZ - 1));
		uint64_t gap = pass ? 40 : 8;

		if (to_end < gap + 8) {
			out_rec(rb, &e, to_end - 8, 5, 0);
			drain_check(&k, rb, &e);
			to_end = SZ;
		}
		out_rec(rb, &e, to_end - gap - 8, 6, 0);
		drain_check(&k, rb, &e);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS) & (SZ - 1), SZ - gap);
		out_rec(rb, &e, 500, 7, 0);
		res_rec(rb, &e, 20, 8, 0, false);
		drain_check(&k, rb, &e);
	}

	/* a BUSY record holds back those behind it */
	at = ringbuf_query(rb, RINGBUF_PROD_POS);
	p = ringbuf_reserve(rb, 16, 0);
	CHECK(p != NULL);
	fill(p, 16, 1);
	q = ringbuf_reserve(rb, 24, 0);
	CHECK(q != NULL);
	fill(q, 24, 2);
	ringbuf_submit(q, 0);
	fill(src, 5, 3);
	CHECK_EQ(ringbuf_output(rb, src, 5, 0), 0);
	c = drain(&k);
	CHECK_EQ(c.ret, 0);
	CHECK_EQ(c.cnt, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), at);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), at + rv_rec_size(16) + rv_rec_size(24) + rv_rec_size(5));
	expect_rec(&e, p, 16);
	expect_rec(&e, q, 24);
	expect_rec(&e, src, 5);
	ringbuf_submit(p, 0);
	errno = 0;
	ringbuf_submit(p, 0); /* committed twice: ignored */
	CHECK_EQ(errno, EINVAL);
	drain_check(&k, rb, &e);

	/* a discarded record at the head, then a submitted one */
	p = ringbuf_reserve(rb, 100, 0);
	CHECK(p != NULL);
	out_rec(rb, &e, 10, 4, 0);
	ringbuf_discard(p, 0);
	e.ring_bytes += rv_rec_size(100);
	drain_check(&k, rb, &e);

	/* the callback stopping the drain early (returns 1 after 2) */
	for (int i = 0; i < 5; i++)
		out_rec(rb, &e, 8 + (uint64_t)i, (uint32_t)i, 0);
	c = drain_ex(&k, 0, false, 2);
	CHECK_EQ(c.ret, 2);
	CHECK_EQ(c.cnt, 2);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), rv_rec_size(10) + rv_rec_size(11) + rv_rec_size(12));
	memmove(e.len, e.len + 2, 3 * sizeof(e.len[0]));
	memmove(e.fnv, e.fnv + 2, 3 * sizeof(e.fnv[0]));
	e.n = 3;
	e.bytes = 10 + 11 + 12;
	e.sum = (uint64_t)e.fnv[0] + e.fnv[1] + e.fnv[2];
	e.ring_bytes = rv_rec_size(10) + rv_rec_size(11) + rv_rec_size(12);
	drain_check(&k, rb, &e);

	/* argument errors: nothing written */
	{
		uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS);

		CHECK_EQ(ringbuf_output(rb, src, 8, 4), -EINVAL);
		CHECK_EQ(ringbuf_output(rb, NULL, 8, 0), -EINVAL);
		CHECK_NULL_ERR(ringbuf_reserve(rb, 8, 1), EINVAL);
		CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 8, -2), EINVAL);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	}

	/* a record that fills the ring exactly: accepted on an empty ring */
	out_rec(rb, &e, SZ - 8, 9, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), SZ);
	CHECK_EQ(ringbuf_output(rb, src, 0, 0), -EAGAIN); /* full */
	drain_check(&k, rb, &e);
	res_rec(rb, &e, SZ - 15, 10, 0, false); /* round_up(SZ - 7, 8) == SZ */
	drain_check(&k, rb, &e);
	/* ... but not on a ring with 8 bytes in it */
	out_rec(rb, &e, 0, 0, 0);
	CHECK_EQ(ringbuf_output(rb, src, SZ - 8, 0), -EAGAIN);
	CHECK_NULL_ERR(ringbuf_reserve(rb, SZ - 8, 0), EAGAIN);
	out_rec(rb, &e, SZ - 16, 11, 0); /* the rest of it */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), SZ);
	drain_check(&k, rb, &e);

	/* larger than the ring: never */
	{
		uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS), t0;

		CHECK_EQ(ringbuf_output(rb, src, SZ - 7, 0), -E2BIG);
		CHECK_EQ(ringbuf_output(rb, src, SZ, 0), -E2BIG);
		CHECK_EQ(ringbuf_output(rb, src, (uint64_t)UINT32_MAX / 4 + 1, 0), -E2BIG);
		CHECK_EQ(ringbuf_output(rb, src, UINT64_MAX, 0), -E2BIG);
		CHECK_NULL_ERR(ringbuf_reserve(rb, SZ - 7, 0), E2BIG);
		t0 = t_now_ns();
		CHECK_NULL_ERR(ringbuf_reserve_wait(rb, SZ - 7, 2000), E2BIG);
		CHECK(t_now_ns() - t0 < 1000000000ull);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	}

	/* fill until EAGAIN: 32-byte records fill it exactly */
	n = 0;
	for (;;) {
		long r;

		fill(src, 24, (uint32_t)n);
		r = ringbuf_output(rb, src, 24, 0);
		if (r == -EAGAIN)
			break;
		CHECK_EQ(r, 0);
		expect_rec(&e, src, 24);
		n++;
		CHECK(n <= SZ / 32);
	}
	CHECK_EQ(n, SZ / 32);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), SZ);
	CHECK_NULL_ERR(ringbuf_reserve(rb, 0, 0), EAGAIN);
	drain_check(&k, rb, &e);
	out_rec(rb, &e, 24, 1, 0); /* space is back */
	drain_check(&k, rb, &e);

	/* 112-byte records leave 32 bytes: another 100 does not fit, a 24 does */
	n = 0;
	while (ringbuf_output(rb, src, 100, 0) == 0) {
		expect_rec(&e, src, 100);
		n++;
		CHECK(n <= SZ / 112);
	}
	CHECK_EQ(n, SZ / 112);
	CHECK_EQ(ringbuf_output(rb, src, 100, 0), -EAGAIN);
	out_rec(rb, &e, 24, 2, 0);
	CHECK_EQ(ringbuf_output(rb, src, 0, 0), -EAGAIN);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), SZ);
	drain_check(&k, rb, &e);

	ringbuf_free(rb);
	kobj_free(&k);
}

static void test_threads(void)
{
	const long expected = NTHREADS * (PER_THREAD - PER_THREAD / 10);
	struct kobj k;
	struct ringbuf *out;
	pthread_t th[NTHREADS];
	struct mt_arg args[NTHREADS];
	struct mt *mt = calloc(1, sizeof(*mt));
	uint64_t t0 = t_now_ns();
	long drained = 0, runs = 0;

	CHECK(mt != NULL);
	kobj_load(&k);
	mt->rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(mt->rb != NULL);
	out = ringbuf_map_open(k.out_fd, NULL);
	CHECK(out != NULL);
	for (uint32_t i = 0; i < NTHREADS; i++) {
		args[i] = (struct mt_arg){ mt, i };
		CHECK(pthread_create(&th[i], NULL, kuser_mt_producer, &args[i]) == 0);
	}
	for (;;) {
		bool done = atomic_load(&mt->finished) == NTHREADS;
		struct ku_ctx c = drain_ex(&k, 0, true, 0);
		int n;

		runs++;
		CHECK(c.ret >= 0);
		CHECK_EQ(c.ret, c.cnt);
		drained += (long)c.cnt;
		n = ringbuf_consume(out, mt_check, mt);
		CHECK_EQ(n, c.cnt);
		if (done && c.cnt == 0)
			break;
		CHECK(t_now_ns() - t0 < 20000000000ull);
	}
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	CHECK_EQ(drained, expected);
	CHECK_EQ(mt->seen, expected);
	for (int i = 0; i < NTHREADS; i++) {
		while (mt->next[i] < PER_THREAD && mrec_discarded(mt->next[i]))
			mt->next[i]++;
		CHECK_EQ(mt->next[i], PER_THREAD);
	}
	CHECK_EQ(atomic_load(&mt->timeouts), 0);
	CHECK_EQ(ringbuf_query(mt->rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(out, RINGBUF_AVAIL_DATA), 0);
	CHECK(runs > 1);
	ringbuf_free(out);
	ringbuf_free(mt->rb);
	kobj_free(&k);
	free(mt);
}

static void test_raw(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct raw w;
	struct expect e = { 0 };
	uint64_t base;
	void *p;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);

	/* the kernel lets user space map the consumer page read-only only */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, k.urb_fd, 0);
	CHECK(p == MAP_FAILED);
	w.cons_map = mmap(NULL, page, PROT_READ, MAP_SHARED, k.urb_fd, 0);
	CHECK(w.cons_map != MAP_FAILED);
	w.rest_len = page + 2 * (size_t)SZ;
	w.rest_map = mmap(NULL, w.rest_len, PROT_READ | PROT_WRITE, MAP_SHARED, k.urb_fd,
			  (off_t)page);
	CHECK(w.rest_map != MAP_FAILED);
	w.cons = w.cons_map;
	w.prod = w.rest_map;
	w.data = (unsigned char *)w.rest_map + page;

	/* move off position 0 first, through ringbuf */
	for (int i = 0; i < 7; i++)
		out_rec(rb, &e, 100 + (uint64_t)i, (uint32_t)i, 0);
	drain_check(&k, rb, &e);
	base = raw_cons(&w);
	CHECK_EQ(base, ringbuf_query(rb, RINGBUF_PROD_POS));
	CHECK_EQ(*w.prod, base);

	/* sanity: a well-formed hand-written record is drained */
	memset(w.data + (base & (SZ - 1)) + 8, 0x5a, 16);
	raw_hdr(&w, base, 16);
	raw_prod(&w, base + 24);
	raw_case(&k, &w, "well-formed 16-byte record:", 1, 1, 24);
	CHECK_EQ(k.log->len[0], 16);
	base += 24;

	/* misaligned producer_pos */
	raw_hdr(&w, base, 4);
	raw_prod(&w, base + 20);
	raw_case(&k, &w, "producer_pos misaligned (cons + 20):", -EINVAL, 0, 0);
	/* ringbuf refuses to produce into it, and writes nothing */
	CHECK_EQ(ringbuf_output(rb, src, 8, 0), -EBADMSG);
	CHECK_NULL_ERR(ringbuf_reserve(rb, 8, 0), EBADMSG);
	CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 8, 500), EBADMSG);
	CHECK_EQ(*w.prod, base + 20);

	/* a header whose length runs past producer_pos */
	raw_hdr(&w, base, 100);
	raw_prod(&w, base + 16);
	raw_case(&k, &w, "len 100 with producer_pos = cons + 16:", -EINVAL, 0, 0);
	raw_hdr(&w, base, 9); /* round_up(9 + 8, 8) = 24 > 16 */
	raw_case(&k, &w, "len 9 with producer_pos = cons + 16:", -EINVAL, 0, 0);

	/* a record larger than the ring (producer_pos far enough ahead) */
	raw_hdr(&w, base, SZ);
	raw_prod(&w, base + 2 * (uint64_t)SZ);
	raw_case(&k, &w, "len = ring size, producer_pos = cons + 2*size:", -E2BIG, 0, 0);
	CHECK_EQ(ringbuf_output(rb, src, 8, 0), -EBADMSG); /* prod - cons > size */
	raw_hdr(&w, base, SZ - 7); /* total SZ + 8 */
	raw_prod(&w, base + SZ + 8);
	raw_case(&k, &w, "len = size - 7, producer_pos = cons + size + 8:", -E2BIG, 0, 0);
	raw_hdr(&w, base, 1u << 29);
	raw_prod(&w, base + (2ull << 29));
	raw_case(&k, &w, "len = 2^29, producer_pos = cons + 2^30:", -E2BIG, 0, 0);

	/* producer_pos behind consumer_pos: nothing to drain */
	raw_hdr(&w, base, 8);
	raw_prod(&w, base - 8);
	raw_case(&k, &w, "producer_pos = cons - 8:", 0, 0, 0);
	CHECK_EQ(ringbuf_output(rb, src, 8, 0), -EBADMSG);

	/* a BUSY header stops the drain */
	raw_hdr(&w, base, 16 | RINGBUF_BUSY_BIT);
	raw_prod(&w, base + 24);
	raw_case(&k, &w, "BUSY 16-byte record:", 0, 0, 0);
	raw_hdr(&w, base, 16 | RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
	raw_case(&k, &w, "BUSY|DISCARD 16-byte record:", 0, 0, 24);
	base += 24;

	/* a DISCARD header is skipped (consumed, not delivered) */
	raw_hdr(&w, base, 16 | RINGBUF_DISCARD_BIT);
	raw_prod(&w, base + 24);
	raw_case(&k, &w, "DISCARD 16-byte record:", 0, 0, 24);
	base += 24;

	/* a good record then a bad one: the good one is consumed, the drain
	 * returns the error */
	raw_hdr(&w, base, 8);
	raw_hdr(&w, base + 16, 1000);
	raw_prod(&w, base + 32);
	raw_case(&k, &w, "good 8-byte record, then len 1000 past prod:", -EINVAL, 1, 16);
	base += 16;

	/* restore a sane state: producer_pos back to consumer_pos */
	CHECK_EQ(raw_cons(&w), base);
	raw_prod(&w, base);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	memset(&e, 0, sizeof(e));
	out_rec(rb, &e, 40, 77, 0);
	res_rec(rb, &e, 300, 78, 0, false);
	drain_check(&k, rb, &e);
	CHECK_EQ(fill_up(rb), SZ / 32);
	CHECK_EQ(drain(&k).ret, SZ / 32);
	CHECK_EQ(raw_cons(&w), ringbuf_query(rb, RINGBUF_PROD_POS));

	munmap(w.cons_map, page);
	munmap(w.rest_map, w.rest_len);
	ringbuf_free(rb);
	kobj_free(&k);
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	kbpf_require();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_records();
	test_raw();
	test_threads();
	printf("t_kuser_records: ok\n");
	return 0;
}
