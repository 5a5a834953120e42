/* SPDX-License-Identifier: MIT */
/*
 * t_hostile -- a hostile peer scribbling on a ring that is in full use
 * (docs/protocol.md, section 8), everything running at once:
 *
 *   - producer threads in this process and forked producer processes
 *     (output, reserve+submit, reserve+discard, random sizes and wakeup
 *     flags, now and then a record that can never fit);
 *   - a consumer thread looping on ringbuf_poll/consume/consume_n;
 *   - a forked "hostile" process that maps ringbuf_fd() itself (MAP_SHARED)
 *     and, for STRESS_SECONDS (default 2 s), writes random values into
 *     consumer_pos, producer_pos, pending_pos, record headers (len and
 *     pg_off) and payload bytes, at random intervals.
 *
 * t_corrupt checks each corruption alone and single-threaded; this test
 * checks that they are survived while producers and the consumer run.
 * Everyone must survive: no crash (children's exit status), no hang (an
 * alarm() watchdog in every process, and every participant must come back
 * from its library call when asked to pause), only documented returns
 * (output: 0/-EAGAIN/-E2BIG/-EBADMSG, -E2BIG exactly for sizes that never
 * fit; reserve: the same as errno; consume/poll: >= 0, -EBADMSG or the
 * callback's own value), every delivered and reserved record inside this
 * process's data mapping (both copies: [data, data + 2 * size), header
 * 8-aligned in the first copy), and the corruption reported: the consumer
 * sees -EBADMSG at least once.
 *
 * Then the repair: the hostile has exited, producers and consumer are
 * paused between calls, and the test sets consumer_pos = producer_pos =
 * pending_pos to one 8-aligned value (half the seeds: just below 2^64, so
 * the verified phase wraps the positions).  Every producer then sends a
 * verified batch (id, seq, len, checksum, canary; some discarded) and the
 * consumer must receive exactly every submitted record, in per-producer
 * order, intact, with no -EBADMSG; at the end consumer_pos == producer_pos.
 *
 *   t_hostile [-d SECONDS] [-t THREADS] [-p PROCS] [-s SEED]
 *   env STRESS_SECONDS (duration of the hostile phase), STRESS_SEED.
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
#define MAXPROD     16
#define VERIFY_N    3000        /* verified records per producer after repair */
#define VREC_MIN    20          /* struct vrec + canary */
#define DISCARD_TAG 0x80000000u

enum phase { PH_CHAOS, PH_PAUSE, PH_VERIFY, PH_STOP };

/* Under ThreadSanitizer, producer threads sit out the hostile phase: a
 * hostile peer can make a producer write a record the consumer thread is
 * reading, a race TSan would rightly report, but one the hostile caused
 * (forked producers are invisible to TSan).  And producer processes sit out
 * the verified phase: they share the reservation lock (and the consumer
 * position cached under it) with the threads, a synchronisation TSan cannot
 * see across processes.  (T_TSAN: test.h) */

/* Per-producer counters, written by the producer only. */
struct pstat {
	uint64_t calls, ok, eagain, e2big, ebadmsg, einval_commit;
	uint64_t vsubmitted, vbytes, vdiscarded;
	uint64_t vspan;  /* ring bytes of the verified batch, discards included */
	uint32_t paused; /* acknowledged the pause request */
	uint32_t vdone;  /* finished its verified batch */
	uint32_t vwant;  /* records it sends in the verified batch */
	uint8_t _pad[64 - 20];
};

/* Shared by everyone (MAP_SHARED, so forked children see it too). */
struct shared {
	uint32_t phase;
	uint32_t cons_paused;
	uint32_t hostile_done;
	uint32_t _pad0;
	uint64_t badmsg_seen;  /* consumer: -EBADMSG returns */
	uint64_t scribbles;    /* hostile: writes made */
	uint8_t _pad[64 - 32];
	struct pstat ps[MAXPROD];
};

struct vrec {
	uint32_t id;   /* producer id, | DISCARD_TAG in discarded records */
	uint32_t seq;
	uint32_t len;  /* total record size */
	uint32_t csum; /* t_fnv1a over [16, len) */
};

static struct ringbuf *g_rb;
static struct shared *g_sh;
static uint8_t *g_lib_data; /* this process's (and its children's) data mapping */
static size_t g_ds;
static size_t g_page;
static uint64_t g_seed;
static double g_secs = 2.0;
static int g_nthreads = 2, g_nprocs = 2;
static __thread const char *g_who = "main";

/* Everyone reports failures with the seed, so a run can be repeated. */
#define HCHECK(cond)                                                             \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: %s: check failed: %s (STRESS_SEED=%llu)\n", \
				__FILE__, __LINE__, g_who, #cond,                \
				(unsigned long long)g_seed);                     \
			exit(T_FAIL);                                            \
		}                                                                \
	} while (0)

static uint32_t phase_get(void)
{
	return __atomic_load_n(&g_sh->phase, __ATOMIC_ACQUIRE);
}

static void phase_set(uint32_t ph)
{
	__atomic_store_n(&g_sh->phase, ph, __ATOMIC_RELEASE);
}

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static void on_alarm(int sig)
{
	static const char msg[] = "t_hostile: watchdog: no progress (a library call "
				  "looping on corrupt state?) in ";
	static const char *const ph[] = { "hostile phase", "pause", "verified phase",
					  "stop" };
	const char *who = g_who, *in = g_sh ? ph[phase_get() & 3] : "setup";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, who, strlen(who)) < 0 ||
	    write(2, ", during ", 9) < 0 || write(2, in, strlen(in)) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

static void watchdog(unsigned secs)
{
	signal(SIGALRM, on_alarm);
	alarm(secs);
}

static bool never_fits(uint64_t size)
{
	return size > UINT32_MAX / 4 || ((size + RINGBUF_HDR_SZ + 7) & ~7ULL) >= g_ds;
}

static uint32_t canary_of(uint32_t id, uint32_t seq)
{
	return (id * 0x9E3779B1u) ^ (seq * 0x85EBCA77u) ^ 0x7E57AB1Eu;
}

/* ------------------------------------------------------------------------
 * Producers
 * ------------------------------------------------------------------------ */

static const uint64_t wake_flags[3] = { 0, RINGBUF_NO_WAKEUP, RINGBUF_FORCE_WAKEUP };

/* One producer call while the hostile scribbles: only documented results. */
static void chaos_op(struct pstat *ps, uint64_t *rng)
{
	static __thread uint8_t src[4096];
	uint64_t r = t_rand(rng);
	uint64_t size, flags = wake_flags[(r >> 8) % 3];
	long ret;

	switch (r % 32) {
	case 0: size = g_ds - 8 + t_rand(rng) % 64; break;       /* never fits */
	case 1: size = (uint64_t)UINT32_MAX / 4 + 1 + t_rand(rng) % 8; break;
	case 2: case 3: size = t_rand(rng) % (g_ds / 4); break; /* large */
	default: size = t_rand(rng) % 512; break;
	}
	ps->calls++;
	if ((r >> 16) % 2 == 0 && size <= sizeof(src)) {
		memset(src, (int)(r >> 24), (size_t)size);
		ret = ringbuf_output(g_rb, src, size, flags);
	} else {
		uint8_t *p;

		errno = 0;
		p = ringbuf_reserve(g_rb, size, 0);
		ret = p ? 0 : -errno;
		if (p) {
			HCHECK(rv_in_ring(g_lib_data, g_ds, p, size));
			memset(p, (int)(r >> 24), (size_t)size);
			/* The hostile may have rewritten our BUSY header:
			 * then the commit is refused with EINVAL, harmlessly. */
			errno = 0;
			if ((r >> 20) % 4 == 0)
				ringbuf_discard(p, flags);
			else
				ringbuf_submit(p, flags);
			if (errno == EINVAL)
				ps->einval_commit++;
		}
	}
	if (ret != 0 && ret != -EAGAIN && ret != -E2BIG && ret != -EBADMSG)
		fprintf(stderr, "%s: producer call (size %llu) returned %ld\n", g_who,
			(unsigned long long)size, ret);
	HCHECK(ret == 0 || ret == -EAGAIN || ret == -E2BIG || ret == -EBADMSG);
	/* Sizes are checked before positions: corruption cannot change it. */
	HCHECK((ret == -E2BIG) == never_fits(size));
	switch (ret) {
	case 0: ps->ok++; break;
	case -EAGAIN: ps->eagain++; break;
	case -E2BIG: ps->e2big++; break;
	default: ps->ebadmsg++; break;
	}
	if (ret != 0 && r % 4 == 0)
		sched_yield();
}

static void vfill(uint8_t *p, uint32_t id, uint32_t seq, uint32_t len, bool discard,
		  uint64_t *rng)
{
	struct vrec h = { .id = id | (discard ? DISCARD_TAG : 0), .seq = seq, .len = len };
	uint32_t canary = canary_of(id, seq);

	for (size_t i = sizeof(h); i < len - 4; i++)
		p[i] = (uint8_t)t_rand(rng);
	memcpy(p + len - 4, &canary, 4);
	h.csum = t_fnv1a(p + sizeof(h), len - sizeof(h));
	memcpy(p, &h, sizeof(h));
}

/* After the repair: a verified batch, every call must succeed or -EAGAIN. */
static void verify_batch(uint32_t id, struct pstat *ps, uint64_t *rng)
{
	static __thread uint8_t buf[2048];
	uint32_t seq = 0;
	uint64_t t0 = t_now_ns();

	while (seq < ps->vwant) {
		uint64_t r = t_rand(rng);
		uint32_t len = VREC_MIN + (uint32_t)(t_rand(rng) % (sizeof(buf) - VREC_MIN));
		uint64_t flags = wake_flags[(r >> 8) % 3];
		int kind = (int)(r % 8); /* 0 discard, 1-3 output, else submit */

		if (r % 4 != 0)
			len = VREC_MIN + (uint32_t)(t_rand(rng) % 200);
		if (kind >= 1 && kind <= 3)
			vfill(buf, id, seq, len, false, rng);
		for (;;) {
			long ret;
			if (kind >= 1 && kind <= 3) {
				ret = ringbuf_output(g_rb, buf, len, flags);
			} else {
				uint8_t *p;
				errno = 0;
				p = ringbuf_reserve(g_rb, len, 0);
				ret = p ? 0 : -errno;
				if (p) {
					HCHECK(rv_in_ring(g_lib_data, g_ds, p, len));
					vfill(p, id, seq, len, kind == 0, rng);
					errno = 0;
					if (kind == 0)
						ringbuf_discard(p, flags);
					else
						ringbuf_submit(p, flags);
					HCHECK(errno != EINVAL);
				}
			}
			if (ret == 0)
				break;
			if (ret != -EAGAIN)
				fprintf(stderr, "%s: after the repair, a producer call returned "
						"%ld\n", g_who, ret);
			HCHECK(ret == -EAGAIN);
			HCHECK(t_now_ns() - t0 < 20000000000ull); /* the consumer drains */
			sched_yield();
		}
		ps->vspan += (len + RINGBUF_HDR_SZ + 7) & ~7u;
		if (kind == 0) {
			ps->vdiscarded++;
		} else {
			seq++;
			ps->vsubmitted++;
			ps->vbytes += len;
		}
	}
	__atomic_store_n(&ps->vdone, 1, __ATOMIC_RELEASE);
}

static void produce(uint32_t id, bool chaos)
{
	struct pstat *ps = &g_sh->ps[id];
	uint64_t rng = g_seed ^ ((uint64_t)(id + 1) * 0x9E3779B97F4A7C15ULL);

	if (!rng)
		rng = 1;
	for (;;) {
		switch (phase_get()) {
		case PH_CHAOS:
			if (chaos) {
				chaos_op(ps, &rng);
			} else {
				ps->calls++;
				nap_us(1000);
			}
			break;
		case PH_PAUSE:
			/* Between calls: no reservation outstanding. */
			if (!__atomic_load_n(&ps->paused, __ATOMIC_RELAXED))
				__atomic_store_n(&ps->paused, 1, __ATOMIC_RELEASE);
			nap_us(200);
			break;
		case PH_VERIFY:
			if (!__atomic_load_n(&ps->vdone, __ATOMIC_ACQUIRE))
				verify_batch(id, ps, &rng);
			else
				nap_us(200);
			break;
		default:
			return;
		}
	}
}

static void *producer_thread(void *arg)
{
	produce((uint32_t)(uintptr_t)arg, !T_TSAN);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Consumer
 * ------------------------------------------------------------------------ */

struct cstate {
	int verify;           /* checks content (after the repair) */
	int nprod;
	uint64_t rng;
	uint64_t calls, delivered, cancels, badmsg;
	uint64_t vrecords, vbytes;
	uint64_t next[MAXPROD];
	uint64_t bytes[MAXPROD];
};

static int consume_cb(void *ctx, void *data, size_t size)
{
	struct cstate *cs = ctx;
	const uint8_t *p = data;

	HCHECK(rv_in_ring(g_lib_data, g_ds, p, size));
	cs->delivered++;
	if (cs->verify) {
		struct vrec h;
		uint32_t canary;

		HCHECK(size >= VREC_MIN);
		memcpy(&h, p, sizeof(h));
		if (h.id & DISCARD_TAG)
			fprintf(stderr, "discarded record of producer %u seq %u delivered\n",
				h.id & ~DISCARD_TAG, h.seq);
		HCHECK(!(h.id & DISCARD_TAG));
		HCHECK(h.id < (uint32_t)cs->nprod);
		HCHECK(h.len == size);
		if (h.seq != cs->next[h.id])
			fprintf(stderr, "producer %u: seq %u, expected %llu\n", h.id, h.seq,
				(unsigned long long)cs->next[h.id]);
		HCHECK(h.seq == cs->next[h.id]);
		memcpy(&canary, p + size - 4, 4);
		HCHECK(canary == canary_of(h.id, h.seq));
		HCHECK(t_fnv1a(p + sizeof(h), size - sizeof(h)) == h.csum);
		cs->next[h.id]++;
		cs->bytes[h.id] += size;
		cs->vrecords++;
		cs->vbytes += size;
	} else {
		/* Corrupt or not, every byte of it must be readable. */
		volatile uint32_t sink = t_fnv1a(p, size);
		(void)sink;
	}
	if (t_rand(&cs->rng) % 512 == 0) {
		cs->cancels++;
		return -ECANCELED;
	}
	return 0;
}

static void consume_once(struct cstate *cs)
{
	uint64_t r = t_rand(&cs->rng);
	int ret;

	cs->calls++;
	if (r % 8 == 0)
		ret = ringbuf_consume(g_rb, consume_cb, cs);
	else if (r % 8 == 1)
		ret = ringbuf_consume_n(g_rb, consume_cb, cs, (size_t)(1 + (r >> 8) % 16));
	else
		ret = ringbuf_poll(g_rb, consume_cb, cs, (r >> 8) % 4 == 0 ? 0 : 2);
	if (ret < 0 && ret != -ECANCELED && !(ret == -EBADMSG && !cs->verify))
		fprintf(stderr, "%s: consume/poll returned %d\n", g_who, ret);
	HCHECK(ret >= 0 || ret == -ECANCELED || (ret == -EBADMSG && !cs->verify));
	if (ret == -EBADMSG) {
		if (r % 4 == 0)
			sched_yield();
		cs->badmsg++;
		__atomic_store_n(&g_sh->badmsg_seen, cs->badmsg, __ATOMIC_RELAXED);
	}
}

static void *consumer_thread(void *arg)
{
	struct cstate *cs = arg;
	uint64_t want = 0;

	for (int i = 0; i < cs->nprod; i++)
		want += g_sh->ps[i].vwant;

	g_who = "consumer";
	for (;;) {
		uint32_t ph = phase_get();

		if (ph == PH_STOP)
			break;
		if (ph == PH_PAUSE) {
			__atomic_store_n(&g_sh->cons_paused, 1, __ATOMIC_RELEASE);
			nap_us(200);
			continue;
		}
		cs->verify = ph == PH_VERIFY;
		consume_once(cs);
		if (cs->verify && cs->vrecords == want)
			break; /* main checks that nothing more comes */
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * The hostile peer
 * ------------------------------------------------------------------------ */

struct hview {
	uint64_t *cons, *prod, *pend;
	uint8_t *data;
};

static uint64_t hld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void hst(uint64_t *p, uint64_t x)
{
	__atomic_store_n(p, x, __ATOMIC_RELAXED);
}

static struct ringbuf_hdr *hhdr(struct hview *v, uint64_t pos)
{
	return (struct ringbuf_hdr *)(v->data + (pos & (g_ds - 1) & ~7ULL));
}

static uint64_t hostile_pos(struct hview *v, uint64_t *rng)
{
	uint64_t r = t_rand(rng);
	uint64_t near = hld((r >> 8) % 3 == 0 ? v->cons : (r >> 8) % 3 == 1 ? v->prod : v->pend);

	switch (r % 10) {
	case 0: return t_rand(rng);                                  /* anything */
	case 1: return near + (t_rand(rng) % 64) - 32;               /* misaligned */
	case 2: return near + g_ds + (t_rand(rng) % 8) * 8;          /* a ring ahead */
	case 3: return near - g_ds - (t_rand(rng) % 8) * 8;          /* a ring behind */
	case 4: return near - ((t_rand(rng) % 64) * 8);              /* backwards */
	case 5: return 0;
	default: return near + (t_rand(rng) % (g_ds / 8)) * 8;       /* plausible */
	}
}

static void scribble(struct hview *v, uint64_t *rng)
{
	uint64_t r = t_rand(rng);
	uint64_t cons = hld(v->cons), prod = hld(v->prod);

	switch (r % 14) {
	case 12: case 13: { /* "heal": consistent positions, so records flow
			     * between the scribbles (outstanding reservations
			     * may be overrun: the peer is hostile after all) */
		uint64_t x = ((r >> 8) % 2 ? prod : cons) & ~7ULL;
		hst(v->pend, x);
		hst(v->prod, x);
		hst(v->cons, x);
		break;
	}
	case 0: case 1:
		hst(v->cons, hostile_pos(v, rng));
		break;
	case 2: case 3:
		hst(v->prod, hostile_pos(v, rng));
		break;
	case 4:
		hst(v->pend, hostile_pos(v, rng));
		break;
	case 5: case 6: case 7: { /* a header len, between cons and prod or near */
		uint64_t span = (prod - cons) & (g_ds - 1);
		uint64_t pos = cons + (t_rand(rng) % (span / 8 + 4)) * 8;
		uint32_t len;

		switch ((r >> 8) % 5) {
		case 0: len = (uint32_t)t_rand(rng); break;
		case 1: len = (uint32_t)(t_rand(rng) % 256); break;
		case 2: len = (uint32_t)(t_rand(rng) % (2 * g_ds)); break;
		case 3: len = (uint32_t)g_ds; break; /* runs past any producer_pos */
		default: len = (uint32_t)(prod - pos) + (uint32_t)(t_rand(rng) % 16) - 8; break;
		}
		if ((r >> 12) % 2)
			len |= (uint32_t)((r >> 16) % 4) << 30; /* BUSY / DISCARD bits */
		__atomic_store_n(&hhdr(v, pos)->len, len, __ATOMIC_RELAXED);
		break;
	}
	case 8: /* the header at consumer_pos: too long, a sure -EBADMSG */
		__atomic_store_n(&hhdr(v, cons)->len, (uint32_t)g_ds + 8 * (uint32_t)(r >> 40 & 7),
				 __ATOMIC_RELAXED);
		break;
	case 9: /* pg_off */
		__atomic_store_n(&hhdr(v, cons + (t_rand(rng) % 64) * 8)->pg_off,
				 (uint32_t)t_rand(rng), __ATOMIC_RELAXED);
		break;
	default: { /* payload bytes, anywhere */
		uint64_t off = t_rand(rng) % (g_ds - 64);
		size_t n = 1 + (size_t)(t_rand(rng) % 64);
		for (size_t i = 0; i < n; i++)
			__atomic_store_n(&v->data[off + i], (uint8_t)t_rand(rng), __ATOMIC_RELAXED);
		break;
	}
	}
	__atomic_fetch_add(&g_sh->scribbles, 1, __ATOMIC_RELAXED);
}

static void hostile(int fd)
{
	uint64_t rng = g_seed ^ 0xBADC0FFEE0DDF00DULL;
	size_t len = 3 * g_page + g_ds;
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct hview v;

	HCHECK(map != MAP_FAILED);
	v.cons = (uint64_t *)(map + RINGBUF_SHM_CONSUMER_PAGE * g_page);
	v.prod = (uint64_t *)(map + RINGBUF_SHM_PRODUCER_PAGE * g_page);
	v.pend = v.prod + 1;
	v.data = map + RINGBUF_SHM_DATA_PAGE * g_page;

	uint64_t t0 = t_now_ns(), end = t0 + (uint64_t)(g_secs * 1e9);
	while (t_now_ns() < end) {
		uint64_t r = t_rand(&rng);
		/* bursts of writes, then random pauses */
		int burst = (int)(r % 16 == 0 ? 1 + (r >> 8) % 32 : 1);
		for (int i = 0; i < burst; i++)
			scribble(&v, &rng);
		switch ((r >> 16) % 4) {
		case 0: break;
		case 1: sched_yield(); break;
		case 2: nap_us((long)((r >> 24) % 50)); break;
		default: nap_us((long)((r >> 24) % 500)); break;
		}
	}
	/* Make sure the consumer has met corruption at least once: a
	 * misaligned consumer_pos is a sure -EBADMSG (the consumer never
	 * publishes from a state it rejects). */
	for (int i = 0; i < 2000 && !__atomic_load_n(&g_sh->badmsg_seen, __ATOMIC_RELAXED); i++) {
		hst(v.cons, hld(v.cons) | 3);
		nap_us(1000);
	}
	munmap(map, len);
	__atomic_store_n(&g_sh->hostile_done, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------
 * Main
 * ------------------------------------------------------------------------ */

static void child_status(pid_t pid, int status, const char *what)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFSIGNALED(status))
		fprintf(stderr, "%s process %d killed by signal %d (%s)\n", what, (int)pid,
			WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "%s process %d exited with status %d\n", what, (int)pid,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	HCHECK(!"child processes survive");
}

/* Reap any child that ended early: producer processes must not end before
 * PH_STOP, and none may crash. */
static void check_children(pid_t *pids, int n, pid_t hpid, bool *hostile_reaped)
{
	int status;
	pid_t w;

	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		if (w == hpid) {
			child_status(w, status, "hostile");
			*hostile_reaped = true;
			continue;
		}
		child_status(w, status, "producer");
		for (int i = 0; i < n; i++)
			if (pids[i] == w)
				pids[i] = 0;
		HCHECK(!"producer processes run until told to stop");
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: t_hostile [-d SECONDS] [-t THREADS] [-p PROCS] [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *e = getenv("STRESS_SECONDS");
	int opt;

	if (e && *e)
		g_secs = strtod(e, NULL);
	e = getenv("STRESS_SEED");
	g_seed = e && *e ? strtoull(e, NULL, 0) : t_now_ns();
	while ((opt = getopt(argc, argv, "d:t:p:s:")) != -1) {
		switch (opt) {
		case 'd': g_secs = strtod(optarg, NULL); break;
		case 't': g_nthreads = atoi(optarg); break;
		case 'p': g_nprocs = atoi(optarg); break;
		case 's': g_seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!(g_secs > 0) || g_nthreads < 0 || g_nprocs < 0 || g_nthreads + g_nprocs < 1 ||
	    g_nthreads + g_nprocs > MAXPROD)
		usage();
	if (!g_seed)
		g_seed = 1;
	fprintf(stderr, "t_hostile: seed %llu (STRESS_SEED / -s to repeat the draws)\n",
		(unsigned long long)g_seed);
	if (T_TSAN && g_nthreads)
		fprintf(stderr, "t_hostile: ThreadSanitizer: producer threads sit out the "
				"hostile phase, processes the verified one\n");
	int nprod = g_nthreads + g_nprocs;
	uint64_t vtotal = 0;
	/* The whole run: hostile phase, repair, verified batches. */
	unsigned budget = (unsigned)g_secs + 30;
	watchdog(budget);
	signal(SIGPIPE, SIG_IGN);
	g_page = (size_t)sysconf(_SC_PAGESIZE);

	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	HCHECK(g_sh != MAP_FAILED);
	memset(g_sh, 0, sizeof(*g_sh));
	for (int i = 0; i < nprod; i++) {
		g_sh->ps[i].vwant = T_TSAN && g_nthreads && i >= g_nthreads ? 0 : VERIFY_N;
		vtotal += g_sh->ps[i].vwant;
	}

	g_rb = ringbuf_new(RING_SIZE, NULL);
	HCHECK(g_rb != NULL);
	g_ds = (size_t)ringbuf_query(g_rb, RINGBUF_RING_SIZE);
	HCHECK(g_ds == RING_SIZE);
	int fd = ringbuf_fd(g_rb);
	HCHECK(fd >= 0);

	/* Locate this process's data mapping from a reservation at a known
	 * position (forked children inherit the same addresses). */
	g_lib_data = rv_lib_data(g_rb, g_ds);
	HCHECK(g_lib_data != NULL);

	/* Our own mapping, for the repair. */
	uint8_t *map = mmap(NULL, 3 * g_page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	HCHECK(map != MAP_FAILED);
	uint64_t *cons_pos = (uint64_t *)(map + RINGBUF_SHM_CONSUMER_PAGE * g_page);
	uint64_t *prod_pos = (uint64_t *)(map + RINGBUF_SHM_PRODUCER_PAGE * g_page);
	uint64_t *pend_pos = prod_pos + 1, *over_pos = prod_pos + 2;
	const struct ringbuf_shm_meta *meta = (const void *)map;

	/* Processes first: never fork with threads running. */
	pid_t parent = getpid(), pids[MAXPROD] = { 0 }, hpid;
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < g_nprocs; i++) {
		pids[i] = fork();
		HCHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(3);
			g_who = "producer process";
			watchdog(budget);
			produce((uint32_t)(g_nthreads + i), true);
			_exit(0);
		}
	}
	hpid = fork();
	HCHECK(hpid >= 0);
	if (hpid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(3);
		g_who = "hostile";
		watchdog(budget);
		hostile(fd);
		_exit(0);
	}

	struct cstate *cs = calloc(1, sizeof(*cs));
	HCHECK(cs != NULL);
	cs->nprod = nprod;
	cs->rng = g_seed ^ 0xD1B54A32D192ED03ULL;
	if (!cs->rng)
		cs->rng = 1;
	pthread_t tid[MAXPROD], ctid;
	for (int i = 0; i < g_nthreads; i++)
		HCHECK(pthread_create(&tid[i], NULL, producer_thread, (void *)(uintptr_t)i) == 0);
	HCHECK(pthread_create(&ctid, NULL, consumer_thread, cs) == 0);

	/* Phase 1: the hostile scribbles; everyone else keeps going. */
	uint64_t t0 = t_now_ns();
	bool hostile_reaped = false;
	while (!hostile_reaped) {
		check_children(pids, g_nprocs, hpid, &hostile_reaped);
		HCHECK(t_now_ns() - t0 < (uint64_t)((g_secs + 10) * 1e9));
		nap_us(20000);
	}
	HCHECK(__atomic_load_n(&g_sh->hostile_done, __ATOMIC_ACQUIRE));
	uint64_t t_chaos = t_now_ns();

	/* Phase 2: pause everyone between calls.  A participant that does not
	 * come back from its library call within 5 s is stuck in it. */
	phase_set(PH_PAUSE);
	for (;;) {
		int n = 0;
		for (int i = 0; i < nprod; i++)
			n += (int)__atomic_load_n(&g_sh->ps[i].paused, __ATOMIC_ACQUIRE);
		if (n == nprod && __atomic_load_n(&g_sh->cons_paused, __ATOMIC_ACQUIRE))
			break;
		check_children(pids, g_nprocs, hpid, &hostile_reaped);
		if (t_now_ns() - t_chaos > 5000000000ull) {
			for (int i = 0; i < nprod; i++)
				if (!g_sh->ps[i].paused)
					fprintf(stderr, "producer %d is stuck in a library call\n", i);
			if (!g_sh->cons_paused)
				fprintf(stderr, "the consumer is stuck in a library call\n");
			HCHECK(!"every participant returns from its calls");
		}
		nap_us(1000);
	}
	HCHECK(cs->badmsg > 0); /* the consumer met the corruption */

	/* Repair: all three positions at one 8-aligned value; half the seeds
	 * just below 2^64, so the verified batches wrap the positions. */
	uint64_t rng = g_seed ^ 0x94D049BB133111EBULL;
	uint64_t x = t_rand(&rng);
	if (x % 2)
		x = 0 - 3 * (uint64_t)g_ds + (x >> 8) % g_ds;
	x &= ~7ULL;
	__atomic_store_n(cons_pos, x, __ATOMIC_RELEASE);
	__atomic_store_n(pend_pos, x, __ATOMIC_RELEASE);
	__atomic_store_n(prod_pos, x, __ATOMIC_RELEASE);
	HCHECK(ringbuf_query(g_rb, RINGBUF_AVAIL_DATA) == 0);
	HCHECK(ringbuf_query(g_rb, RINGBUF_CONS_POS) == x);

	/* Phase 3: verified batches from every producer. */
	uint64_t t_verify = t_now_ns();
	phase_set(PH_VERIFY);
	HCHECK(pthread_join(ctid, NULL) == 0);
	/* The consumer may take a last record before its producer says so. */
	for (int i = 0; i < nprod; i++)
		while (!__atomic_load_n(&g_sh->ps[i].vdone, __ATOMIC_ACQUIRE)) {
			check_children(pids, g_nprocs, hpid, &hostile_reaped);
			HCHECK(t_now_ns() - t_verify < 20000000000ull);
			nap_us(1000);
		}
	phase_set(PH_STOP);
	for (int i = 0; i < g_nthreads; i++)
		HCHECK(pthread_join(tid[i], NULL) == 0);
	for (int i = 0; i < g_nprocs; i++) {
		int status;
		if (!pids[i])
			continue;
		HCHECK(waitpid(pids[i], &status, 0) == pids[i]);
		child_status(pids[i], status, "producer");
	}

	/* Exactly the submitted records, nothing more. */
	uint64_t sub = 0, disc = 0, span = 0;
	for (int i = 0; i < nprod; i++) {
		struct pstat *ps = &g_sh->ps[i];
		if (cs->next[i] != ps->vsubmitted)
			fprintf(stderr, "producer %d: consumed %llu of %llu records\n", i,
				(unsigned long long)cs->next[i],
				(unsigned long long)ps->vsubmitted);
		HCHECK(cs->next[i] == ps->vsubmitted);
		HCHECK(cs->bytes[i] == ps->vbytes);
		HCHECK(ps->vsubmitted == ps->vwant);
		sub += ps->vsubmitted;
		disc += ps->vdiscarded;
		span += ps->vspan;
	}
	HCHECK(cs->vrecords == sub);
	HCHECK(sub == vtotal);
	cs->verify = 1;
	uint64_t before = cs->vrecords;
	for (int i = 0; i < 4; i++) {
		int r = ringbuf_consume(g_rb, consume_cb, cs);
		HCHECK(r == 0);
	}
	HCHECK(cs->vrecords == before);
	HCHECK(ringbuf_query(g_rb, RINGBUF_AVAIL_DATA) == 0);
	HCHECK(__atomic_load_n(cons_pos, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(prod_pos, __ATOMIC_ACQUIRE));
	HCHECK(__atomic_load_n(cons_pos, __ATOMIC_ACQUIRE) - x == span);
	HCHECK(meta->magic == RINGBUF_MAGIC);
	HCHECK(meta->lock_owner == 0);
	HCHECK(__atomic_load_n(over_pos, __ATOMIC_RELAXED) == 0);

	uint64_t calls = 0, ok = 0, again = 0, big = 0, bad = 0, einval = 0;
	for (int i = 0; i < nprod; i++) {
		struct pstat *ps = &g_sh->ps[i];
		HCHECK(ps->calls > 0); /* everyone ran during the hostile phase */
		calls += ps->calls;
		ok += ps->ok;
		again += ps->eagain;
		big += ps->e2big;
		bad += ps->ebadmsg;
		einval += ps->einval_commit;
	}
	alarm(0);
	printf("hostile: %llu scribbles in %.2f s; producers (%d threads, %d processes): "
	       "%llu calls, %llu ok, %llu EAGAIN, %llu E2BIG, %llu EBADMSG, %llu refused "
	       "commits; consumer: %llu calls, %llu records, %llu EBADMSG, %llu cancels\n",
	       (unsigned long long)g_sh->scribbles, (double)(t_chaos - t0) / 1e9, g_nthreads,
	       g_nprocs, (unsigned long long)calls, (unsigned long long)ok,
	       (unsigned long long)again, (unsigned long long)big, (unsigned long long)bad,
	       (unsigned long long)einval, (unsigned long long)cs->calls,
	       (unsigned long long)cs->delivered, (unsigned long long)cs->badmsg,
	       (unsigned long long)cs->cancels);
	printf("repair at position %#llx; verified: %llu records (%llu discarded), %.1f KiB, "
	       "%.2f s\n",
	       (unsigned long long)x, (unsigned long long)sub, (unsigned long long)disc,
	       (double)cs->vbytes / 1024, (double)(t_now_ns() - t_verify) / 1e9);
	munmap(map, 3 * g_page);
	ringbuf_free(g_rb);
	free(cs);
	return T_PASS;
}
