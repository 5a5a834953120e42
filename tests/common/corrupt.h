/* SPDX-License-Identifier: MIT */
/*
 * corrupt.h (tests/t_corrupt_*.c) -- the ring facing a hostile peer that scribbles on the shared
 * memory (docs/protocol.md, section 8).  We map ringbuf_fd() ourselves and play
 * the peer:
 *
 *   (a) a header whose length runs past producer_pos: -EBADMSG, only the
 *       records before it delivered, consumer_pos stops at it;
 *   (b) producer_pos misaligned: -EBADMSG;
 *   (c) producer_pos more than a ring ahead (or behind) consumer_pos: -EBADMSG;
 *   (d) consumer_pos misaligned: -EBADMSG;
 *   (e) producers facing a hostile consumer_pos: 0, -EAGAIN or -E2BIG only,
 *       no write outside the new record (canaries), positions stay sane, an
 *       outstanding reservation is never overlapped (CVE-2024-41009);
 *   (f) submit/discard after the peer rewrote pg_off (the library must not
 *       use it);
 *   (g) random scribbles: consume returns >= 0 or -EBADMSG, callbacks see
 *       only pointers inside the ring and sizes that fit.  Seed: env
 *       T_SEED (printed on failure); iterations: env T_ITERS.
 *   (h) shared fields read once: a header rewritten while its record is
 *       being delivered, and identity fields (data_size, page_size)
 *       rewritten after attach, change nothing.
 */
#ifndef RINGBUF_TEST_CORRUPT_H
#define RINGBUF_TEST_CORRUPT_H

/* Shared by the tests/t_corrupt_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t g_page;

/* Our own, independent view of a ring: the file mapped once, its data
 * pages mapped a second time right after, like the library does. */
struct view {
	struct ringbuf *rb;
	size_t ds;
	uint64_t mask;
	uint8_t *map;                       /* 3P + 2 ds */
	struct ringbuf_shm_meta *meta;
	uint64_t *cons;                     /* &consumer_pos */
	struct ringbuf_shm_producer *prod;
	uint8_t *data;
	uint8_t *lib_data; /* the library's (this process's) data mapping */
};

static int never_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	CHECK(!"no record is delivered here");
	return 0;
}

static void view_open(struct view *v, size_t ds)
{
	size_t P = g_page;

	memset(v, 0, sizeof(*v));
	v->ds = ds;
	v->mask = ds - 1;
	v->rb = ringbuf_new(ds, NULL);
	CHECK(v->rb != NULL);
	int fd = ringbuf_fd(v->rb);
	CHECK(fd >= 0);

	uint8_t *base = mmap(NULL, 3 * P + 2 * ds, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(base != MAP_FAILED);
	CHECK(mmap(base, 3 * P + ds, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
	      base);
	CHECK(mmap(base + 3 * P + ds, ds, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		   (off_t)(3 * P)) == base + 3 * P + ds);
	v->map = base;
	v->meta = (struct ringbuf_shm_meta *)base;
	v->cons = (uint64_t *)(base + RINGBUF_SHM_CONSUMER_PAGE * P);
	v->prod = (struct ringbuf_shm_producer *)(base + RINGBUF_SHM_PRODUCER_PAGE * P);
	v->data = base + RINGBUF_SHM_DATA_PAGE * P;
	CHECK_EQ(v->meta->magic, RINGBUF_MAGIC);
	CHECK_EQ(v->meta->data_size, ds);

	/* Find the library's data mapping from a reservation at a known
	 * position, and check that both views agree. */
	uint64_t pos = v->prod->producer_pos;
	CHECK_EQ(ringbuf_query(v->rb, RINGBUF_PROD_POS), pos);
	uint8_t *p = ringbuf_reserve(v->rb, 0, 0);
	CHECK(p != NULL);
	v->lib_data = p - RINGBUF_HDR_SZ - (pos & v->mask);
	struct ringbuf_hdr *h = (struct ringbuf_hdr *)(v->data + (pos & v->mask));
	CHECK_EQ(h->len, RINGBUF_BUSY_BIT);
	CHECK_EQ(v->prod->producer_pos, pos + 8);
	ringbuf_discard(p, RINGBUF_NO_WAKEUP);
	CHECK_EQ(h->len, RINGBUF_DISCARD_BIT);
	CHECK_EQ(ringbuf_consume(v->rb, never_cb, NULL), 0);
	CHECK_EQ(*v->cons, pos + 8);
}

static void view_close(struct view *v)
{
	munmap(v->map, 3 * g_page + 2 * v->ds);
	ringbuf_free(v->rb);
}

static struct ringbuf_hdr *hdr_at(struct view *v, uint64_t pos)
{
	return (struct ringbuf_hdr *)(v->data + (pos & v->mask & ~7ULL));
}

/* ------------------------------------------------------------------------
 * Known records for (a)-(d) and (f)
 * ------------------------------------------------------------------------ */

static uint8_t pat(uint32_t seq, size_t k)
{
	return (uint8_t)(seq * 13u + (uint32_t)k * 7u + 1u);
}

#define MAXREC 64

struct known {
	struct view *v;
	uint32_t first;     /* seq of the oldest record not yet delivered */
	uint32_t n;         /* records produced: seq first .. first + n - 1 */
	uint64_t pos[MAXREC];
	size_t size[MAXREC];
	uint32_t delivered; /* total delivered from this batch */
};

static void k_produce(struct known *k, uint32_t seq0, const size_t *sizes, uint32_t n)
{
	uint8_t buf[1024];

	CHECK(n <= MAXREC);
	k->first = seq0;
	k->n = n;
	k->delivered = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t seq = seq0 + i;
		CHECK(sizes[i] >= 8 && sizes[i] <= sizeof(buf));
		memcpy(buf, &seq, 4);
		uint32_t inv = ~seq;
		memcpy(buf + 4, &inv, 4);
		for (size_t j = 8; j < sizes[i]; j++)
			buf[j] = pat(seq, j);
		k->pos[i] = rv_load(&k->v->prod->producer_pos);
		k->size[i] = sizes[i];
		CHECK_EQ(ringbuf_output(k->v->rb, buf, sizes[i], RINGBUF_NO_WAKEUP), 0);
		CHECK_EQ(rv_load(&k->v->prod->producer_pos), k->pos[i] + rv_rec_size(sizes[i]));
	}
}

/* End position of the first @i records of the batch. */
static uint64_t k_end(const struct known *k, uint32_t i)
{
	return i == 0 ? k->pos[0] : k->pos[i - 1] + rv_rec_size(k->size[i - 1]);
}

/* Every delivery must be the next record of the batch, intact. */
static int known_cb(void *ctx, void *data, size_t size)
{
	struct known *k = ctx;
	const uint8_t *b = data;
	uint32_t seq, inv;

	CHECK(rv_in_ring(k->v->lib_data, k->v->ds, b, size));
	CHECK(k->delivered < k->n);
	uint32_t i = k->delivered;
	CHECK(b == k->v->lib_data + (k->pos[i] & k->v->mask) + RINGBUF_HDR_SZ);
	CHECK_EQ(size, k->size[i]);
	memcpy(&seq, b, 4);
	memcpy(&inv, b + 4, 4);
	CHECK_EQ(seq, k->first + i);
	CHECK_EQ(inv, ~seq);
	for (size_t j = 8; j < size; j++)
		CHECK_EQ(b[j], pat(seq, j));
	k->delivered++;
	return 0;
}

/* Consume expecting -EBADMSG: whatever was delivered is a prefix of the
 * batch, and consumer_pos is exactly at its end. */
static void expect_badmsg(struct known *k, const char *what)
{
	int r = ringbuf_consume(k->v->rb, known_cb, k);
	if (r != -EBADMSG)
		fprintf(stderr, "%s: consume returned %d, want -EBADMSG\n", what, r);
	CHECK_EQ(r, -EBADMSG);
	CHECK_EQ(rv_load(k->v->cons), k_end(k, k->delivered));
}

/* Consume expecting the rest of the batch. */
static void expect_rest(struct known *k)
{
	uint32_t before = k->delivered;
	int r = ringbuf_consume(k->v->rb, known_cb, k);
	CHECK_EQ(r, (int)(k->n - before));
	CHECK_EQ(k->delivered, k->n);
	CHECK_EQ(rv_load(k->v->cons), k_end(k, k->n));
	CHECK_EQ(rv_load(k->v->cons), rv_load(&k->v->prod->producer_pos));
	CHECK_EQ(ringbuf_consume(k->v->rb, known_cb, k), 0);
}

static const size_t five[5] = { 10, 20, 30, 40, 50 };

/* ------------------------------------------------------------------------
 * (e) producers facing a hostile consumer_pos
 * ------------------------------------------------------------------------ */

#define CANARY 0xA5

struct snap {
	uint8_t *meta, *cpage, *ppage, *data;
};

static bool meta_writable(size_t off)
{
	/* fields the library may write: lock_owner, lock_steals, cons_cache,
	 * the reservation counters, clean_to, notify_seq, force_seq, the
	 * event counters (the consumer's fields are in its own page) */
	return (off >= offsetof(struct ringbuf_shm_meta, lock_owner) &&
		off < offsetof(struct ringbuf_shm_meta, lock_owner) + 4) ||
	       (off >= offsetof(struct ringbuf_shm_meta, lock_steals) &&
		off < offsetof(struct ringbuf_shm_meta, clean_to) + 8) ||
	       (off >= offsetof(struct ringbuf_shm_meta, notify_seq) &&
		off < offsetof(struct ringbuf_shm_meta, _was_owner)) ||
	       (off >= offsetof(struct ringbuf_shm_meta, discarded) &&
		off < offsetof(struct ringbuf_shm_meta, _reserved));
}

static void snap_take(const struct view *v, struct snap *s)
{
	memcpy(s->meta, v->map, g_page);
	memcpy(s->cpage, v->map + g_page, g_page);
	memcpy(s->ppage, v->map + 2 * g_page, g_page);
	memcpy(s->data, v->data, v->ds);
}

/* After one producer call that reserved [pos, pos + len) (len 0 if it
 * failed): nothing else of the file changed. */
static void snap_check(const struct view *v, const struct snap *s, uint64_t pos, uint64_t len)
{
	for (size_t i = 0; i < g_page; i++)
		if (!meta_writable(i) && v->map[i] != s->meta[i]) {
			fprintf(stderr, "meta page byte %zu changed\n", i);
			CHECK(!"meta page intact");
		}
	CHECK(memcmp(v->map + g_page, s->cpage, g_page) == 0);
	/* producer page: only producer_pos and pending_pos may change */
	CHECK(memcmp(v->map + 2 * g_page + 16, s->ppage + 16, g_page - 16) == 0);
	uint64_t start = pos & v->mask;
	for (size_t i = 0; i < v->ds; i++) {
		if (v->data[i] == s->data[i])
			continue;
		uint64_t rel = (i - start) & v->mask; /* ring distance from the record */
		if (rel >= len) {
			fprintf(stderr, "data byte %zu changed outside the record [%llu, +%llu)\n",
				i, (unsigned long long)start, (unsigned long long)len);
			CHECK(!"no write outside the new record");
		}
	}
}

static void fill_canaries(struct view *v)
{
	struct ringbuf_shm_meta *m = v->meta;
	memset(m->_pad0, CANARY, sizeof(m->_pad0));
	memset(&m->_lock_pad, CANARY, sizeof(m->_lock_pad));
	memset(m->_pad1, CANARY, sizeof(m->_pad1));
	memset(m->_pad2, CANARY, sizeof(m->_pad2));
	memset(v->map + 512, CANARY, g_page - 512);       /* rest of page 0 */
	memset(v->map + g_page + 8, CANARY, g_page - 8);  /* consumer page */
	memset(v->map + 2 * g_page + 24, CANARY, g_page - 24); /* producer page */
}

/* Fill the data area with canaries, except committed records not yet
 * passed by pending_pos (a producer reads their headers). */
static void fill_data(struct view *v)
{
	uint64_t pend = rv_load(&v->prod->pending_pos), prod = rv_load(&v->prod->producer_pos);
	uint64_t keep = prod - pend;
	CHECK(keep <= v->ds);
	for (uint64_t i = 0; i < v->ds; i++)
		if (((i - (pend & v->mask)) & v->mask) >= keep)
			v->data[i] = CANARY;
}

static bool never_fits(const struct view *v, uint64_t size)
{
	return size > UINT32_MAX / 4 || rv_rec_size(size) >= v->ds;
}

static void check_positions(const struct view *v)
{
	uint64_t prod = rv_load(&v->prod->producer_pos), pend = rv_load(&v->prod->pending_pos);
	CHECK_EQ(prod % 8, 0);
	CHECK_EQ(pend % 8, 0);
	CHECK(prod - pend <= v->ds);
	CHECK_EQ(v->prod->overwrite_pos, 0);
}

/* One producer call under the current (hostile) consumer_pos, checked. */
static void hostile_op(struct view *v, struct snap *s, uint64_t *rng)
{
	uint64_t size;
	uint64_t r = t_rand(rng);

	switch (r % 8) {
	case 0: size = t_rand(rng) % v->ds; break;
	case 1: size = v->ds - 8 + t_rand(rng) % 16; break;
	case 2: size = (uint64_t)UINT32_MAX / 4 + t_rand(rng) % 2; break;
	case 3: size = t_rand(rng); break;
	default: size = t_rand(rng) % 600; break;
	}
	int op = (int)((r >> 8) % 3);
	uint64_t flags = (r >> 16) % 3;
	uint64_t prod = rv_load(&v->prod->producer_pos), pend = rv_load(&v->prod->pending_pos);
	uint64_t cons = rv_load(v->cons);
	static uint8_t src[1 << 16];

	snap_take(v, s);
	long ret;
	uint8_t *p = NULL;
	if (op == 0) {
		/* sizes beyond src never fit: the library must refuse them
		 * before reading anything */
		CHECK(never_fits(v, size) || size <= sizeof(src));
		ret = ringbuf_output(v->rb, src, size, flags);
	} else {
		errno = 0;
		p = ringbuf_reserve(v->rb, size, 0);
		ret = p ? 0 : -errno;
	}
	if (never_fits(v, size)) {
		CHECK_EQ(ret, -E2BIG);
	} else if (ret != 0) {
		if (ret != -EAGAIN)
			fprintf(stderr, "size %llu cons %#llx prod %#llx pend %#llx: %ld\n",
				(unsigned long long)size, (unsigned long long)cons,
				(unsigned long long)prod, (unsigned long long)pend, ret);
		CHECK_EQ(ret, -EAGAIN);
	}
	uint64_t len = ret == 0 ? rv_rec_size(size) : 0;
	if (p) {
		CHECK(rv_in_ring(v->lib_data, v->ds, p, size));
		CHECK(p == v->lib_data + (prod & v->mask) + RINGBUF_HDR_SZ);
		memset(p, 0x5B, size);
		if ((r >> 24) % 4 == 0)
			ringbuf_discard(p, flags);
		else
			ringbuf_submit(p, flags);
	}
	CHECK_EQ(rv_load(&v->prod->producer_pos), prod + len);
	CHECK_EQ(rv_load(v->cons), cons);
	snap_check(v, s, prod, len);
	check_positions(v);
	if (ret == 0) {
		CHECK_EQ(hdr_at(v, prod)->len,
			 (uint32_t)size | (p && (r >> 24) % 4 == 0 ? RINGBUF_DISCARD_BIT : 0));
	}
}

/* ------------------------------------------------------------------------
 * (f) pg_off rewritten under an outstanding reservation
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * (h) read once
 * ------------------------------------------------------------------------ */

/* Deliver as known_cb, then rewrite the delivered record's header: the
 * consumer must already hold its own copy of the length. */
static int tamper_cb(void *ctx, void *data, size_t size)
{
	struct known *k = ctx;
	uint32_t i = k->delivered;
	int r = known_cb(ctx, data, size);
	struct ringbuf_hdr *h = hdr_at(k->v, k->pos[i]);
	static const uint32_t bad[4] = { 0x3fffffffu, RINGBUF_BUSY_BIT, 0,
					 RINGBUF_DISCARD_BIT | 8 };
	__atomic_store_n(&h->len, bad[i % 4], __ATOMIC_RELEASE);
	return r;
}

/* ------------------------------------------------------------------------
 * (g) random scribbles
 * ------------------------------------------------------------------------ */

static uint64_t g_seed;
static long g_iter = -1;

#define GCHECK(cond)                                                             \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s (T_SEED=%llu iteration %ld)\n", \
				__FILE__, __LINE__, #cond,                       \
				(unsigned long long)g_seed, g_iter);             \
			exit(T_FAIL);                                            \
		}                                                                \
	} while (0)

static const char *volatile g_phase = "setup";

static void on_alarm(int sig)
{
	static const char msg[] = "t_corrupt: timed out (a loop on corrupt state?) in ";
	const char *ph = g_phase;
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, ph, strlen(ph)) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

struct rstate {
	struct view *v;
	unsigned calls;   /* deliveries in this consume call */
	uint64_t *rng;
	bool cancelled;   /* the callback returned negative */
	uint32_t sum;
};

static int random_cb(void *ctx, void *data, size_t size)
{
	struct rstate *rs = ctx;
	GCHECK(rv_in_ring(rs->v->lib_data, rs->v->ds, data, size));
	GCHECK(++rs->calls <= rs->v->ds / 8);
	rs->sum += t_fnv1a(data, size); /* every byte must be readable */
	if (t_rand(rs->rng) % 64 == 0) {
		rs->cancelled = true;
		return -ECANCELED;
	}
	return 0;
}

static uint64_t rand_pos(struct view *v, uint64_t *rng, uint64_t near)
{
	uint64_t r = t_rand(rng);
	switch (r % 8) {
	case 0: return t_rand(rng);
	case 1: return near + ((t_rand(rng) % 64) - 32) * 8;
	case 2: return near + (t_rand(rng) % 64) - 32;
	case 3: return near + v->ds + (t_rand(rng) % 8) * 8;
	case 4: return near - v->ds + (t_rand(rng) % 8) * 8;
	default: return near + (t_rand(rng) % (v->ds / 8)) * 8;
	}
}

static void random_produce(struct view *v, uint64_t *rng, uint8_t **outstanding)
{
	static uint8_t src[4096];
	uint64_t r = t_rand(rng);
	uint64_t size = r % 5 == 0 ? t_rand(rng) % (v->ds + 16) : t_rand(rng) % 200;
	uint64_t flags = (r >> 8) % 3;
	uint64_t prod = rv_load(&v->prod->producer_pos), pend = rv_load(&v->prod->pending_pos);
	/* a corrupt producer page may be refused with -EBADMSG, and only it */
	bool corrupt = (prod | pend) % 8 || prod - pend > v->ds;
	long ret;
	uint8_t *p = NULL;

	if ((r >> 16) % 2 == 0 && size <= sizeof(src)) {
		ret = ringbuf_output(v->rb, src, size, flags);
	} else {
		errno = 0;
		p = ringbuf_reserve(v->rb, size, 0);
		ret = p ? 0 : -errno;
	}
	if (ret != 0 && ret != -EAGAIN && ret != -E2BIG && ret != -EBADMSG)
		fprintf(stderr, "producer call (size %llu): %ld\n", (unsigned long long)size,
			ret);
	GCHECK(ret == 0 || ret == -EAGAIN || ret == -E2BIG || ret == -EBADMSG);
	GCHECK((ret == -E2BIG) == never_fits(v, size));
	GCHECK(ret != -EBADMSG || corrupt);
	if (corrupt)
		GCHECK(ret != 0);
	if (ret != 0) {
		GCHECK(rv_load(&v->prod->producer_pos) == prod);
		return;
	}
	GCHECK(rv_load(&v->prod->producer_pos) == prod + rv_rec_size(size));
	if (!p)
		return;
	GCHECK(rv_in_ring(v->lib_data, v->ds, p, size));
	memset(p, 0x3C, size);
	if (!*outstanding && (r >> 24) % 3 == 0) {
		*outstanding = p; /* left BUSY across the scribbles */
	} else if ((r >> 24) % 3 == 1) {
		ringbuf_discard(p, flags);
	} else {
		ringbuf_submit(p, flags);
	}
}

static void scribble(struct view *v, uint64_t *rng)
{
	uint64_t r = t_rand(rng);
	uint64_t cons = rv_load(v->cons), prod = rv_load(&v->prod->producer_pos);

	switch (r % 7) {
	case 0:
	case 1: { /* a header between cons and prod, or near */
		uint64_t span = (prod - cons) & v->mask;
		uint64_t pos = cons + (t_rand(rng) % (span / 8 + 2)) * 8;
		uint32_t len;
		switch ((r >> 8) % 4) {
		case 0: len = (uint32_t)t_rand(rng); break;
		case 1: len = (uint32_t)(t_rand(rng) % 256); break;
		case 2: len = (uint32_t)(t_rand(rng) % (2 * v->ds)); break;
		default: len = (uint32_t)(prod - pos) + (uint32_t)(t_rand(rng) % 16) - 8; break;
		}
		len |= ((uint32_t)((r >> 16) % 4) << 30) & (t_rand(rng) % 2 ? ~0u : 0u);
		__atomic_store_n(&hdr_at(v, pos)->len, len, __ATOMIC_RELEASE);
		break;
	}
	case 2:
		rv_store(v->cons, rand_pos(v, rng, (r >> 8) % 2 ? cons : prod));
		break;
	case 3:
		rv_store(&v->prod->producer_pos, rand_pos(v, rng, (r >> 8) % 2 ? cons : prod));
		break;
	case 4:
		rv_store(&v->prod->pending_pos, rand_pos(v, rng, (r >> 8) % 2 ? cons : prod));
		break;
	case 5: { /* random bytes anywhere in the data */
		uint64_t off = t_rand(rng) % (v->ds - 8);
		uint64_t x = t_rand(rng);
		memcpy(v->data + off, &x, 8);
		break;
	}
	default: /* pg_off */
		hdr_at(v, cons + (t_rand(rng) % 16) * 8)->pg_off = (uint32_t)t_rand(rng);
		break;
	}
}

/* What every t_corrupt_* program does first: a watchdog (a hang is a
 * failure: the library must not loop on corrupt state) and a ring to
 * scribble on. */
static void corrupt_begin(struct view *v)
{
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(30);
	view_open(v, 4 * g_page);
}

#endif
