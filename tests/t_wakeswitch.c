/* SPDX-License-Identifier: MIT */
/*
 * t_wakeswitch.c -- a waker late for one arming must not swallow the next
 * arming's wakeup when the consumer changed how it waits in between.
 *
 * A producer that finds the consumer armed reads consumer_waiting and
 * wait_seq, then moves notify_seq on by CAS and wakes the way it read.  The
 * consumer's next arming reads notify_seq afresh; if the late producer's CAS
 * lands after that, it wins for the new arming -- and if the new arming is
 * of the other kind (a futex sleep in ringbuf_poll() that timed out, then
 * ringbuf_epoll_fd(); or a consumer in fd mode replaced by one that uses the
 * futex), it wakes the wrong way, and every later producer's CAS fails:
 * the consumer is never woken again.
 *
 * Deterministic: the producer is a child process linked with the
 * fault-injection library (build/libringbuf-fi.a), stopped with SIGSTOP at
 * RB_FI_WAKE, after it read a futex arming and before its CAS; the test
 * moves the consumer to fd mode, lets the producer go on, has it commit a
 * record at the head of the armed consumer, and checks that the fd polls
 * readable.  Fails without the re-read of consumer_waiting after the CAS in
 * rb_wake_sleeper().
 *
 * Also: ringbuf_free() of an fd-mode consumer, stopped at RB_FI_FREE just
 * after it released the claim, must not disarm the next consumer's arming
 * (fails if the free disarms after releasing the claim).
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h" /* the hook of the fault-injection library; test-only */
#include "proc.h"
#include "ringbuf.h"
#include "test.h"

static struct ringbuf *g_rb;
static atomic_int g_done;
static int g_ret;

static int on_rec(void *ctx, void *data, size_t size)
{
	uint32_t v;

	(void)ctx;
	CHECK_EQ(size, sizeof(v));
	memcpy(&v, data, sizeof(v));
	return 0;
}

static void *poll_thread(void *arg)
{
	(void)arg;
	/* 2 s: long enough for the producer to read the arming, and the
	 * timeout that ends the futex sleep without moving notify_seq */
	g_ret = ringbuf_poll(g_rb, on_rec, NULL, 2000);
	atomic_store(&g_done, 1);
	return NULL;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, 0);

	CHECK(r >= 0);
	return r == 1;
}

/*
 * ringbuf_free() of a consumer in fd mode disarms and removes its wakeup
 * name; it must do so before it releases the consumer claim, or the next
 * consumer, which may claim, bind and arm in between, loses its arming.
 * The old consumer is a child stopped (SIGSTOP) just after it released
 * the claim; the new one arms meanwhile, then the old one finishes its
 * free, then a producer commits at the head: the new fd must be readable.
 */
static void test_free_order(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	size_t page = (size_t)getpagesize();
	struct ringbuf *rb, *b;
	struct ringbuf_shm_consumer *cons;
	int ready[2], go[2], status, fd;
	pid_t child;
	uint32_t v = 3;
	char ch;
	void *map;

	rb = ringbuf_new(16 * page, NULL);
	CHECK(rb != NULL);
	map = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, ringbuf_fd(rb), 0);
	CHECK(map != MAP_FAILED);
	cons = (void *)((char *)map + page);
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	child = proc_fork_child(getpid(), 60);
	if (child == 0) {
		struct ringbuf *a = ringbuf_from_fd(ringbuf_fd(rb), &co);

		CHECK(a != NULL);
		CHECK(ringbuf_epoll_fd(a) >= 0);
		CHECK_EQ(write(ready[1], "r", 1), 1);
		CHECK_EQ(read(go[0], &ch, 1), 1);
		rb_fi_arm_sig(RB_FI_FREE, 1, SIGSTOP);
		ringbuf_free(a); /* stops after releasing the claim */
		_exit(0);
	}
	CHECK_EQ(read(ready[0], &ch, 1), 1);
	CHECK_EQ(__atomic_load_n(&cons->consumer_waiting, __ATOMIC_ACQUIRE), RINGBUF_WAIT_FD);
	CHECK_EQ(write(go[1], "g", 1), 1);
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK(WIFSTOPPED(status));

	b = ringbuf_from_fd(ringbuf_fd(rb), &co); /* the claim is free */
	CHECK(b != NULL);
	fd = ringbuf_epoll_fd(b);
	CHECK(fd >= 0);
	CHECK(!readable(fd));
	CHECK_EQ(kill(child, SIGCONT), 0);
	status = proc_wait_status(child, 30, 1000);
	CHECK(proc_exited_with(child, status, 0));

	CHECK_EQ(ringbuf_output(rb, &v, sizeof(v), 0), 0);
	if (!readable(fd))
		CHECK(!"the new consumer's fd is readable: the old one's free must not disarm it");
	CHECK_EQ(ringbuf_consume(b, on_rec, NULL), 1);
	ringbuf_free(b);
	munmap(map, 2 * page);
	ringbuf_free(rb);
	printf("  free before the claim is released: ok\n");
}

int main(void)
{
	size_t page = (size_t)getpagesize();
	struct ringbuf_shm_meta *meta;
	struct ringbuf_shm_consumer *cons;
	pid_t parent = getpid(), child;
	int go[2], status, fd;
	pthread_t pt;
	uint32_t v = 1;
	char ch;
	void *map;

	g_rb = ringbuf_new(16 * page, NULL);
	CHECK(g_rb != NULL);
	map = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, ringbuf_fd(g_rb), 0);
	CHECK(map != MAP_FAILED);
	meta = map;
	cons = (void *)((char *)map + page);
	CHECK(pipe(go) == 0);

	child = proc_fork_child(parent, 60);
	if (child == 0) {
		close(go[1]);
		rb_fi_arm_sig(RB_FI_WAKE, 1, SIGSTOP);
		CHECK_EQ(read(go[0], &ch, 1), 1);
		/* stops after reading the futex arming, before its CAS */
		CHECK_EQ(ringbuf_output(g_rb, &v, sizeof(v), 0), 0);
		/* (SIGCONT) the consumer now waits in fd mode, at the head */
		v = 2;
		CHECK_EQ(ringbuf_output(g_rb, &v, sizeof(v), 0), 0);
		_exit(0);
	}
	close(go[0]);

	/* The consumer sleeps on the futex. */
	CHECK(pthread_create(&pt, NULL, poll_thread, NULL) == 0);
	while (__atomic_load_n(&cons->consumer_waiting, __ATOMIC_ACQUIRE) != RINGBUF_WAIT_FUTEX)
		usleep(100);
	CHECK_EQ(write(go[1], "g", 1), 1);
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK(WIFSTOPPED(status));

	/* The producer holds the arming it read; the futex sleep ends by its
	 * timeout, without notify_seq moving: poll consumes record 1.  (A
	 * wakeup that is no notification does not end it: poll stays armed.) */
	while (!atomic_load(&g_done))
		usleep(1000);
	(void)meta;
	pthread_join(pt, NULL);
	CHECK_EQ(g_ret, 1);

	/* fd mode: armed at the notify_seq the stopped producer read */
	fd = ringbuf_epoll_fd(g_rb);
	CHECK(fd >= 0);
	CHECK(!readable(fd));
	CHECK_EQ(__atomic_load_n(&cons->consumer_waiting, __ATOMIC_ACQUIRE), RINGBUF_WAIT_FD);

	CHECK_EQ(kill(child, SIGCONT), 0);
	status = proc_wait_status(child, 30, 1000);
	CHECK(proc_exited_with(child, status, 0));

	/* record 2 was committed at the head of an armed consumer */
	if (!readable(fd))
		CHECK(!"the fd is readable: the late waker's CAS must not swallow the fd arming");
	CHECK_EQ(ringbuf_consume(g_rb, on_rec, NULL), 1);
	CHECK(!readable(fd));

	munmap(map, 2 * page);
	ringbuf_free(g_rb);
	printf("  late futex waker, fd arming: ok\n");
	test_free_order();
	printf("t_wakeswitch: ok\n");
	return T_PASS;
}
