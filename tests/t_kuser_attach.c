/* SPDX-License-Identifier: MIT */
/*
 * t_kuser_attach -- the t_kuser tests of: test_attach, test_reserve_wait, test_fork.
 * What they share, and the whole plan, are in tests/common/kuser_run.h.
 */
#include "kuser_run.h"

static void test_attach(void)
{
	struct ringbuf_opts bad = { .sz = sizeof(bad), .flags = 1 };
	struct kobj k;
	struct ringbuf *rb;
	int fds, array_fd, pipefd[2];
	uint64_t t0;

	kobj_load(&k);
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	CHECK(array_fd >= 0);
	CHECK_EQ(pipe(pipefd), 0);
	fds = proc_count_fds();

	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	CHECK(ringbuf_fd(rb) >= 0 && ringbuf_fd(rb) != k.urb_fd);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), NULL, NULL), kbpf_map_id(k.urb_fd, NULL, NULL));
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), SZ);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, 77), 0);

	/* the producer role only */
	CHECK_ERR(ringbuf_consume(rb, nop_cb, NULL), EOPNOTSUPP);
	CHECK_ERR(ringbuf_consume_n(rb, nop_cb, NULL, 5), EOPNOTSUPP);
	CHECK_ERR(ringbuf_poll(rb, nop_cb, NULL, 0), EOPNOTSUPP);
	/* with a record waiting, too, and without waiting for the timeout */
	CHECK_EQ(ringbuf_output(rb, "abcdefgh", 8, 0), 0);
	t0 = t_now_ns();
	CHECK_ERR(ringbuf_poll(rb, nop_cb, NULL, 2000), EOPNOTSUPP);
	CHECK(t_now_ns() - t0 < 1000000000ull);
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, nop_cb, NULL), -EOPNOTSUPP);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0); /* nothing consumed */
	{
		struct ku_ctx c = drain(&k);

		CHECK_EQ(c.ret, 1);
		CHECK_EQ(k.log->len[0], 8);
		CHECK_EQ(k.log->fnv[0], t_fnv1a("abcdefgh", 8));
	}
	roundtrip(&k, rb, 1);
	ringbuf_free(rb);
	CHECK_EQ(kbpf_map_id(k.urb_fd, NULL, NULL), kbpf_map_id(k.urb_fd, NULL, NULL)); /* caller's fd still open */

	rb = ringbuf_map_open_id(kbpf_map_id(k.urb_fd, NULL, NULL), NULL);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), SZ);
	roundtrip(&k, rb, 2);
	ringbuf_free(rb);
	CHECK_EQ(proc_count_fds(), fds);

	CHECK_OPEN_ERR(ringbuf_map_open(-1, NULL), EBADF);
	CHECK_OPEN_ERR(ringbuf_map_open(pipefd[1], NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.prog_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(array_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.urb_fd, &bad), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(kbpf_map_id(k.urb_fd, NULL, NULL), &bad), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(0xfffffff0u, NULL), ENOENT);
	CHECK_OPEN_ERR(ringbuf_map_open_pinned(NULL, NULL), EINVAL);
	CHECK_EQ(proc_count_fds(), fds);

	test_pinned(&k);
	CHECK_EQ(proc_count_fds(), fds);

	close(pipefd[0]);
	close(pipefd[1]);
	close(array_fd);
	kobj_free(&k);
}

static void test_reserve_wait(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct delayed d;
	pthread_t t;
	uint64_t t0, el;
	void *p;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	fill(src, 24, 0);

	/* on a ring with room: at once */
	p = ringbuf_reserve_wait(rb, 24, -1);
	CHECK(p != NULL);
	ringbuf_discard(p, 0);
	CHECK_EQ(drain(&k).ret, 0);

	CHECK_EQ(fill_up(rb), SZ / 32);
	/* timeout 0: one try */
	t0 = t_now_ns();
	CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 24, 0), EAGAIN);
	CHECK(t_now_ns() - t0 < 100000000ull);
	/* a timeout on a full ring: EAGAIN after (about) the timeout */
	for (int ms = 100; ms <= 300; ms += 200) {
		t0 = t_now_ns();
		errno = 0;
		CHECK(ringbuf_reserve_wait(rb, 24, ms) == NULL);
		el = t_now_ns() - t0;
		CHECK_EQ(errno, EAGAIN);
		if (el < (uint64_t)ms * 900000ull || el > (uint64_t)ms * 1000000ull + 1000000000ull) {
			fprintf(stderr, "reserve_wait(%d ms) gave up after %.1f ms\n", ms, el / 1e6);
			CHECK(!"reserve_wait timeout");
		}
	}

	/* a drain 50 ms later wakes it early (EPOLLOUT) */
	for (int pass = 0; pass < 2; pass++) {
		int timeout = pass ? -1 : 5000;

		d = (struct delayed){ .k = &k, .delay_ms = 50 };
		CHECK(pthread_create(&t, NULL, delayed_drain, &d) == 0);
		t0 = t_now_ns();
		p = ringbuf_reserve_wait(rb, 24, timeout);
		el = t_now_ns() - t0;
		CHECK(p != NULL);
		if (el < 40000000ull || el > 2000000000ull) {
			fprintf(stderr, "reserve_wait(%d) returned after %.1f ms\n", timeout, el / 1e6);
			CHECK(!"reserve_wait woken");
		}
		memcpy(p, src, 24);
		ringbuf_submit(p, 0);
		CHECK(pthread_join(t, NULL) == 0);
		/* woken by the drain (EPOLLOUT), not by a timer of its own */
		if (t0 + el > d.drained_at + 250000000ull) {
			fprintf(stderr, "reserve_wait(%d) returned %.1f ms after the drain\n", timeout,
				(double)(t0 + el - d.drained_at) / 1e6);
			CHECK(!"reserve_wait woken late");
		}
		CHECK_EQ(d.c.ret, SZ / 32);
		CHECK_EQ(drain(&k).ret, 1);
		CHECK_EQ(k.log->fnv[0], t_fnv1a(src, 24));
		CHECK_EQ(fill_up(rb), SZ / 32);
	}
	CHECK_EQ(drain(&k).ret, SZ / 32);

	ringbuf_free(rb);
	kobj_free(&k);
}

static void test_fork(void)
{
	pid_t parent = getpid();
	pthread_t thr[2];
	struct ringbuf *rb;
	struct kobj k;

	kobj_load(&k);
	rb = ringbuf_map_open(k.urb_fd, NULL);
	CHECK(rb != NULL);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&thr[i], NULL, fork_producer, rb) == 0);
	for (int i = 0; i < 200; i++) {
		pid_t pid = proc_fork_child(parent, 30);
		int status;

		if (pid == 0) {
			void *p = ringbuf_reserve(rb, 8, 0);

			if (p)
				ringbuf_discard(p, 0);
			_exit(p || errno == EAGAIN ? 0 : 3);
		}
		CHECK(pid > 0);
		/* a child that hangs in the library fails the test */
		status = proc_wait_status(pid, 5, 200);
		CHECK(proc_exited_with(pid, status, 0));
	}
	atomic_store(&g_fork_stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(thr[i], NULL);
	ringbuf_free(rb);
	kobj_free(&k);
	printf("fork while producing: ok\n");
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	kbpf_require();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_attach();
	test_reserve_wait();
	test_fork();
	printf("t_kuser_attach: ok\n");
	return 0;
}
