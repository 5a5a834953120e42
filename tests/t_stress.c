/* SPDX-License-Identifier: MIT */
/*
 * t_stress -- many producers, one consumer, a small ring that is full most
 * of the time (in the style of rmind/ringbuf's t_stress).
 *
 * Modes, run one after the other: N producer threads, then N forked
 * producer processes (fork after ringbuf_new(); children use the inherited
 * handle), then "wakeup": threads and processes mixed, adaptive wakeups
 * (flags 0) only, and the consumer sleeps in ringbuf_poll(-1) -- a lost
 * wakeup leaves it asleep with the ring full, which the watchdog reports.
 * N defaults to 4, more than the cores of a small machine; nothing is
 * pinned.  Each producer draws sizes, operations (output, reserve+submit,
 * reserve+discard) and wakeup flags from its own xorshift PRNG.  Every
 * record carries (producer id, sequence, length, checksum) and ends with a
 * canary derived from (id, seq); discarded records carry a marker.  The
 * consumer (main thread) polls with a short timeout and proves: no loss, no
 * duplicate, per-producer order (seq increases by exactly 1), checksums and
 * canaries valid, no discarded record delivered, data pointers inside the
 * ring; at the end the meta page's identity is intact.
 *
 *   t_stress [-d SECONDS] [-n PRODUCERS] [-m threads|procs|wakeup|all] [-s SEED]
 *   env STRESS_SECONDS overrides the default duration (1.8 s per mode).
 */
#include "ringbuf.h"
#include "test.h"
#include "ringview.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RING_SIZE   (64 * 1024)
#define MAXPROD     64
#define REC_MIN     20 /* header + canary */
#define DISCARD_TAG 0x80000000u

struct rec {
	uint32_t id;   /* producer id, | DISCARD_TAG in discarded records */
	uint32_t seq;  /* per-producer sequence of submitted records */
	uint32_t len;  /* total record size, this header included */
	uint32_t csum; /* t_fnv1a over bytes [16, len) */
};

/* Per-producer report, written by the producer when it stops. */
struct report {
	uint64_t submitted; /* records committed (seq of the next one) */
	uint64_t bytes;     /* their total size */
	uint64_t discarded;
	uint64_t eagain;    /* retries */
	uint32_t done;
	uint8_t _pad[64 - 36];
};

/* Shared with producers (MAP_SHARED, so forked children see it too). */
struct shared {
	uint32_t stop;
	uint32_t ndone;
	uint64_t deadline; /* producers stop by themselves then (wakeup mode) */
	uint32_t wakeup_mode;
	uint32_t _pad0;
	uint64_t consumed; /* records delivered so far: the consumer's pulse */
	uint8_t _pad[32];
	struct report rep[MAXPROD];
};

static struct ringbuf *g_rb;
static struct shared *g_sh;
static uint8_t *g_lib_data; /* this process's mapping of the data pages */
static size_t g_ds;
static int g_nprod = 4;
static uint64_t g_seed;

enum mode { M_THREADS, M_PROCS, M_WAKEUP };

static const char *const mode_name[] = { "threads", "procs", "wakeup" };

static bool should_stop(void)
{
	if (__atomic_load_n(&g_sh->stop, __ATOMIC_RELAXED))
		return true;
	if (g_sh->deadline && t_now_ns() >= g_sh->deadline) {
		__atomic_store_n(&g_sh->stop, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

static uint32_t canary_of(uint32_t id, uint32_t seq)
{
	return (id * 0x9E3779B1u) ^ (seq * 0x85EBCA77u) ^ 0xC0FFEE11u;
}

/* ------------------------------------------------------------------------
 * Producers
 * ------------------------------------------------------------------------ */

static void fill(uint8_t *p, uint32_t id, uint32_t seq, uint32_t len, bool discard,
		 uint64_t *rng)
{
	struct rec h = { .id = id | (discard ? DISCARD_TAG : 0), .seq = seq, .len = len };
	uint32_t canary = canary_of(id, seq);
	size_t body = len - sizeof(h) - 4, i = 0;

	for (; i + 8 <= body; i += 8) {
		uint64_t x = t_rand(rng);
		memcpy(p + sizeof(h) + i, &x, 8);
	}
	for (; i < body; i++)
		p[sizeof(h) + i] = (uint8_t)t_rand(rng);
	memcpy(p + len - 4, &canary, 4);
	h.csum = t_fnv1a(p + sizeof(h), len - sizeof(h));
	memcpy(p, &h, sizeof(h));
}

static void produce(uint32_t id)
{
	uint64_t rng = g_seed ^ ((uint64_t)(id + 1) * 0x9E3779B97F4A7C15ULL);
	struct report *rep = &g_sh->rep[id];
	static __thread uint8_t buf[RING_SIZE / 8];
	uint32_t seq = 0;
	uint64_t pulse = 0, pulse_t = 0; /* consumer progress seen while refused */

	if (!rng)
		rng = 1;
	while (!should_stop()) {
		uint64_t r = t_rand(&rng);
		uint32_t len = r % 64 == 0 ? REC_MIN + (uint32_t)(t_rand(&rng) % (g_ds / 8 - REC_MIN + 1))
					   : REC_MIN + (uint32_t)(t_rand(&rng) % 600);
		int kind = (int)((r >> 8) % 10); /* 0 discard, 1-4 output, else submit */
		static const uint64_t fl[3] = { 0, RINGBUF_NO_WAKEUP, RINGBUF_FORCE_WAKEUP };
		uint64_t flags = fl[(r >> 16) % 3];
		if (g_sh->wakeup_mode)
			flags = 0; /* adaptive only: the consumer depends on it */

		if (kind >= 1 && kind <= 4)
			fill(buf, id, seq, len, false, &rng);
		for (;;) {
			if (kind >= 1 && kind <= 4) {
				long ret = ringbuf_output(g_rb, buf, len, flags);
				if (ret == 0)
					break;
				CHECK_EQ(ret, -EAGAIN);
			} else {
				uint8_t *p = ringbuf_reserve(g_rb, len, 0);
				if (p) {
					CHECK(rv_in_ring(g_lib_data, g_ds, p, len));
					CHECK_EQ((uintptr_t)p % 8, 0);
					fill(p, id, seq, len, kind == 0, &rng);
					if (kind == 0)
						ringbuf_discard(p, flags);
					else
						ringbuf_submit(p, flags);
					break;
				}
				CHECK_EQ(errno, EAGAIN);
			}
			rep->eagain++;
			if (should_stop())
				goto out;
			if (g_sh->wakeup_mode) {
				/* The ring is full.  The consumer sleeps only when caught
				 * up and every record is committed adaptively, so it
				 * must be draining: 1 s without progress is a lost
				 * wakeup. */
				uint64_t c = __atomic_load_n(&g_sh->consumed, __ATOMIC_RELAXED);
				uint64_t now = t_now_ns();
				if (c != pulse || !pulse_t) {
					pulse = c;
					pulse_t = now;
				} else if (now - pulse_t > 1000000000ull) {
					fprintf(stderr, "producer %u: ring full, no record consumed "
							"for 1 s: lost wakeup?\n", id);
					CHECK(!"the consumer is woken");
				}
			}
			sched_yield();
		}
		if (kind == 0) {
			rep->discarded++;
		} else {
			seq++;
			rep->submitted++;
			rep->bytes += len;
		}
	}
out:
	CHECK_EQ(rep->submitted, seq);
	__atomic_store_n(&rep->done, 1, __ATOMIC_RELEASE);
	uint32_t ndone = __atomic_add_fetch(&g_sh->ndone, 1, __ATOMIC_ACQ_REL);
	if (g_sh->wakeup_mode && ndone == (uint32_t)g_nprod) {
		/* The last one out wakes the consumer sleeping in poll(-1). */
		uint8_t *p;
		uint64_t t0 = t_now_ns();
		while (!(p = ringbuf_reserve(g_rb, 0, 0))) {
			CHECK_EQ(errno, EAGAIN);
			CHECK(t_now_ns() - t0 < 20000000000ull);
			sched_yield();
		}
		ringbuf_discard(p, RINGBUF_FORCE_WAKEUP);
	}
}

static void *producer_thread(void *arg)
{
	produce((uint32_t)(uintptr_t)arg);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Consumer
 * ------------------------------------------------------------------------ */

struct cstate {
	uint64_t next[MAXPROD];  /* expected seq per producer */
	uint64_t bytes[MAXPROD];
	uint64_t records, total_bytes, cancels;
	uint64_t rng;
	int64_t cancel_ret;
};

static int consume_cb(void *ctx, void *data, size_t size)
{
	struct cstate *cs = ctx;
	const uint8_t *p = data;
	struct rec h;
	uint32_t canary;

	CHECK(rv_in_ring(g_lib_data, g_ds, p, size));
	CHECK(size >= REC_MIN);
	memcpy(&h, p, sizeof(h));
	if (h.id & DISCARD_TAG) {
		fprintf(stderr, "discarded record of producer %u seq %u delivered\n",
			h.id & ~DISCARD_TAG, h.seq);
		CHECK(!"no discarded record delivered");
	}
	CHECK(h.id < (uint32_t)g_nprod);
	CHECK_EQ(h.len, size);
	if (h.seq != cs->next[h.id]) {
		fprintf(stderr, "producer %u: seq %u, expected %llu (%s)\n", h.id, h.seq,
			(unsigned long long)cs->next[h.id],
			h.seq < cs->next[h.id] ? "duplicate or reordered" : "lost");
		CHECK(!"per-producer sequence");
	}
	memcpy(&canary, p + size - 4, 4);
	CHECK_EQ(canary, canary_of(h.id, h.seq));
	CHECK_EQ(t_fnv1a(p + sizeof(h), size - sizeof(h)), h.csum);
	cs->next[h.id]++;
	cs->bytes[h.id] += size;
	cs->records++;
	cs->total_bytes += size;
	__atomic_store_n(&g_sh->consumed, cs->records, __ATOMIC_RELAXED);
	/* Now and then stop consumption from the callback: the record counts
	 * as consumed, so it must never come again. */
	if (t_rand(&cs->rng) % 1024 == 0) {
		cs->cancels++;
		return (int)cs->cancel_ret;
	}
	return 0;
}

static void consume_call(struct cstate *cs, int timeout_ms)
{
	int r;
	if (t_rand(&cs->rng) % 16 == 0)
		r = ringbuf_consume_n(g_rb, consume_cb, cs, 1 + t_rand(&cs->rng) % 8);
	else
		r = ringbuf_poll(g_rb, consume_cb, cs, timeout_ms);
	if (r < 0 && r != cs->cancel_ret)
		fprintf(stderr, "consume/poll returned %d\n", r);
	CHECK(r >= 0 || r == cs->cancel_ret);
}

/* ------------------------------------------------------------------------
 * Modes
 * ------------------------------------------------------------------------ */

static void on_watchdog(int sig)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "t_stress: watchdog: no end in sight (consumer asleep after a lost "
			 "wakeup?): %u of %d producers done, %llu bytes unconsumed\n",
			 __atomic_load_n(&g_sh->ndone, __ATOMIC_RELAXED), g_nprod,
			 (unsigned long long)ringbuf_query(g_rb, RINGBUF_AVAIL_DATA));
	(void)sig;
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

static void run_mode(enum mode mode, double secs)
{
	struct cstate *cs = calloc(1, sizeof(*cs));
	pthread_t tid[MAXPROD];
	pid_t pid[MAXPROD];
	CHECK(cs != NULL);
	cs->rng = g_seed ^ 0xD1B54A32D192ED03ULL;
	cs->cancel_ret = -ECANCELED;

	g_rb = ringbuf_new(RING_SIZE, NULL);
	CHECK(g_rb != NULL);
	g_ds = ringbuf_query(g_rb, RINGBUF_RING_SIZE);
	CHECK_EQ(g_ds, RING_SIZE);

	/* Locate this process's data mapping from a reservation at a known
	 * position (forked children inherit the same addresses). */
	g_lib_data = rv_lib_data(g_rb, g_ds);
	CHECK(g_lib_data != NULL);
	CHECK_EQ(ringbuf_consume(g_rb, consume_cb, cs), 0);

	memset(g_sh, 0, sizeof(*g_sh));
	uint64_t t0 = t_now_ns(), deadline = t0 + (uint64_t)(secs * 1e9);
	if (mode == M_WAKEUP) {
		g_sh->deadline = deadline;
		g_sh->wakeup_mode = 1;
	}
	alarm((unsigned)secs + 30);
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	bool procs = mode == M_PROCS;
	bool is_proc[MAXPROD];
	/* processes first: never fork with producer threads running */
	for (int i = 0; i < g_nprod; i++) {
		/* TSan cannot see synchronization that passes through another
		 * process (a lock handed from one of our threads to a child and
		 * back), so under TSan the wakeup mode mixes nothing: its
		 * producers are all threads.  t_process covers the processes. */
		is_proc[i] = mode == M_PROCS || (mode == M_WAKEUP && i % 2 == 1 && !T_TSAN);
		pid[i] = 0;
		if (!is_proc[i])
			continue;
		procs = true;
		pid[i] = fork();
		CHECK(pid[i] >= 0);
		if (pid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(3);
			produce((uint32_t)i);
			_exit(0);
		}
	}
	for (int i = 0; i < g_nprod; i++)
		if (!is_proc[i])
			CHECK_EQ(pthread_create(&tid[i], NULL, producer_thread,
						(void *)(uintptr_t)i), 0);

	uint64_t stop_at = 0;
	for (;;) {
		consume_call(cs, mode == M_WAKEUP ? -1 : 3);
		uint64_t now = t_now_ns();
		if (mode == M_WAKEUP) {
			/* no timeouts: only wakeups end the sleeps */
			if (__atomic_load_n(&g_sh->ndone, __ATOMIC_ACQUIRE) == (uint32_t)g_nprod &&
			    ringbuf_query(g_rb, RINGBUF_AVAIL_DATA) == 0)
				break;
			continue;
		}
		if (!stop_at && now >= deadline) {
			__atomic_store_n(&g_sh->stop, 1, __ATOMIC_RELAXED);
			stop_at = now;
		}
		if (stop_at) {
			if (__atomic_load_n(&g_sh->ndone, __ATOMIC_ACQUIRE) == (uint32_t)g_nprod)
				break;
			if (now - stop_at > 20000000000ull) {
				fprintf(stderr, "only %u of %d producers stopped\n",
					__atomic_load_n(&g_sh->ndone, __ATOMIC_ACQUIRE), g_nprod);
				CHECK(!"producers stop");
			}
		}
		if (procs) { /* a crashed child never reports done */
			int status;
			pid_t w = waitpid(-1, &status, WNOHANG);
			if (w > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
				fprintf(stderr, "producer process %d died: %s %d\n", (int)w,
					WIFEXITED(status) ? "exit" : "signal",
					WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				CHECK(!"producer processes succeed");
			}
			if (w > 0) /* reaped: mark it so the final wait skips it */
				for (int i = 0; i < g_nprod; i++)
					if (pid[i] == w)
						pid[i] = 0;
		}
	}
	for (int i = 0; i < g_nprod; i++) {
		if (!is_proc[i]) {
			CHECK_EQ(pthread_join(tid[i], NULL), 0);
		} else if (pid[i]) {
			int status;
			CHECK_EQ(waitpid(pid[i], &status, 0), pid[i]);
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	}

	/* Drain what is left: every producer has committed everything. */
	for (int i = 0; i < 1000 && ringbuf_query(g_rb, RINGBUF_AVAIL_DATA); i++)
		consume_call(cs, 0);
	CHECK_EQ(ringbuf_query(g_rb, RINGBUF_AVAIL_DATA), 0);
	cs->cancel_ret = 0; /* no cancelling: the last call must deliver 0 */
	CHECK_EQ(ringbuf_consume(g_rb, consume_cb, cs), 0);
	CHECK_EQ(ringbuf_query(g_rb, RINGBUF_CONS_POS), ringbuf_query(g_rb, RINGBUF_PROD_POS));

	uint64_t sub = 0, disc = 0, again = 0, bytes = 0;
	for (int i = 0; i < g_nprod; i++) {
		struct report *rep = &g_sh->rep[i];
		CHECK_EQ(rep->done, 1);
		if (cs->next[i] != rep->submitted)
			fprintf(stderr, "producer %d: consumed %llu of %llu records\n", i,
				(unsigned long long)cs->next[i],
				(unsigned long long)rep->submitted);
		CHECK_EQ(cs->next[i], rep->submitted);
		CHECK_EQ(cs->bytes[i], rep->bytes);
		CHECK(rep->submitted > 0);
		sub += rep->submitted;
		disc += rep->discarded;
		again += rep->eagain;
		bytes += rep->bytes;
	}
	CHECK_EQ(cs->records, sub);
	CHECK_EQ(cs->total_bytes, bytes);
	CHECK(disc > 0);

	/* The meta page's identity is untouched, and so is overwrite_pos. */
	size_t P = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 3 * P, PROT_READ, MAP_SHARED, ringbuf_fd(g_rb), 0);
	CHECK(map != MAP_FAILED);
	const struct ringbuf_shm_meta *meta = (const void *)map;
	const struct ringbuf_shm_producer *pp =
		(const void *)(map + RINGBUF_SHM_PRODUCER_PAGE * P);
	CHECK_EQ(meta->magic, RINGBUF_MAGIC);
	CHECK_EQ(meta->version, RINGBUF_LAYOUT_VERSION);
	CHECK_EQ(meta->page_size, P);
	CHECK_EQ(meta->data_size, RING_SIZE);
	CHECK_EQ(meta->flags, 0);
	CHECK_EQ(meta->lock_owner, 0);
	CHECK_EQ(pp->overwrite_pos, 0);
	CHECK_EQ(pp->producer_pos % 8, 0);
	CHECK(pp->producer_pos - pp->pending_pos <= RING_SIZE);
	munmap(map, 3 * P);

	double el = (double)(t_now_ns() - t0) / 1e9;
	alarm(0);
	printf("stress %-7s: %d producers, %llu records (%llu discarded), %.1f MiB, "
	       "%llu EAGAIN retries, %llu cancels, %llu laps of the ring, %.2f s\n",
	       mode_name[mode], g_nprod, (unsigned long long)sub,
	       (unsigned long long)disc, (double)bytes / (1 << 20), (unsigned long long)again,
	       (unsigned long long)cs->cancels,
	       (unsigned long long)(ringbuf_query(g_rb, RINGBUF_PROD_POS) / RING_SIZE), el);
	fflush(stdout);
	ringbuf_free(g_rb);
	g_rb = NULL;
	free(cs);
}

static void usage(void)
{
	fprintf(stderr, "usage: t_stress [-d SECONDS] [-n PRODUCERS] "
			"[-m threads|procs|wakeup|all] [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double secs = 1.8;
	const char *mode = "all";
	const char *e = getenv("STRESS_SECONDS");
	int opt;

	if (e && *e)
		secs = strtod(e, NULL);
	e = getenv("STRESS_SEED");
	g_seed = e && *e ? strtoull(e, NULL, 0) : (uint64_t)t_now_ns();
	while ((opt = getopt(argc, argv, "d:n:m:s:")) != -1) {
		switch (opt) {
		case 'd': secs = strtod(optarg, NULL); break;
		case 'n': g_nprod = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 's': g_seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (secs <= 0 || g_nprod < 1 || g_nprod > MAXPROD)
		usage();
	bool all = !strcmp(mode, "all");
	bool run[3] = { all || !strcmp(mode, "threads"), all || !strcmp(mode, "procs"),
			all || !strcmp(mode, "wakeup") };
	if (!run[0] && !run[1] && !run[2])
		usage();
	if (!g_seed)
		g_seed = 1;
	fprintf(stderr, "t_stress: seed %llu (STRESS_SEED / -s to repeat the draws)\n",
		(unsigned long long)g_seed);

	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	CHECK(g_sh != MAP_FAILED);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_watchdog);

	for (int m = M_THREADS; m <= M_WAKEUP; m++)
		if (run[m])
			run_mode((enum mode)m, secs);
	return T_PASS;
}
