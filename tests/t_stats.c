/* SPDX-License-Identifier: MIT */
/*
 * t_stats -- ringbuf_stats(): every counter moves exactly when its event
 * happens, in every process that uses the ring, and the struct can grow.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(int *)ctx)++;
	return 0;
}

static struct ringbuf_stats stats_of(struct ringbuf *rb)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };

	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.sz, sizeof(st));
	return st;
}

static void test_counts(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ringbuf *rb = ringbuf_new((size_t)page, NULL);
	unsigned char buf[64] = { 0 };
	struct ringbuf_stats st;
	int got = 0;
	void *s;

	CHECK(rb != NULL);
	st = stats_of(rb);
	CHECK_EQ(st.reserved, 0);
	CHECK_EQ(st.ring_size, page);
	CHECK_EQ(st.avail_data, 0);
	CHECK_EQ(st.consumer_pid, 0);

	CHECK_EQ(ringbuf_output(rb, buf, 10, 0), 0);
	s = ringbuf_reserve(rb, 20, 0);
	CHECK(s != NULL);
	ringbuf_submit(s, 0);
	s = ringbuf_reserve(rb, 30, 0);
	CHECK(s != NULL);
	ringbuf_discard(s, 0);
	st = stats_of(rb);
	CHECK_EQ(st.reserved, 3);
	CHECK_EQ(st.reserved_bytes, 60);
	CHECK_EQ(st.discarded, 1);
	CHECK_EQ(st.producer_pos, 24 + 32 + 40);
	CHECK_EQ(st.avail_data, 24 + 32 + 40);

	/* refusals, one cause each */
	CHECK_EQ(ringbuf_output(rb, buf, 8, 4), -EINVAL);
	CHECK(ringbuf_reserve(rb, 8, 1) == NULL);
	CHECK_EQ(ringbuf_output(rb, buf, (uint64_t)page, 0), -E2BIG);
	CHECK_EQ(ringbuf_output(rb, buf, (uint64_t)page - 8, 0), -E2BIG); /* == ring size */
	while (ringbuf_output(rb, buf, 64, 0) == 0)
		;
	st = stats_of(rb);
	CHECK_EQ(st.refused_flags, 2);
	CHECK_EQ(st.refused_too_big, 2);
	CHECK_EQ(st.refused_full, 1);
	CHECK_EQ(st.reserved, 3 + (uint64_t)(page - 8 - 96) / 72);

	CHECK(ringbuf_consume(rb, count_cb, &got) > 0);
	st = stats_of(rb);
	CHECK_EQ(st.consumer_pos, st.producer_pos);
	CHECK_EQ(st.avail_data, 0);
	ringbuf_free(rb);
}

/* A shorter struct gets only what it holds; a NULL or too-short one is
 * refused. */
static void test_sizes(void)
{
	struct ringbuf *rb = ringbuf_new((size_t)sysconf(_SC_PAGESIZE), NULL);
	struct {
		size_t sz;
		uint64_t reserved;
		uint64_t canary;
	} small = { .sz = sizeof(size_t) + sizeof(uint64_t), .canary = 0x5a5a5a5a5a5a5a5aULL };
	struct ringbuf_stats st = { .sz = 0 };

	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_output(rb, "x", 1, 0), 0);
	CHECK_EQ(ringbuf_stats(rb, (struct ringbuf_stats *)&small), 0);
	CHECK_EQ(small.reserved, 1);
	CHECK_EQ(small.canary, 0x5a5a5a5a5a5a5a5aULL);
	CHECK_ERR(ringbuf_stats(rb, &st), EINVAL);
	CHECK_EQ(ringbuf_stats(NULL, &st), -EINVAL);
	CHECK_EQ(ringbuf_stats(rb, NULL), -EINVAL);
	ringbuf_free(rb);
}

static void *poller(void *arg)
{
	int got = 0;

	return (void *)(intptr_t)ringbuf_poll(arg, count_cb, &got, 5000);
}

/* Counters live in the shared memory: a child's records and a wakeup it
 * sends are seen by the parent; a consumer claim shows its pid. */
static void test_shared(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf *rb = ringbuf_new((size_t)sysconf(_SC_PAGESIZE), &co);
	struct ringbuf_stats st;
	pthread_t t;
	void *ret;
	pid_t pid;
	int status;

	CHECK(rb != NULL);
	st = stats_of(rb);
	CHECK_EQ(st.consumer_pid, getpid());
	CHECK_EQ(pthread_create(&t, NULL, poller, rb), 0);
	t_sleep_ms(100); /* the poller is asleep: the ring is empty */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* the child produces through a producer handle of its own */
		struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
		struct ringbuf *p = ringbuf_from_fd(ringbuf_fd(rb), &po);
		void *s;

		if (!p || ringbuf_output(p, "abc", 3, 0) != 0)
			_exit(1);
		s = ringbuf_reserve(p, 5, 0);
		if (!s)
			_exit(2);
		ringbuf_discard(s, 0);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK_EQ((intptr_t)ret, 1); /* woken by the adaptive record */
	st = stats_of(rb);
	CHECK_EQ(st.reserved, 2);
	CHECK_EQ(st.reserved_bytes, 8);
	CHECK_EQ(st.discarded, 1);
	CHECK_EQ(st.wakeups, 1);
	ringbuf_free(rb);
}

int main(void)
{
	test_counts();
	test_sizes();
	test_shared();
	return T_PASS;
}
