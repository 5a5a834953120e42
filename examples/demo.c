/* SPDX-License-Identifier: MIT */
/*
 * ringbuf-demo -- three processes send events through one ring, the parent
 * consumes and accounts for every one of them.
 *
 *   ringbuf-demo [--seconds N]
 *
 * The parent creates a 1 MiB ring and forks three producers, which use the
 * inherited handle.  Each producer emits fake trace events (a timestamp, a
 * kind and a text message of variable length, protected by a checksum) with
 * its own style:
 *
 *   producer 0  ringbuf_output, adaptive wakeups (flags 0)
 *   producer 1  ringbuf_reserve + ringbuf_submit in place, adaptive; it
 *               discards one reservation in 97 (discards carry no sequence)
 *   producer 2  ringbuf_output with RINGBUF_NO_WAKEUP, and
 *               RINGBUF_FORCE_WAKEUP on every 64th event
 *
 * The parent is the consumer: it loops on ringbuf_poll() with a 100 ms
 * timeout, checks every record (size, checksum, per-producer sequence), and
 * prints one line per second.  At the end the producers report how many
 * events they sent through a pipe, the parent drains the ring and proves
 * that nothing was lost.  Exit status 0 when every count matches, 1 if not.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringbuf.h"

#define RING_SIZE   (1U << 20)
#define NPROD       3
#define POLL_MS     100
#define MAX_MSG     200
#define DISCARD_ONE 97 /* producer 1 discards one reservation in this many */
#define FORCE_ONE   64 /* producer 2 forces a wakeup once in this many */

/* One record: a fixed header, then msg_len bytes of text (no NUL). */
struct event {
	uint32_t csum;     /* FNV-1a of everything after this field */
	uint32_t producer; /* 0 .. NPROD-1 */
	uint64_t seq;      /* per producer, from 0, no gaps */
	uint64_t ts_ns;    /* CLOCK_MONOTONIC when the event was made */
	uint16_t kind;
	uint16_t msg_len;
	uint32_t pid;
	char msg[];
};

/* What a producer tells the parent at the end, through its pipe. */
struct report {
	uint64_t sent;      /* committed events (submitted, not discarded) */
	uint64_t discarded; /* reservations discarded on purpose */
	uint64_t full;      /* times the ring was full (-EAGAIN) */
};

static const char *const kinds[] = { "open", "read", "write", "connect", "exec", "exit" };
static const char *const paths[] = {
	"/etc/hosts", "/var/log/syslog", "/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/home/user/projects/ringbuf/build/libringbuf.a", "/proc/self/status",
	"10.0.0.7:443", "/tmp/x",
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261U;

	while (n--)
		h = (h ^ *b++) * 16777619U;
	return h;
}

static uint32_t event_csum(const struct event *e)
{
	return fnv1a((const char *)e + sizeof(e->csum),
		     sizeof(*e) - sizeof(e->csum) + e->msg_len);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ------------------------------------------------------------------------
 * Producers (child processes)
 * ------------------------------------------------------------------------ */

/* Message text for an event into msg (up to MAX_MSG bytes); returns its length. */
static uint16_t make_message(char *msg, uint64_t seq, unsigned kind, uint64_t *rng)
{
	uint64_t r = xorshift(rng);
	int n = snprintf(msg, MAX_MSG + 1, "%s %s fd=%u bytes=%u seq=%" PRIu64 " ", kinds[kind],
			 paths[r % NPATHS], (unsigned)(r >> 8) % 64, (unsigned)(r >> 16) % 65536,
			 seq);
	size_t pad = (r >> 32) % 96; /* variable length */

	if (n < 0)
		n = 0;
	if ((size_t)n > MAX_MSG)
		n = MAX_MSG;
	for (size_t i = 0; i < pad && (size_t)n < MAX_MSG; i++)
		msg[n++] = (char)('a' + (r >> (i % 40)) % 26);
	return (uint16_t)n;
}

static void fill_event(struct event *e, int id, uint64_t seq, uint64_t *rng)
{
	unsigned kind = (unsigned)(xorshift(rng) % NKINDS);

	e->producer = (uint32_t)id;
	e->seq = seq;
	e->ts_ns = now_ns();
	e->kind = (uint16_t)kind;
	e->pid = (uint32_t)getpid();
	e->msg_len = make_message(e->msg, seq, kind, rng);
	e->csum = event_csum(e);
}

/*
 * Try to place one event until the deadline; returns true if it was
 * committed.  Producer 1 reserves and may discard instead (*discarded).
 */
static bool send_one(struct ringbuf *rb, int id, uint64_t seq, uint64_t *rng,
		     uint64_t deadline, struct report *rep)
{
	union {
		struct event e;
		char raw[sizeof(struct event) + MAX_MSG + 1];
	} buf;

	for (;;) {
		if (id == 1) {
			/* reserve the largest size, as a BPF program would for a
			 * variable record, would waste space: size it first */
			uint64_t probe = *rng;
			struct event *e;

			fill_event(&buf.e, id, seq, &probe);
			e = ringbuf_reserve(rb, sizeof(buf.e) + buf.e.msg_len, 0);
			if (e) {
				*rng = probe;
				memcpy(e, &buf.e, sizeof(buf.e) + buf.e.msg_len);
				if (xorshift(rng) % DISCARD_ONE == 0) {
					e->csum = ~e->csum; /* never delivered */
					ringbuf_discard(e, 0);
					rep->discarded++;
					continue; /* the sequence number is not used */
				}
				ringbuf_submit(e, 0);
				return true;
			}
			if (errno != EAGAIN) {
				perror("ringbuf_reserve");
				_exit(1);
			}
		} else {
			uint64_t flags = 0;
			long err;

			if (id == 2)
				flags = seq % FORCE_ONE == FORCE_ONE - 1 ? RINGBUF_FORCE_WAKEUP
									 : RINGBUF_NO_WAKEUP;
			fill_event(&buf.e, id, seq, rng);
			err = ringbuf_output(rb, &buf.e, sizeof(buf.e) + buf.e.msg_len, flags);
			if (err == 0)
				return true;
			if (err != -EAGAIN) {
				fprintf(stderr, "ringbuf_output: %s\n", strerror((int)-err));
				_exit(1);
			}
		}
		rep->full++;
		if (now_ns() >= deadline)
			return false;
		sched_yield(); /* let the consumer run */
	}
}

static void producer(struct ringbuf *rb, int id, uint64_t deadline, int report_fd)
{
	struct report rep;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);

	memset(&rep, 0, sizeof(rep));
	while (now_ns() < deadline) {
		if (!send_one(rb, id, rep.sent, &rng, deadline, &rep))
			break;
		rep.sent++;
	}
	if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(1);
	ringbuf_free(rb);
	_exit(0);
}

/* ------------------------------------------------------------------------
 * Consumer (the parent)
 * ------------------------------------------------------------------------ */

struct stats {
	uint64_t next_seq[NPROD]; /* expected sequence per producer */
	uint64_t got[NPROD];
	uint64_t records, bytes;
	uint64_t out_of_order, bad_csum, bad_size;
	uint64_t latency_ns;      /* sum, for the average */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct stats *st = ctx;
	const struct event *e = data;

	st->records++;
	st->bytes += size;
	if (size < sizeof(*e) || size != sizeof(*e) + e->msg_len || e->producer >= NPROD) {
		st->bad_size++;
		return 0;
	}
	if (e->csum != event_csum(e)) {
		st->bad_csum++;
		return 0;
	}
	if (e->seq != st->next_seq[e->producer])
		st->out_of_order++;
	st->next_seq[e->producer] = e->seq + 1;
	st->got[e->producer]++;
	st->latency_ns += now_ns() - e->ts_ns;
	return 0;
}

/* How many times this (single-threaded) consumer has slept and been woken:
 * its voluntary context switches. */
static uint64_t consumer_wakeups(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_nvcsw;
}

static void print_second(int sec, const struct stats *st, const struct stats *prev,
			 double dt, struct ringbuf *rb, uint64_t empty_polls, uint64_t wakeups)
{
	uint64_t n = st->records - prev->records;

	printf("[%2ds] %5.2f M rec/s %6.1f MB/s  p0/p1/p2 %" PRIu64 "/%" PRIu64 "/%" PRIu64
	       "  avail %6" PRIu64 " B  lat %5.1f us  wakeups %" PRIu64 "  polls->0 %" PRIu64 "\n",
	       sec, (double)n / dt / 1e6, (double)(st->bytes - prev->bytes) / dt / 1e6,
	       st->got[0] - prev->got[0], st->got[1] - prev->got[1], st->got[2] - prev->got[2],
	       ringbuf_query(rb, RINGBUF_AVAIL_DATA),
	       n ? (double)(st->latency_ns - prev->latency_ns) / (double)n / 1e3 : 0.0,
	       wakeups, empty_polls);
	fflush(stdout);
}

static int parse_seconds(int argc, char **argv)
{
	int seconds = 3;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atoi(argv[++i]);
			if (seconds < 1 || seconds > 3600) {
				fprintf(stderr, "--seconds must be 1..3600\n");
				exit(2);
			}
		} else {
			fprintf(stderr, "usage: %s [--seconds N]\n", argv[0]);
			exit(strcmp(argv[i], "--help") ? 2 : 0);
		}
	}
	return seconds;
}

int main(int argc, char **argv)
{
	int seconds = parse_seconds(argc, argv);
	struct ringbuf *rb = ringbuf_new(RING_SIZE, NULL);
	struct stats st, prev;
	struct report rep[NPROD];
	pid_t pids[NPROD];
	int fds[NPROD][2], alive = NPROD, sec = 0, n, failed = 0;
	uint64_t last_wakeups = consumer_wakeups();
	uint64_t t0, deadline, next_tick, last_tick, empty_polls = 0, sent = 0, full = 0,
							     discarded = 0;

	memset(&st, 0, sizeof(st));
	memset(rep, 0, sizeof(rep));
	if (!rb) {
		perror("ringbuf_new");
		return 1;
	}
	printf("ringbuf-demo: %u KiB ring, %d producer processes (output/adaptive, "
	       "reserve+submit/adaptive, output/no-wakeup+force), %d s\n",
	       RING_SIZE >> 10, NPROD, seconds);
	fflush(stdout);
	t0 = now_ns();
	deadline = t0 + (uint64_t)seconds * 1000000000ULL;
	for (int i = 0; i < NPROD; i++) {
		if (pipe(fds[i])) {
			perror("pipe");
			return 1;
		}
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			for (int j = 0; j <= i; j++)
				close(fds[j][0]);
			producer(rb, i, deadline, fds[i][1]);
		}
		close(fds[i][1]);
	}

	prev = st;
	last_tick = t0;
	next_tick = t0 + 1000000000ULL;
	while (alive > 0) {
		uint64_t now;

		n = ringbuf_poll(rb, on_event, &st, POLL_MS);
		if (n < 0) {
			fprintf(stderr, "ringbuf_poll: %s\n", strerror(-n));
			failed = 1;
			break;
		}
		if (n == 0)
			empty_polls++;
		now = now_ns();
		if (now >= next_tick && sec < seconds) {
			uint64_t w = consumer_wakeups();

			print_second(++sec, &st, &prev, (double)(now - last_tick) / 1e9, rb,
				     empty_polls, w - last_wakeups);
			last_wakeups = w;
			prev = st;
			last_tick = now;
			next_tick += 1000000000ULL;
		}
		if (now >= deadline) {
			while (alive > 0 && waitpid(-1, NULL, WNOHANG) > 0)
				alive--;
			if (now >= deadline + 10000000000ULL) {
				fprintf(stderr, "producers did not finish; killing them\n");
				for (int i = 0; i < NPROD; i++)
					kill(pids[i], SIGKILL);
				failed = 1;
				break;
			}
		}
	}
	while (alive > 0 && wait(NULL) > 0)
		alive--;

	for (int i = 0; i < NPROD; i++) {
		if (read(fds[i][0], &rep[i], sizeof(rep[i])) != (ssize_t)sizeof(rep[i])) {
			fprintf(stderr, "producer %d sent no report\n", i);
			failed = 1;
		}
		close(fds[i][0]);
		sent += rep[i].sent;
		discarded += rep[i].discarded;
		full += rep[i].full;
	}
	while ((n = ringbuf_consume(rb, on_event, &st)) > 0) /* the rest */
		;
	if (n < 0) {
		fprintf(stderr, "ringbuf_consume: %s\n", strerror(-n));
		failed = 1;
	}

	printf("per producer: sent %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", received %" PRIu64
	       "/%" PRIu64 "/%" PRIu64 "; discarded on purpose %" PRIu64
	       ", ring-full retries %" PRIu64 ", avail after drain %" PRIu64 "\n",
	       rep[0].sent, rep[1].sent, rep[2].sent, st.got[0], st.got[1], st.got[2], discarded,
	       full, ringbuf_query(rb, RINGBUF_AVAIL_DATA));
	for (int i = 0; i < NPROD; i++)
		if (st.got[i] != rep[i].sent)
			failed = 1;
	if (st.out_of_order || st.bad_csum || st.bad_size || st.records != sent ||
	    ringbuf_query(rb, RINGBUF_AVAIL_DATA) != 0)
		failed = 1;
	printf("sent %" PRIu64 ", received %" PRIu64 ", lost %" PRId64 ", out of order %" PRIu64
	       ", bad checksum %" PRIu64 ", bad size %" PRIu64 " (%.1f MB in %.1f s): %s\n",
	       sent, st.records, (int64_t)(sent - st.records), st.out_of_order, st.bad_csum,
	       st.bad_size, (double)st.bytes / 1e6, (double)(now_ns() - t0) / 1e9,
	       failed ? "FAILED" : "OK");
	ringbuf_free(rb);
	return failed;
}
