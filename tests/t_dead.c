/* SPDX-License-Identifier: MIT */
/*
 * t_dead.c -- dead peers: producers killed at every point of a reservation,
 * a stopped producer, a consumer killed while producers run.
 *
 * Linked with build/libringbuf-fi.a, the library built with
 * -DRINGBUF_FAULT_INJECTION: rb_fi_arm(point, n) makes the calling process
 * SIGKILL itself the n-th time one of its threads passes @point.
 *
 *   (a) windows: for every kill point, several rounds with a random n.  Two
 *       live producer processes of two threads each and one victim process
 *       write sequence-numbered, checksummed records (output, reserve +
 *       submit, reserve + discard) while this process consumes through a
 *       RINGBUF_ROLE_CONSUMER handle (data mapped read-only) or one with
 *       both roles, with a recovery bound of BOUND_MS.  Checked: every
 *       record committed by anyone arrives exactly once, intact, in
 *       per-producer order (the victim: exactly what it committed, plus
 *       the small record it had written whole when killed inside the lock
 *       after publishing it); the recovered counter is exactly the number
 *       of BUSY records the kill left (1 at or after producer_pos is
 *       published, 0 before or for a record written whole); the lock
 *       is taken over exactly once when the kill is inside it; reserved ==
 *       delivered + discarded + recovered; and no wait at a dead record
 *       lasts beyond the bound plus slack.
 *   (b) a victim with two threads, each holding a BUSY record, is killed;
 *       a consumer asleep in ringbuf_poll(-1) behind them (on the futex, or
 *       in fd mode on its wakeup socket), with committed records waiting
 *       that owe it no wakeup, returns with them (poll bounds its sleep),
 *       and recovered counts 2.
 *   (c) a stopped (SIGSTOP) producer holding a BUSY record is not recovered
 *       however long the consumer waits; after SIGCONT its record arrives
 *       intact, followed by those behind it.
 *   (d) a dead consumer: producers keep going, get -EAGAIN when the ring is
 *       full (each counted in refused_full); a new consumer process takes
 *       the claim and resumes at consumer_pos: records the dead one
 *       delivered after its last published position are delivered again
 *       (exactly those), none is lost.
 *   (e) recover_ms = RINGBUF_RECOVER_NEVER: a dead producer's record stays.
 *   (f) overwrite mode: a dead producer's record (which producers may not
 *       overwrite) is recovered, and poll(-1) behind it returns.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "fault.h" /* the hook of the fault-injection library; test-only */
#include "test.h"
#include "proc.h"

/* The kill points of a reservation, RB_FI_LOCKED .. RB_FI_WHOLE. */
#define FI_N (RB_FI_WHOLE + 1)
static const char *const fi_name[FI_N] = {
	[RB_FI_LOCKED] = "inside the lock, before the header",
	[RB_FI_HDR] = "inside the lock, header written, producer_pos not",
	[RB_FI_PUBLISHED] = "inside the lock, producer_pos published",
	[RB_FI_RESERVED] = "holding a BUSY record after reserve",
	[RB_FI_COMMIT] = "in submit/discard/output, before the header store",
	[RB_FI_WHOLE] = "inside the lock, a small record written whole and published",
};

#define RING      (64 * 1024)
#define BOUND_MS  100
#define SLACK_MS  3000 /* a loaded 2-core box */
#define LIVE_PROCS   2
/* ThreadSanitizer cannot see the synchronisation that passes through the
 * consumer, another process (a thread reuses ring bytes another thread of
 * its process wrote, once this process's consumer has read them): under
 * TSan the live producer processes are single-threaded. */
#define LIVE_THREADS (T_TSAN ? 1 : 2)
#define LIVE_RECS    3000
#define NPROD     (LIVE_PROCS * LIVE_THREADS + 1) /* the victim is the last */
#define ROUNDS    20

/* What producers tell the consumer, in a MAP_SHARED page. */
struct shared {
	_Atomic uint32_t committed[NPROD]; /* records committed (not discarded) */
	_Atomic uint32_t victim_pid;
	_Atomic uint32_t go;
};

struct rec {
	uint32_t prod, seq, size, sum;
};

static pid_t g_parent;

static size_t rec_size(uint64_t *rng)
{
	return sizeof(struct rec) + (size_t)(t_rand(rng) % 97);
}

static void rec_fill(unsigned char *p, uint32_t prod, uint32_t seq, size_t size)
{
	struct rec r = { prod, seq, (uint32_t)size, 0 };

	for (size_t i = sizeof(r); i < size; i++)
		p[i] = (unsigned char)(prod * 31 + seq * 7 + i);
	r.sum = t_fnv1a(p + sizeof(r), size - sizeof(r));
	memcpy(p, &r, sizeof(r));
}

/* Write records until @n are committed (n == 0: for ever), randomly by
 * output, reserve + submit, or reserve + discard (not counted). */
static void produce(struct ringbuf *rb, struct shared *sh, uint32_t prod, uint32_t n,
		    uint64_t seed)
{
	uint64_t rng = seed | 1;
	unsigned char buf[256];
	uint32_t seq = 0;

	while (!n || seq < n) {
		size_t size = rec_size(&rng);
		unsigned how = (unsigned)(t_rand(&rng) % 8);

		if (how < 4) {
			rec_fill(buf, prod, seq, size);
			long r = ringbuf_output(rb, buf, size, 0);
			if (r == -EAGAIN) {
				sched_yield();
				continue;
			}
			CHECK_EQ(r, 0);
		} else {
			unsigned char *p = ringbuf_reserve(rb, size, 0);
			if (!p) {
				CHECK_EQ(errno, EAGAIN);
				sched_yield();
				continue;
			}
			if (how == 7) {
				memset(p, 0xDD, size);
				ringbuf_discard(p, 0);
				continue;
			}
			rec_fill(p, prod, seq, size);
			ringbuf_submit(p, 0);
		}
		seq++;
		atomic_store(&sh->committed[prod], seq);
	}
}

struct thr_arg {
	struct ringbuf *rb;
	struct shared *sh;
	uint32_t prod;
	uint64_t seed;
};

static void *producer_thread(void *a_)
{
	struct thr_arg *a = a_;

	produce(a->rb, a->sh, a->prod, LIVE_RECS, a->seed);
	return NULL;
}

/* ------------------------------------------------------------------------
 * The consumer's checks
 * ------------------------------------------------------------------------ */

struct cons {
	uint32_t next[NPROD];
	uint64_t delivered;
};

static int check_cb(void *ctx, void *data, size_t size)
{
	struct cons *c = ctx;
	struct rec r;

	CHECK(size >= sizeof(r));
	memcpy(&r, data, sizeof(r));
	if (r.prod >= NPROD || r.size != size ||
	    r.sum != t_fnv1a((unsigned char *)data + sizeof(r), size - sizeof(r))) {
		fprintf(stderr, "corrupt record: prod %u seq %u size %u/%zu\n", r.prod, r.seq,
			r.size, size);
		exit(T_FAIL);
	}
	if (r.seq != c->next[r.prod]) {
		fprintf(stderr, "producer %u: got seq %u, want %u (lost, duplicated or reordered)\n",
			r.prod, r.seq, c->next[r.prod]);
		exit(T_FAIL);
	}
	c->next[r.prod]++;
	c->delivered++;
	return 0;
}

static struct ringbuf_stats stats(struct ringbuf *rb)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };

	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	return st;
}

static struct ringbuf *consumer_handle(struct ringbuf *rb, uint32_t role, uint32_t ms)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role, .recover_ms = ms };
	struct ringbuf *c = ringbuf_from_fd(ringbuf_fd(rb), &o);

	CHECK(c != NULL);
	return c;
}

static void *map_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* ------------------------------------------------------------------------
 * (a) every kill point, many times
 * ------------------------------------------------------------------------ */

static void one_round(int point, long n, uint64_t seed, bool consumer_role)
{
	struct ringbuf *rb = ringbuf_new(RING, NULL);
	CHECK(rb != NULL);
	struct ringbuf *rc = consumer_handle(rb, consumer_role ? RINGBUF_ROLE_CONSUMER : 0,
					     BOUND_MS);
	struct shared *sh = map_shared(sizeof(*sh));
	pid_t kids[LIVE_PROCS + 1];
	struct cons c = { { 0 }, 0 };

	for (int k = 0; k <= LIVE_PROCS; k++) {
		kids[k] = proc_fork_child(g_parent, 60);
		if (kids[k])
			continue;
		while (!atomic_load(&sh->go))
			sched_yield();
		if (k == LIVE_PROCS) { /* the victim */
			rb_fi_arm(point, n);
			produce(rb, sh, NPROD - 1, 0, seed * 7 + 1);
			_exit(5); /* not reached */
		}
		pthread_t t[LIVE_THREADS];
		struct thr_arg a[LIVE_THREADS];
		for (int i = 0; i < LIVE_THREADS; i++) {
			a[i] = (struct thr_arg){ rb, sh, (uint32_t)(k * LIVE_THREADS + i),
						 seed * 131 + (uint64_t)(k * LIVE_THREADS + i) };
			CHECK(pthread_create(&t[i], NULL, producer_thread, &a[i]) == 0);
		}
		for (int i = 0; i < LIVE_THREADS; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	atomic_store(&sh->go, 1);

	/* Consume until everyone is done and the ring is empty.  Time spent
	 * with the consumer position standing still while records wait
	 * behind the victim's dead record is bounded. */
	int live_left = LIVE_PROCS;
	bool victim_dead = false;
	uint64_t victim_died = 0, t_start = t_now_ns();
	uint64_t last_move = t_now_ns(), last_cons = ringbuf_query(rc, RINGBUF_CONS_POS);

	for (;;) {
		int r = ringbuf_poll(rc, check_cb, &c, 10);
		CHECK(r >= 0);
		for (int k = 0; k <= LIVE_PROCS; k++) {
			int status;
			if (!kids[k] || waitpid(kids[k], &status, WNOHANG) != kids[k])
				continue;
			if (k == LIVE_PROCS) {
				if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
					proc_exited_with(kids[k], status, -1);
					CHECK(!"the victim killed itself at its kill point");
				}
				victim_dead = true;
				victim_died = t_now_ns();
			} else {
				CHECK(proc_exited_with(kids[k], status, 0));
				live_left--;
			}
			kids[k] = 0;
		}
		uint64_t now = t_now_ns(), cons = ringbuf_query(rc, RINGBUF_CONS_POS);
		if (cons != last_cons) {
			last_cons = cons;
			last_move = now;
		}
		bool empty = ringbuf_query(rc, RINGBUF_AVAIL_DATA) == 0;
		if (!live_left && victim_dead && empty)
			break;
		/* Standing still with data waiting: only at a BUSY record of a
		 * live producer (brief) or a dead one (bounded by the bound). */
		if (victim_dead && !empty &&
		    now - (victim_died > last_move ? victim_died : last_move) >
			    (BOUND_MS + SLACK_MS) * 1000000ull) {
			fprintf(stderr, "stalled: %s, n=%ld, avail %llu, recovered %llu\n",
				fi_name[point], n,
				(unsigned long long)ringbuf_query(rc, RINGBUF_AVAIL_DATA),
				(unsigned long long)stats(rc).recovered);
			CHECK(!"a dead producer's record is recovered within the bound");
		}
		CHECK(now - t_start < 45000000000ull);
	}

	/* One more record, so that a lock the victim died holding is taken
	 * over even if every live producer had finished before. */
	unsigned char buf[64];
	rec_fill(buf, 0, LIVE_RECS, 32);
	CHECK_EQ(ringbuf_output(rb, buf, 32, 0), 0);
	CHECK_EQ(ringbuf_consume(rc, check_cb, &c), 1);

	struct ringbuf_stats st = stats(rc);
	CHECK_EQ(c.next[0], LIVE_RECS + 1);
	for (uint32_t p = 1; p + 1 < NPROD; p++)
		CHECK_EQ(c.next[p], LIVE_RECS);
	/* A record written whole is complete once published: it is delivered,
	 * though its producer died before output() could return. */
	CHECK_EQ(c.next[NPROD - 1],
		 atomic_load(&sh->committed[NPROD - 1]) + (point == RB_FI_WHOLE));
	uint64_t want_rec = point >= RB_FI_PUBLISHED && point != RB_FI_WHOLE;
	if (st.recovered != want_rec) {
		fprintf(stderr, "%s (n=%ld): recovered %llu, want %llu\n", fi_name[point], n,
			(unsigned long long)st.recovered, (unsigned long long)want_rec);
		CHECK(!"recovered counts the BUSY records the kill left");
	}
	CHECK_EQ(st.lock_steals, point <= RB_FI_PUBLISHED || point == RB_FI_WHOLE);
	CHECK_EQ(st.reserved, c.delivered + st.discarded + st.recovered);
	CHECK_EQ(st.consumer_pos, st.producer_pos);

	munmap(sh, sizeof(*sh));
	ringbuf_free(rc);
	ringbuf_free(rb);
}

static void test_windows(void)
{
	uint64_t rng = t_now_ns() | 1;
	const char *env = getenv("DEAD_SEED");

	if (env)
		rng = strtoull(env, NULL, 0) | 1;
	printf("windows: seed %llu\n", (unsigned long long)rng);
	for (int point = RB_FI_LOCKED; point < FI_N; point++) {
		for (int round = 0; round < ROUNDS; round++) {
			/* (small records are 1 in 194 of the victim's calls) */
			long n = 1 + (long)(t_rand(&rng) % (point == RB_FI_WHOLE ? 20 : 2000));
			one_round(point, n, t_rand(&rng), round & 1);
		}
		printf("  killed %s: %d rounds ok\n", fi_name[point], ROUNDS);
	}
}

/* ------------------------------------------------------------------------
 * (b) two threads die holding BUSY records; a consumer asleep behind them
 * ------------------------------------------------------------------------ */

static struct ringbuf *g_rb;
static pthread_barrier_t g_bar;

static void *hold_thread(void *a)
{
	(void)a;
	void *p = ringbuf_reserve(g_rb, 40, 0);
	CHECK(p != NULL);
	memset(p, 0xAB, 40);
	pthread_barrier_wait(&g_bar);
	pause(); /* holds the record until the process dies */
	return NULL;
}

struct poller {
	struct ringbuf *rc;
	struct cons c;
	int ret;
	_Atomic int done;
};

static void *poll_thread(void *a_)
{
	struct poller *a = a_;

	a->ret = ringbuf_poll(a->rc, check_cb, &a->c, -1);
	atomic_store(&a->done, 1);
	return NULL;
}

static void test_poll_bound(bool fd_mode)
{
	struct ringbuf *rb = ringbuf_new(RING, NULL);
	CHECK(rb != NULL);
	struct poller pl = { .rc = consumer_handle(rb, RINGBUF_ROLE_CONSUMER, BOUND_MS) };
	if (fd_mode) /* poll then waits on the wakeup socket */
		CHECK(ringbuf_epoll_fd(pl.rc) >= 0);
	int pfd[2];
	CHECK(pipe(pfd) == 0);

	pid_t v = proc_fork_child(g_parent, 30);
	if (v == 0) {
		pthread_t t[2];
		g_rb = rb;
		pthread_barrier_init(&g_bar, NULL, 3);
		for (int i = 0; i < 2; i++)
			CHECK(pthread_create(&t[i], NULL, hold_thread, NULL) == 0);
		pthread_barrier_wait(&g_bar);
		CHECK_EQ(write(pfd[1], "r", 1), 1);
		pause();
		_exit(0);
	}
	char ch;
	CHECK_EQ(read(pfd[0], &ch, 1), 1);
	/* Three records behind the two BUSY ones, committed with no wakeup
	 * owed to a consumer that waits at the head. */
	unsigned char buf[64];
	struct shared sh;
	memset(&sh, 0, sizeof(sh));
	for (uint32_t s = 0; s < 3; s++) {
		rec_fill(buf, 0, s, 48);
		CHECK_EQ(ringbuf_output(rb, buf, 48, s == 1 ? RINGBUF_NO_WAKEUP : 0), 0);
	}
	pthread_t pt;
	CHECK(pthread_create(&pt, NULL, poll_thread, &pl) == 0);
	t_sleep_ms(3 * BOUND_MS); /* the owner lives: the poller keeps waiting */
	CHECK_EQ(atomic_load(&pl.done), 0);
	CHECK_EQ(stats(rb).recovered, 0);

	CHECK_EQ(kill(v, SIGKILL), 0);
	uint64_t t0 = t_now_ns();
	int status;
	CHECK_EQ(waitpid(v, &status, 0), v);
	while (!atomic_load(&pl.done)) {
		if (t_now_ns() - t0 > (BOUND_MS + SLACK_MS) * 1000000ull)
			CHECK(!"ringbuf_poll(-1) returns once the dead owner's records are recovered");
		t_sleep_ms(1);
	}
	pthread_join(pt, NULL);
	CHECK_EQ(pl.ret, 3);
	CHECK_EQ(pl.c.next[0], 3);
	struct ringbuf_stats st = stats(rb);
	CHECK_EQ(st.recovered, 2);
	CHECK_EQ(st.discarded, 0);
	CHECK_EQ(st.consumer_pos, st.producer_pos);
	/* the ring goes on */
	rec_fill(buf, 0, 3, 48);
	CHECK_EQ(ringbuf_output(rb, buf, 48, 0), 0);
	CHECK_EQ(ringbuf_consume(pl.rc, check_cb, &pl.c), 1);
	close(pfd[0]);
	close(pfd[1]);
	ringbuf_free(pl.rc);
	ringbuf_free(rb);
	printf("two threads die holding records; poll(-1)%s behind them returns: ok\n",
	       fd_mode ? " in fd mode" : "");
}

/* ------------------------------------------------------------------------
 * (c) a stopped producer is never declared dead
 * ------------------------------------------------------------------------ */

static void test_stopped(void)
{
	struct ringbuf *rb = ringbuf_new(RING, NULL);
	CHECK(rb != NULL);
	struct ringbuf *rc = consumer_handle(rb, RINGBUF_ROLE_CONSUMER, BOUND_MS);
	struct cons c = { { 0 }, 0 };
	int to[2], from[2];
	CHECK(pipe(to) == 0 && pipe(from) == 0);

	pid_t v = proc_fork_child(g_parent, 30);
	if (v == 0) {
		unsigned char *p = ringbuf_reserve(rb, 64, 0);
		char ch;
		CHECK(p != NULL);
		rec_fill(p, 1, 0, 64);
		CHECK_EQ(write(from[1], "r", 1), 1);
		CHECK_EQ(read(to[0], &ch, 1), 1);
		ringbuf_submit(p, 0);
		_exit(0);
	}
	char ch;
	CHECK_EQ(read(from[0], &ch, 1), 1);
	CHECK_EQ(kill(v, SIGSTOP), 0);
	unsigned char buf[64];
	for (uint32_t s = 0; s < 2; s++) {
		rec_fill(buf, 0, s, 40);
		CHECK_EQ(ringbuf_output(rb, buf, 40, 0), 0);
	}
	/* Many bounds' worth of polling and consuming: nothing recovered,
	 * nothing delivered past the stopped producer's record. */
	uint64_t t0 = t_now_ns();
	while (t_now_ns() - t0 < 10ull * BOUND_MS * 1000000ull) {
		CHECK_EQ(ringbuf_poll(rc, check_cb, &c, BOUND_MS / 3), 0);
		CHECK_EQ(ringbuf_consume(rc, check_cb, &c), 0);
	}
	CHECK_EQ(proc_state(v), 'T');
	CHECK_EQ(stats(rb).recovered, 0);
	CHECK_EQ(kill(v, SIGCONT), 0);
	CHECK_EQ(write(to[1], "s", 1), 1);
	int status = proc_wait_status(v, 10, 1000);
	CHECK(proc_exited_with(v, status, 0));
	CHECK_EQ(ringbuf_consume(rc, check_cb, &c), 3);
	CHECK_EQ(c.next[1], 1); /* its record, intact (check_cb) */
	CHECK_EQ(c.next[0], 2); /* and those behind it, in order */
	CHECK_EQ(stats(rb).recovered, 0);
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	ringbuf_free(rc);
	ringbuf_free(rb);
	printf("a stopped producer's record waits for it: ok\n");
}

/* ------------------------------------------------------------------------
 * (d) a dead consumer
 * ------------------------------------------------------------------------ */

#define DC_TOTAL 20000
#define DC_BATCH 8 /* consume_n: no quarter-ring publish inside a call */

struct dc_shared {
	_Atomic int32_t last;      /* last seq the first consumer delivered */
	_Atomic int32_t published; /* last seq its consume_n calls returned past */
	_Atomic int32_t first2;    /* first seq the second consumer delivered */
	_Atomic uint32_t kill_at;  /* the first consumer dies in its callback at this seq */
	_Atomic uint32_t done;
};

struct dc_ctx {
	struct dc_shared *sh;
	int32_t next;
	bool second;
};

static int dc_cb(void *ctx, void *data, size_t size)
{
	struct dc_ctx *c = ctx;
	struct rec r;

	CHECK(size >= sizeof(r));
	memcpy(&r, data, sizeof(r));
	CHECK(r.sum == t_fnv1a((unsigned char *)data + sizeof(r), size - sizeof(r)));
	if (c->next < 0) { /* the second consumer's first record */
		c->next = (int32_t)r.seq;
		atomic_store(&c->sh->first2, (int32_t)r.seq);
	}
	CHECK_EQ(r.seq, c->next);
	c->next++;
	if (!c->second) {
		atomic_store(&c->sh->last, (int32_t)r.seq);
		if (r.seq == atomic_load(&c->sh->kill_at))
			kill(getpid(), SIGKILL); /* mid-call: consumer_pos not yet published */
	}
	return 0;
}

static pid_t dc_consumer(struct ringbuf *rb, struct dc_shared *sh, bool second)
{
	pid_t pid = proc_fork_child(g_parent, 60);
	if (pid)
		return pid;
	struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf *rc = ringbuf_from_fd(ringbuf_fd(rb), &o);
	struct dc_ctx c = { sh, second ? -1 : 0, second };
	CHECK(rc != NULL);
	/* consume_n only (poll consumes everything, publishing every quarter
	 * ring): the position is published exactly when a call returns. */
	while (!second || c.next != DC_TOTAL) {
		int r = ringbuf_consume_n(rc, dc_cb, &c, DC_BATCH);
		CHECK(r >= 0);
		if (!second)
			atomic_store(&sh->published, c.next - 1);
		if (!r)
			usleep(200);
	}
	_exit(0);
}

static void test_dead_consumer(void)
{
	struct ringbuf *rb = ringbuf_new(16 * 1024, NULL);
	CHECK(rb != NULL);
	struct dc_shared *sh = map_shared(sizeof(*sh));
	uint64_t rng = t_now_ns() | 1;
	unsigned char buf[64];
	int32_t seq = 0;
	uint64_t eagain = 0, refused0 = stats(rb).refused_full;

	atomic_store(&sh->last, -1);
	atomic_store(&sh->published, -1);
	atomic_store(&sh->first2, -1);
	atomic_store(&sh->kill_at, 1000 + (uint32_t)(t_rand(&rng) % 5000));
	pid_t c1 = dc_consumer(rb, sh, false);

	/* Produce until the first consumer has died and the ring is full. */
	bool c1_dead = false;
	int status;
	for (;;) {
		rec_fill(buf, 0, (uint32_t)seq, 16 + (size_t)(seq % 40));
		long r = ringbuf_output(rb, buf, 16 + (size_t)(seq % 40), 0);
		if (r == 0) {
			seq++;
			CHECK(seq < DC_TOTAL);
			continue;
		}
		CHECK_EQ(r, -EAGAIN);
		eagain++;
		if (!c1_dead && waitpid(c1, &status, WNOHANG) == c1) {
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
			c1_dead = true;
		}
		if (c1_dead && eagain > 1000)
			break;
		sched_yield();
	}
	/* Producers keep working against a dead consumer: -EAGAIN, counted. */
	CHECK_EQ(stats(rb).refused_full - refused0, eagain);
	CHECK_EQ(stats(rb).consumer_pid, (uint32_t)c1); /* a dead claim, taken over below */

	int32_t last = atomic_load(&sh->last), published = atomic_load(&sh->published);
	CHECK_EQ(last, (int32_t)atomic_load(&sh->kill_at));
	CHECK(published < last && last - published <= DC_BATCH);

	pid_t c2 = dc_consumer(rb, sh, true);
	while (seq < DC_TOTAL) {
		rec_fill(buf, 0, (uint32_t)seq, 16 + (size_t)(seq % 40));
		long r = ringbuf_output(rb, buf, 16 + (size_t)(seq % 40), 0);
		if (r == -EAGAIN) {
			sched_yield();
			continue;
		}
		CHECK_EQ(r, 0);
		seq++;
	}
	status = proc_wait_status(c2, 30, 1000);
	CHECK(proc_exited_with(c2, status, 0));
	/* At-least-once across a consumer crash, and exactly this much
	 * again: the second consumer starts right after the last record whose
	 * position the first one published (and it checked every later record
	 * arrives once, in order, up to the last). */
	int32_t first2 = atomic_load(&sh->first2);
	if (first2 != published + 1) {
		fprintf(stderr, "first consumer: delivered up to %d, published up to %d; "
				"second started at %d\n", last, published, first2);
		CHECK(!"a new consumer resumes at the published consumer position");
	}
	printf("dead consumer: %lld -EAGAIN while dead (all counted); %d record(s) "
	       "delivered again after the crash: ok\n",
	       (long long)eagain, last - published);
	munmap(sh, sizeof(*sh));
	ringbuf_free(rb);
}

/* ------------------------------------------------------------------------
 * (e) recovery switched off
 * ------------------------------------------------------------------------ */

static void test_never(void)
{
	struct ringbuf *rb = ringbuf_new(RING, NULL);
	CHECK(rb != NULL);
	struct ringbuf *rc = consumer_handle(rb, RINGBUF_ROLE_CONSUMER, RINGBUF_RECOVER_NEVER);
	struct cons c = { { 0 }, 0 };

	pid_t v = proc_fork_child(g_parent, 30);
	if (v == 0) {
		CHECK(ringbuf_reserve(rb, 8, 0) != NULL);
		_exit(0); /* dies holding it */
	}
	int status = proc_wait_status(v, 10, 1000);
	CHECK(proc_exited_with(v, status, 0));
	unsigned char buf[64];
	rec_fill(buf, 0, 0, 40);
	CHECK_EQ(ringbuf_output(rb, buf, 40, 0), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(ringbuf_poll(rc, check_cb, &c, BOUND_MS), 0);
	CHECK_EQ(stats(rb).recovered, 0);
	ringbuf_free(rc);
	/* a handle with the default bound (1 s) does recover it */
	rc = consumer_handle(rb, RINGBUF_ROLE_CONSUMER, 0);
	uint64_t t0 = t_now_ns();
	while (c.next[0] == 0) {
		CHECK(ringbuf_poll(rc, check_cb, &c, 50) >= 0);
		CHECK(t_now_ns() - t0 < (RINGBUF_RECOVER_DEFAULT_MS + SLACK_MS) * 1000000ull);
	}
	CHECK(t_now_ns() - t0 >= (RINGBUF_RECOVER_DEFAULT_MS - 50) * 1000000ull);
	CHECK_EQ(stats(rb).recovered, 1);
	ringbuf_free(rc);
	ringbuf_free(rb);
	printf("recover_ms NEVER keeps the record, the default recovers it after 1 s: ok\n");
}

/* ------------------------------------------------------------------------
 * (f) overwrite mode: a dead producer's record is recovered there too
 * ------------------------------------------------------------------------ */

static void test_overwrite(bool use_poll)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_OVERWRITE };
	struct ringbuf *rb = ringbuf_new(RING, &o);
	CHECK(rb != NULL);
	struct poller pl = { .rc = consumer_handle(rb, RINGBUF_ROLE_CONSUMER, BOUND_MS) };

	pid_t v = proc_fork_child(g_parent, 30);
	if (v == 0) {
		CHECK(ringbuf_reserve(rb, 24, 0) != NULL);
		_exit(0); /* dies holding it */
	}
	int status = proc_wait_status(v, 10, 1000);
	CHECK(proc_exited_with(v, status, 0));
	unsigned char buf[64];
	for (uint32_t s = 0; s < 3; s++) {
		rec_fill(buf, 0, s, 48);
		CHECK_EQ(ringbuf_output(rb, buf, 48, 0), 0);
	}
	pthread_t pt;
	uint64_t t0 = t_now_ns();
	if (use_poll) {
		CHECK(pthread_create(&pt, NULL, poll_thread, &pl) == 0);
		while (!atomic_load(&pl.done)) {
			if (t_now_ns() - t0 > (BOUND_MS + SLACK_MS) * 1000000ull)
				CHECK(!"overwrite mode: poll(-1) returns once the dead producer's record is recovered");
			t_sleep_ms(1);
		}
		pthread_join(pt, NULL);
		CHECK_EQ(pl.ret, 3);
	} else {
		while (pl.c.next[0] < 3) {
			CHECK(ringbuf_consume(pl.rc, check_cb, &pl.c) >= 0);
			CHECK(t_now_ns() - t0 < (BOUND_MS + SLACK_MS) * 1000000ull);
			t_sleep_ms(5);
		}
	}
	CHECK_EQ(pl.c.next[0], 3);
	CHECK_EQ(stats(rb).recovered, 1);
	ringbuf_free(pl.rc);
	ringbuf_free(rb);
	printf("overwrite mode: a dead producer's record is recovered (%s): ok\n",
	       use_poll ? "poll(-1)" : "consume");
}

int main(void)
{
	g_parent = getpid();
	setvbuf(stdout, NULL, _IONBF, 0);
	test_never();
	test_stopped();
	test_poll_bound(false);
	test_poll_bound(true);
	test_dead_consumer();
	test_overwrite(false);
	test_overwrite(true);
	test_windows();
	return T_PASS;
}
