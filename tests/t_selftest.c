/* SPDX-License-Identifier: MIT */
/*
 * t_selftest -- the expectations of the Linux kernel's BPF ring buffer
 * selftest (tools/testing/selftests/bpf/prog_tests/ringbuf.c and
 * progs/test_ringbuf.c, test_ringbuf_n.c, test_ringbuf_write.c), ported onto
 * ringbuf.  Where the kernel test runs a BPF program (on getpgid()), this one
 * runs the same program logic on a producer thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

#define EDONE 7777 /* the kernel test's "we are done" callback return */

static size_t page;

/* ---- the "BPF program" (progs/test_ringbuf.c) ---------------------------- */

struct sample {
	int pid;
	int seq;
	long value;
	char comm[16];
};

static const uint64_t rec_sz = (sizeof(struct sample) + RINGBUF_HDR_SZ + 7) & ~7ULL;

/* the program's .bss */
struct bss {
	struct ringbuf *rb;
	long value;
	uint64_t flags;
	int seq;
	long dropped, total, discarded;
	uint64_t avail_data, ring_size, cons_pos, prod_pos;
	bool reorder; /* commit so that the last commit is the only one with @flags */
};

static struct bss bss;

static void prog_run(void)
{
	struct sample *s = ringbuf_reserve(bss.rb, sizeof(*s), 0);
	if (!s) {
		bss.dropped++;
		return;
	}
	s->pid = getpid();
	s->value = bss.value;
	s->seq = bss.seq++;
	strcpy(s->comm, "t_selftest");
	bss.total++;

	if (s->seq & 1) {
		/* copy from the reserved sample to a new one... */
		long r = ringbuf_output(bss.rb, s, sizeof(*s), bss.flags);
		CHECK_EQ(r, 0);
		/* ...and discard the reserved sample */
		ringbuf_discard(s, bss.flags);
		bss.discarded++;
	} else {
		ringbuf_submit(s, bss.flags);
	}

	bss.avail_data = ringbuf_query(bss.rb, RINGBUF_AVAIL_DATA);
	bss.ring_size = ringbuf_query(bss.rb, RINGBUF_RING_SIZE);
	bss.cons_pos = ringbuf_query(bss.rb, RINGBUF_CONS_POS);
	bss.prod_pos = ringbuf_query(bss.rb, RINGBUF_PROD_POS);
}

/* The same two samples, committed so that every commit but the last uses
 * NO_WAKEUP and the last (the earliest record) uses bss.flags: when it is
 * committed, all three records are. */
static void prog_run_pair_reordered(void)
{
	struct sample *s0 = ringbuf_reserve(bss.rb, sizeof(*s0), 0);
	struct sample *s1 = ringbuf_reserve(bss.rb, sizeof(*s1), 0);
	CHECK(s0 && s1);
	s0->pid = s1->pid = getpid();
	strcpy(s0->comm, "t_selftest");
	strcpy(s1->comm, "t_selftest");
	s0->value = 333;
	s1->value = 777;
	s0->seq = bss.seq++;
	s1->seq = bss.seq++;
	bss.total += 2;
	CHECK_EQ(ringbuf_output(bss.rb, s1, sizeof(*s1), RINGBUF_NO_WAKEUP), 0);
	ringbuf_discard(s1, RINGBUF_NO_WAKEUP);
	bss.discarded++;
	ringbuf_submit(s0, bss.flags);
}

static void *trigger_thread(void *arg)
{
	(void)arg;
	if (bss.reorder) {
		prog_run_pair_reordered();
		return NULL;
	}
	/* trigger exactly two samples */
	bss.value = 333;
	prog_run();
	bss.value = 777;
	prog_run();
	return NULL;
}

static void trigger_samples(void)
{
	bss.dropped = 0;
	bss.total = 0;
	bss.discarded = 0;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, trigger_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
}

/* ---- consumer side ------------------------------------------------------- */

static atomic_int sample_cnt;

static int process_sample(void *ctx, void *data, size_t len)
{
	struct sample *s = data;
	(void)ctx;
	atomic_fetch_add(&sample_cnt, 1);
	CHECK_EQ(len, sizeof(*s));
	CHECK_EQ(s->pid, getpid());
	CHECK(strcmp(s->comm, "t_selftest") == 0);

	switch (s->seq) {
	case 0:
		CHECK_EQ(s->value, 333);
		return 0;
	case 1:
		CHECK_EQ(s->value, 777);
		return -EDONE;
	default:
		/* even seqs carry 333, odd ones 777 */
		CHECK_EQ(s->value, (s->seq & 1) ? 777 : 333);
		return 0;
	}
}

struct poller {
	pthread_t thread;
	int timeout_ms;
	int ret;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	p->ret = ringbuf_poll(bss.rb, process_sample, NULL, p->timeout_ms);
	return NULL;
}

static void poller_start(struct poller *p, int timeout_ms)
{
	p->timeout_ms = timeout_ms;
	p->ret = INT32_MIN;
	CHECK(pthread_create(&p->thread, NULL, poll_thread, p) == 0);
}

static bool poller_blocked(struct poller *p)
{
	int err = pthread_tryjoin_np(p->thread, NULL);
	if (err == 0)
		fprintf(stderr, "background poll returned %d, expected it blocked\n", p->ret);
	return err == EBUSY;
}

/* Wait (generously) for the poller to return. */
static void poller_join(struct poller *p, int within_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += within_ms / 1000;
	ts.tv_nsec += (within_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int err = pthread_timedjoin_np(p->thread, NULL, &ts);
	if (err) {
		fprintf(stderr, "background poll did not return within %d ms (err %d)\n",
			within_ms, err);
		exit(T_FAIL);
	}
}

/* Our own view of the ring's shared memory (ringview.h) is mapped with the
 * consumer page writable (as a kernel ring's is), producer page and data
 * read-only. */
#define SELFTEST_VIEW_PROTS RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ

static struct ringbuf *fresh_ring(size_t size)
{
	memset(&bss, 0, sizeof(bss));
	atomic_store(&sample_cnt, 0);
	bss.rb = ringbuf_new(size, NULL);
	CHECK(bss.rb != NULL);
	return bss.rb;
}

/* ---- (a) query values and discard accounting; poll return values --------- */

static void test_ringbuf_basic(void)
{
	struct ringbuf *rb = fresh_ring(page);
	struct ringview v;
	rv_map(&v, rb, SELFTEST_VIEW_PROTS);

	/* trigger simple "one-by-one" writes */
	trigger_samples();
	/* 2 submitted + 1 discarded records */
	CHECK_EQ(bss.dropped, 0);
	CHECK_EQ(bss.total, 2);
	CHECK_EQ(bss.discarded, 1);
	CHECK_EQ(bss.avail_data, 3 * rec_sz);
	CHECK_EQ(bss.ring_size, page);
	CHECK_EQ(bss.cons_pos, 0);
	CHECK_EQ(bss.prod_pos, 3 * rec_sz);

	/* verify the same through the shared memory directly */
	CHECK_EQ(*v.cons, 0);
	CHECK_EQ(*v.prod, 3 * rec_sz);
	CHECK_EQ(rv_hdr(&v, 0).len, sizeof(struct sample));
	CHECK_EQ(rv_hdr(&v, rec_sz).len, sizeof(struct sample) | RINGBUF_DISCARD_BIT);
	CHECK_EQ(rv_hdr(&v, 2 * rec_sz).len, sizeof(struct sample));
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 3 * rec_sz);

	/* poll for samples; -EDONE from the second one is returned */
	int err = ringbuf_poll(rb, process_sample, NULL, 5000);
	CHECK_EQ(err, -EDONE);
	CHECK_EQ(atomic_load(&sample_cnt), 2); /* the discarded one is not delivered */
	/* the consumer position is past the record that returned -EDONE */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 3 * rec_sz);
	CHECK_EQ(*v.cons, 3 * rec_sz);

	/* we expect extra polling to return nothing */
	err = ringbuf_poll(rb, process_sample, NULL, 0);
	CHECK_EQ(err, 0);

	/* now validate consumer position is updated and returned */
	trigger_samples();
	CHECK_EQ(bss.cons_pos, 3 * rec_sz);
	CHECK_EQ(bss.prod_pos, 6 * rec_sz);
	CHECK_EQ(bss.avail_data, 3 * rec_sz);
	uint64_t t0 = t_now_ns();
	err = ringbuf_poll(rb, process_sample, NULL, 5000);
	CHECK_EQ(err, 2);
	/* an adaptive notification was owed (the consumer had caught up) */
	CHECK(t_now_ns() - t0 < 2500 * 1000000ULL);
	CHECK_EQ(atomic_load(&sample_cnt), 4);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 6 * rec_sz);

	rv_unmap(&v);
	ringbuf_free(rb);
}

/* ---- (b) a negative callback return stops and is returned ---------------- */

struct stopper {
	int seen;
	int stop_on; /* return -EDONE when seen reaches this */
	int next_expected;
};

static int stop_cb(void *ctx, void *data, size_t len)
{
	struct stopper *st = ctx;
	CHECK_EQ(len, sizeof(int));
	int seq;
	memcpy(&seq, data, sizeof(seq));
	CHECK_EQ(seq, st->next_expected);
	st->next_expected++;
	if (++st->seen == st->stop_on)
		return -EDONE;
	return 0;
}

static void test_callback_stop(void)
{
	struct ringbuf *rb = fresh_ring(page);
	const uint64_t r = 16; /* a 4-byte record */
	for (int i = 0; i < 7; i++)
		CHECK_EQ(ringbuf_output(rb, &i, sizeof(i), 0), 0);

	struct stopper st = { .stop_on = 2 };
	CHECK_EQ(ringbuf_consume(rb, stop_cb, &st), -EDONE);
	CHECK_EQ(st.seen, 2);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 2 * r); /* past record 1 */
	/* the next consume starts at the record after the one that stopped */
	st.stop_on = 3;
	CHECK_EQ(ringbuf_consume_n(rb, stop_cb, &st, 10), -EDONE);
	CHECK_EQ(st.seen, 3);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 3 * r);
	/* stopping on the last record of a consume_n batch */
	st.stop_on = 5;
	CHECK_EQ(ringbuf_consume_n(rb, stop_cb, &st, 2), -EDONE);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 5 * r);
	/* poll returns it too */
	st.stop_on = 6;
	CHECK_EQ(ringbuf_poll(rb, stop_cb, &st, 1000), -EDONE);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 6 * r);
	st.stop_on = 100;
	CHECK_EQ(ringbuf_consume(rb, stop_cb, &st), 1);
	CHECK_EQ(st.next_expected, 7);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(rb);
}

/* ---- (c) consume_n (prog_tests/ringbuf.c: ringbuf_n_subtest) -------------- */

static int count_cb(void *ctx, void *data, size_t len)
{
	int *seq = ctx;
	int got;
	CHECK_EQ(len, sizeof(got));
	memcpy(&got, data, sizeof(got));
	CHECK_EQ(got, *seq);
	(*seq)++;
	return 0;
}

static void *produce_n_thread(void *arg)
{
	int n = (int)(intptr_t)arg;
	for (int i = 0; i < n; i++) {
		int *s = ringbuf_reserve(bss.rb, sizeof(int), 0);
		CHECK(s != NULL);
		*s = i;
		ringbuf_submit(s, 0);
	}
	return NULL;
}

static void test_ringbuf_n(void)
{
	enum { N_TOT_SAMPLES = 32, N_SAMPLES = 4 };
	struct ringbuf *rb = fresh_ring(page);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, produce_n_thread, (void *)(intptr_t)N_TOT_SAMPLES) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	/* consume all samples in batches of N_SAMPLES */
	int seq = 0;
	for (int i = 0; i < N_TOT_SAMPLES; i += N_SAMPLES)
		CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, N_SAMPLES), N_SAMPLES);
	CHECK_EQ(seq, N_TOT_SAMPLES);
	CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, N_SAMPLES), 0);

	/* 10 records in batches of 4: 4, 4, 2, 0 */
	CHECK(pthread_create(&t, NULL, produce_n_thread, (void *)(intptr_t)10) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	seq = 0;
	CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, 4), 4);
	CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, 4), 4);
	CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, 4), 2);
	CHECK_EQ(ringbuf_consume_n(rb, count_cb, &seq, 4), 0);
	CHECK_EQ(seq, 10);
	ringbuf_free(rb);
}

/* ---- (d) notification modes with a blocked poller ------------------------ */

static void blocked_poller_rounds(bool reorder_last)
{
	struct ringbuf *rb = fresh_ring(page);
	/* the handle has seen the ring empty */
	CHECK_EQ(ringbuf_consume(rb, process_sample, NULL), 0);
	bss.seq = 2; /* skip the -EDONE case of process_sample */

	/* start poll in background w/ long timeout */
	struct poller p;
	poller_start(&p, 10000);

	/* turn off notifications now */
	bss.flags = RINGBUF_NO_WAKEUP;
	/* give background thread a bit of a time */
	t_sleep_ms(80);
	trigger_samples();
	/* sleeping arbitrarily is bad, but no better way to know that the
	 * poller DID NOT unblock */
	t_sleep_ms(80);
	/* background poll should still be blocked */
	CHECK(poller_blocked(&p));
	/* the producer side did everything right */
	CHECK_EQ(bss.dropped, 0);
	CHECK_EQ(bss.total, 2);
	CHECK_EQ(bss.discarded, 1);
	CHECK_EQ(atomic_load(&sample_cnt), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 3 * rec_sz);

	/* clear flags to return to "adaptive" notification mode */
	bss.flags = 0;
	/* produce new samples, no notification should be triggered, because
	 * the consumer is now behind */
	trigger_samples();
	t_sleep_ms(80);
	/* background poll should still be blocked */
	CHECK(poller_blocked(&p));
	/* still no samples, because the consumer is behind */
	CHECK_EQ(atomic_load(&sample_cnt), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(bss.dropped, 0);
	CHECK_EQ(bss.total, 2);
	CHECK_EQ(bss.discarded, 1);

	/* now force notifications */
	bss.flags = RINGBUF_FORCE_WAKEUP;
	bss.reorder = reorder_last;
	trigger_samples();
	bss.reorder = false;
	CHECK_EQ(bss.total, 2);
	CHECK_EQ(bss.discarded, 1);
	/* now we should get a pending notification */
	t_sleep_ms(50);
	poller_join(&p, 5000);
	if (reorder_last) {
		/* the forced commit was the last one: one poll return
		 * delivers all 3 rounds x 2 samples */
		CHECK_EQ(p.ret, 6);
		CHECK_EQ(atomic_load(&sample_cnt), 6);
	} else {
		/* woken by the first forced commit at the earliest: rounds 1
		 * and 2 plus at least that record */
		if (p.ret < 5 || p.ret > 6) {
			fprintf(stderr, "background poll returned %d, want 5 or 6\n", p.ret);
			exit(T_FAIL);
		}
		/* due to timing variations, there could still be
		 * non-notified samples, so consume them here */
		int err = ringbuf_consume(rb, process_sample, NULL);
		CHECK(err >= 0);
		CHECK_EQ(p.ret + err, 6);
		/* 3 rounds, 2 samples each */
		CHECK_EQ(atomic_load(&sample_cnt), 6);
	}
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 9 * rec_sz);
	ringbuf_free(rb);
}

/* ---- (f) adaptive wakeup of a poller that has caught up ------------------- */

static void test_adaptive_caught_up(void)
{
	struct ringbuf *rb = fresh_ring(page);
	struct sample s = { .pid = getpid(), .seq = 2, .value = 333 };
	strcpy(s.comm, "t_selftest");

	/* caught up after consuming some records */
	CHECK_EQ(ringbuf_output(rb, &s, sizeof(s), 0), 0);
	s.seq = 3;
	s.value = 777;
	CHECK_EQ(ringbuf_output(rb, &s, sizeof(s), 0), 0);
	CHECK_EQ(ringbuf_consume(rb, process_sample, NULL), 2);

	for (int round = 0; round < 3; round++) {
		struct poller p;
		poller_start(&p, 10000);
		t_sleep_ms(80);
		CHECK(poller_blocked(&p));
		s.seq = 4 + round;
		s.value = (s.seq & 1) ? 777 : 333;
		uint64_t t0 = t_now_ns();
		if (round == 1) {
			struct sample *r = ringbuf_reserve(rb, sizeof(s), 0);
			CHECK(r != NULL);
			memcpy(r, &s, sizeof(s));
			ringbuf_submit(r, 0);
		} else {
			CHECK_EQ(ringbuf_output(rb, &s, sizeof(s), 0), 0);
		}
		poller_join(&p, 5000);
		CHECK_EQ(p.ret, 1);
		CHECK(t_now_ns() - t0 < 5000 * 1000000ULL);
		CHECK_EQ(atomic_load(&sample_cnt), 3 + round);
	}
	ringbuf_free(rb);
}

/* ---- (g) a poll timeout doubles as a periodic drain ----------------------- */

static void *late_producer(void *arg)
{
	(void)arg;
	t_sleep_ms(50);
	struct sample s = { .pid = getpid(), .seq = 2, .value = 333 };
	strcpy(s.comm, "t_selftest");
	CHECK_EQ(ringbuf_output(bss.rb, &s, sizeof(s), RINGBUF_NO_WAKEUP), 0);
	return NULL;
}

static void test_timeout_drains(void)
{
	struct ringbuf *rb = fresh_ring(page);
	CHECK_EQ(ringbuf_consume(rb, process_sample, NULL), 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, late_producer, NULL) == 0);
	uint64_t t0 = t_now_ns();
	/* the NO_WAKEUP record does not wake us; the timeout does, and then
	 * the record is consumed */
	int r = ringbuf_poll(rb, process_sample, NULL, 300);
	uint64_t el = t_now_ns() - t0;
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ(r, 1);
	CHECK_EQ(atomic_load(&sample_cnt), 1);
	if (el < 280 * 1000000ULL || el > 5000 * 1000000ULL) {
		fprintf(stderr, "poll(300 ms) returned after %.1f ms\n", el / 1e6);
		exit(T_FAIL);
	}
	ringbuf_free(rb);
}

/* ---- (e) overlapping reservations (ringbuf_write_subtest, CVE-2024-41009) - */

static void fill(void *p, size_t n, unsigned char seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 13 + (i >> 9));
}

static bool filled(const void *p, size_t n, unsigned char seed)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed + i * 13 + (i >> 9)))
			return false;
	return true;
}

struct blob {
	size_t size;
	unsigned char seed;
	int got;
};

static int blob_cb(void *ctx, void *data, size_t len)
{
	struct blob *b = ctx;
	CHECK_EQ(len, b[b->got].size);
	CHECK(filled(data, len, b[b->got].seed));
	b->got++;
	return 0;
}

static void expect_reserve_eagain(struct ringbuf *rb, uint64_t size)
{
	errno = 0;
	void *x = ringbuf_reserve(rb, size, 0);
	if (x) {
		fprintf(stderr, "reserve(%llu) succeeded over an outstanding record\n",
			(unsigned long long)size);
		exit(T_FAIL);
	}
	CHECK_EQ(errno, EAGAIN);
}

static void test_ringbuf_write(void)
{
	/* the kernel test: max_entries 0x40000, consumer_pos = 0x30000, two
	 * reservations of 0x30000; the second must fail */
	const uint64_t D = 64 * page;
	const uint64_t big = D / 4 * 3;
	struct ringbuf *rb = fresh_ring(D);
	struct ringview v;
	rv_map(&v, rb, SELFTEST_VIEW_PROTS);

	rv_store(v.cons, big);
	void *a = ringbuf_reserve(rb, big, 0);
	CHECK(a != NULL); /* the first one can pass */
	fill(a, big, 1);
	uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS);
	CHECK_EQ(prod, big + 8);
	/* the second one must not: it passes the consumer check
	 * (new_prod - cons < D) but would overlap the BUSY record A */
	expect_reserve_eagain(rb, big);
	CHECK_ERR(ringbuf_output(rb, a, big, 0), EAGAIN);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	/* exactly at the limit: new_prod - pending_pos must stay <= D - 1 */
	const uint64_t lim = D - 8 - (big + 8) - 8; /* largest payload that fits */
	expect_reserve_eagain(rb, lim + 1);
	void *b = ringbuf_reserve(rb, lim, 0);
	CHECK(b != NULL);
	fill(b, lim, 2);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), D - 8);
	/* A is untouched */
	CHECK_EQ(rv_hdr(&v, 0).len, (uint32_t)big | RINGBUF_BUSY_BIT);
	CHECK(filled(a, big, 1));
	expect_reserve_eagain(rb, 0);

	/* the program discards A; the consumer comes back to its senses */
	ringbuf_discard(a, 0);
	ringbuf_submit(b, 0);
	rv_store(v.cons, 0);
	struct blob want[2] = { { .size = lim, .seed = 2 } };
	CHECK_EQ(ringbuf_consume(rb, blob_cb, want), 1);
	CHECK_EQ(want[0].got, 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	/* and big reservations work again (this one wraps) */
	a = ringbuf_reserve(rb, big, 0);
	CHECK(a != NULL);
	fill(a, big, 3);
	ringbuf_submit(a, 0);
	struct blob want2[1] = { { .size = big, .seed = 3 } };
	CHECK_EQ(ringbuf_consume(rb, blob_cb, want2), 1);
	rv_unmap(&v);
	ringbuf_free(rb);

	/* the same attack after the fact: A outstanding, then the consumer
	 * claims to have consumed it */
	const uint64_t half = 16 * page / 2;
	rb = fresh_ring(16 * page);
	rv_map(&v, rb, SELFTEST_VIEW_PROTS);
	a = ringbuf_reserve(rb, half - 8, 0); /* occupies [0, half) */
	CHECK(a != NULL);
	fill(a, half - 8, 4);
	prod = ringbuf_query(rb, RINGBUF_PROD_POS);
	CHECK_EQ(prod, half);
	rv_store(v.cons, prod);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	expect_reserve_eagain(rb, half);     /* would overwrite A's header */
	expect_reserve_eagain(rb, half - 8); /* would fill the ring completely */
	expect_reserve_eagain(rb, half - 15);
	CHECK_ERR(ringbuf_output(rb, a, half, RINGBUF_FORCE_WAKEUP), EAGAIN);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	b = ringbuf_reserve(rb, half - 16, 0); /* [half, 2*half - 8): fits */
	CHECK(b != NULL);
	fill(b, half - 16, 5);
	CHECK(filled(a, half - 8, 4));
	CHECK_EQ(rv_hdr(&v, 0).len, (uint32_t)(half - 8) | RINGBUF_BUSY_BIT);
	/* consumer_pos far ahead of producer_pos: nothing fits */
	rv_store(v.cons, ringbuf_query(rb, RINGBUF_PROD_POS) + half);
	expect_reserve_eagain(rb, 0);
	/* submit A, restore the consumer: everything is delivered intact */
	ringbuf_submit(a, 0);
	ringbuf_submit(b, 0);
	rv_store(v.cons, 0);
	struct blob want3[2] = { { .size = half - 8, .seed = 4 }, { .size = half - 16, .seed = 5 } };
	CHECK_EQ(ringbuf_consume(rb, blob_cb, want3), 2);
	CHECK_EQ(want3[0].got, 2);
	a = ringbuf_reserve(rb, half, 0);
	CHECK(a != NULL);
	ringbuf_discard(a, 0);
	CHECK_EQ(ringbuf_consume(rb, blob_cb, want3), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	rv_unmap(&v);
	ringbuf_free(rb);
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	CHECK(ps > 0);
	page = (size_t)ps;

	test_ringbuf_basic();
	test_callback_stop();
	test_ringbuf_n();
	blocked_poller_rounds(false);
	blocked_poller_rounds(true);
	test_adaptive_caught_up();
	test_timeout_drains();
	test_ringbuf_write();
	return T_PASS;
}
