/* SPDX-License-Identifier: MIT */
/*
 * t_api -- every public entry point and every error value documented in
 * include/ringbuf.h, on a single thread (blocking is covered by t_selftest).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

static size_t page;

/* The payload pattern of record @seq. */
static void fill(void *p, size_t n, uint32_t seq)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((seq * 0x9E3779B1u + (uint32_t)i * 2654435761u) >> 24);
}

static bool matches(const void *p, size_t n, uint32_t seq)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)((seq * 0x9E3779B1u + (uint32_t)i * 2654435761u) >> 24))
			return false;
	return true;
}

/* ---- consumer callbacks ------------------------------------------------ */

#define MAX_RECS 4096

/* Records are expected in order: seq[i] / size[i]; the callback checks the
 * bytes and counts.  A record that does not match fails the test at once. */
struct expect {
	uint32_t seq[MAX_RECS];
	size_t size[MAX_RECS];
	int n;    /* expected so far */
	int got;  /* delivered so far */
	int ret;  /* value the callback returns */
};

static int cb_expect(void *ctx, void *data, size_t size)
{
	struct expect *e = ctx;
	CHECK(e->got < e->n);
	CHECK(((uintptr_t)data & 7) == 0);
	CHECK_EQ(size, e->size[e->got]);
	CHECK(matches(data, size, e->seq[e->got]));
	e->got++;
	return e->ret;
}

static void expect_add(struct expect *e, uint32_t seq, size_t size)
{
	CHECK(e->n < MAX_RECS);
	e->seq[e->n] = seq;
	e->size[e->n] = size;
	e->n++;
}

static int cb_count(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(int *)ctx)++;
	return 0;
}

static int cb_fail(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	fprintf(stderr, "callback must not be called\n");
	exit(T_FAIL);
}

/* ---- tests -------------------------------------------------------------- */

static void expect_new_einval(size_t size, const struct ringbuf_opts *opts)
{
	errno = 0;
	struct ringbuf *rb = ringbuf_new(size, opts);
	if (rb) {
		fprintf(stderr, "ringbuf_new(%zu) succeeded, expected EINVAL\n", size);
		exit(T_FAIL);
	}
	CHECK_EQ(errno, EINVAL);
}

static void test_new(void)
{
	/* bad sizes */
	expect_new_einval(0, NULL);
	expect_new_einval(1, NULL);
	expect_new_einval(8, NULL);
	expect_new_einval(page / 2, NULL);       /* power of two, not a page multiple */
	expect_new_einval(3 * page, NULL);       /* page multiple, not a power of two */
	expect_new_einval(page + 8, NULL);
	expect_new_einval((size_t)RINGBUF_MAX_DATA_SIZE * 2, NULL); /* 2^32 */
	if (sizeof(size_t) == 8) { /* sizes a 32-bit size_t cannot hold */
		expect_new_einval((size_t)(UINT64_C(1) << 40), NULL);
		expect_new_einval((size_t)(UINT64_C(1) << 62), NULL);
	}
	expect_new_einval(SIZE_MAX, NULL);
	expect_new_einval(((size_t)RINGBUF_MAX_DATA_SIZE * 2) - page, NULL);

	/* smallest legal ring, NULL opts */
	struct ringbuf *rb = ringbuf_new(page, NULL);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), page);
	CHECK(ringbuf_fd(rb) >= 0);
	ringbuf_free(rb);

	/* opts: exact size, flags 0 */
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = 0 };
	rb = ringbuf_new(2 * page, &o);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), 2 * page);
	ringbuf_free(rb);

	/* opts: nonzero flags */
	o.flags = 1;
	expect_new_einval(2 * page, &o);
	o.flags = 1ULL << 63;
	expect_new_einval(2 * page, &o);

	/* opts: an older, smaller struct -- flags lies beyond sz and must not
	 * be read, whatever it holds */
	o.sz = offsetof(struct ringbuf_opts, flags);
	o.flags = 0xdeadbeef;
	rb = ringbuf_new(2 * page, &o);
	CHECK(rb != NULL);
	ringbuf_free(rb);

	/* opts: a newer, larger struct: trailing bytes must be zero */
	struct {
		struct ringbuf_opts o;
		uint64_t future[3];
	} big;
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	rb = ringbuf_new(2 * page, &big.o);
	CHECK(rb != NULL);
	ringbuf_free(rb);
	big.future[2] = 1;
	expect_new_einval(2 * page, &big.o);
	big.future[2] = 0;
	big.future[0] = 1ULL << 40;
	expect_new_einval(2 * page, &big.o);
	/* bad size with good opts is still EINVAL */
	big.future[0] = 0;
	expect_new_einval(3 * page, &big.o);

	/* the largest ring: only a few of its pages are ever touched here */
	errno = 0;
	rb = ringbuf_new((size_t)RINGBUF_MAX_DATA_SIZE, NULL);
	if (!rb && errno == ENOMEM) {
		fprintf(stderr, "note: no room for a %llu-byte ring here (ENOMEM); not checked\n",
			(unsigned long long)RINGBUF_MAX_DATA_SIZE);
	} else {
		CHECK(rb != NULL);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), RINGBUF_MAX_DATA_SIZE);
		/* here only the UINT32_MAX/4 rule can reject: 2^30 fits the ring */
		static const unsigned char one = 1;
		CHECK_ERR(ringbuf_output(rb, &one, UINT32_MAX / 4 + 1, 0), E2BIG);
		CHECK_NULL_ERR(ringbuf_reserve(rb, UINT32_MAX / 4 + 1, 0), E2BIG);
		void *p = ringbuf_reserve(rb, UINT32_MAX / 4, 0); /* payload untouched */
		CHECK(p != NULL);
		ringbuf_discard(p, 0);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), ((UINT32_MAX / 4) + 8 + 7) & ~7ULL);
		CHECK_EQ(ringbuf_output(rb, &one, 1, 0), 0);
		int cnt = 0;
		CHECK_EQ(ringbuf_consume(rb, cb_count, &cnt), 1);
		CHECK_EQ(cnt, 1);
		ringbuf_free(rb);
	}

	/* fd / free */
	CHECK_ERR(ringbuf_fd(NULL), EINVAL);
	ringbuf_free(NULL);
}

/* A ring file copied into a fresh memfd, optionally with the creator's seals. */
static int copy_ring_file(struct ringbuf *rb, bool seal,
			  void (*mutate)(struct ringbuf_shm_meta *m))
{
	int src = ringbuf_fd(rb);
	struct stat st;
	CHECK(fstat(src, &st) == 0);
	int fd = memfd_create("t_api_copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, st.st_size) == 0);
	unsigned char *s = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, src, 0);
	CHECK(s != MAP_FAILED);
	unsigned char *d = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(d != MAP_FAILED);
	memcpy(d, s, (size_t)st.st_size);
	if (mutate)
		mutate((struct ringbuf_shm_meta *)(void *)d);
	munmap(s, (size_t)st.st_size);
	munmap(d, (size_t)st.st_size);
	if (seal) {
		int seals = fcntl(src, F_GET_SEALS);
		CHECK(seals >= 0);
		CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0);
	}
	return fd;
}

static void mut_magic(struct ringbuf_shm_meta *m) { m->magic ^= 1; }
static void mut_version(struct ringbuf_shm_meta *m) { m->version = RINGBUF_LAYOUT_VERSION + 1; }
static void mut_data_size(struct ringbuf_shm_meta *m) { m->data_size *= 2; }
static void mut_page_size(struct ringbuf_shm_meta *m) { m->page_size *= 2; }

static void expect_from_fd_err(int fd, const struct ringbuf_opts *opts, int err)
{
	errno = 0;
	struct ringbuf *rb = ringbuf_from_fd(fd, opts);
	if (rb) {
		fprintf(stderr, "ringbuf_from_fd succeeded, expected errno %d\n", err);
		exit(T_FAIL);
	}
	CHECK_EQ(errno, err);
}

static void test_from_fd(void)
{
	struct ringbuf *rb = ringbuf_new(4 * page, NULL);
	CHECK(rb != NULL);
	int fd = ringbuf_fd(rb);

	/* layout: the identity block the header documents */
	struct ringview v;
	rv_map(&v, rb, PROT_READ, PROT_READ, PROT_READ); /* all read-only */
	const struct ringbuf_shm_meta *meta = v.meta;
	CHECK(meta->magic == RINGBUF_MAGIC);
	CHECK_EQ(meta->version, RINGBUF_LAYOUT_VERSION);
	CHECK_EQ(meta->page_size, page);
	CHECK_EQ(meta->data_size, 4 * page);
	CHECK_EQ(meta->flags, 0);
	rv_unmap(&v);

	/* attach a second handle in this process: it is a second view of the
	 * same ring; the caller keeps its fd */
	struct ringbuf *rb2 = ringbuf_from_fd(fd, NULL);
	CHECK(rb2 != NULL);
	CHECK(ringbuf_fd(rb2) >= 0);
	CHECK(ringbuf_fd(rb2) != fd);
	CHECK_EQ(ringbuf_query(rb2, RINGBUF_RING_SIZE), 4 * page);
	unsigned char buf[40];
	fill(buf, sizeof(buf), 7);
	CHECK_EQ(ringbuf_output(rb2, buf, sizeof(buf), 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), rv_rec_size(sizeof(buf)));
	struct expect *e = calloc(1, sizeof(*e));
	CHECK(e);
	expect_add(e, 7, sizeof(buf));
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	CHECK_EQ(ringbuf_query(rb2, RINGBUF_CONS_POS), rv_rec_size(sizeof(buf)));
	/* a sample reserved through one handle is submitted by pointer */
	void *s = ringbuf_reserve(rb2, 16, 0);
	CHECK(s != NULL);
	fill(s, 16, 8);
	ringbuf_submit(s, 0);
	expect_add(e, 8, 16);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	ringbuf_free(rb2);
	CHECK(fcntl(fd, F_GETFD) >= 0); /* still open */
	CHECK_EQ(ringbuf_output(rb, buf, 8, 0), 0);
	int cnt = 0;
	CHECK_EQ(ringbuf_consume(rb, cb_count, &cnt), 1);
	free(e);

	/* bad opts */
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = 2 };
	expect_from_fd_err(fd, &o, EINVAL);

	/* not an fd */
	expect_from_fd_err(-1, NULL, EBADF);
	int closed = dup(fd);
	CHECK(closed >= 0);
	close(closed);
	expect_from_fd_err(closed, NULL, EBADF);

	/* not a ring: empty memfd, a short file */
	int m = memfd_create("t_api_empty", MFD_CLOEXEC);
	CHECK(m >= 0);
	expect_from_fd_err(m, NULL, EPROTO);
	CHECK(ftruncate(m, (off_t)page) == 0);
	expect_from_fd_err(m, NULL, EPROTO);
	close(m);

	/* a faithful sealed copy is accepted (so the rejections below are
	 * about the one thing each changes) */
	m = copy_ring_file(rb, true, NULL);
	rb2 = ringbuf_from_fd(m, NULL);
	CHECK(rb2 != NULL);
	CHECK_EQ(ringbuf_query(rb2, RINGBUF_RING_SIZE), 4 * page);
	ringbuf_free(rb2);
	close(m);

	m = copy_ring_file(rb, false, NULL); /* not size-sealed */
	expect_from_fd_err(m, NULL, EPROTO);
	close(m);
	m = copy_ring_file(rb, true, mut_magic);
	expect_from_fd_err(m, NULL, EPROTO);
	close(m);
	m = copy_ring_file(rb, true, mut_data_size);
	expect_from_fd_err(m, NULL, EPROTO);
	close(m);
	m = copy_ring_file(rb, true, mut_page_size);
	expect_from_fd_err(m, NULL, EPROTO);
	close(m);
	m = copy_ring_file(rb, true, mut_version);
	expect_from_fd_err(m, NULL, EPROTONOSUPPORT);
	close(m);

	ringbuf_free(rb);
}

static void expect_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags,
			  long want)
{
	errno = 0;
	long r = ringbuf_output(rb, data, size, flags);
	if (r != want) {
		fprintf(stderr, "ringbuf_output(size %llu, flags %#llx) = %ld, want %ld\n",
			(unsigned long long)size, (unsigned long long)flags, r, want);
		exit(T_FAIL);
	}
	if (want < 0)
		CHECK_EQ(errno, -want);
}

static void expect_reserve_fail(struct ringbuf *rb, uint64_t size, uint64_t flags, int err)
{
	errno = 0;
	void *p = ringbuf_reserve(rb, size, flags);
	if (p) {
		fprintf(stderr, "ringbuf_reserve(size %llu, flags %#llx) succeeded, want errno %d\n",
			(unsigned long long)size, (unsigned long long)flags, err);
		exit(T_FAIL);
	}
	CHECK_EQ(errno, err);
}

static void test_producer_errors(void)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	static unsigned char big[1 << 20];
	unsigned char small[64];
	memset(small, 0x5a, sizeof(small));

	/* output: arguments */
	expect_output(NULL, small, 8, 0, -EINVAL);
	expect_output(rb, NULL, 8, 0, -EINVAL);
	expect_output(rb, small, 8, 4, -EINVAL);
	expect_output(rb, small, 8, 1ULL << 63, -EINVAL);
	expect_output(rb, small, 8, 7, -EINVAL);
	/* sizes that can never fit -- checked before anything is read */
	expect_output(rb, small, UINT32_MAX / 4 + 1, 0, -E2BIG);
	expect_output(rb, small, UINT32_MAX, 0, -E2BIG);
	expect_output(rb, small, UINT64_MAX, 0, -E2BIG);
	expect_output(rb, small, UINT64_MAX - 7, 0, -E2BIG);
	expect_output(rb, small, (1ULL << 32) + 8, 0, -E2BIG);
	expect_output(rb, big, D, 0, -E2BIG);
	expect_output(rb, big, D - 8, 0, -E2BIG);  /* round_up(D, 8) == D */
	expect_output(rb, big, D - 15, 0, -E2BIG); /* round_up(D - 7, 8) == D */
	/* flag errors win over size errors?  Not specified; not tested. */

	/* reserve: arguments */
	expect_reserve_fail(NULL, 8, 0, EINVAL);
	expect_reserve_fail(rb, 8, 1, EINVAL);
	expect_reserve_fail(rb, 8, 2, EINVAL);
	expect_reserve_fail(rb, 8, 4, EINVAL);
	expect_reserve_fail(rb, 8, 1ULL << 63, EINVAL);
	expect_reserve_fail(rb, UINT32_MAX / 4 + 1, 0, E2BIG);
	expect_reserve_fail(rb, UINT64_MAX, 0, E2BIG);
	expect_reserve_fail(rb, D, 0, E2BIG);
	expect_reserve_fail(rb, D - 8, 0, E2BIG);
	expect_reserve_fail(rb, D - 15, 0, E2BIG);

	/* nothing above touched the ring */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);

	/* UINT32_MAX/4 exactly is not "too large" by the first rule, but on a
	 * small ring it is by the second */
	expect_output(rb, big, UINT32_MAX / 4, 0, -E2BIG);

	/* the largest record that fits an empty ring: D - 16 bytes (D - 8 total) */
	fill(big, D - 16, 1);
	expect_output(rb, big, D - 16, 0, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), D - 8);
	/* now the ring is full: even a 0-byte record has no room */
	expect_output(rb, small, 0, 0, -EAGAIN);
	expect_output(rb, NULL, 0, 0, -EAGAIN);
	expect_reserve_fail(rb, 0, 0, EAGAIN);
	/* "never fits" still reports E2BIG on a full ring */
	expect_output(rb, big, D, 0, -E2BIG);
	struct expect *e = calloc(1, sizeof(*e));
	CHECK(e);
	expect_add(e, 1, D - 16);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), D - 8);
	/* and again, starting near the end of the data area (wraps) */
	void *p = ringbuf_reserve(rb, D - 16, 0);
	CHECK(p != NULL);
	fill(p, D - 16, 2);
	ringbuf_submit(p, 0);
	expect_add(e, 2, D - 16);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);

	/* accepted flag combinations: 0, 1, 2 and 1|2 (the kernel rejects
	 * only other bits) */
	for (uint64_t f = 0; f <= 3; f++) {
		fill(small, 24, 100 + (uint32_t)f);
		expect_output(rb, small, 24, f, 0);
		expect_add(e, 100 + (uint32_t)f, 24);
	}
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 4);
	/* submit/discard ignore unknown flag bits */
	p = ringbuf_reserve(rb, 24, 0);
	CHECK(p != NULL);
	fill(p, 24, 200);
	ringbuf_submit(p, 0xfff0);
	expect_add(e, 200, 24);
	p = ringbuf_reserve(rb, 24, 0);
	CHECK(p != NULL);
	ringbuf_discard(p, ~0ULL);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(e->got, e->n);
	free(e);
	ringbuf_free(rb);
}

static void test_ring_full(void)
{
	const uint64_t D = 4 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct expect *e = calloc(1, sizeof(*e));
	CHECK(e);
	unsigned char buf[100];

	/* 100-byte records occupy 112 bytes; the ring holds at most D - 1
	 * bytes of records (positions never differ by the full size) */
	uint64_t per = rv_rec_size(sizeof(buf));
	uint64_t fit = (D - 1) / per;
	uint32_t seq = 0;
	for (uint64_t i = 0; i < fit; i++) {
		fill(buf, sizeof(buf), seq);
		expect_output(rb, buf, sizeof(buf), RINGBUF_NO_WAKEUP, 0);
		expect_add(e, seq++, sizeof(buf));
	}
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), fit * per);
	expect_output(rb, buf, sizeof(buf), 0, -EAGAIN);
	expect_reserve_fail(rb, sizeof(buf), 0, EAGAIN);
	/* fill the remainder exactly: the used bytes may reach D - 8 */
	uint64_t left = D - 8 - fit * per; /* bytes of record that still fit */
	CHECK(left >= 8);
	fill(buf, left - 8, seq);
	expect_output(rb, buf, left - 8, 0, 0);
	expect_add(e, seq++, left - 8);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), D - 8);
	expect_output(rb, buf, 0, 0, -EAGAIN);
	/* failures did not move anything */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), D - 8);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);

	/* consume one: exactly one more 100-byte record fits (112 - 8 left) */
	CHECK_EQ(ringbuf_consume_n(rb, cb_expect, e, 1), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), per);
	fill(buf, sizeof(buf), seq);
	expect_output(rb, buf, sizeof(buf), 0, 0);
	expect_add(e, seq++, sizeof(buf));
	expect_output(rb, buf, 0, 0, -EAGAIN);
	int n = ringbuf_consume(rb, cb_expect, e);
	CHECK_EQ(n, (int)fit + 1);
	CHECK_EQ(e->got, e->n);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	free(e);
	ringbuf_free(rb);
}

static void test_records(void)
{
	const uint64_t D = 16 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	struct ringview v;
	rv_map(&v, rb, PROT_READ, PROT_READ, PROT_READ); /* all read-only */
	struct expect *e = calloc(1, sizeof(*e));
	CHECK(e);
	uint32_t seq = 0;

	/* size-0 records, by output (with and without a data pointer) and by
	 * reserve */
	unsigned char dummy[8];
	expect_output(rb, NULL, 0, 0, 0);
	expect_add(e, seq++, 0);
	expect_output(rb, dummy, 0, 0, 0);
	expect_add(e, seq++, 0);
	void *p = ringbuf_reserve(rb, 0, 0);
	CHECK(p != NULL);
	CHECK(((uintptr_t)p & 7) == 0);
	ringbuf_submit(p, 0);
	expect_add(e, seq++, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 3 * 8);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 3 * 8);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 3);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);

	/* reserve: aligned, writable, placed where the layout says, header
	 * BUSY until submit; pg_off is the owner's pid while BUSY (the one
	 * documented difference from the kernel), the header's page in the
	 * file once committed */
	for (uint64_t size = 1; size <= 70; size++) {
		uint64_t pos = ringbuf_query(rb, RINGBUF_PROD_POS);
		CHECK_EQ(pos, rv_load(v.prod));
		p = ringbuf_reserve(rb, size, 0);
		CHECK(p != NULL);
		CHECK(((uintptr_t)p & 7) == 0);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), pos + rv_rec_size(size));
		struct ringbuf_hdr h = rv_hdr(&v, pos);
		CHECK_EQ(h.len, (uint32_t)size | RINGBUF_BUSY_BIT);
		CHECK_EQ(h.pg_off, getpid());
		fill(p, size, seq);
		CHECK(matches(rv_payload(&v, pos), size, seq));
		if (size % 3 == 0) {
			ringbuf_discard(p, 0);
			h = rv_hdr(&v, pos);
			CHECK_EQ(h.len, (uint32_t)size | RINGBUF_DISCARD_BIT);
			CHECK_EQ(h.pg_off, RINGBUF_SHM_DATA_PAGE + (pos & (D - 1)) / page);
		} else {
			ringbuf_submit(p, 0);
			h = rv_hdr(&v, pos);
			CHECK_EQ(h.len, (uint32_t)size);
			CHECK_EQ(h.pg_off, RINGBUF_SHM_DATA_PAGE + (pos & (D - 1)) / page);
			expect_add(e, seq, size);
		}
		seq++;
	}
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 70 - 70 / 3);
	CHECK_EQ(e->got, e->n);
	CHECK_EQ(rv_load(v.cons), ringbuf_query(rb, RINGBUF_PROD_POS));

	/* output writes the same header */
	uint64_t pos = ringbuf_query(rb, RINGBUF_PROD_POS);
	unsigned char buf[512];
	fill(buf, 13, seq);
	expect_output(rb, buf, 13, 0, 0);
	CHECK_EQ(rv_hdr(&v, pos).len, 13);
	CHECK_EQ(rv_hdr(&v, pos).pg_off, RINGBUF_SHM_DATA_PAGE + (pos & (D - 1)) / page);
	CHECK(matches(rv_payload(&v, pos), 13, seq));
	expect_add(e, seq++, 13);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);

	/* submit/discard ordering: the consumer stops at the first BUSY record */
	void *a = ringbuf_reserve(rb, 32, 0);
	void *b = ringbuf_reserve(rb, 32, 0);
	void *c = ringbuf_reserve(rb, 32, 0);
	CHECK(a && b && c);
	CHECK_EQ(((uintptr_t)b - (uintptr_t)a) & (D - 1), 40);
	CHECK_EQ(((uintptr_t)c - (uintptr_t)b) & (D - 1), 40);
	fill(a, 32, seq);
	fill(b, 32, seq + 1);
	fill(c, 32, seq + 2);
	ringbuf_submit(c, 0);
	CHECK_EQ(ringbuf_consume(rb, cb_fail, NULL), 0); /* a is BUSY */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 3 * 40);
	ringbuf_submit(a, 0);
	expect_add(e, seq, 32);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1); /* b is BUSY */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 2 * 40);
	ringbuf_discard(b, 0);
	expect_add(e, seq + 2, 32);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1); /* b skipped, c delivered */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	seq += 3;

	/* only discarded records: consume returns 0 but passes them */
	for (int i = 0; i < 5; i++) {
		p = ringbuf_reserve(rb, 24, 0);
		CHECK(p != NULL);
		ringbuf_discard(p, RINGBUF_NO_WAKEUP);
	}
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 5 * 32);
	CHECK_EQ(ringbuf_consume(rb, cb_fail, NULL), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);

	/* bad sample pointers are ignored with EINVAL; nothing breaks */
	uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS);
	errno = 0;
	ringbuf_submit(NULL, 0);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	ringbuf_discard(NULL, 0);
	CHECK_EQ(errno, EINVAL);
	uint64_t stack_buf[4] = { 0 };
	errno = 0;
	ringbuf_submit(&stack_buf[2], 0);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	ringbuf_discard(&stack_buf[2], RINGBUF_FORCE_WAKEUP);
	CHECK_EQ(errno, EINVAL);
	CHECK(stack_buf[0] == 0 && stack_buf[1] == 0 && stack_buf[2] == 0 && stack_buf[3] == 0);
	static uint64_t static_buf[4];
	errno = 0;
	ringbuf_submit(&static_buf[1], 0);
	CHECK_EQ(errno, EINVAL);
	CHECK(static_buf[0] == 0);
	/* misaligned pointer into an outstanding sample, whose bytes look
	 * like a BUSY header */
	p = ringbuf_reserve(rb, 32, 0);
	CHECK(p != NULL);
	memset(p, 0xff, 32);
	errno = 0;
	ringbuf_submit((char *)p + RINGBUF_HDR_SZ + 1, 0);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	ringbuf_discard((char *)p + 1, 0);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(rv_hdr(&v, prod).len, 32 | RINGBUF_BUSY_BIT); /* still reserved */
	for (int i = 0; i < 32; i++)
		CHECK_EQ(((unsigned char *)p)[i], 0xff);
	fill(p, 32, seq);
	CHECK_EQ(ringbuf_consume(rb, cb_fail, NULL), 0);
	ringbuf_submit(p, 0);
	expect_add(e, seq++, 32);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	/* a sample already committed is no longer outstanding */
	p = ringbuf_reserve(rb, 32, 0);
	CHECK(p != NULL);
	fill(p, 32, seq);
	ringbuf_submit(p, 0);
	errno = 0;
	ringbuf_discard(p, 0);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(rv_hdr(&v, prod + 40).len, 32); /* not turned into a discard */
	expect_add(e, seq++, 32);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	/* the ring still works */
	fill(buf, 48, seq);
	expect_output(rb, buf, 48, 0, 0);
	expect_add(e, seq++, 48);
	CHECK_EQ(ringbuf_consume(rb, cb_expect, e), 1);
	CHECK_EQ(e->got, e->n);

	/* payload bytes delivered exactly: many sizes, several wraps, mixed
	 * output and reserve, varied batch sizes */
	uint64_t rng = 0x1234567887654321ULL;
	for (int round = 0; round < 400; round++) {
		int batch = 1 + (int)(t_rand(&rng) % 8);
		for (int i = 0; i < batch; i++) {
			size_t size = (size_t)(t_rand(&rng) % 400);
			if (t_rand(&rng) & 1) {
				fill(buf, size, seq);
				expect_output(rb, buf, size, t_rand(&rng) % 3, 0);
			} else {
				p = ringbuf_reserve(rb, size, 0);
				CHECK(p != NULL);
				fill(p, size, seq);
				ringbuf_submit(p, t_rand(&rng) % 3);
			}
			expect_add(e, seq++, size);
		}
		CHECK_EQ(ringbuf_consume(rb, cb_expect, e), batch);
		if (e->n > MAX_RECS - 16) { /* recycle the expectation table */
			CHECK_EQ(e->got, e->n);
			e->n = e->got = 0;
		}
	}
	CHECK_EQ(e->got, e->n);
	CHECK(ringbuf_query(rb, RINGBUF_PROD_POS) > 3 * D); /* wrapped a few times */
	free(e);
	rv_unmap(&v);
	ringbuf_free(rb);
}

static void test_query(void)
{
	const uint64_t D = 2 * page;
	struct ringbuf *rb = ringbuf_new(D, NULL);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), D);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0);
	unsigned char buf[64] = { 0 };
	CHECK_EQ(ringbuf_output(rb, buf, 10, 0), 0);
	CHECK_EQ(ringbuf_output(rb, buf, 30, 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 24 + 40);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 24 + 40);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &(int){ 0 }, 1), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 24);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 40);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), D);
	/* unknown selectors (4 is the kernel's OVERWRITE_POS, not exposed) */
	CHECK_EQ(ringbuf_query(rb, 4), 0);
	CHECK_EQ(ringbuf_query(rb, 5), 0);
	CHECK_EQ(ringbuf_query(rb, 1ULL << 32), 0);
	CHECK_EQ(ringbuf_query(rb, UINT64_MAX), 0);
	/* NULL ring */
	for (uint64_t w = 0; w <= 5; w++)
		CHECK_EQ(ringbuf_query(NULL, w), 0);
	ringbuf_free(rb);
}

static void test_consumer_errors(void)
{
	struct ringbuf *rb = ringbuf_new(page, NULL);
	CHECK(rb != NULL);
	unsigned char buf[16] = { 0 };
	CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), 0);
	int cnt = 0;

	CHECK_ERR(ringbuf_consume(NULL, cb_count, &cnt), EINVAL);
	CHECK_ERR(ringbuf_consume(rb, NULL, &cnt), EINVAL);
	CHECK_ERR(ringbuf_consume_n(NULL, cb_count, &cnt, 5), EINVAL);
	CHECK_ERR(ringbuf_consume_n(rb, NULL, &cnt, 5), EINVAL);
	CHECK_ERR(ringbuf_poll(NULL, cb_count, &cnt, 0), EINVAL);
	CHECK_ERR(ringbuf_poll(rb, NULL, &cnt, 0), EINVAL);
	errno = 0;
	CHECK_EQ(ringbuf_poll(rb, NULL, &cnt, 100000), -EINVAL); /* no waiting either */
	CHECK_EQ(errno, EINVAL);
	/* none of that consumed the record */
	CHECK_EQ(cnt, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 24);
	CHECK_EQ(ringbuf_consume(rb, cb_count, &cnt), 1);
	CHECK_EQ(cnt, 1);
	/* ctx may be NULL: it is only passed through */
	CHECK_EQ(ringbuf_output(rb, buf, 1, 0), 0);
	CHECK_EQ(ringbuf_consume(rb, cb_count, &cnt), 1);
	CHECK_EQ(ringbuf_consume(rb, cb_fail, NULL), 0);
	ringbuf_free(rb);
}

static int cb_stop_at(void *ctx, void *data, size_t size)
{
	int *left = ctx;
	(void)data;
	(void)size;
	if (--*left == 0)
		return -ENOSPC;
	return 1; /* positive values are ignored */
}

static void test_consume_counts(void)
{
	struct ringbuf *rb = ringbuf_new(4 * page, NULL);
	CHECK(rb != NULL);
	unsigned char buf[8] = { 0 };
	for (int i = 0; i < 20; i++)
		CHECK_EQ(ringbuf_output(rb, buf, 8, RINGBUF_NO_WAKEUP), 0);
	int cnt = 0;
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, 3), 3);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 3 * 16);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, 1), 1);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, 100), 16);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, 100), 0);
	CHECK_EQ(cnt, 20);
	/* SIZE_MAX means "no limit" */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(ringbuf_output(rb, buf, 8, 0), 0);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, SIZE_MAX), 5);
	/* callback: positive return ignored, negative stops and is returned */
	for (int i = 0; i < 6; i++)
		CHECK_EQ(ringbuf_output(rb, buf, 8, 0), 0);
	int left = 4;
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, cb_stop_at, &left), -ENOSPC);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 2 * 16);
	left = 100;
	CHECK_EQ(ringbuf_consume(rb, cb_stop_at, &left), 2);
	ringbuf_free(rb);
}

static void test_poll_timing(void)
{
	struct ringbuf *rb = ringbuf_new(page, NULL);
	CHECK(rb != NULL);
	int cnt = 0;

	/* a committed record waiting at the consumer position is consumed at
	 * once, even if it was committed without a wakeup */
	unsigned char buf[8] = { 0 };
	CHECK_EQ(ringbuf_output(rb, buf, 8, RINGBUF_NO_WAKEUP), 0);
	CHECK_EQ(ringbuf_output(rb, buf, 8, RINGBUF_NO_WAKEUP), 0);
	uint64_t t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 5000), 2);
	CHECK(t_now_ns() - t0 < 2500 * 1000000ULL);
	CHECK_EQ(cnt, 2);

	/* empty ring, timeout 0: returns 0 at once */
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 0), 0);
	CHECK(t_now_ns() - t0 < 1000 * 1000000ULL);

	/* empty ring, 100 ms: returns 0 after about that long */
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 100), 0);
	uint64_t el = t_now_ns() - t0;
	if (el < 90 * 1000000ULL || el > 5000 * 1000000ULL) {
		fprintf(stderr, "poll(100 ms) on an empty ring took %.1f ms\n", el / 1e6);
		exit(T_FAIL);
	}
	CHECK_EQ(cnt, 2);

	/* records left behind by a limited consume are delivered by the next
	 * poll without waiting, even though they sent no wakeup (the head
	 * record is committed) */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(ringbuf_output(rb, buf, 8, RINGBUF_NO_WAKEUP), 0);
	CHECK_EQ(ringbuf_consume_n(rb, cb_count, &cnt, 1), 1);
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 5000), 2);
	CHECK(t_now_ns() - t0 < 2500 * 1000000ULL);
	CHECK_EQ(cnt, 5);

	/* a poll with timeout 0 still consumes what is available */
	CHECK_EQ(ringbuf_output(rb, buf, 8, 0), 0);
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 0), 1);
	CHECK_EQ(cnt, 6);

	/* a BUSY record at the head: poll neither spins nor returns early;
	 * after the timeout it consumes what is committed (nothing: the head
	 * is BUSY), and the committed record behind it waits */
	void *busy = ringbuf_reserve(rb, 8, 0);
	CHECK(busy != NULL);
	CHECK_EQ(ringbuf_output(rb, buf, 8, 0), 0);
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 100), 0);
	el = t_now_ns() - t0;
	if (el < 90 * 1000000ULL || el > 5000 * 1000000ULL) {
		fprintf(stderr, "poll(100 ms) behind a BUSY record took %.1f ms\n", el / 1e6);
		exit(T_FAIL);
	}
	CHECK_EQ(cnt, 6);
	ringbuf_submit(busy, RINGBUF_NO_WAKEUP);
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, cb_count, &cnt, 5000), 2);
	CHECK(t_now_ns() - t0 < 2500 * 1000000ULL);
	CHECK_EQ(cnt, 8);
	ringbuf_free(rb);
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	CHECK(ps > 0);
	page = (size_t)ps;

	test_new();
	test_from_fd();
	test_producer_errors();
	test_ring_full();
	test_records();
	test_query();
	test_consumer_errors();
	test_consume_counts();
	test_poll_timing();
	return T_PASS;
}
