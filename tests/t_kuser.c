/* SPDX-License-Identifier: MIT */
/*
 * t_kuser -- ringbuf as the producer into kernel BPF_MAP_TYPE_USER_RINGBUF
 * maps, drained by a BPF program with bpf_user_ringbuf_drain()
 * (tests/bpf/kuser.bpf.c, a SEC("syscall") program run with
 * BPF_PROG_TEST_RUN; it logs every sample's size and FNV-1a in order).
 * Covered:
 *
 *   - attaching by fd, pinned path and id; the role errors (consume,
 *     consume_n and poll on a producer handle: EOPNOTSUPP);
 *   - output / reserve / submit / discard: exact counts, sizes and bytes as
 *     the kernel reads them, discarded records skipped, a BUSY record
 *     holding back later ones, sizes from 0 to a record that fills the
 *     whole ring, E2BIG past that, filling until EAGAIN and space coming
 *     back after a drain;
 *   - 4 producer threads x 5000 records while the main thread drains,
 *     every sample copied by the program into a BPF_MAP_TYPE_RINGBUF that
 *     ringbuf consumes: totals exact, each thread's sequence complete and
 *     in order;
 *   - ringbuf_reserve_wait: the timeout on a full ring, and an early
 *     return when a drain frees space (EPOLLOUT);
 *   - hand-written headers and positions through our own mapping: the
 *     kernel's verdicts, nothing consumed, ringbuf refusing to produce into
 *     a corrupt ring (EBADMSG), then a restored ring working again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ringbuf.h"
#include "test.h"
#include "kbpf.h"
#include "proc.h"
#include "ringview.h"
#include "bpf/kuser.h"

#define SZ KU_RING_SIZE

/*
 * ThreadSanitizer cannot see the kernel's side of a USER_RINGBUF: a
 * producer thread's payload write reuses ring memory that another thread
 * filled before, and what orders the two is the kernel draining it (its
 * acquire of the header, then its release of consumer_pos, which
 * rb_kuser_reserve() acquires) -- no happens-before edge TSan knows of.
 * So, in TSan builds, the payload copies of the many-threads test
 * (ringbuf_output's rb_copy and kuser_mt_producer's memcpy) are not
 * reported; that the records arrive intact and in order is what the test
 * itself checks.
 */
#if T_TSAN
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:rb_copy\nrace:kuser_mt_producer\n";
}
#endif

static size_t page;

/* ---- the loaded BPF object ---------------------------------------------- */

struct kobj {
	struct bpf_object *obj;
	int prog_fd;
	int urb_fd;
	int out_fd;
	struct ku_log *log; /* mmap of "logm" */
	size_t log_len;
};

static void kobj_load(struct kobj *k)
{
	memset(k, 0, sizeof(*k));
	k->obj = kbpf_load("kuser");
	k->prog_fd = kbpf_prog_fd(k->obj, "drain");
	k->urb_fd = kbpf_map_fd(k->obj, "urb");
	k->out_fd = kbpf_map_fd(k->obj, "out");
	k->log_len = (sizeof(struct ku_log) + page - 1) & ~(page - 1);
	k->log = kbpf_map_mmap(kbpf_map_fd(k->obj, "logm"), k->log_len);
}

static void kobj_free(struct kobj *k)
{
	munmap(k->log, k->log_len);
	bpf_object__close(k->obj);
}

/* Run the drain program once. */
static struct ku_ctx drain_ex(struct kobj *k, uint64_t flags, bool copy, uint32_t stop_after)
{
	struct ku_ctx c;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memset(&c, 0, sizeof(c));
	c.flags = flags;
	c.copy = copy;
	c.stop_after = stop_after;
	c.ret = 0x7777;
	o.ctx_in = &c; /* the kernel copies a syscall program's ctx back here */
	o.ctx_size_in = sizeof(c);
	CHECK_EQ(bpf_prog_test_run_opts(k->prog_fd, &o), 0);
	CHECK_EQ(o.retval, 0);
	CHECK(c.ret != 0x7777);
	CHECK_EQ(c.too_big, 0);
	CHECK_EQ(c.read_fail, 0);
	CHECK_EQ(c.out_fail, 0);
	return c;
}

static struct ku_ctx drain(struct kobj *k)
{
	return drain_ex(k, 0, false, 0);
}

/* ---- what was produced, to compare with what the kernel drained ----------- */

struct expect {
	int n;
	uint32_t len[KU_MAX_LOG];
	uint32_t fnv[KU_MAX_LOG];
	uint64_t bytes, sum;
	uint64_t ring_bytes; /* including discarded records and headers */
};

static void fill(void *p, uint64_t size, uint32_t seed)
{
	unsigned char *b = p;

	for (uint64_t i = 0; i < size; i++)
		b[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

static void expect_rec(struct expect *e, const void *data, uint64_t size)
{
	uint32_t h = t_fnv1a(data, size);

	CHECK(e->n < KU_MAX_LOG);
	e->len[e->n] = (uint32_t)size;
	e->fnv[e->n] = h;
	e->n++;
	e->bytes += size;
	e->sum += h;
	e->ring_bytes += rv_rec_size(size);
}

static unsigned char src[SZ + 64];

/* Produce @size bytes (seed @seed) through ringbuf_output. */
static void out_rec(struct ringbuf *rb, struct expect *e, uint64_t size, uint32_t seed,
		    uint64_t flags)
{
	fill(src, size, seed);
	CHECK_EQ(ringbuf_output(rb, src, size, flags), 0);
	expect_rec(e, src, size);
}

/* ... through reserve + submit (or discard) */
static void res_rec(struct ringbuf *rb, struct expect *e, uint64_t size, uint32_t seed,
		    uint64_t flags, bool discard)
{
	unsigned char *p = ringbuf_reserve(rb, size, 0);

	CHECK(p != NULL);
	CHECK_EQ((uintptr_t)p & 7, 0);
	fill(p, size, seed);
	if (discard) {
		ringbuf_discard(p, flags);
		e->ring_bytes += rv_rec_size(size);
	} else {
		expect_rec(e, p, size);
		ringbuf_submit(p, flags);
	}
}

/* Drain and check the kernel saw exactly @e, in order; the ring is empty
 * afterwards. */
static void drain_check(struct kobj *k, struct ringbuf *rb, struct expect *e)
{
	uint64_t prod0 = ringbuf_query(rb, RINGBUF_PROD_POS);
	struct ku_ctx c;

	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), e->ring_bytes);
	c = drain(k);
	CHECK_EQ(c.ret, e->n);
	CHECK_EQ(c.cnt, e->n);
	CHECK_EQ(k->log->n, e->n);
	for (int i = 0; i < e->n; i++) {
		if (k->log->len[i] != e->len[i] || k->log->fnv[i] != e->fnv[i]) {
			fprintf(stderr, "sample %d: kernel read %u bytes fnv %08x, produced %u fnv %08x\n",
				i, k->log->len[i], k->log->fnv[i], e->len[i], e->fnv[i]);
			CHECK(!"sample drained wrong");
		}
	}
	CHECK_EQ(c.bytes, e->bytes);
	CHECK_EQ(c.sum, e->sum);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), prod0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	memset(e, 0, sizeof(*e));
}

/* ---- attaching ------------------------------------------------------------ */


static int nop_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	CHECK(!"a producer handle delivered a record");
	return 0;
}

/* One record through @rb, drained by the program. */
static void roundtrip(struct kobj *k, struct ringbuf *rb, uint32_t seed)
{
	struct expect e = { 0 };

	out_rec(rb, &e, 40 + seed % 50, seed, 0);
	drain_check(k, rb, &e);
}

static void test_pinned(struct kobj *k)
{
	char dir[64] = "/sys/fs/bpf", path[128], missing[128];
	int mounted;
	struct ringbuf *rb;

	mounted = kbpf_bpffs_get(dir, sizeof(dir), "/tmp/t_kuser.XXXXXX");
	if (mounted < 0)
		return;
	snprintf(path, sizeof(path), "%s/t_kuser_urb_%d", dir, (int)getpid());
	snprintf(missing, sizeof(missing), "%s/t_kuser_missing_%d", dir, (int)getpid());
	CHECK_EQ(bpf_obj_pin(k->urb_fd, path), 0);
	rb = ringbuf_map_open_pinned(path, NULL);
	CHECK(rb != NULL);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), NULL, NULL), kbpf_map_id(k->urb_fd, NULL, NULL));
	roundtrip(k, rb, 3);
	ringbuf_free(rb);
	CHECK_OPEN_ERR(ringbuf_map_open_pinned(missing, NULL), ENOENT);
	CHECK_EQ(unlink(path), 0);
	kbpf_bpffs_put(dir, mounted);
}

static void test_attach(void)
{
	struct ringbuf_opts bad = { .sz = sizeof(bad), .flags = 1 };
	struct kobj k;
	struct ringbuf *rb;
	int fds, array_fd, pipefd[2];
	uint64_t t0;

	kobj_load(&k);
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	CHECK(array_fd >= 0);
	CHECK_EQ(pipe(pipefd), 0);
	fds = proc_count_fds();

	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	CHECK(ringbuf_fd(rb) >= 0 && ringbuf_fd(rb) != k.urb_fd);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), NULL, NULL), kbpf_map_id(k.urb_fd, NULL, NULL));
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), SZ);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, 77), 0);

	/* the producer role only */
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, nop_cb, NULL), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	errno = 0;
	CHECK_EQ(ringbuf_consume_n(rb, nop_cb, NULL, 5), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	errno = 0;
	CHECK_EQ(ringbuf_poll(rb, nop_cb, NULL, 0), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	/* with a record waiting, too, and without waiting for the timeout */
	CHECK_EQ(ringbuf_output(rb, "abcdefgh", 8, 0), 0);
	t0 = t_now_ns();
	errno = 0;
	CHECK_EQ(ringbuf_poll(rb, nop_cb, NULL, 2000), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	CHECK(t_now_ns() - t0 < 1000000000ull);
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, nop_cb, NULL), -EOPNOTSUPP);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0); /* nothing consumed */
	{
		struct ku_ctx c = drain(&k);

		CHECK_EQ(c.ret, 1);
		CHECK_EQ(k.log->len[0], 8);
		CHECK_EQ(k.log->fnv[0], t_fnv1a("abcdefgh", 8));
	}
	roundtrip(&k, rb, 1);
	ringbuf_free(rb);
	CHECK_EQ(kbpf_map_id(k.urb_fd, NULL, NULL), kbpf_map_id(k.urb_fd, NULL, NULL)); /* caller's fd still open */

	rb = ringbuf_map_open_id(kbpf_map_id(k.urb_fd, NULL, NULL), NULL);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), SZ);
	roundtrip(&k, rb, 2);
	ringbuf_free(rb);
	CHECK_EQ(proc_count_fds(), fds);

	CHECK_OPEN_ERR(ringbuf_map_open(-1, NULL), EBADF);
	CHECK_OPEN_ERR(ringbuf_map_open(pipefd[1], NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.prog_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(array_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.urb_fd, &bad), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(kbpf_map_id(k.urb_fd, NULL, NULL), &bad), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(0xfffffff0u, NULL), ENOENT);
	CHECK_OPEN_ERR(ringbuf_map_open_pinned(NULL, NULL), EINVAL);
	CHECK_EQ(proc_count_fds(), fds);

	test_pinned(&k);
	CHECK_EQ(proc_count_fds(), fds);

	close(pipefd[0]);
	close(pipefd[1]);
	close(array_fd);
	kobj_free(&k);
}

/* ---- records -------------------------------------------------------------- */

static const uint64_t wflags[] = { 0, RINGBUF_NO_WAKEUP, RINGBUF_FORCE_WAKEUP };

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
		errno = 0;
		CHECK(ringbuf_reserve(rb, 8, 1) == NULL);
		CHECK_EQ(errno, EINVAL);
		errno = 0;
		CHECK(ringbuf_reserve_wait(rb, 8, -2) == NULL);
		CHECK_EQ(errno, EINVAL);
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
	errno = 0;
	CHECK(ringbuf_reserve(rb, SZ - 8, 0) == NULL);
	CHECK_EQ(errno, EAGAIN);
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
		errno = 0;
		CHECK(ringbuf_reserve(rb, SZ - 7, 0) == NULL);
		CHECK_EQ(errno, E2BIG);
		t0 = t_now_ns();
		errno = 0;
		CHECK(ringbuf_reserve_wait(rb, SZ - 7, 2000) == NULL);
		CHECK_EQ(errno, E2BIG);
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
	errno = 0;
	CHECK(ringbuf_reserve(rb, 0, 0) == NULL);
	CHECK_EQ(errno, EAGAIN);
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

/* ---- many producer threads ------------------------------------------------ */

#define NTHREADS 4
#define PER_THREAD 5000

struct mrec {
	uint32_t tid;
	uint32_t seq;
	uint8_t pad[24];
};

static uint32_t mrec_size(uint32_t seq)
{
	return 8 + (seq % 7) * 4;
}

static bool mrec_discarded(uint32_t seq)
{
	return seq % 10 == 5;
}

static void mrec_fill(struct mrec *m, uint32_t tid, uint32_t seq)
{
	m->tid = tid;
	m->seq = seq;
	for (uint32_t j = 0; j < mrec_size(seq) - 8; j++)
		m->pad[j] = (uint8_t)(tid * 31 + seq * 7 + j);
}

struct mt {
	struct ringbuf *rb;
	atomic_int finished;
	atomic_long timeouts;
	uint32_t next[NTHREADS];
	long seen;
};

struct mt_arg {
	struct mt *mt;
	uint32_t tid;
};

static void *kuser_mt_producer(void *arg)
{
	struct mt_arg *a = arg;
	struct ringbuf *rb = a->mt->rb;
	struct mrec m;

	for (uint32_t seq = 0; seq < PER_THREAD; seq++) {
		uint32_t size = mrec_size(seq);
		void *p = NULL;
		long r;

		mrec_fill(&m, a->tid, seq);
		if (mrec_discarded(seq) || seq % 3 == 1) {
			while (!(p = ringbuf_reserve_wait(rb, size, 3000))) {
				CHECK_EQ(errno, EAGAIN);
				atomic_fetch_add(&a->mt->timeouts, 1);
			}
		} else if (seq % 3 == 2) {
			while (!(p = ringbuf_reserve(rb, size, 0))) {
				CHECK_EQ(errno, EAGAIN);
				sched_yield();
			}
		}
		if (p) {
			memcpy(p, &m, size);
			if (mrec_discarded(seq))
				ringbuf_discard(p, 0);
			else
				ringbuf_submit(p, wflags[seq % 3]);
			continue;
		}
		while ((r = ringbuf_output(rb, &m, size, wflags[seq % 3])) == -EAGAIN)
			sched_yield();
		CHECK_EQ(r, 0);
	}
	atomic_fetch_add(&a->mt->finished, 1);
	return NULL;
}

static int mt_check(void *ctx, void *data, size_t size)
{
	struct mt *mt = ctx;
	struct mrec m, want;

	CHECK(size >= 8 && size <= sizeof(m));
	memcpy(&m, data, size);
	CHECK(m.tid < NTHREADS);
	while (mrec_discarded(mt->next[m.tid]))
		mt->next[m.tid]++;
	if (m.seq != mt->next[m.tid]) {
		fprintf(stderr, "thread %u: got seq %u, expected %u\n", m.tid, m.seq,
			mt->next[m.tid]);
		CHECK(!"per-thread order broken");
	}
	CHECK_EQ(size, mrec_size(m.seq));
	mrec_fill(&want, m.tid, m.seq);
	CHECK(memcmp(&want, &m, size) == 0);
	mt->next[m.tid]++;
	mt->seen++;
	return 0;
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

/* ---- ringbuf_reserve_wait ----------------------------------------------- */

struct delayed {
	struct kobj *k;
	long delay_ms;
	struct ku_ctx c;
	uint64_t drained_at;
};

static void *delayed_drain(void *arg)
{
	struct delayed *d = arg;

	t_sleep_ms(d->delay_ms);
	d->c = drain(d->k);
	d->drained_at = t_now_ns();
	return NULL;
}

static int fill_up(struct ringbuf *rb)
{
	int n = 0;

	while (ringbuf_output(rb, src, 24, 0) == 0)
		n++;
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), SZ);
	return n;
}

static void test_reserve_wait(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct delayed d;
	pthread_t t;
	uint64_t t0, el;
	void *p;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	fill(src, 24, 0);

	/* on a ring with room: at once */
	p = ringbuf_reserve_wait(rb, 24, -1);
	CHECK(p != NULL);
	ringbuf_discard(p, 0);
	CHECK_EQ(drain(&k).ret, 0);

	CHECK_EQ(fill_up(rb), SZ / 32);
	/* timeout 0: one try */
	t0 = t_now_ns();
	errno = 0;
	CHECK(ringbuf_reserve_wait(rb, 24, 0) == NULL);
	CHECK_EQ(errno, EAGAIN);
	CHECK(t_now_ns() - t0 < 100000000ull);
	/* a timeout on a full ring: EAGAIN after (about) the timeout */
	for (int ms = 100; ms <= 300; ms += 200) {
		t0 = t_now_ns();
		errno = 0;
		CHECK(ringbuf_reserve_wait(rb, 24, ms) == NULL);
		el = t_now_ns() - t0;
		CHECK_EQ(errno, EAGAIN);
		if (el < (uint64_t)ms * 900000ull || el > (uint64_t)ms * 1000000ull + 1000000000ull) {
			fprintf(stderr, "reserve_wait(%d ms) gave up after %.1f ms\n", ms, el / 1e6);
			CHECK(!"reserve_wait timeout");
		}
	}

	/* a drain 50 ms later wakes it early (EPOLLOUT) */
	for (int pass = 0; pass < 2; pass++) {
		int timeout = pass ? -1 : 5000;

		d = (struct delayed){ .k = &k, .delay_ms = 50 };
		CHECK(pthread_create(&t, NULL, delayed_drain, &d) == 0);
		t0 = t_now_ns();
		p = ringbuf_reserve_wait(rb, 24, timeout);
		el = t_now_ns() - t0;
		CHECK(p != NULL);
		if (el < 40000000ull || el > 2000000000ull) {
			fprintf(stderr, "reserve_wait(%d) returned after %.1f ms\n", timeout, el / 1e6);
			CHECK(!"reserve_wait woken");
		}
		memcpy(p, src, 24);
		ringbuf_submit(p, 0);
		CHECK(pthread_join(t, NULL) == 0);
		/* woken by the drain (EPOLLOUT), not by a timer of its own */
		if (t0 + el > d.drained_at + 250000000ull) {
			fprintf(stderr, "reserve_wait(%d) returned %.1f ms after the drain\n", timeout,
				(double)(t0 + el - d.drained_at) / 1e6);
			CHECK(!"reserve_wait woken late");
		}
		CHECK_EQ(d.c.ret, SZ / 32);
		CHECK_EQ(drain(&k).ret, 1);
		CHECK_EQ(k.log->fnv[0], t_fnv1a(src, 24));
		CHECK_EQ(fill_up(rb), SZ / 32);
	}
	CHECK_EQ(drain(&k).ret, SZ / 32);

	ringbuf_free(rb);
	kobj_free(&k);
}

/* ---- hand-written records ------------------------------------------------- */

struct raw {
	const volatile uint64_t *cons; /* consumer page, read-only */
	volatile uint64_t *prod;       /* producer page */
	unsigned char *data;
	void *cons_map, *rest_map;
	size_t rest_len;
};

static void raw_hdr(struct raw *w, uint64_t pos, uint32_t len)
{
	struct ringbuf_hdr *h = (void *)(w->data + (pos & (SZ - 1)));

	__atomic_store_n(&h->pg_off, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->len, len, __ATOMIC_RELEASE);
}

static void raw_prod(struct raw *w, uint64_t pos)
{
	__atomic_store_n(w->prod, pos, __ATOMIC_RELEASE);
}

static uint64_t raw_cons(struct raw *w)
{
	return __atomic_load_n(w->cons, __ATOMIC_ACQUIRE);
}

/* One hand-crafted case: the drain returns @want_ret after delivering
 * @want_cnt samples, and consumer_pos moves by @want_moved. */
static void raw_case(struct kobj *k, struct raw *w, const char *what, long want_ret,
		     uint64_t want_cnt, uint64_t want_moved)
{
	uint64_t cons = raw_cons(w);
	struct ku_ctx c = drain(k);

	printf("  %-48s drain returned %lld, %llu sample(s), consumer_pos +%llu\n", what,
	       (long long)c.ret, (unsigned long long)c.cnt,
	       (unsigned long long)(raw_cons(w) - cons));
	CHECK_EQ(c.ret, want_ret);
	CHECK_EQ(c.cnt, want_cnt);
	CHECK_EQ(raw_cons(w) - cons, want_moved);
	/* a second drain gives the same verdict and consumes nothing more */
	c = drain(k);
	if (want_ret < 0)
		CHECK_EQ(c.ret, want_ret);
	CHECK_EQ(c.cnt, 0);
	CHECK_EQ(raw_cons(w) - cons, want_moved);
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
	errno = 0;
	CHECK(ringbuf_reserve(rb, 8, 0) == NULL);
	CHECK_EQ(errno, EBADMSG);
	errno = 0;
	CHECK(ringbuf_reserve_wait(rb, 8, 500) == NULL);
	CHECK_EQ(errno, EBADMSG);
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

/* fork() while other threads produce through the same handle: the
 * handle's process-local producer lock must not reach the child held. */
static atomic_int g_fork_stop;

static void *fork_producer(void *arg)
{
	struct ringbuf *rb = arg;

	while (!atomic_load(&g_fork_stop)) {
		void *p = ringbuf_reserve(rb, 8, 0);

		if (p)
			ringbuf_discard(p, 0);
	}
	return NULL;
}

static void test_fork(void)
{
	pid_t parent = getpid();
	pthread_t thr[2];
	struct ringbuf *rb;
	struct kobj k;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&thr[i], NULL, fork_producer, rb) == 0);
	for (int i = 0; i < 200; i++) {
		pid_t pid = proc_fork_child(parent, 30);
		int status;

		if (pid == 0) {
			void *p = ringbuf_reserve(rb, 8, 0);

			if (p)
				ringbuf_discard(p, 0);
			_exit(p || errno == EAGAIN ? 0 : 3);
		}
		CHECK(pid > 0);
		/* a child that hangs in the library fails the test */
		status = proc_wait_status(pid, 5, 200);
		CHECK(proc_exited_with(pid, status, 0));
	}
	atomic_store(&g_fork_stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(thr[i], NULL);
	ringbuf_free(rb);
	kobj_free(&k);
	printf("fork while producing: ok\n");
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	kbpf_require();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_attach();
	test_records();
	test_reserve_wait();
	test_raw();
	test_threads();
	test_fork();
	printf("t_kuser: ok\n");
	return 0;
}
