/* SPDX-License-Identifier: MIT */
/*
 * t_cli_split -- the t_cli tests of: test_split.
 * What they share, and the whole plan, are in tests/common/cli_run.h.
 */
#include "cli_run.h"

static void test_split(void)
{
	const char *s = mkname("split"), *u = mkname("splitu");
	char path[256], hid_wake[256], hid_dir[256];
	struct buf out = { 0 };
	struct child tail, w;
	uint64_t t0;
	int fd;

	/* --consumer-mode is a split ring's (refused by the command, which says
	 * why); malformed modes */
	{
		struct buf err = { 0 };

		CHECK_EQ(RUN_AS(-1, NULL, 0, NULL, &err, "create", (char *)s, "--size", "16K",
				"--consumer-mode", "0600"), XC_USAGE);
		CHECK(strstr(err.p, "--consumer-mode needs --split") != NULL);
		buf_free(&err);
	}
	EXPECT_EXIT(XC_USAGE, "create", (char *)s, "--size", "16K", "--mode", "0600",
		    "--consumer-mode=0600");
	EXPECT_EXIT(XC_USAGE, "create", (char *)s, "--size", "16K", "--split", "--consumer-mode",
		    "rw");
	EXPECT_EXIT(XC_USAGE, "create", (char *)s, "--size", "16K", "--split", "--consumer-mode",
		    "0");
	EXPECT_EXIT(XC_NOENT, "stat", (char *)s); /* nothing was created */

	/* the directory and its files, with the modes asked for */
	EXPECT_EXIT(XC_OK, "create", (char *)s, "--size", "16K", "--split", "--mode", "0640",
		    "--consumer-mode", "0604");
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", s);
	check_mode(path, true, 0711);
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s/ring", s);
	check_mode(path, false, 0640);
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s/consumer", s);
	check_mode(path, false, 0604);
	EXPECT_EXIT(XC_EXIST, "create", (char *)s, "--size", "16K", "--split");
	EXPECT_EXIT(XC_EXIST, "create", (char *)s, "--size", "16K");
	CHECK_EQ(RUN(&out, "stat", (char *)s), 0);
	CHECK(strstr(out.p, "split:           yes\n") != NULL);
	CHECK(strstr(out.p, "opened_as:       observer\n") != NULL);
	CHECK_EQ(stat_value(out.p, "ring_size"), 16384);
	buf_free(&out);

	/* write and tail across processes */
	{
		char *const targv[] = { "tail", (char *)s, "--count", "3", "--format", "text",
					"--timeout", "8", NULL };
		tail = spawn(targv, -1, -1, -1);
	}
	wait_consumer(s, tail.pid);
	CHECK_EQ(RUN_IN("one\ntwo\nthree\n", 14, NULL, "write", (char *)s), 0);
	CHECK_EQ(finish(&tail, NULL, 0, &out, NULL, 10), 0);
	CHECK(!strcmp(out.p, "one\ntwo\nthree\n"));
	buf_free(&out);
	CHECK_EQ(stat_of(s, "reserved"), 3);
	CHECK_EQ(stat_of(s, "consumer_pos"), rec_size(3) * 2 + rec_size(5));
	CHECK_EQ(stat_of(s, "consumer_pid"), 0);

	/* ls: the ring, a live writer counted as its producer (it maps the
	 * 'ring' file, not the directory), and never the library's hidden
	 * names, even ones that look like this ring's */
	snprintf(hid_wake, sizeof(hid_wake), "/dev/shm/.ringbuf.%s.wake", s);
	snprintf(hid_dir, sizeof(hid_dir), "/dev/shm/.ringbuf-new.%s", s);
	fd = open(hid_wake, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(mkdir(hid_dir, 0700), 0);
	CHECK_EQ(ls_producers(s), 0);
	{
		char *const wargv[] = { "write", (char *)s, NULL };

		w = spawn(wargv, -1, -1, -1);
	}
	CHECK_EQ(write(w.in, "four\n", 5), 5);
	t0 = t_now_ns();
	while (ls_producers(s) != 1) {
		CHECK(t_now_ns() - t0 < 5000000000ull);
		t_sleep_ms(10);
	}
	CHECK_EQ(finish(&w, NULL, 0, NULL, NULL, 10), 0);
	CHECK_EQ(ls_producers(s), 0);
	CHECK_EQ(RUN(&out, "ls"), 0);
	{
		const char *p = strstr(out.p, s);

		CHECK(p != NULL);
		CHECK(strstr(p + 1, s) == NULL); /* listed once: the hidden ones are not */
		CHECK(strstr(out.p, ".wake") == NULL && strstr(out.p, "ringbuf-new") == NULL);
	}
	buf_free(&out);
	CHECK_EQ(unlink(hid_wake), 0);
	CHECK_EQ(rmdir(hid_dir), 0);
	CHECK_EQ(stat_of(s, "reserved"), 4);

	/* rm removes the directory with its files */
	EXPECT_EXIT(XC_OK, "rm", (char *)s);
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", s);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	EXPECT_EXIT(XC_NOENT, "stat", (char *)s);
	EXPECT_EXIT(XC_NOENT, "tail", (char *)s, "--count", "1");
	EXPECT_EXIT(XC_NOENT, "rm", (char *)s);
	printf("split ring: ok\n");

	if (geteuid() != 0) {
		fprintf(stderr, "note: the two-user split sub-case needs root (chown, setuid); "
			"skipped\n");
		return;
	}
	test_split_users(u);
}

int main(void)
{
	uint64_t t0 = t_now_ns();

	signal(SIGPIPE, SIG_IGN);
	find_cli();
	atexit(cleanup);
	test_split();
	printf("t_cli_split: ok (%.1f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return T_PASS;
}
