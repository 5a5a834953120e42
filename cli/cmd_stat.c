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

/*
 * The output: "key: value" lines, or in --watch mode two per line (so that
 * a refresh fits a 24-line terminal), or one JSON object (--json).  Values
 * are collected, then printed at once.
 */
struct out {
	bool json, compact;
	int n;
	char cell[48][640];
};

static struct out g_out;
static char g_per_ring[8192]; /* a ring set's per-ring counters, as JSON */

static void kv_text(const char *k, const char *v)
{
	if (g_out.n < (int)(sizeof(g_out.cell) / sizeof(g_out.cell[0])))
		if (snprintf(g_out.cell[g_out.n++], sizeof(g_out.cell[0]), "%-16s %s", k, v) < 0)
			g_out.n--;
}

/* A JSON member "k":v (@v already JSON), or the text cell "k: text". */
static void kv(const char *k, const char *json, const char *text)
{
	char key[40];

	if (!g_out.json) {
		snprintf(key, sizeof(key), "%s:", k);
		kv_text(key, text);
		return;
	}
	if (g_out.n < (int)(sizeof(g_out.cell) / sizeof(g_out.cell[0])))
		if (snprintf(g_out.cell[g_out.n++], sizeof(g_out.cell[0]), "\"%s\":%s", k, json) < 0)
			g_out.n--;
}

static void kv_u64(const char *k, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	kv(k, b, b);
}

static void kv_str(const char *k, const char *v)
{
	char j[600];

	json_str(v, j, sizeof(j));
	kv(k, j, v);
}

/* A rate: its number in JSON, with SI units in text ("105 MB/s"). */
static void kv_rate(const char *k, double v, const char *unit)
{
	static const char *const pre[] = { "", "k", "M", "G", "T" };
	char j[40], t[48];
	int i = 0;
	double x = v;

	snprintf(j, sizeof(j), "%.1f", v);
	while (x >= 1000 && i < 4) {
		x /= 1000;
		i++;
	}
	snprintf(t, sizeof(t), i ? "%.1f %s%s" : "%.0f %s%s", x, pre[i], unit);
	kv(k, j, t);
}

static void out_flush(void)
{
	if (g_out.json) {
		putchar('{');
		for (int i = 0; i < g_out.n; i++)
			printf("%s%s", i ? "," : "", g_out.cell[i]);
		if (g_per_ring[0])
			printf(",\"per_ring\":%s", g_per_ring);
		puts("}");
	} else if (g_out.compact) {
		for (int i = 0; i < g_out.n; i += 2)
			if (i + 1 < g_out.n)
				printf("%-39.39s %s\n", g_out.cell[i], g_out.cell[i + 1]);
			else
				printf("%s\n", g_out.cell[i]);
	} else {
		for (int i = 0; i < g_out.n; i++)
			puts(g_out.cell[i]);
	}
	g_out.n = 0;
}

/* A ring set: each ring's own counters after the sums (in JSON, the
 * array "per_ring", printed last by out_flush()). */
static void print_set_rings(struct ringbuf_set *set)
{
	size_t jn = (size_t)snprintf(g_per_ring, sizeof(g_per_ring), "[");

	for (unsigned i = 0; i < ringbuf_set_count(set); i++) {
		struct ringbuf_stats st = { .sz = sizeof(st) };
		char key[32], text[96];

		ringbuf_stats(ringbuf_set_ring(set, i), &st);
		snprintf(key, sizeof(key), "ring.%u", i);
		snprintf(text, sizeof(text), "avail_data %" PRIu64 ", reserved %" PRIu64
			 ", refused_full %" PRIu64 ", consumer_pid %u", st.avail_data, st.reserved,
			 st.refused_full, st.consumer_pid);
		if (!g_out.json)
			kv(key, NULL, text);
		else if (jn + 160 < sizeof(g_per_ring))
			jn += (size_t)snprintf(g_per_ring + jn, sizeof(g_per_ring) - jn,
					       "%s{\"avail_data\":%" PRIu64 ",\"reserved\":%" PRIu64
					       ",\"refused_full\":%" PRIu64 ",\"consumer_pid\":%u}",
					       i ? "," : "", st.avail_data, st.reserved,
					       st.refused_full, st.consumer_pid);
	}
	snprintf(g_per_ring + jn, sizeof(g_per_ring) - jn, "]");
}

static void print_stats(const struct target *t, const char *kind, const struct ringbuf_stats *st,
			const struct ringbuf_stats *prev, double dt, struct ringbuf *rb,
			struct ringbuf_set *set)
{
	bool kernel = t->kind != T_NAME;
	bool split = !kernel && !set && name_is_split(t->arg);
	char b[64];

	kv_str("target", t->arg);
	kv_str("kind", kind);
	if (set) {
		char j[16];

		snprintf(j, sizeof(j), "%u", ringbuf_set_count(set));
		snprintf(b, sizeof(b), "%s (the counters below are their sums)", j);
		kv("rings", j, b);
	} else if (rb && ringbuf_query(rb, RINGBUF_SET_COUNT)) {
		snprintf(b, sizeof(b), "ring %u of a set of %u",
			 (unsigned)ringbuf_query(rb, RINGBUF_SET_INDEX),
			 (unsigned)ringbuf_query(rb, RINGBUF_SET_COUNT));
		kv_str("set", b);
	}
	kv_u64("ring_size", st->ring_size);
	kv_u64("consumer_pos", st->consumer_pos);
	kv_u64("producer_pos", st->producer_pos);
	kv_u64("avail_data", st->avail_data);
	snprintf(b, sizeof(b), "%.1f%%", fill_pct(st));
	{
		char j[32];

		snprintf(j, sizeof(j), "%.1f", fill_pct(st));
		kv("fill", j, b);
	}
	if (!kernel) {
		kv_u64("consumer_pid", st->consumer_pid);
		kv_u64("reserved", st->reserved);
		kv_u64("reserved_bytes", st->reserved_bytes);
		kv_u64("discarded", st->discarded);
		kv_u64("refused_full", st->refused_full);
		kv_u64("refused_too_big", st->refused_too_big);
		kv_u64("refused_flags", st->refused_flags);
		kv_u64("wakeups", st->wakeups);
		kv_u64("lock_steals", st->lock_steals);
		kv_u64("recovered", st->recovered);
		kv_str("mode", st->flags & RINGBUF_F_OVERWRITE ? "overwrite" : "normal");
		if (st->flags & RINGBUF_F_OVERWRITE) {
			kv_u64("overwrite_pos", st->overwrite_pos);
			kv_u64("overwritten", st->overwritten);
			kv_u64("lost", st->lost);
		}
		kv_str("split", split ? "yes" : "no");
		kv_str("opened_as", t->role == RINGBUF_ROLE_CONSUMER   ? "consumer"
				    : t->role == RINGBUF_ROLE_OBSERVER ? "observer"
								       : "producer");
		if (set)
			print_set_rings(set);
	}
	if (prev && dt > 0) {
#define RATE(f) ((double)(st->f - prev->f) / dt)
		kv_rate("produced_rate", RATE(producer_pos), "B/s");
		kv_rate("consumed_rate", RATE(consumer_pos), "B/s");
		if (!kernel) {
			kv_rate("reserved_rate", RATE(reserved), "records/s");
			kv_rate("discarded_rate", RATE(discarded), "records/s");
			kv_rate("refused_rate",
				RATE(refused_full) + RATE(refused_too_big) + RATE(refused_flags),
				"records/s");
			kv_rate("wakeups_rate", RATE(wakeups), "/s");
		}
#undef RATE
	}
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL); /* a signal ends it early: g_stop is checked */
}

enum { STAT_WATCH, STAT_JSON };

static const struct cli_opt stat_opts[] = {
	[STAT_WATCH] = { "--watch", CLI_OPTVALUE, is_secs, "-w" },
	[STAT_JSON] = { "--json", CLI_FLAG, NULL, "-j" },
	{ NULL, 0, NULL, NULL },
};

struct stat_args {
	bool watch, json;
	double every; /* seconds between refreshes */
};

static void stat_opt(void *ctx, int opt, const char *v)
{
	struct stat_args *a = ctx;

	if (opt == STAT_JSON) {
		a->json = true;
		return;
	}
	a->watch = true;
	if (v && parse_secs(v, &a->every))
		usage_err("malformed --watch seconds '%s'", v);
}

static int stat_run(int argc, char **argv)
{
	struct stat_args sa = { false, false, 1.0 };
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
		g_out.json = sa.json;
		print_stats(&t, kind, &st, NULL, 0, rb, set);
		out_flush();
	} else {
		bool tty = isatty(STDOUT_FILENO), first = true;
		double t0 = now_s(), t1, dt = 0;

		catch_stop_signals();
		for (;;) {
			if (sa.json)
				; /* one JSON object per line: a stream */
			else if (tty)
				fputs("\033[H\033[J", stdout);
			else if (!first)
				fputc('\n', stdout);
			/* rates appear from the second refresh on */
			g_out.json = sa.json;
			g_out.compact = !sa.json; /* a refresh fits 24 lines */
			print_stats(&t, kind, &st, first ? NULL : &prev, dt, rb, set);
			out_flush();
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
	"usage: ringbuf stat TARGET [-w|--watch [SECS]] [-j|--json]\n"
	"\n"
	"Print a ring's positions, available data and counters, one 'key: value'\n"
	"per line (ring_size, consumer_pos, producer_pos, avail_data, fill,\n"
	"consumer_pid, reserved, reserved_bytes, discarded, refused_full,\n"
	"refused_too_big, refused_flags, wakeups, lock_steals, recovered -- records\n"
	"of dead producers a consumer discarded -- mode; for an overwrite-mode ring\n"
	"also overwrite_pos, overwritten -- records overwritten -- and lost -- those\n"
	"of them the consumer never got), split -- yes for a split ring -- and\n"
	"opened_as -- how stat opened it.  Kernel maps keep no counters: only sizes\n"
	"and positions are shown for them.\n"
	"\n"
	"A named ring is opened as an observer: read-only, claiming and writing\n"
	"nothing, so read access to its files is enough and a running consumer is\n"
	"not disturbed.\n"
	"\n"
	"  -j, --json    one JSON object on one line instead (numbers as numbers,\n"
	"                rates per second; a ring set's rings in \"per_ring\")\n"
	"  -w, --watch [SECS]\n"
	"                refresh every SECS seconds (default 1; fractions allowed;\n"
	"                --watch=SECS is unambiguous) until interrupted, adding\n"
	"                per-second rates since the previous refresh, in SI units;\n"
	"                two cells per line, so that a refresh fits 24 lines.  The\n"
	"                screen is cleared between refreshes when the output is a\n"
	"                terminal; otherwise blocks are separated by a blank line\n"
	"                (with --json: one line per refresh).\n"
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
	.synopsis = "TARGET [--watch [SECS]] [--json]",
	.summary = "positions, counters, rates",
	.help = stat_help,
	.opts = stat_opts,
	.operand = "TARGET",
	.run = stat_run,
};
