/* SPDX-License-Identifier: MIT */
/*
 * t_cli_io -- the t_cli tests of: test_lines_jsonl_stat, test_raw_roundtrip, test_overwrite.
 * What they share, and the whole plan, are in tests/common/cli_run.h.
 */
#include "cli_run.h"

static void test_lines_jsonl_stat(void)
{
	const char *a = mkname("a");
	const char *recs[] = { "hello", "world, \"quoted\" \\ and \t tab", "", "last line" };
	size_t sizes[4];
	const char input[] = "hello\nworld, \"quoted\" \\ and \t tab\n\nlast line\nextra";
	uint64_t pos4 = 0, pos5;
	struct buf out = { 0 };
	struct child tail;

	for (int i = 0; i < 4; i++) {
		sizes[i] = strlen(recs[i]);
		pos4 += rec_size(sizes[i]);
	}
	pos5 = pos4 + rec_size(5);

	EXPECT_EXIT(XC_OK, "create", (char *)a, "--size", "16K", "--mode", "0600");
	EXPECT_EXIT(XC_EXIST, "create", (char *)a, "--size", "16K");
	CHECK_EQ(stat_of(a, "ring_size"), 16384);
	CHECK_EQ(stat_of(a, "producer_pos"), 0);

	/* a live consumer in another process, then the writer */
	{
		char *const targv[] = { "tail", (char *)a, "--count", "4", "--format", "jsonl",
					"--timeout", "8", NULL };
		tail = spawn(targv, -1, -1, -1);
	}
	wait_consumer(a, tail.pid);
	CHECK_EQ(RUN_IN(input, sizeof(input) - 1, NULL, "write", (char *)a, "--lines"), 0);
	CHECK_EQ(finish(&tail, NULL, 0, &out, NULL, 10), 0);
	check_jsonl(out.p, recs, sizes, 4);
	buf_free(&out);

	/* the fifth record stays; positions and counters say so */
	CHECK_EQ(stat_of(a, "producer_pos"), pos5);
	CHECK_EQ(stat_of(a, "consumer_pos"), pos4);
	CHECK_EQ(stat_of(a, "avail_data"), pos5 - pos4);
	CHECK_EQ(stat_of(a, "reserved"), 5);
	CHECK_EQ(stat_of(a, "reserved_bytes"), sizes[0] + sizes[1] + sizes[2] + sizes[3] + 5);
	CHECK_EQ(stat_of(a, "discarded"), 0);
	CHECK_EQ(stat_of(a, "recovered"), 0);
	CHECK_EQ(stat_of(a, "consumer_pid"), 0); /* released at exit */

	/* a discarded record (through the library) shows in stat and ls, and
	 * a process holding the ring open counts as a producer while it does */
	{
		struct ringbuf *rb = ringbuf_open(a, NULL);
		void *s;

		CHECK(rb != NULL);
		s = ringbuf_reserve(rb, 16, 0);
		CHECK(s != NULL);
		ringbuf_discard(s, 0);
		CHECK_EQ(stat_of(a, "discarded"), 1);
		CHECK_EQ(stat_of(a, "producer_pos"), pos5 + rec_size(16));
		check_ls_row(a, 1);
		ringbuf_free(rb);
	}
	check_ls_row(a, 0);

	/* busy: a second consumer while one runs; the first gets the fifth
	 * record and ends with SIGINT, exit 0 */
	{
		char *const targv[] = { "tail", (char *)a, "--format", "text", "--timeout", "8",
					NULL };
		tail = spawn(targv, -1, -1, -1);
	}
	wait_consumer(a, tail.pid);
	EXPECT_EXIT(XC_BUSY, "tail", (char *)a, "--count", "1");
	EXPECT_EXIT(XC_BUSY, "tail", (char *)a, "--timeout", "0.1");
	CHECK_EQ(stat_of(a, "consumer_pos"), pos5 + rec_size(16));
	CHECK_EQ(kill(tail.pid, SIGINT), 0);
	CHECK_EQ(finish(&tail, NULL, 0, &out, NULL, 10), 0);
	CHECK(!strcmp(out.p, "extra\n"));
	buf_free(&out);

	/* --timeout with --count not reached: 11; nothing consumed */
	EXPECT_EXIT(XC_TIMEOUT, "tail", (char *)a, "--count", "1", "--timeout", "0.2");

	/* stat --watch: rates, refreshed until interrupted */
	{
		char *const wargv[] = { "stat", (char *)a, "--watch", "0.1", NULL };
		struct child w = spawn(wargv, -1, -1, -1);

		t_sleep_ms(350);
		CHECK_EQ(kill(w.pid, SIGINT), 0);
		CHECK_EQ(finish(&w, NULL, 0, &out, NULL, 10), 0);
		CHECK(strstr(out.p, "produced_rate:") != NULL);
		CHECK(strstr(out.p, "reserved_rate:") != NULL);
		buf_free(&out);
	}

	EXPECT_EXIT(XC_OK, "rm", (char *)a);
	EXPECT_EXIT(XC_NOENT, "stat", (char *)a);
	EXPECT_EXIT(XC_NOENT, "rm", (char *)a);
	CHECK_EQ(RUN(&out, "ls"), 0);
	CHECK(strstr(out.p, a) == NULL);
	buf_free(&out);
	printf("lines/jsonl/stat/ls/busy/rm: ok\n");
}

static void test_raw_roundtrip(void)
{
	const char *b = mkname("b"), *c = mkname("c");
	struct buf in = { 0 }, out = { 0 };
	uint64_t seed = 0x1234567890abcdefULL;
	size_t sizes[] = { 0, 1, 7, 256, 3000, 12, 9 };
	const int n = (int)(sizeof(sizes) / sizeof(sizes[0]));
	unsigned char rec[4096];
	char count[16];
	int pfd[2];

	EXPECT_EXIT(XC_OK, "create", (char *)b, "--size", "64K");
	EXPECT_EXIT(XC_OK, "create", (char *)c, "--size", "64KiB");
	for (int i = 0; i < n; i++) {
		unsigned char len[4] = { (unsigned char)sizes[i], (unsigned char)(sizes[i] >> 8), 0,
					 0 };

		for (size_t j = 0; j < sizes[i]; j++)
			rec[j] = i == 3 ? (unsigned char)j : (unsigned char)t_rand(&seed);
		if (i == 5)
			memcpy(rec, "two\nlines\n\0!", 12);
		buf_add(&in, len, 4);
		buf_add(&in, rec, sizes[i]);
	}
	CHECK_EQ(RUN_IN(in.p, in.n, NULL, "write", (char *)b, "--raw", "--force-wakeup"), 0);

	/* ringbuf tail B --format raw | ringbuf write C --raw */
	snprintf(count, sizeof(count), "%d", n);
	CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
	{
		char *const targv[] = { "tail", (char *)b, "--format", "raw", "--count", count,
					"--timeout", "8", NULL };
		char *const wargv[] = { "write", (char *)c, "--raw", NULL };
		struct child t = spawn(targv, -1, pfd[1], -1);
		struct child w = spawn(wargv, pfd[0], -1, -1);

		close(pfd[0]);
		close(pfd[1]);
		CHECK_EQ(finish(&t, NULL, 0, NULL, NULL, 10), 0);
		CHECK_EQ(finish(&w, NULL, 0, NULL, NULL, 10), 0);
	}
	CHECK_EQ(stat_of(b, "avail_data"), 0);
	CHECK_EQ(RUN(&out, "tail", (char *)c, "--format", "raw", "--count", count, "--timeout",
		     "5"), 0);
	CHECK_EQ(out.n, in.n);
	CHECK(memcmp(out.p, in.p, in.n) == 0);
	buf_free(&out);

	/* text and hex of a known record */
	CHECK_EQ(RUN_IN("a\x01\\b\n", 5, NULL, "write", (char *)c), 0);
	CHECK_EQ(RUN(&out, "tail", (char *)c, "--format", "text", "--count", "1"), 0);
	CHECK(!strcmp(out.p, "a\\x01\\\\b\n"));
	buf_free(&out);
	CHECK_EQ(RUN_IN("AB\n", 3, NULL, "write", (char *)c, "--no-wakeup"), 0);
	CHECK_EQ(RUN(&out, "tail", (char *)c, "--count", "1"), 0);
	CHECK(strstr(out.p, "record 0: 2 bytes") != NULL);
	CHECK(strstr(out.p, "41 42") != NULL);
	buf_free(&out);

	/* malformed raw input: 2 (a truncated prefix; a truncated body) */
	CHECK_EQ(RUN_IN("\x05\x00", 2, NULL, "write", (char *)c, "--raw"), XC_USAGE);
	CHECK_EQ(RUN_IN("\x05\x00\x00\x00" "ab", 6, NULL, "write", (char *)c, "--raw"), XC_USAGE);
	/* a record that can never fit: 1 */
	CHECK_EQ(RUN_IN("\x00\x00\x01\x00", 4, NULL, "write", (char *)c, "--raw"), XC_FAIL);
	CHECK_EQ(stat_of(c, "avail_data"), 0);

	buf_free(&in);
	EXPECT_EXIT(XC_OK, "rm", (char *)b);
	EXPECT_EXIT(XC_OK, "rm", (char *)c);
	printf("raw round trip: ok\n");
}

/* create --overwrite: writes never fail, tail gets the newest records,
 * stat shows the mode, overwrite_pos and the count of lost records */
static void test_overwrite(void)
{
	const char *a = mkname("ow");
	char input[300 * 16];
	size_t len = 0;
	struct buf out = { 0 };
	uint64_t got = 0, first = 0, next = 0, lost;
	char *line, *save = NULL;

	for (int i = 0; i < 300; i++)
		len += (size_t)sprintf(input + len, "line-%03d\n", i);
	EXPECT_EXIT(XC_OK, "create", (char *)a, "--size", "4K", "--overwrite");
	CHECK_EQ(RUN(&out, "stat", (char *)a), 0);
	CHECK(strstr(out.p, "mode:            overwrite\n") != NULL);
	buf_free(&out);
	CHECK_EQ(stat_of(a, "overwrite_pos"), 0);
	/* 300 records of 16 bytes: 4800 > 4096, never refused */
	CHECK_EQ(RUN_IN(input, len, NULL, "write", (char *)a, "--lines"), 0);
	CHECK_EQ(stat_of(a, "reserved"), 300);
	CHECK_EQ(stat_of(a, "refused_full"), 0);
	CHECK_EQ(stat_of(a, "producer_pos"), 300 * rec_size(8));
	CHECK(stat_of(a, "overwrite_pos") >= 300 * rec_size(8) - 4096);
	CHECK(stat_of(a, "overwritten") > 0);
	CHECK_EQ(stat_of(a, "avail_data"),
		 stat_of(a, "producer_pos") - stat_of(a, "overwrite_pos"));
	/* tail: a contiguous run of the newest, ending with the last */
	CHECK_EQ(RUN(&out, "tail", (char *)a, "--timeout", "0.2", "--format", "text"), 0);
	for (line = strtok_r(out.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned n;

		CHECK(sscanf(line, "line-%u", &n) == 1);
		if (!got)
			first = next = n;
		CHECK_EQ(n, next);
		next++;
		got++;
	}
	buf_free(&out);
	CHECK_EQ(next, 300);
	lost = stat_of(a, "lost");
	CHECK_EQ(lost, first);
	CHECK_EQ(got + lost, 300);
	CHECK_EQ(stat_of(a, "consumer_pos"), stat_of(a, "producer_pos"));
	CHECK_EQ(stat_of(a, "avail_data"), 0);
	EXPECT_EXIT(XC_OK, "rm", (char *)a);
}

int main(void)
{
	uint64_t t0 = t_now_ns();

	signal(SIGPIPE, SIG_IGN);
	find_cli();
	atexit(cleanup);
	test_lines_jsonl_stat();
	test_raw_roundtrip();
	test_overwrite();
	printf("t_cli_io: ok (%.1f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return T_PASS;
}
