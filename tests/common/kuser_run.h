/* SPDX-License-Identifier: MIT */
/*
 * kuser_run.h (tests/t_kuser_*.c) -- ringbuf as the producer into kernel BPF_MAP_TYPE_USER_RINGBUF
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
#ifndef RINGBUF_TEST_KUSER_RUN_H
#define RINGBUF_TEST_KUSER_RUN_H

/* Shared by the tests/t_kuser_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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

/* ---- records -------------------------------------------------------------- */

static const uint64_t wflags[] = { 0, RINGBUF_NO_WAKEUP, RINGBUF_FORCE_WAKEUP };

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

#endif
