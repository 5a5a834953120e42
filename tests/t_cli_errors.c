/* SPDX-License-Identifier: MIT */
/*
 * t_cli_errors -- the t_cli tests of: test_errors.
 * What they share, and the whole plan, are in tests/common/cli_run.h.
 */
#include "cli_run.h"

static void test_errors(void)
{
	const char *none = mkname("none"), *junk = mkname("junk"), *v2 = mkname("v2");
	const char *priv = mkname("priv"), *x = mkname("x");
	struct buf out = { 0 };

	/* usage */
	EXPECT_EXIT(XC_USAGE, "frobnicate");
	{
		char *const argv[] = { NULL };
		struct child c = spawn(argv, -1, -1, -1);

		CHECK_EQ(finish(&c, NULL, 0, NULL, NULL, 10), XC_USAGE);
	}
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "12Q");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "1.5M");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "1000");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "4G");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x);
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--size", "64K", "--mode", "rw");
	EXPECT_EXIT(XC_USAGE, "create", "bad/name", "--size", "64K");
	EXPECT_EXIT(XC_USAGE, "create", ".hidden", "--size", "64K");
	EXPECT_EXIT(XC_USAGE, "create", (char *)x, "--overwrite"); /* no --size */
	EXPECT_EXIT(XC_NOENT, "stat", (char *)x); /* nothing was created */
	EXPECT_EXIT(XC_USAGE, "tail", (char *)x, "--format", "xml");
	EXPECT_EXIT(XC_USAGE, "tail", (char *)x, "--count", "0");
	EXPECT_EXIT(XC_USAGE, "tail", (char *)x, "--timeout", "-1");
	EXPECT_EXIT(XC_USAGE, "tail", "id:abc");
	EXPECT_EXIT(XC_USAGE, "stat", "id:0");
	EXPECT_EXIT(XC_USAGE, "write", (char *)x, "--lines", "--raw");
	EXPECT_EXIT(XC_USAGE, "write", (char *)x, "--no-wakeup", "--force-wakeup");
	EXPECT_EXIT(XC_USAGE, "ls", "extra");
	EXPECT_EXIT(XC_USAGE, "stat", (char *)x, "--bogus");

	/* help: 0, on stdout */
	{
		const char *subs[] = { "create", "rm", "ls", "stat", "tail", "write", "demo",
				       "bench" };

		CHECK_EQ(RUN(&out, "--help"), 0);
		CHECK(strstr(out.p, "usage: ringbuf") && strstr(out.p, "exit status"));
		buf_free(&out);
		CHECK_EQ(RUN(&out, "help", "tail"), 0);
		CHECK(strstr(out.p, "usage: ringbuf tail") != NULL);
		buf_free(&out);
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			char want[64];

			snprintf(want, sizeof(want), "usage: ringbuf %s", subs[i]);
			CHECK_EQ(RUN(&out, (char *)subs[i], "--help"), 0);
			CHECK(strstr(out.p, want) != NULL);
			buf_free(&out);
		}
	}

	/* no such ring: 3 */
	EXPECT_EXIT(XC_NOENT, "stat", (char *)none);
	EXPECT_EXIT(XC_NOENT, "tail", (char *)none, "--count", "1");
	EXPECT_EXIT(XC_NOENT, "write", (char *)none);
	EXPECT_EXIT(XC_NOENT, "rm", (char *)none);

	/* not a ring: 4 */
	write_shm(junk, "not a ring at all", 17);
	EXPECT_EXIT(XC_NOTRING, "stat", (char *)junk);
	EXPECT_EXIT(XC_NOTRING, "tail", (char *)junk, "--count", "1");
	EXPECT_EXIT(XC_NOTRING, "write", (char *)junk);
	EXPECT_EXIT(XC_EXIST, "create", (char *)junk, "--size", "4K");

	/* another layout version: 7 */
	EXPECT_EXIT(XC_OK, "create", (char *)v2, "--size", "4K");
	{
		char path[256];
		uint32_t v = RINGBUF_LAYOUT_VERSION + 1;
		int fd;

		snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", v2);
		fd = open(path, O_RDWR | O_CLOEXEC);
		CHECK(fd >= 0);
		CHECK_EQ(pwrite(fd, &v, sizeof(v), offsetof(struct ringbuf_shm_meta, version)), 4);
		close(fd);
	}
	EXPECT_EXIT(XC_VERSION, "stat", (char *)v2);
	EXPECT_EXIT(XC_VERSION, "tail", (char *)v2, "--count", "1");
	EXPECT_EXIT(XC_VERSION, "write", (char *)v2);

	/* ls shows both, with their reasons */
	CHECK_EQ(RUN(&out, "ls"), 0);
	{
		const char *p = strstr(out.p, junk), *q = strstr(out.p, v2);

		CHECK(p && strstr(p, "(not a ring)") && strstr(p, "(not a ring)") < strchr(p, '\n'));
		CHECK(q && strstr(q, "(another layout version)") &&
		      strstr(q, "(another layout version)") < strchr(q, '\n'));
	}
	buf_free(&out);
	EXPECT_EXIT(XC_OK, "rm", (char *)junk);
	EXPECT_EXIT(XC_OK, "rm", (char *)v2);

	/* permission denied: 5 (a mode refusing an unprivileged user) */
	EXPECT_EXIT(XC_OK, "create", (char *)priv, "--size", "4K", "--mode", "0400");
	if (geteuid() == 0) {
		char *const argv[] = { "stat", (char *)priv, NULL };
		struct child c = spawn(argv, -1, -1, 65534);
		int rc = finish(&c, NULL, 0, NULL, NULL, 10);

		if (rc == 126 || rc == 127)
			fprintf(stderr, "note: permission sub-case skipped: cannot run as nobody\n");
		else
			CHECK_EQ(rc, XC_PERM);
	} else {
		EXPECT_EXIT(XC_PERM, "stat", (char *)priv);
	}
	EXPECT_EXIT(XC_OK, "rm", (char *)priv);
	printf("errors: ok\n");
}

int main(void)
{
	uint64_t t0 = t_now_ns();

	signal(SIGPIPE, SIG_IGN);
	find_cli();
	atexit(cleanup);
	test_errors();
	printf("t_cli_errors: ok (%.1f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return T_PASS;
}
