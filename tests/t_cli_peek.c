/* SPDX-License-Identifier: MIT */
/*
 * t_cli_peek -- `ringbuf tail --peek` reads without consuming.
 *
 *   - an application holds the consumer role of a ring; tail --peek
 *     --count 50 prints the 50 records written after it started, in order,
 *     while the application still gets every one of them (the consumer
 *     position moved by the application only)
 *   - a peeker stopped while the producers lap it says what it missed and
 *     goes on with the records written after
 *   - a plain tail of the same ring meanwhile is refused as busy (8): the
 *     consumer role is taken
 */
#include <signal.h>

#include "test.h"
#include "proc.h"
#include "cli_run.h"

struct seq {
	uint32_t next;
	const char *prefix;
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct seq *s = ctx;
	char txt[64], want[64];

	CHECK(size < sizeof(txt));
	memcpy(txt, data, size);
	txt[size] = '\0';
	snprintf(want, sizeof(want), "%s%u", s->prefix, s->next);
	if (strcmp(txt, want) == 0)
		s->next++;
	return 0;
}

static void put(struct ringbuf *rb, const char *prefix, uint32_t i)
{
	char txt[64];
	int n = snprintf(txt, sizeof(txt), "%s%u", prefix, i);

	CHECK_EQ(ringbuf_output(rb, txt, (size_t)n, 0), 0);
}

/* Does @out hold exactly lines PREFIX0 .. PREFIX(n-1), in order? */
static void check_lines(const char *out, const char *prefix, uint32_t n)
{
	const char *p = out;

	for (uint32_t i = 0; i < n; i++) {
		char want[64];
		size_t len = (size_t)snprintf(want, sizeof(want), "%s%u\n", prefix, i);

		CHECK(p != NULL && strncmp(p, want, len) == 0);
		p += len;
	}
	CHECK_EQ(*p, '\0');
}

int main(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct buf out = { 0 }, err = { 0 };
	struct seq got = { 0, "a" };
	const char *name;
	struct ringbuf *rb, *pr;
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct child c;
	int rc;

	/* the call itself */
	{
		struct ringbuf *r = ringbuf_new(4096, NULL);
		uint64_t pos, missed = 0;
		uint32_t size = 0;
		char b[64];
		void *d;

		CHECK(r);
		CHECK_EQ(ringbuf_output(r, "hello", 5, 0), 0);
		d = ringbuf_reserve(r, 8, 0);
		CHECK(d);
		ringbuf_discard(d, 0);
		CHECK_EQ(ringbuf_output(r, "x", 1, 0), 0);
		pos = ringbuf_query(r, RINGBUF_CONS_POS);
		CHECK_ERR(ringbuf_peek(r, &pos, b, 1, &size, &missed), ENOBUFS);
		CHECK_EQ(size, 5);
		CHECK_EQ(pos, 0);
		CHECK_EQ(ringbuf_peek(r, &pos, b, sizeof(b), &size, &missed), 1);
		CHECK(size == 5 && memcmp(b, "hello", 5) == 0);
		CHECK_EQ(ringbuf_peek(r, &pos, b, sizeof(b), &size, &missed), 1); /* discard skipped */
		CHECK(size == 1 && b[0] == 'x');
		CHECK_EQ(ringbuf_peek(r, &pos, b, sizeof(b), &size, &missed), 0);
		CHECK_EQ(pos, ringbuf_query(r, RINGBUF_PROD_POS));
		CHECK_EQ(missed, 0);
		CHECK_EQ(ringbuf_query(r, RINGBUF_CONS_POS), 0); /* nothing consumed */
		CHECK_ERR(ringbuf_peek(NULL, &pos, b, sizeof(b), &size, &missed), EINVAL);
		CHECK_ERR(ringbuf_peek(r, NULL, b, sizeof(b), &size, &missed), EINVAL);
		CHECK_ERR(ringbuf_peek(r, &pos, NULL, 8, &size, &missed), EINVAL);
		pos = 4; /* misaligned */
		CHECK_ERR(ringbuf_peek(r, &pos, b, sizeof(b), &size, &missed), EBADMSG);
		ringbuf_free(r);
	}

	find_cli();
	name = mkname("peek");
	ringbuf_unlink(name);
	rb = ringbuf_create(name, 64 * 1024, &co);
	CHECK(rb);
	pr = ringbuf_open(name, &po);
	CHECK(pr);
	put(pr, "old", 0); /* written before tail starts: not its */

	{
		char *const argv[] = { "tail", (char *)name, "--peek", "--count", "50",
				       "--format", "text", "--timeout", "10", NULL };

		c = spawn(argv, -1, -1, -1);
	}
	t_sleep_ms(300);
	EXPECT_EXIT(XC_BUSY, "tail", (char *)name, "--count", "1");
	for (uint32_t i = 0; i < 50; i++)
		put(pr, "a", i);
	rc = finish(&c, NULL, 0, &out, &err, 15);
	if (rc)
		fprintf(stderr, "tail --peek: exit %d: %s\n", rc, err.p ? err.p : "");
	CHECK_EQ(rc, 0);
	check_lines(out.p, "a", 50);
	buf_free(&out);
	buf_free(&err);
	/* the application's records are all still there */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	got.prefix = "old";
	CHECK_EQ(ringbuf_consume_n(rb, on_rec, &got, 1), 1);
	CHECK_EQ(got.next, 1);
	got = (struct seq){ 0, "a" };
	CHECK_EQ(ringbuf_consume(rb, on_rec, &got), 50);
	CHECK_EQ(got.next, 50);
	printf("ok   peek beside the consumer: 50 records seen, 50 still consumed\n");
	ringbuf_free(rb);
	ringbuf_free(pr);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* lapped while stopped: it says so, then reads what comes after */
	rb = ringbuf_create(name, 4096, &co);
	CHECK(rb);
	pr = ringbuf_open(name, &po);
	CHECK(pr);
	{
		char *const argv[] = { "tail", (char *)name, "--peek", "--count", "5",
				       "--format", "text", "--timeout", "10", NULL };

		c = spawn(argv, -1, -1, -1);
	}
	t_sleep_ms(300);
	CHECK_EQ(kill(c.pid, SIGSTOP), 0);
	got = (struct seq){ 0, "lap" };
	for (uint32_t i = 0; i < 3000; i++) {
		put(pr, "lap", i);
		if (i % 50 == 49)
			CHECK(ringbuf_consume(rb, on_rec, &got) > 0);
	}
	CHECK_EQ(ringbuf_consume(rb, on_rec, &got) >= 0, 1);
	CHECK_EQ(got.next, 3000);
	CHECK_EQ(kill(c.pid, SIGCONT), 0);
	t_sleep_ms(300);
	for (uint32_t i = 0; i < 5; i++)
		put(pr, "z", i);
	rc = finish(&c, NULL, 0, &out, &err, 15);
	CHECK_EQ(rc, 0);
	check_lines(out.p, "z", 5);
	CHECK(err.p && strstr(err.p, "missed") != NULL);
	printf("ok   lapped: %s", err.p);
	buf_free(&out);
	buf_free(&err);
	ringbuf_free(rb);
	ringbuf_free(pr);
	CHECK_EQ(ringbuf_unlink(name), 0);
	EXPECT_EXIT(XC_USAGE, "tail", (char *)name, "--peek=yes");
	printf("t_cli_peek: ok\n");
	return 0;
}
