/* SPDX-License-Identifier: MIT */
/*
 * t_diff.c -- differential test: ringbuf against the kernel, step by step.
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
		sd->h = ringbuf_bpf_map_new(&rb, RINGBUF_BPF_MAX_ENTRIES(rb));
		CHECK(sd->h != NULL);
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

/* ------------------------------------------------------------------------
 * Running and comparing
 * ------------------------------------------------------------------------ */

struct ctx {
	const char *script;
	uint64_t seed; /* random scripts, else 0 */
	int step;
	const struct step *st;
	bool failed;
	int divergences;
};

static int total_failures;

static const char *kind_name(uint32_t k)
{
	static const char *const names[] = { "NOP", "OUTPUT", "RESERVE", "RESERVE_FLAGS",
					     "QUERY" };

	return k < SCRIPT_KINDS ? names[k] : "?";
}

static uint64_t class_size(uint32_t cls)
{
	switch (cls) {
#define T_CLASS_CASE(c, sz) case c: return sz;
		SCRIPT_SIZE_CLASSES(T_CLASS_CASE)
#undef T_CLASS_CASE
	default:
		return 0;
	}
}

/* Bytes a record of @size occupies (huge: never fits). */
static uint64_t rec_len(uint64_t size)
{
	return size > UINT32_MAX / 4 ? 1ULL << 40 : (size + 8 + 7) & ~7ULL;
}

static void print_op(const struct script_op *op, int i)
{
	fprintf(stderr, "      op %2d: %s", i, kind_name(op->kind));
	switch (op->kind) {
	case SCRIPT_OUTPUT:
		fprintf(stderr, " size=%u flags=%#llx", op->osize, (unsigned long long)op->flags);
		break;
	case SCRIPT_RESERVE:
		fprintf(stderr, " size=%llu (class %u) %s flags=%#llx",
			(unsigned long long)class_size(op->cls), op->cls,
			op->mode & SCRIPT_DISCARD ? "discard" : "submit",
			(unsigned long long)op->flags);
		if (op->mode & SCRIPT_NESTED)
			fprintf(stderr, "; while BUSY: output size=%u flags=%#llx", op->osize,
				(unsigned long long)op->oflags);
		break;
	case SCRIPT_RESERVE_FLAGS:
		fprintf(stderr, " reserve flags=%#llx", (unsigned long long)op->oflags);
		break;
	case SCRIPT_QUERY:
		fprintf(stderr, " selector=%#llx", (unsigned long long)op->flags);
		break;
	default:
		break;
	}
	fputc('\n', stderr);
}

static void print_step(const struct step *st)
{
	static const char *const names[] = { "RUN", "DRAIN", "ARM", "SEEK" };

	fprintf(stderr, "    step: %s", names[st->kind]);
	if (st->kind == ST_SEEK)
		fprintf(stderr, " %d", st->arg);
	fputc('\n', stderr);
	for (int i = 0; i < st->nops; i++)
		print_op(&st->ops[i], i);
}

static void print_positions(void)
{
	fprintf(stderr, "    kernel : cons %llu prod %llu pending %llu\n",
		(unsigned long long)*K.cons_pos, (unsigned long long)*K.prod_pos,
		(unsigned long long)*K.pend_pos);
	fprintf(stderr, "    ringbuf: cons %llu prod %llu pending %llu\n",
		(unsigned long long)*N.cons_pos, (unsigned long long)*N.prod_pos,
		(unsigned long long)*N.pend_pos);
}

/* Report a divergence (or a broken expectation) once per script. */
static void __attribute__((format(printf, 3, 4)))
diverge(struct ctx *c, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	fprintf(stderr, "%s in script '%s'", what, c->script);
	if (c->seed)
		fprintf(stderr, " (seed %llu)", (unsigned long long)c->seed);
	fprintf(stderr, " at step %d:\n    ", c->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->st)
		print_step(c->st);
	print_positions();
}

static void run_side(struct side *sd, struct script *s)
{
	if (sd->kernel) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = s, .ctx_size_in = sizeof(*s));

		CHECK_EQ(bpf_prog_test_run_opts(sd->prog_fd, &o), 0);
		CHECK_EQ(o.retval, 0);
	} else {
		CHECK_EQ(run(s), 0);
	}
}

/* Run @nops ops on both sides and compare their results. */
static void run_both(struct ctx *c, const struct script_op *ops, int nops,
		     const struct step *st)
{
	static struct script sk, sn;

	memset(&sk, 0, sizeof(sk));
	sk.n = (uint32_t)nops;
	memcpy(sk.ops, ops, (size_t)nops * sizeof(*ops));
	sn = sk;
	run_side(&K, &sk);
	run_side(&N, &sn);
	CHECK_EQ(sk.done, nops);
	if (sn.done != sk.done)
		diverge(c, "DIVERGENCE", "ops run: kernel %u, ringbuf %u", sk.done, sn.done);
	for (int i = 0; i < nops; i++) {
		if (sk.ret[i] == SCRIPT_BAD_OP)
			diverge(c, "SCRIPT BUG", "op %d refused by the interpreter", i);
		if (sk.ret[i] != sn.ret[i] || sk.ret2[i] != sn.ret2[i])
			diverge(c, "DIVERGENCE",
				"op %d returned: kernel %lld (inner output %lld), ringbuf %lld (inner output %lld)",
				i, (long long)sk.ret[i], (long long)sk.ret2[i],
				(long long)sn.ret[i], (long long)sn.ret2[i]);
		if (st && st->want_ret[i] && sk.ret[i] != st->ret[i])
			diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
				"op %d: kernel returned %lld, the script expects %lld", i,
				(long long)sk.ret[i], st->ret[i]);
	}
}

static void drain_side(struct side *sd, int *ret)
{
	CHECK(!sd->armed);
	*ret = ringbuf_consume(sd->h, on_rec, sd->st);
}

static void drain_both(struct ctx *c)
{
	int rk, rn;

	/* How many records a drain finds is not compared: after a wakeup
	 * sent while a record was still BUSY (a nested op), how the records
	 * split between the woken poll and this drain is timing.  The
	 * streams are compared whole. */
	drain_side(&K, &rk);
	drain_side(&N, &rn);
	if ((rk < 0 || rn < 0) && rk != rn)
		diverge(c, "DIVERGENCE", "ringbuf_consume() returned: kernel %d, ringbuf %d", rk,
			rn);
}

/* Start both pollers; compare whether each returned at once or blocked.
 * Returns the kernel's observation (1 = returned). */
static int arm_both(struct ctx *c, int want_ret)
{
	struct side *sides[2] = { &K, &N };
	int obs[2] = { -1, -1 };
	uint64_t deadline = t_now_ns() + (uint64_t)ARM_MS * 1000000ull;

	poller_go(&K);
	poller_go(&N);
	while (obs[0] < 0 || obs[1] < 0) {
		for (int i = 0; i < 2; i++) {
			struct timespec now;

			if (obs[i] >= 0)
				continue;
			timespec_after_ms(&now, 0);
			if (poller_wait(sides[i], &now))
				obs[i] = 1;
			else if (poller_blocked(sides[i]))
				obs[i] = 0;
		}
		if (t_now_ns() > deadline) {
			fprintf(stderr, "a started poller neither blocked nor returned in %d ms\n",
				ARM_MS);
			exit(T_FAIL);
		}
		if (obs[0] < 0 || obs[1] < 0)
			usleep(50);
	}
	if (obs[0] != obs[1])
		diverge(c, "DIVERGENCE",
			"a new ringbuf_poll() %s on the kernel ring but %s on the ringbuf ring",
			obs[0] ? "returned at once" : "blocked",
			obs[1] ? "returned at once" : "blocked");
	if (want_ret != ANY && obs[0] != want_ret)
		diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
			"a new ringbuf_poll() %s on the kernel ring",
			obs[0] ? "returned at once" : "blocked");
	return obs[0];
}

/* After a run with both pollers armed: were they woken?  "Not woken" means
 * still asleep after WAKE_MS; a poller that is runnable, or a disagreement,
 * gets up to CONFIRM_MS more.  Returns the kernel's observation. */
static int observe_wake(struct ctx *c, int want_woken)
{
	struct side *sides[2] = { &K, &N };
	int obs[2] = { -1, -1 };
	uint64_t t0 = t_now_ns(), wake_ns = (uint64_t)WAKE_MS * 1000000ull;
	uint64_t confirm_ns = wake_ns + (uint64_t)CONFIRM_MS * 1000000ull;

	for (;;) {
		uint64_t dt = t_now_ns() - t0;

		for (int i = 0; i < 2; i++) {
			struct timespec now;

			if (obs[i] > 0)
				continue;
			timespec_after_ms(&now, 0);
			if (poller_wait(sides[i], &now))
				obs[i] = 1;
			else if (dt >= wake_ns && poller_blocked(sides[i]))
				obs[i] = 0;
			else
				obs[i] = -1;
		}
		/* decided: both returned, or both asleep, or past the
		 * confirmation time */
		if (obs[0] >= 0 && obs[1] >= 0 && (obs[0] == obs[1] || dt >= confirm_ns))
			break;
		if (dt >= confirm_ns) {
			diverge(c, "HARNESS", "a poller neither returned nor slept for %d ms",
				WAKE_MS + CONFIRM_MS);
			return obs[0] > 0;
		}
		usleep(obs[0] < 0 || obs[1] < 0 ? 200 : 2000);
	}
	if (obs[0] != obs[1])
		diverge(c, "DIVERGENCE", "the blocked poller was %s on the kernel ring, %s on the ringbuf ring",
			obs[0] ? "woken" : "not woken", obs[1] ? "woken" : "not woken");
	if (want_woken != ANY && obs[0] != want_woken)
		diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
			"the blocked poller was %s on the kernel ring",
			obs[0] ? "woken" : "not woken");
	return obs[0];
}

static void compare_stream_locked(struct ctx *c, bool drained);

static void compare_stream(struct ctx *c, bool drained)
{
	pthread_mutex_lock(&K.st->mu);
	pthread_mutex_lock(&N.st->mu);
	compare_stream_locked(c, drained);
	pthread_mutex_unlock(&N.st->mu);
	pthread_mutex_unlock(&K.st->mu);
}

static void compare_stream_locked(struct ctx *c, bool drained)
{
	const struct stream *ks = K.st, *ns = N.st;
	size_t n = ks->nrecs < ns->nrecs ? ks->nrecs : ns->nrecs;

	for (size_t i = 0; i < n; i++) {
		const struct rec *a = &ks->recs[i], *b = &ns->recs[i];
		const unsigned char *ab = ks->bytes + a->off, *bb = ns->bytes + b->off;

		if (a->size != b->size || memcmp(ab, bb, a->size)) {
			size_t j = 0;

			while (j < a->size && j < b->size && ab[j] == bb[j])
				j++;
			diverge(c, "DIVERGENCE",
				"record %zu: kernel %u bytes, ringbuf %u bytes, first difference at byte %zu",
				i, a->size, b->size, j);
			return;
		}
	}
	if (drained && ks->nrecs != ns->nrecs)
		diverge(c, "DIVERGENCE", "records delivered: kernel %zu, ringbuf %zu", ks->nrecs,
			ns->nrecs);
}

/* pending_pos: both advance it over committed records at every reservation
 * attempt, before the space checks, so the producer page must agree byte
 * for byte (this test once found ringbuf advancing it lazily). */

/* Compare queries and shared memory; both pollers are quiescent. */
static void compare_state(struct ctx *c)
{
	static const uint64_t sels[] = { RINGBUF_AVAIL_DATA, RINGBUF_RING_SIZE, RINGBUF_CONS_POS,
					 RINGBUF_PROD_POS, 4, 5, 99, 1ULL << 40 };
	uint64_t kc = *K.cons_pos, kp = *K.prod_pos, kq = *K.pend_pos;
	uint64_t nc = *N.cons_pos, np = *N.prod_pos, nq = *N.pend_pos;

	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		uint64_t a = ringbuf_query(K.h, sels[i]), b = ringbuf_query(N.h, sels[i]);

		if (a != b)
			diverge(c, "DIVERGENCE", "ringbuf_query(%#llx): kernel ring %llu, ringbuf ring %llu",
				(unsigned long long)sels[i], (unsigned long long)a,
				(unsigned long long)b);
	}
	if (kc != nc || kp != np)
		diverge(c, "DIVERGENCE", "positions differ");
	if (kq != nq)
		diverge(c, "DIVERGENCE", "pending_pos (producer page, offset 8): kernel %llu, ringbuf %llu",
			(unsigned long long)kq, (unsigned long long)nq);
	for (size_t i = 0; i < RING; i++) {
		if (K.data[i] != N.data[i]) {
			size_t o = i & ~(size_t)7;

			diverge(c, "DIVERGENCE",
				"data area byte %zu: kernel %#04x, ringbuf %#04x (8-byte word at %zu: kernel %016llx, ringbuf %016llx)",
				i, K.data[i], N.data[i], o,
				(unsigned long long)*(const volatile uint64_t *)(K.data + o),
				(unsigned long long)*(const volatile uint64_t *)(N.data + o));
			break;
		}
	}
}

static bool parked(struct ctx *c)
{
	if (K.armed != N.armed)
		diverge(c, "DIVERGENCE", "one poller armed, the other not");
	return !K.armed && !N.armed;
}

/* After a wakeup: drain (what the woken poll left is timing, see
 * drain_both), and with @again start polling again, until the pollers
 * block (a poll that returns at once has consumed; repeat a few times). */
static void after_wake(struct ctx *c, bool again)
{
	for (int i = 0; i < 3 && parked(c) && !c->failed; i++) {
		drain_both(c);
		compare_stream(c, true);
		if (!again || !arm_both(c, ANY))
			return;
	}
}

static void do_run(struct ctx *c, const struct step *st, bool auto_rearm)
{
	bool was_armed = K.armed && N.armed;

	run_both(c, st->ops, st->nops, st);
	if (was_armed) {
		if (observe_wake(c, st->want_woken))
			after_wake(c, auto_rearm);
	}
}

/* Wake armed pollers with a forced empty record. */
static void park_both(struct ctx *c)
{
	struct script_op op;

	memset(&op, 0, sizeof(op));
	op.kind = SCRIPT_OUTPUT;
	op.flags = RINGBUF_FORCE_WAKEUP;
	op.otag = next_tag++;
	run_both(c, &op, 1, NULL);
	if (!c->failed && !observe_wake(c, ANY))
		diverge(c, "SCRIPT BUG", "the pollers could not be woken (full ring?)");
}

/* Move both rings' positions to @off mod RING (parked, drained). */
static void do_seek(struct ctx *c, int off)
{
	struct script_op op;
	uint64_t d;

	drain_both(c);
	d = ((uint64_t)off - *N.prod_pos) & (RING - 1);
	if (d) {
		memset(&op, 0, sizeof(op));
		op.kind = SCRIPT_OUTPUT;
		op.osize = (uint32_t)(d - 8);
		op.flags = RINGBUF_NO_WAKEUP;
		op.otag = next_tag++;
		run_both(c, &op, 1, NULL);
		drain_both(c);
	}
	compare_stream(c, true);
}

static void step_begin(struct ctx *c, int i, const struct step *st)
{
	c->step = i;
	c->st = st;
	if (verbose) {
		fprintf(stderr, "[%s] step %d (kernel cons %llu prod %llu, %s)\n", c->script, i,
			(unsigned long long)*K.cons_pos, (unsigned long long)*K.prod_pos,
			K.armed ? "armed" : "parked");
		if (st)
			print_step(st);
	}
}

static void exec_step(struct ctx *c, const struct step *st, bool auto_rearm)
{
	switch (st->kind) {
	case ST_RUN:
		do_run(c, st, auto_rearm);
		break;
	case ST_DRAIN:
		if (parked(c)) {
			drain_both(c);
			compare_stream(c, true);
		}
		break;
	case ST_ARM:
		if (parked(c))
			arm_both(c, st->want_woken);
		break;
	case ST_SEEK:
		if (K.armed || N.armed)
			park_both(c);
		if (!c->failed && parked(c))
			do_seek(c, st->arg);
		break;
	}
	if (!c->failed) {
		compare_state(c);
		compare_stream(c, false);
	}
}

/* End a script: wake armed pollers with a forced empty record, drain, and
 * check the whole stream. */
static void finish(struct ctx *c)
{
	step_begin(c, -1, NULL);
	if (!c->failed && (K.armed || N.armed))
		park_both(c);
	if (!c->failed) {
		drain_both(c);
		compare_stream(c, true);
		compare_state(c);
	}
	c->st = NULL;
}

static void fresh_sides(void)
{
	side_close(&K);
	side_close(&N);
	side_open(&K);
	side_open(&N);
}

static void end_script(struct ctx *c)
{
	finish(c);
	if (c->failed) {
		total_failures++;
		/* Start over: the rings no longer agree. */
		fresh_sides();
	} else {
		/* Keep the rings (positions run on), forget the records. */
		side_clear_stream(&K);
		side_clear_stream(&N);
	}
}

static bool selected(const char *name)
{
	const char *only = getenv("DIFF_ONLY");

	return !only || !*only || !strcmp(only, name);
}

static void run_script(const struct script_def *d)
{
	struct ctx c = { .script = d->name };

	if (!selected(d->name))
		return;
	for (int i = 0; i < d->nsteps && !c.failed; i++) {
		step_begin(&c, i, &d->steps[i]);
		exec_step(&c, &d->steps[i], d->auto_rearm);
	}
	end_script(&c);
	if (!c.failed)
		printf("ok   %s (%d steps)\n", d->name, d->nsteps);
}

/* ------------------------------------------------------------------------
 * Directed scripts
 * ------------------------------------------------------------------------ */

static struct script_def def; /* built one at a time */

static void def_begin(const char *name, bool auto_rearm)
{
	memset(&def, 0, sizeof(def));
	def.name = name;
	def.auto_rearm = auto_rearm;
}

#define NOWAKE RINGBUF_NO_WAKEUP
#define FORCE  RINGBUF_FORCE_WAKEUP

/* Size classes by payload size, for readability. */
enum {
	C0 = 0, C1 = 1, C7 = 2, C8 = 3, C13 = 4, C56 = 5, C120 = 6, C504 = 7, C1016 = 8,
	C2032 = 9, C2040 = 10, C4080 = 11, C4081 = 12, C4088 = 13, C4096 = 14,
	CMAXREC = 15, CMAXREC1 = 16, CTRUNC = 17, C2P63 = 18,
};

static void script_wakeups(void)
{
	struct step *st;

	def_begin("wakeups", true);
	add_step(&def, ST_SEEK, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* caught-up consumer: adaptive records wake it */
	st = run1(&def); op_output(st, 8, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_output(st, 0, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C13, 0, 0); want(st, 1); st->want_woken = 1;
	/* a discarded record at the head wakes it too (nothing delivered) */
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C0, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	/* NO_WAKEUP: nothing; then the consumer is behind: adaptive records
	 * do not wake it either */
	st = run1(&def); op_output(st, 16, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 16, 0); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C56, 0, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C7, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 1, 4); want(st, -EINVAL); st->want_woken = 0;
	/* queries while records wait */
	st = run1(&def);
	op_query(st, BPF_RB_AVAIL_DATA); want(st, 24 + 24 + 64 + 16);
	op_query(st, BPF_RB_RING_SIZE); want(st, RING);
	op_query(st, BPF_RB_CONS_POS);
	op_query(st, BPF_RB_PROD_POS);
	op_query(st, 4); want(st, 0);
	op_query(st, 77); want(st, 0);
	op_query(st, 1ULL << 33); want(st, 0);
	st->want_woken = 0;
	/* FORCE wakes a consumer that is behind */
	st = run1(&def); op_output(st, 5, FORCE); want(st, 0); st->want_woken = 1;
	/* flags 3 = NO_WAKEUP|FORCE: FORCE wins */
	st = run1(&def); op_output(st, 9, NOWAKE | FORCE); want(st, 0); st->want_woken = 1;
	/* bad output flags: -EINVAL, nothing written, nobody woken */
	st = run1(&def); op_output(st, 9, 4); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 9, 4 | FORCE); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 9, 1ULL << 32); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, ~0ULL); want(st, -EINVAL); st->want_woken = 0;
	/* reserve with nonzero flags: NULL */
	st = run1(&def);
	op_rflags(st, 1); want(st, 0);
	op_rflags(st, 2); want(st, 0);
	op_rflags(st, 4); want(st, 0);
	op_rflags(st, 1ULL << 40); want(st, 0);
	st->want_woken = 0;
	/* commit flags: other bits are ignored */
	st = run1(&def); op_reserve(st, C8, 0, 4); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C8, 0, 4 | NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 8 | NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 1ULL << 50 | FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C8, 0, NOWAKE | FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C0, SCRIPT_DISCARD, NOWAKE | FORCE); want(st, 1); st->want_woken = 1;
	/* a consumer behind only NO_WAKEUP records, then an adaptive discard */
	st = run1(&def); op_output(st, 3, NOWAKE); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, SCRIPT_DISCARD, 0); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, SCRIPT_DISCARD, FORCE); st->want_woken = 1;
	run_script(&def);
}

static void script_sizes(void)
{
	struct step *st;

	def_begin("sizes", true);
	add_step(&def, ST_SEEK, 0);
	/* parked: an empty ring, one record at a time, drained each time */
	for (uint32_t cls = 0; cls < SCRIPT_CLASSES; cls++) {
		uint64_t r = rec_len(class_size(cls));
		bool first = r <= RING - 1;

		st = run1(&def);
		op_reserve(st, cls, 0, 0);
		want(st, first);
		op_reserve(st, cls, SCRIPT_DISCARD, 0);
		want(st, r <= RING - 1 - (first ? r : 0));
		add_step(&def, ST_DRAIN, 0);
	}
	{
		static const uint32_t sizes[] = { 0, 1, 7, 8, 9, 2039, 2040, 2041, 4079, 4080,
						  4081, 4087, 4088, 4089, 4095, 4096, 4097,
						  4160, SCRIPT_OUT_MAX };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			st = run1(&def);
			op_output(st, sizes[i], 0);
			want(st, sizes[i] <= 4080 ? 0 : -EAGAIN);
			add_step(&def, ST_DRAIN, 0);
		}
	}
	/* armed: the same, each waking the consumer or not */
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	for (uint32_t cls = 0; cls < SCRIPT_CLASSES; cls++) {
		st = run1(&def);
		op_reserve(st, cls, cls & 1 ? SCRIPT_DISCARD : 0, 0);
		want(st, class_size(cls) <= 4080);
		st->want_woken = class_size(cls) <= 4080;
	}
	run_script(&def);
}

static void script_full(void)
{
	struct step *st;

	/* parked: fill the ring to the last byte possible */
	def_begin("full-parked", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def);
	for (int i = 0; i < 4; i++) {
		op_output(st, 1000, 0); want(st, 0); /* 4 x 1008 = 4032 */
	}
	op_output(st, 1000, 0); want(st, -EAGAIN);
	op_output(st, 56, 0); want(st, -EAGAIN);   /* 4032 + 64 = 4096 */
	op_reserve(st, C56, 0, 0); want(st, 0);
	op_output(st, 48, NOWAKE); want(st, 0);   /* 4032 + 56 = 4088 */
	op_output(st, 0, FORCE); want(st, -EAGAIN); /* 4096 > 4095 */
	op_reserve(st, C0, 0, FORCE); want(st, 0);
	op_query(st, BPF_RB_AVAIL_DATA); want(st, 4088);
	add_step(&def, ST_ARM, 0)->want_woken = 1; /* records waiting: at once */
	/* the poller consumed everything (and is parked): full again */
	st = run1(&def);
	op_output(st, 2032, 0); want(st, 0);      /* 2040 */
	op_reserve(st, C2032, 0, 0); want(st, 1); /* 2040 + 2040 = 4080 */
	op_output(st, 0, 0); want(st, 0);         /* 4088 */
	op_output(st, 0, 0); want(st, -EAGAIN);
	op_reserve(st, C2040, 0, 0); want(st, 0);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* armed and one byte short of full: EAGAIN with a sleeping consumer */
	st = run1(&def); op_output(st, 4000, NOWAKE); want(st, 0); st->want_woken = 0; /* 4008 */
	st = run1(&def); op_output(st, 64, NOWAKE); want(st, 0); st->want_woken = 0;   /* 4080 */
	st = run1(&def); op_output(st, 1, FORCE); want(st, -EAGAIN); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, 0, FORCE); want(st, 0); st->want_woken = 0;
	/* A fills the ring (4088), B cannot enter, A's forced commit wakes */
	st = run1(&def); op_nested(st, C0, 0, FORCE, 0, FORCE); want(st, 1); st->want_woken = 1;
	run_script(&def);

	/* armed: full ring, EAGAIN everywhere, consumer wakes and frees it */
	def_begin("full-armed", true);
	add_step(&def, ST_SEEK, 8);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0; /* 4016 */
	st = run1(&def); op_reserve(st, C56, 0, FORCE); want(st, 1); st->want_woken = 1; /* 4080 */
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, 0); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, FORCE); want(st, -EAGAIN); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C120, 0, FORCE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 32, FORCE); want(st, 0); st->want_woken = 1;
	run_script(&def);
}

static void script_wrap(void)
{
	struct step *st;

	def_begin("wrap", true);
	/* records that run across the end of the data area */
	for (int off = 4096 - 8; off >= 4096 - 256; off -= 40) {
		add_step(&def, ST_SEEK, off);
		add_step(&def, ST_ARM, 0)->want_woken = 0;
		st = run1(&def); op_output(st, 200, 0); want(st, 0); st->want_woken = 1;
		st = run1(&def); op_reserve(st, C504, 0, 0); want(st, 1); st->want_woken = 1;
		st = run1(&def); op_reserve(st, C2032, SCRIPT_DISCARD, NOWAKE); want(st, 1); st->want_woken = 0;
		st = run1(&def); op_output(st, 1500, 0); want(st, 0); st->want_woken = 0;
		st = run1(&def); op_output(st, 7, FORCE); want(st, 0); st->want_woken = 1;
	}
	add_step(&def, ST_SEEK, 4096 - 16);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_reserve(st, C4080, 0, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_output(st, 4080, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C4080, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	run_script(&def);
}

static void script_nested(void)
{
	struct step *st;

	def_begin("nested", true);
	add_step(&def, ST_SEEK, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* consumer waits at A (BUSY): B's adaptive commit owes no wakeup,
	 * A's does */
	st = run1(&def); op_nested(st, C8, 0, 0, 16, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C8, 0, NOWAKE, 16, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_nested(st, C0, SCRIPT_DISCARD, 0, 0, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 3, FORCE); st->want_woken = 1;
	st = run1(&def); op_nested(st, C13, SCRIPT_DISCARD, 0, 24, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C120, SCRIPT_DISCARD, NOWAKE, 24, NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_nested(st, C7, 0, FORCE, 8, NOWAKE); want(st, 1); st->want_woken = 1;
	/* A too big: B is at the consumer's position and wakes it */
	st = run1(&def); op_nested(st, C4096, 0, 0, 8, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_nested(st, C4081, 0, 0, 8, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, FORCE); st->want_woken = 1;
	/* B does not fit next to A */
	st = run1(&def); op_nested(st, C2032, 0, NOWAKE, 2048, FORCE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, FORCE); st->want_woken = 1;
	/* B forces a wakeup while A is still BUSY */
	st = run1(&def); op_nested(st, C56, 0, NOWAKE, 8, FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C56, SCRIPT_DISCARD, NOWAKE, 8, FORCE); want(st, 1); st->want_woken = 1;
	run_script(&def);

	/* parked: several nested ops in one run, then drain */
	def_begin("nested-batch", false);
	add_step(&def, ST_SEEK, 4096 - 64);
	st = add_step(&def, ST_RUN, 0);
	for (int i = 0; i < 8; i++)
		op_nested(st, (uint32_t)(i % 8), i & 1 ? SCRIPT_DISCARD : 0, (uint64_t)i % 2,
			  (uint32_t)(i * 37), (uint64_t)(i + 1) % 2);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 1, 0); st->want_woken = 1;
	run_script(&def);
}

/* FORCE_WAKEUP notifications sent while nobody polls, then the consumer
 * drains with ringbuf_consume() and polls: the kernel's EPOLLIN is level
 * (producer_pos != consumer_pos), so with nothing left the poll blocks. */
static void script_stale(void)
{
	struct step *st;

	def_begin("force-while-parked", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 8, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0); st->want_woken = 1;
	run_script(&def);

	/* control: the forced notification is taken by a poll that finds
	 * records waiting; the next poll blocks */
	def_begin("force-then-poll", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 1;
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 8, 0); want(st, 0); st->want_woken = 1;
	run_script(&def);
}

/* ------------------------------------------------------------------------
 * Random scripts (fixed seeds)
 * ------------------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return t_rand(s) % n;
}

/* DIFF_AVOID_FORCE_PARKED=1: no FORCE_WAKEUP while no poller sleeps (nor a
 * second one in a nested op), to look past the divergence of script
 * 'force-while-parked' in random scripts. */
static bool avoid_force_parked;

static uint64_t rnd_flags(uint64_t *s)
{
	static const uint64_t f[] = { 0, 0, 0, 0, NOWAKE, NOWAKE, NOWAKE, FORCE, FORCE,
				      NOWAKE | FORCE, 4, 4 | FORCE, 8 | NOWAKE, 1ULL << 33 };
	uint64_t v = f[rnd(s, sizeof(f) / sizeof(f[0]))];

	if (avoid_force_parked && !K.armed)
		v &= ~FORCE;
	return v;
}

static uint32_t rnd_size(uint64_t *s)
{
	uint64_t r = rnd(s, 100);

	if (r < 40)
		return (uint32_t)rnd(s, 33);
	if (r < 70)
		return (uint32_t)(33 + rnd(s, 570));
	if (r < 85)
		return (uint32_t)(600 + rnd(s, 1500));
	if (r < 95)
		return (uint32_t)(2100 + rnd(s, 1981));
	return (uint32_t)(4081 + rnd(s, SCRIPT_OUT_MAX - 4080));
}

static void rnd_op(uint64_t *s, struct step *st)
{
	uint64_t r = rnd(s, 100);

	if (r < 40) {
		op_output(st, rnd_size(s), rnd_flags(s));
	} else if (r < 75) {
		uint32_t cls = (uint32_t)(rnd(s, 4) ? rnd(s, 12) : rnd(s, SCRIPT_CLASSES));

		op_reserve(st, cls, rnd(s, 3) ? 0 : SCRIPT_DISCARD, rnd_flags(s));
	} else if (r < 88) {
		uint32_t cls = (uint32_t)(rnd(s, 4) ? rnd(s, 12) : rnd(s, SCRIPT_CLASSES));

		uint64_t fa = rnd_flags(s);

		/* (a FORCE from A's commit after B's FORCE may reach a consumer
		 * that has already taken B's: the same divergence) */
		if (avoid_force_parked)
			fa &= ~FORCE;
		op_nested(st, cls, rnd(s, 3) ? 0 : SCRIPT_DISCARD, fa, rnd_size(s), rnd_flags(s));
	} else if (r < 93) {
		static const uint64_t rf[] = { 1, 2, 3, 4, 1ULL << 32, 0 };

		op_rflags(st, rf[rnd(s, sizeof(rf) / sizeof(rf[0]))]);
	} else {
		static const uint64_t q[] = { 0, 1, 2, 3, 4, 5, 1ULL << 35 };

		op_query(st, q[rnd(s, sizeof(q) / sizeof(q[0]))]);
	}
}

/* Could this op leave exactly RING - 8 bytes in use (a ring that no record,
 * not even an empty FORCE one, can enter: a sleeping poller could then never
 * be woken)? */
static bool may_jam(const struct script_op *op, uint64_t avail)
{
	uint64_t a = 0, b = 0;
	uint64_t outs[4];

	if (op->kind == SCRIPT_OUTPUT)
		b = op->flags & ~3ULL ? 0 : rec_len(op->osize);
	else if (op->kind == SCRIPT_RESERVE)
		a = rec_len(class_size(op->cls));
	if (op->kind == SCRIPT_RESERVE && (op->mode & SCRIPT_NESTED))
		b = op->oflags & ~3ULL ? 0 : rec_len(op->osize);
	outs[0] = avail + a;
	outs[1] = avail + b;
	outs[2] = avail + a + b;
	outs[3] = avail;
	for (int i = 0; i < 4; i++)
		if (outs[i] == RING - 8)
			return true;
	return false;
}

static void run_random(uint64_t seed, int nsteps)
{
	char name[48];
	struct ctx c;
	uint64_t s = seed;
	struct step *st = &def.steps[0];
	int i;

	snprintf(name, sizeof(name), "random-%llu", (unsigned long long)seed);
	if (!selected(name))
		return;
	memset(&c, 0, sizeof(c));
	c.script = name;
	c.seed = seed;
	for (i = 0; i < nsteps && !c.failed; i++) {
		bool armed = K.armed;

		memset(st, 0, sizeof(*st));
		st->want_woken = ANY;
		if (armed) {
			/* one op per step: wakeups are observed op by op, and
			 * nothing races with a consumer woken mid-run */
			uint64_t avail = ringbuf_query(N.h, RINGBUF_AVAIL_DATA);

			st->kind = ST_RUN;
			do {
				st->nops = 0;
				rnd_op(&s, st);
			} while (may_jam(&st->ops[0], avail));
		} else {
			uint64_t r = rnd(&s, 100);

			if (r < 50) {
				int n = 1 + (int)rnd(&s, rnd(&s, 2) ? 8 : SCRIPT_MAX_OPS);

				st->kind = ST_RUN;
				for (int k = 0; k < n; k++)
					rnd_op(&s, st);
			} else if (r < 70) {
				st->kind = ST_DRAIN;
			} else if (r < 95) {
				/* usually after a drain */
				if (rnd(&s, 4)) {
					step_begin(&c, i, st);
					st->kind = ST_DRAIN;
					exec_step(&c, st, true);
					if (c.failed)
						break;
				}
				st->kind = ST_ARM;
			} else {
				st->kind = ST_SEEK;
				st->arg = (int)(rnd(&s, RING / 8) * 8);
			}
		}
		step_begin(&c, i, st);
		exec_step(&c, st, rnd(&s, 4) != 0);
	}
	end_script(&c);
	if (!c.failed)
		printf("ok   %s (%d steps)\n", name, nsteps);
}

int main(void)
{
	const char *seed_env = getenv("DIFF_SEED");
	static const uint64_t seeds[] = { 1, 2, 3, 0x5eed, 20240601, 987654321 };

	setvbuf(stdout, NULL, _IONBF, 0);
	kbpf_require();
	page_sz = sysconf(_SC_PAGESIZE);
	if (page_sz != RING)
		SKIP("the script's ring is %d bytes; page size %ld", RING, page_sz);
	verbose = getenv("DIFF_VERBOSE") && *getenv("DIFF_VERBOSE") == '1';
	avoid_force_parked = getenv("DIFF_AVOID_FORCE_PARKED") &&
			     *getenv("DIFF_AVOID_FORCE_PARKED") == '1';

	side_open(&K);
	side_open(&N);

	script_wakeups();
	script_sizes();
	script_full();
	script_wrap();
	script_nested();
	script_stale();
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		run_random(seeds[i], 150);
	if (seed_env && *seed_env)
		run_random(strtoull(seed_env, NULL, 0), 300);

	side_close(&K);
	side_close(&N);
	if (total_failures) {
		fprintf(stderr, "%d script(s) diverged\n", total_failures);
		return T_FAIL;
	}
	return T_PASS;
}
