/* SPDX-License-Identifier: MIT */
/*
 * t_process -- rings shared between processes.
 *
 *   (a) fork: the child produces through the inherited handle, the parent
 *       consumes; exact records, and the ring survives the child's free.
 *   (b) fd passing over SCM_RIGHTS: the child attaches with
 *       ringbuf_from_fd() and produces; the child consumes; the child
 *       creates, produces and exits before the parent has consumed.
 *   (c) cross-process wakeup: a consumer asleep in ringbuf_poll(-1) is woken
 *       by an adaptive record when caught up, by FORCE_WAKEUP, and is NOT
 *       woken by NO_WAKEUP records or by adaptive records while behind.
 *   (d) ringbuf_from_fd() on bad files: EBADF, EPROTO, EPROTONOSUPPORT.
 *   (e) the reservation lock held by a process that died (reaped, or still a
 *       zombie of the producing process) is taken over; one held by a live
 *       process is not.
 */
#include "ringbuf.h"
#include "test.h"
#include "proc.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA_PAGES 16 /* ring data size in pages */
#define TAG_QUIT   0x51554954u

static size_t g_page;

/* ------------------------------------------------------------------------
 * Records: u32 tag, u32 seq, then a pattern derived from (tag, seq).
 * ------------------------------------------------------------------------ */

static size_t rec_size(uint32_t seq)
{
	return 8 + (size_t)((seq * 37u) % 500u);
}

static uint8_t rec_byte(uint32_t tag, uint32_t seq, size_t k)
{
	return (uint8_t)(tag * 7u + seq * 31u + (uint32_t)k * 13u + (uint32_t)(k >> 8));
}

static void rec_fill(uint8_t *buf, uint32_t tag, uint32_t seq, size_t size)
{
	memcpy(buf, &tag, 4);
	memcpy(buf + 4, &seq, 4);
	for (size_t k = 8; k < size; k++)
		buf[k] = rec_byte(tag, seq, k);
}

struct cstate {
	uint32_t tag;
	uint32_t next; /* expected seq of the next record */
	bool quit;
};

/* Checks each record exactly: tag, consecutive seq, size, every byte. */
static int exact_cb(void *ctx, void *data, size_t size)
{
	struct cstate *st = ctx;
	const uint8_t *b = data;
	uint32_t tag, seq;

	CHECK(size >= 8);
	memcpy(&tag, b, 4);
	memcpy(&seq, b + 4, 4);
	if (tag == TAG_QUIT) {
		st->quit = true;
		return 0;
	}
	CHECK_EQ(tag, st->tag);
	CHECK_EQ(seq, st->next);
	CHECK_EQ(size, rec_size(seq));
	for (size_t k = 8; k < size; k++)
		if (b[k] != rec_byte(tag, seq, k)) {
			fprintf(stderr, "record %u byte %zu: %#x != %#x\n", seq, k, b[k],
				rec_byte(tag, seq, k));
			CHECK(!"record payload intact");
		}
	st->next++;
	return 0;
}

/* Produce records seq 0..n-1 of @tag, mixing output and reserve+submit,
 * retrying on -EAGAIN; fails after 20 s without progress. */
static void produce_n(struct ringbuf *rb, uint32_t tag, uint32_t n)
{
	uint8_t buf[600];

	for (uint32_t seq = 0; seq < n; seq++) {
		size_t size = rec_size(seq);
		uint64_t t0 = t_now_ns();
		uint64_t flags = (seq % 3 == 0) ? 0 : (seq % 3 == 1) ? RINGBUF_NO_WAKEUP
								     : RINGBUF_FORCE_WAKEUP;
		for (;;) {
			if (seq % 2 == 0) {
				rec_fill(buf, tag, seq, size);
				long r = ringbuf_output(rb, buf, size, flags);
				if (r == 0)
					break;
				CHECK_EQ(r, -EAGAIN);
			} else {
				void *p = ringbuf_reserve(rb, size, 0);
				if (p) {
					CHECK_EQ((uintptr_t)p % 8, 0);
					rec_fill(p, tag, seq, size);
					ringbuf_submit(p, flags);
					break;
				}
				CHECK_EQ(errno, EAGAIN);
			}
			CHECK(t_now_ns() - t0 < 20000000000ull);
			sched_yield();
		}
	}
}

/* Consume until @n records of @tag arrived (20 s at most). */
static void consume_exact(struct ringbuf *rb, uint32_t tag, uint32_t n)
{
	struct cstate st = { .tag = tag };
	uint64_t t0 = t_now_ns();

	while (st.next < n) {
		int r = ringbuf_poll(rb, exact_cb, &st, 10);
		CHECK(r >= 0);
		if (t_now_ns() - t0 > 20000000000ull) {
			fprintf(stderr, "got %u of %u records\n", st.next, n);
			CHECK(!"all records arrive in time");
		}
	}
	CHECK_EQ(st.next, n);
	CHECK_EQ(ringbuf_consume(rb, exact_cb, &st), 0); /* nothing extra */
	CHECK_EQ(st.next, n);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
}

/* ------------------------------------------------------------------------
 * Processes
 * ------------------------------------------------------------------------ */

static pid_t g_parent;

/* In a child: die with the parent, and never outlive a hung test. */
static pid_t fork_child(void)
{
	return proc_fork_child(g_parent, 60);
}

/* Wait for @pid to exit 0, killing it after @secs. */
static void wait_ok(pid_t pid, int secs)
{
	if (!proc_exited_with(pid, proc_wait_status(pid, secs, 1000), 0))
		CHECK(!"child succeeded");
}

static void send_fd(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	memset(&u, 0, sizeof(u));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	CHECK_EQ(sendmsg(sock, &msg, 0), 1);
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int fd = -1;

	CHECK_EQ(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC), 1);
	CHECK_EQ(byte, 'F');
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_level, SOL_SOCKET);
	CHECK_EQ(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	CHECK(fd >= 0);
	return fd;
}

/* Attach to a received ring fd and check the ownership rules of from_fd. */
static struct ringbuf *attach(int fd)
{
	struct ringbuf *rb = ringbuf_from_fd(fd, NULL);
	CHECK(rb != NULL);
	CHECK(ringbuf_fd(rb) >= 0);
	CHECK(ringbuf_fd(rb) != fd); /* duplicated */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), DATA_PAGES * g_page);
	return rb;
}

/* (a) fork: the child produces with the inherited handle. */
static void test_fork(void)
{
	const uint32_t n = 3000, tag = 0xA;
	struct ringbuf *rb = ringbuf_new(DATA_PAGES * g_page, NULL);
	CHECK(rb != NULL);

	pid_t pid = fork_child();
	if (pid == 0) {
		produce_n(rb, tag, n);
		ringbuf_free(rb); /* must not disturb the parent */
		_exit(0);
	}
	consume_exact(rb, tag, n);
	wait_ok(pid, 30);

	/* The parent's ring is intact after the child's free and exit. */
	produce_n(rb, tag + 1, 5);
	consume_exact(rb, tag + 1, 5);

	/* The reverse: the child consumes, the parent produces. */
	pid = fork_child();
	if (pid == 0) {
		consume_exact(rb, tag + 2, n);
		_exit(0);
	}
	produce_n(rb, tag + 2, n);
	wait_ok(pid, 30);
	ringbuf_free(rb);
	printf("fork: %u records each way\n", n);
}

/* (b) SCM_RIGHTS: the child did not inherit the ring, only the fd. */
static void test_fd_passing(void)
{
	const uint32_t n = 3000;
	int sv[2];

	/* b1: parent creates and consumes; child attaches and produces. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork_child();
	if (pid == 0) {
		close(sv[0]);
		int fd = recv_fd(sv[1]);
		struct ringbuf *rb = attach(fd);
		CHECK_EQ(close(fd), 0); /* the handle has its own fd */
		produce_n(rb, 0xB1, n);
		ringbuf_free(rb);
		_exit(0);
	}
	close(sv[1]);
	struct ringbuf *rb = ringbuf_new(DATA_PAGES * g_page, NULL);
	CHECK(rb != NULL);
	send_fd(sv[0], ringbuf_fd(rb));
	consume_exact(rb, 0xB1, n);
	wait_ok(pid, 30);
	close(sv[0]);

	/* b2: the same ring; the child attaches and consumes, the parent
	 * produces. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork_child();
	if (pid == 0) {
		close(sv[0]);
		ringbuf_free(rb); /* drop the inherited handle: use only the fd */
		int fd = recv_fd(sv[1]);
		struct ringbuf *c = attach(fd);
		consume_exact(c, 0xB2, n);
		ringbuf_free(c);
		/* the caller keeps ownership of the fd it passed in */
		CHECK(fcntl(fd, F_GETFD) >= 0);
		CHECK_EQ(close(fd), 0);
		_exit(0);
	}
	close(sv[1]);
	send_fd(sv[0], ringbuf_fd(rb));
	produce_n(rb, 0xB2, n);
	wait_ok(pid, 30);
	close(sv[0]);
	ringbuf_free(rb);

	/* b3: the child creates the ring, passes it, produces and exits
	 * (freeing its handle) before the parent consumes anything. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork_child();
	if (pid == 0) {
		close(sv[0]);
		struct ringbuf *c = ringbuf_new(DATA_PAGES * g_page, NULL);
		CHECK(c != NULL);
		send_fd(sv[1], ringbuf_fd(c));
		produce_n(c, 0xB3, 40); /* fits without a consumer */
		ringbuf_free(c);
		_exit(0);
	}
	close(sv[1]);
	int fd = recv_fd(sv[0]);
	wait_ok(pid, 30);
	rb = attach(fd);
	CHECK_EQ(close(fd), 0);
	consume_exact(rb, 0xB3, 40);
	ringbuf_free(rb);
	close(sv[0]);
	printf("fd passing: ok\n");
}

/* ------------------------------------------------------------------------
 * (c) cross-process wakeup
 * ------------------------------------------------------------------------ */

struct wmsg {
	int ret;        /* ringbuf_poll()'s return */
	uint32_t total; /* records received so far */
};

/* Wait until the consumer @pid is asleep in ringbuf_poll(). */
static void wait_asleep(pid_t pid, const struct ringbuf_shm_meta *meta)
{
	proc_wait_asleep(pid, meta, 2000);
}

/* Read one message within @ms, or return false. */
static bool read_msg(int fd, struct wmsg *m, int ms)
{
	return proc_read_msg(fd, m, sizeof(*m), ms);
}

static void expect_wake(int fd, int ret, uint32_t total, const char *what)
{
	struct wmsg m;
	if (!read_msg(fd, &m, 5000)) {
		fprintf(stderr, "not woken: %s\n", what);
		CHECK(!"consumer woken");
	}
	if (m.ret != ret || m.total != total)
		fprintf(stderr, "%s: poll returned %d, total %u\n", what, m.ret, m.total);
	CHECK_EQ(m.ret, ret);
	CHECK_EQ(m.total, total);
}

static void expect_asleep(int fd, pid_t pid, const char *what)
{
	struct wmsg m;
	if (read_msg(fd, &m, 150)) {
		fprintf(stderr, "woken by %s: poll returned %d, total %u\n", what, m.ret,
			m.total);
		CHECK(!"consumer stays asleep");
	}
	CHECK_EQ(proc_state(pid), 'S');
}

static void out_rec(struct ringbuf *rb, uint32_t tag, uint32_t seq, uint64_t flags)
{
	uint8_t buf[600];
	size_t size = rec_size(seq);
	rec_fill(buf, tag, seq, size);
	CHECK_EQ(ringbuf_output(rb, buf, size, flags), 0);
}

static void *res_rec(struct ringbuf *rb, uint32_t tag, uint32_t seq)
{
	size_t size = rec_size(seq);
	void *p = ringbuf_reserve(rb, size, 0);
	CHECK(p != NULL);
	rec_fill(p, tag, seq, size);
	return p;
}

static void wake_child(struct ringbuf *rb, int wfd)
{
	struct cstate st = { .tag = 0xC };
	struct wmsg m;

	/* Drain first, so that the next poll has seen the ring empty. */
	m.ret = ringbuf_consume(rb, exact_cb, &st);
	m.total = st.next;
	CHECK_EQ(write(wfd, &m, sizeof(m)), sizeof(m));
	for (;;) {
		m.ret = ringbuf_poll(rb, exact_cb, &st, -1);
		m.total = st.next;
		CHECK_EQ(write(wfd, &m, sizeof(m)), sizeof(m));
		if (st.quit)
			_exit(0);
		CHECK(m.ret >= 0);
	}
}

/* @attach: the consumer child maps the ring anew with ringbuf_from_fd()
 * (another address than the producer's), else it uses the inherited
 * handle. */
static void test_wakeup(bool by_fd)
{
	const uint32_t tag = 0xC;
	int pfd[2];
	struct wmsg m;

	struct ringbuf *rb = ringbuf_new(DATA_PAGES * g_page, NULL);
	CHECK(rb != NULL);
	const struct ringbuf_shm_meta *meta =
		mmap(NULL, 2 * g_page, PROT_READ, MAP_SHARED, ringbuf_fd(rb), 0);
	CHECK(meta != MAP_FAILED);
	CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);

	pid_t pid = fork_child();
	if (pid == 0) {
		close(pfd[0]);
		if (by_fd) {
			/* attach while the inherited mapping still exists, so the
			 * new one is at another address; then drop the old one */
			struct ringbuf *mine = attach(ringbuf_fd(rb));
			munmap((void *)meta, 2 * g_page);
			ringbuf_free(rb);
			rb = mine;
		}
		wake_child(rb, pfd[1]);
		_exit(4);
	}
	close(pfd[1]);
	CHECK(read_msg(pfd[0], &m, 5000));
	CHECK_EQ(m.ret, 0);
	CHECK_EQ(m.total, 0);

	/* 1. adaptive record, consumer caught up: woken. */
	wait_asleep(pid, meta);
	out_rec(rb, tag, 0, 0);
	expect_wake(pfd[0], 1, 1, "adaptive output, caught up");

	/* 2. NO_WAKEUP: stays asleep; then FORCE_WAKEUP wakes it. */
	wait_asleep(pid, meta);
	out_rec(rb, tag, 1, RINGBUF_NO_WAKEUP);
	expect_asleep(pfd[0], pid, "NO_WAKEUP output");
	void *p = res_rec(rb, tag, 2);
	ringbuf_submit(p, RINGBUF_NO_WAKEUP);
	expect_asleep(pfd[0], pid, "NO_WAKEUP submit");
	out_rec(rb, tag, 3, RINGBUF_FORCE_WAKEUP);
	expect_wake(pfd[0], 3, 4, "FORCE_WAKEUP output");

	/* 3. adaptive while behind (a NO_WAKEUP record is in front): no
	 * wakeup is owed; FORCE submit wakes. */
	wait_asleep(pid, meta);
	out_rec(rb, tag, 4, RINGBUF_NO_WAKEUP);
	out_rec(rb, tag, 5, 0);
	expect_asleep(pfd[0], pid, "adaptive output while behind");
	p = res_rec(rb, tag, 6);
	ringbuf_submit(p, 0);
	expect_asleep(pfd[0], pid, "adaptive submit while behind");
	p = res_rec(rb, tag, 7);
	ringbuf_submit(p, RINGBUF_FORCE_WAKEUP);
	expect_wake(pfd[0], 4, 8, "FORCE_WAKEUP submit");

	/* 4. adaptive submit, caught up: woken. */
	wait_asleep(pid, meta);
	p = res_rec(rb, tag, 8);
	ringbuf_submit(p, 0);
	expect_wake(pfd[0], 1, 9, "adaptive submit, caught up");

	/* 5. a record committed *before* the wait, adaptively, by another
	 * process, while the consumer was caught up: then NO_WAKEUP noise. */
	wait_asleep(pid, meta);
	p = res_rec(rb, tag, 9);           /* BUSY at the consumer position */
	out_rec(rb, tag, 10, RINGBUF_NO_WAKEUP); /* behind it */
	expect_asleep(pfd[0], pid, "NO_WAKEUP behind a BUSY record");
	ringbuf_submit(p, 0); /* the consumer waits at this record: wake */
	expect_wake(pfd[0], 2, 11, "adaptive submit of the head record");

	/* 6. FORCE discard: a wakeup with nothing to deliver.  ringbuf_poll
	 * may return 0 or keep sleeping; if it returns, it delivered nothing. */
	wait_asleep(pid, meta);
	p = ringbuf_reserve(rb, 16, 0);
	CHECK(p != NULL);
	ringbuf_discard(p, RINGBUF_FORCE_WAKEUP);
	if (read_msg(pfd[0], &m, 500)) {
		CHECK_EQ(m.ret, 0);
		CHECK_EQ(m.total, 11);
	}

	/* 7. quit. */
	wait_asleep(pid, meta);
	uint8_t q[8];
	uint32_t qt = TAG_QUIT, qs = 0;
	memcpy(q, &qt, 4);
	memcpy(q + 4, &qs, 4);
	CHECK_EQ(ringbuf_output(rb, q, sizeof(q), 0), 0);
	expect_wake(pfd[0], 1, 11, "adaptive quit record");
	wait_ok(pid, 10);

	close(pfd[0]);
	munmap((void *)meta, 2 * g_page);
	ringbuf_free(rb);
	printf("wakeup (%s): ok\n", by_fd ? "consumer attached by fd" : "inherited handle");
}

/* ------------------------------------------------------------------------
 * (d) ringbuf_from_fd errors
 * ------------------------------------------------------------------------ */

static void expect_attach_err(int fd, int err, const char *what)
{
	errno = 0;
	struct ringbuf *rb = ringbuf_from_fd(fd, NULL);
	if (rb != NULL || errno != err)
		fprintf(stderr, "from_fd(%s): %p, errno %d (%s), want %d (%s)\n", what,
			(void *)rb, errno, strerror(errno), err, strerror(err));
	CHECK(rb == NULL);
	CHECK_EQ(errno, err);
}

/* A copy of a fresh ring's file: its meta page, edited by @edit, in a memfd
 * of @size bytes with the seals of @seals. */
static int fake_ring(const struct ringbuf_shm_meta *meta, off_t size, int seals)
{
	int fd = memfd_create("t_process-fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, size), 0);
	CHECK_EQ(pwrite(fd, meta, sizeof(*meta), 0), sizeof(*meta));
	if (seals)
		CHECK_EQ(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void test_from_fd_errors(void)
{
	const size_t ds = DATA_PAGES * g_page;
	const off_t fsize = (off_t)(3 * g_page + ds);

	/* EBADF */
	expect_attach_err(-1, EBADF, "-1");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(close(fd), 0);
	expect_attach_err(fd, EBADF, "closed fd");

	/* bad opts */
	struct ringbuf *rb = ringbuf_new(ds, NULL);
	CHECK(rb != NULL);
	struct ringbuf_opts bad = { .sz = sizeof(bad), .flags = 1 };
	CHECK_NULL_ERR(ringbuf_from_fd(ringbuf_fd(rb), &bad), EINVAL);

	/* The real ring's meta page and seals: the template. */
	struct ringbuf_shm_meta good;
	CHECK_EQ(pread(ringbuf_fd(rb), &good, sizeof(good), 0), sizeof(good));
	CHECK_EQ(good.magic, RINGBUF_MAGIC);
	CHECK_EQ(good.version, RINGBUF_LAYOUT_VERSION);
	CHECK_EQ(good.page_size, g_page);
	CHECK_EQ(good.data_size, ds);
	struct stat stt;
	CHECK_EQ(fstat(ringbuf_fd(rb), &stt), 0);
	CHECK_EQ(stt.st_size, fsize);
	int seals = fcntl(ringbuf_fd(rb), F_GET_SEALS);
	CHECK(seals >= 0);
	CHECK(seals & F_SEAL_SHRINK);
	ringbuf_free(rb);

	/* Control: an exact copy attaches and works. */
	fd = fake_ring(&good, fsize, seals);
	rb = ringbuf_from_fd(fd, NULL);
	CHECK(rb != NULL);
	produce_n(rb, 0xD, 10);
	consume_exact(rb, 0xD, 10);
	ringbuf_free(rb);
	close(fd);

	/* A regular file, empty and sized like a ring. */
	char path[] = "/tmp/t_process-XXXXXX";
	fd = mkostemp(path, O_CLOEXEC);
	CHECK(fd >= 0);
	unlink(path);
	expect_attach_err(fd, EPROTO, "empty regular file");
	CHECK_EQ(ftruncate(fd, fsize), 0);
	expect_attach_err(fd, EPROTO, "zero regular file");
	CHECK_EQ(pwrite(fd, &good, sizeof(good), 0), sizeof(good));
	expect_attach_err(fd, EPROTO, "regular file with a ring's meta (no seals)");
	close(fd);

	/* A plain memfd, unsealed, zero-filled and ring-sized. */
	fd = memfd_create("t_process-plain", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, fsize), 0);
	expect_attach_err(fd, EPROTO, "plain memfd");
	close(fd);
	fd = memfd_create("t_process-plain", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 12345), 0);
	expect_attach_err(fd, EPROTO, "plain memfd of odd size");
	close(fd);

	/* Sealed, but zero. */
	struct ringbuf_shm_meta zero;
	memset(&zero, 0, sizeof(zero));
	fd = fake_ring(&zero, fsize, seals);
	expect_attach_err(fd, EPROTO, "sealed zero memfd");
	close(fd);

	struct ringbuf_shm_meta m;

	m = good;
	m.version = RINGBUF_LAYOUT_VERSION + 1;
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTONOSUPPORT, "version + 1");
	close(fd);

	m = good;
	m.magic ^= 1;
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTO, "wrong magic");
	close(fd);

	m = good;
	m.data_size = 2 * ds; /* file sized for ds */
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTO, "data_size larger than the file");
	close(fd);

	m = good;
	m.data_size = ds / 2;
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTO, "data_size smaller than the file");
	close(fd);

	m = good;
	m.data_size = 3 * g_page; /* consistent size, not a power of two */
	fd = fake_ring(&m, (off_t)(6 * g_page), seals);
	expect_attach_err(fd, EPROTO, "data_size not a power of two");
	close(fd);

	m = good;
	m.data_size = 0;
	fd = fake_ring(&m, (off_t)(3 * g_page), seals);
	expect_attach_err(fd, EPROTO, "data_size 0");
	close(fd);

	m = good;
	m.data_size = 1ULL << 62; /* 3P + data_size overflows nothing, fits no file */
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTO, "huge data_size");
	close(fd);

	m = good;
	m.data_size = (uint64_t)-(int64_t)(3 * g_page); /* 3P + data_size wraps to 0 */
	fd = fake_ring(&m, 0, seals);
	expect_attach_err(fd, EPROTO, "data_size wrapping the file size");
	close(fd);

	m = good;
	m.page_size = (uint32_t)g_page * 2;
	fd = fake_ring(&m, fsize, seals);
	expect_attach_err(fd, EPROTO, "page_size of another system");
	close(fd);

	/* Right contents, wrong size. */
	fd = fake_ring(&good, fsize + (off_t)g_page, seals);
	expect_attach_err(fd, EPROTO, "file one page too long");
	close(fd);
	fd = fake_ring(&good, fsize - (off_t)g_page, seals);
	expect_attach_err(fd, EPROTO, "file one page too short");
	close(fd);

	/* Right contents and size, not sealed against shrinking. */
	fd = fake_ring(&good, fsize, seals & ~F_SEAL_SHRINK);
	expect_attach_err(fd, EPROTO, "no F_SEAL_SHRINK");
	close(fd);
	fd = fake_ring(&good, fsize, 0);
	expect_attach_err(fd, EPROTO, "no seals");
	close(fd);

	printf("from_fd errors: ok\n");
}

/* ------------------------------------------------------------------------
 * (e) the reservation lock and dead holders
 * ------------------------------------------------------------------------ */

/* A process dies holding the lock: it writes its pid into lock_owner (as
 * rb_lock would) and exits without unlocking. */
static pid_t die_holding_lock(struct ringbuf_shm_meta *meta)
{
	pid_t pid = fork_child();
	if (pid == 0) {
		uint32_t free_ = 0;
		CHECK(__atomic_compare_exchange_n(&meta->lock_owner, &free_, (uint32_t)getpid(),
						  false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
		_exit(0);
	}
	return pid;
}

static void wait_zombie(pid_t pid)
{
	uint64_t t0 = t_now_ns();
	while (proc_state(pid) != 'Z') {
		CHECK(t_now_ns() - t0 < 5000000000ull);
		usleep(1000);
	}
}

static void test_dead_lock_holder(void)
{
	struct ringbuf *rb = ringbuf_new(DATA_PAGES * g_page, NULL);
	CHECK(rb != NULL);
	struct ringbuf_shm_meta *meta =
		mmap(NULL, g_page, PROT_READ | PROT_WRITE, MAP_SHARED, ringbuf_fd(rb), 0);
	CHECK(meta != MAP_FAILED);
	uint64_t steals = meta->lock_steals;

	/* e1: the holder died and was reaped. */
	pid_t dead = die_holding_lock(meta);
	wait_ok(dead, 10);
	CHECK_EQ(meta->lock_owner, (uint32_t)dead);
	pid_t prod = fork_child();
	if (prod == 0) {
		produce_n(rb, 0xE1, 1);
		_exit(0);
	}
	wait_ok(prod, 10);
	CHECK_EQ(meta->lock_owner, 0);
	CHECK_EQ(meta->lock_steals, steals + 1);
	consume_exact(rb, 0xE1, 1);

	/* e2: a live holder keeps the lock; when it dies, it is taken over. */
	pid_t live = fork_child();
	if (live == 0) {
		uint32_t free_ = 0;
		CHECK(__atomic_compare_exchange_n(&meta->lock_owner, &free_, (uint32_t)getpid(),
						  false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
		pause();
		_exit(0);
	}
	while (__atomic_load_n(&meta->lock_owner, __ATOMIC_ACQUIRE) != (uint32_t)live)
		usleep(1000);
	prod = fork_child();
	if (prod == 0) {
		produce_n(rb, 0xE2, 1);
		_exit(0);
	}
	usleep(200000); /* far longer than any liveness check interval */
	int status;
	CHECK_EQ(waitpid(prod, &status, WNOHANG), 0); /* still waiting for the lock */
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(meta->lock_steals, steals + 1);
	CHECK_EQ(kill(live, SIGKILL), 0);
	CHECK_EQ(waitpid(live, &status, 0), live);
	wait_ok(prod, 10);
	CHECK_EQ(meta->lock_owner, 0);
	CHECK_EQ(meta->lock_steals, steals + 2);
	consume_exact(rb, 0xE2, 1);

	/* e3: the holder is a dead child of the producer itself, not yet
	 * reaped (a zombie): the producer cannot reap it while it waits for
	 * the lock, so the lock must be taken over all the same. */
	pid_t prod3 = fork_child();
	if (prod3 == 0) {
		g_parent = getpid();
		pid_t z = die_holding_lock(meta);
		wait_zombie(z);
		CHECK_EQ(meta->lock_owner, (uint32_t)z);
		produce_n(rb, 0xE3, 1); /* must not wait for ever */
		_exit(0);
	}
	uint64_t t0 = t_now_ns();
	for (;;) {
		pid_t w = waitpid(prod3, &status, WNOHANG);
		CHECK(w >= 0);
		if (w == prod3)
			break;
		if (t_now_ns() - t0 > 5000000000ull) {
			fprintf(stderr, "lock_owner %u (a zombie), lock_steals %llu: the producer "
					"still waits after 5 s\n",
				meta->lock_owner, (unsigned long long)meta->lock_steals);
			kill(prod3, SIGKILL);
			waitpid(prod3, &status, 0);
			/* its zombie child is reparented to us (subreaper) */
			while (waitpid(-1, &status, WNOHANG) > 0)
				;
			CHECK(!"a lock held by a dead (zombie) process is taken over");
		}
		usleep(1000);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(meta->lock_owner, 0);
	CHECK_EQ(meta->lock_steals, steals + 3);
	consume_exact(rb, 0xE3, 1);

	munmap(meta, g_page);
	ringbuf_free(rb);
	printf("dead lock holders: ok\n");
}

int main(void)
{
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	g_parent = getpid();
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of failed children: ours to reap */

	test_from_fd_errors();
	test_fork();
	test_fd_passing();
	test_wakeup(false);
	test_wakeup(true);
	test_dead_lock_holder();
	return T_PASS;
}
