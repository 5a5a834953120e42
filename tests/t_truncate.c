/* SPDX-License-Identifier: MIT */
/*
 * t_truncate.c -- a peer that shrinks a ring's file never kills the other
 * side (the SIGBUS guard in src/proc.c).
 *
 *   consumer   a split ring whose `ring` file belongs to the producers'
 *              user: that user truncates it while root consumes; root's
 *              consume returns -EBADMSG (and keeps returning it), the
 *              handle counts the replaced pages in `truncated`, and
 *              ringbuf_free() works
 *   producer   the consumer's user truncates `consumer`: root's producer
 *              gets -EBADMSG within two calls, never a signal
 *   inspect    the producers' user truncates and regrows a named ring's
 *              file over and over while root opens it and reads its stats
 *              in a loop, and runs `ringbuf ls` and `ringbuf stat`: no
 *              process dies of a signal
 *   other      a SIGBUS that is not ours still kills (default action), and
 *              an application's own handler, installed before, still gets
 *              the SIGBUS that are its own
 *
 * The three first parts need root (chown, setresuid); as another user the
 * same truncation is done by this process's own child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "proc.h"

#if defined(__SANITIZE_ADDRESS__) || T_TSAN
#define T_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_SANITIZED 1
#endif
#endif
#ifndef T_SANITIZED
#define T_SANITIZED 0
#endif

#define SIZE  (64 * 1024)
#define UID_P 61011 /* the producers' user */
#define UID_C 61012 /* the consumer's user */

static pid_t g_parent;
static char g_name[64];
static bool g_root;

static void name_for(const char *tag)
{
	snprintf(g_name, sizeof(g_name), "t_trunc_%d_%s", (int)g_parent, tag);
}

static void path_for(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "/dev/shm/ringbuf.%s%s%s", g_name, file ? "/" : "", file ? file : "");
}

/* In a child, as @uid when we are root: truncate @file of the ring to
 * @len bytes; the child's exit status says whether it could. */
static void truncate_as(unsigned uid, const char *file, off_t len)
{
	char path[256];
	pid_t pid;
	int st;

	path_for(path, sizeof(path), file);
	pid = proc_fork_child(g_parent, 20);
	if (pid == 0) {
		if (g_root && t_become(uid))
			_exit(2);
		_exit(truncate(path, len) ? 3 : 0);
	}
	st = proc_wait_status(pid, 20, 1000);
	CHECK(proc_exited_with(pid, st, 0));
}

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(long *)ctx)++;
	return 0;
}

static struct ringbuf *create_split(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_SPLIT, .mode = 0644,
				  .consumer_mode = 0644 };
	struct ringbuf *rb = ringbuf_create(g_name, SIZE, &o);
	char path[256];

	CHECK(rb != NULL);
	if (g_root) {
		path_for(path, sizeof(path), "ring");
		CHECK_EQ(chown(path, UID_P, UID_P), 0);
		path_for(path, sizeof(path), "consumer");
		CHECK_EQ(chown(path, UID_C, UID_C), 0);
	}
	return rb;
}

static struct ringbuf *open_role(uint32_t role)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role };
	struct ringbuf *rb = ringbuf_open(g_name, &o);

	CHECK(rb != NULL);
	return rb;
}

static uint64_t truncated_of(struct ringbuf *rb)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };

	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	return st.truncated;
}

static void test_consumer(void)
{
	struct ringbuf *rb, *c;
	long n = 0;
	char rec[24] = "before the truncation";

	name_for("cons");
	rb = create_split();
	for (int i = 0; i < 100; i++)
		CHECK_EQ(ringbuf_output(rb, rec, sizeof(rec), 0), 0);
	ringbuf_free(rb);
	c = open_role(RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(ringbuf_consume_n(c, count_cb, &n, 10), 10);
	CHECK_EQ(truncated_of(c), 0);

	truncate_as(UID_P, "ring", 0);
	errno = 0;
	CHECK_ERR(ringbuf_consume(c, count_cb, &n), EBADMSG);
	CHECK(truncated_of(c) > 0);
	CHECK_ERR(ringbuf_consume(c, count_cb, &n), EBADMSG);
	CHECK_ERR(ringbuf_poll(c, count_cb, &n, 0), EBADMSG);
	{
		struct ringbuf_record r;

		CHECK_ERR(ringbuf_next(c, &r), EBADMSG);
	}
	ringbuf_free(c);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

static void test_producer(void)
{
	struct ringbuf *rb, *p;
	char rec[16] = "after";
	long r = 0;
	int i;

	name_for("prod");
	rb = create_split();
	ringbuf_free(rb);
	p = open_role(RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(ringbuf_output(p, rec, sizeof(rec), 0), 0);
	truncate_as(UID_C, "consumer", 0);
	/* The first call may run into the missing page and finish on zeros;
	 * the next one at the latest knows. */
	for (i = 0; i < 2; i++) {
		r = ringbuf_output(p, rec, sizeof(rec), RINGBUF_FORCE_WAKEUP);
		if (r)
			break;
	}
	CHECK_EQ(r, -EBADMSG);
	CHECK(truncated_of(p) > 0);
	CHECK_NULL_ERR(ringbuf_reserve(p, 8, 0), EBADMSG);
	ringbuf_free(p);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

/* Run `ringbuf ARGS...` and return its wait status. */
static int run_cli(const char *a1, const char *a2)
{
	char dir[PATH_MAX], cli[PATH_MAX + 16];
	pid_t pid;
	int st;

	t_exe_dir(dir);
	snprintf(cli, sizeof(cli), "%s/../ringbuf", dir);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		alarm(20);
		execl(cli, "ringbuf", a1, a2, (char *)NULL);
		_exit(127);
	}
	st = proc_wait_status(pid, 20, 1000);
	CHECK(st != -1);
	return st;
}

static void test_inspect(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0644 };
	struct ringbuf *rb;
	char path[256];
	long opened = 0, cli = 0;
	uint64_t seen = 0;
	pid_t pid;
	int st;

	name_for("insp");
	rb = ringbuf_create(g_name, SIZE, &o);
	CHECK(rb != NULL);
	ringbuf_free(rb);
	path_for(path, sizeof(path), NULL);
	if (g_root)
		CHECK_EQ(chown(path, UID_P, UID_P), 0);
	pid = proc_fork_child(g_parent, 30);
	if (pid == 0) {
		/* the producers' user: shrink and regrow for ever */
		int fd;
		struct stat sb;

		if (g_root && t_become(UID_P))
			_exit(2);
		fd = open(path, O_RDWR | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &sb))
			_exit(3);
		for (;;) {
			if (ftruncate(fd, 4096) || ftruncate(fd, sb.st_size))
				_exit(4);
		}
	}
	for (uint64_t end = t_now_ns() + 2000000000ull; t_now_ns() < end;) {
		struct ringbuf_stats s = { .sz = sizeof(s) };

		rb = ringbuf_open(g_name, NULL);
		if (!rb) {
			CHECK(errno == EPROTO); /* caught at a small size */
			continue;
		}
		opened++;
		if (ringbuf_stats(rb, &s) == 0)
			seen += s.truncated;
		(void)ringbuf_query(rb, RINGBUF_AVAIL_DATA);
		ringbuf_free(rb);
		if (opened % 50 == 0) {
			st = run_cli("ls", NULL);
			CHECK(WIFEXITED(st));
			st = run_cli("stat", g_name);
			CHECK(WIFEXITED(st));
			cli += 2;
		}
	}
	kill(pid, SIGKILL);
	st = proc_wait_status(pid, 20, 1000);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	printf("     %ld opens, %lu pages replaced, %ld ls/stat runs, no signal death\n", opened,
	       (unsigned long)seen, cli);
	CHECK(opened > 0);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_app_handler;

static void app_bus(int sig)
{
	(void)sig;
	g_app_handler++;
	siglongjmp(g_jmp, 1);
}

/* Map one page of a fresh file and cut the file off under it. */
static volatile char *doomed_page(void)
{
	char path[] = "/dev/shm/t_trunc_other_XXXXXX";
	int fd = mkstemp(path);
	volatile char *p;

	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(ftruncate(fd, 0), 0);
	close(fd);
	return p;
}

static void test_other(void)
{
	struct ringbuf *rb;
	pid_t pid;
	int st;

	/* Made by a child: this process must not have the guard yet, so that
	 * the children below install it after their own handler. */
	name_for("other");
	pid = proc_fork_child(g_parent, 20);
	if (pid == 0)
		_exit(ringbuf_create(g_name, SIZE, NULL) ? 0 : 2);
	st = proc_wait_status(pid, 20, 1000);
	CHECK(proc_exited_with(pid, st, 0));
	(void)rb;

	/* default action: a SIGBUS that is not a ring's still kills */
	if (T_SANITIZED)
		fprintf(stderr, "note: the sanitizer's report of a SIGBUS below is expected\n");
	pid = proc_fork_child(g_parent, 20);
	if (pid == 0) {
		volatile char *p;

		rb = ringbuf_open(g_name, NULL); /* installs the guard */
		if (!rb)
			_exit(2);
		p = doomed_page();
		(void)p[0];
		_exit(0);
	}
	st = proc_wait_status(pid, 20, 1000);
	if (T_SANITIZED) /* the sanitizer's handler came before ours: it reports, exits */
		CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS) ||
		      (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2));
	else
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);

	/* the application's handler, installed first, gets its own SIGBUS;
	 * a ring's still goes to the guard */
	pid = proc_fork_child(g_parent, 20);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = app_bus };
		volatile char *p;
		long n = 0;

		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		rb = ringbuf_open(g_name, NULL);
		if (!rb)
			_exit(2);
		p = doomed_page();
		if (sigsetjmp(g_jmp, 1) == 0)
			(void)p[0];
		if (g_app_handler != 1)
			_exit(3);
		/* now the ring's own file shrinks */
		{
			char path[256];

			path_for(path, sizeof(path), NULL);
			if (truncate(path, 0))
				_exit(4);
		}
		if (ringbuf_consume(rb, count_cb, &n) != -EBADMSG || g_app_handler != 1)
			_exit(5);
		ringbuf_free(rb);
		_exit(0);
	}
	st = proc_wait_status(pid, 20, 1000);
	CHECK(proc_exited_with(pid, st, 0));
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

int main(void)
{
	g_parent = getpid();
	g_root = geteuid() == 0;
	test_other();
	printf("ok   other SIGBUS: default death, the application's handler\n");
	test_consumer();
	printf("ok   split ring consumer survives its producers' user\n");
	test_producer();
	printf("ok   producer survives the consumer's user\n");
	test_inspect();
	printf("ok   open/stats, ls, stat while the file shrinks and grows\n");
	if (!g_root)
		SKIP("not root: the truncations were this user's own, not another user's; the rest passed");
	return T_PASS;
}
