/* SPDX-License-Identifier: MIT */
/*
 * cmd_write.c -- ringbuf write: records from standard input, one per line or
 * length-prefixed (--raw), waiting for room rather than dropping any.
 */
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static bool said_waiting;

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write one record, waiting for room: as long as it takes, or at most
 * @timeout seconds (0: for ever) for this record.  The first wait is said
 * once on stderr, so that a full ring nobody drains is not a silent hang. */
static void put_record(struct ringbuf *rb, const struct target *t, const void *p, size_t n,
		       uint64_t flags, double timeout)
{
	double start = 0;
	void *s;

	for (;;) {
		int wait_ms = 1000;

		errno = 0;
		if (start != 0 && timeout > 0) {
			double left = start + timeout - now_secs();

			if (left <= 0)
				die(EX_TIMEOUT, "%s: still full after %g s: gave up (the records "
				    "before this one were written)", t->arg, timeout);
			wait_ms = left * 1000 < 1000 ? (int)(left * 1000) + 1 : 1000;
		}
		s = ringbuf_reserve_wait(rb, n, start == 0 ? 0 : wait_ms);
		if (s)
			break;
		if (errno == EAGAIN) { /* still full: keep waiting, never drop */
			if (start == 0) {
				start = now_secs();
				if (!said_waiting)
					fprintf(stderr, "ringbuf write: %s is full: waiting for room "
						"(is a consumer running?)\n", t->arg);
				said_waiting = true;
			}
			continue;
		}
		if (errno == E2BIG)
			die(EX_FAIL, "%s: a record of %zu bytes can never fit in a ring of %" PRIu64
			    " bytes", t->arg, n, ringbuf_query(rb, RINGBUF_RING_SIZE));
		if (errno == EOPNOTSUPP)
			die(EX_UNSUPPORTED, "%s: cannot write: a kernel BPF_MAP_TYPE_RINGBUF map "
			    "(BPF programs produce into it)", t->arg);
		if (errno == EBADMSG)
			die(EX_FAIL, "%s: the ring's shared state is corrupt", t->arg);
		die(EX_FAIL, "%s: %s", t->arg, strerror(errno ? errno : EIO));
	}
	if (n)
		memcpy(s, p, n);
	ringbuf_submit(s, flags);
}

enum { WRITE_LINES, WRITE_RAW, WRITE_NOWAKE, WRITE_FORCE, WRITE_TIMEOUT };

static const struct cli_opt write_opts[] = {
	[WRITE_LINES] = { "--lines", CLI_FLAG, NULL, NULL },
	[WRITE_RAW] = { "--raw", CLI_FLAG, NULL, NULL },
	[WRITE_NOWAKE] = { "--no-wakeup", CLI_FLAG, NULL, NULL },
	[WRITE_FORCE] = { "--force-wakeup", CLI_FLAG, NULL, NULL },
	[WRITE_TIMEOUT] = { "--timeout", CLI_VALUE, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

struct write_args {
	bool lines, raw, nowake, force;
	double timeout; /* --timeout S: per record, 0 = wait for ever */
};

static void write_opt(void *ctx, int opt, const char *v)
{
	struct write_args *a = ctx;

	switch (opt) {
	case WRITE_LINES: a->lines = true; break;
	case WRITE_RAW: a->raw = true; break;
	case WRITE_NOWAKE: a->nowake = true; break;
	case WRITE_FORCE: a->force = true; break;
	case WRITE_TIMEOUT:
		if (parse_secs(v, &a->timeout))
			usage_err("malformed timeout '%s' (seconds, above 0)", v);
		break;
	}
}

static int write_run(int argc, char **argv)
{
	struct write_args wa = { false, false, false, false, 0 };
	const char *arg;
	uint64_t flags = 0, ring_size;
	struct target t;
	struct ringbuf *rb;
	struct ringbuf_set *set;

	arg = cli_parse(&cmd_write, argc, argv, write_opt, &wa);
	if (wa.lines && wa.raw)
		usage_err("--lines and --raw exclude each other");
	if (wa.nowake && wa.force)
		usage_err("--no-wakeup and --force-wakeup exclude each other");
	flags = wa.nowake ? RINGBUF_NO_WAKEUP : wa.force ? RINGBUF_FORCE_WAKEUP : 0;
	parse_target(arg, &t);
	/* A ring set: this one producer writes every record into one of its
	 * rings, its CPU's at the start (its records stay in order). */
	set = open_set_target(&t, RINGBUF_ROLE_PRODUCER);
	if (set && (t.kind != T_NAME || !ringbuf_set_count(set)))
		die(EX_UNSUPPORTED, "%s: cannot write: a map of kernel ring buffers (BPF programs "
		    "produce into it)", t.arg);
	if (set) {
		int cpu = sched_getcpu();

		rb = ringbuf_set_ring(set, (unsigned)(cpu < 0 ? 0 : cpu) % ringbuf_set_count(set));
	} else {
		rb = open_target(&t, RINGBUF_ROLE_PRODUCER);
	}
	ring_size = ringbuf_query(rb, RINGBUF_RING_SIZE);
	/* a kernel RINGBUF map may be consumed: only BPF programs produce into it */
	if (t.kind != T_NAME && consume_none(rb) >= 0)
		die(EX_UNSUPPORTED, "%s: cannot write: a kernel BPF_MAP_TYPE_RINGBUF map (BPF "
		    "programs produce into it; use a USER_RINGBUF map)", t.arg);

	if (!wa.raw) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&line, &cap, stdin)) >= 0) {
			if (n > 0 && line[n - 1] == '\n')
				n--;
			put_record(rb, &t, line, (size_t)n, flags, wa.timeout);
		}
		free(line);
	} else {
		unsigned char hdr[4];
		unsigned char *buf = NULL;
		size_t cap = 0;

		for (;;) {
			size_t got = fread(hdr, 1, 4, stdin);
			uint32_t len;

			if (got == 0 && feof(stdin))
				break;
			if (got < 4) {
				if (ferror(stdin))
					break;
				die(EX_USAGE, "%s: malformed --raw input: truncated length prefix",
				    t.arg);
			}
			len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			      (uint32_t)hdr[3] << 24;
			if (len >= ring_size)
				die(EX_FAIL, "%s: a record of %" PRIu32 " bytes can never fit in a "
				    "ring of %" PRIu64 " bytes", t.arg, len, ring_size);
			if (len > cap) {
				unsigned char *nb = realloc(buf, len);

				if (!nb)
					die(EX_FAIL, "out of memory");
				buf = nb;
				cap = len;
			}
			if (fread(buf, 1, len, stdin) != len) {
				if (ferror(stdin))
					break;
				die(EX_USAGE, "%s: malformed --raw input: a record of %" PRIu32
				    " bytes is truncated", t.arg, len);
			}
			put_record(rb, &t, buf, len, flags, wa.timeout);
		}
		free(buf);
	}
	if (ferror(stdin))
		die(EX_FAIL, "standard input: %s", strerror(errno ? errno : EIO));
	if (set)
		ringbuf_set_free(set);
	else
		ringbuf_free(rb);
	return EX_OK;
}

static const char write_help[] =
	"usage: ringbuf write TARGET [--lines | --raw] [--no-wakeup | --force-wakeup]\n"
	"                            [--timeout S]\n"
	"\n"
	"Write records read from standard input until its end.  When the ring is\n"
	"full, wait for room (no record is ever dropped; the first wait is said\n"
	"once on standard error).  A named ring is opened\n"
	"in the producer role (a split ring: needs write access to its 'ring'\n"
	"file).\n"
	"\n"
	"  --lines          one record per line, without its newline (default); an\n"
	"                   empty line is an empty record, a last line without a\n"
	"                   newline is a record too\n"
	"  --raw            records as a 4-byte little-endian length, then the bytes\n"
	"                   (what 'ringbuf tail --format raw' writes)\n"
	"  --no-wakeup      commit with RINGBUF_NO_WAKEUP: never wake the consumer\n"
	"  --force-wakeup   commit with RINGBUF_FORCE_WAKEUP: wake it every record\n"
	"                   (default: adaptive wakeups, as the kernel's flags 0)\n"
	"  --timeout S      give up (exit 11) when a record has waited S seconds\n"
	"                   for room; the records before it stay written\n"
	"\n"
	"TARGET: NAME, or a bpffs PATH or id:N of a BPF_MAP_TYPE_USER_RINGBUF map.\n"
	"Exit status: 0, 1 (also: a record larger than the ring), 2 (also: truncated\n"
	"--raw input), 3, 4, 5, 6, 7, 10 (a BPF_MAP_TYPE_RINGBUF map), 11 (--timeout).\n";

const struct cli_cmd cmd_write = {
	.name = "write",
	.synopsis = "TARGET [--lines|--raw] [--no-wakeup|--force-wakeup] [--timeout S]",
	.summary = "records from standard input",
	.help = write_help,
	.opts = write_opts,
	.operand = "TARGET",
	.run = write_run,
};
