/* SPDX-License-Identifier: MIT */
/*
 * t_overwrite -- overwrite mode (RINGBUF_F_OVERWRITE, the kernel's
 * BPF_F_RB_OVERWRITE of 6.19).
 *
 *   selftest  the kernel's ringbuf_overwrite_mode selftest, ported: the
 *             same five reservations and the same expected positions,
 *             AVAIL_DATA and failures; then which records a consumer gets
 *   busy      a BUSY record is never overwritten: -EAGAIN until committed
 *   lag       a consumer many rings behind gets an intact, contiguous tail
 *             and counts exactly the records it lost; also across 2^64
 *   flags     opts->flags, the flag recorded in the ring, unknown flags in
 *             a ring image (EPROTO), OVERWRITE_POS on a normal ring
 *   hostile   a corrupt overwrite_pos or header: -EBADMSG, no crash, no loop
 *   stress    producer threads, then forked producer processes, against a
 *             consumer: every delivered record intact (checksum), in
 *             per-producer order, never twice; delivered + lost equals
 *             committed, exactly
 *
 *   t_overwrite [-d SECONDS]  (STRESS_SECONDS too; default 1.5 per mode)
 */
#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t g_page;

static struct ringbuf *new_ow(size_t size)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_OVERWRITE };
	struct ringbuf *rb = ringbuf_new(size, &o);

	CHECK(rb);
	return rb;
}

static struct ringbuf_stats stats_of(struct ringbuf *rb)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };

	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	return st;
}

/* ------------------------------------------------------------------------
 * selftest: tools/testing/selftests/bpf/progs/test_ringbuf_overwrite.c and
 * prog_tests/ringbuf.c (ringbuf_overwrite_mode_subtest), from user space
 * ------------------------------------------------------------------------ */

struct seen {
	int n;
	size_t len[8];
	unsigned char first[8], last[8];
	const void *ptr[8];
};

static int record_cb(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;

	CHECK(s->n < 8);
	s->len[s->n] = size;
	s->first[s->n] = size ? ((unsigned char *)data)[0] : 0;
	s->last[s->n] = size ? ((unsigned char *)data)[size - 1] : 0;
	s->ptr[s->n] = data;
	s->n++;
	return 0;
}

static void test_selftest(void)
{
	uint64_t size = g_page, len1 = size / 2, len2 = size / 4;
	uint64_t len3 = size - len1 - len2 - RINGBUF_HDR_SZ * 3, len4 = len3 - 8, len5 = len3;
	struct ringbuf *rb = new_ow(size);
	unsigned char *rec1, *rec2, *rec3, *rec4, *rec5;
	struct ringbuf_stats st;
	struct seen s = { 0 };

	rec1 = ringbuf_reserve(rb, len1, 0);
	CHECK(rec1);
	rec2 = ringbuf_reserve(rb, len2, 0);
	CHECK(rec2);
	/* would overwrite rec1, still BUSY: refused (the kernel: NULL) */
	rec3 = ringbuf_reserve(rb, len3, 0);
	CHECK(!rec3 && errno == EAGAIN);
	rec4 = ringbuf_reserve(rb, len4, 0);
	CHECK(rec4);
	memset(rec1, 0x11, len1);
	memset(rec2, 0x22, len2);
	memset(rec4, 0x44, len4);
	ringbuf_submit(rec1, 0);
	ringbuf_submit(rec2, 0);
	ringbuf_submit(rec4, 0);
	/* now rec1 is committed: overwritten to make room */
	rec5 = ringbuf_reserve(rb, len5, 0);
	CHECK(rec5);
	memset(rec5, 0xdd, len5);
	ringbuf_submit(rec5, 0);

	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), size);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), len2 + len4 + len5 + 3 * RINGBUF_HDR_SZ);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), len1 + len2 + len4 + len5 + 4 * RINGBUF_HDR_SZ);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_OVERWRITE_POS), len1 + RINGBUF_HDR_SZ);

	/* The consumer starts at overwrite_pos: rec2, rec4, rec5, copied out. */
	CHECK_EQ(ringbuf_consume(rb, record_cb, &s), 3);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.len[0], len2);
	CHECK_EQ(s.len[1], len4);
	CHECK_EQ(s.len[2], len5);
	CHECK(s.first[0] == 0x22 && s.last[0] == 0x22);
	CHECK(s.first[1] == 0x44 && s.last[1] == 0x44);
	CHECK(s.first[2] == 0xdd && s.last[2] == 0xdd);
	for (int i = 0; i < 3; i++)
		CHECK(!rv_in_ring(rec1 - RINGBUF_HDR_SZ, size, s.ptr[i], s.len[i]));
	st = stats_of(rb);
	CHECK_EQ(st.flags, RINGBUF_F_OVERWRITE);
	CHECK_EQ(st.overwrite_pos, len1 + RINGBUF_HDR_SZ);
	CHECK_EQ(st.overwritten, 1);
	CHECK_EQ(st.lost, 1);
	CHECK_EQ(st.consumer_pos, st.producer_pos);
	CHECK_EQ(st.avail_data, 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_consume(rb, record_cb, &s), 0);
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * busy: a BUSY record blocks overwriting, never gets overwritten
 * ------------------------------------------------------------------------ */

static void test_busy(void)
{
	struct ringbuf *rb = new_ow(g_page);
	unsigned char buf[100] = { 0 }, *held;
	int ok = 0;

	held = ringbuf_reserve(rb, 40, 0);
	CHECK(held);
	memset(held, 0xab, 40);
	for (int i = 0; i < 200; i++) {
		long r = ringbuf_output(rb, buf, sizeof(buf), 0);

		if (r == -EAGAIN)
			break;
		CHECK_EQ(r, 0);
		ok++;
	}
	/* the ring holds the held record and what fits behind it */
	CHECK_EQ(ok, (g_page - 48) / 112);
	CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), -EAGAIN);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_OVERWRITE_POS), 0);
	for (int i = 0; i < 40; i++)
		CHECK(held[i] == 0xab);
	ringbuf_submit(held, 0);
	/* committed now: the next output overwrites it, and the record after
	 * it, until the new one fits (kernel: whole records, oldest first) */
	CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_OVERWRITE_POS), 48 + 112);
	CHECK_EQ(stats_of(rb).overwritten, 2);
	/* a record that can never fit is still -E2BIG */
	CHECK_EQ(ringbuf_output(rb, buf, g_page, 0), -E2BIG);
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * lag: numbered records, a consumer far behind
 * ------------------------------------------------------------------------ */

struct tail {
	uint64_t next; /* first sequence expected; UINT64_MAX: any */
	uint64_t got, first;
};

static int seq_cb(void *ctx, void *data, size_t size)
{
	struct tail *t = ctx;
	uint64_t seq;

	CHECK(size >= 8);
	memcpy(&seq, data, 8);
	for (size_t i = 8; i < size; i++)
		CHECK(((unsigned char *)data)[i] == (unsigned char)(seq + i));
	if (t->got == 0)
		t->first = seq;
	else
		CHECK_EQ(seq, t->next); /* contiguous after the first */
	t->next = seq + 1;
	t->got++;
	return 0;
}

static void put_seq(struct ringbuf *rb, uint64_t seq)
{
	unsigned char buf[64];
	size_t size = 8 + seq % 41;

	memcpy(buf, &seq, 8);
	for (size_t i = 8; i < size; i++)
		buf[i] = (unsigned char)(seq + i);
	if (seq % 7 == 3) { /* a discarded one now and then */
		void *p = ringbuf_reserve(rb, size, 0);
		CHECK(p);
		ringbuf_discard(p, 0);
	}
	CHECK_EQ(ringbuf_output(rb, buf, size, 0), 0);
}

static void lag_run(struct ringbuf *rb)
{
	uint64_t total = 0;
	struct tail t = { 0 };
	struct ringbuf_stats st;

	/* some read, then three rings' worth unread, then all read */
	for (; total < 20; total++)
		put_seq(rb, total);
	CHECK_EQ(ringbuf_consume(rb, seq_cb, &t), 20);
	CHECK_EQ(t.first, 0);
	for (; total < 20 + 3 * g_page / 40; total++)
		put_seq(rb, total);
	t.got = 0;
	CHECK(ringbuf_consume(rb, seq_cb, &t) > 0);
	CHECK_EQ(t.next, total); /* a contiguous tail up to the last */
	st = stats_of(rb);
	CHECK_EQ(st.lost, t.first - 20);
	CHECK_EQ(20 + t.got + st.lost, total);
	CHECK(st.overwritten >= st.lost);
	CHECK_EQ(st.consumer_pos, st.producer_pos);
}

static void test_lag(void)
{
	struct ringbuf *rb = new_ow(g_page);
	struct ringview v;
	struct ringbuf_shm_producer *p;
	uint64_t base = -(uint64_t)(2 * g_page) - 16;

	lag_run(rb);
	ringbuf_free(rb);

	/* again with every position just below 2^64 */
	rb = new_ow(g_page);
	rv_map(&v, rb, RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE);
	p = (struct ringbuf_shm_producer *)v.prod;
	p->producer_pos = p->pending_pos = p->overwrite_pos = p->ow_check = base;
	rv_store(v.cons, base);
	lag_run(rb);
	CHECK(ringbuf_query(rb, RINGBUF_PROD_POS) < base); /* wrapped */
	rv_unmap(&v);
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * flags
 * ------------------------------------------------------------------------ */

static void test_flags(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = 1 };
	struct ringbuf *rb, *rb2;
	struct ringview v;

	CHECK(!ringbuf_new(g_page, &o) && errno == EINVAL);
	o.flags = RINGBUF_F_OVERWRITE | 1;
	CHECK(!ringbuf_new(g_page, &o) && errno == EINVAL);
	CHECK(!ringbuf_create("t_overwrite_bad", g_page, &o) && errno == EINVAL);

	/* a normal ring: OVERWRITE_POS is 0, as the kernel's field */
	rb = ringbuf_new(g_page, NULL);
	CHECK(rb);
	CHECK_EQ(ringbuf_output(rb, "x", 1, 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_OVERWRITE_POS), 0);
	CHECK_EQ(stats_of(rb).flags, 0);
	ringbuf_free(rb);

	/* the mode travels with the ring; attaching takes no flags */
	rb = new_ow(g_page);
	o.flags = RINGBUF_F_OVERWRITE;
	CHECK(!ringbuf_from_fd(ringbuf_fd(rb), &o) && errno == EINVAL);
	rb2 = ringbuf_from_fd(ringbuf_fd(rb), NULL);
	CHECK(rb2);
	CHECK_EQ(stats_of(rb2).flags, RINGBUF_F_OVERWRITE);
	for (int i = 0; i < 300; i++) /* never -EAGAIN: it overwrites */
		CHECK_EQ(ringbuf_output(rb2, "0123456789abcdef", 16, 0), 0);
	CHECK(ringbuf_query(rb, RINGBUF_OVERWRITE_POS) > 0);
	ringbuf_free(rb2);

	/* unknown flags in a ring image: not ours to interpret */
	rv_map(&v, rb, PROT_READ | PROT_WRITE, RV_UNMAPPED, RV_UNMAPPED);
	v.meta->flags |= 1;
	CHECK(!ringbuf_from_fd(ringbuf_fd(rb), NULL) && errno == EPROTO);
	v.meta->flags = RINGBUF_F_OVERWRITE;
	rb2 = ringbuf_from_fd(ringbuf_fd(rb), NULL);
	CHECK(rb2);
	ringbuf_free(rb2);
	rv_unmap(&v);
	ringbuf_free(rb);

	/* named */
	ringbuf_unlink("t_overwrite_named");
	rb = ringbuf_create("t_overwrite_named", g_page, &o);
	CHECK(rb);
	rb2 = ringbuf_open("t_overwrite_named", NULL);
	CHECK(rb2);
	CHECK_EQ(stats_of(rb2).flags, RINGBUF_F_OVERWRITE);
	ringbuf_free(rb2);
	CHECK_EQ(ringbuf_unlink("t_overwrite_named"), 0);
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * hostile peers
 * ------------------------------------------------------------------------ */

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(int *)ctx;
	return 0;
}

static void test_hostile(void)
{
	struct ringbuf *rb = new_ow(g_page);
	unsigned char buf[120] = { 0 };
	struct ringbuf_shm_producer *p;
	struct ringview v;
	uint64_t over, prod;
	int n = 0;

	rv_map(&v, rb, RV_UNMAPPED, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE);
	p = (struct ringbuf_shm_producer *)v.prod;
	for (int i = 0; i < 40; i++)
		CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), 0);
	over = p->overwrite_pos;
	prod = p->producer_pos;
	CHECK(over > 0);

	/* a misaligned, a too-old, a too-new overwrite_pos */
	uint64_t bad[] = { over + 4, prod - 2 * g_page, prod + 128 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p->overwrite_pos = p->ow_check = bad[i];
		CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), -EBADMSG);
		CHECK_EQ(ringbuf_consume(rb, count_cb, &n), -EBADMSG);
		CHECK_EQ(p->producer_pos, prod); /* nothing reserved */
	}
	p->overwrite_pos = p->ow_check = over;

	/* the record at overwrite_pos claims to run past pending_pos, or to be
	 * BUSY: the walk stops, nothing is written */
	{
		/* the data is mapped read-only in the view: write through the
		 * library's mapping, found from a reservation */
		uint8_t *lib = rv_lib_data(rb, g_page);
		uint32_t *hl, saved;

		CHECK(lib);
		over = p->overwrite_pos;
		prod = p->producer_pos;
		hl = (uint32_t *)(lib + (over & (g_page - 1)));
		saved = *hl;
		*hl = 0x3fffff00;
		CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), -EBADMSG);
		*hl = saved | RINGBUF_BUSY_BIT;
		CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), -EBADMSG);
		CHECK_EQ(p->producer_pos, prod);
		CHECK_EQ(p->overwrite_pos, over);
		*hl = saved;
		CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), 0);
		/* a header the consumer finds longer than the ring holds */
		over = p->overwrite_pos;
		hl = (uint32_t *)(lib + (over & (g_page - 1)));
		saved = *hl;
		*hl = (uint32_t)g_page;
		n = 0;
		CHECK_EQ(ringbuf_consume(rb, count_cb, &n), -EBADMSG);
		CHECK_EQ(n, 0);
		*hl = saved;
		CHECK(ringbuf_consume(rb, count_cb, &n) > 0);
	}
	rv_unmap(&v);
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * stress
 * ------------------------------------------------------------------------ */

#define NPROD     4
#define S_RING    (16 * 1024)

struct srec {
	uint32_t id, seq, len, csum; /* csum: t_fnv1a over [16, len) */
};

struct shared {
	uint32_t stop;
	uint32_t _pad;
	uint64_t committed[NPROD]; /* records submitted, per producer */
	uint64_t discarded[NPROD];
};

static struct ringbuf *g_rb;
static struct shared *g_sh;

static void produce(uint32_t id)
{
	uint64_t rng = 0x9E3779B97F4A7C15ull * (id + 1) ^ (uint64_t)getpid();
	uint32_t seq = 0;
	unsigned char buf[512];

	while (!__atomic_load_n(&g_sh->stop, __ATOMIC_RELAXED)) {
		uint64_t r = t_rand(&rng);
		uint32_t len = 16 + (uint32_t)(r % 400);
		struct srec h = { id, seq, len, 0 };
		unsigned char *dst;
		bool discard = (r >> 20) % 16 == 0, direct = (r >> 24) & 1;

		for (uint32_t i = 16; i < len; i++)
			buf[i] = (unsigned char)t_rand(&rng);
		h.csum = t_fnv1a(buf + 16, len - 16);
		memcpy(buf, &h, sizeof(h));
		if (!direct && !discard) {
			long e = ringbuf_output(g_rb, buf, len, 0);

			if (e == -EAGAIN) /* a BUSY record of another producer */
				continue;
			CHECK_EQ(e, 0);
		} else {
			dst = ringbuf_reserve(g_rb, len, 0);
			if (!dst) {
				CHECK(errno == EAGAIN);
				continue;
			}
			memcpy(dst, buf, len);
			if (discard) {
				ringbuf_discard(dst, 0);
				__atomic_fetch_add(&g_sh->discarded[id], 1, __ATOMIC_RELAXED);
				continue;
			}
			ringbuf_submit(dst, 0);
		}
		seq++;
		__atomic_store_n(&g_sh->committed[id], seq, __ATOMIC_RELAXED);
	}
}

static void *produce_thread(void *arg)
{
	produce((uint32_t)(uintptr_t)arg);
	return NULL;
}

struct check {
	int64_t last[NPROD];
	uint64_t delivered;
};

static int stress_cb(void *ctx, void *data, size_t size)
{
	struct check *c = ctx;
	struct srec h;

	CHECK(size >= sizeof(h));
	memcpy(&h, data, sizeof(h));
	CHECK(h.id < NPROD);
	CHECK_EQ(h.len, size);
	CHECK_EQ(h.csum, t_fnv1a((unsigned char *)data + 16, size - 16));
	CHECK((int64_t)h.seq > c->last[h.id]); /* in order, never twice */
	c->last[h.id] = h.seq;
	c->delivered++;
	return 0;
}

static void stress(bool procs, double seconds)
{
	pthread_t th[NPROD];
	pid_t pid[NPROD];
	struct check c;
	struct ringbuf_stats st;
	uint64_t committed = 0, deadline;
	int r;

	g_rb = new_ow(S_RING);
	memset(g_sh, 0, sizeof(*g_sh));
	for (int i = 0; i < NPROD; i++)
		c.last[i] = -1;
	c.delivered = 0;
	for (uint32_t i = 0; i < NPROD; i++) {
		if (procs) {
			pid[i] = fork();
			CHECK(pid[i] >= 0);
			if (pid[i] == 0) {
				produce(i);
				_exit(0);
			}
		} else {
			CHECK_EQ(pthread_create(&th[i], NULL, produce_thread, (void *)(uintptr_t)i), 0);
		}
	}
	deadline = t_now_ns() + (uint64_t)(seconds * 1e9);
	while (t_now_ns() < deadline) {
		r = ringbuf_poll(g_rb, stress_cb, &c, 10);
		CHECK(r >= 0);
	}
	__atomic_store_n(&g_sh->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NPROD; i++) {
		if (procs) {
			int ws;

			CHECK_EQ(waitpid(pid[i], &ws, 0), pid[i]);
			CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
		} else {
			pthread_join(th[i], NULL);
		}
	}
	while ((r = ringbuf_consume(g_rb, stress_cb, &c)) > 0)
		;
	CHECK_EQ(r, 0);
	st = stats_of(g_rb);
	for (int i = 0; i < NPROD; i++) {
		committed += g_sh->committed[i];
		CHECK(c.last[i] < (int64_t)g_sh->committed[i]);
	}
	fprintf(stderr, "stress %s: committed %llu, delivered %llu, lost %llu, overwritten %llu\n",
		procs ? "procs" : "threads", (unsigned long long)committed,
		(unsigned long long)c.delivered, (unsigned long long)st.lost,
		(unsigned long long)st.overwritten);
	CHECK(st.lost > 0);        /* the ring did overflow */
	CHECK(c.delivered > 0);
	CHECK_EQ(c.delivered + st.lost, committed);
	CHECK(st.overwritten >= st.lost);
	CHECK_EQ(st.reserved - st.discarded, committed);
	CHECK_EQ(st.avail_data, 0);
	ringbuf_free(g_rb);
}

int main(int argc, char **argv)
{
	double seconds = 1.5;
	const char *env = getenv("STRESS_SECONDS");

	if (env)
		seconds = atof(env);
	if (argc == 3 && !strcmp(argv[1], "-d"))
		seconds = atof(argv[2]);
	if (T_TSAN && seconds > 1.0)
		seconds = 1.0;
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(g_sh != MAP_FAILED);

	test_selftest();
	test_busy();
	test_lag();
	test_flags();
	test_hostile();
	stress(false, seconds);
	stress(true, seconds);
	return T_PASS;
}
