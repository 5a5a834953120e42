/* SPDX-License-Identifier: MIT */
/*
 * kmap_run.h (tests/t_kmap_*.c) -- ringbuf as the consumer of kernel BPF_MAP_TYPE_RINGBUF maps.
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
#ifndef RINGBUF_TEST_KMAP_RUN_H
#define RINGBUF_TEST_KMAP_RUN_H

/* Shared by the tests/t_kmap_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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

#endif
