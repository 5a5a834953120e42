/* SPDX-License-Identifier: MIT */
/*
 * t_cli_write_wait -- `ringbuf write` into a full ring says so and can give
 * up.
 *
 *   - a ring nobody drains, more lines than it holds, --timeout 0.3: exit
 *     11 (timeout) after saying once on stderr that it waits for room; the
 *     ring holds exactly the first lines, whole and in order;
 *   - the same without --timeout while a consumer starts draining only
 *     after half a second: exit 0, every line delivered once and in order,
 *     the wait said once;
 *   - a malformed --timeout: usage error (2).
 */
#include "test.h"
#include "proc.h"
#include "cli_run.h"

#define LINES 2000u

struct seq {
	uint32_t next;
};

static int on_line(void *ctx, void *data, size_t size)
{
	struct seq *s = ctx;
	char txt[32];

	CHECK(size < sizeof(txt));
	memcpy(txt, data, size);
	txt[size] = '\0';
	CHECK_EQ(strtoul(txt, NULL, 10), s->next);
	s->next++;
	return 0;
}

static size_t lines(char *buf, uint32_t n)
{
	size_t len = 0;

	for (uint32_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "%u\n", i);
	return len;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

int main(void)
{
	static char in[LINES * 8];
	size_t inlen = lines(in, LINES);
	const char *name;
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct buf err = { 0 };
	struct seq s = { 0 };
	struct ringbuf *rb;
	uint64_t t0;
	int rc;

	find_cli();
	name = mkname("wait");
	ringbuf_unlink(name);

	/* nobody drains: give up after 0.3 s, the first lines whole */
	rb = ringbuf_create(name, 4096, &co);
	CHECK(rb);
	t0 = t_now_ns();
	rc = RUN_AS(-1, in, inlen, NULL, &err, "write", (char *)name, "--timeout", "0.3");
	printf("full ring, --timeout 0.3: exit %d after %.2f s; stderr: %s", rc,
	       (double)(t_now_ns() - t0) / 1e9, err.p ? err.p : "(nothing)\n");
	CHECK_EQ(rc, XC_TIMEOUT);
	CHECK(err.p && count_of(err.p, "waiting for room") == 1);
	CHECK(ringbuf_consume(rb, on_line, &s) > 0);
	CHECK(s.next > 0 && s.next < LINES); /* what fitted, in order */
	printf("%u lines were in the ring\n", s.next);
	CHECK_EQ(ringbuf_consume(rb, on_line, &s), 0);
	buf_free(&err);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* a consumer that comes late: everything arrives.  A child runs the
	 * writer (feeding it and reading its stderr); we start draining only
	 * after half a second, when the writer has long been waiting. */
	rb = ringbuf_create(name, 4096, &co);
	CHECK(rb);
	s.next = 0;
	{
		pid_t pid = proc_fork_child(getpid(), 30);

		if (pid == 0) {
			char *const argv[] = { "write", (char *)name, NULL };
			struct child w = spawn(argv, -1, -1, -1);

			rc = finish(&w, in, inlen, NULL, &err, 20);
			_exit(rc == 0 && err.p && count_of(err.p, "waiting for room") == 1 ? 0 : 1);
		}
		t_sleep_ms(500);
		t0 = t_now_ns();
		while (s.next < LINES) {
			CHECK(t_now_ns() - t0 < 20000000000ull);
			CHECK(ringbuf_poll(rb, on_line, &s, 100) >= 0);
		}
		CHECK(proc_exited_with(pid, proc_wait_status(pid, 20, 1000), 0));
	}
	CHECK_EQ(s.next, LINES);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	EXPECT_EXIT(XC_USAGE, "write", (char *)name, "--timeout", "soon");
	printf("t_cli_write_wait: ok\n");
	return 0;
}
