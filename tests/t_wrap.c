/* SPDX-License-Identifier: MIT */
/*
 * t_wrap -- records at the end of the data area and positions at the edges
 * of integer ranges.
 *
 * (a) a record starting at every 8-byte offset of the last 512 bytes of the
 *     data area, for several sizes: delivered exactly and contiguously, and
 *     placed where the layout says (checked through our own mapping);
 *     plus a long random stream through the public API only.
 * (b) free-running positions started just below 2^31, 2^32, 2^63 and 2^64:
 *     a random workload checked step by step against a model (records,
 *     query values, which reservations fail with -EAGAIN), and exact
 *     full-ring detection right across each boundary.
 * (c) the hint that lets a small record skip the pending_pos walk never
 *     skips a BUSY record, even where producer_pos meets a stale hint.
 *
 * Positions are set by writing consumer_pos, producer_pos and pending_pos of
 * a quiescent ring through our own mapping of ringbuf_fd(); the library reads
 * them from shared memory on every call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

static size_t page;

static unsigned char pat(uint32_t seq, size_t i)
{
	return (unsigned char)((seq * 0x9E3779B1u + (uint32_t)i * 2654435761u + (uint32_t)(i >> 8)) >> 24);
}

static void fill(void *p, size_t n, uint32_t seq)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = pat(seq, i);
}

static bool matches(const void *p, size_t n, uint32_t seq)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(seq, i))
			return false;
	return true;
}

/* ---- our own mapping of the ring (ringview.h) ----------------------------- */

/* Only for a quiescent ring: no reservation outstanding, all consumed. */
static void set_positions(struct ringview *v, uint64_t x)
{
	__atomic_store_n(v->pend, x, __ATOMIC_RELEASE);
	__atomic_store_n(v->prod, x, __ATOMIC_RELEASE);
	__atomic_store_n(v->cons, x, __ATOMIC_RELEASE);
}

/* The payload of the record at @pos, read with explicit wrap-around. */
static bool view_matches(const struct ringview *v, uint64_t pos, size_t size, uint32_t seq)
{
	for (size_t i = 0; i < size; i++)
		if (v->data[(pos + RINGBUF_HDR_SZ + i) & (v->size - 1)] != pat(seq, i))
			return false;
	return true;
}

static void check_placed(const struct ringview *v, uint64_t pos, uint32_t len)
{
	struct ringbuf_hdr h = rv_hdr(v, pos);
	/* pg_off: the kernel's once committed; the owner's pid while BUSY */
	size_t want_pg = len & RINGBUF_BUSY_BIT ? (size_t)getpid()
		       : (size_t)(RINGBUF_SHM_DATA_PAGE + (pos & (v->size - 1)) / page);
	if (h.len != len || h.pg_off != want_pg) {
		fprintf(stderr, "record at pos %#llx: header {len %#x, pg_off %u}, want {%#x, %zu}\n",
			(unsigned long long)pos, h.len, h.pg_off, len, want_pg);
		exit(T_FAIL);
	}
}

static void check_positions(struct ringbuf *rb, uint64_t prod, uint64_t cons)
{
	uint64_t qp = ringbuf_query(rb, RINGBUF_PROD_POS);
	uint64_t qc = ringbuf_query(rb, RINGBUF_CONS_POS);
	uint64_t qa = ringbuf_query(rb, RINGBUF_AVAIL_DATA);
	if (qp != prod || qc != cons || qa != prod - cons) {
		fprintf(stderr,
			"query: prod %#llx cons %#llx avail %#llx; want prod %#llx cons %#llx avail %#llx\n",
			(unsigned long long)qp, (unsigned long long)qc, (unsigned long long)qa,
			(unsigned long long)prod, (unsigned long long)cons,
			(unsigned long long)(prod - cons));
		exit(T_FAIL);
	}
}

/* ---- (a) one record at each offset near the end --------------------------- */

struct one {
	uint32_t seq;
	size_t size;
	int got;
};

static int one_cb(void *ctx, void *data, size_t size)
{
	struct one *o = ctx;
	CHECK(((uintptr_t)data & 7) == 0);
	CHECK_EQ(size, o->size);
	CHECK(matches(data, size, o->seq)); /* reads it contiguously */
	o->got++;
	return 0;
}

static void test_end_offsets(void)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct ringview v;
	rv_map(&v, rb, RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE); /* data read-only */
	static unsigned char buf[1 << 20];
	const uint64_t sizes[] = { 0, 1, 7, 8, 9, 100, 504, 505, D / 4, D / 2 + 3, D - 16 };
	uint32_t seq = 0;
	int n_split = 0;

	for (uint64_t o = 0; o <= 512; o += 8) {
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			uint64_t size = sizes[si];
			/* vary the lap too, so positions are not all below D */
			uint64_t x = (uint64_t)seq * D + D - o;
			set_positions(&v, x);
			check_positions(rb, x, x);

			struct one want = { .seq = seq, .size = size };
			if (seq & 1) {
				fill(buf, size, seq);
				CHECK_EQ(ringbuf_output(rb, buf, size, 0), 0);
			} else {
				unsigned char *p = ringbuf_reserve(rb, size, 0);
				CHECK(p != NULL);
				CHECK(((uintptr_t)p & 7) == 0);
				check_placed(&v, x, (uint32_t)size | RINGBUF_BUSY_BIT);
				fill(p, size, seq); /* writes it contiguously */
				ringbuf_submit(p, 0);
			}
			check_placed(&v, x, (uint32_t)size);
			/* the bytes really wrap around to the start of the data */
			CHECK(view_matches(&v, x, size, seq));
			if ((x & (D - 1)) + RINGBUF_HDR_SZ + size > D)
				n_split++;
			check_positions(rb, x + rv_rec_size(size), x);

			CHECK_EQ(ringbuf_consume(rb, one_cb, &want), 1);
			CHECK_EQ(want.got, 1);
			check_positions(rb, x + rv_rec_size(size), x + rv_rec_size(size));
			CHECK_EQ(*v.cons, x + rv_rec_size(size));
			seq++;
		}
	}
	CHECK(n_split > 100);

	/* a discarded record across the end, followed by a real one */
	for (uint64_t o = 8; o <= 64; o += 8) {
		uint64_t x = 3 * D - o;
		set_positions(&v, x);
		unsigned char *p = ringbuf_reserve(rb, 40, 0);
		CHECK(p != NULL);
		memset(p, 0xff, 40);
		ringbuf_discard(p, 0);
		check_placed(&v, x, 40 | RINGBUF_DISCARD_BIT);
		fill(buf, 33, seq);
		CHECK_EQ(ringbuf_output(rb, buf, 33, 0), 0);
		check_placed(&v, x + 48, 33);
		struct one want = { .seq = seq++, .size = 33 };
		CHECK_EQ(ringbuf_consume(rb, one_cb, &want), 1);
		check_positions(rb, x + 48 + 48, x + 48 + 48);
	}
	rv_unmap(&v);
	ringbuf_free(rb);
}

/* ---- (a2) a long random stream through the API only ----------------------- */

struct stream {
	uint32_t next_seq;
	uint32_t sizes[4096];
};

static int stream_cb(void *ctx, void *data, size_t size)
{
	struct stream *s = ctx;
	uint32_t seq = s->next_seq++;
	CHECK(((uintptr_t)data & 7) == 0);
	CHECK_EQ(size, s->sizes[seq % 4096]);
	CHECK(matches(data, size, seq));
	return 0;
}

static void test_stream(void)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct stream *s = calloc(1, sizeof(*s));
	CHECK(s);
	static unsigned char buf[1 << 16];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	uint32_t seq = 0;
	uint64_t prod = 0;
	int n_split = 0;

	while (prod < 40 * D) {
		int batch = 1 + (int)(t_rand(&rng) % 6), made = 0;
		for (int i = 0; i < batch; i++) {
			uint64_t size = t_rand(&rng) % 700;
			if (prod + rv_rec_size(size) - ringbuf_query(rb, RINGBUF_CONS_POS) > D - 1)
				break;
			if ((prod & (D - 1)) + RINGBUF_HDR_SZ + size > D)
				n_split++;
			s->sizes[seq % 4096] = (uint32_t)size;
			if (t_rand(&rng) & 1) {
				fill(buf, size, seq);
				CHECK_EQ(ringbuf_output(rb, buf, size, RINGBUF_NO_WAKEUP), 0);
			} else {
				void *p = ringbuf_reserve(rb, size, 0);
				CHECK(p != NULL);
				fill(p, size, seq);
				ringbuf_submit(p, RINGBUF_NO_WAKEUP);
			}
			seq++;
			made++;
			prod += rv_rec_size(size);
		}
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
		int r = ringbuf_consume(rb, stream_cb, s);
		CHECK_EQ(r, made);
		CHECK_EQ(s->next_seq, seq);
	}
	CHECK(n_split > 10);
	free(s);
	ringbuf_free(rb);
}

/* ---- (b) positions at integer boundaries ---------------------------------- */

enum { ST_BUSY, ST_DONE, ST_DISCARD };

struct mrec {
	uint64_t pos;
	uint32_t size;
	uint32_t seq;
	int state;
	void *sample;
};

#define QMAX 4096

struct model {
	struct mrec q[QMAX];
	unsigned head, tail; /* q[head..tail) are in the ring, oldest first */
	uint64_t prod, cons, D;
	uint32_t seq;
	int delivered; /* by the current consume call */
};

static struct mrec *m_front(struct model *m)
{
	return m->head == m->tail ? NULL : &m->q[m->head % QMAX];
}

static void m_pop(struct model *m)
{
	struct mrec *r = m_front(m);
	m->cons += rv_rec_size(r->size);
	m->head++;
}

static int model_cb(void *ctx, void *data, size_t size)
{
	struct model *m = ctx;
	struct mrec *r;
	while ((r = m_front(m)) && r->state == ST_DISCARD)
		m_pop(m);
	CHECK(r != NULL);
	CHECK_EQ(r->state, ST_DONE);
	CHECK_EQ(size, r->size);
	CHECK(((uintptr_t)data & 7) == 0);
	if (!matches(data, size, r->seq)) {
		fprintf(stderr, "record seq %u at pos %#llx: wrong payload\n", r->seq,
			(unsigned long long)r->pos);
		exit(T_FAIL);
	}
	m_pop(m);
	m->delivered++;
	return 0;
}

/* How many records a consume of at most @n would deliver. */
static int m_deliverable(const struct model *m, int n)
{
	int cnt = 0;
	for (unsigned i = m->head; i != m->tail && cnt < n; i++) {
		const struct mrec *r = &m->q[i % QMAX];
		if (r->state == ST_BUSY)
			break;
		if (r->state == ST_DONE)
			cnt++;
	}
	return cnt;
}

static bool m_has_discard(const struct model *m)
{
	for (unsigned i = m->head; i != m->tail; i++)
		if (m->q[i % QMAX].state == ST_DISCARD)
			return true;
	return false;
}

static void m_check(struct model *m, struct ringbuf *rb, const struct ringview *v)
{
	check_positions(rb, m->prod, m->cons);
	CHECK_EQ(*v->prod, m->prod);
	CHECK_EQ(*v->cons, m->cons);
}

/* One record of @size by a random method; checks success/-EAGAIN against the
 * model.  Returns true if it was produced. */
static bool m_produce(struct model *m, struct ringbuf *rb, const struct ringview *v, uint64_t size,
		      int method, int *n_full)
{
	static unsigned char buf[1 << 16];
	uint64_t t = rv_rec_size(size);
	bool fits = m->prod + t - m->cons <= m->D - 1;
	uint32_t seq = m->seq;

	if (method == 0) {
		fill(buf, size, seq);
		errno = 0;
		long r = ringbuf_output(rb, buf, size, seq % 4);
		if (!fits) {
			if (r != -EAGAIN) {
				fprintf(stderr, "output(%llu) = %ld at prod %#llx cons %#llx, want -EAGAIN\n",
					(unsigned long long)size, r, (unsigned long long)m->prod,
					(unsigned long long)m->cons);
				exit(T_FAIL);
			}
			CHECK_EQ(errno, EAGAIN);
			(*n_full)++;
			return false;
		}
		if (r != 0) {
			fprintf(stderr, "output(%llu) = %ld at prod %#llx cons %#llx, want 0\n",
				(unsigned long long)size, r, (unsigned long long)m->prod,
				(unsigned long long)m->cons);
			exit(T_FAIL);
		}
	} else {
		errno = 0;
		void *p = ringbuf_reserve(rb, size, 0);
		if (!fits) {
			if (p) {
				fprintf(stderr, "reserve(%llu) succeeded at prod %#llx cons %#llx, want EAGAIN\n",
					(unsigned long long)size, (unsigned long long)m->prod,
					(unsigned long long)m->cons);
				exit(T_FAIL);
			}
			CHECK_EQ(errno, EAGAIN);
			(*n_full)++;
			return false;
		}
		if (!p) {
			fprintf(stderr, "reserve(%llu) failed (errno %d) at prod %#llx cons %#llx\n",
				(unsigned long long)size, errno, (unsigned long long)m->prod,
				(unsigned long long)m->cons);
			exit(T_FAIL);
		}
		check_placed(v, m->prod, (uint32_t)size | RINGBUF_BUSY_BIT);
		fill(p, size, seq);
		CHECK(m->tail - m->head < QMAX);
		m->q[m->tail % QMAX].sample = p;
	}
	CHECK(m->tail - m->head < QMAX);
	struct mrec *r = &m->q[m->tail % QMAX];
	r->pos = m->prod;
	r->size = (uint32_t)size;
	r->seq = seq;
	r->state = method == 0 ? ST_DONE : ST_BUSY;
	if (method == 0)
		r->sample = NULL;
	m->tail++;
	m->seq++;
	m->prod += t;
	if (method == 0) {
		check_placed(v, r->pos, (uint32_t)size);
		CHECK(view_matches(v, r->pos, size, seq));
	}
	return true;
}

static void m_commit(struct model *m, const struct ringview *v, struct mrec *r, bool discard)
{
	(void)m;
	CHECK_EQ(r->state, ST_BUSY);
	if (discard) {
		ringbuf_discard(r->sample, RINGBUF_NO_WAKEUP);
		r->state = ST_DISCARD;
		check_placed(v, r->pos, r->size | RINGBUF_DISCARD_BIT);
	} else {
		ringbuf_submit(r->sample, r->seq % 4);
		r->state = ST_DONE;
		check_placed(v, r->pos, r->size);
		CHECK(view_matches(v, r->pos, r->size, r->seq));
	}
}

static void m_consume(struct model *m, struct ringbuf *rb, int n /* 0: all */)
{
	int want = m_deliverable(m, n ? n : INT32_MAX);
	m->delivered = 0;
	int r = n ? ringbuf_consume_n(rb, model_cb, m, (size_t)n) : ringbuf_consume(rb, model_cb, m);
	CHECK_EQ(r, want);
	CHECK_EQ(m->delivered, want);
	if (!n || want < n) {
		/* the consumer also passed discarded records up to the first
		 * BUSY one or the end */
		struct mrec *f;
		while ((f = m_front(m)) && f->state == ST_DISCARD)
			m_pop(m);
	}
}

static uint64_t pick_size(uint64_t *rng, uint64_t D)
{
	uint64_t x = t_rand(rng) % 100;
	if (x < 55)
		return t_rand(rng) % 65;
	if (x < 90)
		return t_rand(rng) % 600;
	return t_rand(rng) % (D / 3);
}

static void random_workload(uint64_t x, uint64_t seed)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct ringview v;
	rv_map(&v, rb, RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE); /* data read-only */
	set_positions(&v, x);
	struct model *m = calloc(1, sizeof(*m));
	CHECK(m);
	m->D = D;
	m->prod = m->cons = x;
	m_check(m, rb, &v);
	uint64_t rng = seed | 1;
	int n_full = 0;
	struct mrec *held = NULL; /* a reservation kept BUSY across steps */

	for (int step = 0; step < 600; step++) {
		int burst = 1 + (int)(t_rand(&rng) % 10);
		for (int i = 0; i < burst; i++) {
			uint64_t size = pick_size(&rng, D);
			int method = (int)(t_rand(&rng) % 4); /* 0 output, 1-3 reserve */
			if (!m_produce(m, rb, &v, size, method, &n_full))
				continue;
			if (method == 0)
				continue;
			struct mrec *r = &m->q[(m->tail - 1) % QMAX];
			if (method == 3 && !held)
				held = r; /* stays BUSY for a while */
			else
				m_commit(m, &v, r, method == 2 && (t_rand(&rng) & 1));
		}
		m_check(m, rb, &v);
		if (held && t_rand(&rng) % 3 == 0) {
			m_commit(m, &v, held, t_rand(&rng) % 4 == 0);
			held = NULL;
		}
		/* consume less often than we produce, so the ring fills up */
		if (t_rand(&rng) % 4 == 0) {
			int n = 0;
			if (!m_has_discard(m) && (t_rand(&rng) & 1))
				n = 1 + (int)(t_rand(&rng) % 8);
			m_consume(m, rb, n);
			m_check(m, rb, &v);
		}
	}
	if (held)
		m_commit(m, &v, held, false);
	m_consume(m, rb, 0);
	m_check(m, rb, &v);
	CHECK(m->head == m->tail);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	/* the workload went well past the boundary just above x */
	CHECK(m->prod - x > 8 * D);
	if (getenv("T_WRAP_VERBOSE"))
		fprintf(stderr, "x=%#llx: %d reservations refused, prod moved %llu\n",
			(unsigned long long)x, n_full, (unsigned long long)(m->prod - x));
	CHECK(n_full > 10);
	free(m);
	rv_unmap(&v);
	ringbuf_free(rb);
}

struct counter {
	uint32_t seq;
	size_t size;
	int got;
};

static int counter_cb(void *ctx, void *data, size_t size)
{
	struct counter *c = ctx;
	CHECK_EQ(size, c->size);
	CHECK(matches(data, size, c->seq));
	c->seq++;
	c->got++;
	return 0;
}

/* Fill a ring whose positions start at @x: exactly as many records fit as in
 * a ring at 0, whichever boundary the positions cross. */
static void fill_across(uint64_t x, uint64_t size)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct ringview v;
	rv_map(&v, rb, RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE); /* data read-only */
	set_positions(&v, x);
	static unsigned char buf[1 << 16];
	const uint64_t per = rv_rec_size(size);
	const uint64_t fit = (D - 1) / per;
	uint32_t seq = 0;

	for (uint64_t i = 0; i < fit; i++) {
		fill(buf, size, seq++);
		if (ringbuf_output(rb, buf, size, RINGBUF_NO_WAKEUP) != 0) {
			fprintf(stderr, "x=%#llx: record %llu of %llu did not fit\n",
				(unsigned long long)x, (unsigned long long)i, (unsigned long long)fit);
			exit(T_FAIL);
		}
	}
	check_positions(rb, x + fit * per, x);
	CHECK_ERR(ringbuf_output(rb, buf, size, 0), EAGAIN);
	CHECK_NULL_ERR(ringbuf_reserve(rb, size, 0), EAGAIN);
	/* what is left fits exactly (the ring holds at most D - 8 bytes) */
	uint64_t left = D - 8 - fit * per;
	if (left >= 8) {
		fill(buf, left - 8, seq);
		CHECK_EQ(ringbuf_output(rb, buf, left - 8, 0), 0);
		CHECK_EQ(ringbuf_output(rb, buf, 0, 0), -EAGAIN);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), D - 8);
		struct counter tail = { .seq = 0, .size = size };
		/* consume it all: fit records of @size, then the filler */
		CHECK_EQ(ringbuf_consume_n(rb, counter_cb, &tail, fit), (int)fit);
		struct counter f = { .seq = seq, .size = left - 8 };
		CHECK_EQ(ringbuf_consume(rb, counter_cb, &f), 1);
		check_positions(rb, x + D - 8, x + D - 8);
		x += D - 8; /* continue from here */
		seq = 0;
		for (uint64_t i = 0; i < fit; i++) {
			fill(buf, size, seq++);
			CHECK_EQ(ringbuf_output(rb, buf, size, RINGBUF_NO_WAKEUP), 0);
		}
		CHECK_EQ(ringbuf_output(rb, buf, size, 0), -EAGAIN);
	}
	/* consume one: exactly one more fits, and the ring is full again */
	struct counter c = { .seq = 0, .size = size };
	CHECK_EQ(ringbuf_consume_n(rb, counter_cb, &c, 1), 1);
	check_positions(rb, x + fit * per, x + per);
	fill(buf, size, seq++);
	CHECK_EQ(ringbuf_output(rb, buf, size, 0), 0);
	CHECK_EQ(ringbuf_output(rb, buf, size, 0), -EAGAIN);
	check_positions(rb, x + (fit + 1) * per, x + per);
	/* drain: every record in order */
	CHECK_EQ(ringbuf_consume(rb, counter_cb, &c), (int)fit);
	CHECK_EQ(c.seq, seq);
	check_positions(rb, x + (fit + 1) * per, x + (fit + 1) * per);
	/* and it keeps working */
	for (int round = 0; round < 3 * (int)fit; round++) {
		fill(buf, size, seq++);
		CHECK_EQ(ringbuf_output(rb, buf, size, 0), 0);
		CHECK_EQ(ringbuf_consume(rb, counter_cb, &c), 1);
	}
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	rv_unmap(&v);
	ringbuf_free(rb);
}

static void test_boundaries(void)
{
	const uint64_t D = 4 * page;
	const uint64_t bounds[] = { 1ULL << 31, 1ULL << 32, 1ULL << 63, 0 /* 2^64 */ };
	const uint64_t ks[] = { 1, 2, 3, 5, 64, 511, D / 8 - 1, D / 8, D / 8 + 1 };
	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
		for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
			uint64_t x = bounds[b] - ks[k] * 8;
			random_workload(x, 0x1000 * b + k + 1);
			fill_across(x, 100);
			fill_across(x, 0);
			fill_across(x, D / 3);
		}
		/* starting exactly on the boundary, too */
		fill_across(bounds[b], 24);
	}
}

/* (c) a BUSY record published where producer_pos lands on a stale clean_to
 * (16, left by a small record, once positions are set from outside to
 * just below it -- as a wrap would): the next small record, written whole,
 * must still leave pending_pos at the BUSY record, as the kernel does, so
 * nothing may later be reserved over it. */
static int drop_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static void test_clean_hint(void)
{
	struct ringbuf *rb = ringbuf_new(4096, NULL);
	struct ringview v;
	uint64_t x = (uint64_t)-16, d = 0x1122334455667788ull;
	void *busy;

	CHECK(rb != NULL);
	rv_map(&v, rb, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE);
	CHECK_EQ(ringbuf_output(rb, &d, 8, 0), 0); /* written whole: clean_to 16 */
	CHECK_EQ(v.meta->clean_to, 16);
	CHECK_EQ(ringbuf_consume(rb, drop_cb, NULL), 1);
	*v.pend = x;
	*v.prod = x;
	*v.cons = x;
	busy = ringbuf_reserve(rb, 24, 0); /* BUSY: [2^64 - 16, 16) */
	CHECK(busy != NULL);
	CHECK_EQ(*v.prod, 16); /* = the stale clean_to */
	CHECK_EQ(ringbuf_output(rb, &d, 8, 0), 0); /* written whole */
	CHECK_EQ(*v.pend, x);                      /* still at the BUSY record */
	CHECK_EQ(ringbuf_output(rb, &d, 8, 0), 0);
	CHECK_EQ(*v.pend, x);
	ringbuf_submit(busy, 0);
	CHECK_EQ(ringbuf_output(rb, &d, 8, 0), 0); /* now the walk passes it */
	CHECK_EQ(*v.pend, 48);
	rv_unmap(&v);
	ringbuf_free(rb);
	printf("ok   a BUSY record where producer_pos meets a stale clean hint holds pending_pos\n");
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	CHECK(ps > 0);
	page = (size_t)ps;

	test_end_offsets();
	test_stream();
	test_boundaries();
	test_clean_hint();
	return T_PASS;
}
