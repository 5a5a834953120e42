/* SPDX-License-Identifier: MIT */
/*
 * t_corrupt_headers -- the t_corrupt tests of: test_bad_header, test_bad_prod, test_bad_cons, test_pg_off.
 * What they share, and the whole plan, are in tests/common/corrupt.h.
 */
#include "corrupt.h"

/* (a) a header running past producer_pos. */
static void test_bad_header(struct view *v)
{
	struct known k = { .v = v };
	uint32_t seq = 100;

	for (int variant = 0; variant < 7; variant++) {
		k_produce(&k, seq, five, 5);
		seq += 5;
		uint64_t prod = rv_load(&v->prod->producer_pos);
		uint32_t victim = variant < 5 ? 2 : 4;
		struct ringbuf_hdr *h = hdr_at(v, k.pos[victim]);
		uint32_t orig = h->len;
		CHECK_EQ(orig, k.size[victim]);
		uint32_t past = (uint32_t)(prod - k.pos[victim]); /* rounds to 8 too many */
		uint32_t bad[7] = {
			past,
			0x3fffffffu,
			RINGBUF_DISCARD_BIT | 0x3fffffffu,
			RINGBUF_DISCARD_BIT | past,
			(uint32_t)v->ds, /* larger than the whole ring */
			(uint32_t)(rv_rec_size(k.size[4]) - 8 + 1), /* rounds 8 past */
			past,
		};
		__atomic_store_n(&h->len, bad[variant], __ATOMIC_RELEASE);

		expect_badmsg(&k, "header past producer_pos");
		CHECK_EQ(k.delivered, victim);
		/* Again, and through the other entry points: no progress, no
		 * loop. */
		expect_badmsg(&k, "header past producer_pos, again");
		CHECK_EQ(ringbuf_consume_n(v->rb, known_cb, &k, 1), -EBADMSG);
		CHECK_EQ(ringbuf_poll(v->rb, known_cb, &k, 0), -EBADMSG);
		CHECK_EQ(ringbuf_poll(v->rb, known_cb, &k, 20), -EBADMSG);
		CHECK_EQ(k.delivered, victim);
		CHECK_EQ(rv_load(v->cons), k.pos[victim]);
		CHECK_EQ(rv_load(&v->prod->producer_pos), prod);

		/* The peer repairs it: the rest arrives. */
		__atomic_store_n(&h->len, orig, __ATOMIC_RELEASE);
		expect_rest(&k);
	}

	/* A BUSY header stops consumption whatever its length says; it is
	 * not delivered, nor anything behind it. */
	k_produce(&k, seq, five, 5);
	seq += 5;
	struct ringbuf_hdr *h = hdr_at(v, k.pos[2]);
	uint32_t orig = h->len;
	__atomic_store_n(&h->len, RINGBUF_BUSY_BIT | 0x3fffffffu, __ATOMIC_RELEASE);
	int r = ringbuf_consume(v->rb, known_cb, &k);
	CHECK(r == 2 || r == -EBADMSG);
	CHECK_EQ(k.delivered, 2);
	CHECK_EQ(rv_load(v->cons), k.pos[2]);
	__atomic_store_n(&h->len, orig, __ATOMIC_RELEASE);
	expect_rest(&k);
	printf("bad header: ok\n");
}

/* (b) misaligned producer_pos, (c) producer_pos too far ahead or behind. */
static void test_bad_prod(struct view *v)
{
	struct known k = { .v = v };
	uint32_t seq = 1000;
	const int64_t deltas[] = { 4, 1, 7, -4, -1 };

	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		k_produce(&k, seq, five, 5);
		seq += 5;
		uint64_t prod = rv_load(&v->prod->producer_pos);
		rv_store(&v->prod->producer_pos, prod + (uint64_t)deltas[i]);
		expect_badmsg(&k, "misaligned producer_pos");
		expect_badmsg(&k, "misaligned producer_pos, again");
		rv_store(&v->prod->producer_pos, prod);
		expect_rest(&k);
	}

	for (int i = 0; i < 6; i++) {
		k_produce(&k, seq, five, 5);
		seq += 5;
		uint64_t prod = rv_load(&v->prod->producer_pos), cons = rv_load(v->cons);
		const uint64_t bad[6] = { cons + v->ds + 8, cons + 2 * v->ds, cons + (1ULL << 63),
				    cons - 8, cons - v->ds, cons + v->ds + v->ds / 2 };
		rv_store(&v->prod->producer_pos, bad[i]);
		/* at most the batch (known_cb): stale data beyond prod is
		 * never delivered */
		expect_badmsg(&k, "producer_pos out of range");
		rv_store(&v->prod->producer_pos, prod);
		expect_rest(&k);
	}

	/* consumer_pos ahead of producer_pos is the same thing. */
	k_produce(&k, seq, five, 5);
	seq += 5;
	uint64_t cons = rv_load(v->cons), prod = rv_load(&v->prod->producer_pos);
	rv_store(v->cons, prod + 8);
	CHECK_EQ(ringbuf_consume(v->rb, known_cb, &k), -EBADMSG);
	CHECK_EQ(k.delivered, 0);
	CHECK_EQ(rv_load(v->cons), prod + 8);
	rv_store(v->cons, cons);
	expect_rest(&k);
	printf("bad producer_pos: ok\n");
}

/* (d) misaligned consumer_pos. */
static void test_bad_cons(struct view *v)
{
	struct known k = { .v = v };
	uint32_t seq = 2000;
	const uint64_t deltas[] = { 4, 1, 7, (uint64_t)-4 };

	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		k_produce(&k, seq, five, 5);
		seq += 5;
		uint64_t cons = rv_load(v->cons);
		rv_store(v->cons, cons + deltas[i]);
		int r = ringbuf_consume(v->rb, known_cb, &k);
		CHECK_EQ(r, -EBADMSG);
		CHECK_EQ(k.delivered, 0);
		CHECK_EQ(rv_load(v->cons), cons + deltas[i]); /* not "repaired" forward */
		CHECK_EQ(ringbuf_poll(v->rb, known_cb, &k, 0), -EBADMSG);
		CHECK_EQ(k.delivered, 0);
		rv_store(v->cons, cons);
		expect_rest(&k);
	}
	printf("bad consumer_pos: ok\n");
}

static void test_pg_off(struct view *v)
{
	uint64_t rng = 0x13198A2E03707344ULL;
	struct known k = { .v = v };

	for (int i = 0; i < 50; i++) {
		uint64_t pos = rv_load(&v->prod->producer_pos);
		size_t size = 8 + (size_t)(t_rand(&rng) % 300);
		uint8_t *p = ringbuf_reserve(v->rb, size, 0);
		CHECK(p != NULL);
		uint32_t seq = 4000 + (uint32_t)i, inv = ~seq;
		memcpy(p, &seq, 4);
		memcpy(p + 4, &inv, 4);
		for (size_t j = 8; j < size; j++)
			p[j] = pat(seq, j);

		/* a second, discarded reservation behind it */
		uint64_t pos2 = rv_load(&v->prod->producer_pos);
		uint8_t *q = ringbuf_reserve(v->rb, 24, 0);
		CHECK(q != NULL);

		uint32_t garbage[] = { 0, 1, 2, 3, 0xffffffffu, 0x7fffffffu,
				       (uint32_t)t_rand(&rng) };
		hdr_at(v, pos)->pg_off = garbage[i % 7];
		hdr_at(v, pos2)->pg_off = garbage[(i + 3) % 7];
		if (i % 2) {
			ringbuf_submit(p, 0);
			ringbuf_discard(q, 0);
		} else {
			ringbuf_discard(q, 0);
			ringbuf_submit(p, 0);
		}
		CHECK_EQ(hdr_at(v, pos)->len, (uint32_t)size);
		CHECK_EQ(hdr_at(v, pos2)->len, RINGBUF_DISCARD_BIT | 24u);

		k.first = seq;
		k.n = 1;
		k.delivered = 0;
		k.pos[0] = pos;
		k.size[0] = size;
		CHECK_EQ(ringbuf_consume(v->rb, known_cb, &k), 1);
		CHECK_EQ(k.delivered, 1);
		CHECK_EQ(rv_load(v->cons), pos2 + rv_rec_size(24));
		CHECK_EQ(rv_load(v->cons), rv_load(&v->prod->producer_pos));
	}
	printf("pg_off garbage: ok\n");
}

int main(void)
{
	struct view v;

	corrupt_begin(&v);
	g_phase = "bad header";
	test_bad_header(&v);
	g_phase = "bad producer_pos";
	test_bad_prod(&v);
	g_phase = "bad consumer_pos";
	test_bad_cons(&v);
	g_phase = "pg_off";
	test_pg_off(&v);
	CHECK_EQ(v.meta->magic, RINGBUF_MAGIC);
	CHECK_EQ(v.meta->version, RINGBUF_LAYOUT_VERSION);
	CHECK_EQ(v.meta->data_size, v.ds);
	view_close(&v);
	return T_PASS;
}
