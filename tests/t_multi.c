/* SPDX-License-Identifier: MIT */
/*
 * t_multi.c -- struct ringbuf_manager over ringbuf rings: the expectations
 * of the kernel's prog_tests/ringbuf_multi.c (records land in the right
 * callback with the right ctx, poll totals, a second poll finds nothing, an
 * invalid ring is refused), plus: a ring added later is served, including
 * what it already holds; consume and consume_n across rings; a callback's
 * error; the manager's epoll fd nested in another event loop; a producer
 * in another process attached by name.  t_kmulti does the same with
 * kernel BPF_MAP_TYPE_RINGBUF maps.
 */
#include <poll.h>
#include <sys/epoll.h>

#include "multi_expect.h"
#include "proc.h"
#include "ringbuf.h"
#include "test.h"

static size_t g_page;

static int g_seen[4];  /* records delivered per ring (ctx) */
static int g_fail_at;  /* a callback returns -7 at this seq (0: never) */

/* The selftest's process_sample: seq 0 belongs to ring 1 with 333, seq 1
 * to ring 2 with 777; the extra cases use seq >= 100 for any ring. */
static int process_sample(void *ctx, void *data, size_t len)
{
	int ring = (int)(long)ctx;
	struct multi_sample s;

	CHECK_EQ(len, sizeof(s));
	memcpy(&s, data, sizeof(s));
	if (!multi_selftest_sample(ring, &s)) {
		CHECK(s.seq >= 100);
		CHECK_EQ(s.value, ring * 1000 + s.seq);
	}
	CHECK(ring >= 1 && ring <= 3);
	g_seen[ring]++;
	if (g_fail_at && s.seq == g_fail_at)
		return -7;
	return 0;
}

static void put(struct ringbuf *rb, int seq, long value)
{
	struct multi_sample s = { .pid = getpid(), .seq = seq, .value = value };

	CHECK_EQ(ringbuf_output(rb, &s, sizeof(s), 0), 0);
}

/* seq >= 100 records for ring @ring */
static void put_n(struct ringbuf *rb, int ring, int first, int n)
{
	for (int i = 0; i < n; i++)
		put(rb, first + i, ring * 1000L + first + i);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_errors(void)
{
	struct ringbuf_opts bad = { .sz = sizeof(bad), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf_manager *m;
	struct ringbuf *rb, *prod;

	errno = 0;
	CHECK(ringbuf_manager_new(&bad) == NULL && errno == EINVAL);
	bad.role = 0;
	bad.flags = 1;
	CHECK(ringbuf_manager_new(&bad) == NULL && errno == EINVAL);
	m = ringbuf_manager_new(NULL);
	CHECK(m);
	rb = ringbuf_new(g_page, NULL);
	CHECK(rb);
	CHECK_EQ(ringbuf_manager_add(NULL, rb, process_sample, NULL), -EINVAL);
	CHECK_EQ(ringbuf_manager_add(m, NULL, process_sample, NULL), -EINVAL);
	CHECK_EQ(ringbuf_manager_add(m, rb, NULL, NULL), -EINVAL);
	CHECK_EQ(errno, EINVAL);
	prod = ringbuf_from_fd(ringbuf_fd(rb), &po);
	CHECK(prod);
	CHECK_EQ(ringbuf_manager_add(m, prod, process_sample, NULL), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	CHECK_EQ(ringbuf_manager_add(m, rb, process_sample, (void *)1L), 0);
	CHECK_EQ(ringbuf_manager_add(m, rb, process_sample, (void *)1L), -EEXIST);
	CHECK_EQ(ringbuf_manager_poll(NULL, 0), -EINVAL);
	CHECK_EQ(ringbuf_manager_consume(NULL), -EINVAL);
	CHECK_EQ(ringbuf_manager_consume_n(NULL, 1), -EINVAL);
	CHECK_EQ(ringbuf_manager_epoll_fd(NULL), -EINVAL);
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);
	ringbuf_manager_free(m);
	ringbuf_manager_free(NULL);
	m = ringbuf_manager_new(NULL);
	CHECK(m);
	CHECK_EQ(ringbuf_manager_poll(m, 10), 0); /* no rings: nothing to wait for */
	ringbuf_manager_free(m);
	ringbuf_free(prod);
	ringbuf_free(rb);
}

/* prog_tests/ringbuf_multi.c, with ringbuf rings in the kernel's place. */
static void test_selftest_port(void)
{
	struct ringbuf *r1 = ringbuf_new(g_page, NULL), *r2 = ringbuf_new(g_page, NULL);
	struct ringbuf *r3 = ringbuf_new(4 * g_page, NULL);
	struct ringbuf_manager *m = ringbuf_manager_new(NULL);
	int total = 0, skipped = 0, ep, outer;
	struct epoll_event ev = { .events = EPOLLIN };

	CHECK(r1 && r2 && r3 && m);
	CHECK_EQ(ringbuf_manager_add(m, r1, process_sample, (void *)1L), 0);
	CHECK_EQ(ringbuf_manager_add(m, r2, process_sample, (void *)2L), 0);
	/* target_ring 0 -> ring 1, 1 -> no ring (skipped), 2 -> ring 2 */
	put(r1, total++, 333);
	skipped++;
	put(r2, total++, 777);
	CHECK_EQ(ringbuf_manager_poll(m, -1), 2); /* both rings, one wait */
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);  /* nothing extra */
	CHECK_EQ(g_seen[1], 1);
	CHECK_EQ(g_seen[2], 1);
	CHECK_EQ(total, 2);
	CHECK_EQ(skipped, 1);

	/* a ring added later is served, with what it already holds */
	put_n(r3, 3, 100, 5);
	CHECK_EQ(ringbuf_manager_add(m, r3, process_sample, (void *)3L), 0);
	CHECK_EQ(ringbuf_manager_poll(m, 1000), 5);
	CHECK_EQ(g_seen[3], 5);

	/* consume_n takes earlier rings first; consume takes the rest */
	put_n(r1, 1, 110, 3);
	put_n(r2, 2, 120, 2);
	CHECK_EQ(ringbuf_manager_consume_n(m, 4), 4);
	CHECK_EQ(g_seen[1], 4);
	CHECK_EQ(g_seen[2], 2);
	CHECK_EQ(ringbuf_manager_consume(m), 1);
	CHECK_EQ(ringbuf_manager_consume(m), 0);
	CHECK_EQ(ringbuf_manager_consume_n(m, 0), 0);

	/* the manager's fd, nested in the application's own epoll */
	outer = ringbuf_manager_epoll_fd(m);
	CHECK(outer >= 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev), 0);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	put_n(r2, 2, 130, 1);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 1000), 1);
	CHECK_EQ(ringbuf_manager_poll(m, 0), 1);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	CHECK(!readable(outer));
	close(ep);

	/* a callback's error stops the poll and is returned; the rest of
	 * that ring stays announced */
	put_n(r1, 1, 140, 3);
	g_fail_at = 141;
	CHECK_EQ(ringbuf_manager_poll(m, 1000), -7);
	g_fail_at = 0;
	CHECK_EQ(ringbuf_manager_poll(m, 1000), 1);
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);

	ringbuf_manager_free(m);
	/* the rings outlive the manager, still usable */
	put_n(r1, 1, 150, 1);
	CHECK_EQ(ringbuf_poll(r1, process_sample, (void *)1L, 1000), 1);
	ringbuf_free(r1);
	ringbuf_free(r2);
	ringbuf_free(r3);
}

/* Producers in another process attached by name, to two rings; the
 * manager waits for both in one epoll_wait(); a wait that times out with
 * records owed is a lost wakeup. */
static void test_processes(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	const char *names[2] = { "t_multi_a", "t_multi_b" };
	const int per = 20000;
	struct ringbuf *rb[2];
	struct ringbuf_manager *m = ringbuf_manager_new(NULL);
	int got = 0, status;
	pid_t pid;

	CHECK(m);
	for (int i = 0; i < 2; i++) {
		ringbuf_unlink(names[i]);
		rb[i] = ringbuf_create(names[i], 4 * g_page, &co);
		CHECK(rb[i]);
		CHECK_EQ(ringbuf_manager_add(m, rb[i], process_sample, (void *)(long)(i + 1)), 0);
	}
	memset(g_seen, 0, sizeof(g_seen));
	pid = proc_fork_child(getpid(), 60);
	if (pid == 0) {
		struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
		struct ringbuf *p[2] = { ringbuf_open(names[0], &po), ringbuf_open(names[1], &po) };
		uint64_t rnd = 88172645463325252ull;

		if (!p[0] || !p[1])
			_exit(2);
		for (int i = 0; i < per; i++) {
			int r = (int)(t_rand(&rnd) & 1);
			struct multi_sample s = { .seq = 100 + i, .value = (r + 1) * 1000L + 100 + i };

			while (ringbuf_output(p[r], &s, sizeof(s), 0) == -EAGAIN)
				usleep(100);
			if ((t_rand(&rnd) & 63) == 0)
				usleep(50);
		}
		_exit(0);
	}
	while (got < per) {
		int r = ringbuf_manager_poll(m, 5000);

		if (r == 0)
			fprintf(stderr, "no wakeup with %d of %d records received\n", got, per);
		CHECK(r > 0);
		got += r;
	}
	CHECK_EQ(got, per);
	CHECK_EQ(g_seen[1] + g_seen[2], per);
	CHECK(g_seen[1] > 0 && g_seen[2] > 0);
	status = proc_wait_status(pid, 30, 1000);
	CHECK(proc_exited_with(pid, status, 0));
	CHECK_EQ(ringbuf_manager_poll(m, 0), 0);
	ringbuf_manager_free(m);
	for (int i = 0; i < 2; i++) {
		ringbuf_free(rb[i]);
		CHECK_EQ(ringbuf_unlink(names[i]), 0);
	}
}

int main(void)
{
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	test_errors();
	test_selftest_port();
	test_processes();
	printf("t_multi: ok\n");
	return 0;
}
