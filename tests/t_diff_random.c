/* SPDX-License-Identifier: MIT */
/*
 * t_diff_random -- the t_diff tests of: run_random.
 * What they share, and the whole plan, are in tests/common/diff.h.
 */
#include "diff.h"

static void run_random(uint64_t seed, int nsteps)
{
	char name[48];
	struct ctx c;
	uint64_t s = seed;
	struct step *st = &def.steps[0];
	int i;

	snprintf(name, sizeof(name), "random-%llu", (unsigned long long)seed);
	if (!selected(name))
		return;
	memset(&c, 0, sizeof(c));
	c.script = name;
	c.seed = seed;
	for (i = 0; i < nsteps && !c.failed; i++) {
		bool armed = K.armed;

		memset(st, 0, sizeof(*st));
		st->want_woken = ANY;
		if (armed) {
			/* one op per step: wakeups are observed op by op, and
			 * nothing races with a consumer woken mid-run */
			uint64_t avail = ringbuf_query(N.h, RINGBUF_AVAIL_DATA);

			st->kind = ST_RUN;
			do {
				st->nops = 0;
				rnd_op(&s, st);
			} while (may_jam(&st->ops[0], avail));
		} else {
			uint64_t r = rnd(&s, 100);

			if (r < 50) {
				int n = 1 + (int)rnd(&s, rnd(&s, 2) ? 8 : SCRIPT_MAX_OPS);

				st->kind = ST_RUN;
				for (int k = 0; k < n; k++)
					rnd_op(&s, st);
			} else if (r < 70) {
				st->kind = ST_DRAIN;
			} else if (r < 95) {
				/* usually after a drain */
				if (rnd(&s, 4)) {
					step_begin(&c, i, st);
					st->kind = ST_DRAIN;
					exec_step(&c, st, true);
					if (c.failed)
						break;
				}
				st->kind = ST_ARM;
			} else {
				st->kind = ST_SEEK;
				st->arg = (int)(rnd(&s, RING / 8) * 8);
			}
		}
		step_begin(&c, i, st);
		exec_step(&c, st, rnd(&s, 4) != 0);
	}
	end_script(&c);
	if (!c.failed)
		printf("ok   %s (%d steps)\n", name, nsteps);
}

int main(void)
{
	const char *seed_env = getenv("DIFF_SEED");
	static const uint64_t seeds[] = { 1, 2, 3, 0x5eed, 20240601, 987654321 };

	diff_begin();

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		run_random(seeds[i], 150);
	/* a single-producer ring: the same bytes, step by step */
	diff_native_flags = RINGBUF_F_SINGLE_PRODUCER;
	run_random(7, 150);
	run_random(0x51e, 150);
	diff_native_flags = 0;
	if (seed_env && *seed_env)
		run_random(strtoull(seed_env, NULL, 0), 300);

	return diff_end();
}
