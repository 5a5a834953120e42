/* SPDX-License-Identifier: MIT */
/*
 * cmd_forward.c -- ringbuf forward: ship a ring's records into NATS
 * JetStream, losing nothing.
 *
 * The promise is the ring's own: a record leaves the ring only once
 * JetStream has stored it.  The command reads with the pull reader
 * (ringbuf_next() / ringbuf_commit()): it takes a batch of records
 * without moving the consumer position, publishes each one as a
 * JetStream message asynchronously (a bounded window of outstanding
 * acknowledgements, not one round trip per record), waits for every
 * acknowledgement of the batch, and only then commits the consumer
 * position past the batch.  A forwarder killed at any moment leaves the
 * unacknowledged records in the ring; the next one publishes them again,
 * and because every message carries a Nats-Msg-Id made of the ring's
 * identity and the record's position -- the same across restarts --
 * JetStream's duplicate window drops what it already stored.
 *
 * Order.  The client library's own reconnection is turned off: it would
 * send messages it buffered during a reconnect after ones already lost on
 * the dead connection.  This command reconnects by itself and, after any
 * failure, publishes the whole unacknowledged batch again from its first
 * record, in order; records of the batch the server had stored are
 * dropped as duplicates, so the stream holds the records in ring order.
 *
 * While the server is unreachable or refuses (no stream for the subject,
 * stream full), the command retries with exponential backoff (50 ms to
 * 2 s), says so once on standard error, and keeps the records in the
 * ring: producers see the ring fill (-EAGAIN, counted as refused_full).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifdef RINGBUF_HAVE_NATS
#include <nats/nats.h>
#endif

#define FWD_WINDOW_DEFAULT 1024       /* records outstanding at most */
#define FWD_WINDOW_BYTES   (8u << 20) /* and payload bytes */
#define FWD_ACK_WAIT_MS    5000       /* a batch's acknowledgements, at most */
#define FWD_BACKOFF_MIN_MS 50
#define FWD_BACKOFF_MAX_MS 2000

struct fwd_url {
	char server[320];  /* nats://[user[:pass]@]host:port, what the client connects to */
	char shown[300];   /* host:port, for messages (no credentials) */
	char subject[256];
};

struct fwd {
	uint64_t count;      /* --count: exit once this many are acknowledged (0: never) */
	uint32_t window;     /* --window */
	const char *creds;   /* --creds FILE */
	const char *token_file; /* --token-file FILE */
	bool headers;        /* --headers: add Ringbuf-Source and Ringbuf-Size */
	bool jsonl;          /* --jsonl: payload is what tail --format jsonl prints */
	const char *id_prefix; /* --id: the ring identity in Nats-Msg-Id, instead of the ring's */
};

/* ---- the URL ---------------------------------------------------------------------- */

/* A subject: tokens of printable bytes without '*' or '>' (no wildcards:
 * one publishes to a subject), separated by single dots. */
static bool valid_subject(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 256 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '*' || c == '>')
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

/*
 * nats://[USER[:PASS]@]HOST:PORT/SUBJECT.  Returns NULL, or what is wrong.
 */
static const char *parse_url(const char *url, struct fwd_url *u)
{
	const char *p, *hostport, *slash, *at, *colon;
	char *end;
	unsigned long port;

	if (strncmp(url, "nats://", 7))
		return "it must start with nats://";
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		return "no /SUBJECT after HOST:PORT";
	at = memchr(p, '@', (size_t)(slash - p));
	hostport = at ? at + 1 : p;
	if (hostport == slash)
		return "no HOST:PORT";
	colon = NULL;
	for (const char *q = hostport; q < slash; q++)
		if (*q == ':')
			colon = q;
	if (!colon || colon == hostport || hostport[0] == '[')
		return "HOST:PORT expected (an IPv4 address or a host name, then a port)";
	for (const char *q = hostport; q < colon; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '-'))
			return "the host may hold only letters, digits, '.' and '-'";
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (end != slash || colon + 1 == slash || errno || port == 0 || port > 65535)
		return "the port must be a number from 1 to 65535";
	if ((size_t)(slash - url) >= sizeof(u->server) ||
	    (size_t)(slash - hostport) >= sizeof(u->shown))
		return "too long";
	if (!valid_subject(slash + 1))
		return "SUBJECT must be dot-separated tokens of printable characters, "
		       "without spaces or wildcards ('*', '>')";
	memcpy(u->server, url, (size_t)(slash - url));
	u->server[slash - url] = '\0';
	memcpy(u->shown, hostport, (size_t)(slash - hostport));
	u->shown[slash - hostport] = '\0';
	strcpy(u->subject, slash + 1);
	return NULL;
}

/* ---- options ---------------------------------------------------------------------- */

enum { FWD_COUNT, FWD_WINDOW, FWD_CREDS, FWD_TOKEN_FILE, FWD_HEADERS, FWD_JSONL, FWD_ID };

static const struct cli_opt fwd_opts[] = {
	[FWD_COUNT] = { "--count", CLI_VALUE, NULL, NULL },
	[FWD_WINDOW] = { "--window", CLI_VALUE, NULL, NULL },
	[FWD_CREDS] = { "--creds", CLI_VALUE, NULL, NULL },
	[FWD_TOKEN_FILE] = { "--token-file", CLI_VALUE, NULL, NULL },
	[FWD_HEADERS] = { "--headers", CLI_FLAG, NULL, NULL },
	[FWD_JSONL] = { "--jsonl", CLI_FLAG, NULL, NULL },
	[FWD_ID] = { "--id", CLI_VALUE, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

static void fwd_opt(void *ctx, int opt, const char *v)
{
	struct fwd *f = ctx;
	uint64_t n;

	switch (opt) {
	case FWD_COUNT:
		if (parse_u64(v, &f->count) || f->count == 0)
			usage_err("malformed count '%s' (a whole number, at least 1)", v);
		break;
	case FWD_WINDOW:
		if (parse_u64(v, &n) || n == 0 || n > 65536)
			usage_err("malformed window '%s' (records, 1 to 65536)", v);
		f->window = (uint32_t)n;
		break;
	case FWD_CREDS:
		f->creds = v;
		break;
	case FWD_TOKEN_FILE:
		f->token_file = v;
		break;
	case FWD_HEADERS:
		f->headers = true;
		break;
	case FWD_JSONL:
		f->jsonl = true;
		break;
	case FWD_ID:
		if (!*v || strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
						      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
						   strlen(v))
			usage_err("malformed --id '%s' (1 to 64 of [A-Za-z0-9._-])", v);
		f->id_prefix = v;
		break;
	}
}

#ifdef RINGBUF_HAVE_NATS

/* ---- the NATS side ---------------------------------------------------------------- */

struct sink {
	const struct fwd *f;
	const struct fwd_url *u;
	char token[512];
	natsConnection *nc;
	jsCtx *js;
	/* written by the client library's thread (the ack handler) */
	volatile int acks_ok, acks_err;
	volatile natsStatus first_err;
	volatile jsErrCode first_code;
	char first_text[160];
	/* progress */
	uint64_t retries;
};

static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct sink *s = closure;

	(void)js;
	(void)pa;
	if (pae) {
		if (__atomic_fetch_add(&s->acks_err, 1, __ATOMIC_ACQ_REL) == 0) {
			s->first_err = pae->Err;
			s->first_code = pae->ErrCode;
			snprintf(s->first_text, sizeof(s->first_text), "%s",
				 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
		}
	} else {
		__atomic_fetch_add(&s->acks_ok, 1, __ATOMIC_ACQ_REL);
	}
	natsMsg_Destroy(m);
}

static void sink_close(struct sink *s)
{
	if (s->js) {
		natsMsgList pending;

		/* Take back what was never acknowledged: it is published again. */
		if (js_PublishAsyncGetPendingList(&pending, s->js) == NATS_OK)
			natsMsgList_Destroy(&pending);
		jsCtx_Destroy(s->js);
		s->js = NULL;
	}
	if (s->nc) {
		natsConnection_Destroy(s->nc);
		s->nc = NULL;
	}
}

static natsStatus sink_connect(struct sink *s)
{
	natsOptions *o = NULL;
	jsOptions jo;
	natsStatus st;

	st = natsOptions_Create(&o);
	if (st == NATS_OK)
		st = natsOptions_SetURL(o, s->u->server);
	if (st == NATS_OK)
		st = natsOptions_SetAllowReconnect(o, false); /* see the top of this file */
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(o, 2000);
	if (st == NATS_OK)
		st = natsOptions_SetPingInterval(o, 2000);
	if (st == NATS_OK)
		st = natsOptions_SetMaxPingsOut(o, 2);
	if (st == NATS_OK && s->f->creds)
		st = natsOptions_SetUserCredentialsFromFiles(o, s->f->creds, NULL);
	if (st == NATS_OK && s->token[0])
		st = natsOptions_SetToken(o, s->token);
	if (st == NATS_OK)
		st = natsConnection_Connect(&s->nc, o);
	natsOptions_Destroy(o);
	if (st != NATS_OK)
		return st;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = s->f->window;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = s;
	jo.Wait = FWD_ACK_WAIT_MS;
	st = natsConnection_JetStream(&s->js, s->nc, &jo);
	if (st != NATS_OK)
		sink_close(s);
	return st;
}

/* ---- the ring side ---------------------------------------------------------------- */

struct batch {
	struct ringbuf_record *rec; /* taken, not committed */
	uint32_t n;
	uint64_t bytes;
};

static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static char *b64(char *o, const unsigned char *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = t[v >> 18];
		*o++ = t[(v >> 12) & 63];
		*o++ = t[(v >> 6) & 63];
		*o++ = t[v & 63];
	}
	if (n - i) {
		uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);

		*o++ = t[v >> 18];
		*o++ = t[(v >> 12) & 63];
		*o++ = n - i == 2 ? t[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return o;
}

/* One record as a message: payload, Nats-Msg-Id, the optional headers. */
static natsStatus make_msg(natsMsg **m, const struct sink *s, const char *source,
			   const char *ident, const struct ringbuf_record *r, uint64_t seq)
{
	char id[128], num[32];
	natsStatus st;

	if (s->f->jsonl) {
		/* what tail --format jsonl prints for it, seq counting from the
		 * ring's start: the record's position identifies it */
		size_t cap = 64 + b64_len(r->size);
		char *buf = malloc(cap), *o;

		if (!buf)
			return NATS_NO_MEMORY;
		o = buf + snprintf(buf, cap, "{\"seq\":%" PRIu64 ",\"size\":%zu,\"data\":\"", seq,
				   r->size);
		o = b64(o, r->data, r->size);
		memcpy(o, "\"}", 2);
		o += 2;
		st = natsMsg_Create(m, s->u->subject, NULL, buf, (int)(o - buf));
		free(buf);
	} else {
		st = natsMsg_Create(m, s->u->subject, NULL, r->data, (int)r->size);
	}
	snprintf(id, sizeof(id), "%s-%" PRIx64, ident, r->pos);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(*m, "Nats-Msg-Id", id);
	if (st == NATS_OK && s->f->headers) {
		snprintf(num, sizeof(num), "%zu", r->size);
		st = natsMsgHeader_Set(*m, "Ringbuf-Source", source);
		if (st == NATS_OK)
			st = natsMsgHeader_Set(*m, "Ringbuf-Size", num);
	}
	return st;
}

#endif /* RINGBUF_HAVE_NATS */

#ifdef RINGBUF_HAVE_NATS

/* ---- the loop --------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* a signal ends it early: g_stop is then set */
}

/* Say once per spell of trouble what the trouble is. */
static void trouble(bool *said, const char *fmt, const char *a, const char *b)
{
	if (*said)
		return;
	*said = true;
	msg(fmt, a, b);
}

struct progress {
	bool tty;
	double last;
	uint64_t recs, bytes, last_recs, last_bytes;
};

static void show_progress(struct progress *p, const struct sink *s, uint32_t outstanding,
			  bool final)
{
	double now = now_s(), dt = now - p->last;

	if (!p->tty || (!final && dt < 1.0))
		return;
	fprintf(stderr,
		"\r%12" PRIu64 " records  %10.0f rec/s  %10.0f B/s  %5u outstanding  %" PRIu64
		" retries  ",
		p->recs, (double)(p->recs - p->last_recs) / dt, (double)(p->bytes - p->last_bytes) / dt,
		outstanding, s->retries);
	if (final)
		fputc('\n', stderr);
	p->last = now;
	p->last_recs = p->recs;
	p->last_bytes = p->bytes;
}

/* Wait up to @ms for records: the ring's epoll fd, or a plain nap. */
static void wait_records(struct ringbuf *rb, int ms)
{
	int fd = ringbuf_epoll_fd(rb);

	if (fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		(void)poll(&pfd, 1, ms);
	} else {
		sleep_ms(ms);
	}
}

/*
 * Publish the batch and wait for every acknowledgement.  Returns true when
 * JetStream stored (or already had) every record of it.
 */
static bool publish_batch(struct sink *s, const struct batch *b, const char *source,
			  const char *ident, bool *said)
{
	jsPubOptions po;
	natsStatus st = NATS_OK;

	s->acks_ok = s->acks_err = 0;
	for (uint32_t i = 0; i < b->n && st == NATS_OK; i++) {
		natsMsg *m = NULL;

		st = make_msg(&m, s, source, ident, &b->rec[i], b->rec[i].pos / 8);
		if (st == NATS_OK)
			st = js_PublishMsgAsync(s->js, &m, NULL);
		natsMsg_Destroy(m); /* nothing if the library took it */
	}
	if (st != NATS_OK) {
		trouble(said, "%s: publishing failed (%s); retrying", s->u->shown,
			natsStatus_GetText(st));
		return false;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = FWD_ACK_WAIT_MS;
	st = js_PublishAsyncComplete(s->js, &po);
	if (st == NATS_OK && s->acks_err == 0 && (uint32_t)s->acks_ok == b->n)
		return true;
	if (s->acks_err) {
		if (s->first_err == NATS_NO_RESPONDERS)
			trouble(said, "%s: no JetStream stream takes subject '%s'; retrying",
				s->u->shown, s->u->subject);
		else
			trouble(said, "%s: JetStream refused a record: %s; retrying", s->u->shown,
				s->first_text);
	} else {
		trouble(said, "%s: %s; retrying", s->u->shown,
			st == NATS_OK ? "acknowledgements missing" : natsStatus_GetText(st));
	}
	return false;
}

static int read_token(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -EINVAL;
}

static int fwd_loop(const struct fwd *f, const struct fwd_url *u, struct target *t)
{
	struct sink s = { .f = f, .u = u };
	struct batch b = { 0 };
	struct progress pr = { .tty = isatty(2) };
	char ident[80];
	uint64_t forwarded = 0;
	int backoff = FWD_BACKOFF_MIN_MS, rc = EX_OK;
	bool said = false, stopping = false;
	struct ringbuf *rb;

	if (f->token_file) {
		int e = read_token(f->token_file, s.token, sizeof(s.token));

		if (e)
			die(e == -ENOENT ? EX_NOENT : e == -EACCES ? EX_PERM : EX_USAGE,
			    "--token-file %s: %s", f->token_file,
			    e == -EINVAL ? "empty" : strerror(-e));
	}
	if (f->creds && access(f->creds, R_OK))
		die(errno == ENOENT ? EX_NOENT : EX_PERM, "--creds %s: %s", f->creds,
		    strerror(errno));
	b.rec = calloc(f->window, sizeof(*b.rec));
	if (!b.rec)
		die(EX_FAIL, "out of memory");
	rb = open_target(t, RINGBUF_ROLE_CONSUMER);
	if (f->id_prefix)
		snprintf(ident, sizeof(ident), "%s", f->id_prefix);
	else if (t->kind == T_NAME)
		snprintf(ident, sizeof(ident), "rb%016" PRIx64, ringbuf_query(rb, RINGBUF_RING_ID));
	else
		snprintf(ident, sizeof(ident), "map%" PRIu64, ringbuf_query(rb, RINGBUF_RING_ID));
	catch_stop_signals();
	pr.last = now_s();

	while (!(f->count && forwarded >= f->count)) {
		/* Take what waits, up to the window (and --count). */
		while (b.n < f->window && b.bytes < FWD_WINDOW_BYTES &&
		       !(f->count && forwarded + b.n >= f->count)) {
			int r = ringbuf_next(rb, &b.rec[b.n]);

			if (r == 0)
				break;
			if (r < 0) {
				msg("%s: %s", t->arg,
				    r == -EBADMSG ? "the ring's shared state is corrupt" : strerror(-r));
				rc = r == -EOPNOTSUPP ? EX_UNSUPPORTED : EX_FAIL;
				goto out;
			}
			b.bytes += b.rec[b.n].size;
			b.n++;
		}
		if (b.n == 0) {
			if (g_stop)
				break;
			show_progress(&pr, &s, 0, false);
			wait_records(rb, 100);
			continue;
		}
		/* Publish it until JetStream has all of it. */
		for (;;) {
			if (!s.js) {
				natsStatus st = sink_connect(&s);

				if (st != NATS_OK) {
					trouble(&said, "%s: cannot connect (%s); retrying", u->shown,
						natsStatus_GetText(st));
					goto retry;
				}
			}
			if (publish_batch(&s, &b, t->arg, ident, &said))
				break;
			sink_close(&s); /* a fresh connection for the resend */
retry:
			if (g_stop && stopping) {
				/* interrupted twice, or while the server is away:
				 * the batch stays in the ring for the next run */
				rc = EX_OK;
				goto out;
			}
			if (g_stop)
				stopping = true;
			s.retries++;
			show_progress(&pr, &s, b.n, false);
			sleep_ms(backoff);
			backoff = backoff * 2 > FWD_BACKOFF_MAX_MS ? FWD_BACKOFF_MAX_MS : backoff * 2;
		}
		if (said) {
			msg("%s: forwarding again", u->shown);
			said = false;
		}
		backoff = FWD_BACKOFF_MIN_MS;
		{
			int r = ringbuf_commit(rb);

			if (r < 0) {
				msg("%s: %s", t->arg, strerror(-r));
				rc = EX_FAIL;
				goto out;
			}
		}
		forwarded += b.n;
		pr.recs += b.n;
		pr.bytes += b.bytes;
		b.n = 0;
		b.bytes = 0;
		show_progress(&pr, &s, 0, false);
		if (g_stop)
			break;
	}
out:
	show_progress(&pr, &s, 0, true);
	sink_close(&s);
	ringbuf_free(rb); /* uncommitted records stay in the ring */
	free(b.rec);
	nats_Close();
	return rc;
}

#endif /* RINGBUF_HAVE_NATS */

/* ---- the command ------------------------------------------------------------------ */

static int fwd_run(int argc, char **argv)
{
	struct fwd f = { .window = FWD_WINDOW_DEFAULT };
	const char *arg, *url = NULL, *bad;
	struct fwd_url u;
	struct target t;

	arg = cli_parse2(&cmd_forward, argc, argv, fwd_opt, &f, &url);
	bad = parse_url(url, &u);
	if (bad)
		usage_err("malformed URL '%s': %s", url, bad);
	parse_target(arg, &t);
#ifndef RINGBUF_HAVE_NATS
	(void)t;
	msg("this ringbuf was built without the NATS client library (libnats-dev)");
	return EX_UNSUPPORTED;
#else
	return fwd_loop(&f, &u, &t);
#endif
}

static const char fwd_help[] =
	"usage: ringbuf forward SOURCE nats://[USER[:PASS]@]HOST:PORT/SUBJECT\n"
	"                       [--count N] [--window N] [--creds FILE] [--token-file FILE]\n"
	"                       [--headers] [--jsonl] [--id ID]\n"
	"\n"
	"Publish each record of SOURCE as one NATS JetStream message on SUBJECT,\n"
	"losing nothing: SOURCE is read in the consumer role, and its consumer\n"
	"position moves past a record only once JetStream has acknowledged storing\n"
	"it.  Killed at any moment (this command or the server), nothing is lost;\n"
	"records sent again after a restart carry the same Nats-Msg-Id (the ring's\n"
	"identity and the record's position), so the stream's duplicate window\n"
	"drops them.  Records reach the stream in ring order.  A JetStream stream\n"
	"must take SUBJECT (one subject per source keeps the order per source).\n"
	"While the server is unreachable or refuses (no stream, stream full) the\n"
	"command retries with backoff, says so once, and keeps the records in the\n"
	"ring: producers then find it full.  SIGINT/SIGTERM: waits for the\n"
	"outstanding acknowledgements (at most 5 s), commits, exits 0.  On a\n"
	"terminal, progress is shown on standard error.\n"
	"\n"
	"  --count N        exit 0 once N records are acknowledged\n"
	"  --window N       records published ahead of their acknowledgements\n"
	"                   (default " STR(FWD_WINDOW_DEFAULT) ", at most 8 MiB of payload)\n"
	"  --creds FILE     NATS user credentials file (JWT and NKey seed)\n"
	"  --token-file F   an authentication token, the first line of F\n"
	"  --headers        add the headers Ringbuf-Source (SOURCE as given) and\n"
	"                   Ringbuf-Size (the record's bytes)\n"
	"  --jsonl          publish what 'tail --format jsonl' prints for the record\n"
	"                   (seq: the record's position / 8) instead of its bytes\n"
	"  --id ID          the source identity in Nats-Msg-Id (default: the ring's\n"
	"                   random id, or the kernel map's id); Nats-Msg-Id is\n"
	"                   ID-POSITION, POSITION in hex\n"
	"\n"
	"SOURCE: NAME, a bpffs PATH or id:N of a BPF_MAP_TYPE_RINGBUF map.\n"
	"Exit status: 0, 1, 2 (also a malformed URL), 3, 4, 5, 6, 7, 8 (busy: another\n"
	"consumer), 10 (a USER_RINGBUF map, or built without NATS).\n";

const struct cli_cmd cmd_forward = {
	.name = "forward",
	.synopsis = "SOURCE nats://HOST:PORT/SUBJECT [--count N] [...]",
	.summary = "publish records into NATS JetStream, nothing lost",
	.help = fwd_help,
	.opts = fwd_opts,
	.operand = "SOURCE",
	.operand2 = "URL",
	.run = fwd_run,
};
