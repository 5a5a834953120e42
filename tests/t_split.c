/* SPDX-License-Identifier: MIT */
/*
 * t_split.c -- split rings (RINGBUF_F_SPLIT): the producers' writable state
 * and the consumer's writable state in two files, so that file permissions
 * enforce the roles between users.
 *
 *   layout     the name is a directory holding `ring` and `consumer`, with
 *              the modes asked for; records flow and resume as usual
 *   refusals   the flag outside ringbuf_create(); a consumer file of
 *              another ring or none; a split ring's fd to ringbuf_from_fd()
 *   two uids   (root only) `ring` owned by a producer-only user, `consumer`
 *              by a consumer-only user, both 0644: the producer user can
 *              write records but cannot open, map or mprotect the consumer
 *              state writable; the consumer user can consume but cannot
 *              write records; records written by one user wake and reach
 *              the consumer of the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stddef.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "proc.h"

#define SIZE    (64 * 1024)
#define UID_P   61001 /* producer-only user */
#define UID_C   61002 /* consumer-only user */
#define NREC    2000

static pid_t g_parent;
static char g_name[64];

static void name_for(const char *tag)
{
	snprintf(g_name, sizeof(g_name), "t_split_%d_%s", (int)g_parent, tag);
}

static void path_for(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "/dev/shm/ringbuf.%s%s%s", g_name, file ? "/" : "", file ? file : "");
}

static struct ringbuf *create_split(uint32_t mode, uint32_t cmode)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_SPLIT, .mode = mode,
				  .consumer_mode = cmode };
	struct ringbuf *rb = ringbuf_create(g_name, SIZE, &o);

	CHECK(rb != NULL);
	return rb;
}

static struct ringbuf *open_role(uint32_t role)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role };

	return ringbuf_open(g_name, &o);
}

static void expect_open_fails(uint32_t role, int err)
{
	CHECK_NULL_ERR(open_role(role), err);
}

struct seen {
	uint32_t next;
	uint32_t bad;
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	uint32_t v;

	if (size != sizeof(v)) {
		s->bad++;
		return 0;
	}
	memcpy(&v, data, sizeof(v));
	if (v != s->next)
		s->bad++;
	s->next = v + 1;
	return 0;
}

/* ------------------------------------------------------------------------ */

static void test_layout(void)
{
	char path[256];
	struct stat st;
	struct ringbuf *rb, *p, *c;
	struct seen s = { 0 };

	name_for("layout");
	rb = create_split(0640, 0600);
	path_for(path, sizeof(path), NULL);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	path_for(path, sizeof(path), "ring");
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0640);
	path_for(path, sizeof(path), "consumer");
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
	/* an existing name is never replaced, split or not */
	{
		struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_SPLIT };

		CHECK_NULL_ERR(ringbuf_create(g_name, SIZE, &o), EEXIST);
		CHECK_NULL_ERR(ringbuf_create(g_name, SIZE, NULL), EEXIST);
	}
	ringbuf_free(rb);

	p = open_role(RINGBUF_ROLE_PRODUCER);
	c = open_role(RINGBUF_ROLE_CONSUMER);
	CHECK(p && c);
	CHECK_EQ(ringbuf_query(c, RINGBUF_RING_SIZE), SIZE);
	{
		struct ringbuf_stats rs = { .sz = sizeof(rs) };

		CHECK_EQ(ringbuf_stats(p, &rs), 0);
		CHECK_EQ(rs.flags, RINGBUF_F_SPLIT);
	}
	for (uint32_t i = 0; i < 100; i++)
		CHECK_EQ(ringbuf_output(p, &i, sizeof(i), 0), 0);
	CHECK_EQ(ringbuf_consume_n(c, on_rec, &s, 40), 40);
	ringbuf_free(c);
	/* a new consumer resumes from the shared consumer_pos */
	c = open_role(RINGBUF_ROLE_CONSUMER);
	CHECK(c != NULL);
	CHECK_EQ(ringbuf_consume(c, on_rec, &s), 60);
	CHECK_EQ(s.next, 100);
	CHECK_EQ(s.bad, 0);
	CHECK_EQ(ringbuf_query(p, RINGBUF_CONS_POS), ringbuf_query(p, RINGBUF_PROD_POS));
	/* one live consumer, as for any ring */
	expect_open_fails(RINGBUF_ROLE_CONSUMER, EBUSY);
	ringbuf_free(c);
	ringbuf_free(p);

	CHECK_EQ(ringbuf_unlink(g_name), 0);
	path_for(path, sizeof(path), NULL);
	CHECK(lstat(path, &st) != 0 && errno == ENOENT);
	expect_open_fails(0, ENOENT);
	CHECK_EQ(ringbuf_unlink(g_name), -ENOENT);
}

static void test_refusals(void)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = RINGBUF_F_SPLIT };
	char a_cons[256], b_cons[256], name_a[64], saved[128];
	struct ringbuf *a, *b;

	snprintf(saved, sizeof(saved), "/dev/shm/t_split_%d_saved", (int)g_parent);

	/* only a named ring has two files */
	CHECK_NULL_ERR(ringbuf_new(SIZE, &o), EINVAL);
	o.flags = 0;
	o.consumer_mode = 0600; /* only with RINGBUF_F_SPLIT */
	name_for("refuse");
	CHECK_NULL_ERR(ringbuf_create(g_name, SIZE, &o), EINVAL);
	o.consumer_mode = 0;
	o.flags = RINGBUF_F_SPLIT;
	o.role = RINGBUF_ROLE_PRODUCER;
	errno = 0;
	CHECK(ringbuf_open(g_name, &o) == NULL); /* the flag is the creator's */
	CHECK_EQ(errno, EINVAL);

	/* a split ring's fd is not a ring ringbuf_from_fd() can map alone */
	name_for("a");
	snprintf(name_a, sizeof(name_a), "%s", g_name);
	a = create_split(0600, 0600);
	CHECK_NULL_ERR(ringbuf_from_fd(ringbuf_fd(a), NULL), EPROTO);
	path_for(a_cons, sizeof(a_cons), "consumer");
	name_for("b");
	b = create_split(0600, 0600);
	path_for(b_cons, sizeof(b_cons), "consumer");

	/* another ring's consumer file in place of a's: refused */
	snprintf(g_name, sizeof(g_name), "%s", name_a);
	CHECK(rename(a_cons, saved) == 0);
	CHECK(link(b_cons, a_cons) == 0);
	expect_open_fails(RINGBUF_ROLE_CONSUMER, EPROTO);
	expect_open_fails(RINGBUF_ROLE_PRODUCER, EPROTO);
	/* no consumer file at all: not a ring either */
	CHECK(unlink(a_cons) == 0);
	expect_open_fails(0, EPROTO);
	CHECK(rename(saved, a_cons) == 0);
	{
		struct ringbuf *again = open_role(RINGBUF_ROLE_PRODUCER);

		CHECK(again != NULL);
		ringbuf_free(again);
	}
	ringbuf_free(a);
	ringbuf_free(b);
	CHECK_EQ(ringbuf_unlink(name_a), 0);
	name_for("b");
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

/* ------------------------------------------------------------------------
 * A dead producer in a split ring: the consumer-only handle cannot write
 * the data, so the next reservation recovers the record at its request --
 * and only after checking, itself, that the owner is dead.
 * ------------------------------------------------------------------------ */

/* A child that reserves one record and holds it (BUSY) until killed. */
static pid_t holder(int *ready_rd)
{
	int pfd[2];
	pid_t pid;

	CHECK(pipe(pfd) == 0);
	pid = proc_fork_child(g_parent, 60);
	if (pid == 0) {
		struct ringbuf *p = open_role(RINGBUF_ROLE_PRODUCER);
		uint32_t *v;

		close(pfd[0]);
		CHECK(p != NULL);
		v = ringbuf_reserve(p, sizeof(*v), 0);
		CHECK(v != NULL);
		*v = 0xdead;
		CHECK_EQ(write(pfd[1], "r", 1), 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	*ready_rd = pfd[0];
	return pid;
}

static const volatile uint64_t *map_hint(void **map)
{
	char path[256];
	int fd;

	path_for(path, sizeof(path), "consumer");
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	*map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(*map != MAP_FAILED);
	close(fd);
	return (volatile uint64_t *)((char *)*map + offsetof(struct ringbuf_shm_consumer,
							      recover_hint));
}

static void test_dead_producer(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER,
				   .recover_ms = 50 };
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct ringbuf *rb, *c, *p;
	struct seen s = { 0 };
	volatile uint64_t *hint;
	void *map;
	int rd, status;
	uint32_t v;
	char ch;
	pid_t pid;

	name_for("dead");
	rb = create_split(0600, 0600);
	ringbuf_free(rb);
	hint = (volatile uint64_t *)map_hint(&map);
	c = ringbuf_open(g_name, &co);
	p = open_role(RINGBUF_ROLE_PRODUCER);
	CHECK(c && p);

	/* 1. A live (stopped) owner: a forged hint is not obeyed. */
	pid = holder(&rd);
	CHECK_EQ(read(rd, &ch, 1), 1);
	close(rd);
	CHECK(kill(pid, SIGSTOP) == 0);
	*hint = 0 | 1; /* the held record is at position 0 */
	v = 0;
	CHECK_EQ(ringbuf_output(p, &v, sizeof(v), 0), 0);
	t_sleep_ms(5);
	v = 1;
	CHECK_EQ(ringbuf_output(p, &v, sizeof(v), 0), 0);
	CHECK_EQ(ringbuf_consume(c, on_rec, &s), 0);
	CHECK_EQ(ringbuf_stats(c, &st), 0);
	CHECK_EQ(st.recovered, 0);
	*hint = 0;

	/* 2. The owner dies: the consumer asks, the next reservation
	 * recovers, the records behind it arrive. */
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	{
		uint64_t t0 = t_now_ns();

		/* the consumer cannot move, but asks once its bound passed */
		while (*hint != (0 | 1)) {
			CHECK_EQ(ringbuf_poll(c, on_rec, &s, 10), 0);
			CHECK(t_now_ns() - t0 < 5000000000ull);
		}
	}
	CHECK_EQ(ringbuf_consume(c, on_rec, &s), 0);
	CHECK_EQ(ringbuf_stats(c, &st), 0);
	CHECK_EQ(st.recovered, 0);
	v = 2;
	CHECK_EQ(ringbuf_output(p, &v, sizeof(v), 0), 0); /* walks pending: recovers */
	CHECK_EQ(ringbuf_consume(c, on_rec, &s), 3);
	CHECK_EQ(s.next, 3);
	CHECK_EQ(s.bad, 0);
	CHECK_EQ(ringbuf_stats(c, &st), 0);
	CHECK_EQ(st.recovered, 1);
	CHECK_EQ(st.discarded, 0);

	munmap(map, 4096);
	ringbuf_free(c);
	ringbuf_free(p);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

/* ------------------------------------------------------------------------
 * Two users
 * ------------------------------------------------------------------------ */

static void become(uid_t uid)
{
	CHECK(t_become(uid) == 0);
	CHECK(geteuid() == uid);
}

/* @file cannot be opened for writing, nor mapped writable from a read-only
 * descriptor, nor made writable by mprotect(). */
static void expect_read_only(const char *file)
{
	char path[256];
	void *p;
	int fd;

	path_for(path, sizeof(path), file);
	errno = 0;
	CHECK(open(path, O_RDWR | O_CLOEXEC) < 0 && errno == EACCES);
	errno = 0;
	CHECK(open(path, O_WRONLY | O_CLOEXEC) < 0 && errno == EACCES);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	errno = 0;
	CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) != 0 && errno == EACCES);
	munmap(p, 4096);
	close(fd);
}

/* The same, waiting in its own epoll_wait() on ringbuf_epoll_fd(): the
 * producers of the other user must reach the wakeup socket. */
static void consume_by_fd(struct ringbuf *c, struct seen *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int efd = ringbuf_epoll_fd(c), ep = epoll_create1(EPOLL_CLOEXEC);

	CHECK(efd >= 0 && ep >= 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
	while (s->next < NREC) {
		int n = epoll_wait(ep, &ev, 1, 10000);

		CHECK(n >= 0);
		if (n == 0)
			CHECK(!"the other user's records make the epoll fd readable");
		CHECK(ringbuf_consume(c, on_rec, s) >= 0);
	}
	close(ep);
}

static void consumer_child(int ready_fd, bool by_fd)
{
	struct seen s = { 0 };
	struct ringbuf *c;
	uint64_t t0;

	become(UID_C);
	expect_open_fails(RINGBUF_ROLE_PRODUCER, EACCES);
	expect_open_fails(0, EACCES);
	expect_read_only("ring");
	c = open_role(RINGBUF_ROLE_CONSUMER);
	if (!c)
		fprintf(stderr, "consumer user: ringbuf_open: %s\n", strerror(errno));
	CHECK(c != NULL);
	CHECK_EQ(ringbuf_output(c, &s, 4, 0), -EOPNOTSUPP);
	if (by_fd) {
		CHECK(ringbuf_epoll_fd(c) >= 0); /* armed before the producer starts */
		CHECK_EQ(write(ready_fd, "c", 1), 1);
		consume_by_fd(c, &s);
		CHECK_EQ(s.bad, 0);
		ringbuf_free(c);
		_exit(0);
	}
	CHECK_EQ(write(ready_fd, "c", 1), 1);
	t0 = t_now_ns();
	while (s.next < NREC) {
		/* every burst of the producer must wake us: a poll that
		 * times out means a wakeup was lost between the users */
		int n = ringbuf_poll(c, on_rec, &s, 10000);

		CHECK(n >= 0);
		if (n == 0 && t_now_ns() - t0 > 9000000000ull)
			CHECK(!"woken by the other user's records");
		if (n > 0)
			t0 = t_now_ns();
	}
	CHECK_EQ(s.bad, 0);
	ringbuf_free(c);
	_exit(0);
}

static void producer_child(int go_fd)
{
	struct ringbuf *p;
	char ch;

	become(UID_P);
	expect_open_fails(RINGBUF_ROLE_CONSUMER, EACCES);
	expect_open_fails(0, EACCES);
	expect_read_only("consumer");
	p = open_role(RINGBUF_ROLE_PRODUCER);
	CHECK(p != NULL);
	CHECK_EQ(ringbuf_consume(p, on_rec, NULL), -EOPNOTSUPP);
	CHECK_EQ(read(go_fd, &ch, 1), 1);
	for (uint32_t i = 0; i < NREC;) {
		int r = ringbuf_output(p, &i, sizeof(i), 0);

		if (r == -EAGAIN) {
			usleep(1000);
			continue;
		}
		CHECK_EQ(r, 0);
		i++;
		if (i % 250 == 0)
			usleep(20000); /* let the consumer fall asleep */
	}
	ringbuf_free(p);
	_exit(0);
}

static void test_two_users(bool by_fd)
{
	char path[256];
	struct ringbuf *rb;
	int pipefd[2], st;
	pid_t cp, pp;
	char ch;

	name_for(by_fd ? "users_fd" : "users");
	rb = create_split(0644, 0644);
	ringbuf_free(rb);
	path_for(path, sizeof(path), "ring");
	CHECK(chown(path, UID_P, UID_P) == 0);
	path_for(path, sizeof(path), "consumer");
	CHECK(chown(path, UID_C, UID_C) == 0);

	CHECK(pipe(pipefd) == 0);
	cp = proc_fork_child(g_parent, 60);
	if (cp == 0) {
		close(pipefd[0]);
		consumer_child(pipefd[1], by_fd);
	}
	close(pipefd[1]);
	CHECK_EQ(read(pipefd[0], &ch, 1), 1); /* the consumer holds the claim */
	close(pipefd[0]);
	CHECK(pipe(pipefd) == 0);
	pp = proc_fork_child(g_parent, 60);
	if (pp == 0) {
		close(pipefd[1]);
		producer_child(pipefd[0]);
	}
	close(pipefd[0]);
	CHECK_EQ(write(pipefd[1], "g", 1), 1);
	close(pipefd[1]);
	st = proc_wait_status(pp, 60, 1000);
	CHECK(proc_exited_with(pp, st, 0));
	st = proc_wait_status(cp, 60, 1000);
	CHECK(proc_exited_with(cp, st, 0));

	rb = open_role(0);
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), ringbuf_query(rb, RINGBUF_PROD_POS));
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), (uint64_t)NREC * 16);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
}

int main(void)
{
	g_parent = getpid();
	test_layout();
	printf("ok   layout\n");
	test_refusals();
	printf("ok   refusals\n");
	test_dead_producer();
	printf("ok   dead producer, consumer-only handle\n");
	if (geteuid() != 0)
		SKIP("the two-user part needs root (chown, setresuid); the rest passed");
	test_two_users(false);
	printf("ok   two users\n");
	test_two_users(true);
	printf("ok   two users, consumer in its own epoll_wait\n");
	return T_PASS;
}
