/* SPDX-License-Identifier: MIT */
/*
 * t_fork.c -- fork() from a threaded process.  The library's process-local
 * locks (the table of mappings behind submit/discard and ringbuf_free, and
 * each handle's wakeup-socket lock) must not be copied into a child while
 * another thread holds them, or the child hangs on its first use.
 *
 * Threads keep creating and freeing rings (the table lock) and producing
 * into a ring whose consumer waits in fd mode (a handle's wake_lock), while
 * the main thread forks many children that each free a handle and produce
 * with a forced wakeup, then exit.  Every child must exit within a few
 * seconds.  Without the pthread_atfork handlers some child hangs (seen in
 * every run); with them none can.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "ringbuf.h"
#include "test.h"

#define FORKS 300

static atomic_int g_stop;
static struct ringbuf *g_ring;   /* consumer in fd mode */
static struct ringbuf *g_prod;   /* producer handle of the same ring */

static void *churn(void *arg)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	(void)arg;
	while (!atomic_load(&g_stop)) {
		struct ringbuf *rb = ringbuf_new(page, NULL);

		CHECK(rb != NULL);
		ringbuf_free(rb);
	}
	return NULL;
}

static int drop(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* Consumes so that the consumer re-arms, and producers' wakeups keep
 * taking the producer handle's wake_lock. */
static void *consumer(void *arg)
{
	(void)arg;
	while (!atomic_load(&g_stop))
		CHECK(ringbuf_consume(g_ring, drop, NULL) >= 0);
	return NULL;
}

static void *producer(void *arg)
{
	uint64_t v = 0;

	(void)arg;
	while (!atomic_load(&g_stop)) {
		int r = ringbuf_output(g_prod, &v, sizeof(v), 0);

		CHECK(r == 0 || r == -EAGAIN);
		v++;
	}
	return NULL;
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_t thr[3];
	pid_t parent = getpid();

	g_ring = ringbuf_new(16 * page, NULL);
	CHECK(g_ring != NULL);
	g_prod = ringbuf_from_fd(ringbuf_fd(g_ring), NULL);
	CHECK(g_prod != NULL);
	CHECK(ringbuf_epoll_fd(g_ring) >= 0);
	CHECK(pthread_create(&thr[0], NULL, churn, NULL) == 0);
	CHECK(pthread_create(&thr[1], NULL, consumer, NULL) == 0);
	CHECK(pthread_create(&thr[2], NULL, producer, NULL) == 0);

	for (int i = 0; i < FORKS; i++) {
		pid_t pid = proc_fork_child(parent, 30);
		int status;

		if (pid == 0) {
			struct ringbuf *mine = ringbuf_new(page, NULL); /* the table lock */
			uint64_t v = 1;
			int r;

			if (!mine)
				_exit(2);
			ringbuf_free(mine);
			/* a forced wakeup: the producer handle's wake_lock */
			r = ringbuf_output(g_prod, &v, sizeof(v), RINGBUF_FORCE_WAKEUP);
			_exit(r == 0 || r == -EAGAIN ? 0 : 3);
		}
		CHECK(pid > 0);
		/* a child that hangs in the library fails the test */
		status = proc_wait_status(pid, 5, 200);
		CHECK(proc_exited_with(pid, status, 0));
	}
	atomic_store(&g_stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);
	ringbuf_free(g_prod);
	ringbuf_free(g_ring);
	printf("ok   %d forks from a threaded process, no child hung\n", FORKS);
	return T_PASS;
}
