/* SPDX-License-Identifier: MIT */
/*
 * diff.h -- the differential test (tests/t_diff_scripts.c, t_diff_random.c): ringbuf against the kernel, step by step.
 *
 * One BPF C source, tests/bpf/script.bpf.c, is built twice: by the Makefile
 * with clang -target bpf (build/tests/bpf/script.bpf.o, run by the kernel on
 * a real BPF_MAP_TYPE_RINGBUF through BPF_PROG_TEST_RUN) and here, natively,
 * by #include (its helpers from <ringbuf_bpf.h>, its map `rb` bound to a
 * ringbuf ring of the same size).  Both sides run the same scripts and
 * everything a consumer can observe is compared after every step:
 *
 *   - every op's return code (output's, reserve's NULL-ness, query values);
 *   - whether a consumer blocked in ringbuf_poll() was woken by the step
 *     (a poller thread per side; "not woken" = still blocked in its sleeping
 *     system call after WAKE_MS, and any disagreement is re-checked with a
 *     much longer wait before it is called a divergence);
 *   - whether a freshly started ringbuf_poll() returns at once or blocks;
 *   - the record stream (sizes and bytes) delivered by ringbuf_poll() and
 *     ringbuf_consume();
 *   - ringbuf_query() for every selector, and the mapped shared memory:
 *     consumer_pos, producer_pos, pending_pos and all data bytes (headers
 *     with their BUSY/DISCARD bits and pg_off, payloads, padding).
 *
 * The kernel side's consumer is ringbuf's own (ringbuf_map_open() on the
 * kernel map), so the comparison is ringbuf producer + consumer against
 * kernel producer + ringbuf consumer.
 *
 * Environment: DIFF_ONLY=name runs one script (random scripts are named
 * random-<seed>); DIFF_SEED=n runs one extra random script with that seed;
 * DIFF_VERBOSE=1 traces every step; DIFF_AVOID_FORCE_PARKED=1: see below.  A divergence prints the script (and
 * seed), the step, the step's ops and both observations; the test then
 * starts over on fresh rings and goes on, and fails at the end.
 */
#ifndef RINGBUF_TEST_DIFF_H
#define RINGBUF_TEST_DIFF_H

/* Shared by the tests/t_diff_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test.h"
#include "kbpf.h"

/* The interpreter itself, compiled natively. */
#include "bpf/script.bpf.c"

#define RING       SCRIPT_RING_SIZE
#define WAKE_MS    25   /* a poller still asleep after this was not woken */
#define CONFIRM_MS 1000 /* more time for a runnable poller or a disagreement */
#define ARM_MS     2000 /* a started poller blocks or returns within this */
#define MAX_STEPS  512

/* ------------------------------------------------------------------------
 * Scripts
 * ------------------------------------------------------------------------ */

enum step_kind {
	ST_RUN,   /* run ops on both sides; observe an armed poller */
	ST_DRAIN, /* if parked: ringbuf_consume() on both */
	ST_ARM,   /* if parked: start ringbuf_poll(); returns at once or blocks */
	ST_SEEK,  /* if parked: drain, move producer_pos to arg mod RING, drain */
};

#define ANY (-1) /* no expectation */

struct step {
	int kind;
	int arg;
	int nops;
	struct script_op ops[SCRIPT_MAX_OPS];
	/* what the kernel is expected to do (checks the script, not ringbuf) */
	bool want_ret[SCRIPT_MAX_OPS];
	long long ret[SCRIPT_MAX_OPS];
	int want_woken; /* ST_RUN: ANY, 0 or 1; ST_ARM: ANY, 0 (blocks) or 1 */
};

struct script_def {
	const char *name;
	bool auto_rearm; /* after a wakeup (always followed by a drain), start
			  * polling again */
	int nsteps;
	struct step steps[MAX_STEPS];
};

static uint32_t next_tag = 1;

static struct step *add_step(struct script_def *d, int kind, int arg)
{
	struct step *st;

	CHECK(d->nsteps < MAX_STEPS);
	st = &d->steps[d->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->arg = arg;
	st->want_woken = ANY;
	return st;
}

static struct script_op *add_op(struct step *st, uint32_t kind)
{
	struct script_op *op;

	CHECK(st->nops < SCRIPT_MAX_OPS);
	op = &st->ops[st->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->rtag = next_tag++;
	op->otag = next_tag++;
	return op;
}

static void op_output(struct step *st, uint32_t size, uint64_t flags)
{
	struct script_op *op = add_op(st, SCRIPT_OUTPUT);

	op->osize = size;
	op->flags = flags;
}

static void op_reserve(struct step *st, uint32_t cls, uint32_t mode, uint64_t flags)
{
	struct script_op *op = add_op(st, SCRIPT_RESERVE);

	op->cls = cls;
	op->mode = mode;
	op->flags = flags;
}

/* Reserve A (class @cls), output B (@osize, @oflags) while A is BUSY, then
 * commit A (@mode & SCRIPT_DISCARD) with @flags. */
static void op_nested(struct step *st, uint32_t cls, uint32_t mode, uint64_t flags,
		      uint32_t osize, uint64_t oflags)
{
	struct script_op *op = add_op(st, SCRIPT_RESERVE);

	op->cls = cls;
	op->mode = mode | SCRIPT_NESTED;
	op->flags = flags;
	op->osize = osize;
	op->oflags = oflags;
}

static void op_rflags(struct step *st, uint64_t rflags)
{
	struct script_op *op = add_op(st, SCRIPT_RESERVE_FLAGS);

	op->oflags = rflags;
}

static void op_query(struct step *st, uint64_t sel)
{
	struct script_op *op = add_op(st, SCRIPT_QUERY);

	op->flags = sel;
}

/* Expect the kernel's result of the step's last op. */
static void want(struct step *st, long long ret)
{
	st->want_ret[st->nops - 1] = true;
	st->ret[st->nops - 1] = ret;
}

/* A one-op step. */
static struct step *run1(struct script_def *d)
{
	return add_step(d, ST_RUN, 0);
}

/* ------------------------------------------------------------------------
 * The two sides
 * ------------------------------------------------------------------------ */

/* One side's record stream, appended to by its poller thread (and by the
 * main thread's drains) and read by the main thread.  Its storage is
 * mapped up front, so the poller never calls malloc() inside
 * ringbuf_poll(): under a sanitizer, an allocator lock taken there could
 * put the thread to sleep in a futex, which must not be mistaken for the
 * ring's own sleep (see poller_blocked). */
struct rec {
	uint32_t size;
	size_t off; /* into bytes */
};

#define STREAM_RECS  (1u << 20)
#define STREAM_BYTES (64u << 20)

struct stream {
	pthread_mutex_t mu; /* only the main thread contends with the poller */
	struct rec *recs;   /* STREAM_RECS entries, mapped lazily */
	unsigned char *bytes; /* STREAM_BYTES, mapped lazily */
	size_t nrecs, used;
};

/* The poller thread of one side.  It is heap-allocated per side
 * generation: after a divergence a poller may stay blocked for ever, and
 * is then abandoned with its state and its stream while the side starts
 * over with new ones -- never reinitialised under a thread still using it. */
struct poller {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go_gen, done_gen, quit, poll_ret, tid;
	atomic_int in_poll;
	struct ringbuf *h;
	struct stream *st;
};

struct side {
	const char *name;
	bool kernel;
	struct bpf_object *obj; /* kernel */
	int prog_fd;            /* kernel */
	struct ringbuf *h;      /* the consumer handle */
	void *map_a, *map_b;    /* shared-memory views */
	size_t len_a, len_b;
	const volatile uint64_t *cons_pos, *prod_pos, *pend_pos;
	const volatile unsigned char *data;
	uintptr_t sleep_word;   /* ringbuf side: the futex word its poll sleeps on */

	struct poller *p;
	bool armed; /* the poller is in ringbuf_poll() */
	struct stream *st;
};

static struct side K = { .name = "kernel", .kernel = true };
static struct side N = { .name = "ringbuf", .kernel = false };
static long page_sz;
static bool verbose;

static struct stream *stream_new(void)
{
	struct stream *st = calloc(1, sizeof(*st));

	CHECK(st != NULL);
	pthread_mutex_init(&st->mu, NULL);
	st->recs = mmap(NULL, STREAM_RECS * sizeof(*st->recs), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	st->bytes = mmap(NULL, STREAM_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(st->recs != MAP_FAILED && st->bytes != MAP_FAILED);
	return st;
}

static int on_rec(void *ctx, void *data, size_t size)
{
	struct stream *st = ctx;
	struct rec *r;

	pthread_mutex_lock(&st->mu);
	CHECK(st->nrecs < STREAM_RECS && size <= STREAM_BYTES - st->used);
	r = &st->recs[st->nrecs++];
	r->size = (uint32_t)size;
	r->off = st->used;
	memcpy(st->bytes + st->used, data, size);
	st->used += size;
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void *poller_main(void *arg)
{
	struct poller *p = arg;

	pthread_mutex_lock(&p->mu);
	p->tid = (int)gettid();
	pthread_cond_broadcast(&p->cv);
	for (;;) {
		int r, gen;

		while (p->go_gen == p->done_gen && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		gen = p->go_gen; /* the poll this call answers */
		atomic_store(&p->in_poll, 1);
		pthread_mutex_unlock(&p->mu);
		r = ringbuf_poll(p->h, on_rec, p->st, -1);
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->in_poll, 0);
		p->poll_ret = r;
		p->done_gen = gen;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Reads /proc/self/task/TID/@what into @buf; false if it could not. */
static bool read_task_file(int tid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Is the poller asleep (state S) in the system call ringbuf_poll() sleeps
 * in?  A woken poller still waiting for a CPU is in that call too, but
 * runnable (R).  On the ringbuf side the call must be a futex wait on the
 * ring's own notify word, so a sleep on any other futex (a lock taken by a
 * sanitizer's runtime, say) is not mistaken for it; the kernel side's
 * poller makes no epoll call but the ring's. */
static bool poller_blocked(struct side *sd)
{
	struct poller *p = sd->p;
	char buf[512];
	unsigned long long uaddr = 0;
	long nr;
	char *end, *paren;

	if (!atomic_load(&p->in_poll))
		return false;
	if (!read_task_file(p->tid, "syscall", buf, sizeof(buf)))
		return false;
	nr = strtol(buf, &end, 10);
	if (end == buf)
		return false; /* "running" */
	if (!sd->kernel) {
		if (nr != SYS_futex || sscanf(end, " %llx", &uaddr) != 1 ||
		    uaddr != sd->sleep_word)
			return false;
	} else {
		bool ok = nr == SYS_epoll_pwait;
#ifdef SYS_epoll_wait
		ok = ok || nr == SYS_epoll_wait;
#endif
#ifdef SYS_epoll_pwait2
		ok = ok || nr == SYS_epoll_pwait2;
#endif
		if (!ok)
			return false;
	}
	if (!read_task_file(p->tid, "stat", buf, sizeof(buf)))
		return false;
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'S';
}

static void timespec_after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Has the armed poller returned?  Waits until @deadline at most. */
static bool poller_wait(struct side *sd, const struct timespec *deadline)
{
	struct poller *p = sd->p;
	bool done;

	pthread_mutex_lock(&p->mu);
	while (p->done_gen != p->go_gen &&
	       pthread_cond_timedwait(&p->cv, &p->mu, deadline) == 0)
		;
	done = p->done_gen == p->go_gen;
	if (done && p->poll_ret < 0) {
		fprintf(stderr, "%s side: ringbuf_poll() returned %d\n", sd->name, p->poll_ret);
		exit(T_FAIL);
	}
	pthread_mutex_unlock(&p->mu);
	if (done)
		sd->armed = false;
	return done;
}

static void poller_start(struct side *sd)
{
	pthread_condattr_t ca;
	struct poller *p = calloc(1, sizeof(*p));

	CHECK(p != NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->h = sd->h;
	p->st = sd->st;
	CHECK(pthread_create(&p->thr, NULL, poller_main, p) == 0);
	pthread_mutex_lock(&p->mu);
	while (!p->tid)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	sd->p = p;
	sd->armed = false;
}

/* Start a poll; the caller then watches it with poller_blocked/poller_wait. */
static void poller_go(struct side *sd)
{
	struct poller *p = sd->p;

	pthread_mutex_lock(&p->mu);
	p->go_gen++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	sd->armed = true;
}

/* ------------------------------------------------------------------------
 * Setting the sides up and tearing them down
 * ------------------------------------------------------------------------ */

static void side_map_kernel(struct side *sd, int map_fd)
{
	sd->len_a = (size_t)page_sz;
	sd->map_a = mmap(NULL, sd->len_a, PROT_READ, MAP_SHARED, map_fd, 0);
	CHECK(sd->map_a != MAP_FAILED);
	sd->len_b = (size_t)page_sz + 2 * RING;
	sd->map_b = mmap(NULL, sd->len_b, PROT_READ, MAP_SHARED, map_fd, page_sz);
	CHECK(sd->map_b != MAP_FAILED);
	sd->cons_pos = sd->map_a;
	sd->prod_pos = sd->map_b;
	sd->pend_pos = (const volatile uint64_t *)sd->map_b + 1;
	sd->data = (const unsigned char *)sd->map_b + page_sz;
}

/* The address of meta.notify_seq, the futex word ringbuf_poll() sleeps on,
 * in the handle's own mapping of the ring file: the mapping of file offset
 * 0 of the ring's inode that is not this test's view. */
static uintptr_t find_sleep_word(const struct side *sd)
{
	char line[512];
	struct stat sb;
	uintptr_t found = 0;
	int n = 0;
	FILE *f;

	CHECK(fstat(ringbuf_fd(sd->h), &sb) == 0);
	f = fopen("/proc/self/maps", "re");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		char perms[8], dev[16];

		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu", &start, &end, perms, &off, dev,
			   &ino) != 6)
			continue;
		if (ino != (unsigned long long)sb.st_ino || off != 0 ||
		    start == (uintptr_t)sd->map_a)
			continue;
		found = (uintptr_t)start + offsetof(struct ringbuf_shm_meta, notify_seq);
		n++;
	}
	fclose(f);
	CHECK_EQ(n, 1);
	return found;
}

/* Creation flags of the native side's ring: 0, or a mode the kernel's
 * bytes must not tell apart (RINGBUF_F_SINGLE_PRODUCER). */
static uint64_t diff_native_flags;

static void side_map_native(struct side *sd)
{
	unsigned char *base;

	sd->len_a = (size_t)(RINGBUF_SHM_DATA_PAGE * page_sz + RING);
	sd->map_a = mmap(NULL, sd->len_a, PROT_READ, MAP_SHARED, ringbuf_fd(sd->h), 0);
	CHECK(sd->map_a != MAP_FAILED);
	sd->map_b = NULL;
	base = sd->map_a;
	sd->cons_pos = (const volatile uint64_t *)(base + RINGBUF_SHM_CONSUMER_PAGE * page_sz);
	sd->prod_pos = (const volatile uint64_t *)(base + RINGBUF_SHM_PRODUCER_PAGE * page_sz);
	sd->pend_pos = sd->prod_pos + 1;
	sd->data = base + RINGBUF_SHM_DATA_PAGE * page_sz;
	sd->sleep_word = find_sleep_word(sd);
}

static void side_open(struct side *sd)
{
	if (sd->kernel) {
		struct bpf_map *map;
		struct bpf_program *prog;
		int map_fd;

		sd->obj = kbpf_load("script");
		map = bpf_object__find_map_by_name(sd->obj, "rb");
		prog = bpf_object__find_program_by_name(sd->obj, "run");
		CHECK(map != NULL && prog != NULL);
		map_fd = bpf_map__fd(map);
		sd->prog_fd = bpf_program__fd(prog);
		CHECK(map_fd >= 0 && sd->prog_fd >= 0);
		sd->h = ringbuf_map_open(map_fd, NULL);
		CHECK(sd->h != NULL);
		side_map_kernel(sd, map_fd);
	} else {
		struct ringbuf_opts o = { .sz = sizeof(o), .flags = diff_native_flags };

		sd->h = ringbuf_new(RINGBUF_BPF_MAX_ENTRIES(rb), &o);
		CHECK(sd->h != NULL);
		CHECK_EQ(ringbuf_bpf_map_bind(&rb, sd->h), 0);
		{
			struct ringbuf_stats st = { .sz = sizeof(st) };

			CHECK_EQ(ringbuf_stats(sd->h, &st), 0);
			CHECK_EQ(st.flags & RINGBUF_F_SINGLE_PRODUCER, diff_native_flags);
		}
		side_map_native(sd);
	}
	CHECK_EQ(ringbuf_query(sd->h, RINGBUF_RING_SIZE), RING);
	if (!sd->st)
		sd->st = stream_new();
	poller_start(sd);
}

static void side_clear_stream(struct side *sd)
{
	pthread_mutex_lock(&sd->st->mu);
	sd->st->nrecs = 0;
	sd->st->used = 0;
	pthread_mutex_unlock(&sd->st->mu);
}

/* Tear a side down.  A poller that is still blocked (after a divergence)
 * cannot be woken for sure: it is abandoned with its state, its stream and
 * its ring, to exit with the process; the side starts over without them. */
static void side_close(struct side *sd)
{
	struct poller *p = sd->p;
	bool stuck = sd->armed;

	sd->p = NULL;
	sd->armed = false;
	if (p && !stuck) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thr, NULL);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
	} else if (p) {
		pthread_detach(p->thr);
	}
	if (stuck) {
		sd->st = NULL; /* the abandoned poller may still append to it */
		sd->h = NULL;
		return;
	}
	if (sd->st)
		side_clear_stream(sd);
	munmap(sd->map_a, sd->len_a);
	if (sd->map_b)
		munmap(sd->map_b, sd->len_b);
	if (sd->kernel) {
		ringbuf_free(sd->h);
		bpf_object__close(sd->obj);
	} else {
		CHECK_EQ(ringbuf_bpf_map_bind(&rb, NULL), 0);
		ringbuf_free(sd->h);
	}
	sd->h = NULL;
}

#include "diff_engine.h"

#endif
