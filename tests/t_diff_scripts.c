/* SPDX-License-Identifier: MIT */
/*
 * t_diff_scripts -- the t_diff tests of: script_wakeups, script_sizes, script_full, script_wrap, script_nested, script_stale.
 * What they share, and the whole plan, are in tests/common/diff.h.
 */
#include "diff.h"

static void script_wakeups(void)
{
	struct step *st;

	def_begin("wakeups", true);
	add_step(&def, ST_SEEK, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* caught-up consumer: adaptive records wake it */
	st = run1(&def); op_output(st, 8, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_output(st, 0, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C13, 0, 0); want(st, 1); st->want_woken = 1;
	/* a discarded record at the head wakes it too (nothing delivered) */
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C0, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	/* NO_WAKEUP: nothing; then the consumer is behind: adaptive records
	 * do not wake it either */
	st = run1(&def); op_output(st, 16, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 16, 0); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C56, 0, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C7, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 1, 4); want(st, -EINVAL); st->want_woken = 0;
	/* queries while records wait */
	st = run1(&def);
	op_query(st, BPF_RB_AVAIL_DATA); want(st, 24 + 24 + 64 + 16);
	op_query(st, BPF_RB_RING_SIZE); want(st, RING);
	op_query(st, BPF_RB_CONS_POS);
	op_query(st, BPF_RB_PROD_POS);
	op_query(st, 4); want(st, 0);
	op_query(st, 77); want(st, 0);
	op_query(st, 1ULL << 33); want(st, 0);
	st->want_woken = 0;
	/* FORCE wakes a consumer that is behind */
	st = run1(&def); op_output(st, 5, FORCE); want(st, 0); st->want_woken = 1;
	/* flags 3 = NO_WAKEUP|FORCE: FORCE wins */
	st = run1(&def); op_output(st, 9, NOWAKE | FORCE); want(st, 0); st->want_woken = 1;
	/* bad output flags: -EINVAL, nothing written, nobody woken */
	st = run1(&def); op_output(st, 9, 4); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 9, 4 | FORCE); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 9, 1ULL << 32); want(st, -EINVAL); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, ~0ULL); want(st, -EINVAL); st->want_woken = 0;
	/* reserve with nonzero flags: NULL */
	st = run1(&def);
	op_rflags(st, 1); want(st, 0);
	op_rflags(st, 2); want(st, 0);
	op_rflags(st, 4); want(st, 0);
	op_rflags(st, 1ULL << 40); want(st, 0);
	st->want_woken = 0;
	/* commit flags: other bits are ignored */
	st = run1(&def); op_reserve(st, C8, 0, 4); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C8, 0, 4 | NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 8 | NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C8, SCRIPT_DISCARD, 1ULL << 50 | FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C8, 0, NOWAKE | FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C0, SCRIPT_DISCARD, NOWAKE | FORCE); want(st, 1); st->want_woken = 1;
	/* a consumer behind only NO_WAKEUP records, then an adaptive discard */
	st = run1(&def); op_output(st, 3, NOWAKE); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, SCRIPT_DISCARD, 0); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, SCRIPT_DISCARD, FORCE); st->want_woken = 1;
	run_script(&def);
}

static void script_sizes(void)
{
	struct step *st;

	def_begin("sizes", true);
	add_step(&def, ST_SEEK, 0);
	/* parked: an empty ring, one record at a time, drained each time */
	for (uint32_t cls = 0; cls < SCRIPT_CLASSES; cls++) {
		uint64_t r = rec_len(class_size(cls));
		bool first = r <= RING - 1;

		st = run1(&def);
		op_reserve(st, cls, 0, 0);
		want(st, first);
		op_reserve(st, cls, SCRIPT_DISCARD, 0);
		want(st, r <= RING - 1 - (first ? r : 0));
		add_step(&def, ST_DRAIN, 0);
	}
	{
		static const uint32_t sizes[] = { 0, 1, 7, 8, 9, 2039, 2040, 2041, 4079, 4080,
						  4081, 4087, 4088, 4089, 4095, 4096, 4097,
						  4160, SCRIPT_OUT_MAX };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			st = run1(&def);
			op_output(st, sizes[i], 0);
			want(st, sizes[i] <= 4080 ? 0 : -EAGAIN);
			add_step(&def, ST_DRAIN, 0);
		}
	}
	/* armed: the same, each waking the consumer or not */
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	for (uint32_t cls = 0; cls < SCRIPT_CLASSES; cls++) {
		st = run1(&def);
		op_reserve(st, cls, cls & 1 ? SCRIPT_DISCARD : 0, 0);
		want(st, class_size(cls) <= 4080);
		st->want_woken = class_size(cls) <= 4080;
	}
	run_script(&def);
}

static void script_full(void)
{
	struct step *st;

	/* parked: fill the ring to the last byte possible */
	def_begin("full-parked", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def);
	for (int i = 0; i < 4; i++) {
		op_output(st, 1000, 0); want(st, 0); /* 4 x 1008 = 4032 */
	}
	op_output(st, 1000, 0); want(st, -EAGAIN);
	op_output(st, 56, 0); want(st, -EAGAIN);   /* 4032 + 64 = 4096 */
	op_reserve(st, C56, 0, 0); want(st, 0);
	op_output(st, 48, NOWAKE); want(st, 0);   /* 4032 + 56 = 4088 */
	op_output(st, 0, FORCE); want(st, -EAGAIN); /* 4096 > 4095 */
	op_reserve(st, C0, 0, FORCE); want(st, 0);
	op_query(st, BPF_RB_AVAIL_DATA); want(st, 4088);
	add_step(&def, ST_ARM, 0)->want_woken = 1; /* records waiting: at once */
	/* the poller consumed everything (and is parked): full again */
	st = run1(&def);
	op_output(st, 2032, 0); want(st, 0);      /* 2040 */
	op_reserve(st, C2032, 0, 0); want(st, 1); /* 2040 + 2040 = 4080 */
	op_output(st, 0, 0); want(st, 0);         /* 4088 */
	op_output(st, 0, 0); want(st, -EAGAIN);
	op_reserve(st, C2040, 0, 0); want(st, 0);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* armed and one byte short of full: EAGAIN with a sleeping consumer */
	st = run1(&def); op_output(st, 4000, NOWAKE); want(st, 0); st->want_woken = 0; /* 4008 */
	st = run1(&def); op_output(st, 64, NOWAKE); want(st, 0); st->want_woken = 0;   /* 4080 */
	st = run1(&def); op_output(st, 1, FORCE); want(st, -EAGAIN); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C1, 0, FORCE); want(st, 0); st->want_woken = 0;
	/* A fills the ring (4088), B cannot enter, A's forced commit wakes */
	st = run1(&def); op_nested(st, C0, 0, FORCE, 0, FORCE); want(st, 1); st->want_woken = 1;
	run_script(&def);

	/* armed: full ring, EAGAIN everywhere, consumer wakes and frees it */
	def_begin("full-armed", true);
	add_step(&def, ST_SEEK, 8);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0; /* 4016 */
	st = run1(&def); op_reserve(st, C56, 0, FORCE); want(st, 1); st->want_woken = 1; /* 4080 */
	st = run1(&def); op_output(st, 2000, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, 0); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 2000, FORCE); want(st, -EAGAIN); st->want_woken = 0;
	st = run1(&def); op_reserve(st, C120, 0, FORCE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 32, FORCE); want(st, 0); st->want_woken = 1;
	run_script(&def);
}

static void script_wrap(void)
{
	struct step *st;

	def_begin("wrap", true);
	/* records that run across the end of the data area */
	for (int off = 4096 - 8; off >= 4096 - 256; off -= 40) {
		add_step(&def, ST_SEEK, off);
		add_step(&def, ST_ARM, 0)->want_woken = 0;
		st = run1(&def); op_output(st, 200, 0); want(st, 0); st->want_woken = 1;
		st = run1(&def); op_reserve(st, C504, 0, 0); want(st, 1); st->want_woken = 1;
		st = run1(&def); op_reserve(st, C2032, SCRIPT_DISCARD, NOWAKE); want(st, 1); st->want_woken = 0;
		st = run1(&def); op_output(st, 1500, 0); want(st, 0); st->want_woken = 0;
		st = run1(&def); op_output(st, 7, FORCE); want(st, 0); st->want_woken = 1;
	}
	add_step(&def, ST_SEEK, 4096 - 16);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_reserve(st, C4080, 0, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_output(st, 4080, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_reserve(st, C4080, SCRIPT_DISCARD, 0); want(st, 1); st->want_woken = 1;
	run_script(&def);
}

static void script_nested(void)
{
	struct step *st;

	def_begin("nested", true);
	add_step(&def, ST_SEEK, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	/* consumer waits at A (BUSY): B's adaptive commit owes no wakeup,
	 * A's does */
	st = run1(&def); op_nested(st, C8, 0, 0, 16, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C8, 0, NOWAKE, 16, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_nested(st, C0, SCRIPT_DISCARD, 0, 0, 0); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 3, FORCE); st->want_woken = 1;
	st = run1(&def); op_nested(st, C13, SCRIPT_DISCARD, 0, 24, 0); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C120, SCRIPT_DISCARD, NOWAKE, 24, NOWAKE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_nested(st, C7, 0, FORCE, 8, NOWAKE); want(st, 1); st->want_woken = 1;
	/* A too big: B is at the consumer's position and wakes it */
	st = run1(&def); op_nested(st, C4096, 0, 0, 8, 0); want(st, 0); st->want_woken = 1;
	st = run1(&def); op_nested(st, C4081, 0, 0, 8, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, FORCE); st->want_woken = 1;
	/* B does not fit next to A */
	st = run1(&def); op_nested(st, C2032, 0, NOWAKE, 2048, FORCE); want(st, 1); st->want_woken = 0;
	st = run1(&def); op_output(st, 0, FORCE); st->want_woken = 1;
	/* B forces a wakeup while A is still BUSY */
	st = run1(&def); op_nested(st, C56, 0, NOWAKE, 8, FORCE); want(st, 1); st->want_woken = 1;
	st = run1(&def); op_nested(st, C56, SCRIPT_DISCARD, NOWAKE, 8, FORCE); want(st, 1); st->want_woken = 1;
	run_script(&def);

	/* parked: several nested ops in one run, then drain */
	def_begin("nested-batch", false);
	add_step(&def, ST_SEEK, 4096 - 64);
	st = add_step(&def, ST_RUN, 0);
	for (int i = 0; i < 8; i++)
		op_nested(st, (uint32_t)(i % 8), i & 1 ? SCRIPT_DISCARD : 0, (uint64_t)i % 2,
			  (uint32_t)(i * 37), (uint64_t)(i + 1) % 2);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 1, 0); st->want_woken = 1;
	run_script(&def);
}

/* FORCE_WAKEUP notifications sent while nobody polls, then the consumer
 * drains with ringbuf_consume() and polls: the kernel's EPOLLIN is level
 * (producer_pos != consumer_pos), so with nothing left the poll blocks. */
static void script_stale(void)
{
	struct step *st;

	def_begin("force-while-parked", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0);
	add_step(&def, ST_DRAIN, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 8, NOWAKE); want(st, 0); st->want_woken = 0;
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0); st->want_woken = 1;
	run_script(&def);

	/* control: the forced notification is taken by a poll that finds
	 * records waiting; the next poll blocks */
	def_begin("force-then-poll", false);
	add_step(&def, ST_SEEK, 0);
	st = run1(&def); op_output(st, 8, FORCE); want(st, 0);
	add_step(&def, ST_ARM, 0)->want_woken = 1;
	add_step(&def, ST_ARM, 0)->want_woken = 0;
	st = run1(&def); op_output(st, 8, 0); want(st, 0); st->want_woken = 1;
	run_script(&def);
}

static void run_scripts(void)
{
	script_wakeups();
	script_sizes();
	script_full();
	script_wrap();
	script_nested();
	script_stale();
}

int main(void)
{
	diff_begin();
	run_scripts();
	/* the same scripts on a single-producer ring */
	diff_native_flags = RINGBUF_F_SINGLE_PRODUCER;
	run_scripts();
	return diff_end();
}
