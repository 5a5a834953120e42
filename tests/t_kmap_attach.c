/* SPDX-License-Identifier: MIT */
/*
 * t_kmap_attach -- the t_kmap tests of: test_attach, test_libbpf.
 * What they share, and the whole plan, are in tests/common/kmap_run.h.
 */
#include "kmap_run.h"

static void test_attach(void)
{
	struct ringbuf_opts bad_flags = { .sz = sizeof(bad_flags), .flags = 1 };
	struct ringbuf_opts bad_sz = { .sz = 0 };
	struct {
		struct ringbuf_opts o;
		uint64_t tail;
	} bad_tail = { { .sz = sizeof(bad_tail) }, 1 };
	struct ringbuf_opts good = { .sz = sizeof(good) };
	struct kobj k;
	struct ringbuf *rb, *user;
	uint32_t id, type, max;
	int fds_before, pipefd[2], array_fd, closed_fd, devnull;
	char buf[64] = { 0 };
	long r;

	kobj_load(&k);
	id = kbpf_map_id(k.rb_fd, &type, &max);
	CHECK_EQ(type, BPF_MAP_TYPE_RINGBUF);
	CHECK_EQ(max, KM_RING_SIZE);
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL);
	CHECK(array_fd >= 0);
	CHECK_EQ(pipe(pipefd), 0);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(devnull >= 0);
	/* a closed fd number far above those in use, so nothing reuses it */
	closed_fd = fcntl(k.rb_fd, F_DUPFD_CLOEXEC, 900);
	CHECK(closed_fd >= 900);
	CHECK_EQ(close(closed_fd), 0);
	user = ringbuf_new(4 * page, NULL);
	CHECK(user != NULL);
	fds_before = proc_count_fds();

	/* by fd: a duplicate the handle owns */
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);
	CHECK(ringbuf_fd(rb) >= 0);
	CHECK(ringbuf_fd(rb) != k.rb_fd);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), &type, &max), id);
	CHECK_EQ(type, BPF_MAP_TYPE_RINGBUF);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), max);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_query(rb, 77), 0);

	/* the consumer role only */
	errno = 0;
	r = ringbuf_output(rb, buf, 8, 0);
	CHECK_EQ(r, -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	CHECK_ERR(ringbuf_output(rb, buf, 0, RINGBUF_FORCE_WAKEUP), EOPNOTSUPP);
	CHECK_NULL_ERR(ringbuf_reserve(rb, 8, 0), EOPNOTSUPP);
	CHECK_NULL_ERR(ringbuf_reserve(rb, 0, 0), EOPNOTSUPP);
	CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 8, 0), EOPNOTSUPP);
	{
		uint64_t t0 = t_now_ns();

		CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 8, 2000), EOPNOTSUPP);
		CHECK(t_now_ns() - t0 < 1000000000ull); /* refused, not waited for */
	}
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), 0); /* nothing was written */

	roundtrip_one(&k, rb, 0, 0);
	roundtrip_one(&k, rb, 123, 7);
	ringbuf_free(rb);
	/* the caller's fd is untouched */
	CHECK_EQ(kbpf_map_id(k.rb_fd, NULL, NULL), id);
	rb = ringbuf_map_open(k.rb_fd, &good);
	CHECK(rb != NULL);
	ringbuf_free(rb);

	/* by id */
	rb = ringbuf_map_open_id(id, NULL);
	CHECK(rb != NULL);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), NULL, NULL), id);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), KM_RING_SIZE);
	roundtrip_one(&k, rb, 77, 3000);
	ringbuf_free(rb);
	CHECK_EQ(proc_count_fds(), fds_before);

	/* errors, none of which may leak a descriptor */
	CHECK_OPEN_ERR(ringbuf_map_open(-1, NULL), EBADF);
	CHECK_OPEN_ERR(ringbuf_map_open(-1000, NULL), EBADF);
	CHECK_OPEN_ERR(ringbuf_map_open(closed_fd, NULL), EBADF);
	CHECK_OPEN_ERR(ringbuf_map_open(pipefd[0], NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(pipefd[1], NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(devnull, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(ringbuf_fd(user), NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.prog_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(array_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.plan_fd, NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open(k.rb_fd, &bad_flags), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open(k.rb_fd, &bad_sz), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open(k.rb_fd, &bad_tail.o), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(0xfffffff0u, NULL), ENOENT);
	CHECK_OPEN_ERR(ringbuf_map_open_id(id, &bad_flags), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_id(kbpf_map_id(array_fd, NULL, NULL), NULL), EMEDIUMTYPE);
	CHECK_OPEN_ERR(ringbuf_map_open_pinned(NULL, NULL), EINVAL);
	CHECK_OPEN_ERR(ringbuf_map_open_pinned("/sys/fs/bpf/t_kmap_no_such_pin_xyz", NULL), ENOENT);
	CHECK_EQ(proc_count_fds(), fds_before);

	test_pinned(&k, array_fd);
	CHECK_EQ(proc_count_fds(), fds_before);

	ringbuf_free(user);
	close(devnull);
	close(pipefd[0]);
	close(pipefd[1]);
	close(array_fd);
	kobj_free(&k);
}

static void test_libbpf(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct ring_buffer *lb;
	struct plan p;
	struct km_ctx c;
	struct list *l1 = calloc(1, sizeof(*l1)), *l2 = calloc(1, sizeof(*l2));
	uint64_t seed = 7, seed0;
	int n;

	CHECK(l1 && l2);
	kobj_load(&k);
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);
	lb = ring_buffer__new(k.rb_fd, collect, l1, NULL);
	CHECK(lb != NULL);

	/* the same sequence, once through each library, several times over
	 * (positions move round the ring) */
	for (int round = 0; round < 6; round++) {
		seed0 = seed;
		random_plan(&p, ringbuf_query(rb, RINGBUF_PROD_POS), &seed, 30);
		run_plan(&k, &p, &c);
		n = ring_buffer__consume(lb);
		CHECK_EQ(n, p.nexp);
		check_positions(rb, &k);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);

		seed = seed0;
		random_plan(&p, ringbuf_query(rb, RINGBUF_PROD_POS), &seed, 30);
		run_plan(&k, &p, &c);
		CHECK_EQ(ringbuf_consume(rb, collect, l2), p.nexp);
		check_positions(rb, &k);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
		CHECK_EQ(ring_buffer__consume(lb), 0); /* libbpf sees our position */

		CHECK_EQ(atomic_load(&l1->n), atomic_load(&l2->n));
		for (int i = 0; i < atomic_load(&l1->n); i++) {
			CHECK_EQ(l1->r[i].size, l2->r[i].size);
			CHECK(memcmp(l1->r[i].data, l2->r[i].data, l1->r[i].size) == 0);
		}
		check_recs(l2, 0, p.exp, p.nexp, &k);
		list_clear(l1);
		list_clear(l2);
	}

	/* taking turns: libbpf takes a few (its callback stops it), then
	 * ringbuf a few; the stream continues across them */
	for (int round = 0; round < 4; round++) {
		int got = 0, turn = 0;

		random_plan(&p, ringbuf_query(rb, RINGBUF_PROD_POS), &seed, 40);
		run_plan(&k, &p, &c);
		while (got < p.nexp) {
			int want = 1 + (turn + round) % 4, before = atomic_load(&l1->n);

			if (turn & 1) {
				n = ringbuf_consume_n(rb, collect, l1, (size_t)want);
				CHECK_EQ(n, want < p.nexp - got ? want : p.nexp - got);
			} else {
				l1->call_cnt = 0;
				l1->call_limit = want;
				l1->stop_ret = -ECANCELED;
				n = ring_buffer__consume(lb);
				l1->call_limit = 0;
				if (want <= p.nexp - got) {
					CHECK_EQ(n, -ECANCELED);
					n = want;
				} else {
					CHECK_EQ(n, p.nexp - got);
				}
			}
			CHECK_EQ(atomic_load(&l1->n) - before, n);
			got += n;
			/* both see the position of the last record delivered */
			CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[got - 1].end);
			turn++;
		}
		CHECK(turn >= 10);
		CHECK_EQ(ringbuf_consume(rb, collect, l1), 0);
		CHECK_EQ(ring_buffer__consume(lb), 0);
		check_recs(l1, 0, p.exp, p.nexp, &k);
		check_positions(rb, &k);
		CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
		list_clear(l1);
	}

	ring_buffer__free(lb);
	ringbuf_free(rb);
	kobj_free(&k);
	free(l1);
	free(l2);
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	kbpf_require();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_attach();
	test_libbpf();
	printf("t_kmap_attach: ok\n");
	return 0;
}
