/* SPDX-License-Identifier: MIT */
/*
 * t_corrupt_hostile -- the t_corrupt tests of: test_hostile_cons, test_read_once, test_random.
 * What they share, and the whole plan, are in tests/common/corrupt.h.
 */
#include "corrupt.h"

static void test_hostile_cons(struct view *v)
{
	struct snap s;
	uint64_t rng = 0x243F6A8885A308D3ULL;
	unsigned ok = 0, again = 0;

	s.meta = malloc(g_page);
	s.cpage = malloc(g_page);
	s.ppage = malloc(g_page);
	s.data = malloc(v->ds);
	CHECK(s.meta && s.cpage && s.ppage && s.data);

	uint64_t good_cons = rv_load(v->cons);
	CHECK_EQ(good_cons, rv_load(&v->prod->producer_pos));
	fill_canaries(v);

	for (int it = 0; it < 4000; it++) {
		uint64_t prod = rv_load(&v->prod->producer_pos);
		uint64_t r = t_rand(&rng), c;
		uint64_t k = 1 + t_rand(&rng) % 3, d = t_rand(&rng) % (v->ds / 8) * 8;
		switch (r % 9) {
		case 0: c = prod + k * v->ds; break;
		case 1: c = prod - k * v->ds; break;
		case 2: c = prod + d; break;
		case 3: c = prod - d; break;
		case 4: c = t_rand(&rng); break;
		case 5: c = t_rand(&rng) & ~7ULL; break;
		case 6: c = prod + 4; break;
		case 7: c = prod - v->ds + 8; break;
		default: c = prod; break;
		}
		rv_store(v->cons, c);
		fill_data(v);
		uint64_t before = rv_load(&v->prod->producer_pos);
		hostile_op(v, &s, &rng);
		if (rv_load(&v->prod->producer_pos) != before)
			ok++;
		else
			again++;
	}
	CHECK(ok > 0 && again > 0);

	/* CVE-2024-41009: an outstanding reservation, then the consumer claims
	 * to be past it.  Nothing may be reserved over it. */
	for (int round = 0; round < 20; round++) {
		uint64_t prod = rv_load(&v->prod->producer_pos);
		rv_store(v->cons, prod);
		size_t asz = 64 + (size_t)(t_rand(&rng) % 512);
		uint8_t *a = ringbuf_reserve(v->rb, asz, 0);
		CHECK(a != NULL);
		memset(a, 0x77, asz);
		uint64_t apos = prod, aend = prod + rv_rec_size(asz);
		rv_store(v->cons, aend + (uint64_t)round * 8); /* "consumed" past A */
		for (int j = 0; j < 200; j++) {
			uint64_t pos = rv_load(&v->prod->producer_pos);
			if (t_rand(&rng) % 4 == 0)
				rv_store(v->cons, pos - (t_rand(&rng) % (v->ds / 8)) * 8);
			size_t sz = (size_t)(t_rand(&rng) % 700);
			uint8_t *p = ringbuf_reserve(v->rb, sz, 0);
			if (!p) {
				CHECK_EQ(errno, EAGAIN);
				continue;
			}
			/* [pos, pos + rec) must not overlap A in the ring. */
			CHECK(pos + rv_rec_size(sz) - apos <= v->ds);
			memset(p, 0x99, sz);
			ringbuf_submit(p, RINGBUF_NO_WAKEUP);
		}
		CHECK_EQ(hdr_at(v, apos)->len, RINGBUF_BUSY_BIT | (uint32_t)asz);
		for (size_t j = 0; j < asz; j++)
			CHECK_EQ(a[j], 0x77);
		ringbuf_submit(a, RINGBUF_NO_WAKEUP);
		CHECK_EQ(hdr_at(v, apos)->len, (uint32_t)asz);
		check_positions(v);
	}

	/* Back to sanity: the ring still works. */
	uint64_t prod = rv_load(&v->prod->producer_pos);
	rv_store(v->cons, prod);
	struct known kk = { .v = v };
	k_produce(&kk, 3000, five, 5);
	expect_rest(&kk);
	free(s.meta);
	free(s.cpage);
	free(s.ppage);
	free(s.data);
	printf("hostile consumer_pos: %u reserved, %u refused\n", ok, again);
}

static void test_read_once(struct view *v)
{
	struct known k = { .v = v };
	size_t sizes[12];

	for (int i = 0; i < 12; i++)
		sizes[i] = 8 + (size_t)i * 29;
	k_produce(&k, 6000, sizes, 12);
	CHECK_EQ(ringbuf_consume(v->rb, tamper_cb, &k), 12);
	CHECK_EQ(k.delivered, 12);
	CHECK_EQ(rv_load(v->cons), rv_load(&v->prod->producer_pos));
	/* Put the headers back: producers may still walk pending_pos over
	 * these consumed records (a BUSY one would stall them, by design). */
	for (uint32_t i = 0; i < 12; i++)
		__atomic_store_n(&hdr_at(v, k.pos[i])->len, (uint32_t)k.size[i], __ATOMIC_RELEASE);

	/* Identity fields rewritten by a peer after we attached: this
	 * process keeps using the geometry it validated. */
	struct ringbuf_shm_meta saved = *v->meta;
	v->meta->data_size = 2 * v->ds;
	v->meta->page_size = (uint32_t)g_page * 4;
	v->meta->magic = 0;
	v->meta->version = 99;
	CHECK_EQ(ringbuf_query(v->rb, RINGBUF_RING_SIZE), v->ds);
	for (int round = 0; round < 8; round++) { /* several laps of the ring */
		for (int i = 0; i < 12; i++)
			sizes[i] = 8 + (size_t)((i * 37 + round * 11) % 900);
		k_produce(&k, 7000 + (uint32_t)round * 12, sizes, 12);
		for (uint32_t i = 0; i < 12; i++)
			CHECK(k.pos[i] + rv_rec_size(sizes[i]) - rv_load(v->cons) < v->ds);
		expect_rest(&k);
	}
	v->meta->magic = saved.magic;
	v->meta->version = saved.version;
	v->meta->page_size = saved.page_size;
	v->meta->data_size = saved.data_size;
	printf("read once: ok\n");
}

static void test_random(struct view *v)
{
	const char *e = getenv("T_SEED");
	g_seed = e ? strtoull(e, NULL, 0) : 0x5DEECE66DULL;
	if (!g_seed)
		g_seed = 1;
	e = getenv("T_ITERS");
	long iters = e ? strtol(e, NULL, 0) : 30000;
	uint64_t rng = g_seed;
	unsigned long delivered = 0, badmsg = 0, good = 0;
	uint8_t *outstanding = NULL;
	struct rstate rs = { .v = v, .rng = &rng };

	g_phase = "random scribbles (seed printed above)";
	fprintf(stderr, "t_corrupt: random phase, T_SEED=%llu\n", (unsigned long long)g_seed);
	alarm(30 + (unsigned)(iters / 2000));
	for (g_iter = 0; g_iter < iters; g_iter++) {
		int nops = (int)(t_rand(&rng) % 5);
		for (int i = 0; i < nops; i++)
			random_produce(v, &rng, &outstanding);

		int nscr = (int)(t_rand(&rng) % 4);
		for (int i = 0; i < nscr; i++)
			scribble(v, &rng);

		uint64_t cons0 = rv_load(v->cons), prod0 = rv_load(&v->prod->producer_pos);
		bool sane = cons0 % 8 == 0 && prod0 % 8 == 0 && prod0 - cons0 <= v->ds;
		rs.calls = 0;
		rs.cancelled = false;
		int ret;
		switch (t_rand(&rng) % 3) {
		case 0: ret = ringbuf_consume(v->rb, random_cb, &rs); break;
		case 1: ret = ringbuf_consume_n(v->rb, random_cb, &rs, t_rand(&rng) % 6); break;
		default: ret = ringbuf_poll(v->rb, random_cb, &rs, 0); break;
		}
		if (ret < 0 && ret != -EBADMSG && !(rs.cancelled && ret == -ECANCELED))
			fprintf(stderr, "consume returned %d\n", ret);
		GCHECK(ret >= 0 || ret == -EBADMSG || (rs.cancelled && ret == -ECANCELED));
		if (ret >= 0)
			GCHECK((unsigned)ret == rs.calls);
		delivered += rs.calls;
		badmsg += ret == -EBADMSG;
		uint64_t cons1 = rv_load(v->cons);
		if (sane) {
			/* never consumed past producer_pos, never backwards */
			GCHECK(cons1 % 8 == 0);
			GCHECK(cons1 - cons0 <= prod0 - cons0);
			good++;
		} else if (cons0 % 8) {
			GCHECK(cons1 == cons0);
		}

		if (outstanding && t_rand(&rng) % 2) {
			if (t_rand(&rng) % 2)
				ringbuf_submit(outstanding, t_rand(&rng) % 3);
			else
				ringbuf_discard(outstanding, t_rand(&rng) % 3);
			outstanding = NULL;
		}
		if (!outstanding && (ret == -EBADMSG || t_rand(&rng) % 4 == 0)) {
			/* The peer behaves again: an empty, consistent ring. */
			uint64_t p = (rv_load(&v->prod->producer_pos) & ~7ULL) +
				     (t_rand(&rng) % 2) * 8;
			rv_store(&v->prod->producer_pos, p);
			rv_store(&v->prod->pending_pos, p);
			rv_store(v->cons, p);
		}
	}
	alarm(0);
	if (outstanding)
		ringbuf_discard(outstanding, 0);
	g_iter = -1;
	CHECK(badmsg > 0 && delivered > 0 && good > 0);

	/* After all that, a repaired ring works exactly. */
	uint64_t p = rv_load(&v->prod->producer_pos) & ~7ULL;
	rv_store(&v->prod->producer_pos, p);
	rv_store(&v->prod->pending_pos, p);
	rv_store(v->cons, p);
	struct known k = { .v = v };
	k_produce(&k, 5000, five, 5);
	expect_rest(&k);
	printf("random: seed %llu, %ld iterations, %lu delivered, %lu -EBADMSG\n",
	       (unsigned long long)g_seed, iters, delivered, badmsg);
}

int main(void)
{
	struct view v;

	corrupt_begin(&v);
	g_phase = "hostile consumer_pos";
	test_hostile_cons(&v);
	g_phase = "read once";
	test_read_once(&v);
	view_close(&v);

	view_open(&v, 4 * g_page);
	test_random(&v);
	CHECK_EQ(v.meta->magic, RINGBUF_MAGIC);
	CHECK_EQ(v.meta->version, RINGBUF_LAYOUT_VERSION);
	CHECK_EQ(v.meta->data_size, v.ds);
	view_close(&v);
	return T_PASS;
}
