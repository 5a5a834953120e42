/* SPDX-License-Identifier: MIT */
/*
 * diff_engine.h -- the differential engine of tests/common/diff.h: runs a
 * step on both sides, compares everything a consumer can observe, and
 * reports a divergence.  Included by diff.h only.
 */
#ifndef RINGBUF_TEST_DIFF_ENGINE_H
#define RINGBUF_TEST_DIFF_ENGINE_H

/* ------------------------------------------------------------------------
 * Running and comparing
 * ------------------------------------------------------------------------ */

struct ctx {
	const char *script;
	uint64_t seed; /* random scripts, else 0 */
	int step;
	const struct step *st;
	bool failed;
	int divergences;
};

static int total_failures;

static const char *kind_name(uint32_t k)
{
	static const char *const names[] = { "NOP", "OUTPUT", "RESERVE", "RESERVE_FLAGS",
					     "QUERY" };

	return k < SCRIPT_KINDS ? names[k] : "?";
}

static uint64_t class_size(uint32_t cls)
{
	switch (cls) {
#define T_CLASS_CASE(c, sz) case c: return sz;
		SCRIPT_SIZE_CLASSES(T_CLASS_CASE)
#undef T_CLASS_CASE
	default:
		return 0;
	}
}

/* Bytes a record of @size occupies (huge: never fits). */
static uint64_t rec_len(uint64_t size)
{
	return size > UINT32_MAX / 4 ? 1ULL << 40 : (size + 8 + 7) & ~7ULL;
}

static void print_op(const struct script_op *op, int i)
{
	fprintf(stderr, "      op %2d: %s", i, kind_name(op->kind));
	switch (op->kind) {
	case SCRIPT_OUTPUT:
		fprintf(stderr, " size=%u flags=%#llx", op->osize, (unsigned long long)op->flags);
		break;
	case SCRIPT_RESERVE:
		fprintf(stderr, " size=%llu (class %u) %s flags=%#llx",
			(unsigned long long)class_size(op->cls), op->cls,
			op->mode & SCRIPT_DISCARD ? "discard" : "submit",
			(unsigned long long)op->flags);
		if (op->mode & SCRIPT_NESTED)
			fprintf(stderr, "; while BUSY: output size=%u flags=%#llx", op->osize,
				(unsigned long long)op->oflags);
		break;
	case SCRIPT_RESERVE_FLAGS:
		fprintf(stderr, " reserve flags=%#llx", (unsigned long long)op->oflags);
		break;
	case SCRIPT_QUERY:
		fprintf(stderr, " selector=%#llx", (unsigned long long)op->flags);
		break;
	default:
		break;
	}
	fputc('\n', stderr);
}

static void print_step(const struct step *st)
{
	static const char *const names[] = { "RUN", "DRAIN", "ARM", "SEEK" };

	fprintf(stderr, "    step: %s", names[st->kind]);
	if (st->kind == ST_SEEK)
		fprintf(stderr, " %d", st->arg);
	fputc('\n', stderr);
	for (int i = 0; i < st->nops; i++)
		print_op(&st->ops[i], i);
}

static void print_positions(void)
{
	fprintf(stderr, "    kernel : cons %llu prod %llu pending %llu\n",
		(unsigned long long)*K.cons_pos, (unsigned long long)*K.prod_pos,
		(unsigned long long)*K.pend_pos);
	fprintf(stderr, "    ringbuf: cons %llu prod %llu pending %llu\n",
		(unsigned long long)*N.cons_pos, (unsigned long long)*N.prod_pos,
		(unsigned long long)*N.pend_pos);
}

/* Report a divergence (or a broken expectation) once per script. */
static void __attribute__((format(printf, 3, 4)))
diverge(struct ctx *c, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	fprintf(stderr, "%s in script '%s'", what, c->script);
	if (c->seed)
		fprintf(stderr, " (seed %llu)", (unsigned long long)c->seed);
	fprintf(stderr, " at step %d:\n    ", c->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->st)
		print_step(c->st);
	print_positions();
}

static void run_side(struct side *sd, struct script *s)
{
	if (sd->kernel) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = s, .ctx_size_in = sizeof(*s));

		CHECK_EQ(bpf_prog_test_run_opts(sd->prog_fd, &o), 0);
		CHECK_EQ(o.retval, 0);
	} else {
		CHECK_EQ(run(s), 0);
	}
}

/* Run @nops ops on both sides and compare their results. */
static void run_both(struct ctx *c, const struct script_op *ops, int nops,
		     const struct step *st)
{
	static struct script sk, sn;

	memset(&sk, 0, sizeof(sk));
	sk.n = (uint32_t)nops;
	memcpy(sk.ops, ops, (size_t)nops * sizeof(*ops));
	sn = sk;
	run_side(&K, &sk);
	run_side(&N, &sn);
	CHECK_EQ(sk.done, nops);
	if (sn.done != sk.done)
		diverge(c, "DIVERGENCE", "ops run: kernel %u, ringbuf %u", sk.done, sn.done);
	for (int i = 0; i < nops; i++) {
		if (sk.ret[i] == SCRIPT_BAD_OP)
			diverge(c, "SCRIPT BUG", "op %d refused by the interpreter", i);
		if (sk.ret[i] != sn.ret[i] || sk.ret2[i] != sn.ret2[i])
			diverge(c, "DIVERGENCE",
				"op %d returned: kernel %lld (inner output %lld), ringbuf %lld (inner output %lld)",
				i, (long long)sk.ret[i], (long long)sk.ret2[i],
				(long long)sn.ret[i], (long long)sn.ret2[i]);
		if (st && st->want_ret[i] && sk.ret[i] != st->ret[i])
			diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
				"op %d: kernel returned %lld, the script expects %lld", i,
				(long long)sk.ret[i], st->ret[i]);
	}
}

static void drain_side(struct side *sd, int *ret)
{
	CHECK(!sd->armed);
	*ret = ringbuf_consume(sd->h, on_rec, sd->st);
}

static void drain_both(struct ctx *c)
{
	int rk, rn;

	/* How many records a drain finds is not compared: after a wakeup
	 * sent while a record was still BUSY (a nested op), how the records
	 * split between the woken poll and this drain is timing.  The
	 * streams are compared whole. */
	drain_side(&K, &rk);
	drain_side(&N, &rn);
	if ((rk < 0 || rn < 0) && rk != rn)
		diverge(c, "DIVERGENCE", "ringbuf_consume() returned: kernel %d, ringbuf %d", rk,
			rn);
}

/* Start both pollers; compare whether each returned at once or blocked.
 * Returns the kernel's observation (1 = returned). */
static int arm_both(struct ctx *c, int want_ret)
{
	struct side *sides[2] = { &K, &N };
	int obs[2] = { -1, -1 };
	uint64_t deadline = t_now_ns() + (uint64_t)ARM_MS * 1000000ull;

	poller_go(&K);
	poller_go(&N);
	while (obs[0] < 0 || obs[1] < 0) {
		for (int i = 0; i < 2; i++) {
			struct timespec now;

			if (obs[i] >= 0)
				continue;
			timespec_after_ms(&now, 0);
			if (poller_wait(sides[i], &now))
				obs[i] = 1;
			else if (poller_blocked(sides[i]))
				obs[i] = 0;
		}
		if (t_now_ns() > deadline) {
			fprintf(stderr, "a started poller neither blocked nor returned in %d ms\n",
				ARM_MS);
			exit(T_FAIL);
		}
		if (obs[0] < 0 || obs[1] < 0)
			usleep(50);
	}
	if (obs[0] != obs[1])
		diverge(c, "DIVERGENCE",
			"a new ringbuf_poll() %s on the kernel ring but %s on the ringbuf ring",
			obs[0] ? "returned at once" : "blocked",
			obs[1] ? "returned at once" : "blocked");
	if (want_ret != ANY && obs[0] != want_ret)
		diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
			"a new ringbuf_poll() %s on the kernel ring",
			obs[0] ? "returned at once" : "blocked");
	return obs[0];
}

/* After a run with both pollers armed: were they woken?  "Not woken" means
 * still asleep after WAKE_MS; a poller that is runnable, or a disagreement,
 * gets up to CONFIRM_MS more.  Returns the kernel's observation. */
static int observe_wake(struct ctx *c, int want_woken)
{
	struct side *sides[2] = { &K, &N };
	int obs[2] = { -1, -1 };
	uint64_t t0 = t_now_ns(), wake_ns = (uint64_t)WAKE_MS * 1000000ull;
	uint64_t confirm_ns = wake_ns + (uint64_t)CONFIRM_MS * 1000000ull;

	for (;;) {
		uint64_t dt = t_now_ns() - t0;

		for (int i = 0; i < 2; i++) {
			struct timespec now;

			if (obs[i] > 0)
				continue;
			timespec_after_ms(&now, 0);
			if (poller_wait(sides[i], &now))
				obs[i] = 1;
			else if (dt >= wake_ns && poller_blocked(sides[i]))
				obs[i] = 0;
			else
				obs[i] = -1;
		}
		/* decided: both returned, or both asleep, or past the
		 * confirmation time */
		if (obs[0] >= 0 && obs[1] >= 0 && (obs[0] == obs[1] || dt >= confirm_ns))
			break;
		if (dt >= confirm_ns) {
			diverge(c, "HARNESS", "a poller neither returned nor slept for %d ms",
				WAKE_MS + CONFIRM_MS);
			return obs[0] > 0;
		}
		usleep(obs[0] < 0 || obs[1] < 0 ? 200 : 2000);
	}
	if (obs[0] != obs[1])
		diverge(c, "DIVERGENCE", "the blocked poller was %s on the kernel ring, %s on the ringbuf ring",
			obs[0] ? "woken" : "not woken", obs[1] ? "woken" : "not woken");
	if (want_woken != ANY && obs[0] != want_woken)
		diverge(c, "EXPECTATION (test bug: the kernel disagrees with the script)",
			"the blocked poller was %s on the kernel ring",
			obs[0] ? "woken" : "not woken");
	return obs[0];
}

static void compare_stream_locked(struct ctx *c, bool drained);

static void compare_stream(struct ctx *c, bool drained)
{
	pthread_mutex_lock(&K.st->mu);
	pthread_mutex_lock(&N.st->mu);
	compare_stream_locked(c, drained);
	pthread_mutex_unlock(&N.st->mu);
	pthread_mutex_unlock(&K.st->mu);
}

static void compare_stream_locked(struct ctx *c, bool drained)
{
	const struct stream *ks = K.st, *ns = N.st;
	size_t n = ks->nrecs < ns->nrecs ? ks->nrecs : ns->nrecs;

	for (size_t i = 0; i < n; i++) {
		const struct rec *a = &ks->recs[i], *b = &ns->recs[i];
		const unsigned char *ab = ks->bytes + a->off, *bb = ns->bytes + b->off;

		if (a->size != b->size || memcmp(ab, bb, a->size)) {
			size_t j = 0;

			while (j < a->size && j < b->size && ab[j] == bb[j])
				j++;
			diverge(c, "DIVERGENCE",
				"record %zu: kernel %u bytes, ringbuf %u bytes, first difference at byte %zu",
				i, a->size, b->size, j);
			return;
		}
	}
	if (drained && ks->nrecs != ns->nrecs)
		diverge(c, "DIVERGENCE", "records delivered: kernel %zu, ringbuf %zu", ks->nrecs,
			ns->nrecs);
}

/* pending_pos: both advance it over committed records at every reservation
 * attempt, before the space checks, so the producer page must agree byte
 * for byte (this test once found ringbuf advancing it lazily). */

/* Compare queries and shared memory; both pollers are quiescent. */
static void compare_state(struct ctx *c)
{
	static const uint64_t sels[] = { RINGBUF_AVAIL_DATA, RINGBUF_RING_SIZE, RINGBUF_CONS_POS,
					 RINGBUF_PROD_POS, 4, 5, 99, 1ULL << 40 };
	uint64_t kc = *K.cons_pos, kp = *K.prod_pos, kq = *K.pend_pos;
	uint64_t nc = *N.cons_pos, np = *N.prod_pos, nq = *N.pend_pos;

	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		uint64_t a = ringbuf_query(K.h, sels[i]), b = ringbuf_query(N.h, sels[i]);

		if (a != b)
			diverge(c, "DIVERGENCE", "ringbuf_query(%#llx): kernel ring %llu, ringbuf ring %llu",
				(unsigned long long)sels[i], (unsigned long long)a,
				(unsigned long long)b);
	}
	if (kc != nc || kp != np)
		diverge(c, "DIVERGENCE", "positions differ");
	if (kq != nq)
		diverge(c, "DIVERGENCE", "pending_pos (producer page, offset 8): kernel %llu, ringbuf %llu",
			(unsigned long long)kq, (unsigned long long)nq);
	for (size_t i = 0; i < RING; i++) {
		if (K.data[i] != N.data[i]) {
			size_t o = i & ~(size_t)7;

			diverge(c, "DIVERGENCE",
				"data area byte %zu: kernel %#04x, ringbuf %#04x (8-byte word at %zu: kernel %016llx, ringbuf %016llx)",
				i, K.data[i], N.data[i], o,
				(unsigned long long)*(const volatile uint64_t *)(K.data + o),
				(unsigned long long)*(const volatile uint64_t *)(N.data + o));
			break;
		}
	}
}

static bool parked(struct ctx *c)
{
	if (K.armed != N.armed)
		diverge(c, "DIVERGENCE", "one poller armed, the other not");
	return !K.armed && !N.armed;
}

/* After a wakeup: drain (what the woken poll left is timing, see
 * drain_both), and with @again start polling again, until the pollers
 * block (a poll that returns at once has consumed; repeat a few times). */
static void after_wake(struct ctx *c, bool again)
{
	for (int i = 0; i < 3 && parked(c) && !c->failed; i++) {
		drain_both(c);
		compare_stream(c, true);
		if (!again || !arm_both(c, ANY))
			return;
	}
}

static void do_run(struct ctx *c, const struct step *st, bool auto_rearm)
{
	bool was_armed = K.armed && N.armed;

	run_both(c, st->ops, st->nops, st);
	if (was_armed) {
		if (observe_wake(c, st->want_woken))
			after_wake(c, auto_rearm);
	}
}

/* Wake armed pollers with a forced empty record. */
static void park_both(struct ctx *c)
{
	struct script_op op;

	memset(&op, 0, sizeof(op));
	op.kind = SCRIPT_OUTPUT;
	op.flags = RINGBUF_FORCE_WAKEUP;
	op.otag = next_tag++;
	run_both(c, &op, 1, NULL);
	if (!c->failed && !observe_wake(c, ANY))
		diverge(c, "SCRIPT BUG", "the pollers could not be woken (full ring?)");
}

/* Move both rings' positions to @off mod RING (parked, drained). */
static void do_seek(struct ctx *c, int off)
{
	struct script_op op;
	uint64_t d;

	drain_both(c);
	d = ((uint64_t)off - *N.prod_pos) & (RING - 1);
	if (d) {
		memset(&op, 0, sizeof(op));
		op.kind = SCRIPT_OUTPUT;
		op.osize = (uint32_t)(d - 8);
		op.flags = RINGBUF_NO_WAKEUP;
		op.otag = next_tag++;
		run_both(c, &op, 1, NULL);
		drain_both(c);
	}
	compare_stream(c, true);
}

static void step_begin(struct ctx *c, int i, const struct step *st)
{
	c->step = i;
	c->st = st;
	if (verbose) {
		fprintf(stderr, "[%s] step %d (kernel cons %llu prod %llu, %s)\n", c->script, i,
			(unsigned long long)*K.cons_pos, (unsigned long long)*K.prod_pos,
			K.armed ? "armed" : "parked");
		if (st)
			print_step(st);
	}
}

static void exec_step(struct ctx *c, const struct step *st, bool auto_rearm)
{
	switch (st->kind) {
	case ST_RUN:
		do_run(c, st, auto_rearm);
		break;
	case ST_DRAIN:
		if (parked(c)) {
			drain_both(c);
			compare_stream(c, true);
		}
		break;
	case ST_ARM:
		if (parked(c))
			arm_both(c, st->want_woken);
		break;
	case ST_SEEK:
		if (K.armed || N.armed)
			park_both(c);
		if (!c->failed && parked(c))
			do_seek(c, st->arg);
		break;
	}
	if (!c->failed) {
		compare_state(c);
		compare_stream(c, false);
	}
}

/* End a script: wake armed pollers with a forced empty record, drain, and
 * check the whole stream. */
static void finish(struct ctx *c)
{
	step_begin(c, -1, NULL);
	if (!c->failed && (K.armed || N.armed))
		park_both(c);
	if (!c->failed) {
		drain_both(c);
		compare_stream(c, true);
		compare_state(c);
	}
	c->st = NULL;
}

static void fresh_sides(void)
{
	side_close(&K);
	side_close(&N);
	side_open(&K);
	side_open(&N);
}

static void end_script(struct ctx *c)
{
	finish(c);
	if (c->failed) {
		total_failures++;
		/* Start over: the rings no longer agree. */
		fresh_sides();
	} else {
		/* Keep the rings (positions run on), forget the records. */
		side_clear_stream(&K);
		side_clear_stream(&N);
	}
}

static bool selected(const char *name)
{
	const char *only = getenv("DIFF_ONLY");

	return !only || !*only || !strcmp(only, name);
}

static void run_script(const struct script_def *d)
{
	struct ctx c = { .script = d->name };

	if (!selected(d->name))
		return;
	for (int i = 0; i < d->nsteps && !c.failed; i++) {
		step_begin(&c, i, &d->steps[i]);
		exec_step(&c, &d->steps[i], d->auto_rearm);
	}
	end_script(&c);
	if (!c.failed)
		printf("ok   %s (%d steps)\n", d->name, d->nsteps);
}

/* ------------------------------------------------------------------------
 * Directed scripts
 * ------------------------------------------------------------------------ */

static struct script_def def; /* built one at a time */

static void def_begin(const char *name, bool auto_rearm)
{
	memset(&def, 0, sizeof(def));
	def.name = name;
	def.auto_rearm = auto_rearm;
}

#define NOWAKE RINGBUF_NO_WAKEUP
#define FORCE  RINGBUF_FORCE_WAKEUP

/* Size classes by payload size, for readability. */
enum {
	C0 = 0, C1 = 1, C7 = 2, C8 = 3, C13 = 4, C56 = 5, C120 = 6, C504 = 7, C1016 = 8,
	C2032 = 9, C2040 = 10, C4080 = 11, C4081 = 12, C4088 = 13, C4096 = 14,
	CMAXREC = 15, CMAXREC1 = 16, CTRUNC = 17, C2P63 = 18,
};

/* ------------------------------------------------------------------------
 * Random scripts (fixed seeds)
 * ------------------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return t_rand(s) % n;
}

/* DIFF_AVOID_FORCE_PARKED=1: no FORCE_WAKEUP while no poller sleeps (nor a
 * second one in a nested op), to look past the divergence of script
 * 'force-while-parked' in random scripts. */
static bool avoid_force_parked;

static uint64_t rnd_flags(uint64_t *s)
{
	static const uint64_t f[] = { 0, 0, 0, 0, NOWAKE, NOWAKE, NOWAKE, FORCE, FORCE,
				      NOWAKE | FORCE, 4, 4 | FORCE, 8 | NOWAKE, 1ULL << 33 };
	uint64_t v = f[rnd(s, sizeof(f) / sizeof(f[0]))];

	if (avoid_force_parked && !K.armed)
		v &= ~FORCE;
	return v;
}

static uint32_t rnd_size(uint64_t *s)
{
	uint64_t r = rnd(s, 100);

	if (r < 40)
		return (uint32_t)rnd(s, 33);
	if (r < 70)
		return (uint32_t)(33 + rnd(s, 570));
	if (r < 85)
		return (uint32_t)(600 + rnd(s, 1500));
	if (r < 95)
		return (uint32_t)(2100 + rnd(s, 1981));
	return (uint32_t)(4081 + rnd(s, SCRIPT_OUT_MAX - 4080));
}

static void rnd_op(uint64_t *s, struct step *st)
{
	uint64_t r = rnd(s, 100);

	if (r < 40) {
		op_output(st, rnd_size(s), rnd_flags(s));
	} else if (r < 75) {
		uint32_t cls = (uint32_t)(rnd(s, 4) ? rnd(s, 12) : rnd(s, SCRIPT_CLASSES));

		op_reserve(st, cls, rnd(s, 3) ? 0 : SCRIPT_DISCARD, rnd_flags(s));
	} else if (r < 88) {
		uint32_t cls = (uint32_t)(rnd(s, 4) ? rnd(s, 12) : rnd(s, SCRIPT_CLASSES));

		uint64_t fa = rnd_flags(s);

		/* (a FORCE from A's commit after B's FORCE may reach a consumer
		 * that has already taken B's: the same divergence) */
		if (avoid_force_parked)
			fa &= ~FORCE;
		op_nested(st, cls, rnd(s, 3) ? 0 : SCRIPT_DISCARD, fa, rnd_size(s), rnd_flags(s));
	} else if (r < 93) {
		static const uint64_t rf[] = { 1, 2, 3, 4, 1ULL << 32, 0 };

		op_rflags(st, rf[rnd(s, sizeof(rf) / sizeof(rf[0]))]);
	} else {
		static const uint64_t q[] = { 0, 1, 2, 3, 4, 5, 1ULL << 35 };

		op_query(st, q[rnd(s, sizeof(q) / sizeof(q[0]))]);
	}
}

/* Could this op leave exactly RING - 8 bytes in use (a ring that no record,
 * not even an empty FORCE one, can enter: a sleeping poller could then never
 * be woken)? */
static bool may_jam(const struct script_op *op, uint64_t avail)
{
	uint64_t a = 0, b = 0;
	uint64_t outs[4];

	if (op->kind == SCRIPT_OUTPUT)
		b = op->flags & ~3ULL ? 0 : rec_len(op->osize);
	else if (op->kind == SCRIPT_RESERVE)
		a = rec_len(class_size(op->cls));
	if (op->kind == SCRIPT_RESERVE && (op->mode & SCRIPT_NESTED))
		b = op->oflags & ~3ULL ? 0 : rec_len(op->osize);
	outs[0] = avail + a;
	outs[1] = avail + b;
	outs[2] = avail + a + b;
	outs[3] = avail;
	for (int i = 0; i < 4; i++)
		if (outs[i] == RING - 8)
			return true;
	return false;
}


/* What every t_diff_* program does first and last: both sides opened,
 * then closed, and the verdict (exit status). */
static void diff_begin(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	kbpf_require();
	page_sz = sysconf(_SC_PAGESIZE);
	if (page_sz != RING)
		SKIP("the script's ring is %d bytes; page size %ld", RING, page_sz);
	verbose = getenv("DIFF_VERBOSE") && *getenv("DIFF_VERBOSE") == '1';
	avoid_force_parked = getenv("DIFF_AVOID_FORCE_PARKED") &&
			     *getenv("DIFF_AVOID_FORCE_PARKED") == '1';

	side_open(&K);
	side_open(&N);
}

static int diff_end(void)
{
	side_close(&K);
	side_close(&N);
	if (total_failures) {
		fprintf(stderr, "%d script(s) diverged\n", total_failures);
		return T_FAIL;
	}
	return T_PASS;
}

#endif
