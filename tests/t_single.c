/* SPDX-License-Identifier: MIT */
/*
 * t_single -- single-producer rings (RINGBUF_F_SINGLE_PRODUCER).
 *
 *   - the claim: the first thread that reserves through a handle owns the
 *     ring; another thread on that handle, another handle in this process,
 *     another process: -EBUSY (errno EBUSY from reserve), nothing written,
 *     the claimant's records intact; ringbuf_free() of the claiming handle
 *     gives the claim back;
 *   - a fork()ed child of the claimant cannot produce while the claimant
 *     lives (its copy of the handle is not the claim);
 *   - a claimant process killed (SIGKILL) mid-stream: the next producer
 *     takes the claim over at once (lock_steals), nothing lost that was
 *     committed;
 *   - a producer thread streaming 2M records to a consumer thread: every
 *     record once, in order; the flag shows in stats and survives
 *     ringbuf_open() by name; bad uses (kernel maps) refused with EINVAL.
 * The records' bytes are the kernel's: tests/t_diff_* run on such a ring.
 */
#include "test.h"
#include "proc.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static const struct ringbuf_opts g_sp = { .sz = sizeof(g_sp), .flags = RINGBUF_F_SINGLE_PRODUCER };

struct arg {
	struct ringbuf *rb;
	long ret;
	int err;
	uint32_t n;
};

static void *output_once(void *p)
{
	struct arg *a = p;
	uint64_t v = 42;

	a->ret = ringbuf_output(a->rb, &v, sizeof(v), 0);
	errno = 0;
	a->err = ringbuf_reserve(a->rb, 8, 0) ? 0 : errno;
	return NULL;
}

static int count_rec(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(uint32_t *)ctx)++;
	return 0;
}

static void test_claim(void)
{
	struct ringbuf *rb = ringbuf_new(1u << 16, &g_sp), *rb2;
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct arg a = { 0 };
	uint64_t v = 1;
	uint32_t n = 0;
	pthread_t th;

	CHECK(rb);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK(st.flags & RINGBUF_F_SINGLE_PRODUCER);
	CHECK_EQ(ringbuf_output(rb, &v, sizeof(v), 0), 0); /* this thread claims */

	/* another thread, same handle */
	a.rb = rb;
	CHECK_EQ(pthread_create(&th, NULL, output_once, &a), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(a.ret, -EBUSY);
	CHECK_EQ(a.err, EBUSY);

	/* another handle, same process (even the same thread) */
	rb2 = ringbuf_from_fd(ringbuf_fd(rb), NULL);
	CHECK(rb2);
	CHECK_EQ(ringbuf_output(rb2, &v, sizeof(v), 0), -EBUSY);

	/* another process */
	{
		pid_t pid = proc_fork_child(getpid(), 10);

		if (pid == 0) {
			/* our copy of the claiming handle is not the claim */
			_exit(ringbuf_output(rb, &v, sizeof(v), 0) == -EBUSY &&
					      ringbuf_output(rb2, &v, sizeof(v), 0) == -EBUSY
				      ? 0
				      : 1);
		}
		CHECK(proc_exited_with(pid, proc_wait_status(pid, 10, 1000), 0));
	}
	CHECK_EQ(ringbuf_output(rb, &v, sizeof(v), 0), 0); /* the claimant still can */
	CHECK_EQ(ringbuf_consume(rb, count_rec, &n), 2);
	CHECK_EQ(n, 2);

	/* ringbuf_free() of a handle that never claimed changes nothing;
	 * then a new handle cannot claim while the claiming one is open */
	ringbuf_free(rb2);
	rb2 = ringbuf_from_fd(ringbuf_fd(rb), NULL);
	CHECK(rb2);
	CHECK_EQ(ringbuf_output(rb2, &v, sizeof(v), 0), -EBUSY);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.refused_full, 0); /* EBUSY is not "full" */

	/* free of the claimant: the next handle (another thread) may claim */
	{
		int fd = dup(ringbuf_fd(rb));

		CHECK(fd >= 0);
		ringbuf_free(rb);
		a = (struct arg){ .rb = rb2 };
		CHECK_EQ(pthread_create(&th, NULL, output_once, &a), 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK_EQ(a.ret, 0);
		CHECK_EQ(a.err, 0); /* its reserve too (left BUSY: the handle goes) */
		close(fd);
	}
	ringbuf_free(rb2);
}

/* A claimant killed mid-stream: its committed records stay, and the next
 * producer takes the claim over. */
static void test_dead_claimant(void)
{
	char name[64];
	struct ringbuf *rb, *p;
	struct ringbuf_stats st = { .sz = sizeof(st) };
	int sync[2];
	uint32_t n = 0;
	uint64_t v = 7;
	pid_t pid;

	snprintf(name, sizeof(name), "t_single_%d", (int)getpid());
	ringbuf_unlink(name);
	rb = ringbuf_create(name, 1u << 20, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							       .flags = RINGBUF_F_SINGLE_PRODUCER,
							       .role = RINGBUF_ROLE_CONSUMER });
	CHECK(rb);
	CHECK_EQ(pipe(sync), 0);
	pid = proc_fork_child(getpid(), 30);
	if (pid == 0) {
		struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
		struct ringbuf *c = ringbuf_open(name, &po);

		if (!c)
			_exit(2);
		for (uint64_t i = 0; i < 1000; i++)
			if (ringbuf_output(c, &i, sizeof(i), RINGBUF_NO_WAKEUP))
				_exit(3);
		if (write(sync[1], "c", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	CHECK(proc_read_msg(sync[0], &(char){ 0 }, 1, 10000));
	{
		struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };

		p = ringbuf_open(name, &po);
		CHECK(p);
		CHECK_EQ(ringbuf_stats(p, &st), 0);
		CHECK(st.flags & RINGBUF_F_SINGLE_PRODUCER); /* from the ring */
		CHECK_EQ(ringbuf_output(p, &v, sizeof(v), 0), -EBUSY); /* it lives */
		kill(pid, SIGKILL);
		CHECK(WIFSIGNALED(proc_wait_status(pid, 10, 1000)));
		CHECK_EQ(ringbuf_output(p, &v, sizeof(v), 0), 0); /* taken over */
		CHECK_EQ(ringbuf_stats(p, &st), 0);
		CHECK_EQ(st.lock_steals, 1);
	}
	CHECK_EQ(ringbuf_consume(rb, count_rec, &n), 1001);
	ringbuf_free(p);
	ringbuf_free(rb);
	close(sync[0]);
	close(sync[1]);
	CHECK_EQ(ringbuf_unlink(name), 0);
}

/* A stream through a single-producer ring, consumer in another thread. */
#define STREAM 2000000u

struct stream {
	struct ringbuf *rb;
	uint64_t next;
	bool done;
};

static int check_seq(void *ctx, void *data, size_t size)
{
	struct stream *s = ctx;
	uint64_t v;

	CHECK_EQ(size, sizeof(v));
	memcpy(&v, data, sizeof(v));
	if (v == UINT64_MAX) {
		s->done = true;
		return 0;
	}
	CHECK_EQ(v, s->next);
	s->next++;
	return 0;
}

static void *stream_consumer(void *p)
{
	struct stream *s = p;

	while (!s->done)
		CHECK(ringbuf_poll(s->rb, check_seq, s, 1000) >= 0);
	return NULL;
}

static void test_stream(void)
{
	struct stream s = { .rb = ringbuf_new(1u << 18, &g_sp) };
	uint64_t end = UINT64_MAX;
	pthread_t th;

	CHECK(s.rb);
	CHECK_EQ(pthread_create(&th, NULL, stream_consumer, &s), 0);
	for (uint64_t i = 0; i < STREAM;) {
		long e = (i & 1) ? ringbuf_output(s.rb, &i, sizeof(i), 0) : 0;

		if (!(i & 1)) {
			uint64_t *r = ringbuf_reserve(s.rb, sizeof(i), 0);

			if (r) {
				*r = i;
				ringbuf_submit(r, 0);
			} else {
				e = -errno;
			}
		}
		if (e == 0)
			i++;
		else
			CHECK_EQ(e, -EAGAIN);
	}
	while (ringbuf_output(s.rb, &end, sizeof(end), RINGBUF_FORCE_WAKEUP) == -EAGAIN)
		usleep(1000);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(s.next, STREAM);
	ringbuf_free(s.rb);
}

int main(void)
{
	CHECK_NULL_ERR(ringbuf_map_open(0, &g_sp), EINVAL);
	test_claim();
	test_dead_claimant();
	test_stream();
	printf("t_single: ok\n");
	return 0;
}
