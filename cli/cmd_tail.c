/* SPDX-License-Identifier: MIT */
/*
 * cmd_tail.c -- ringbuf tail: consume a ring's records and print them (hex,
 * raw, jsonl or text).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum fmt { F_HEX, F_RAW, F_JSONL, F_TEXT };

struct tail {
	enum fmt fmt;   /* --format */
	uint64_t count; /* --count: stop after this many (0: no limit) */
	double timeout; /* --timeout: stop after this many seconds (0: never) */
	uint64_t seq;   /* records printed */
	bool done;      /* count reached */
	bool werr;      /* writing standard output failed */
	bool copying;   /* an overwrite-mode ring: the callback consumer */
	bool peek;      /* --peek: read without consuming */
	uint64_t cons_seen; /* a kernel map: consumer_pos as we left it */
	bool warned;    /* another consumer said so once */
	bool kernel;    /* the target is a kernel map (no consumer claim) */
	char source[600]; /* the target, as a JSON string */
	const char *btf_file, *btf_type; /* --btf FILE --type NAME */
	bool fmt_given;
};

static void put_base64(const unsigned char *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = b64[(v >> 6) & 63];
		out[3] = b64[v & 63];
		fwrite(out, 1, 4, stdout);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = out[3] = '=';
		fwrite(out, 1, 4, stdout);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = b64[(v >> 6) & 63];
		out[3] = '=';
		fwrite(out, 1, 4, stdout);
	}
}

static void put_hexdump(const unsigned char *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t m = n - off < 16 ? n - off : 16;

		printf("  %08zx ", off);
		for (size_t j = 0; j < 16; j++) {
			if (j == 8)
				putchar(' ');
			if (j < m)
				printf(" %02x", p[off + j]);
			else
				fputs("   ", stdout);
		}
		fputs("  |", stdout);
		for (size_t j = 0; j < m; j++)
			putchar(p[off + j] >= 0x20 && p[off + j] < 0x7f ? p[off + j] : '.');
		fputs("|\n", stdout);
	}
}

static void put_text(const unsigned char *p, size_t n)
{
	if (n && p[n - 1] == '\0')
		n--; /* a C string's terminator */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				putchar(c);
			else
				printf("\\x%02x", c);
		}
	}
	putchar('\n');
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tail *t = ctx;
	const unsigned char *p = data;

	if (t->btf_file) {
		char meta[800] = "";

		if (t->fmt == F_JSONL) /* text shows none of it: no clock read */
			snprintf(meta, sizeof(meta), "\"seq\":%" PRIu64 ",\"size\":%zu,\"recv_ns\":%" PRIu64
				 ",\"source\":%s", t->seq, size, realtime_ns(), t->source);
		btf_print(data, size, t->fmt == F_JSONL, meta, t->seq);
		t->seq++;
		return 0;
	}
	switch (t->fmt) {
	case F_RAW: {
		unsigned char len[4] = { (unsigned char)size, (unsigned char)(size >> 8),
					 (unsigned char)(size >> 16), (unsigned char)(size >> 24) };

		fwrite(len, 1, 4, stdout);
		fwrite(p, 1, size, stdout);
		break;
	}
	case F_JSONL: {
		printf("{\"seq\":%" PRIu64 ",\"size\":%zu,\"data\":\"", t->seq, size);
		put_base64(p, size);
		printf("\",\"recv_ns\":%" PRIu64 ",\"source\":%s}\n", realtime_ns(), t->source);
		break;
	}
	case F_TEXT:
		put_text(p, size);
		break;
	case F_HEX:
		printf("record %" PRIu64 ": %zu bytes\n", t->seq, size);
		put_hexdump(p, size);
		break;
	}
	t->seq++;
	return 0;
}

/* Records taken per flush and commit, at most. */
#define TAIL_BATCH 1024

/*
 * Take up to a batch of records with the pull reader, print them, flush,
 * and only then commit the consumer position: a record leaves the ring
 * only once standard output has taken it.  Returns the number taken, or a
 * negative errno of the ring; *@werr tells that writing failed (nothing of
 * the batch is committed then: at least once, never lost).
 */
static int tail_batch(struct ringbuf *rb, struct tail *t, bool *werr)
{
	struct ringbuf_record rec;
	int n = 0, r = 0;

	if (t->copying) {
		/* overwrite mode: the pull reader cannot lease records a
		 * producer may overwrite; the callback consumer copies them
		 * (and commits as it delivers) */
		r = ringbuf_consume_n(rb, on_record, t,
				      t->count ? (size_t)(t->count - t->seq) : TAIL_BATCH);
		if (r > 0 && (fflush(stdout) || ferror(stdout)))
			*werr = true;
		if (t->count && t->seq >= t->count)
			t->done = true;
		return r;
	}
	if (t->kernel && !t->warned) {
		/* a kernel map has no consumer claim: someone else moving its
		 * consumer_pos is another reader taking records from us */
		uint64_t cons = ringbuf_query(rb, RINGBUF_CONS_POS);

		if (t->cons_seen != UINT64_MAX && cons != t->cons_seen) {
			msg("warning: another process is consuming this map too: each record goes "
			    "to one of you (use --peek to read without consuming)");
			t->warned = true;
		}
	}
	while (n < TAIL_BATCH && !(t->count && t->seq >= t->count) &&
	       (r = ringbuf_next(rb, &rec)) > 0) {
		on_record(t, rec.data, rec.size);
		n++;
	}
	if (r == -EOPNOTSUPP && n == 0 && !t->copying) {
		struct ringbuf_stats st = { .sz = sizeof(st) };

		if (ringbuf_stats(rb, &st) == 0 && (st.flags & RINGBUF_F_OVERWRITE)) {
			t->copying = true;
			return tail_batch(rb, t, werr);
		}
	}
	if (r < 0)
		return r;
	if (!n)
		return 0;
	if (fflush(stdout) || ferror(stdout)) {
		*werr = true;
		return n;
	}
	r = ringbuf_commit(rb);
	if (t->kernel)
		t->cons_seen = ringbuf_query(rb, RINGBUF_CONS_POS);
	if (t->count && t->seq >= t->count)
		t->done = true;
	return r < 0 ? r : n;
}

enum { TAIL_FORMAT, TAIL_COUNT, TAIL_TIMEOUT, TAIL_PEEK, TAIL_BTF, TAIL_TYPE };

static const struct cli_opt tail_opts[] = {
	[TAIL_FORMAT] = { "--format", CLI_VALUE, NULL, "-f" },
	[TAIL_COUNT] = { "--count", CLI_VALUE, NULL, "-n" },
	[TAIL_TIMEOUT] = { "--timeout", CLI_VALUE, NULL, NULL },
	[TAIL_PEEK] = { "--peek", CLI_FLAG, NULL, NULL },
	[TAIL_BTF] = { "--btf", CLI_VALUE, NULL, NULL },
	[TAIL_TYPE] = { "--type", CLI_VALUE, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

/*
 * --peek: follow the producers from where they are, copying each record
 * (ringbuf_peek), never storing consumer_pos or claiming anything, so an
 * application consuming the ring is not disturbed.  Returns the exit code.
 */
static int tail_peek(struct ringbuf *rb, struct tail *tl, const struct target *t,
		     double deadline)
{
	uint64_t pos = ringbuf_query(rb, RINGBUF_PROD_POS), missed = 0, said = 0;
	size_t cap = 4096;
	unsigned char *buf = malloc(cap);

	if (!buf)
		die(EX_FAIL, "out of memory");
	while (!g_stop && !(tl->count && tl->seq >= tl->count)) {
		uint32_t size = 0;
		int r = ringbuf_peek(rb, &pos, buf, cap, &size, &missed);

		if (missed != said) {
			msg("%s: missed %" PRIu64 " bytes of records: the producers overwrote them "
			    "before they could be read (--peek holds nothing back)", t->arg,
			    missed - said);
			said = missed;
		}
		if (r == -ENOBUFS) {
			unsigned char *b = realloc(buf, size);

			if (!b)
				die(EX_FAIL, "out of memory");
			buf = b;
			cap = size;
			continue;
		}
		if (r < 0) {
			free(buf);
			msg("%s: %s", t->arg, r == -EBADMSG ? "the ring's shared state is corrupt"
							     : strerror(-r));
			return r == -EOPNOTSUPP ? EX_UNSUPPORTED : EX_FAIL;
		}
		if (r > 0) {
			on_record(tl, buf, size);
			if (fflush(stdout) || ferror(stdout)) {
				free(buf);
				if (errno != EPIPE)
					msg("standard output: %s", strerror(errno));
				return errno == EPIPE ? EX_OK : EX_FAIL;
			}
			continue;
		}
		if (deadline && now_s() >= deadline)
			break;
		{
			struct timespec ts = { 0, 5000000 }; /* nothing committed yet: nap */

			nanosleep(&ts, NULL);
		}
	}
	free(buf);
	if (tl->count && tl->seq < tl->count && !g_stop) {
		msg("%s: timed out after %g s with %" PRIu64 " of %" PRIu64 " records", t->arg,
		    tl->timeout, tl->seq, tl->count);
		return EX_TIMEOUT;
	}
	return EX_OK;
}

static void tail_opt(void *ctx, int opt, const char *v)
{
	struct tail *a = ctx;

	switch (opt) {
	case TAIL_FORMAT:
		a->fmt_given = true;
		if (!strcmp(v, "hex"))
			a->fmt = F_HEX;
		else if (!strcmp(v, "raw"))
			a->fmt = F_RAW;
		else if (!strcmp(v, "jsonl"))
			a->fmt = F_JSONL;
		else if (!strcmp(v, "text"))
			a->fmt = F_TEXT;
		else
			usage_err("unknown format '%s' (hex, raw, jsonl or text)", v);
		break;
	case TAIL_COUNT:
		if (parse_u64(v, &a->count) || a->count == 0)
			usage_err("malformed count '%s' (a whole number, at least 1)", v);
		break;
	case TAIL_TIMEOUT:
		if (parse_secs(v, &a->timeout))
			usage_err("malformed timeout '%s' (seconds, above 0)", v);
		break;
	case TAIL_PEEK:
		a->peek = true;
		break;
	case TAIL_BTF:
		a->btf_file = v;
		break;
	case TAIL_TYPE:
		a->btf_type = v;
		break;
	}
}

static int tail_run(int argc, char **argv)
{
	struct tail tl = { .fmt = F_HEX };
	double deadline = 0;
	const char *arg;
	struct target t;
	struct ringbuf *rb = NULL;
	struct ringbuf_set *set;
	struct pollfd pfd[2] = { { .events = POLLIN }, { .events = 0 } };
	int rc = EX_OK, idle_ready = 0;
	unsigned nr = 1, first = 0;
	double next_refresh = 0;

	arg = cli_parse(&cmd_tail, argc, argv, tail_opt, &tl);
	if (!tl.btf_file != !tl.btf_type)
		usage_err("--btf FILE and --type NAME go together");
	if (tl.btf_file) {
		if (tl.fmt == F_HEX && !tl.fmt_given)
			tl.fmt = F_TEXT;
		if (tl.fmt != F_TEXT && tl.fmt != F_JSONL)
			usage_err("--btf decodes into --format text or jsonl");
		btf_open(tl.btf_file, tl.btf_type);
	}
	parse_target(arg, &t);
	json_str(arg, tl.source, sizeof(tl.source));
	if (tl.timeout > 0)
		deadline = now_s() + tl.timeout;
	if (tl.peek) {
		/* no role that claims or writes: the observer of a named ring
		 * (read access is enough), a kernel map's plain handle */
		rb = open_target(&t, RINGBUF_ROLE_OBSERVER);
		catch_stop_signals();
		rc = tail_peek(rb, &tl, &t, deadline);
		ringbuf_free(rb);
		return rc;
	}
	/* a ring set: its rings in turn, one wait over all of them */
	set = open_set_target(&t, RINGBUF_ROLE_CONSUMER);
	if (set)
		nr = ringbuf_set_count(set);
	else
		rb = open_target(&t, RINGBUF_ROLE_CONSUMER);
	tl.kernel = !set && t.kind != T_NAME;
	tl.cons_seen = tl.kernel ? ringbuf_query(rb, RINGBUF_CONS_POS) : UINT64_MAX;
	catch_stop_signals();
	/* Wait on the ring's fd and on standard output at once: a reader
	 * that went away (POLLERR on a pipe) ends tail while it waits, not
	 * only at its next write. */
	pfd[0].fd = set ? ringbuf_set_epoll_fd(set) : ringbuf_epoll_fd(rb);
	pfd[1].fd = 1;
	while (!g_stop) {
		int ms = 100, r = pfd[0].fd < 0 ? pfd[0].fd : 0;

		if (set && t.kind != T_NAME && now_s() >= next_refresh) {
			/* a map of kernel rings: follow inner maps added or replaced */
			int k = ringbuf_set_refresh(set);

			if (k < 0)
				r = k;
			nr = ringbuf_set_count(set);
			next_refresh = now_s() + 0.1;
		}
		for (unsigned i = 0; i < nr && r >= 0 && !tl.done && !tl.werr; i++) {
			int k = tail_batch(set ? ringbuf_set_ring(set, (first + i) % nr) : rb, &tl,
					   &tl.werr);

			r = k < 0 ? k : r + k;
		}
		first = nr ? (first + 1) % nr : 0;
		if (tl.werr) {
			if (errno != EPIPE)
				msg("standard output: %s", strerror(errno));
			rc = errno == EPIPE ? EX_OK : EX_FAIL;
			break;
		}
		if (tl.done)
			break;
		if (r > 0) {
			idle_ready = 0;
			continue;
		}
		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = (int)(left * 1000) + 1;
		}
		if (r == 0) {
			pfd[0].revents = pfd[1].revents = 0;
			if (poll(pfd, 2, ms) > 0) {
				if (pfd[1].revents & (POLLERR | POLLHUP))
					break; /* nobody reads what we would print */
				if (pfd[0].revents && ++idle_ready > 1) {
					/* ready, yet nothing to take (a BUSY head of a
					 * kernel map keeps its fd ready): nap */
					struct timespec ts = { 0, 2000000 };

					nanosleep(&ts, NULL);
				}
			}
			continue;
		}
		if (r < 0) {
			if (r == -EOPNOTSUPP) {
				msg("%s: cannot consume: a user ring buffer map (the kernel consumes "
				    "it)", t.arg);
				rc = EX_UNSUPPORTED;
			} else if (r == -EBUSY) {
				msg("%s: busy: another live process holds the consumer role", t.arg);
				rc = EX_BUSY;
			} else if (r == -EBADMSG) {
				msg("%s: the ring's shared state is corrupt", t.arg);
				rc = EX_FAIL;
			} else {
				msg("%s: %s", t.arg, strerror(-r));
				rc = EX_FAIL;
			}
			break;
		}
	}
	ringbuf_free(rb);
	ringbuf_set_free(set);
	if (rc == EX_OK && tl.count && !tl.done && !g_stop) {
		msg("%s: timed out after %g s with %" PRIu64 " of %" PRIu64 " records", t.arg,
		    tl.timeout, tl.seq, tl.count);
		rc = EX_TIMEOUT;
	}
	return rc;
}

static const char tail_help[] =
	"usage: ringbuf tail TARGET [--format hex|raw|jsonl|text] [--count N]\n"
	"                    [--timeout S] [--peek] [--btf FILE --type NAME]\n"
	"\n"
	"Consume the ring's records and print them as they arrive.  A named ring\n"
	"is opened in the consumer role (a split ring: this needs write access to\n"
	"its 'consumer' file): while this runs, no other process may consume it\n"
	"(a second tail fails with exit status 8).  A record leaves the ring only\n"
	"once it has been written to standard output (it is taken without\n"
	"consuming, printed, flushed, then committed); if the output cannot be\n"
	"written, or its reader goes away while tail waits, tail ends and the\n"
	"records it had not written stay.  Runs until interrupted (SIGINT/SIGTERM:\n"
	"exit 0), unless --count or --timeout ends it.\n"
	"\n"
	"  -f, --format F\n"
	"                hex (default): 'record SEQ: SIZE bytes', then an offset,\n"
	"                16 bytes in hex and their ASCII per line\n"
	"                raw: per record a 4-byte little-endian length, then the\n"
	"                bytes (what 'ringbuf write --raw' reads)\n"
	"                jsonl: one JSON object per line, {\"seq\":N,\"size\":N,\n"
	"                \"data\":\"BASE64\",\"recv_ns\":N,\"source\":\"TARGET\"}, data in\n"
	"                standard base64 (RFC 4648, with padding), recv_ns the time\n"
	"                tail received it (CLOCK_REALTIME, ns since the epoch)\n"
	"                text: the payload, one record per line; \\\\ \\n \\r \\t and\n"
	"                \\xHH escape backslashes and non-printable bytes; one\n"
	"                trailing NUL byte (a C string's end) is dropped\n"
	"                SEQ counts records from 0 in this invocation.\n"
	"  -n, --count N\n"
	"                stop after exactly N records (N >= 1); the records after\n"
	"                them stay in the ring\n"
	"  --timeout S   stop S seconds (fractions allowed) after starting, in total,\n"
	"                whether or not records arrived: exit 0, or 11 when --count N\n"
	"                was given and fewer than N records arrived\n"
	"  --btf FILE --type NAME\n"
	"                decode each record as the C struct (or union) NAME, from\n"
	"                the BTF of FILE: a BPF object (.o) or /sys/kernel/btf/vmlinux.\n"
	"                text (the default then): field=value ..., nested structs in\n"
	"                {}, arrays in [], char arrays as \"strings\", enums by name;\n"
	"                jsonl: {\"seq\":N,\"size\":N,\"recv_ns\":N,\"source\":...,\n"
	"                \"NAME\":{...}}.  A record shorter than the type is reported\n"
	"                (an error line, or \"error\" in jsonl), never read past.\n"
	"  --peek        read without consuming: follow the producers from where\n"
	"                they are now, claim nothing and never move the consumer\n"
	"                position, so an application consuming the ring (e.g. a\n"
	"                kernel map its BPF loader reads) loses nothing.  Records\n"
	"                are not held back for tail: if the producers overwrite\n"
	"                some before tail reads them, it says how many bytes it\n"
	"                missed and goes on.  Without --peek, tail of a kernel map\n"
	"                warns when another process is evidently consuming it too.\n"
	"\n"
	"TARGET: NAME (a ring, or a ring set made with 'create --set': its rings\n"
	"are read in turn, each record once, in order per producer), a bpffs\n"
	"PATH or id:N of a BPF_MAP_TYPE_RINGBUF map, or of an ARRAY_OF_MAPS or\n"
	"HASH_OF_MAPS of such maps (the per-CPU pattern: every inner map is read,\n"
	"inner maps added or replaced while tail runs included).\n"
	"Exit status: 0, 1, 2, 3, 4, 5, 6, 7, 8 (busy), 10 (a USER_RINGBUF map), 11.\n";

const struct cli_cmd cmd_tail = {
	.name = "tail",
	.synopsis = "TARGET [--format F] [--count N] [--timeout S] [--peek]\n[--btf FILE --type NAME]",
	.summary = "consume and print records",
	.help = tail_help,
	.opts = tail_opts,
	.operand = "TARGET",
	.run = tail_run,
};
