/* SPDX-License-Identifier: MIT */
/*
 * cmd_stat.c -- ringbuf stat: a ring's positions and counters, once or
 * refreshed (--watch) with rates.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *target_kind(const struct target *t, struct ringbuf *rb)
{
	if (t->kind == T_NAME)
		return "ringbuf ring";
	if (consume_none(rb) == -EOPNOTSUPP)
		return "kernel BPF_MAP_TYPE_USER_RINGBUF map";
	return "kernel BPF_MAP_TYPE_RINGBUF map";
}

#define KV(k, fmt, ...) printf("%-16s " fmt "\n", k ":", __VA_ARGS__)

/* A ring set: its size, then each ring's own line after the sums. */
static void print_set_rings(struct ringbuf_set *set)
{
	for (unsigned i = 0; i < ringbuf_set_count(set); i++) {
		struct ringbuf_stats st = { .sz = sizeof(st) };
		char key[32];

		ringbuf_stats(ringbuf_set_ring(set, i), &st);
		snprintf(key, sizeof(key), "ring.%u:", i);
		printf("%-16s avail_data %" PRIu64 ", reserved %" PRIu64 ", refused_full %" PRIu64
		       ", consumer_pid %u\n", key, st.avail_data, st.reserved, st.refused_full,
		       st.consumer_pid);
	}
}

static void print_stats(const struct target *t, const char *kind, const struct ringbuf_stats *st,
			const struct ringbuf_stats *prev, double dt, struct ringbuf *rb,
			struct ringbuf_set *set)
{
	bool kernel = t->kind != T_NAME;
	bool split = !kernel && !set && name_is_split(t->arg);

	KV("target", "%s", t->arg);
	KV("kind", "%s", kind);
	if (set)
		KV("rings", "%u (the counters below are their sums)", ringbuf_set_count(set));
	else if (rb && ringbuf_query(rb, RINGBUF_SET_COUNT))
		KV("set", "ring %u of a set of %u", (unsigned)ringbuf_query(rb, RINGBUF_SET_INDEX),
		   (unsigned)ringbuf_query(rb, RINGBUF_SET_COUNT));
	KV("ring_size", "%" PRIu64, st->ring_size);
	KV("consumer_pos", "%" PRIu64, st->consumer_pos);
	KV("producer_pos", "%" PRIu64, st->producer_pos);
	KV("avail_data", "%" PRIu64, st->avail_data);
	KV("fill", "%.1f%%", fill_pct(st));
	if (!kernel) {
		KV("consumer_pid", "%u", st->consumer_pid);
		KV("reserved", "%" PRIu64, st->reserved);
		KV("reserved_bytes", "%" PRIu64, st->reserved_bytes);
		KV("discarded", "%" PRIu64, st->discarded);
		KV("refused_full", "%" PRIu64, st->refused_full);
		KV("refused_too_big", "%" PRIu64, st->refused_too_big);
		KV("refused_flags", "%" PRIu64, st->refused_flags);
		KV("wakeups", "%" PRIu64, st->wakeups);
		KV("lock_steals", "%" PRIu64, st->lock_steals);
		KV("recovered", "%" PRIu64, st->recovered);
		KV("mode", "%s", st->flags & RINGBUF_F_OVERWRITE ? "overwrite" : "normal");
		if (st->flags & RINGBUF_F_OVERWRITE) {
			KV("overwrite_pos", "%" PRIu64, st->overwrite_pos);
			KV("overwritten", "%" PRIu64, st->overwritten);
			KV("lost", "%" PRIu64, st->lost);
		}
		KV("split", "%s", split ? "yes" : "no");
		KV("opened_as", "%s", t->role == RINGBUF_ROLE_CONSUMER ? "consumer" : "producer");
		if (set)
			print_set_rings(set);
	}
	if (prev && dt > 0) {
#define RATE(f) ((double)(st->f - prev->f) / dt)
		KV("produced_rate", "%.0f bytes/s", RATE(producer_pos));
		KV("consumed_rate", "%.0f bytes/s", RATE(consumer_pos));
		if (!kernel) {
			KV("reserved_rate", "%.0f records/s", RATE(reserved));
			KV("discarded_rate", "%.0f records/s", RATE(discarded));
			KV("refused_rate", "%.0f records/s",
			   RATE(refused_full) + RATE(refused_too_big) + RATE(refused_flags));
			KV("wakeups_rate", "%.0f /s", RATE(wakeups));
		}
#undef RATE
	}
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL); /* a signal ends it early: g_stop is checked */
}

static const struct cli_opt stat_opts[] = {
	{ "--watch", CLI_OPTVALUE, is_secs },
	{ NULL, 0, NULL },
};

struct stat_args {
	bool watch;
	double every; /* seconds between refreshes */
};

static void stat_opt(void *ctx, int opt, const char *v)
{
	struct stat_args *a = ctx;

	(void)opt; /* --watch [SECS], the only one */
	a->watch = true;
	if (v && parse_secs(v, &a->every))
		usage_err("malformed --watch seconds '%s'", v);
}

static int stat_run(int argc, char **argv)
{
	struct stat_args sa = { false, 1.0 };
	const char *arg;
	struct target t;
	struct ringbuf *rb = NULL;
	struct ringbuf_set *set;
	struct ringbuf_stats st = { .sz = sizeof(st) }, prev;
	const char *kind;

	arg = cli_parse(&cmd_stat, argc, argv, stat_opt, &sa);
	parse_target(arg, &t);
	/* a ring set, in the producer role: it claims nothing */
	set = open_set_target(&t, RINGBUF_ROLE_PRODUCER);
	if (set) {
		t.role = RINGBUF_ROLE_PRODUCER;
		kind = t.kind == T_NAME ? "ringbuf ring set"
					 : "kernel map of BPF_MAP_TYPE_RINGBUF maps";
		ringbuf_set_stats(set, &st);
	} else {
		rb = open_observe_target(&t);
		kind = target_kind(&t, rb);
		observe_stats(rb, t.role, &st);
	}
	if (!set && t.kind == T_NAME && t.role == RINGBUF_ROLE_CONSUMER) {
		/* give the claim back at once; reopened at each refresh */
		ringbuf_free(rb);
		rb = NULL;
	}
	if (!sa.watch) {
		print_stats(&t, kind, &st, NULL, 0, rb, set);
	} else {
		bool tty = isatty(STDOUT_FILENO), first = true;
		double t0 = now_s(), t1, dt = 0;

		catch_stop_signals();
		for (;;) {
			if (tty)
				fputs("\033[H\033[J", stdout);
			else if (!first)
				fputc('\n', stdout);
			/* rates appear from the second refresh on */
			print_stats(&t, kind, &st, first ? NULL : &prev, dt, rb, set);
			if (fflush(stdout))
				break;
			first = false;
			sleep_s(sa.every);
			if (g_stop)
				break;
			prev = st;
			if (set) {
				ringbuf_set_stats(set, &st);
				goto timed;
			}
			if (!rb)
				rb = open_observe_target(&t);
			observe_stats(rb, t.role, &st);
			if (t.role == RINGBUF_ROLE_CONSUMER) {
				ringbuf_free(rb);
				rb = NULL;
			}
timed:
			t1 = now_s();
			dt = t1 - t0;
			t0 = t1;
		}
	}
	ringbuf_free(rb);
	ringbuf_set_free(set);
	if (fflush(stdout))
		die(EX_FAIL, "standard output: %s", strerror(errno));
	return EX_OK;
}

static const char stat_help[] =
	"usage: ringbuf stat TARGET [--watch [SECS]]\n"
	"\n"
	"Print a ring's positions, available data and counters, one 'key: value'\n"
	"per line (ring_size, consumer_pos, producer_pos, avail_data, fill,\n"
	"consumer_pid, reserved, reserved_bytes, discarded, refused_full,\n"
	"refused_too_big, refused_flags, wakeups, lock_steals, recovered -- records\n"
	"of dead producers a consumer discarded -- mode; for an overwrite-mode ring\n"
	"also overwrite_pos, overwritten -- records overwritten -- and lost -- those\n"
	"of them the consumer never got), split -- yes for a split ring -- and\n"
	"opened_as -- the role stat used.  Kernel maps keep no counters: only sizes\n"
	"and positions are shown for them.\n"
	"\n"
	"A named ring is opened in the producer role, which claims nothing, so a\n"
	"running consumer is not disturbed.  If the user may not write the ring\n"
	"(a split ring whose 'ring' file another user's producers write), it is\n"
	"opened in the consumer role instead, held only while reading (reopened\n"
	"at each --watch refresh; a tail starting at that very moment may be\n"
	"refused as busy).  If neither works: permission denied (5), also when\n"
	"the consumer role is held by a running consumer.\n"
	"\n"
	"  --watch [SECS]  refresh every SECS seconds (default 1; fractions allowed;\n"
	"                  --watch=SECS is unambiguous) until interrupted, adding\n"
	"                  per-second rates since the previous refresh.  The screen\n"
	"                  is cleared between refreshes when the output is a\n"
	"                  terminal; otherwise blocks are separated by a blank line.\n"
	"\n"
	"A ring set (create --set) shows the sums of its rings' counters, then\n"
	"a line per ring (ring.K: avail_data, reserved, refused_full,\n"
	"consumer_pid); one of its rings, stat'ed by its own name NAME.K, shows\n"
	"'set: ring K of a set of N'.\n"
	"\n"
	"TARGET: NAME, a bpffs PATH, or id:N.\n"
	"Exit status: 0, 1, 2, 3, 4, 5, 6, 7.\n";

const struct cli_cmd cmd_stat = {
	.name = "stat",
	.synopsis = "TARGET [--watch [SECS]]",
	.summary = "positions, counters, rates",
	.help = stat_help,
	.opts = stat_opts,
	.operand = "TARGET",
	.run = stat_run,
};
