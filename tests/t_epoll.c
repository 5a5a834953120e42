/* SPDX-License-Identifier: MIT */
/*
 * t_epoll.c -- ringbuf_epoll_fd() and ringbuf_set_watermark().
 *
 * The fd is readable exactly while a notification is owed, so most checks
 * are a poll(fd, 0): no timing.  Cases: argument errors; readiness after
 * adaptive, NO_WAKEUP and FORCE commits and after consume/consume_n; no
 * wakeup system call while the consumer is not armed (ringbuf_stats); a
 * consumer in one process waiting in its own epoll_wait() while a producer
 * in another, attached by name, writes; a consumer that restarts (the
 * producer's cached connection goes stale); the wakeup name: an abstract
 * socket named by the key in the consumer page, a new key for each bind,
 * gone with its consumer (also a killed one), nothing in /dev/shm; the
 * watermark with the fd and with a consumer asleep in ringbuf_poll() in
 * another process.
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "proc.h"
#include "ringbuf.h"
#include "test.h"

static size_t g_page;

struct rec {
	uint32_t seq;
	uint32_t pad;
};

struct sink {
	uint32_t next; /* expected seq */
	uint32_t n;
	int stop_at;   /* return -1 at this record (0: never) */
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct sink *s = ctx;
	struct rec r;

	CHECK_EQ(size, sizeof(r));
	memcpy(&r, data, sizeof(r));
	CHECK_EQ(r.seq, s->next);
	s->next++;
	s->n++;
	if (s->stop_at && (int)s->n == s->stop_at)
		return -1;
	return 0;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, ms);

	CHECK(r >= 0);
	return r == 1 && (p.revents & POLLIN);
}

static uint64_t wakeups(struct ringbuf *rb)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };

	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	return st.wakeups;
}

static void put(struct ringbuf *rb, uint32_t seq, uint64_t flags)
{
	struct rec r = { .seq = seq };

	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), flags), 0);
}

/* The wakeup name the consumer page in @fd at @off names now: the key
 * as hex (as src/wakesock.c formats it); "" while no consumer bound one. */
static void wake_key_at(int fd, off_t off, char *out, size_t len)
{
	struct ringbuf_shm_consumer c;

	CHECK_EQ(pread(fd, &c, sizeof(c), off), (ssize_t)sizeof(c));
	if (!c.wake_key[0] && !c.wake_key[1])
		snprintf(out, len, "%s", "");
	else
		snprintf(out, len, "%016llx%016llx", (unsigned long long)c.wake_key[0],
			 (unsigned long long)c.wake_key[1]);
}

/* ... of a ring in one file (memfd or named). */
static void wake_key(int ring_fd, char *out, size_t len)
{
	wake_key_at(ring_fd, (off_t)g_page * RINGBUF_SHM_CONSUMER_PAGE, out, len);
}

/* ... of the named ring @name, in one file or split. */
static void wake_key_named(const char *name, char *out, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s/consumer", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		wake_key_at(fd, 0, out, len);
	} else {
		snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		wake_key(fd, out, len);
	}
	close(fd);
}

/* Is a socket bound to the abstract name of @key (/proc/net/unix)? */
static bool wake_bound(const char *key)
{
	char line[512], want[80];
	bool found = false;
	FILE *f = fopen("/proc/net/unix", "r");

	CHECK(f);
	CHECK(key[0]);
	snprintf(want, sizeof(want), "@ringbuf-wake.%s", key);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			found = true;
	fclose(f);
	return found;
}

/* Entries of /dev/shm whose name starts with ".ringbuf.": the library
 * makes none. */
static int hidden_wake_files(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, ".ringbuf.", 9);
	closedir(d);
	return n;
}

static void test_errors(void)
{
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf *rb = ringbuf_new(g_page, NULL), *prod;

	CHECK(rb);
	CHECK_ERR(ringbuf_epoll_fd(NULL), EINVAL);
	CHECK_EQ(ringbuf_set_watermark(NULL, 0), -EINVAL);
	CHECK_EQ(ringbuf_set_watermark(rb, g_page - 7), -EINVAL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(ringbuf_set_watermark(rb, g_page - 8), 0);
	CHECK_EQ(ringbuf_set_watermark(rb, 0), 0);
	prod = ringbuf_from_fd(ringbuf_fd(rb), &po);
	CHECK(prod);
	CHECK_EQ(ringbuf_epoll_fd(prod), -EOPNOTSUPP);
	CHECK_EQ(errno, EOPNOTSUPP);
	CHECK_EQ(ringbuf_set_watermark(prod, 64), -EOPNOTSUPP);
	ringbuf_free(prod);
	ringbuf_free(rb);
}

/* One process, a ringbuf_new() ring: readiness follows the kernel's
 * notification rules, and producers make a system call only for an armed
 * consumer. */
static void test_local(void)
{
	struct ringbuf *rb = ringbuf_new(16 * g_page, NULL);
	struct sink s = { 0 };
	char key[40];
	uint32_t seq = 0;
	int fd, hidden = hidden_wake_files();
	void *busy;

	CHECK(rb);
	wake_key(ringbuf_fd(rb), key, sizeof(key));
	CHECK_EQ(key[0], '\0'); /* no consumer bound one yet */
	fd = ringbuf_epoll_fd(rb);
	CHECK(fd >= 0);
	CHECK_EQ(ringbuf_epoll_fd(rb), fd); /* the same fd every time */
	wake_key(ringbuf_fd(rb), key, sizeof(key));
	CHECK(wake_bound(key)); /* an abstract socket named by the key ... */
	CHECK_EQ(hidden_wake_files(), hidden); /* ... and no file */
	CHECK(!readable(fd, 0));

	/* adaptive: the first record wakes, the next ones owe nothing */
	put(rb, seq++, 0);
	CHECK(readable(fd, 0));
	CHECK_EQ(wakeups(rb), 1);
	for (int i = 0; i < 100; i++)
		put(rb, seq++, 0);
	CHECK_EQ(wakeups(rb), 1); /* not armed: no system call */
	for (int i = 0; i < 10; i++)
		put(rb, seq++, RINGBUF_FORCE_WAKEUP);
	CHECK_EQ(wakeups(rb), 1); /* not even for FORCE */
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 111);
	CHECK(!readable(fd, 0));

	/* NO_WAKEUP: nothing; FORCE: always */
	put(rb, seq++, RINGBUF_NO_WAKEUP);
	CHECK(!readable(fd, 0));
	CHECK_EQ(wakeups(rb), 1);
	put(rb, seq++, RINGBUF_FORCE_WAKEUP);
	CHECK(readable(fd, 0));
	CHECK_EQ(wakeups(rb), 2);
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 2);
	CHECK(!readable(fd, 0));

	/* consume_n leaves records: the consumer makes its fd readable itself */
	for (int i = 0; i < 3; i++)
		put(rb, seq++, 0);
	CHECK_EQ(ringbuf_consume_n(rb, on_rec, &s, 2), 2);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume_n(rb, on_rec, &s, 2), 1);
	CHECK(!readable(fd, 0));

	/* a callback that stops early leaves the rest announced */
	for (int i = 0; i < 3; i++)
		put(rb, seq++, 0);
	s.stop_at = (int)s.n + 1;
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), -1);
	s.stop_at = 0;
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 2);
	CHECK(!readable(fd, 0));

	/* a BUSY head: adaptive commits behind it owe nothing; FORCE behind
	 * it does; the head's own commit does */
	busy = ringbuf_reserve(rb, sizeof(struct rec), 0);
	CHECK(busy);
	put(rb, seq + 1, 0);
	CHECK(!readable(fd, 0));
	put(rb, seq + 2, RINGBUF_FORCE_WAKEUP);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 0);
	CHECK(!readable(fd, 0)); /* BUSY head: no spinning */
	((struct rec *)busy)->seq = seq;
	seq += 3;
	ringbuf_submit(busy, 0);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_poll(rb, on_rec, &s, 1000), 3); /* poll waits on the fd */
	CHECK(!readable(fd, 0));
	CHECK_EQ(ringbuf_poll(rb, on_rec, &s, 0), 0);

	/* a fork()ed child that frees its copy of the handle leaves the
	 * parent's name and arming alone */
	{
		pid_t pid = proc_fork_child(getpid(), 30);
		int status;

		if (pid == 0) {
			ringbuf_free(rb);
			_exit(0);
		}
		status = proc_wait_status(pid, 10, 1000);
		CHECK(proc_exited_with(pid, status, 0));
		CHECK(wake_bound(key)); /* the parent's socket is still bound */
		put(rb, seq++, 0);
		CHECK(readable(fd, 0));
		CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 1);
	}

	/* records present when the fd is created make it readable at once */
	ringbuf_free(rb);
	CHECK(!wake_bound(key)); /* the name went with the socket */
	rb = ringbuf_new(16 * g_page, NULL);
	CHECK(rb);
	put(rb, 0, RINGBUF_NO_WAKEUP);
	fd = ringbuf_epoll_fd(rb);
	CHECK(fd >= 0);
	CHECK(readable(fd, 0));
	ringbuf_free(rb);
}

/* The watermark, seen through the fd. */
static void test_watermark_fd(void)
{
	struct ringbuf *rb = ringbuf_new(16 * g_page, NULL);
	struct sink s = { 0 };
	uint32_t seq = 0;
	uint64_t t0;
	int fd;

	CHECK(rb);
	fd = ringbuf_epoll_fd(rb);
	CHECK(fd >= 0);
	CHECK_EQ(ringbuf_set_watermark(rb, 10 * 16), 0); /* ten 16-byte records */
	for (int i = 0; i < 9; i++) {
		put(rb, seq++, 0);
		CHECK(!readable(fd, 0));
	}
	CHECK_EQ(wakeups(rb), 0);
	put(rb, seq++, 0); /* the tenth crosses the watermark */
	CHECK(readable(fd, 0));
	CHECK_EQ(wakeups(rb), 1);
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 10);
	CHECK(!readable(fd, 0));

	/* FORCE wakes below the watermark */
	put(rb, seq++, RINGBUF_FORCE_WAKEUP);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 1);

	/* below it, the poll timeout bounds the latency */
	put(rb, seq++, 0);
	put(rb, seq++, 0);
	CHECK(!readable(fd, 0));
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_poll(rb, on_rec, &s, 100), 2);
	CHECK(t_now_ns() - t0 >= 50 * 1000000ull); /* it did wait */

	/* records left below the watermark are not announced, and poll
	 * sleeps on them until its timeout, with the futex as with the fd */
	for (int i = 0; i < 3; i++)
		put(rb, seq++, 0);
	CHECK_EQ(ringbuf_consume_n(rb, on_rec, &s, 1), 1);
	CHECK(!readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 2);
	{
		struct ringbuf *f = ringbuf_new(16 * g_page, NULL);
		struct sink fs = { 0 };

		CHECK(f);
		CHECK_EQ(ringbuf_set_watermark(f, 4 * 16), 0);
		put(f, 0, 0);
		put(f, 1, 0);
		t0 = t_now_ns();
		CHECK_EQ(ringbuf_poll(f, on_rec, &fs, 100), 2);
		CHECK(t_now_ns() - t0 >= 50 * 1000000ull);
		put(f, 2, 0);
		put(f, 3, 0);
		put(f, 4, 0);
		put(f, 5, 0);
		t0 = t_now_ns();
		CHECK_EQ(ringbuf_poll(f, on_rec, &fs, 10000), 4); /* at once */
		CHECK(t_now_ns() - t0 < 5000 * 1000000ull);
		ringbuf_free(f);
	}

	/* lowering the watermark to what is pending makes it due at once */
	for (int i = 0; i < 4; i++)
		put(rb, seq++, 0);
	CHECK(!readable(fd, 0));
	CHECK_EQ(ringbuf_set_watermark(rb, 4 * 16), 0);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 4);

	/* 0 is the kernel's adaptive rule again */
	CHECK_EQ(ringbuf_set_watermark(rb, 0), 0);
	put(rb, seq++, 0);
	CHECK(readable(fd, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 1);
	ringbuf_free(rb);
}

/* The watermark with the futex: a consumer asleep in ringbuf_poll() in
 * another process is not woken below it, and is at it. */
static void test_watermark_futex(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf *rb = ringbuf_new(16 * g_page, NULL);
	const struct ringbuf_shm_meta *meta;
	int pfd[2], status;
	uint32_t got;
	pid_t pid;

	CHECK(rb);
	CHECK_EQ(pipe(pfd), 0);
	pid = proc_fork_child(getpid(), 30);
	if (pid == 0) {
		struct ringbuf *c = ringbuf_from_fd(ringbuf_fd(rb), &co);
		struct sink s = { 0 };
		int r;

		if (!c || ringbuf_set_watermark(c, 4 * 16))
			_exit(2);
		r = ringbuf_poll(c, on_rec, &s, 20000);
		got = r < 0 ? 0 : (uint32_t)r;
		if (write(pfd[1], &got, sizeof(got)) != sizeof(got))
			_exit(2);
		_exit(0);
	}
	/* the ring's first page is its metadata (ringbuf.h) */
	meta = mmap(NULL, 2 * g_page, PROT_READ, MAP_SHARED, ringbuf_fd(rb), 0);
	CHECK(meta != MAP_FAILED);
	proc_wait_asleep(pid, meta, 1000);
	for (uint32_t i = 0; i < 3; i++)
		put(rb, i, 0);
	CHECK(!proc_read_msg(pfd[0], &got, sizeof(got), 200)); /* still asleep */
	CHECK_EQ(wakeups(rb), 0);
	put(rb, 3, 0);
	CHECK(proc_read_msg(pfd[0], &got, sizeof(got), 5000));
	CHECK_EQ(got, 4);
	CHECK_EQ(wakeups(rb), 1);
	status = proc_wait_status(pid, 10, 1000);
	CHECK(proc_exited_with(pid, status, 0));
	munmap((void *)meta, 2 * g_page);
	close(pfd[0]);
	close(pfd[1]);
	ringbuf_free(rb);
}

/* Producer child for test_named: phase by phase, on a go byte from the
 * parent, writes @per records with random pauses (some NO_WAKEUP, some
 * FORCE, most adaptive). */
static void named_producer(const char *name, int go_fd, int phases, uint32_t per)
{
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf *p = ringbuf_open(name, &po);
	uint64_t rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	uint32_t seq = 0;
	char go;

	if (!p)
		_exit(2);
	for (int ph = 0; ph < phases; ph++) {
		if (read(go_fd, &go, 1) != 1)
			_exit(3);
		for (uint32_t i = 0; i < per; i++) {
			uint64_t r = t_rand(&rnd);
			uint64_t flags = (r & 15) == 0 ? RINGBUF_FORCE_WAKEUP : 0;
			struct rec rec = { .seq = seq };

			while (ringbuf_output(p, &rec, sizeof(rec), flags) == -EAGAIN)
				usleep(100);
			seq++;
			if ((r >> 8 & 7) == 0)
				usleep((useconds_t)(r >> 16 & 511));
		}
	}
	ringbuf_free(p);
	_exit(0);
}

/* Receive @n records through @rb's fd in our own epoll; a wait that times
 * out while records are owed is a lost wakeup. */
static void named_consume(struct ringbuf *rb, struct sink *s, uint32_t n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ringbuf_epoll_fd(rb);
	struct epoll_event ev = { .events = EPOLLIN };

	CHECK(ep >= 0 && fd >= 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	while (s->n < n) {
		int r = epoll_wait(ep, &ev, 1, 5000);

		if (r == 0)
			fprintf(stderr, "no wakeup with %u of %u records received\n", s->n, n);
		CHECK_EQ(r, 1);
		CHECK(ringbuf_consume(rb, on_rec, s) >= 0);
	}
	close(ep);
}

/* A consumer and a producer in two processes attached by name; the
 * consumer then restarts (new handle, new socket) under the same producer.
 * @flags: 0, or RINGBUF_F_SPLIT (the ring's two files). */
static void test_named(uint64_t flags)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .flags = flags, .mode = 0640,
				   .role = RINGBUF_ROLE_CONSUMER };
	const char *name = "t_epoll_named";
	const uint32_t per = 20000;
	struct sink s = { 0 };
	struct ringbuf *rb;
	char key[40], key2[40];
	int go[2], status;
	uint64_t w;
	pid_t pid;

	ringbuf_unlink(name);
	rb = ringbuf_create(name, 16 * g_page, &co);
	CHECK(rb);
	CHECK(ringbuf_epoll_fd(rb) >= 0);
	wake_key_named(name, key, sizeof(key));
	CHECK(wake_bound(key));
	CHECK_EQ(pipe(go), 0);
	pid = proc_fork_child(getpid(), 60);
	if (pid == 0)
		named_producer(name, go[0], 2, per);
	CHECK_EQ(write(go[1], "g", 1), 1);
	named_consume(rb, &s, per);
	w = wakeups(rb);
	CHECK(w >= 1 && w <= per);

	/* restart: the producer's connection is to a socket that is gone */
	ringbuf_free(rb); /* (the forked producer still holds a copy of the
			   * old socket, so its name may stay bound) */
	co.flags = 0; /* ringbuf_open() takes the layout from the ring */
	rb = ringbuf_open(name, &co);
	if (!rb)
		fprintf(stderr, "reopening the consumer: %s\n", strerror(errno));
	CHECK(rb);
	CHECK(ringbuf_epoll_fd(rb) >= 0); /* before the producer's next phase */
	wake_key_named(name, key2, sizeof(key2));
	CHECK(strcmp(key, key2) != 0); /* a new name for each bind */
	CHECK(wake_bound(key2));
	CHECK_EQ(write(go[1], "g", 1), 1);
	named_consume(rb, &s, 2 * per);
	CHECK_EQ(s.next, 2 * per);
	status = proc_wait_status(pid, 30, 1000);
	CHECK(proc_exited_with(pid, status, 0));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 0);
	close(go[0]);
	close(go[1]);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK(wake_bound(key2)); /* a live consumer keeps its name */
	ringbuf_free(rb);
	CHECK(!wake_bound(key2));
}

/* A consumer killed in fd mode leaves nothing: its name goes with its
 * socket; the next consumer binds under a new key and is woken through
 * it.  No name can be predicted from what any user can stat. */
static void test_stale_names(void)
{
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	const char *name = "t_epoll_stale";
	struct sink s = { 0 };
	struct ringbuf *rb;
	char key[40], key2[40];
	int sync[2], status, fd, hidden = hidden_wake_files();
	pid_t pid;

	ringbuf_unlink(name);
	rb = ringbuf_create(name, 4 * g_page, NULL);
	CHECK(rb);
	CHECK_EQ(pipe(sync), 0);
	key2[0] = '\0';
	for (int round = 0; round < 2; round++) {
		pid = proc_fork_child(getpid(), 30);
		if (pid == 0) {
			struct ringbuf *c = ringbuf_open(name, &co);

			if (!c || ringbuf_epoll_fd(c) < 0 || write(sync[1], "r", 1) != 1)
				_exit(2);
			pause();
			_exit(0);
		}
		CHECK(proc_read_msg(sync[0], &(char){ 0 }, 1, 5000));
		wake_key_named(name, key, sizeof(key));
		CHECK(wake_bound(key));
		CHECK(strcmp(key, key2) != 0);
		kill(pid, SIGKILL);
		status = proc_wait_status(pid, 10, 1000);
		CHECK(WIFSIGNALED(status));
		CHECK(!wake_bound(key)); /* nothing left behind */
		memcpy(key2, key, sizeof(key));
	}
	/* the next consumer binds its own and is woken through it */
	fd = ringbuf_epoll_fd(rb);
	CHECK(fd >= 0);
	wake_key_named(name, key, sizeof(key));
	CHECK(strcmp(key, key2) != 0 && wake_bound(key));
	put(rb, 0, 0);
	CHECK(readable(fd, 1000));
	CHECK_EQ(ringbuf_consume(rb, on_rec, &s), 1);
	ringbuf_free(rb);
	CHECK(!wake_bound(key));
	CHECK_EQ(hidden_wake_files(), hidden);
	CHECK_EQ(ringbuf_unlink(name), 0);
	close(sync[0]);
	close(sync[1]);
}

/* Producer threads of one process sharing one handle (its cached
 * connection and lock), against a consumer waiting in epoll_wait(): no
 * lost wakeup, every record once, in order per producer. */
#define T_THREADS 4
#define T_PER     20000

struct thr {
	struct ringbuf *rb;
	uint32_t id;
};

static void *thr_main(void *p)
{
	struct thr *t = p;
	uint64_t rnd = 0x2545f4914f6cdd1dull * (t->id + 1);

	for (uint32_t i = 0; i < T_PER; i++) {
		struct rec r = { .seq = i, .pad = t->id };
		uint64_t flags = (t_rand(&rnd) & 31) == 0 ? RINGBUF_FORCE_WAKEUP : 0;

		while (ringbuf_output(t->rb, &r, sizeof(r), flags) == -EAGAIN)
			sched_yield();
	}
	return NULL;
}

static int on_thr_rec(void *ctx, void *data, size_t size)
{
	uint32_t *next = ctx;
	struct rec r;

	CHECK_EQ(size, sizeof(r));
	memcpy(&r, data, sizeof(r));
	CHECK(r.pad < T_THREADS);
	CHECK_EQ(r.seq, next[r.pad]);
	next[r.pad]++;
	return 0;
}

static void test_threads(void)
{
	struct ringbuf *rb = ringbuf_new(4 * g_page, NULL);
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t next[T_THREADS] = { 0 };
	struct thr t[T_THREADS];
	pthread_t tid[T_THREADS];
	uint64_t got = 0;
	int ep, fd;

	CHECK(rb);
	fd = ringbuf_epoll_fd(rb);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(fd >= 0 && ep >= 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	for (uint32_t i = 0; i < T_THREADS; i++) {
		t[i] = (struct thr){ .rb = rb, .id = i };
		CHECK_EQ(pthread_create(&tid[i], NULL, thr_main, &t[i]), 0);
	}
	while (got < (uint64_t)T_THREADS * T_PER) {
		int r = epoll_wait(ep, &ev, 1, 5000);

		if (r == 0)
			fprintf(stderr, "no wakeup with %llu records received\n",
				(unsigned long long)got);
		CHECK_EQ(r, 1);
		r = ringbuf_consume(rb, on_thr_rec, next);
		CHECK(r >= 0);
		got += (uint64_t)r;
	}
	for (int i = 0; i < T_THREADS; i++)
		CHECK_EQ(pthread_join(tid[i], NULL), 0);
	for (int i = 0; i < T_THREADS; i++)
		CHECK_EQ(next[i], T_PER);
	CHECK_EQ(ringbuf_consume(rb, on_thr_rec, next), 0);
	close(ep);
	ringbuf_free(rb);
}

int main(void)
{
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill us: none may happen */
	test_errors();
	test_local();
	test_watermark_fd();
	test_watermark_futex();
	test_named(0);
	test_named(RINGBUF_F_SPLIT);
	test_stale_names();
	test_threads();
	printf("t_epoll: ok\n");
	return 0;
}
