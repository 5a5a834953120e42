/* SPDX-License-Identifier: MIT */
/*
 * t_set.c -- ring sets (ringbuf_set_*): N rings as one object.
 *
 *   basic      records flow through a memfd set; count, ring, summed stats;
 *              bad arguments and re-entry refused
 *   names      a named set is NAME.0 .. NAME.(N-1) carrying the set's id;
 *              open checks every member; a taken member name fails the
 *              create and leaves nothing; unlink removes the set's rings
 *              only
 *   moves      a thread moved to another CPU keeps its ring while its
 *              records there wait, and moves once they are consumed
 *   threads    8 producer threads (some hopping between CPUs) x 50,000
 *              records into sets of 2 and 3 rings, a consumer polling:
 *              nothing lost, nothing twice, each thread's records in order
 *   processes  4 producer processes on a named set, the parent consuming
 *   dead       a producer killed inside a reservation on a set: the
 *              consumer recovers its record, the others' records flow on
 *   ordered    records stamped in one global order but spread over 3 rings
 *              come out of ringbuf_set_consume_ordered() in that order; a
 *              ring that stays empty holds the others back until the lag
 *              has passed, no longer
 *   manager    ringbuf_manager_add_set() beside a plain ring: one poll serves
 *              both, a member already there fails it and leaves nothing;
 *              ringbuf_manager_remove() (not from a callback)
 *   no rseq    moves and threads again in a child with glibc's rseq off:
 *              the producers' slow path alone
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "proc.h"

#define RING  (64 * 1024)
#define NTHR  8
#define NREC  50000
#define NPROC 4

struct rec {
	uint32_t src, seq;
};

static pid_t g_parent;
static char g_name[64];

/* ---- checking what a consumer receives ---------------------------------- */

#define MAXSRC 64
struct seen {
	uint32_t next[MAXSRC];
	long total, bad;
};

static int seen_cb(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	struct rec r;

	if (size != sizeof(r)) {
		s->bad++;
		return 0;
	}
	memcpy(&r, data, sizeof(r));
	if (r.src >= MAXSRC || r.seq != s->next[r.src]) {
		if (s->bad++ < 5)
			fprintf(stderr, "source %u: record %u, expected %u\n", r.src, r.seq,
				r.src < MAXSRC ? s->next[r.src] : 0);
		return 0;
	}
	s->next[r.src]++;
	s->total++;
	return 0;
}

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(long *)ctx)++;
	return 0;
}

/* ---- manager ------------------------------------------------------------- */

static struct ringbuf_manager *g_mgr;
static struct ringbuf *g_mgr_victim;
static int g_mgr_remove; /* 1: the next callback tries to remove */

static int mgr_cb(void *ctx, void *data, size_t size)
{
	if (g_mgr_remove == 1) { /* once: a callback may not remove (not even
				  * after a nested consume of its own) */
		(void)ringbuf_manager_consume(g_mgr);
		g_mgr_remove = ringbuf_manager_remove(g_mgr, g_mgr_victim);
	}
	return seen_cb(ctx, data, size);
}

/* A set's rings in a manager beside a plain ring: one poll serves both,
 * all or nothing when a member is there already, remove. */
static void test_manager(void)
{
	struct ringbuf_set *s = ringbuf_set_new(3, RING, NULL);
	struct ringbuf *rb = ringbuf_new(RING, NULL);
	struct ringbuf_manager *m = ringbuf_manager_new(NULL);
	struct seen seen = { 0 };
	long n = 0;

	CHECK(s && rb && m);
	CHECK_EQ(ringbuf_manager_add_set(NULL, s, seen_cb, &seen), -EINVAL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(ringbuf_manager_add_set(m, NULL, seen_cb, &seen), -EINVAL);
	CHECK_EQ(ringbuf_manager_add_set(m, s, NULL, &seen), -EINVAL);
	/* all or nothing: member 1 is in already, so member 0 is taken out again */
	CHECK_EQ(ringbuf_manager_add(m, ringbuf_set_ring(s, 1), seen_cb, &seen), 0);
	CHECK_EQ(ringbuf_manager_add_set(m, s, seen_cb, &seen), -EEXIST);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(ringbuf_manager_remove(m, ringbuf_set_ring(s, 0)), -ENOENT);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(ringbuf_manager_remove(m, ringbuf_set_ring(s, 1)), 0);
	CHECK_EQ(ringbuf_manager_remove(m, ringbuf_set_ring(s, 1)), -ENOENT);
	CHECK_EQ(ringbuf_manager_remove(NULL, rb), -EINVAL);

	CHECK_EQ(ringbuf_manager_add(m, rb, mgr_cb, &seen), 0);
	CHECK_EQ(ringbuf_manager_add_set(m, s, seen_cb, &seen), 0);
	/* source 0 through the set (into whichever ring this CPU picks), 1
	 * into the plain ring, and records put straight into each member */
	for (uint32_t i = 0; i < 300; i++) {
		CHECK_EQ(ringbuf_set_output(s, &(struct rec){ 0, i }, sizeof(struct rec), 0), 0);
		CHECK_EQ(ringbuf_output(rb, &(struct rec){ 1, i }, sizeof(struct rec), 0), 0);
		CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, i % 3), &(struct rec){ 2 + i % 3, i / 3 },
					sizeof(struct rec), 0),
			 0);
	}
	while (seen.total < 900 && n++ < 1000)
		CHECK(ringbuf_manager_poll(m, 100) >= 0);
	CHECK_EQ(seen.total, 900);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.next[0], 300);
	CHECK_EQ(seen.next[1], 300);
	for (int k = 2; k < 5; k++)
		CHECK_EQ(seen.next[k], 100);

	/* a callback may not remove; outside one, remove stops the serving */
	g_mgr = m;
	g_mgr_victim = rb;
	g_mgr_remove = 1;
	CHECK_EQ(ringbuf_output(rb, &(struct rec){ 1, 300 }, sizeof(struct rec), 0), 0);
	CHECK_EQ(ringbuf_manager_consume(m), 1);
	CHECK_EQ(g_mgr_remove, -EBUSY);
	CHECK_EQ(ringbuf_manager_remove(m, rb), 0);
	CHECK_EQ(ringbuf_output(rb, &(struct rec){ 1, 301 }, sizeof(struct rec), 0), 0);
	CHECK_EQ(ringbuf_set_output(s, &(struct rec){ 0, 300 }, sizeof(struct rec), 0), 0);
	CHECK_EQ(ringbuf_manager_consume(m), 1); /* the set's record only */
	CHECK_EQ(seen.next[0], 301);
	CHECK_EQ(ringbuf_consume(rb, seen_cb, &seen), 1); /* still there */
	CHECK_EQ(seen.next[1], 302);
	ringbuf_free(rb); /* removed: may go before the manager */
	/* the rings after the removed one moved down: poll still serves each */
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, i), &(struct rec){ 2 + i, 100 },
					sizeof(struct rec), 0),
			 0);
		n = 0;
		while (seen.next[2 + i] == 100 && n++ < 50)
			CHECK(ringbuf_manager_poll(m, 100) >= 0);
		CHECK_EQ(seen.next[2 + i], 101);
	}
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(ringbuf_manager_remove(m, ringbuf_set_ring(s, i)), 0);
	CHECK_EQ(ringbuf_manager_consume(m), 0);
	ringbuf_manager_free(m);
	ringbuf_set_free(s);
}

/* ---- basic --------------------------------------------------------------- */

static struct ringbuf_set *g_reenter;

static int reenter_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	*(int *)ctx = ringbuf_set_consume(g_reenter, count_cb, &(long){ 0 });
	return 0;
}

static void test_basic(void)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct ringbuf_set *s = ringbuf_set_new(3, RING, NULL);
	struct seen seen = { 0 };
	long n = 0;
	int inner = 0;
	void *p;

	CHECK(s != NULL);
	CHECK_EQ(ringbuf_set_count(s), 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK(ringbuf_set_ring(s, i) != NULL);
	CHECK_NULL_ERR(ringbuf_set_ring(s, 3), EINVAL);
	for (uint32_t i = 0; i < 100; i++) {
		struct rec r = { 0, i };

		CHECK_EQ(ringbuf_set_output(s, &r, sizeof(r), 0), 0);
	}
	p = ringbuf_set_reserve(s, sizeof(struct rec), 0);
	CHECK(p != NULL);
	memcpy(p, &(struct rec){ 0, 100 }, sizeof(struct rec));
	ringbuf_submit(p, 0);
	p = ringbuf_set_reserve(s, 8, 0);
	CHECK(p != NULL);
	ringbuf_discard(p, 0);
	CHECK_EQ(ringbuf_set_stats(s, &st), 0);
	CHECK_EQ(st.reserved, 102);
	CHECK_EQ(st.discarded, 1);
	CHECK_EQ(st.ring_size, 3 * RING);
	CHECK_EQ(st.avail_data, 101 * 16 + 16);
	CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), 101);
	CHECK_EQ(seen.total, 101);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(ringbuf_set_poll(s, seen_cb, &seen, 0), 0);
	CHECK_EQ(ringbuf_set_poll(s, seen_cb, &seen, 20), 0); /* a timeout */

	/* the consumer refuses re-entry from its own callback */
	g_reenter = s;
	CHECK_EQ(ringbuf_set_output(s, &(struct rec){ 0, 101 }, sizeof(struct rec), 0), 0);
	CHECK_EQ(ringbuf_set_consume(s, reenter_cb, &inner), 1);
	CHECK_EQ(inner, -EBUSY);

	/* bad arguments */
	CHECK_NULL_ERR(ringbuf_set_new(0, RING, NULL), EINVAL);
	CHECK_NULL_ERR(ringbuf_set_new(1025, RING, NULL), EINVAL);
	CHECK_NULL_ERR(ringbuf_set_new(2, 1000, NULL), EINVAL);
	CHECK_NULL_ERR(ringbuf_set_new(2, RING, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
									   .flags = RINGBUF_F_OVERWRITE }),
		       EINVAL);
	CHECK_ERR(ringbuf_set_output(NULL, "x", 1, 0), EINVAL);
	CHECK_NULL_ERR(ringbuf_set_reserve(NULL, 8, 0), EINVAL);
	CHECK_ERR(ringbuf_set_consume(NULL, count_cb, &n), EINVAL);
	CHECK_ERR(ringbuf_set_consume(s, NULL, &n), EINVAL);
	CHECK_ERR(ringbuf_set_poll(NULL, count_cb, &n, 0), EINVAL);
	CHECK_ERR(ringbuf_set_stats(NULL, &st), EINVAL);
	CHECK_ERR(ringbuf_set_epoll_fd(NULL), EINVAL);
	CHECK_EQ(ringbuf_set_count(NULL), 0);
	CHECK_ERR(ringbuf_set_output(s, "x", 1, 4), EINVAL);
	CHECK(ringbuf_set_epoll_fd(s) >= 0);
	ringbuf_set_free(s);
	ringbuf_set_free(NULL);
}

/* ---- names --------------------------------------------------------------- */

static void name_for(const char *tag)
{
	snprintf(g_name, sizeof(g_name), "t_set_%d_%s", (int)g_parent, tag);
}

static void member(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "%s.%u", g_name, i);
}

static void test_names(void)
{
	struct ringbuf_set *s, *o;
	struct ringbuf *r;
	char m[RINGBUF_NAME_MAX + 1];
	struct seen seen = { 0 };
	uint64_t id;

	name_for("names");
	s = ringbuf_set_create(g_name, 4, RING, NULL);
	CHECK(s != NULL);
	id = ringbuf_query(ringbuf_set_ring(s, 0), RINGBUF_SET_ID);
	CHECK(id != 0);
	for (unsigned i = 0; i < 4; i++) {
		member(m, sizeof(m), i);
		r = ringbuf_open(m, NULL);
		CHECK(r != NULL);
		CHECK_EQ(ringbuf_query(r, RINGBUF_SET_ID), id);
		CHECK_EQ(ringbuf_query(r, RINGBUF_SET_COUNT), 4);
		CHECK_EQ(ringbuf_query(r, RINGBUF_SET_INDEX), i);
		ringbuf_free(r);
	}
	CHECK_EQ(ringbuf_set_output(s, &(struct rec){ 1, 0 }, sizeof(struct rec), 0), 0);
	o = ringbuf_set_open(g_name, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							     .role = RINGBUF_ROLE_CONSUMER });
	CHECK(o != NULL);
	CHECK_EQ(ringbuf_set_count(o), 4);
	CHECK_EQ(ringbuf_set_consume(o, seen_cb, &seen), 1);
	/* a second consumer is refused */
	CHECK_NULL_ERR(ringbuf_set_open(g_name, &(struct ringbuf_opts){
				   .sz = sizeof(struct ringbuf_opts), .role = RINGBUF_ROLE_CONSUMER }),
		       EBUSY);
	ringbuf_set_free(o);

	/* a taken member name: the create fails, leaves nothing of its own
	 * (it made NAME.5 and NAME.4 before it met NAME.3) */
	CHECK_NULL_ERR(ringbuf_set_create(g_name, 6, RING, NULL), EEXIST);
	for (unsigned i = 4; i < 6; i++) {
		member(m, sizeof(m), i);
		CHECK_NULL_ERR(ringbuf_open(m, NULL), ENOENT);
	}
	member(m, sizeof(m), 3);
	CHECK_EQ(ringbuf_unlink(m), 0);
	CHECK_NULL_ERR(ringbuf_set_open(g_name, NULL), ENOENT); /* a member missing */
	r = ringbuf_create(m, RING, NULL); /* a stranger under a member's name */
	CHECK(r != NULL);
	ringbuf_free(r);
	CHECK_NULL_ERR(ringbuf_set_open(g_name, NULL), EPROTO);
	CHECK_EQ(ringbuf_set_unlink(g_name), 0);
	for (unsigned i = 0; i < 3; i++) {
		member(m, sizeof(m), i);
		CHECK_NULL_ERR(ringbuf_open(m, NULL), ENOENT);
	}
	member(m, sizeof(m), 3);
	r = ringbuf_open(m, NULL); /* the stranger stays */
	CHECK(r != NULL);
	ringbuf_free(r);
	member(m, sizeof(m), 3);
	CHECK_EQ(ringbuf_unlink(m), 0);
	name_for("plain");
	member(m, sizeof(m), 0);
	r = ringbuf_create(m, RING, NULL);
	CHECK(r != NULL);
	ringbuf_free(r);
	CHECK_NULL_ERR(ringbuf_set_open(g_name, NULL), EPROTO);
	CHECK_ERR(ringbuf_set_unlink(g_name), EPROTO);
	CHECK_EQ(ringbuf_unlink(m), 0);
	CHECK_NULL_ERR(ringbuf_set_create("bad/name", 2, RING, NULL), EINVAL);
	memset(m, 'x', 199);
	m[199] = '\0'; /* a valid ring name, but no room for ".N" */
	CHECK_NULL_ERR(ringbuf_set_create(m, 2, RING, NULL), EINVAL);
	CHECK_ERR(ringbuf_set_unlink("bad/name"), EINVAL);
	ringbuf_set_free(s);
}

/* ---- moves ---------------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

static void test_moves(void)
{
	struct ringbuf_set *s = ringbuf_set_new(2, RING, NULL);
	struct ringbuf *r0, *r1;
	cpu_set_t all;
	long n = 0;

	CHECK(s != NULL);
	CHECK_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
	r0 = ringbuf_set_ring(s, 0);
	r1 = ringbuf_set_ring(s, 1);
	pin(0);
	CHECK_EQ(ringbuf_set_output(s, "a", 1, 0), 0);
	CHECK_EQ(ringbuf_query(r0, RINGBUF_PROD_POS), 16);
	pin(1);
	/* its record in ring 0 waits: it stays there */
	CHECK_EQ(ringbuf_set_output(s, "b", 1, 0), 0);
	CHECK_EQ(ringbuf_query(r0, RINGBUF_PROD_POS), 32);
	CHECK_EQ(ringbuf_query(r1, RINGBUF_PROD_POS), 0);
	CHECK_EQ(ringbuf_set_consume(s, count_cb, &n), 2);
	/* consumed: now CPU 1's ring */
	CHECK_EQ(ringbuf_set_output(s, "c", 1, 0), 0);
	CHECK_EQ(ringbuf_query(r0, RINGBUF_PROD_POS), 32);
	CHECK_EQ(ringbuf_query(r1, RINGBUF_PROD_POS), 16);
	CHECK_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
	ringbuf_set_free(s);
}

/* ---- threads -------------------------------------------------------------- */

struct prod_arg {
	struct ringbuf_set *s;
	uint32_t src;
	bool hop;
};

static void *producer_thread(void *arg)
{
	struct prod_arg *a = arg;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	for (uint32_t i = 0; i < NREC;) {
		struct rec r = { a->src, i };
		long e;

		if (a->hop && ncpu > 1 && i % 5000 == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET((int)((i / 5000 + a->src) % (uint32_t)ncpu), &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		if (i & 1) {
			struct rec *p = ringbuf_set_reserve(a->s, sizeof(r), 0);

			e = p ? 0 : -errno;
			if (p) {
				*p = r;
				ringbuf_submit(p, 0);
			}
		} else {
			e = ringbuf_set_output(a->s, &r, sizeof(r), 0);
		}
		if (e == -EAGAIN) {
			sched_yield();
			continue;
		}
		CHECK_EQ(e, 0);
		i++;
	}
	return NULL;
}

static void test_threads(unsigned nrings)
{
	struct ringbuf_set *s = ringbuf_set_new(nrings, RING, NULL);
	struct prod_arg args[NTHR];
	pthread_t th[NTHR];
	struct seen seen = { 0 };

	CHECK(s != NULL);
	for (uint32_t i = 0; i < NTHR; i++) {
		args[i] = (struct prod_arg){ s, i, i % 2 == 1 };
		CHECK_EQ(pthread_create(&th[i], NULL, producer_thread, &args[i]), 0);
	}
	while (seen.total < (long)NTHR * NREC && !seen.bad) {
		int r = ringbuf_set_poll(s, seen_cb, &seen, 1000);

		CHECK(r >= 0);
	}
	for (int i = 0; i < NTHR; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(ringbuf_set_consume(s, seen_cb, &seen), 0);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.total, (long)NTHR * NREC);
	for (int i = 0; i < NTHR; i++)
		CHECK_EQ(seen.next[i], NREC);
	ringbuf_set_free(s);
}

/* ---- processes ------------------------------------------------------------ */

static void test_processes(void)
{
	struct ringbuf_set *s;
	struct seen seen = { 0 };
	pid_t pid[NPROC];

	name_for("procs");
	s = ringbuf_set_create(g_name, 2, RING, &(struct ringbuf_opts){
					.sz = sizeof(struct ringbuf_opts), .role = RINGBUF_ROLE_CONSUMER });
	CHECK(s != NULL);
	for (uint32_t k = 0; k < NPROC; k++) {
		pid[k] = proc_fork_child(g_parent, 60);
		if (pid[k] == 0) {
			struct ringbuf_set *p = ringbuf_set_open(g_name, &(struct ringbuf_opts){
				.sz = sizeof(struct ringbuf_opts), .role = RINGBUF_ROLE_PRODUCER });

			if (!p)
				_exit(2);
			for (uint32_t i = 0; i < NREC;) {
				struct rec r = { 10 + k, i };
				long e = ringbuf_set_output(p, &r, sizeof(r), 0);

				if (e == -EAGAIN) {
					sched_yield();
					continue;
				}
				if (e)
					_exit(3);
				i++;
			}
			ringbuf_set_free(p);
			_exit(0);
		}
	}
	while (seen.total < (long)NPROC * NREC && !seen.bad)
		CHECK(ringbuf_set_poll(s, seen_cb, &seen, 1000) >= 0);
	for (int k = 0; k < NPROC; k++) {
		int st = proc_wait_status(pid[k], 60, 1000);

		CHECK(proc_exited_with(pid[k], st, 0));
	}
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.total, (long)NPROC * NREC);
	ringbuf_set_free(s);
	CHECK_EQ(ringbuf_set_unlink(g_name), 0);
}

/* ---- a dead producer ------------------------------------------------------ */

static void test_dead(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .recover_ms = 50 };
	struct ringbuf_set *s = ringbuf_set_new(2, RING, &o);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct seen seen = { 0 };
	pid_t pid;
	int status;

	CHECK(s != NULL);
	pid = proc_fork_child(g_parent, 20);
	if (pid == 0) {
		void *p = ringbuf_set_reserve(s, sizeof(struct rec), 0);

		if (!p)
			_exit(2);
		kill(getpid(), SIGKILL); /* inside its reservation */
		_exit(3);
	}
	status = proc_wait_status(pid, 20, 1000);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* the survivors' records, on every ring, behind the dead one's */
	for (int cpu = 0; cpu < 2; cpu++) {
		if (cpu < (int)sysconf(_SC_NPROCESSORS_ONLN))
			pin(cpu);
		CHECK_EQ(ringbuf_set_output(s, &(struct rec){ (uint32_t)(20 + cpu), 0 },
					    sizeof(struct rec), 0),
			 0);
		/* consume, so that the next CPU's record may go to its ring */
		while (seen.total < cpu + 1)
			CHECK(ringbuf_set_poll(s, seen_cb, &seen, 1000) >= 0);
	}
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.total, 2);
	CHECK_EQ(ringbuf_set_stats(s, &st), 0);
	CHECK_EQ(st.recovered, 1);
	CHECK_EQ(st.avail_data, 0);
	ringbuf_set_free(s);
}

/* ---- the ordered consumer ------------------------------------------------ */

struct stamped {
	uint32_t src, seq;
	uint64_t ts;
};

struct order {
	uint64_t last;
	long n;
};

static int order_cb(void *ctx, void *data, size_t size)
{
	struct order *o = ctx;
	struct stamped r;

	CHECK_EQ(size, sizeof(r));
	memcpy(&r, data, sizeof(r));
	CHECK(r.ts >= o->last);
	o->last = r.ts;
	o->n++;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void test_ordered(void)
{
	struct ringbuf_set *s = ringbuf_set_new(3, RING, NULL);
	struct order o = { 0, 0 };
	uint64_t rng = 12345, base = mono_ns();
	uint64_t t0;

	CHECK(s != NULL);
	/* 3000 timestamps in one order, each put into a random ring: every
	 * ring holds its records in order, the rings interleave */
	for (uint32_t i = 0; i < 3000; i++) {
		struct stamped r = { 0, i, base + i };
		unsigned k = (unsigned)(t_rand(&rng) % 3);

		CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, k), &r, sizeof(r), 0), 0);
	}
	/* a long lag: everything up to the last record any ring holds
	 * comes out in order now (the rest waits for the lag) */
	CHECK(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 60000000000ull,
					  order_cb, &o) > 2900);
	CHECK(o.n < 3000); /* the last ones wait: their rings' successors are unknown */
	/* a short lag: the rest once it has passed */
	t0 = mono_ns();
	while (o.n < 3000) {
		CHECK(mono_ns() - t0 < 5000000000ull);
		CHECK(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 20000000, order_cb,
						  &o) >= 0);
		t_sleep_ms(5);
	}
	CHECK_EQ(o.n, 3000);

	/* an empty ring holds a fresh record back until the lag, no longer */
	{
		struct stamped r = { 0, 0, mono_ns() };

		CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, 1), &r, sizeof(r), 0), 0);
		CHECK_EQ(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 200000000ull,
						     order_cb, &o), 0);
		t_sleep_ms(250);
		CHECK_EQ(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 200000000ull,
						     order_cb, &o), 1);
	}
	/* what the ordered consumer holds, a plain consume delivers once */
	{
		struct stamped r = { 0, 1, mono_ns() };
		long n = 0;

		CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, 2), &r, sizeof(r), 0), 0);
		CHECK_EQ(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 60000000000ull,
						     order_cb, &o), 0);
		CHECK_EQ(ringbuf_set_consume(s, count_cb, &n), 1);
		CHECK_EQ(ringbuf_set_consume_ordered(s, offsetof(struct stamped, ts), 0, order_cb, &o),
			 0);
	}
	CHECK_ERR(ringbuf_set_consume_ordered(NULL, 0, 0, order_cb, &o), EINVAL);
	ringbuf_set_free(s);
}

/* The producers' fast path reads the CPU from glibc's rseq area; with
 * rseq off (GLIBC_TUNABLES=glibc.pthread.rseq=0) every call takes the slow
 * path, which must place, move and order records the same way.  This
 * program again, in a child with rseq off: the moves and a threads run. */
static void test_without_rseq(const char *self, bool both_cpus)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *args[] = { (char *)self, (char *)(both_cpus ? "--no-rseq" : "--no-rseq-1"),
				 NULL };

		setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == T_SKIP)
		printf("skip without rseq: this glibc cannot turn it off\n");
	else
		CHECK_EQ(WEXITSTATUS(status), 0);
}

static int no_rseq_part(bool both_cpus)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
	extern const unsigned int __rseq_size __attribute__((weak));

	if (&__rseq_size != NULL && __rseq_size != 0)
		return T_SKIP; /* the tunable did not take */
#endif
	if (both_cpus)
		test_moves();
	test_threads(2);
	printf("ok   without rseq: %smoves and %d threads x %d records\n",
	       both_cpus ? "" : "(no) ", NTHR, NREC);
	return T_PASS;
}

int main(int argc, char **argv)
{
	cpu_set_t all;
	bool both;

	g_parent = getpid();
	CHECK_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
	both = CPU_COUNT(&all) >= 2 && CPU_ISSET(0, &all) && CPU_ISSET(1, &all);
	if (argc > 1 && !strncmp(argv[1], "--no-rseq", 9))
		return no_rseq_part(both && !strcmp(argv[1], "--no-rseq"));
	test_basic();
	printf("ok   basic: records, stats, refusals, re-entry\n");
	test_names();
	printf("ok   named sets: create, open, members, unlink\n");
	test_manager();
	printf("ok   manager: a set's rings beside a plain ring, all or nothing, remove\n");
	if (both) {
		test_moves();
		printf("ok   a moved thread keeps its ring until its records are consumed\n");
	} else {
		printf("skip moves: needs CPUs 0 and 1\n");
	}
	test_threads(2);
	printf("ok   %d threads x %d records, 2 rings: none lost, in order\n", NTHR, NREC);
	test_threads(3);
	printf("ok   %d threads x %d records, 3 rings: none lost, in order\n", NTHR, NREC);
	test_processes();
	printf("ok   %d processes x %d records on a named set\n", NPROC, NREC);
	test_dead();
	CHECK_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
	printf("ok   a producer killed inside its reservation\n");
	test_ordered();
	printf("ok   ordered: 3000 records over 3 rings in timestamp order; the lag bounds the wait\n");
	test_without_rseq(argv[0], both);
	return T_PASS;
}
