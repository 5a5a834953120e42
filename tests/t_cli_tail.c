/* SPDX-License-Identifier: MIT */
/*
 * t_cli_tail -- ringbuf tail moves the consumer position only past what it
 * has written out:
 *   - --count N consumes exactly N records, the rest stay;
 *   - a reader that goes away while tail waits for records ends tail (it
 *     does not block for ever), and records committed afterwards stay in
 *     the ring for the next consumer;
 *   - standard output that cannot be written (a reader gone before tail
 *     writes) commits nothing of what it could not write.
 */
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "ringbuf.h"

static char g_cli[PATH_MAX + 16];
static char g_name[64];

static pid_t tail_start(int out_fd, const char *count)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(out_fd, 1);
		for (int fd = 3; fd < 256; fd++)
			close(fd); /* the pipe's read end must not live on in tail */
		alarm(20); /* blocking for ever fails the test */
		if (count)
			execl(g_cli, "ringbuf", "tail", g_name, "--format", "text", "--count", count,
			      (char *)NULL);
		else
			execl(g_cli, "ringbuf", "tail", g_name, "--format", "text", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st)) {
		CHECK(WTERMSIG(st) != SIGALRM); /* the watchdog: tail hung */
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}

static uint64_t rec_bytes(size_t n)
{
	return (8 + n + 7) & ~7ull;
}

static void out(struct ringbuf *rb, int i)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "r%04d", i);

	CHECK_EQ(ringbuf_output(rb, buf, (uint64_t)n, 0), 0);
}

int main(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0600 };
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	char dir[PATH_MAX], line[64];
	struct ringbuf *rb;
	int p[2], null;
	pid_t pid;
	FILE *f;

	t_exe_dir(dir);
	snprintf(g_cli, sizeof(g_cli), "%s/../ringbuf", dir);
	if (access(g_cli, X_OK))
		SKIP("the ringbuf command is not built at %s", g_cli);
	snprintf(g_name, sizeof(g_name), "t_cli_tail.%d", (int)getpid());
	signal(SIGPIPE, SIG_IGN);
	rb = ringbuf_create(g_name, 1 << 16, &o);
	CHECK(rb);
	ringbuf_free(rb);
	rb = ringbuf_open(g_name, &po);
	CHECK(rb);

	/* --count N: exactly N */
	for (int i = 0; i < 100; i++)
		out(rb, i);
	null = open("/dev/null", O_WRONLY);
	CHECK(null >= 0);
	CHECK_EQ(wait_status(tail_start(null, "7")), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 93 * rec_bytes(5));
	CHECK_EQ(wait_status(tail_start(null, "93")), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);

	/* the reader goes away while tail waits: tail ends, later records stay */
	CHECK(pipe(p) == 0);
	pid = tail_start(p[1], NULL);
	close(p[1]);
	out(rb, 1000);
	f = fdopen(p[0], "r");
	CHECK(f);
	CHECK(fgets(line, sizeof(line), f));
	CHECK(!strcmp(line, "r1000\n"));
	fclose(f); /* the reader is gone; tail waits for records */
	CHECK_EQ(wait_status(pid), 0);
	for (int i = 0; i < 10; i++)
		out(rb, 2000 + i);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 10 * rec_bytes(5));

	/* the reader gone before tail writes: nothing it could not write is
	 * committed */
	CHECK(pipe(p) == 0);
	close(p[0]);
	pid = tail_start(p[1], NULL);
	close(p[1]);
	(void)wait_status(pid); /* EPIPE or SIGPIPE ends it; a hang fails */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 10 * rec_bytes(5));

	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
	close(null);
	return T_PASS;
}
