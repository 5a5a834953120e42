/* SPDX-License-Identifier: MIT */
/*
 * t_names_access -- the t_names tests of: test_access, test_never_half_made, test_by_name.
 * What they share, and the whole plan, are in tests/common/names.h.
 */
#include "names.h"

/* A process whose uid the mode refuses (we run as root: drop to nobody). */
static void test_access(void)
{
	char name[256], rwname[256];

	if (geteuid() != 0) {
		printf("access: skipped (not root)\n");
		return;
	}
	mkname(name, sizeof(name), "acc");
	mkname(rwname, sizeof(rwname), "accrw");
	struct ringbuf_opts m0604 = { .sz = sizeof(m0604), .mode = 0604 };
	struct ringbuf_opts m0606 = { .sz = sizeof(m0606), .mode = 0606 };
	struct ringbuf *a = ringbuf_create(name, g_ds, &m0604);
	CHECK(a != NULL);
	struct ringbuf *b = ringbuf_create(rwname, g_ds, &m0606);
	CHECK(b != NULL);

	pid_t pid = fork_child();
	if (pid == 0) {
		if (t_become(65534))
			_exit(77);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the uid change */
		/* read-only for us: a ring needs read-write */
		expect_open_err(name, NULL, EACCES, "mode 0604, other uid");
		struct ringbuf_opts prod = opts_role(RINGBUF_ROLE_PRODUCER);
		expect_open_err(name, &prod, EACCES, "mode 0604, other uid, producer");
		/* sticky /dev/shm: not ours to remove */
		int r = ringbuf_unlink(name);
		CHECK(r == -EACCES || r == -EPERM);
		CHECK_EQ(errno, -r);
		/* mode 0606 lets us in */
		struct ringbuf *rb = ringbuf_open(rwname, &prod);
		CHECK(rb != NULL);
		CHECK_EQ(out_rec(rb, 0xC2, 0, 0), 0);
		ringbuf_free(rb);
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("access: skipped (cannot change uid)\n");
	} else {
		CHECK_EQ(WEXITSTATUS(status), 0);
		consume_expect(b, 0xC2, 0, 1);
		CHECK(name_exists(name));
		printf("access: ok\n");
	}
	ringbuf_free(a);
	ringbuf_free(b);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK_EQ(ringbuf_unlink(rwname), 0);
}

static void test_never_half_made(void)
{
	char name[256];
	const int rounds = 1000;
	pid_t pids[OPENERS];

	mkname(name, sizeof(name), "race");
	struct race *rs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(rs != MAP_FAILED);
	memset(rs, 0, sizeof(*rs));

	for (int k = 0; k < OPENERS; k++) {
		pids[k] = fork_child();
		if (pids[k] == 0)
			opener(name, rs);
	}
	/* every opener has seen the name missing */
	uint64_t t0 = t_now_ns();
	while (__atomic_load_n(&rs->ready, __ATOMIC_ACQUIRE) < OPENERS && !race_bad(rs)) {
		CHECK(t_now_ns() - t0 < 5000000000ull);
		usleep(100);
	}
	for (int i = 0; i < rounds && !race_bad(rs); i++) {
		struct ringbuf *rb = ringbuf_create(name, (i & 1) ? 2 * g_ds : g_ds, NULL);
		CHECK(rb != NULL);
		if (i % 10 == 0) { /* let the openers see this one */
			long seen = __atomic_load_n(&rs->opened, __ATOMIC_ACQUIRE);
			t0 = t_now_ns();
			while (__atomic_load_n(&rs->opened, __ATOMIC_ACQUIRE) == seen &&
			       !race_bad(rs)) {
				CHECK(t_now_ns() - t0 < 5000000000ull);
				usleep(50);
			}
		}
		CHECK_EQ(ringbuf_unlink(name), 0);
		ringbuf_free(rb);
	}
	__atomic_store_n(&rs->stop, 1, __ATOMIC_RELEASE);
	int bad_exits = 0;
	for (int k = 0; k < OPENERS; k++) {
		int status;
		CHECK_EQ(waitpid(pids[k], &status, 0), pids[k]);
		bad_exits += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (rs->bad_errno)
		fprintf(stderr, "opener: errno %ld (%s)\n", rs->bad_errno,
			strerror((int)rs->bad_errno));
	if (rs->bad_size)
		fprintf(stderr, "opener: ring size %ld (|1) or positions not 0\n", rs->bad_size);
	CHECK_EQ(rs->bad_errno, 0);
	CHECK_EQ(rs->bad_size, 0);
	CHECK_EQ(bad_exits, 0);
	CHECK(rs->opened >= rounds / 10);
	CHECK(rs->enoent >= OPENERS);
	printf("never half-made: %d creates, %ld opens, %ld ENOENT\n", rounds, rs->opened,
	       rs->enoent);
	munmap(rs, sizeof(*rs));
}

static void test_by_name(void)
{
	char name[256];
	const uint32_t n = 2000;

	/* c1: a producer process that knows only the name; the creator
	 * consumes.  The peer exists before the ring does. */
	mkname(name, sizeof(name), "byname");
	struct peer p = peer_start(name);
	struct reply r = peer_call(&p, 'n', 0, RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, ENOENT);
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *rb = ringbuf_create(name, g_ds, &cons);
	CHECK(rb != NULL);
	peer_open(&p, RINGBUF_ROLE_PRODUCER);
	peer_send(&p, 'P', 0xD1, n);
	struct col c = { .tag = 0xD1, .ordered = true };
	uint64_t t0 = t_now_ns();
	while (c.n < n) {
		CHECK(ringbuf_poll(rb, col_cb, &c, 10) >= 0);
		CHECK(t_now_ns() - t0 < 10000000000ull);
	}
	CHECK(read_reply(p.rep, &r, 5000));
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(ringbuf_consume(rb, col_cb, &c), 0);
	CHECK_EQ(c.n, n);
	peer_end(&p);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* c2: consumer and producer processes both attached by name; the
	 * creator (a producer handle) only watches. */
	mkname(name, sizeof(name), "wake");
	struct peer cp = peer_start(name), pp = peer_start(name);
	struct ringbuf_opts prod = opts_role(RINGBUF_ROLE_PRODUCER);
	rb = ringbuf_create(name, g_ds, &prod);
	CHECK(rb != NULL);
	peer_open(&cp, RINGBUF_ROLE_CONSUMER);
	peer_open(&pp, RINGBUF_ROLE_PRODUCER);
	char path[512];
	shm_path(path, sizeof(path), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	const struct ringbuf_shm_meta *meta = mmap(NULL, 2 * g_page, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(meta != MAP_FAILED);
	close(fd);
	{
		const struct ringbuf_shm_consumer *cpage =
			(const void *)((const char *)meta + RINGBUF_SHM_CONSUMER_PAGE * g_page);
		CHECK_EQ(cpage->consumer_owner, (uint32_t)cp.pid);
	}

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'o', 0xD2, 0).ret, 0); /* adaptive, caught up */
	expect_woken(&cp, 0, 1, "adaptive record");

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'N', 0xD2, 1).ret, 0);
	CHECK(!read_reply(cp.rep, &r, 150)); /* NO_WAKEUP: still asleep */
	CHECK_EQ(proc_state(cp.pid), 'S');
	CHECK_EQ(peer_call(&pp, 'F', 0xD2, 2).ret, 0);
	expect_woken(&cp, 1, 2, "forced record");

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'o', 0xD2, 3).ret, 0);
	expect_woken(&cp, 3, 1, "adaptive record again");

	munmap((void *)meta, 2 * g_page);
	peer_end(&cp);
	peer_end(&pp);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("by name: %u records across processes, wakeups ok\n", n);
}

int main(void)
{
	names_begin();

	test_access();
	test_never_half_made();
	test_by_name();
	CHECK_EQ(our_files(false), 0);
	return T_PASS;
}
