/* SPDX-License-Identifier: MIT */
/*
 * t_kmap -- ringbuf as the consumer of kernel BPF_MAP_TYPE_RINGBUF maps.
 *
 * A SEC("syscall") program (tests/bpf/kmap.bpf.c), run with
 * BPF_PROG_TEST_RUN, produces records with bpf_ringbuf_output / reserve /
 * submit / discard following a plan written into an mmapable array map, and
 * returns bpf_ringbuf_query() results through its ctx.  Covered:
 *
 *   - attaching by fd, pinned path and map id, and every documented error
 *     (EBADF, EMEDIUMTYPE, ENOENT, EINVAL), without leaking descriptors;
 *     the role errors (output/reserve on a consumer handle: EOPNOTSUPP);
 *   - records of every kind and many sizes (0 up, wrapping at the end of
 *     the data area, wakeup flags) delivered exactly by consume/consume_n,
 *     discarded ones skipped, positions equal to the kernel's own view;
 *   - a negative callback return;
 *   - the kernel selftest's blocked-poller sequence with ringbuf_poll;
 *   - ringbuf and libbpf consuming the same kernel ring: identical records,
 *     and a continuous stream when they take turns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ringbuf.h"
#include "test.h"
#include "kbpf.h"
#include "proc.h"
#include "ringview.h"
#include "bpf/kmap.h"

#define MAX_RECS 1024

static size_t page;

/* ---- the loaded BPF object ---------------------------------------------- */

struct kobj {
	struct bpf_object *obj;
	int prog_fd;
	int rb_fd;
	int plan_fd;
	struct km_plan *plan; /* mmap of the "plan" map */
	uint8_t *pat;         /* mmap of the "pat" map */
	size_t plan_len, pat_len;
};

static void kobj_load(struct kobj *k)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	memset(k, 0, sizeof(*k));
	k->obj = kbpf_load("kmap");
	k->prog_fd = kbpf_prog_fd(k->obj, "produce");
	k->rb_fd = kbpf_map_fd(k->obj, "rb");
	k->plan_fd = kbpf_map_fd(k->obj, "plan");
	k->plan_len = (sizeof(struct km_plan) + page - 1) & ~(page - 1);
	k->pat_len = (KM_PAT_SIZE + page - 1) & ~(page - 1);
	k->plan = kbpf_map_mmap(k->plan_fd, k->plan_len);
	k->pat = kbpf_map_mmap(kbpf_map_fd(k->obj, "pat"), k->pat_len);
	for (size_t i = 0; i < KM_PAT_SIZE; i++)
		k->pat[i] = (uint8_t)(t_rand(&seed) >> 56);
}

static void kobj_free(struct kobj *k)
{
	munmap(k->plan, k->plan_len);
	munmap(k->pat, k->pat_len);
	bpf_object__close(k->obj);
}

/* ---- plans: what the program does, and what must come out ----------------- */

struct exp {
	uint32_t size, off;
	uint64_t end; /* ring position after this record */
};

struct plan {
	struct km_op ops[KM_MAX_OPS];
	int n;
	struct exp exp[KM_MAX_OPS];
	int nexp;
	uint64_t pos; /* expected producer position after the plan */
};

static void plan_init(struct plan *p, uint64_t pos)
{
	memset(p, 0, sizeof(*p));
	p->pos = pos;
}

static void plan_add(struct plan *p, uint32_t kind, uint32_t size, uint32_t off, uint32_t flags)
{
	CHECK(p->n < KM_MAX_OPS);
	CHECK(size <= KM_PAT_MASK && off <= KM_PAT_MASK);
	p->ops[p->n++] = (struct km_op){ .kind = kind, .size = size, .off = off, .flags = flags };
	switch (kind) {
	case KM_OUTPUT:
	case KM_RESERVE_SUBMIT:
	case KM_DYN_SUBMIT:
		p->pos += rv_rec_size(size);
		p->exp[p->nexp++] = (struct exp){ size, off, p->pos };
		break;
	case KM_RESERVE_DISCARD:
	case KM_DYN_DISCARD:
		p->pos += rv_rec_size(size);
		break;
	case KM_SELFTEST_ODD: /* the reservation (discarded), then the copy */
		p->pos += 2 * rv_rec_size(size);
		p->exp[p->nexp++] = (struct exp){ size, off, p->pos };
		break;
	default:
		CHECK(!"bad kind");
	}
}

/* Run ops [from, to) of @p in one program run; *ctx gets the query results. */
static void run_ops(struct kobj *k, const struct plan *p, int from, int to, struct km_ctx *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	CHECK(from >= 0 && from <= to && to <= p->n);
	memcpy(k->plan->ops, &p->ops[from], (size_t)(to - from) * sizeof(struct km_op));
	for (int i = 0; i < KM_MAX_OPS; i++)
		k->plan->ret[i] = 12345;
	memset(ctx, 0xa5, sizeof(*ctx));
	ctx->nops = (uint32_t)(to - from);
	o.ctx_in = ctx; /* the kernel copies a syscall program's ctx back here */
	o.ctx_size_in = sizeof(*ctx);
	CHECK_EQ(bpf_prog_test_run_opts(k->prog_fd, &o), 0);
	CHECK_EQ(o.retval, 0);
	for (int i = 0; i < to - from; i++)
		CHECK_EQ(k->plan->ret[i], 0);
	CHECK_EQ(ctx->nfail, 0);
	CHECK_EQ(ctx->ring_size, KM_RING_SIZE);
	CHECK_EQ(ctx->bad_query, 0);
	CHECK_EQ(ctx->avail, ctx->prod - ctx->cons);
}

static void run_plan(struct kobj *k, const struct plan *p, struct km_ctx *ctx)
{
	run_ops(k, p, 0, p->n, ctx);
	CHECK_EQ(ctx->prod, p->pos);
}

/* The kernel's positions, from a run that produces nothing. */
static void kernel_query(struct kobj *k, struct km_ctx *ctx)
{
	struct plan empty;

	plan_init(&empty, 0);
	run_ops(k, &empty, 0, 0, ctx);
}

/* ringbuf's view equals the kernel's. */
static void check_positions(struct ringbuf *rb, struct kobj *k)
{
	struct km_ctx c;

	kernel_query(k, &c);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), c.cons);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), c.prod);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), c.avail);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), c.ring_size);
}

/* ---- collecting records ------------------------------------------------- */

struct rec {
	uint32_t size;
	unsigned char *data;
};

struct list {
	struct rec r[MAX_RECS];
	atomic_int n;
	int call_cnt;   /* records delivered in the current call */
	int call_limit; /* > 0: return stop_ret at the call_limit-th record */
	int stop_ret;
	struct ringbuf *rb;  /* if set: CONS_POS must still be cons_start */
	uint64_t cons_start;
};

static int collect(void *ctx, void *data, size_t size)
{
	struct list *l = ctx;
	int i = atomic_load(&l->n);

	CHECK(i < MAX_RECS);
	if (l->rb) /* published once per call, not per record */
		CHECK_EQ(ringbuf_query(l->rb, RINGBUF_CONS_POS), l->cons_start);
	l->r[i].size = (uint32_t)size;
	l->r[i].data = malloc(size ? size : 1);
	CHECK(l->r[i].data != NULL);
	memcpy(l->r[i].data, data, size);
	atomic_store(&l->n, i + 1);
	if (l->call_limit > 0 && ++l->call_cnt == l->call_limit)
		return l->stop_ret;
	return 0;
}

static void list_clear(struct list *l)
{
	for (int i = 0; i < atomic_load(&l->n); i++)
		free(l->r[i].data);
	memset(l, 0, sizeof(*l));
}

/* Records [from, from + n) of @l are @exp[0 .. n) with @k's payloads. */
static void check_recs(const struct list *l, int from, const struct exp *exp, int n,
		       const struct kobj *k)
{
	CHECK(from + n <= atomic_load(&l->n));
	for (int i = 0; i < n; i++) {
		const struct rec *r = &l->r[from + i];

		if (r->size != exp[i].size || memcmp(r->data, k->pat + exp[i].off, r->size)) {
			fprintf(stderr, "record %d: size %u, expected %u (off %u)%s\n", from + i,
				r->size, exp[i].size, exp[i].off,
				r->size == exp[i].size ? ", payload differs" : "");
			CHECK(!"record delivered wrong");
		}
	}
}

/* ---- attaching ------------------------------------------------------------ */

/* Produce one record of @size bytes, then check @rb delivers exactly it. */
static void roundtrip_one(struct kobj *k, struct ringbuf *rb, uint32_t size, uint32_t off)
{
	struct plan p;
	struct km_ctx c;
	struct list *l = calloc(1, sizeof(*l));

	CHECK(l != NULL);
	kernel_query(k, &c);
	plan_init(&p, c.prod);
	plan_add(&p, KM_OUTPUT, size, off, 0);
	run_plan(k, &p, &c);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 1);
	check_recs(l, 0, p.exp, 1, k);
	check_positions(rb, k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	list_clear(l);
	free(l);
}

static void test_pinned(struct kobj *k, int array_fd)
{
	char dir[64] = "/sys/fs/bpf", path[128], ppath[128], apath[128];
	int mounted;
	struct ringbuf *rb;
	uint32_t id = kbpf_map_id(k->rb_fd, NULL, NULL);

	mounted = kbpf_bpffs_get(dir, sizeof(dir), "/tmp/t_kmap.XXXXXX");
	if (mounted < 0)
		return;
	if (mounted)
		CHECK(kbpf_is_bpffs(dir));
	snprintf(path, sizeof(path), "%s/t_kmap_rb_%d", dir, (int)getpid());
	snprintf(ppath, sizeof(ppath), "%s/t_kmap_prog_%d", dir, (int)getpid());
	snprintf(apath, sizeof(apath), "%s/t_kmap_array_%d", dir, (int)getpid());
	CHECK_EQ(bpf_obj_pin(k->rb_fd, path), 0);
	CHECK_EQ(bpf_obj_pin(k->prog_fd, ppath), 0);
	CHECK_EQ(bpf_obj_pin(array_fd, apath), 0);

	rb = ringbuf_map_open_pinned(path, NULL);
	CHECK(rb != NULL);
	CHECK_EQ(kbpf_map_id(ringbuf_fd(rb), NULL, NULL), id);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), KM_RING_SIZE);
	roundtrip_one(k, rb, 40, 100);
	ringbuf_free(rb);

	{
		struct ringbuf_opts bad = { .sz = sizeof(bad), .flags = 1 };
		char missing[160];

		snprintf(missing, sizeof(missing), "%s/t_kmap_missing_%d", dir, (int)getpid());
		CHECK_OPEN_ERR(ringbuf_map_open_pinned(missing, NULL), ENOENT);
		CHECK_OPEN_ERR(ringbuf_map_open_pinned(ppath, NULL), EMEDIUMTYPE);
		CHECK_OPEN_ERR(ringbuf_map_open_pinned(apath, NULL), EMEDIUMTYPE);
		CHECK_OPEN_ERR(ringbuf_map_open_pinned(path, &bad), EINVAL);
	}

	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(unlink(ppath), 0);
	CHECK_EQ(unlink(apath), 0);
	kbpf_bpffs_put(dir, mounted);
}

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
	errno = 0;
	CHECK_EQ(ringbuf_output(rb, buf, 0, RINGBUF_FORCE_WAKEUP), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	errno = 0;
	CHECK(ringbuf_reserve(rb, 8, 0) == NULL);
	CHECK_EQ(errno, EOPNOTSUPP);
	errno = 0;
	CHECK(ringbuf_reserve(rb, 0, 0) == NULL);
	CHECK_EQ(errno, EOPNOTSUPP);
	errno = 0;
	CHECK(ringbuf_reserve_wait(rb, 8, 0) == NULL);
	CHECK_EQ(errno, EOPNOTSUPP);
	{
		uint64_t t0 = t_now_ns();

		errno = 0;
		CHECK(ringbuf_reserve_wait(rb, 8, 2000) == NULL);
		CHECK_EQ(errno, EOPNOTSUPP);
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

/* ---- records -------------------------------------------------------------- */

static const uint32_t const_sizes[] = KM_CONST_SIZES_INIT;
#define N_CONST (sizeof(const_sizes) / sizeof(const_sizes[0]))

static const uint32_t wflags[] = { 0, RINGBUF_NO_WAKEUP, RINGBUF_FORCE_WAKEUP,
				   RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP };

/* Produce @p, check the positions before consuming, consume everything in
 * one call, check the records and the positions after. */
static void produce_consume(struct kobj *k, struct ringbuf *rb, const struct plan *p)
{
	struct list *l = calloc(1, sizeof(*l));
	struct km_ctx c;

	CHECK(l != NULL);
	run_plan(k, p, &c);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), c.prod);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), c.cons);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), c.avail);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), c.ring_size);
	CHECK_EQ(ringbuf_consume(rb, collect, l), p->nexp);
	CHECK_EQ(atomic_load(&l->n), p->nexp);
	check_recs(l, 0, p->exp, p->nexp, k);
	/* consumer_pos is published by the end of the call */
	check_positions(rb, k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p->pos);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 0);
	list_clear(l);
	free(l);
}

/* Records whose payload (or header) straddles the end of the data area. */
static void test_wrap(struct kobj *k, struct ringbuf *rb)
{
	/* gap = bytes between the wrapping record's header and the end */
	static const uint32_t gaps[] = { 8, 16, 24, 32, 504, 1000 };
	static const uint32_t kinds[] = { KM_OUTPUT, KM_RESERVE_SUBMIT, KM_DYN_SUBMIT,
					  KM_SELFTEST_ODD };
	int cases = 0;

	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		for (size_t kd = 0; kd < sizeof(kinds) / sizeof(kinds[0]); kd++) {
			uint32_t size = kinds[kd] == KM_RESERVE_SUBMIT ? 4000 : 1100 + (uint32_t)g;
			uint64_t pos, to_end;
			struct plan p;

			/* fillers (consumed at once) until the header is gaps[g]
			 * bytes before the end */
			for (;;) {
				pos = ringbuf_query(rb, RINGBUF_PROD_POS);
				to_end = KM_RING_SIZE - (pos & (KM_RING_SIZE - 1));
				if (to_end == gaps[g])
					break;
				plan_init(&p, pos);
				plan_add(&p, KM_DYN_SUBMIT,
					 (uint32_t)(to_end > gaps[g] ? to_end - gaps[g] : to_end) - 8,
					 9, RINGBUF_NO_WAKEUP);
				produce_consume(k, rb, &p);
			}
			plan_init(&p, pos);
			if (kinds[kd] == KM_SELFTEST_ODD) {
				/* the reservation (discarded) ends 8 bytes before the
				 * end: the copy's header is the last 8 bytes, its
				 * payload at the start (gaps 8 and 16: right at it) */
				size = gaps[g] >= 24 ? gaps[g] - 16 : 0;
				plan_add(&p, kinds[kd], size, 300 + (uint32_t)g, wflags[kd]);
			} else {
				plan_add(&p, kinds[kd], size, 300 + (uint32_t)kd, wflags[kd]);
				CHECK(gaps[g] < RINGBUF_HDR_SZ + size); /* it does wrap */
			}
			plan_add(&p, KM_OUTPUT, 5, 1, 0);
			produce_consume(k, rb, &p);
			cases++;
		}
	}
	CHECK_EQ(cases, 24);
}

static void test_records(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct plan p;
	struct km_ctx c;
	struct list *l = calloc(1, sizeof(*l));
	uint64_t seed = 42;

	CHECK(l != NULL);
	kobj_load(&k);
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);

	/* every kind with every constant size and every flag combination */
	for (int round = 0; round < 4; round++) {
		plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
		for (size_t i = 0; i < N_CONST; i++) {
			uint32_t s = const_sizes[i], f = wflags[(i + (size_t)round) % 4];
			uint32_t off = (uint32_t)(i * 1111 + (size_t)round * 7) & KM_PAT_MASK;

			if (s > 1000)
				continue; /* the 4000-byte ones below, to fit the ring */
			plan_add(&p, KM_OUTPUT, s, off, f);
			plan_add(&p, KM_RESERVE_SUBMIT, s, off + 1, f);
			plan_add(&p, KM_RESERVE_DISCARD, s, off + 2, f);
			plan_add(&p, KM_DYN_SUBMIT, s + (uint32_t)round, off + 3, f);
			plan_add(&p, KM_DYN_DISCARD, s, off + 4, f);
			plan_add(&p, KM_SELFTEST_ODD, s + 2, off + 5, f);
		}
		CHECK(p.pos - ringbuf_query(rb, RINGBUF_PROD_POS) < KM_RING_SIZE);
		produce_consume(&k, rb, &p);
	}
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	plan_add(&p, KM_RESERVE_SUBMIT, 4000, 17, 0);
	plan_add(&p, KM_RESERVE_DISCARD, 4000, 18, 0);
	plan_add(&p, KM_OUTPUT, 4000, 19, RINGBUF_FORCE_WAKEUP);
	plan_add(&p, KM_DYN_SUBMIT, 4000 - 8, 20, RINGBUF_NO_WAKEUP);
	produce_consume(&k, rb, &p);

	/* many random small records, several rounds (positions go round the ring) */
	for (int round = 0; round < 20; round++) {
		plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
		while (p.n < KM_MAX_OPS) {
			uint32_t kind = 1 + (uint32_t)(t_rand(&seed) % 6), s;

			if (kind == KM_RESERVE_SUBMIT || kind == KM_RESERVE_DISCARD)
				s = const_sizes[t_rand(&seed) % 6]; /* up to 64 */
			else
				s = (uint32_t)(t_rand(&seed) % 80);
			if (p.pos + 2 * rv_rec_size(s) - ringbuf_query(rb, RINGBUF_PROD_POS) > KM_RING_SIZE - 8)
				break;
			plan_add(&p, kind, s, (uint32_t)(t_rand(&seed) % KM_PAT_MASK),
				 wflags[t_rand(&seed) % 4]);
		}
		produce_consume(&k, rb, &p);
	}

	/* a kernel ring's consumer_pos is published once per consume call
	 * (ringbuf.h), at its end */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 10; i++)
		plan_add(&p, KM_OUTPUT, 30 + (uint32_t)i, (uint32_t)i * 3, 0);
	run_plan(&k, &p, &c);
	l->rb = rb;
	l->cons_start = ringbuf_query(rb, RINGBUF_CONS_POS);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 10);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	check_recs(l, 0, p.exp, 10, &k);
	check_positions(rb, &k);
	list_clear(l);

	/* consume_n: exact counts, in order, across calls */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 12; i++) {
		plan_add(&p, KM_OUTPUT, 16 + (uint32_t)i, (uint32_t)i * 13, 0);
		if (i % 3 == 0)
			plan_add(&p, KM_DYN_DISCARD, 8, 0, 0);
	}
	run_plan(&k, &p, &c);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 0), 0);
	CHECK_EQ(atomic_load(&l->n), 0);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 1), 1);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[0].end);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 4), 4);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[4].end);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 100), 7);
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 100), 0);
	CHECK_EQ(atomic_load(&l->n), 12);
	check_recs(l, 0, p.exp, 12, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	list_clear(l);

	/* a negative callback return stops consumption and is returned; the
	 * position is already past that record */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 6; i++)
		plan_add(&p, i == 3 ? KM_DYN_SUBMIT : KM_OUTPUT, 24, 50 + (uint32_t)i, 0);
	run_plan(&k, &p, &c);
	l->call_limit = 3;
	l->stop_ret = -42;
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, collect, l), -42);
	CHECK_EQ(errno, 42);
	CHECK_EQ(atomic_load(&l->n), 3);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[2].end);
	check_positions(rb, &k);
	l->call_cnt = 0;
	l->call_limit = 1;
	l->stop_ret = -EINTR;
	CHECK_EQ(ringbuf_consume_n(rb, collect, l, 2), -EINTR);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.exp[3].end);
	l->call_limit = 0;
	l->stop_ret = 1; /* positive returns are ignored */
	CHECK_EQ(ringbuf_consume(rb, collect, l), 2);
	CHECK_EQ(atomic_load(&l->n), 6);
	check_recs(l, 0, p.exp, 6, &k);
	check_positions(rb, &k);
	list_clear(l);

	/* a full ring: the kernel refuses the 17th record of 1000 bytes
	 * (16 * 1008 = 16128 bytes; 17 would exceed size - 1) */
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	for (int i = 0; i < 16; i++)
		plan_add(&p, i & 1 ? KM_RESERVE_SUBMIT : KM_OUTPUT, 1000, (uint32_t)i * 100, 0);
	run_plan(&k, &p, &c);
	CHECK_EQ(c.avail, 16 * 1008);
	{
		struct plan more;

		plan_init(&more, p.pos);
		plan_add(&more, KM_OUTPUT, 1000, 0, 0);
		memcpy(k.plan->ops, more.ops, sizeof(more.ops[0]));
		c.nops = 1;
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c));
		CHECK_EQ(bpf_prog_test_run_opts(k.prog_fd, &o), 0);
		CHECK_EQ(k.plan->ret[0], -EAGAIN);
		CHECK_EQ(c.prod, p.pos);
	}
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_consume(rb, collect, l), 16);
	check_recs(l, 0, p.exp, 16, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	list_clear(l);

	test_wrap(&k, rb);
	check_positions(rb, &k);

	/* ringbuf_poll with records waiting: at once, though they were
	 * committed with NO_WAKEUP (first take any notification still queued
	 * from the records above, so only the waiting records can end it) */
	CHECK_EQ(ringbuf_poll(rb, collect, l, 50), 0);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 20), 0);
	plan_init(&p, ringbuf_query(rb, RINGBUF_PROD_POS));
	plan_add(&p, KM_OUTPUT, 10, 1, RINGBUF_NO_WAKEUP);
	plan_add(&p, KM_OUTPUT, 11, 2, RINGBUF_NO_WAKEUP);
	run_plan(&k, &p, &c);
	{
		uint64_t t0 = t_now_ns();

		CHECK_EQ(ringbuf_poll(rb, collect, l, 5000), 2);
		CHECK(t_now_ns() - t0 < 1000000000ull);
	}
	check_recs(l, 0, p.exp, 2, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 0), 0);
	list_clear(l);

	ringbuf_free(rb);
	kobj_free(&k);
	free(l);
}

/* ---- the kernel selftest's blocked poller --------------------------------- */

struct poller {
	pthread_t thread;
	struct ringbuf *rb;
	struct list *l;
	int timeout_ms;
	int ret;
	atomic_int done;
};

static void *poll_main(void *arg)
{
	struct poller *p = arg;

	p->ret = ringbuf_poll(p->rb, collect, p->l, p->timeout_ms);
	atomic_store(&p->done, 1);
	return NULL;
}

static void poller_start(struct poller *p, struct ringbuf *rb, struct list *l, int timeout_ms)
{
	p->rb = rb;
	p->l = l;
	p->timeout_ms = timeout_ms;
	p->ret = INT32_MIN;
	atomic_store(&p->done, 0);
	CHECK(pthread_create(&p->thread, NULL, poll_main, p) == 0);
}

/* Wait up to @ms for the poller to return; true if it did (then joined). */
static bool poller_wait(struct poller *p, int ms)
{
	uint64_t end = t_now_ns() + (uint64_t)ms * 1000000ull;

	while (!atomic_load(&p->done) && t_now_ns() < end)
		t_sleep_ms(1);
	if (!atomic_load(&p->done))
		return false;
	CHECK(pthread_join(p->thread, NULL) == 0);
	return true;
}

/* trigger_samples(): two program runs, as the selftest's two getpgid()
 * calls -- an even run (reserve + submit) and an odd one (reserve, output a
 * copy, discard the reservation) -- all with @flags. */
static void trigger(struct kobj *k, struct plan *p, uint32_t flags, uint32_t value)
{
	struct km_ctx c;
	int first = p->n;

	plan_add(p, KM_DYN_SUBMIT, 32, value, flags);
	plan_add(p, KM_SELFTEST_ODD, 32, value + 1, flags);
	run_ops(k, p, first, first + 1, &c);
	run_ops(k, p, first + 1, first + 2, &c);
	CHECK_EQ(c.prod, p->pos);
}

static void test_blocked_poller(void)
{
	struct kobj k;
	struct ringbuf *rb;
	struct plan p;
	struct poller pl;
	struct list *l = calloc(1, sizeof(*l));
	uint64_t t0;
	int r;

	CHECK(l != NULL);
	kobj_load(&k);
	rb = ringbuf_map_open(k.rb_fd, NULL);
	CHECK(rb != NULL);
	plan_init(&p, 0);

	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(50);
	CHECK(!atomic_load(&pl.done));

	/* NO_WAKEUP: no notification */
	trigger(&k, &p, RINGBUF_NO_WAKEUP, 100);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	CHECK_EQ(atomic_load(&l->n), 0);

	/* adaptive while the consumer is behind (at 0): none either */
	trigger(&k, &p, 0, 200);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	trigger(&k, &p, 0, 333);
	t_sleep_ms(80);
	CHECK(!atomic_load(&pl.done));
	CHECK_EQ(atomic_load(&l->n), 0);

	/* FORCE_WAKEUP: woken */
	trigger(&k, &p, RINGBUF_FORCE_WAKEUP, 777);
	CHECK(poller_wait(&pl, 2000));
	/* woken by the first forced record (the second may or may not be
	 * committed by then): everything before it is delivered */
	CHECK(pl.ret == 7 || pl.ret == 8);
	r = ringbuf_consume(rb, collect, l);
	CHECK_EQ(pl.ret + r, 8);
	CHECK_EQ(atomic_load(&l->n), 8);
	check_recs(l, 0, p.exp, 8, &k);
	check_positions(rb, &k);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), p.pos);
	/* take the possibly queued second forced notification */
	CHECK_EQ(ringbuf_poll(rb, collect, l, 100), 0);

	/* a caught-up poller is woken by an adaptive record */
	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(50);
	CHECK(!atomic_load(&pl.done));
	t0 = t_now_ns();
	{
		struct km_ctx c;
		int first = p.n;

		plan_add(&p, KM_OUTPUT, 48, 900, 0);
		run_ops(&k, &p, first, first + 1, &c);
	}
	CHECK(poller_wait(&pl, 2000));
	CHECK(t_now_ns() - t0 < 2000000000ull);
	CHECK_EQ(pl.ret, 1);
	CHECK_EQ(atomic_load(&l->n), 9);
	check_recs(l, 0, p.exp, 9, &k);
	check_positions(rb, &k);

	/* ... and also by reserve/submit and by a discard at its position */
	poller_start(&pl, rb, l, 10000);
	t_sleep_ms(30);
	CHECK(!atomic_load(&pl.done));
	trigger(&k, &p, 0, 1234);
	CHECK(poller_wait(&pl, 2000));
	CHECK(pl.ret >= 1);
	CHECK_EQ(pl.ret + ringbuf_consume(rb, collect, l), 2);
	CHECK_EQ(atomic_load(&l->n), 11);
	check_recs(l, 0, p.exp, 11, &k);
	CHECK_EQ(ringbuf_poll(rb, collect, l, 100), 0); /* a possible second wakeup */

	/* a caught-up poller is not woken by a NO_WAKEUP record: it times out,
	 * then consumes it */
	poller_start(&pl, rb, l, 300);
	t_sleep_ms(30);
	t0 = t_now_ns();
	{
		struct km_ctx c;
		int first = p.n;

		plan_add(&p, KM_OUTPUT, 8, 901, RINGBUF_NO_WAKEUP);
		run_ops(&k, &p, first, first + 1, &c);
	}
	t_sleep_ms(100);
	CHECK(!atomic_load(&pl.done));
	CHECK(poller_wait(&pl, 3000));
	CHECK(t_now_ns() - t0 >= 240000000ull);
	CHECK_EQ(pl.ret, 1);
	CHECK_EQ(atomic_load(&l->n), 12);
	check_recs(l, 0, p.exp, 12, &k);
	check_positions(rb, &k);

	/* a timed-out poll with nothing delivers nothing */
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, collect, l, 50), 0);
	CHECK(t_now_ns() - t0 >= 45000000ull);

	ringbuf_free(rb);
	kobj_free(&k);
	list_clear(l);
	free(l);
}

/* ---- ringbuf and libbpf on the same ring ---------------------------------- */

static void random_plan(struct plan *p, uint64_t pos, uint64_t *seed, int nrec)
{
	plan_init(p, pos);
	while (p->nexp < nrec) {
		uint32_t kind = 1 + (uint32_t)(t_rand(seed) % 6), s;

		if (kind == KM_RESERVE_SUBMIT || kind == KM_RESERVE_DISCARD)
			s = const_sizes[t_rand(seed) % N_CONST];
		else if (t_rand(seed) % 8 == 0)
			s = 500 + (uint32_t)(t_rand(seed) % 1500);
		else
			s = (uint32_t)(t_rand(seed) % 100);
		if (s > 1000)
			s = 1000;
		plan_add(p, kind, s, (uint32_t)(t_rand(seed) % KM_PAT_MASK),
			 wflags[t_rand(seed) % 3]);
	}
	CHECK(p->pos - pos <= KM_RING_SIZE - 8);
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
	test_records();
	test_blocked_poller();
	test_libbpf();
	printf("t_kmap: ok\n");
	return 0;
}
