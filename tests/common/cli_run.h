/* SPDX-License-Identifier: MIT */
/*
 * cli_run.h (tests/t_cli_*.c) -- the ringbuf command (build/ringbuf) end to end.
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
#ifndef RINGBUF_TEST_CLI_RUN_H
#define RINGBUF_TEST_CLI_RUN_H

/* Shared by the tests/t_cli_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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
		CHECK((size_t)(end - q) < sizeof(dec));
		CHECK_EQ(b64dec(q, (size_t)(end - q), dec), sizes[i]);
		CHECK(memcmp(dec, recs[i], sizes[i]) == 0);
		{
			/* the time it was received, and the source */
			unsigned long long ns;
			struct timespec now;

			used = 0;
			CHECK(sscanf(end, "\",\"recv_ns\":%llu,\"source\":\"%n", &ns, &used) == 1);
			CHECK(used > 0);
			clock_gettime(CLOCK_REALTIME, &now);
			CHECK(ns <= (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
			CHECK(ns + 120000000000ull > (unsigned long long)now.tv_sec * 1000000000ull);
			end = strstr(end + used, "\"}\n");
			CHECK(end != NULL);
		}
		p = end + 3;
	}
	CHECK_EQ(*p, '\0');
}

/* ---- user-space rings ----------------------------------------------------------- */

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
	/* stat works for it, as an observer: it reads, claims nothing */
	CHECK_EQ(RUN_AS(UID_C, NULL, 0, &out, NULL, "stat", (char *)u), 0);
	CHECK(strstr(out.p, "opened_as:       observer\n") != NULL);
	CHECK(strstr(out.p, "split:           yes\n") != NULL);
	CHECK_EQ(stat_value(out.p, "consumer_pid"), 0);
	CHECK_EQ(stat_value(out.p, "consumer_pos"), 2 * rec_size(2));
	CHECK_EQ(stat_value(out.p, "producer_pos"), 2 * rec_size(2));
	buf_free(&out);
	CHECK_EQ(stat_of(u, "consumer_pid"), 0);
	/* stat --watch by that user claims nothing: that user's tail starts
	 * meanwhile */
	{
		char *const wargv[] = { "stat", (char *)u, "--watch", "0.5", NULL };
		struct child wt = spawn(wargv, -1, -1, UID_C);
		int tries = 0;

		t_sleep_ms(200);
		rc = RUN_AS(UID_C, NULL, 0, NULL, NULL, "tail", (char *)u, "--timeout", "0.2");
		(void)tries;
		CHECK_EQ(rc, 0);
		t_sleep_ms(500);
		CHECK_EQ(kill(wt.pid, SIGINT), 0);
		CHECK_EQ(finish(&wt, NULL, 0, &out, NULL, 10), 0);
		CHECK(strstr(out.p, "opened_as:       observer") != NULL);
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
	/* a user with no write access to either file: no tail, no write
	 * (5); but it may read both, so stat works, as an observer */
	CHECK_EQ(RUN_AS(65534, NULL, 0, NULL, NULL, "tail", (char *)u, "--count", "1"), XC_PERM);
	CHECK_EQ(RUN_AS(65534, "x\n", 2, NULL, NULL, "write", (char *)u), XC_PERM);
	CHECK_EQ(RUN_AS(65534, NULL, 0, &out, NULL, "stat", (char *)u), XC_OK);
	CHECK(strstr(out.p, "opened_as:       observer\n") != NULL);
	buf_free(&out);

	/* while the consumer's user runs a tail: root sees it as the
	 * consumer, and so does that user's stat (an observer: it needs no
	 * role); the tail still gets what root writes */
	{
		char *const targv[] = { "tail", (char *)u, "--count", "1", "--format", "text",
					"--timeout", "8", NULL };
		tail = spawn(targv, -1, -1, UID_C);
	}
	wait_consumer(u, tail.pid);
	CHECK_EQ(RUN_AS(UID_C, NULL, 0, &out, NULL, "stat", (char *)u), XC_OK);
	CHECK_EQ(stat_value(out.p, "consumer_pid"), (uint64_t)tail.pid);
	buf_free(&out);
	CHECK_EQ(RUN_IN("r3\n", 3, NULL, "write", (char *)u), 0);
	CHECK_EQ(finish(&tail, NULL, 0, &out, NULL, 10), 0);
	CHECK(!strcmp(out.p, "r3\n"));
	buf_free(&out);

	EXPECT_EXIT(XC_OK, "rm", (char *)u);
	EXPECT_EXIT(XC_NOENT, "stat", (char *)u);
	printf("split ring, two users: ok\n");
}

#endif
