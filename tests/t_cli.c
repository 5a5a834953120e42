/* SPDX-License-Identifier: MIT */
/*
 * t_cli -- the ringbuf command (build/ringbuf, cli/ringbuf.c) end to end.
 *
 * Runs the built binary, found next to the test directory, as separate
 * processes:
 *
 *   - create a ring; `write --lines` from a pipe while `tail --count N
 *     --format jsonl` runs in another process: exactly those records, in
 *     order, with their bytes; the record after them stays in the ring;
 *   - stat: positions and counters match what was written and consumed;
 *     ls lists the ring; a second consumer is refused (busy, 8);
 *   - `tail --format raw | write --raw` into a second ring through a real
 *     pipe, then tail of that ring: byte-identical records (binary, empty,
 *     with newlines, large);
 *   - every error's documented exit code: unknown ring, malformed size,
 *     existing name, non-ring file, ring of another layout version,
 *     permission denied, usage errors, truncated raw input;
 *     --help of every command;
 *   - create --overwrite: write more than the ring holds, never refused;
 *     tail gets the newest records contiguously, stat's lost counts the
 *     rest, overwrite_pos and avail_data as the kernel computes them;
 *   - create --split: the directory and its two files with the modes asked
 *     for; write, tail, stat, ls (a live writer counted as a producer
 *     through the 'ring' file; the library's hidden names never listed),
 *     rm; --consumer-mode without --split refused (2); as root, the
 *     `consumer` file chowned to another uid: that user tails (and stats,
 *     in the consumer role) but may not write (5) nor rm (5), a third user
 *     may do nothing (5), and stat by that user while a consumer runs is
 *     refused (5);
 *   - kernel maps (skipped with exit 77 where BPF is not permitted, after
 *     the user-space parts passed): tail of a BPF_MAP_TYPE_RINGBUF map fed
 *     by tests/bpf/kmap.bpf.c, by id and pinned in bpffs; stat of a pinned
 *     ARRAY map (wrong type, 4); a USER_RINGBUF map (tail: 10); id:N as an
 *     unprivileged user (BPF not permitted, 6).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ringbuf.h"
#include "test.h"
#include "kbpf.h"
#include "bpf/kmap.h"

/* The command's documented exit codes. */
enum { XC_OK = 0, XC_FAIL = 1, XC_USAGE = 2, XC_NOENT = 3, XC_NOTRING = 4, XC_PERM = 5,
       XC_BPFPERM = 6, XC_VERSION = 7, XC_BUSY = 8, XC_EXIST = 9, XC_UNSUPP = 10, XC_TIMEOUT = 11 };

static char g_cli[PATH_MAX + 32];
static char g_names[16][96];
static int g_nnames;

static uint64_t rec_size(uint64_t n)
{
	return (n + RINGBUF_HDR_SZ + 7) & ~7ULL;
}

static void cleanup(void)
{
	for (int i = 0; i < g_nnames; i++)
		(void)ringbuf_unlink(g_names[i]);
}

/* A ring name unique to this process, removed at exit. */
static const char *mkname(const char *tag)
{
	CHECK(g_nnames < 16);
	snprintf(g_names[g_nnames], sizeof(g_names[0]), "t_cli_%d_%s", (int)getpid(), tag);
	return g_names[g_nnames++];
}

static void find_cli(void)
{
	char exe[PATH_MAX];

	t_exe_dir(exe);
	snprintf(g_cli, sizeof(g_cli), "%s/../ringbuf", exe);
	if (access(g_cli, X_OK) != 0) {
		fprintf(stderr, "%s: %s (build it with 'make')\n", g_cli, strerror(errno));
		CHECK(!"the ringbuf command is built");
	}
}

/* ---- running the command ---------------------------------------------------- */

struct child {
	pid_t pid;
	int in, out, err; /* our ends, -1 if not piped */
};

/* Start `ringbuf ARGV...`.  @in_fd/@out_fd: use that fd as its stdin/stdout
 * (-1: a pipe to us).  @uid: run as that user (-1: as we are). */
static struct child spawn(char *const *argv, int in_fd, int out_fd, int uid)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2];
	struct child c = { -1, -1, -1, -1 };
	char *args[32];
	int n = 0;

	args[n++] = g_cli;
	while (argv[n - 1] && n < 31) {
		args[n] = argv[n - 1];
		n++;
	}
	args[n] = NULL;
	if (in_fd < 0)
		CHECK_EQ(pipe2(pin, O_CLOEXEC), 0);
	if (out_fd < 0)
		CHECK_EQ(pipe2(pout, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(perr, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	c.pid = fork();
	CHECK(c.pid >= 0);
	if (c.pid == 0) {
		dup2(in_fd >= 0 ? in_fd : pin[0], 0);
		dup2(out_fd >= 0 ? out_fd : pout[1], 1);
		dup2(perr[1], 2);
		alarm(20); /* never outlive a hung test */
		if (uid >= 0 && t_become((unsigned)uid))
			_exit(126);
		execv(g_cli, args);
		_exit(127);
	}
	if (in_fd < 0) {
		close(pin[0]);
		c.in = pin[1];
	}
	if (out_fd < 0) {
		close(pout[1]);
		c.out = pout[0];
	}
	close(perr[1]);
	c.err = perr[0];
	return c;
}

struct buf {
	char *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		CHECK(b->p != NULL);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Feed @in (@inlen bytes) to @c, collect its output into @out/@err (either
 * may be NULL: discarded), reap it within @secs.  Returns its exit code
 * (128 + signal if killed). */
static int finish(struct child *c, const void *in, size_t inlen, struct buf *out, struct buf *err,
		  int secs)
{
	uint64_t t0 = t_now_ns();
	size_t off = 0;
	int status;
	char tmp[4096];
	struct buf sink_o = { 0 }, sink_e = { 0 };

	if (!out)
		out = &sink_o;
	if (!err)
		err = &sink_e;
	if (c->in >= 0 && inlen == 0) {
		close(c->in);
		c->in = -1;
	}
	while (c->in >= 0 || c->out >= 0 || c->err >= 0) {
		struct pollfd p[3];
		int np = 0, ms = (int)((uint64_t)secs * 1000 - (t_now_ns() - t0) / 1000000);

		if (ms <= 0) {
			kill(c->pid, SIGKILL);
			fprintf(stderr, "child %d did not finish in %d s\n", (int)c->pid, secs);
			CHECK(!"the command finished in time");
		}
		if (c->in >= 0)
			p[np++] = (struct pollfd){ c->in, POLLOUT, 0 };
		if (c->out >= 0)
			p[np++] = (struct pollfd){ c->out, POLLIN, 0 };
		if (c->err >= 0)
			p[np++] = (struct pollfd){ c->err, POLLIN, 0 };
		if (poll(p, (nfds_t)np, ms) < 0) {
			CHECK_EQ(errno, EINTR);
			continue;
		}
		for (int i = 0; i < np; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == c->in) {
				ssize_t w = write(c->in, (const char *)in + off, inlen - off);

				if (w > 0)
					off += (size_t)w;
				if (w < 0 || off == inlen) {
					close(c->in);
					c->in = -1;
				}
			} else {
				bool is_out = p[i].fd == c->out;
				ssize_t r = read(p[i].fd, tmp, sizeof(tmp));

				if (r > 0) {
					buf_add(is_out ? out : err, tmp, (size_t)r);
				} else {
					close(p[i].fd);
					if (is_out)
						c->out = -1;
					else
						c->err = -1;
				}
			}
		}
	}
	for (;;) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);

		CHECK(r >= 0);
		if (r == c->pid)
			break;
		if (t_now_ns() - t0 > (uint64_t)secs * 1000000000ull) {
			kill(c->pid, SIGKILL);
			CHECK(!"the command exited in time");
		}
		t_sleep_ms(2);
	}
	buf_free(&sink_o);
	buf_free(&sink_e);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run `ringbuf ARGS...` as user @uid (-1: as we are) with @in on stdin;
 * the exit code (126: could not become @uid), and its output in @out (if
 * not NULL), its standard error in @err (if not NULL). */
#define RUN_AS(uid, in, inlen, out, err, ...)                                    \
	({                                                                       \
		char *const _argv[] = { __VA_ARGS__, NULL };                     \
		struct child _c = spawn(_argv, -1, -1, (uid));                   \
		finish(&_c, (in), (inlen), (out), (err), 10);                    \
	})

/* Run `ringbuf ARGS...` with @in on stdin; the exit code, and its output
 * in @out (if not NULL). */
#define RUN_IN(in, inlen, out, ...)                                              \
	({                                                                       \
		char *const _argv[] = { __VA_ARGS__, NULL };                     \
		struct child _c = spawn(_argv, -1, -1, -1);                      \
		struct buf _e = { 0 };                                           \
		int _rc = finish(&_c, (in), (inlen), (out), &_e, 10);           \
		buf_free(&_e);                                                   \
		_rc;                                                             \
	})
#define RUN(out, ...) RUN_IN(NULL, 0, out, __VA_ARGS__)

/* The command fails with exit code @code and says one line on stderr. */
#define EXPECT_EXIT(code, ...)                                                   \
	do {                                                                     \
		char *const _argv[] = { __VA_ARGS__, NULL };                     \
		struct child _c = spawn(_argv, -1, -1, -1);                      \
		struct buf _e = { 0 };                                           \
		int _rc = finish(&_c, NULL, 0, NULL, &_e, 10);                   \
		if (_rc != (code))                                               \
			fprintf(stderr, "ringbuf %s: exit %d, expected %d: %s\n",\
				_argv[0], _rc, (code), _e.p ? _e.p : "");        \
		CHECK_EQ(_rc, (code));                                           \
		if ((code) != 0) {                                               \
			CHECK(_e.n > 0);                                         \
			CHECK(memchr(_e.p, '\n', _e.n) == _e.p + _e.n - 1);      \
		}                                                                \
		buf_free(&_e);                                                   \
	} while (0)

/* The value of "key:" in stat's output, or fail. */
static uint64_t stat_value(const char *out, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s:", key);
	p = strstr(out, pat);
	if (!p && !strncmp(out, pat + 1, strlen(pat + 1)))
		p = out - 1;
	if (!p) {
		fprintf(stderr, "no '%s' in:\n%s", key, out);
		CHECK(!"stat prints the key");
	}
	return strtoull(p + strlen(pat), NULL, 10);
}

static uint64_t stat_of(const char *target, const char *key)
{
	struct buf out = { 0 };
	uint64_t v;

	CHECK_EQ(RUN(&out, "stat", (char *)target), 0);
	v = stat_value(out.p, key);
	buf_free(&out);
	return v;
}

/* Wait until @name's consumer role is held by @pid (0: by anyone). */
static void wait_consumer(const char *name, pid_t pid)
{
	uint64_t t0 = t_now_ns();

	for (;;) {
		uint64_t c = stat_of(name, "consumer_pid");

		if (c && (!pid || c == (uint64_t)pid))
			return;
		CHECK(t_now_ns() - t0 < 5000000000ull);
		t_sleep_ms(10);
	}
}

/* ---- base64 (the jsonl format) -------------------------------------------------- */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode @n base64 characters into @out; returns the byte count. */
static size_t b64dec(const char *s, size_t n, unsigned char *out)
{
	size_t o = 0;

	CHECK(n % 4 == 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int j = 0; j < 4; j++)
			v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
		for (int j = 0; j < 4; j++)
			CHECK(v[j] >= 0);
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (s[i + 2] != '=')
			out[o++] = (unsigned char)(w >> 8);
		if (s[i + 3] != '=')
			out[o++] = (unsigned char)w;
	}
	return o;
}

/* Check jsonl output @out holds exactly records @recs[0 .. n) (sizes
 * @sizes), seq from @seq0. */
/* ringbuf ls: the row of ring @a after the named-ring scenario below (6
 * reservations, 1 discarded, nothing refused, no consumer claim), with
 * @producers processes mapping it. */
static void check_ls_row(const char *a, int producers)
{
	struct buf out = { 0 };
	char line[256], name[128], size[16], fill[16], cons[16];
	unsigned long long res, disc, ref, rec;
	int prod;
	const char *p;

	CHECK_EQ(RUN(&out, "ls"), 0);
	CHECK(!strncmp(out.p, "NAME", 4));
	p = strstr(out.p, a);
	CHECK(p != NULL);
	CHECK(sscanf(p, "%255[^\n]", line) == 1);
	CHECK(sscanf(line, "%127s %15s %15s %15s %d %llu %llu %llu %llu", name, size, fill, cons,
		     &prod, &res, &disc, &ref, &rec) == 9);
	CHECK(!strcmp(name, a));
	CHECK(!strcmp(size, "16K"));
	CHECK(!strcmp(cons, "-"));
	CHECK_EQ(prod, producers);
	CHECK_EQ(res, 6);
	CHECK_EQ(disc, 1);
	CHECK_EQ(ref, 0);
	CHECK_EQ(rec, 0);
	buf_free(&out);
}

static void check_jsonl(const char *out, const char *const *recs, const size_t *sizes, int n)
{
	const char *p = out;
	unsigned char dec[8192];

	for (int i = 0; i < n; i++) {
		unsigned long long seq, size;
		int used = 0;
		const char *q, *end;

		CHECK(sscanf(p, "{\"seq\":%llu,\"size\":%llu,\"data\":\"%n", &seq, &size, &used) == 2);
		CHECK(used > 0);
		CHECK_EQ(seq, i);
		CHECK_EQ(size, sizes[i]);
		q = p + used;
		end = strchr(q, '"');
		CHECK(end != NULL);
		CHECK(!strncmp(end, "\"}\n", 3));
		CHECK((size_t)(end - q) < sizeof(dec));
		CHECK_EQ(b64dec(q, (size_t)(end - q), dec), sizes[i]);
		CHECK(memcmp(dec, recs[i], sizes[i]) == 0);
		p = end + 3;
	}
	CHECK_EQ(*p, '\0');
}

/* ---- user-space rings ----------------------------------------------------------- */

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

static void write_shm(const char *name, const void *p, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, p, n), (ssize_t)n);
	close(fd);
}

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

/* ---- kernel maps ------------------------------------------------------------------ */

struct kobj {
	struct bpf_object *obj;
	int prog_fd, rb_fd;
	struct km_plan *plan;
	uint8_t *pat;
	size_t plan_len, pat_len;
};

/* Run the program: one bpf_ringbuf_output per (size, off) pair. */
static void produce(struct kobj *k, const uint32_t *sizes, const uint32_t *offs, int n)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct km_ctx ctx;

	CHECK(n <= KM_MAX_OPS);
	for (int i = 0; i < n; i++)
		k->plan->ops[i] = (struct km_op){ .kind = KM_OUTPUT, .size = sizes[i],
						  .off = offs[i], .flags = 0 };
	memset(&ctx, 0, sizeof(ctx));
	ctx.nops = (uint32_t)n;
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	CHECK_EQ(bpf_prog_test_run_opts(k->prog_fd, &o), 0);
	CHECK_EQ(o.retval, 0);
	CHECK_EQ(ctx.nfail, 0);
}

static void test_kernel(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct kobj k;
	struct buf out = { 0 };
	char idarg[32], aidarg[32], uidarg[32];
	uint32_t id, aid, uid;
	int array_fd, user_fd;
	const uint32_t sz[5] = { 1, 40, 0, 333, 4000 }, off[5] = { 0, 100, 7, 1000, 5000 };
	const char *recs[5];
	size_t sizes[5];
	uint64_t pos = 0;

	memset(&k, 0, sizeof(k));
	k.obj = kbpf_load("kmap");
	k.prog_fd = kbpf_prog_fd(k.obj, "produce");
	k.rb_fd = kbpf_map_fd(k.obj, "rb");
	k.plan_len = (sizeof(struct km_plan) + page - 1) & ~(page - 1);
	k.pat_len = (KM_PAT_SIZE + page - 1) & ~(page - 1);
	k.plan = kbpf_map_mmap(kbpf_map_fd(k.obj, "plan"), k.plan_len);
	k.pat = kbpf_map_mmap(kbpf_map_fd(k.obj, "pat"), k.pat_len);
	for (size_t i = 0; i < KM_PAT_SIZE; i++)
		k.pat[i] = (uint8_t)(t_rand(&seed) >> 56);
	for (int i = 0; i < 5; i++) {
		recs[i] = (const char *)k.pat + off[i];
		sizes[i] = sz[i];
	}
	id = kbpf_map_id(k.rb_fd, NULL, NULL);
	snprintf(idarg, sizeof(idarg), "id:%u", id);

	/* two records before tail starts, three while it waits */
	produce(&k, sz, off, 2);
	{
		char *const targv[] = { "tail", idarg, "--count", "5", "--format", "jsonl",
					"--timeout", "8", NULL };
		struct child t = spawn(targv, -1, -1, -1);

		t_sleep_ms(200);
		produce(&k, sz + 2, off + 2, 3);
		CHECK_EQ(finish(&t, NULL, 0, &out, NULL, 10), 0);
	}
	check_jsonl(out.p, recs, sizes, 5);
	buf_free(&out);
	for (int i = 0; i < 5; i++)
		pos += rec_size(sz[i]);
	CHECK_EQ(stat_of(idarg, "ring_size"), KM_RING_SIZE);
	CHECK_EQ(stat_of(idarg, "producer_pos"), pos);
	CHECK_EQ(stat_of(idarg, "consumer_pos"), pos);
	EXPECT_EXIT(XC_UNSUPP, "write", idarg); /* BPF programs produce into it */
	EXPECT_EXIT(XC_NOENT, "stat", "id:4294967295");

	/* wrong map type, by id: 4 */
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL);
	CHECK(array_fd >= 0);
	aid = kbpf_map_id(array_fd, NULL, NULL);
	snprintf(aidarg, sizeof(aidarg), "id:%u", aid);
	EXPECT_EXIT(XC_NOTRING, "stat", aidarg);
	EXPECT_EXIT(XC_NOTRING, "tail", aidarg, "--count", "1");

	/* a USER_RINGBUF map: write works, tail is unsupported (10) */
	user_fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, 4096, NULL);
	CHECK(user_fd >= 0);
	uid = kbpf_map_id(user_fd, NULL, NULL);
	snprintf(uidarg, sizeof(uidarg), "id:%u", uid);
	EXPECT_EXIT(XC_UNSUPP, "tail", uidarg, "--count", "1");
	CHECK_EQ(RUN_IN("abc\n", 4, NULL, "write", uidarg), 0);
	CHECK_EQ(stat_of(uidarg, "producer_pos"), rec_size(3));
	CHECK_EQ(RUN(&out, "stat", uidarg), 0);
	CHECK(strstr(out.p, "USER_RINGBUF") != NULL);
	buf_free(&out);

	/* BPF not permitted: 6 (map ids need CAP_SYS_ADMIN) */
	if (geteuid() == 0) {
		char *const argv[] = { "stat", idarg, NULL };
		struct child c = spawn(argv, -1, -1, 65534);
		int rc = finish(&c, NULL, 0, NULL, NULL, 10);

		if (rc == 126 || rc == 127)
			fprintf(stderr, "note: BPF-permission sub-case skipped: cannot run as nobody\n");
		else
			CHECK_EQ(rc, XC_BPFPERM);
	}

	/* pinned in bpffs: tail and stat by path; an ARRAY map there: 4 */
	{
		char dir[64] = "/sys/fs/bpf", path[128], apath[128], missing[128];
		int mounted = kbpf_bpffs_get(dir, sizeof(dir), "/tmp/t_cli.XXXXXX");

		if (mounted >= 0) {
			const uint32_t s1[1] = { 64 }, o1[1] = { 9 };

			snprintf(path, sizeof(path), "%s/t_cli_rb_%d", dir, (int)getpid());
			snprintf(apath, sizeof(apath), "%s/t_cli_array_%d", dir, (int)getpid());
			snprintf(missing, sizeof(missing), "%s/t_cli_missing_%d", dir, (int)getpid());
			CHECK_EQ(bpf_obj_pin(k.rb_fd, path), 0);
			CHECK_EQ(bpf_obj_pin(array_fd, apath), 0);
			EXPECT_EXIT(XC_NOTRING, "stat", apath);
			EXPECT_EXIT(XC_NOENT, "stat", missing);
			EXPECT_EXIT(XC_NOENT, "tail", missing, "--count", "1");
			produce(&k, s1, o1, 1);
			CHECK_EQ(stat_of(path, "avail_data"), rec_size(64));
			CHECK_EQ(RUN(&out, "tail", path, "--format", "raw", "--count", "1",
				     "--timeout", "5"), 0);
			CHECK_EQ(out.n, 4 + 64);
			CHECK_EQ(out.p[0], 64);
			CHECK(memcmp(out.p + 4, k.pat + 9, 64) == 0);
			buf_free(&out);
			CHECK_EQ(stat_of(path, "avail_data"), 0);
			CHECK_EQ(unlink(path), 0);
			CHECK_EQ(unlink(apath), 0);
			kbpf_bpffs_put(dir, mounted);
		}
	}

	close(user_fd);
	close(array_fd);
	munmap(k.plan, k.plan_len);
	munmap(k.pat, k.pat_len);
	bpf_object__close(k.obj);
	printf("kernel maps: ok\n");
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

/* ---- split rings ---------------------------------------------------------------- */

#define UID_C 61012 /* the consumer-only user of the two-user part */

static void check_mode(const char *path, bool dir, unsigned mode)
{
	struct stat st;

	CHECK_EQ(lstat(path, &st), 0);
	CHECK(dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != mode)
		fprintf(stderr, "%s: mode %04o, expected %04o\n", path, st.st_mode & 07777, mode);
	CHECK_EQ(st.st_mode & 07777, mode);
}

/* ls's PRODUCERS column for ring @a, or -1 if it shows none. */
static int ls_producers(const char *a)
{
	struct buf out = { 0 };
	char name[128], rest[16];
	int prod = -1;
	const char *p;

	CHECK_EQ(RUN(&out, "ls"), 0);
	p = strstr(out.p, a);
	CHECK(p != NULL);
	CHECK(sscanf(p, "%127s %*s %*s %*s %15s", name, rest) == 2);
	CHECK(!strcmp(name, a));
	if (strcmp(rest, "-"))
		prod = atoi(rest);
	buf_free(&out);
	return prod;
}

/* As root: the `consumer` file of a split ring belongs to another user,
 * who may consume (and stat) but not write records nor remove the ring. */
static void test_split_users(const char *u)
{
	char path[256];
	struct buf out = { 0 }, err = { 0 };
	struct child tail;
	int rc;

	EXPECT_EXIT(XC_OK, "create", (char *)u, "--size", "16K", "--split", "--mode", "0644",
		    "--consumer-mode", "0644");
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s/consumer", u);
	CHECK_EQ(chown(path, UID_C, UID_C), 0);
	CHECK_EQ(RUN_IN("r1\nr2\n", 6, NULL, "write", (char *)u), 0);

	rc = RUN_AS(UID_C, NULL, 0, &out, &err, "tail", (char *)u, "--count", "2", "--format",
		    "text", "--timeout", "5");
	if (rc == 126 || rc == 127) {
		fprintf(stderr, "note: two-user split sub-case skipped: cannot run as uid %d\n",
			UID_C);
		buf_free(&out);
		buf_free(&err);
		EXPECT_EXIT(XC_OK, "rm", (char *)u);
		return;
	}
	if (rc != 0)
		fprintf(stderr, "tail as uid %d: exit %d: %s", UID_C, rc, err.p ? err.p : "");
	CHECK_EQ(rc, 0);
	CHECK(!strcmp(out.p, "r1\nr2\n"));
	buf_free(&out);
	buf_free(&err);

	/* the consumer's user may not write records: permission denied */
	CHECK_EQ(RUN_AS(UID_C, "x\n", 2, NULL, &err, "write", (char *)u), XC_PERM);
	CHECK(strstr(err.p, "permission denied") != NULL);
	buf_free(&err);
	CHECK_EQ(stat_of(u, "reserved"), 2);
	/* nor remove the ring */
	CHECK_EQ(RUN_AS(UID_C, NULL, 0, NULL, NULL, "rm", (char *)u), XC_PERM);
	check_mode(path, false, 0644);
	/* stat works for it, in the consumer role, which it gives back */
	CHECK_EQ(RUN_AS(UID_C, NULL, 0, &out, NULL, "stat", (char *)u), 0);
	CHECK(strstr(out.p, "opened_as:       consumer\n") != NULL);
	CHECK(strstr(out.p, "split:           yes\n") != NULL);
	CHECK_EQ(stat_value(out.p, "consumer_pid"), 0);
	CHECK_EQ(stat_value(out.p, "consumer_pos"), 2 * rec_size(2));
	CHECK_EQ(stat_value(out.p, "producer_pos"), 2 * rec_size(2));
	buf_free(&out);
	CHECK_EQ(stat_of(u, "consumer_pid"), 0);
	/* stat --watch by that user holds the consumer role only while it
	 * reads: that user's tail can start meanwhile (a few tries: a start
	 * at the very moment of a refresh is refused as busy) */
	{
		char *const wargv[] = { "stat", (char *)u, "--watch", "0.5", NULL };
		struct child wt = spawn(wargv, -1, -1, UID_C);
		int tries = 0;

		t_sleep_ms(200);
		do {
			rc = RUN_AS(UID_C, NULL, 0, NULL, NULL, "tail", (char *)u, "--timeout",
				    "0.2");
		} while (rc == XC_BUSY && ++tries < 3);
		CHECK_EQ(rc, 0);
		t_sleep_ms(500);
		CHECK_EQ(kill(wt.pid, SIGINT), 0);
		CHECK_EQ(finish(&wt, NULL, 0, &out, NULL, 10), 0);
		CHECK(strstr(out.p, "opened_as:       consumer\n") != NULL);
		CHECK(strstr(out.p, "consumed_rate:") != NULL); /* refreshed */
		buf_free(&out);
	}
	/* and ls, with the ring's numbers */
	{
		char *const argv[] = { "ls", NULL };
		struct child c = spawn(argv, -1, -1, UID_C);
		const char *p;

		CHECK_EQ(finish(&c, NULL, 0, &out, NULL, 10), 0);
		p = strstr(out.p, u);
		CHECK(p != NULL && strstr(p, "16K") != NULL && strstr(p, "16K") < strchr(p, '\n'));
		CHECK(strstr(p, "(") == NULL || strstr(p, "(") > strchr(p, '\n'));
		buf_free(&out);
	}
	/* a user with no write access to either file: nothing (5) */
	CHECK_EQ(RUN_AS(65534, NULL, 0, NULL, NULL, "tail", (char *)u, "--count", "1"), XC_PERM);
	CHECK_EQ(RUN_AS(65534, "x\n", 2, NULL, NULL, "write", (char *)u), XC_PERM);
	CHECK_EQ(RUN_AS(65534, NULL, 0, NULL, NULL, "stat", (char *)u), XC_PERM);

	/* while the consumer's user runs a tail: root sees it as the
	 * consumer; that user's stat cannot take the consumer role and may
	 * not write the ring file: permission denied; the tail still gets
	 * what root writes */
	{
		char *const targv[] = { "tail", (char *)u, "--count", "1", "--format", "text",
					"--timeout", "8", NULL };
		tail = spawn(targv, -1, -1, UID_C);
	}
	wait_consumer(u, tail.pid);
	CHECK_EQ(RUN_AS(UID_C, NULL, 0, NULL, &err, "stat", (char *)u), XC_PERM);
	CHECK(strstr(err.p, "permission denied") != NULL);
	buf_free(&err);
	CHECK_EQ(RUN_IN("r3\n", 3, NULL, "write", (char *)u), 0);
	CHECK_EQ(finish(&tail, NULL, 0, &out, NULL, 10), 0);
	CHECK(!strcmp(out.p, "r3\n"));
	buf_free(&out);

	EXPECT_EXIT(XC_OK, "rm", (char *)u);
	EXPECT_EXIT(XC_NOENT, "stat", (char *)u);
	printf("split ring, two users: ok\n");
}

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
	CHECK(strstr(out.p, "opened_as:       producer\n") != NULL);
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
	test_lines_jsonl_stat();
	test_raw_roundtrip();
	test_errors();
	test_overwrite();
	test_split();
	fprintf(stderr, "note: user-space parts passed; now the kernel maps\n");
	kbpf_require();
	test_kernel();
	printf("t_cli: ok (%.1f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return T_PASS;
}
