/* SPDX-License-Identifier: MIT */
/*
 * bitness_peer -- one side of tests/t_bitness: a producer or a consumer of
 * a named ring, built twice (64-bit in $(BUILD)/tests, -m32 in
 * build-m32/tests) so that t_bitness can put a 32-bit and a 64-bit process
 * on one ring.  Not a test itself; the records are those of bitness.h.
 *
 *   bitness_peer info                     "bits=B layout=L proto=P"
 *   bitness_peer create NAME SIZE         create the ring (mode 0600)
 *   bitness_peer produce NAME FIRST OPS   OPS: "ka ka ..." -- kind o output,
 *                                         s reserve+submit, d reserve+discard;
 *                                         flag a 0, n NO_WAKEUP, f FORCE_WAKEUP;
 *                                         committed records are FIRST, FIRST+1..
 *   bitness_peer bulk NAME FIRST COUNT    COUNT records (output and reserve,
 *                                         flags 0, waiting for room), a discard
 *                                         before every seventh
 *   bitness_peer hold NAME                reserve a record, say "held", and
 *                                         wait to be killed
 *   bitness_peer stats NAME               print the ring's counters
 *   bitness_peer consume NAME MODE MS     the consumer (MODE futex: it waits in
 *                                         ringbuf_poll(); fd: in poll() on
 *                                         ringbuf_epoll_fd()), recover_ms MS,
 *                                         driven by lines on stdin:
 *       p         say "polling", wait once for a notification, consume
 *       r         as p, but in fd mode poll with a 20 ms timeout until a
 *                 consume delivers (a dead producer sends no notification)
 *       c TOTAL   consume (100 ms waits) until TOTAL records in all
 *       q         print the counters and exit 0
 *     after p, r, c: "n=N total=T recovered=R" (the wakeups counter is not
 *     in it: a producer counts a wakeup after its system call, which may
 *     be after this line).  A record out of order or not byte for byte
 *     what bitness.h says: exit 1.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "peer/bitness.h"

static struct ringbuf *open_ring(const char *name, uint32_t role, uint32_t recover_ms)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role, .recover_ms = recover_ms };
	struct ringbuf *rb = ringbuf_open(name, &o);

	if (!rb) {
		fprintf(stderr, "bitness_peer: ringbuf_open(%s): %s\n", name, strerror(errno));
		exit(T_FAIL);
	}
	return rb;
}

static uint64_t flag_of(char c)
{
	return c == 'n' ? RINGBUF_NO_WAKEUP : c == 'f' ? RINGBUF_FORCE_WAKEUP : 0;
}

/* Reserve @size bytes, waiting for room. */
static void *reserve(struct ringbuf *rb, uint32_t size)
{
	void *p = ringbuf_reserve_wait(rb, size, 5000);

	CHECK(p != NULL);
	return p;
}

static void put_record(struct ringbuf *rb, uint32_t seq, char kind, uint64_t flags)
{
	uint8_t buf[BN_MAX_SIZE];
	long r;

	if (kind == 'o') {
		bn_fill(buf, seq);
		while ((r = ringbuf_output(rb, buf, bn_size(seq), flags)) == -EAGAIN)
			usleep(50);
		CHECK_EQ(r, 0);
	} else {
		void *p = reserve(rb, bn_size(seq));

		bn_fill(p, seq);
		ringbuf_submit(p, flags);
	}
}

static void put_discard(struct ringbuf *rb, uint64_t flags)
{
	void *p = reserve(rb, BN_DISCARD_SIZE);

	memset(p, BN_JUNK, BN_DISCARD_SIZE);
	ringbuf_discard(p, flags);
}

static void produce(const char *name, uint32_t seq, const char *ops)
{
	struct ringbuf *rb = open_ring(name, RINGBUF_ROLE_PRODUCER, 0);

	for (const char *o = ops;; o += 3) {
		CHECK(strchr("osd", o[0]) && o[0] && strchr("anf", o[1]) && o[1]);
		if (o[0] == 'd')
			put_discard(rb, flag_of(o[1]));
		else
			put_record(rb, seq++, o[0], flag_of(o[1]));
		if (!o[2])
			break;
	}
	ringbuf_free(rb);
}

static void bulk(const char *name, uint32_t first, uint32_t count)
{
	struct ringbuf *rb = open_ring(name, RINGBUF_ROLE_PRODUCER, 0);

	for (uint32_t i = 0; i < count; i++) {
		if (bn_bulk_discard(i))
			put_discard(rb, 0);
		put_record(rb, first + i, i % 2 ? 's' : 'o', 0);
	}
	ringbuf_free(rb);
}

static void print_stats(struct ringbuf *rb)
{
	struct ringbuf_stats s = { .sz = sizeof(s) };

	CHECK_EQ(ringbuf_stats(rb, &s), 0);
	printf("stats reserved=%llu bytes=%llu discarded=%llu recovered=%llu wakeups=%llu "
	       "full=%llu steals=%llu prod=%llu cons=%llu size=%llu flags=%llu\n",
	       (unsigned long long)s.reserved, (unsigned long long)s.reserved_bytes,
	       (unsigned long long)s.discarded, (unsigned long long)s.recovered,
	       (unsigned long long)s.wakeups, (unsigned long long)s.refused_full,
	       (unsigned long long)s.lock_steals, (unsigned long long)s.producer_pos,
	       (unsigned long long)s.consumer_pos, (unsigned long long)s.ring_size,
	       (unsigned long long)s.flags);
	fflush(stdout);
}

/* ---- the consumer ------------------------------------------------------------- */

static uint32_t total; /* records delivered: the next one must be seq total */

static int check_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (!bn_check(data, size, total)) {
		uint32_t got = UINT32_MAX;

		if (size >= 4)
			memcpy(&got, data, 4);
		fprintf(stderr, "bitness_peer: record %u: %zu bytes, seq %u: not the record sent\n",
			total, size, got);
		exit(T_FAIL);
	}
	total++;
	return 0;
}

static void say(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
}

/* fd mode: one wait on the epoll fd (@ms, -1 for ever), then consume. */
static int fd_round(struct ringbuf *rb, int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };

	CHECK(poll(&p, 1, ms) >= 0);
	return ringbuf_consume(rb, check_record, NULL);
}

static void consume(const char *name, const char *mode, uint32_t recover_ms)
{
	struct ringbuf *rb = open_ring(name, RINGBUF_ROLE_CONSUMER, recover_ms);
	bool fd = !strcmp(mode, "fd");
	int efd = -1, n;
	char line[64];

	CHECK(fd || !strcmp(mode, "futex"));
	if (fd) {
		efd = ringbuf_epoll_fd(rb);
		CHECK(efd >= 0);
	}
	say("ready");
	while (fgets(line, sizeof(line), stdin)) {
		struct ringbuf_stats s = { .sz = sizeof(s) };
		unsigned target;

		switch (line[0]) {
		case 'p':
		case 'r':
			say("polling");
			if (!fd) {
				n = ringbuf_poll(rb, check_record, NULL, -1);
			} else if (line[0] == 'p') {
				n = fd_round(rb, efd, -1);
			} else {
				while ((n = fd_round(rb, efd, 20)) == 0)
					;
			}
			break;
		case 'c':
			CHECK_EQ(sscanf(line + 1, "%u", &target), 1);
			n = 0;
			while (total < target) {
				int r = fd ? fd_round(rb, efd, 100)
					   : ringbuf_poll(rb, check_record, NULL, 100);

				CHECK(r >= 0);
				n += r;
			}
			break;
		case 'q':
			print_stats(rb);
			ringbuf_free(rb);
			exit(T_PASS);
		default:
			CHECK(!"a known command");
		}
		CHECK(n >= 0);
		CHECK_EQ(ringbuf_stats(rb, &s), 0);
		printf("n=%d total=%u recovered=%llu\n", n, total, (unsigned long long)s.recovered);
		fflush(stdout);
	}
	CHECK(!"a q command before the end of the input");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "info") && argc == 2) {
		printf("bits=%u layout=%u proto=%u\n", (unsigned)(8 * sizeof(void *)),
		       RINGBUF_LAYOUT_VERSION, BN_PROTO);
	} else if (!strcmp(cmd, "create") && argc == 4) {
		struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0600 };
		struct ringbuf *rb = ringbuf_create(argv[2], strtoul(argv[3], NULL, 0), &o);

		if (!rb) {
			fprintf(stderr, "bitness_peer: ringbuf_create(%s): %s\n", argv[2],
				strerror(errno));
			return T_FAIL;
		}
		ringbuf_free(rb);
	} else if (!strcmp(cmd, "produce") && argc == 5) {
		produce(argv[2], (uint32_t)strtoul(argv[3], NULL, 0), argv[4]);
	} else if (!strcmp(cmd, "bulk") && argc == 5) {
		bulk(argv[2], (uint32_t)strtoul(argv[3], NULL, 0),
		     (uint32_t)strtoul(argv[4], NULL, 0));
	} else if (!strcmp(cmd, "hold") && argc == 3) {
		struct ringbuf *rb = open_ring(argv[2], RINGBUF_ROLE_PRODUCER, 0);
		void *p = ringbuf_reserve(rb, BN_HOLD_SIZE, 0);

		CHECK(p != NULL);
		memset(p, BN_JUNK, BN_HOLD_SIZE / 2); /* killed while writing it */
		say("held");
		for (;;)
			pause();
	} else if (!strcmp(cmd, "stats") && argc == 3) {
		struct ringbuf *rb = open_ring(argv[2], 0, 0);

		print_stats(rb);
		ringbuf_free(rb);
	} else if (!strcmp(cmd, "consume") && argc == 5) {
		consume(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 0));
	} else {
		fprintf(stderr, "usage: see the top of tests/peer/bitness_peer.c\n");
		return 2;
	}
	return T_PASS;
}
