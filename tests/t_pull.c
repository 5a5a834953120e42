/* SPDX-License-Identifier: MIT */
/*
 * t_pull -- the pull reader, ringbuf_next() and ringbuf_commit(), on
 * ringbuf rings and on a kernel BPF_MAP_TYPE_RINGBUF map:
 *   - records in order, zero-copy, discarded ones skipped, BUSY stops;
 *   - consumer_pos does not move until the commit, and taken records are
 *     safe from producers until then (the ring is full for them);
 *   - the commit returns the number released, a second commit is a no-op;
 *   - pos and remaining as documented; wrap-around over many laps;
 *   - a callback consume after an uncommitted lease delivers again;
 *   - overwrite mode, producer role, USER_RINGBUF and NULL refused;
 *   - a forked producer that dies holding the head: recovered;
 *   - RINGBUF_RING_ID: same for every handle of a ring, differs between
 *     rings; a kernel map's id.
 */
#include "test.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/wait.h>

#include "bpf/kmap.h"
#include "kbpf.h"
#include "ringbuf.h"

static uint64_t rec_len(size_t size)
{
	return (8 + size + 7) & ~7ull;
}

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(int *)ctx)++;
	return 0;
}

static void basic(void)
{
	struct ringbuf *rb = ringbuf_new(4096, NULL);
	struct ringbuf_record r;
	uint64_t pos = 0;
	char *busy;

	CHECK(rb);
	CHECK_EQ(ringbuf_next(rb, &r), 0); /* empty */
	CHECK_EQ(ringbuf_commit(rb), 0);
	CHECK_EQ(ringbuf_output(rb, "one", 3, 0), 0);
	char *d = ringbuf_reserve(rb, 10, 0);
	CHECK(d);
	ringbuf_discard(d, 0);
	CHECK_EQ(ringbuf_output(rb, "three!", 6, 0), 0);
	busy = ringbuf_reserve(rb, 5, 0);
	CHECK(busy);
	CHECK_EQ(ringbuf_output(rb, "five", 4, 0), 0);

	CHECK_EQ(ringbuf_next(rb, &r), 1);
	CHECK_EQ(r.size, 3);
	CHECK(!memcmp(r.data, "one", 3));
	CHECK_EQ(r.pos, pos);
	CHECK_EQ(r.remaining, rec_len(10) + rec_len(6) + rec_len(5) + rec_len(4));
	pos += rec_len(3) + rec_len(10); /* the discard is skipped */
	CHECK_EQ(ringbuf_next(rb, &r), 1);
	CHECK_EQ(r.size, 6);
	CHECK(!memcmp(r.data, "three!", 6));
	CHECK_EQ(r.pos, pos);
	CHECK_EQ(ringbuf_next(rb, &r), 0); /* BUSY stops */
	CHECK_EQ(ringbuf_next(rb, &r), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0); /* nothing published yet */
	CHECK_EQ(ringbuf_commit(rb), 2);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), pos + rec_len(6));
	CHECK_EQ(ringbuf_commit(rb), 0);
	memcpy(busy, "four!", 5);
	ringbuf_submit(busy, 0);
	CHECK_EQ(ringbuf_next(rb, &r), 1);
	CHECK(r.size == 5 && !memcmp(r.data, "four!", 5));
	CHECK_EQ(ringbuf_next(rb, &r), 1);
	CHECK(r.size == 4 && !memcmp(r.data, "five", 4));
	CHECK_EQ(r.remaining, 0);
	/* a callback consume ends the lease: both are delivered again */
	int n = 0;
	CHECK_EQ(ringbuf_consume(rb, count_cb, &n), 2);
	CHECK_EQ(n, 2);
	CHECK_EQ(ringbuf_commit(rb), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_next(rb, NULL), -EINVAL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(ringbuf_next(NULL, &r), -EINVAL);
	CHECK_EQ(ringbuf_commit(NULL), -EINVAL);
	ringbuf_free(rb);
}

/* Taken records are safe: producers cannot reserve over them until the
 * commit; many laps of the ring keep every byte. */
static void laps(void)
{
	struct ringbuf *rb = ringbuf_new(4096, NULL);
	struct ringbuf_record r;
	uint32_t next_out = 0, next_in = 0;

	CHECK(rb);
	for (int lap = 0; lap < 300; lap++) {
		uint32_t buf[16];
		int taken = 0;

		/* fill until full */
		for (;;) {
			size_t words = 1 + next_out % 13;
			for (size_t i = 0; i < words; i++)
				buf[i] = next_out * 31u + (uint32_t)i;
			long e = ringbuf_output(rb, buf, words * 4, 0);
			if (e == -EAGAIN)
				break;
			CHECK_EQ(e, 0);
			next_out++;
		}
		/* take a part of it, check the producers still find it full */
		while (taken < 10 + lap % 50 && ringbuf_next(rb, &r) == 1) {
			size_t words = 1 + next_in % 13;
			uint32_t *w = r.data;

			CHECK_EQ(r.size, words * 4);
			for (size_t i = 0; i < words; i++)
				CHECK_EQ(w[i], next_in * 31u + (uint32_t)i);
			next_in++;
			taken++;
		}
		CHECK(taken > 0);
		CHECK_EQ(ringbuf_output(rb, buf, 64, 0), -EAGAIN);
		CHECK_EQ(ringbuf_commit(rb), taken);
	}
	CHECK(ringbuf_query(rb, RINGBUF_CONS_POS) > 30 * 4096); /* many laps */
	ringbuf_free(rb);
}

static void refused(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_OVERWRITE };
	struct ringbuf_record r;
	struct ringbuf *rb = ringbuf_new(4096, &o);
	char name[64];

	CHECK(rb);
	CHECK_EQ(ringbuf_output(rb, "x", 1, 0), 0);
	CHECK_EQ(ringbuf_next(rb, &r), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	ringbuf_free(rb);

	snprintf(name, sizeof(name), "t_pull.%d", (int)getpid());
	struct ringbuf_opts co = { .sz = sizeof(co), .mode = 0600 };
	struct ringbuf *c = ringbuf_create(name, 4096, &co);
	CHECK(c);
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf *p = ringbuf_open(name, &po);
	CHECK(p);
	CHECK_EQ(ringbuf_output(p, "y", 1, 0), 0);
	CHECK_EQ(ringbuf_next(p, &r), -EOPNOTSUPP);
	/* one ring, two handles: one identity; another ring: another */
	CHECK(ringbuf_query(c, RINGBUF_RING_ID) != 0);
	CHECK_EQ(ringbuf_query(c, RINGBUF_RING_ID), ringbuf_query(p, RINGBUF_RING_ID));
	struct ringbuf *other = ringbuf_new(4096, NULL);
	CHECK(other);
	CHECK(ringbuf_query(other, RINGBUF_RING_ID) != ringbuf_query(c, RINGBUF_RING_ID));
	ringbuf_free(other);
	CHECK_EQ(ringbuf_next(c, &r), 1);
	CHECK(r.size == 1 && *(char *)r.data == 'y');
	ringbuf_free(p);
	ringbuf_free(c);
	ringbuf_unlink(name);
}

/* A producer process dies holding the head: the pull reader recovers it
 * after recover_ms, as the callback consumer does. */
static void dead_producer(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .recover_ms = 50 };
	struct ringbuf *rb = ringbuf_new(4096, &o);
	struct ringbuf_record r;
	pid_t pid;
	int got = 0;

	CHECK(rb);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (!ringbuf_reserve(rb, 8, 0))
			_exit(1);
		_exit(0); /* dies holding it */
	}
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK_EQ(ringbuf_output(rb, "after", 5, 0), 0);
	for (int i = 0; i < 400 && !got; i++) {
		int n = ringbuf_next(rb, &r);

		CHECK(n >= 0);
		if (n) {
			CHECK(r.size == 5 && !memcmp(r.data, "after", 5));
			got = 1;
		} else {
			usleep(5000);
		}
	}
	CHECK(got);
	CHECK_EQ(ringbuf_commit(rb), 1);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.recovered, 1);
	ringbuf_free(rb);
}

/* A kernel ring: a BPF program produces, the pull reader takes. */
static void kernel_map(void)
{
	struct bpf_object *obj;
	int prog, rbfd, planfd;
	struct km_plan *plan;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t plan_len = (sizeof(struct km_plan) + page - 1) & ~(page - 1);
	struct ringbuf *k;
	struct ringbuf_record r;
	uint32_t type, max;

	obj = kbpf_load("kmap");
	prog = kbpf_prog_fd(obj, "produce");
	rbfd = kbpf_map_fd(obj, "rb");
	planfd = kbpf_map_fd(obj, "plan");
	plan = kbpf_map_mmap(planfd, plan_len);
	k = ringbuf_map_open(rbfd, NULL);
	CHECK(k);
	CHECK_EQ(ringbuf_query(k, RINGBUF_RING_ID), kbpf_map_id(rbfd, &type, &max));

	for (int round = 0; round < 20; round++) {
		struct km_ctx c = { .nops = 40 };
		LIBBPF_OPTS(bpf_test_run_opts, ro, .ctx_in = &c, .ctx_size_in = sizeof(c));
		uint32_t want = 0;

		for (int i = 0; i < 40; i++) {
			uint32_t kind = i % 5 == 4 ? KM_RESERVE_DISCARD : KM_OUTPUT;

			plan->ops[i] = (struct km_op){ .kind = kind, .size = kind == KM_OUTPUT ? (uint32_t)(1 + (i * 7 + round) % 200) : 64,
						       .off = 0, .flags = 0 };
		}
		CHECK_EQ(bpf_prog_test_run_opts(prog, &ro), 0);
		CHECK_EQ(c.nfail, 0);
		uint64_t cons0 = ringbuf_query(k, RINGBUF_CONS_POS);
		for (int i = 0; i < 40; i++) {
			if (plan->ops[i].kind != KM_OUTPUT)
				continue;
			CHECK_EQ(ringbuf_next(k, &r), 1);
			CHECK_EQ(r.size, plan->ops[i].size);
			want++;
		}
		CHECK_EQ(ringbuf_next(k, &r), 0);
		CHECK_EQ(ringbuf_query(k, RINGBUF_CONS_POS), cons0);
		CHECK_EQ(ringbuf_commit(k), (int)want);
		CHECK_EQ(ringbuf_query(k, RINGBUF_AVAIL_DATA), 0);
	}
	ringbuf_free(k);
	munmap(plan, plan_len);
	/* a USER_RINGBUF map: the kernel consumes it */
	int ufd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, 4096, NULL);
	CHECK(ufd >= 0);
	k = ringbuf_map_open(ufd, NULL);
	CHECK(k);
	CHECK_EQ(ringbuf_next(k, &r), -EOPNOTSUPP);
	ringbuf_free(k);
	close(ufd);
	bpf_object__close(obj);
}

int main(void)
{
	basic();
	laps();
	refused();
	dead_producer();
	kbpf_require(); /* skips from here on where BPF is not permitted */
	kernel_map();
	return T_PASS;
}
