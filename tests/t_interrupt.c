/* SPDX-License-Identifier: MIT */
/*
 * t_interrupt -- ringbuf_interrupt() and ringbuf_manager_interrupt():
 *   - a thread blocked in ringbuf_poll(-1) returns -ECANCELED, in futex mode
 *     and in fd mode (whose epoll fd turns readable), and on a kernel map;
 *   - one blocked in ringbuf_manager_poll(-1) returns -ECANCELED, and the
 *     manager's epoll fd is readable meanwhile;
 *   - an interrupt with nobody waiting makes the next poll return at once,
 *     once; nothing is consumed by an interrupted poll;
 *   - interrupts fired at random moments into a consumer that keeps
 *     polling while a producer thread runs: every record arrives once, in
 *     order, and every interrupt ends a poll (no wait without end: a
 *     watchdog);
 *   - NULL and a USER_RINGBUF map refused.
 * Runs under TSan too (make tsan).
 */
#include "test.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "kbpf.h"
#include "ringbuf.h"

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(int *)ctx)++;
	return 0;
}

struct waiter {
	struct ringbuf *rb;
	struct ringbuf_manager *m;
	atomic_int ret;
	atomic_int tid;
	atomic_int done;
	int got;
};

static void *poll_thread(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->tid, (int)syscall(SYS_gettid));
	atomic_store(&w->ret, w->m ? ringbuf_manager_poll(w->m, -1)
				   : ringbuf_poll(w->rb, count_cb, &w->got, -1));
	atomic_store(&w->done, 1);
	return NULL;
}

/* Thread @tid sleeps in the kernel: 10 looks in a row (5 s at most). */
static void wait_asleep(int tid)
{
	int streak = 0;

	for (int i = 0; i < 5000 && streak < 10; i++) {
		char path[64], buf[512];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "r");
		CHECK(f);
		CHECK(fgets(buf, sizeof(buf), f));
		fclose(f);
		char *p = strrchr(buf, ')');
		streak = p && p[2] == 'S' ? streak + 1 : 0;
		usleep(1000);
	}
	CHECK(streak >= 10);
}

static void join_within(pthread_t th, struct waiter *w, int secs)
{
	for (int i = 0; i < secs * 1000 && !atomic_load(&w->done); i++)
		usleep(1000);
	CHECK(atomic_load(&w->done)); /* the interrupt ended the wait */
	CHECK(pthread_join(th, NULL) == 0);
}

/* A poll blocked on @rb returns -ECANCELED; records committed meanwhile
 * with NO_WAKEUP stay for the next poll. */
static void blocked_poll(struct ringbuf *rb, bool fd_mode, bool kernel)
{
	struct waiter w = { .rb = rb };
	pthread_t th;
	int n = 0;

	CHECK(pthread_create(&th, NULL, poll_thread, &w) == 0);
	while (!atomic_load(&w.tid))
		usleep(100);
	wait_asleep(atomic_load(&w.tid));
	if (!kernel)
		CHECK_EQ(ringbuf_output(rb, "quiet", 5, RINGBUF_NO_WAKEUP), 0);
	CHECK_EQ(ringbuf_interrupt(rb), 0);
	join_within(th, &w, 5);
	CHECK_EQ(atomic_load(&w.ret), -ECANCELED);
	CHECK_EQ(w.got, 0); /* nothing consumed */
	if (fd_mode) {
		struct pollfd p = { .fd = ringbuf_epoll_fd(rb), .events = POLLIN };

		CHECK_EQ(poll(&p, 1, 0), 1); /* readable: the application would wake */
	}
	if (!kernel) {
		CHECK_EQ(ringbuf_poll(rb, count_cb, &n, 0), 1);
		CHECK_EQ(n, 1);
	}
	/* one pending interrupt, however many calls made it */
	CHECK_EQ(ringbuf_interrupt(rb), 0);
	CHECK_EQ(ringbuf_interrupt(rb), 0);
	CHECK_EQ(ringbuf_poll(rb, count_cb, &n, -1), -ECANCELED);
	CHECK_EQ(errno, ECANCELED);
	CHECK_EQ(ringbuf_poll(rb, count_cb, &n, 0), 0);
}

static void manager(void)
{
	struct ringbuf *a = ringbuf_new(4096, NULL), *b = ringbuf_new(4096, NULL);
	struct ringbuf_manager *m = ringbuf_manager_new(NULL);
	struct waiter w = { 0 };
	pthread_t th;
	int n = 0;

	CHECK(a && b && m);
	CHECK_EQ(ringbuf_manager_add(m, a, count_cb, &n), 0);
	CHECK_EQ(ringbuf_manager_add(m, b, count_cb, &n), 0);
	w.m = m;
	CHECK(pthread_create(&th, NULL, poll_thread, &w) == 0);
	while (!atomic_load(&w.tid))
		usleep(100);
	wait_asleep(atomic_load(&w.tid));
	CHECK_EQ(ringbuf_manager_interrupt(m), 0);
	join_within(th, &w, 5);
	CHECK_EQ(atomic_load(&w.ret), -ECANCELED);
	/* pending, then taken once; the manager's fd readable meanwhile */
	CHECK_EQ(ringbuf_manager_interrupt(m), 0);
	struct pollfd p = { .fd = ringbuf_manager_epoll_fd(m), .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(ringbuf_output(a, "x", 1, 0), 0);
	CHECK_EQ(ringbuf_manager_poll(m, -1), -ECANCELED);
	CHECK_EQ(ringbuf_manager_poll(m, 100), 1);
	CHECK_EQ(n, 1);
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);
	CHECK_EQ(ringbuf_manager_interrupt(NULL), -EINVAL);
	ringbuf_manager_free(m);
	ringbuf_free(a);
	ringbuf_free(b);
}

/* Interrupts at random moments against a consumer that keeps polling
 * while a producer runs: nothing lost, nothing twice, every interrupt
 * ends a poll. */
enum { N = 200000 };

struct race {
	struct ringbuf *rb;
	atomic_int stop;
	uint32_t next; /* consumer: the record expected next */
	int cancels;
};

static int check_cb(void *ctx, void *data, size_t size)
{
	struct race *r = ctx;
	uint32_t v;

	CHECK_EQ(size, sizeof(v));
	memcpy(&v, data, sizeof(v));
	CHECK_EQ(v, r->next);
	r->next++;
	return 0;
}

static void *race_producer(void *arg)
{
	struct race *r = arg;

	for (uint32_t i = 0; i < N; i++) {
		while (ringbuf_output(r->rb, &i, sizeof(i), i % 64 ? RINGBUF_NO_WAKEUP : 0) == -EAGAIN)
			sched_yield();
	}
	return NULL;
}

static void *race_interrupter(void *arg)
{
	struct race *r = arg;
	uint64_t seed = 12345;

	while (!atomic_load(&r->stop)) {
		CHECK_EQ(ringbuf_interrupt(r->rb), 0);
		usleep((unsigned)(t_rand(&seed) % 300));
	}
	return NULL;
}

static void race(bool fd_mode)
{
	struct race r = { .rb = ringbuf_new(1 << 16, NULL) };
	pthread_t p, i;

	CHECK(r.rb);
	if (fd_mode)
		CHECK(ringbuf_epoll_fd(r.rb) >= 0);
	CHECK(pthread_create(&p, NULL, race_producer, &r) == 0);
	CHECK(pthread_create(&i, NULL, race_interrupter, &r) == 0);
	while (r.next < N) {
		int got = ringbuf_poll(r.rb, check_cb, &r, 50);

		if (got == -ECANCELED)
			r.cancels++;
		else
			CHECK(got >= 0);
	}
	atomic_store(&r.stop, 1);
	CHECK(pthread_join(p, NULL) == 0);
	CHECK(pthread_join(i, NULL) == 0);
	CHECK(r.cancels > 0);
	CHECK_EQ(ringbuf_query(r.rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(r.rb);
}

static void kernel(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);
	struct ringbuf *k;

	CHECK(fd >= 0);
	k = ringbuf_map_open(fd, NULL);
	CHECK(k);
	blocked_poll(k, false, true);
	ringbuf_free(k);
	close(fd);
	fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, 4096, NULL);
	CHECK(fd >= 0);
	k = ringbuf_map_open(fd, NULL);
	CHECK(k);
	CHECK_EQ(ringbuf_interrupt(k), -EOPNOTSUPP);
	ringbuf_free(k);
	close(fd);
}

int main(void)
{
	struct ringbuf *rb;

	alarm(120); /* a wait without end fails the test, not the suite */
	CHECK_EQ(ringbuf_interrupt(NULL), -EINVAL);
	rb = ringbuf_new(4096, NULL);
	CHECK(rb);
	blocked_poll(rb, false, false);
	ringbuf_free(rb);
	rb = ringbuf_new(4096, NULL);
	CHECK(rb);
	CHECK(ringbuf_epoll_fd(rb) >= 0);
	blocked_poll(rb, true, false);
	ringbuf_free(rb);
	manager();
	race(false);
	race(true);
	kbpf_require();
	kernel();
	return T_PASS;
}
