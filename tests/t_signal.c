/* SPDX-License-Identifier: MIT */
/*
 * t_signal -- producing from a signal handler, this machine's NMI.
 *
 * Producer threads output records in a loop while a per-thread timer
 * interrupts each of them with SIGPROF at 20 kHz; the handler outputs a
 * record of its own into the same ring -- often while its thread is in
 * the middle of a reservation there (holding the lock) or of a wakeup
 * (holding the wakeup connection's lock).  Cases:
 *
 *   - a ringbuf ring, the consumer a thread of this process asleep in
 *     ringbuf_poll() (futex mode), producers committing with flags 0 and
 *     FORCE_WAKEUP;
 *   - a named ring, the consumer another process waiting on
 *     ringbuf_epoll_fd() in its own epoll (fd mode, so commits send
 *     datagrams);
 *   - a kernel USER_RINGBUF map (when BPF is available), checked by
 *     walking its records.
 *
 * Each must hold: no hang (the watchdog), every record whose output
 * returned 0 delivered exactly once and in order per source (thread or
 * handler), handler calls refused only with EAGAIN, the refusals for
 * interrupting the same ring's reservation counted in refused_nested, and
 * every handler call returns within HANDLER_BOUND_MS (the bound the header
 * states: it never waits for the thread it interrupted).
 */
#include "test.h"
#include "proc.h"

#include "kbpf.h" /* (bpf_map_create; and the -m32 build leaves this test out) */
#include <linux/bpf.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define THREADS          2
#define SECONDS          3
#define HZ               20000
#define HANDLER_BOUND_MS 500
#define SRC_END          0xffffu

struct rec {
	uint32_t src; /* 0..THREADS-1 a thread, THREADS + i thread i's handler */
	uint32_t seq;
};

struct producer {
	struct ringbuf *rb;
	uint32_t idx;
	uint32_t sent;          /* thread's records output */
	uint32_t hsent;         /* handler's records output */
	uint32_t hrefused;      /* handler outputs refused (EAGAIN) */
	uint32_t hother;        /* handler outputs failing otherwise */
	uint64_t hmax_ns;       /* longest handler call */
	uint32_t limit;         /* kernel map: stop after this many records */
	bool send_end;          /* output the end record itself when done */
	bool mix;               /* some records by reserve + submit, in the
				 * thread and in the handler */
	timer_t timer;
};

static __thread struct producer *t_self;
static atomic_int g_stop;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One record, by ringbuf_output() or (@reserve) reserve + submit. */
static long put(struct producer *p, const struct rec *r, uint64_t flags, bool reserve)
{
	void *s;

	if (!reserve)
		return ringbuf_output(p->rb, r, sizeof(*r), flags);
	s = ringbuf_reserve(p->rb, sizeof(*r), 0);
	if (!s)
		return -errno;
	memcpy(s, r, sizeof(*r));
	ringbuf_submit(s, flags);
	return 0;
}

static void on_prof(int sig)
{
	struct producer *p = t_self;
	int saved = errno;
	uint64_t t0, dt;
	long e;

	(void)sig;
	if (!p)
		return;
	t0 = mono_ns();
	{
		struct rec r = { .src = THREADS + p->idx, .seq = p->hsent };

		e = put(p, &r, (p->hsent & 1) ? RINGBUF_FORCE_WAKEUP : 0, p->mix && (p->hsent & 2));
	}
	dt = mono_ns() - t0;
	if (dt > p->hmax_ns)
		p->hmax_ns = dt;
	if (e == 0)
		p->hsent++;
	else if (e == -EAGAIN)
		p->hrefused++;
	else
		p->hother++;
	errno = saved;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGPROF };
	struct itimerspec its = { .it_interval = { 0, 1000000000 / HZ },
				  .it_value = { 0, 1000000000 / HZ } };
	uint64_t end = mono_ns() + (uint64_t)SECONDS * 1000000000ull;

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	CHECK_EQ(timer_create(CLOCK_MONOTONIC, &sev, &p->timer), 0);
	t_self = p;
	CHECK_EQ(timer_settime(p->timer, 0, &its, NULL), 0);
	while (!atomic_load(&g_stop) && (p->limit ? p->sent < p->limit : mono_ns() < end)) {
		struct rec r = { .src = p->idx, .seq = p->sent };
		long e = put(p, &r, (p->sent & 7) == 0 ? RINGBUF_FORCE_WAKEUP : 0,
			     p->mix && (p->sent & 3) == 1);

		if (e == 0)
			p->sent++;
		else
			CHECK_EQ(e, -EAGAIN); /* the ring is full for a moment */
	}
	/* Stop the timer before leaving; a last signal may still be on its
	 * way, so the handler stays armed until the thread is done. */
	CHECK_EQ(timer_delete(p->timer), 0);
	if (p->send_end) {
		struct rec last = { .src = SRC_END };

		while (ringbuf_output(p->rb, &last, sizeof(last), RINGBUF_FORCE_WAKEUP) == -EAGAIN)
			usleep(1000);
	}
	return NULL;
}

/* Delivered records, per source. */
struct tally {
	uint32_t next[2 * THREADS];
	uint64_t n;
	bool end;
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct tally *t = ctx;
	struct rec r;

	CHECK_EQ(size, sizeof(r));
	memcpy(&r, data, sizeof(r));
	if (r.src == SRC_END) {
		t->end = true;
		return 0;
	}
	CHECK(r.src < 2 * THREADS);
	if (r.seq != t->next[r.src])
		fprintf(stderr, "source %u: record %u where %u was due\n", r.src, r.seq,
			t->next[r.src]);
	CHECK_EQ(r.seq, t->next[r.src]);
	t->next[r.src]++;
	t->n++;
	return 0;
}

/* @n of the THREADS producers run (the others stay idle and empty). */
static void run_producers_n(struct ringbuf *rb, struct producer *p, uint32_t limit, uint32_t n)
{
	pthread_t th[THREADS];

	atomic_store(&g_stop, 0);
	for (uint32_t i = 0; i < THREADS; i++) {
		p[i] = (struct producer){ .rb = rb, .idx = i, .limit = limit, .send_end = n == 1,
					  .mix = n == 1 };
		if (i < n)
			CHECK_EQ(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (uint32_t i = 0; i < n; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
}

static void run_producers(struct ringbuf *rb, struct producer *p, uint32_t limit)
{
	run_producers_n(rb, p, limit, THREADS);
}

/* What every case checks of the producers' side. */
static void check_producers(const char *what, const struct producer *p, const uint32_t *got,
			    uint64_t nested)
{
	uint64_t refused = 0, hsent = 0, sent = 0, hmax = 0;

	for (int i = 0; i < THREADS; i++) {
		CHECK_EQ(got[i], p[i].sent);
		CHECK_EQ(got[THREADS + i], p[i].hsent);
		CHECK_EQ(p[i].hother, 0);
		refused += p[i].hrefused;
		hsent += p[i].hsent;
		sent += p[i].sent;
		if (p[i].hmax_ns > hmax)
			hmax = p[i].hmax_ns;
	}
	printf("%s: %llu thread records, %llu from handlers, %llu handler calls refused "
	       "(%llu of them nested in their own thread's reservation), longest handler "
	       "call %.3f ms\n",
	       what, (unsigned long long)sent, (unsigned long long)hsent,
	       (unsigned long long)refused, (unsigned long long)nested, (double)hmax / 1e6);
	CHECK(hsent > 0);
	CHECK(nested <= refused);
	CHECK(hmax < (uint64_t)HANDLER_BOUND_MS * 1000000);
}

/* A ringbuf ring, the consumer a thread here in ringbuf_poll(). */
struct poller {
	struct ringbuf *rb;
	struct tally t;
};

static void *poll_thread(void *arg)
{
	struct poller *c = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!c->t.end)
		CHECK(ringbuf_poll(c->rb, on_rec, &c->t, 1000) >= 0);
	return NULL;
}

static void test_futex(void)
{
	struct ringbuf *rb = ringbuf_new(1u << 22, NULL);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct producer p[THREADS];
	struct poller c = { 0 };
	struct rec end = { .src = SRC_END };
	pthread_t th;

	CHECK(rb);
	c.rb = rb;
	CHECK_EQ(pthread_create(&th, NULL, poll_thread, &c), 0);
	run_producers(rb, p, 0);
	while (ringbuf_output(rb, &end, sizeof(end), RINGBUF_FORCE_WAKEUP) == -EAGAIN)
		usleep(1000);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	check_producers("futex mode, consumer thread", p, c.t.next, st.refused_nested);
	CHECK(st.refused_nested > 0); /* the case this test is about happened */
	ringbuf_free(rb);
}

/* A single-producer ring: its one producer thread (the claimant) takes
 * the lock-free path of src/output.c, which a handler interrupting it
 * must not enter, by output or by reserve (and neither may interrupt the
 * thread's own reserve); so thread and handler mix both.  The end record
 * comes from the same thread. */
static void test_single(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_SINGLE_PRODUCER };
	struct ringbuf *rb = ringbuf_new(1u << 22, &o);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct producer p[THREADS];
	struct poller c = { 0 };
	pthread_t th;

	CHECK(rb);
	c.rb = rb;
	CHECK_EQ(pthread_create(&th, NULL, poll_thread, &c), 0);
	run_producers_n(rb, p, 0, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* any other thread is refused: the claim is the producer thread's */
	{
		struct rec r = { .src = 0, .seq = p[0].sent };

		CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), -EBUSY);
	}
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	check_producers("single-producer ring, consumer thread", p, c.t.next, st.refused_nested);
	CHECK(st.refused_nested > 0);
	ringbuf_free(rb);
}

/* A named ring, the consumer another process on ringbuf_epoll_fd(). */
static void fd_consumer(const char *name, int out)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf *rb = ringbuf_open(name, &co);
	struct epoll_event ev = { .events = EPOLLIN };
	struct tally t = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC), fd;

	if (!rb || ep < 0)
		_exit(2);
	fd = ringbuf_epoll_fd(rb);
	if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		_exit(3);
	if (write(out, "r", 1) != 1)
		_exit(4);
	while (!t.end) {
		/* a lost wakeup shows as a 10 s wait: the watchdog's case */
		int r = epoll_wait(ep, &ev, 1, 10000);

		if (r != 1)
			_exit(5);
		if (ringbuf_consume(rb, on_rec, &t) < 0)
			_exit(6);
	}
	if (write(out, t.next, sizeof(t.next)) != (ssize_t)sizeof(t.next))
		_exit(7);
	ringbuf_free(rb);
	_exit(0);
}

static void test_fd(void)
{
	char name[64];
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct producer p[THREADS];
	struct rec end = { .src = SRC_END };
	uint32_t got[2 * THREADS];
	struct ringbuf *rb;
	int sync[2], status;
	char c;
	pid_t pid;

	snprintf(name, sizeof(name), "t_signal_%d", (int)getpid());
	ringbuf_unlink(name);
	rb = ringbuf_create(name, 1u << 22, NULL);
	CHECK(rb);
	CHECK_EQ(pipe(sync), 0);
	pid = proc_fork_child(getpid(), 60);
	if (pid == 0)
		fd_consumer(name, sync[1]);
	CHECK(proc_read_msg(sync[0], &c, 1, 10000));
	run_producers(rb, p, 0);
	while (ringbuf_output(rb, &end, sizeof(end), RINGBUF_FORCE_WAKEUP) == -EAGAIN)
		usleep(1000);
	CHECK(proc_read_msg(sync[0], got, sizeof(got), 30000));
	status = proc_wait_status(pid, 30, 1000);
	CHECK(proc_exited_with(pid, status, 0));
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	check_producers("fd mode, consumer process", p, got, st.refused_nested);
	CHECK(st.wakeups > 0);
	close(sync[0]);
	close(sync[1]);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
}

/* A kernel USER_RINGBUF map: nothing drains it, so the producers stop at
 * a count that fits; the records are walked through a mapping of ours. */
static void test_kuser(void)
{
	const uint32_t map_sz = 1u << 24, limit = 200000;
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, map_sz, NULL);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct producer p[THREADS];
	struct tally t = { 0 };
	struct ringbuf *rb;
	unsigned char *m;
	uint64_t prod, pos;

	if (fd < 0) {
		printf("kernel USER_RINGBUF case skipped: %s\n", strerror(errno));
		return;
	}
	rb = ringbuf_map_open(fd, NULL);
	CHECK(rb);
	run_producers(rb, p, limit);
	m = mmap(NULL, (size_t)page + 2 * map_sz, PROT_READ, MAP_SHARED, fd, page);
	CHECK(m != MAP_FAILED);
	prod = __atomic_load_n((uint64_t *)m, __ATOMIC_ACQUIRE);
	for (pos = 0; pos < prod;) {
		const struct ringbuf_hdr *h = (const void *)(m + page + (pos & (map_sz - 1)));

		CHECK_EQ(h->len & (RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT), 0);
		on_rec(&t, (void *)(h + 1), h->len);
		pos += (RINGBUF_HDR_SZ + h->len + 7) & ~7u;
	}
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	check_producers("kernel USER_RINGBUF map", p, t.next, st.refused_nested);
	munmap(m, (size_t)page + 2 * map_sz);
	ringbuf_free(rb);
	close(fd);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_prof, .sa_flags = SA_RESTART };

	alarm(120); /* the watchdog: a hang dies of SIGALRM */
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGPROF, &sa, NULL), 0);
	test_futex();
	test_single();
	test_fd();
	test_kuser();
	printf("t_signal: ok\n");
	return 0;
}
