/* SPDX-License-Identifier: MIT */
/*
 * ptrun.h -- the row runner of t_progtypes and t_progtypes_net: one BPF
 * program type at a time (tests/bpf/progtypes*.bpf.c), loaded alone,
 * attached or test-run by the row's hooks, consumed with ringbuf's kernel
 * map consumer, and checked against the kernel selftest's wakeup rules.
 *
 * A row loads its program (the object's other programs are not loaded),
 * maps the "cfg" array and opens the "rb" ring with ringbuf_map_open(),
 * then runs pt_steps[]: each step writes a plan of ring operations into
 * cfg, arms it and fires the hook once (the program runs the plan in
 * exactly one invocation, see progtypes.h), with a consumer thread blocked
 * in ringbuf_poll() -- or in poll() on ringbuf_epoll_fd() -- and checks
 * that the consumer stayed asleep or was woken as the kernel's rules say,
 * and that every record arrived in order, byte for byte.  A row that cannot
 * run here says why; the table printed on stdout has one line per row.
 */
#ifndef RINGBUF_TEST_PTRUN_H
#define RINGBUF_TEST_PTRUN_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "kbpf.h"
#include "proc.h"
#include "bpf/progtypes.h"

#define PT_MAX_RECS  64
#define PT_REC_BYTES 64 /* ring bytes a record takes: 8-byte header + 56 */
#define PT_WAKE_MS   3000  /* a wakeup must arrive within this */
#define PT_QUIET_MS  40    /* a consumer that must stay asleep is watched this long */
#define PT_POLL_MS   10000 /* the consumer's own timeout: far beyond both */

struct pt_row;

/* A row: one program of one type, and how to make its hook run. */
struct pt_row {
	const char *type;   /* the program type, as the table shows it */
	const char *how;    /* how the hook is triggered, for the table */
	const char *object; /* tests/bpf/OBJECT.bpf.c */
	const char *prog;   /* the program to load */
	const char *extra;  /* a second program of the object to load, or NULL */
	bool load_all;      /* load every program of the object instead */
	uint32_t prog_id;   /* PT_P_*: what its records must say */
	bool tid_filter;    /* the program filters on the firing thread */
	uint32_t arg;       /* cfg.arg (and the row's own use) */
	uint32_t param;     /* the row's own use */
	/* optional: open the object (default: bpf_object__open_file) */
	struct bpf_object *(*open)(struct pt_row *r);
	/* optional, before loading: NULL, or why the row cannot run here */
	const char *(*prepare)(struct pt_row *r);
	/* optional, after loading: NULL, or why the row cannot run here */
	const char *(*attach)(struct pt_row *r);
	/* make the hook run (once or more; the arming admits one) */
	void (*fire)(struct pt_row *r);
	/* optional: undo attach() */
	void (*detach)(struct pt_row *r);

	/* set by the runner */
	struct bpf_object *obj;
	struct bpf_program *bprog;
	int prog_fd, extra_fd;
	struct pt_cfg *cfg;
	size_t cfg_len;
	struct ringbuf *rb;
	uint32_t fired; /* cfg.fired before the step's arming */
	char why[256];  /* the hooks' skip reasons are written here */

	/* the row's own state */
	struct bpf_link *link;
	struct bpf_object *aux_obj;
	int fd[4];
	uint16_t port;
	void *mem; /* freed with the object (an object opened from memory) */
};

/* One step: a plan fired once, and whether the blocked consumer wakes.
 * ops: two letters per operation, the kind (o output, s reserve+submit,
 * d reserve+discard) and the flag (a adaptive 0, n NO_WAKEUP, f FORCE). */
struct pt_step {
	const char *ops;
	bool wakes;
	bool fdmode; /* the consumer waits in poll() on ringbuf_epoll_fd() */
	const char *what;
};

/* The kernel selftest's expectations, for each program type.  A waking
 * operation is always the last of its step: a consumer woken in the middle
 * of a plan could consume up to a later record, whose adaptive commit would
 * then find it at the consumer position and wake it once more, out of
 * turn. */
static const struct pt_step pt_steps[] = {
	{ "on sn dn oa sa da", false, false,
	  "NO_WAKEUP records, and adaptive ones behind them, leave ringbuf_poll asleep" },
	{ "of", true, false, "a FORCE_WAKEUP record wakes it, with everything before" },
	{ "sa", true, false, "an adaptive submit at the consumer position wakes it" },
	{ "on sn df", true, false, "a FORCE_WAKEUP discard wakes it, though behind" },
	{ "da", true, false, "an adaptive discard at the consumer position wakes it" },
	{ "oa", true, false, "an adaptive output at the consumer position wakes it" },
	{ "on sn dn oa sa da", false, true,
	  "a poll() on ringbuf_epoll_fd() stays blocked as well" },
	{ "sf", true, true, "a FORCE_WAKEUP submit makes the fd readable" },
};
#define PT_NSTEPS ((int)(sizeof(pt_steps) / sizeof(pt_steps[0])))

/* ---- results ------------------------------------------------------------- */

static int pt_npass, pt_nskip;
static const char *pt_cur_row;
static int pt_cur_step = -1;
static bool pt_quiet; /* hide libbpf's messages (an attempt expected to fail) */

static inline int pt_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || pt_quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* On a failed check, say which row and step it was. */
static inline void pt_atexit(void)
{
	if (pt_cur_row)
		fprintf(stderr, "(in row %s, step %d: %s)\n", pt_cur_row, pt_cur_step,
			pt_cur_step >= 0 && pt_cur_step < PT_NSTEPS ? pt_steps[pt_cur_step].what
								     : "setup");
}

static inline void pt_begin(const char *title)
{
	libbpf_set_print(pt_libbpf_print);
	atexit(pt_atexit);
	kbpf_require();
	printf("%s\n%-24s %-54s %4s  %s\n", title, "program type", "triggered by", "recs",
	       "result");
	fflush(stdout);
}

/* The test's exit: pass if a row ran and none failed (a failure exits at
 * once), skip if no row could run. */
static inline int pt_end(void)
{
	printf("%d rows passed, %d skipped\n", pt_npass, pt_nskip);
	if (!pt_npass)
		SKIP("no program type could run here");
	return T_PASS;
}

static inline void pt_skip_row(struct pt_row *r, const char *why)
{
	printf("%-24s %-54s %4s  skip: %s\n", r->type, r->how, "-", why);
	fflush(stdout);
	pt_nskip++;
}

/* printf into r->why; returns it, for the hooks' return statements. */
__attribute__((format(printf, 2, 3))) static inline const char *pt_why(struct pt_row *r,
								 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return r->why;
}

static uint32_t pt_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

/* ---- the consumer -------------------------------------------------------- */

struct pt_list {
	struct pt_rec r[PT_MAX_RECS];
	atomic_int n;
	bool bad_size;
};

static inline int pt_collect(void *ctx, void *data, size_t size)
{
	struct pt_list *l = ctx;
	int n = atomic_load(&l->n);

	if (size != sizeof(struct pt_rec) || n >= PT_MAX_RECS) {
		l->bad_size = true;
		return 0;
	}
	memcpy(&l->r[n], data, size);
	atomic_store(&l->n, n + 1);
	return 0;
}

struct pt_poller {
	pthread_t th;
	struct ringbuf *rb;
	struct pt_list *l;
	bool fdmode;
	atomic_int tid;
	atomic_int done;
	int ret;    /* what ringbuf_poll() / ringbuf_consume() returned */
	int polled; /* fd mode: what poll() returned */
};

static inline void *pt_poll_main(void *arg)
{
	struct pt_poller *p = arg;

	atomic_store(&p->tid, (int)pt_gettid());
	if (!p->fdmode) {
		p->ret = ringbuf_poll(p->rb, pt_collect, p->l, PT_POLL_MS);
	} else {
		struct pollfd pfd = { .fd = ringbuf_epoll_fd(p->rb), .events = POLLIN };

		p->polled = poll(&pfd, 1, PT_POLL_MS);
		p->ret = ringbuf_consume(p->rb, pt_collect, p->l);
	}
	atomic_store(&p->done, 1);
	return NULL;
}

/* Start a consumer thread and wait until it sleeps (its state is S on ten
 * looks in a row), never having returned. */
static inline void pt_poller_start(struct pt_poller *p, struct ringbuf *rb, struct pt_list *l,
				   bool fdmode)
{
	uint64_t t0 = t_now_ns();
	int streak = 0;

	memset(p, 0, sizeof(*p));
	p->rb = rb;
	p->l = l;
	p->fdmode = fdmode;
	CHECK_EQ(pthread_create(&p->th, NULL, pt_poll_main, p), 0);
	while (streak < 10) {
		int tid = atomic_load(&p->tid);

		CHECK(!atomic_load(&p->done));
		streak = (tid && proc_state(tid) == 'S') ? streak + 1 : 0;
		CHECK(t_now_ns() - t0 < 5000000000ull);
		usleep(500);
	}
}

/* Did the consumer return within @ms?  Joins it if so. */
static inline bool pt_poller_wait(struct pt_poller *p, int ms)
{
	uint64_t end = t_now_ns() + (uint64_t)ms * 1000000ull;

	while (!atomic_load(&p->done) && t_now_ns() < end)
		usleep(200);
	if (!atomic_load(&p->done))
		return false;
	CHECK_EQ(pthread_join(p->th, NULL), 0);
	return true;
}

/* ---- expected records ------------------------------------------------------ */

struct pt_exp {
	uint32_t trigger, idx, kind, flags;
};

static uint32_t pt_op_kind(char c)
{
	return c == 'o' ? PT_OUT : c == 's' ? PT_SUBMIT : c == 'd' ? PT_DISCARD : 0;
}

static uint32_t pt_op_flags(char c)
{
	return c == 'n' ? RINGBUF_NO_WAKEUP : c == 'f' ? RINGBUF_FORCE_WAKEUP : 0;
}

static inline void pt_rec_expect(struct pt_rec *e, uint32_t prog, uint32_t row,
				 const struct pt_exp *x)
{
	memset(e, 0, sizeof(*e));
	e->magic = PT_MAGIC;
	e->prog = prog;
	e->row = row;
	e->trigger = x->trigger;
	e->idx = x->idx;
	e->kind = x->kind;
	e->flags = x->flags;
	for (uint32_t i = 0; i < PT_FILL - 8; i++)
		e->fill[i] = PT_FILL_BYTE(row, x->trigger, x->idx, i);
}

/* Every record delivered so far is the expected one, in order, byte for
 * byte. */
static inline void pt_check_recs(const struct pt_row *r, uint32_t row, const struct pt_list *l,
				 const struct pt_exp *x, int nx)
{
	CHECK(!l->bad_size);
	CHECK_EQ(atomic_load(&l->n), nx);
	for (int i = 0; i < nx; i++) {
		struct pt_rec e;

		pt_rec_expect(&e, r->prog_id, row, &x[i]);
		if (memcmp(&e, &l->r[i], sizeof(e))) {
			const struct pt_rec *g = &l->r[i];

			fprintf(stderr,
				"record %d: got prog %u row %u trigger %u idx %u kind %u flags %u,"
				" want prog %u row %u trigger %u idx %u kind %u flags %u\n",
				i, g->prog, g->row, g->trigger, g->idx, g->kind, g->flags, e.prog,
				e.row, e.trigger, e.idx, e.kind, e.flags);
			CHECK(!"record as the program wrote it");
		}
	}
}

/* ---- one row ------------------------------------------------------------------ */

static char pt_log[1 << 16]; /* the verifier's log of a failed load */

static inline const char *pt_load(struct pt_row *r)
{
	struct bpf_program *p;
	enum bpf_prog_type type;
	const char *why;
	int err;

	r->obj = r->open ? r->open(r) : bpf_object__open_file(kbpf_object_path(r->object), NULL);
	CHECK(r->obj != NULL);
	bpf_object__for_each_program(p, r->obj) {
		const char *name = bpf_program__name(p);

		bpf_program__set_autoload(p, r->load_all || !strcmp(name, r->prog) ||
						     (r->extra && !strcmp(name, r->extra)));
	}
	r->bprog = bpf_object__find_program_by_name(r->obj, r->prog);
	CHECK(r->bprog != NULL);
	if (r->prepare && (why = r->prepare(r)))
		return why;
	type = bpf_program__type(r->bprog);
	/* libbpf retries a failed load with the verifier's log into pt_log */
	pt_log[0] = '\0';
	CHECK_EQ(bpf_program__set_log_buf(r->bprog, pt_log, sizeof(pt_log)), 0);
	pt_quiet = true;
	err = bpf_object__load(r->obj);
	pt_quiet = false;
	if (err) {
		/* refused before the verifier ran, though other types load
		 * (a kernel without the type says EINVAL) */
		if (err == -EPERM && !pt_log[0])
			return pt_why(r, "the kernel refuses to load it here: EPERM before "
					 "verification (no verifier log), while other types "
					 "load: this machine's security policy");
		/* a kernel without the type refuses any program of it */
		if (libbpf_probe_bpf_prog_type(type, NULL) == 0)
			return pt_why(r, "this kernel has no such program type (load: %s)",
				      strerror(-err));
		fprintf(stderr, "%s\nloading %s: %s (EACCES: the verifier refused it)\n", pt_log,
			r->prog, strerror(-err));
		CHECK_EQ(err, 0);
	}
	r->prog_fd = bpf_program__fd(r->bprog);
	CHECK(r->prog_fd >= 0);
	r->extra_fd = r->extra ? kbpf_prog_fd(r->obj, r->extra) : -1;
	r->cfg_len = (sizeof(struct pt_cfg) + 4095) & ~(size_t)4095;
	r->cfg = kbpf_map_mmap(kbpf_map_fd(r->obj, "cfg"), r->cfg_len);
	/* the filters hold from the start, so that "calls" counts only what
	 * the row caused */
	r->cfg->tid = r->tid_filter ? pt_gettid() : 0;
	r->cfg->arg = r->arg;
	r->rb = ringbuf_map_open(kbpf_map_fd(r->obj, "rb"), NULL);
	CHECK(r->rb != NULL);
	CHECK(ringbuf_epoll_fd(r->rb) >= 0);
	return NULL;
}

static inline void pt_unload(struct pt_row *r)
{
	if (r->rb)
		ringbuf_free(r->rb);
	if (r->cfg)
		munmap(r->cfg, r->cfg_len);
	bpf_object__close(r->obj);
	bpf_object__close(r->aux_obj);
	free(r->mem);
	r->mem = NULL;
	r->rb = NULL;
	r->cfg = NULL;
	r->obj = r->aux_obj = NULL;
}

/* Arm the plan of step @s (trigger @trigger), fire the hook, wait until the
 * program ran it, and check the helpers' results.  Appends the records it
 * commits to @x (*nx), and returns the number of reservations. */
static inline int pt_fire_step(struct pt_row *r, uint32_t row, const struct pt_step *s,
			       uint32_t trigger, struct pt_exp *x, int *nx)
{
	struct pt_cfg *c = r->cfg;
	uint32_t fired = __atomic_load_n(&c->fired, __ATOMIC_ACQUIRE);
	uint32_t n = 0;
	uint64_t t0;

	/* "ka ka ...": a kind and a flag letter, blank-separated */
	for (const char *o = s->ops;; o += 3) {
		CHECK(n < PT_MAX_OPS && pt_op_kind(o[0]) && (o[1] == 'a' || pt_op_flags(o[1])));
		c->ops[n] = (struct pt_op){ pt_op_kind(o[0]), (uint32_t)pt_op_flags(o[1]) };
		c->ret[n] = 12345;
		if (c->ops[n].kind != PT_DISCARD) {
			CHECK(*nx < PT_MAX_RECS);
			x[(*nx)++] = (struct pt_exp){ trigger, n, c->ops[n].kind, c->ops[n].flags };
		}
		n++;
		if (!o[2])
			break;
	}
	c->nops = n;
	c->row = row;
	c->trigger = trigger;
	c->arg = r->arg;
	c->tid = r->tid_filter ? pt_gettid() : 0;
	r->fired = fired;
	__atomic_store_n(&c->armed, 1, __ATOMIC_RELEASE);
	r->fire(r);
	t0 = t_now_ns();
	while (__atomic_load_n(&c->fired, __ATOMIC_ACQUIRE) == fired) {
		if (t_now_ns() - t0 > 5000000000ull) {
			fprintf(stderr, "%s: the program did not run (invocations: %u)\n", r->prog,
				__atomic_load_n(&c->calls, __ATOMIC_RELAXED));
			CHECK(!"the hook ran the program");
		}
		usleep(100);
	}
	CHECK_EQ(__atomic_load_n(&c->fired, __ATOMIC_ACQUIRE), fired + 1);
	CHECK_EQ(__atomic_load_n(&c->armed, __ATOMIC_RELAXED), 0);
	for (uint32_t i = 0; i < n; i++)
		CHECK_EQ(c->ret[i], 0);
	return (int)n;
}

/* Run row @r (number @row): load, attach, every step, detach. */
static inline void pt_run_row(struct pt_row *r, uint32_t row)
{
	static struct pt_list list;
	struct pt_exp x[PT_MAX_RECS];
	struct pt_poller p;
	bool polling = false;
	const char *why;
	int nx = 0, nres = 0;

	memset(&list, 0, sizeof(list));
	pt_cur_row = r->type;
	pt_cur_step = -1;
	for (int i = 0; i < 4; i++)
		r->fd[i] = -1;
	why = pt_load(r);
	if (!why && r->attach)
		why = r->attach(r);
	if (why) {
		pt_skip_row(r, why);
		pt_unload(r);
		pt_cur_row = NULL;
		return;
	}
	for (int i = 0; i < PT_NSTEPS; i++) {
		const struct pt_step *s = &pt_steps[i];
		int before;

		pt_cur_step = i;
		if (!polling)
			pt_poller_start(&p, r->rb, &list, s->fdmode);
		CHECK_EQ(p.fdmode, s->fdmode);
		before = atomic_load(&list.n);
		nres += pt_fire_step(r, row, s, (uint32_t)i + 1, x, &nx);
		if (!s->wakes) {
			/* asleep it stays, and nothing is delivered */
			t_sleep_ms(PT_QUIET_MS);
			CHECK(!atomic_load(&p.done));
			CHECK_EQ(atomic_load(&list.n), before);
			polling = true;
			continue;
		}
		if (!pt_poller_wait(&p, PT_WAKE_MS)) {
			fprintf(stderr, "%s: consumer not woken within %d ms\n", r->type, PT_WAKE_MS);
			CHECK(!"the consumer is woken");
		}
		polling = false;
		CHECK(p.ret >= 0);
		if (s->fdmode)
			CHECK_EQ(p.polled, 1);
		/* the wakeup may come before the step's last records: take them */
		CHECK(ringbuf_consume(r->rb, pt_collect, &list) >= 0);
		pt_check_recs(r, row, &list, x, nx);
	}
	pt_cur_step = PT_NSTEPS;
	CHECK(!polling);
	CHECK_EQ(ringbuf_query(r->rb, RINGBUF_RING_SIZE), PT_RING_SIZE);
	CHECK_EQ(ringbuf_query(r->rb, RINGBUF_PROD_POS), (uint64_t)nres * PT_REC_BYTES);
	CHECK_EQ(ringbuf_query(r->rb, RINGBUF_CONS_POS), (uint64_t)nres * PT_REC_BYTES);
	CHECK_EQ(ringbuf_query(r->rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_consume(r->rb, pt_collect, &list), 0);
	if (r->detach)
		r->detach(r);
	bpf_link__destroy(r->link);
	r->link = NULL;
	printf("%-24s %-54s %4d  pass (hook ran %u times)\n", r->type, r->how, nx,
	       __atomic_load_n(&r->cfg->calls, __ATOMIC_RELAXED));
	fflush(stdout);
	pt_unload(r);
	pt_npass++;
	pt_cur_row = NULL;
}

/* ---- triggers shared by both tests ------------------------------------------ */

/* Attach with libbpf's auto-attach (the section says where). */
static inline const char *pt_attach_auto(struct pt_row *r)
{
	r->link = bpf_program__attach(r->bprog);
	if (!r->link)
		return pt_why(r, "attach: %s", strerror(errno));
	return NULL;
}

/* An Ethernet + IPv4 + TCP packet for the skb and xdp test runs. */
static const unsigned char pt_pkt_v4[54] = {
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,   /* eth: IPv4 */
	0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0,                /* ip: len 40, tcp */
	127, 0, 0, 1, 127, 0, 0, 1,                             /* 127.0.0.1 both */
	0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,         /* tcp 12345 -> 80 */
	0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,                     /* SYN */
};

/* BPF_PROG_TEST_RUN of @fd with the packet above. */
static inline void pt_test_run_pkt(int fd)
{
	unsigned char out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pt_pkt_v4, .data_size_in = sizeof(pt_pkt_v4),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	CHECK_EQ(bpf_prog_test_run_opts(fd, &o), 0);
}

#endif
