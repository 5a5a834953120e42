/* SPDX-License-Identifier: MIT */
/*
 * t_names -- named rings (ringbuf_create/open/unlink), roles and the
 * consumer claim.
 *
 *   (a) create/open/unlink: the file /dev/shm/ringbuf.NAME and its mode,
 *       EEXIST leaving the existing ring untouched, name/size/opts
 *       validation (EINVAL, nothing left behind), ENOENT, EPROTO for files
 *       that are not rings, EPROTONOSUPPORT for another layout version,
 *       EACCES/EPERM for a process the mode refuses, use after unlink.
 *   (b) never half-made: a process opening the name in a loop while it is
 *       created and unlinked sees ENOENT or a complete ring, never EPROTO.
 *   (c) across processes by name: a producer process that opened by name
 *       feeds the creator; a consumer asleep in ringbuf_poll() in one
 *       process is woken by a producer process that opened by name.
 *   (d) roles: EOPNOTSUPP from the other role's calls, and read-only
 *       mappings (checked in /proc/self/maps, with mprotect() and a write).
 *   (e) the consumer claim: EBUSY while a live process holds it, release by
 *       ringbuf_free(), takeover from a killed (reaped or zombie) claimant,
 *       role-0 consumers gated by it, resuming from consumer_pos.
 *   (f) ringbuf_new()/ringbuf_from_fd() with roles; from_fd of a named
 *       ring's fd is EPROTO (it cannot be sealed).
 *
 * Every name used starts with "t_names-PID-"; they are removed at start
 * and at exit (also after a failed check in the main process).
 */
#include "ringbuf.h"
#include "test.h"
#include "proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA_PAGES 16
#define SHM_DIR    "/dev/shm/"
#define SHM_PREFIX "ringbuf."

static size_t g_page, g_ds;
static pid_t g_parent;
static char g_prefix[64]; /* "t_names-PID-" */

/* ------------------------------------------------------------------------
 * Names and cleanup
 * ------------------------------------------------------------------------ */

static void mkname(char *buf, size_t len, const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", g_prefix, suffix);
	CHECK(n > 0 && (size_t)n < len);
}

static void shm_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, SHM_DIR SHM_PREFIX "%s", name);
	CHECK(n > 0 && (size_t)n < len);
}

/* Number of our files in /dev/shm; with @remove, unlink them. */
static int our_files(bool remove)
{
	char full[128];
	int count = 0;

	snprintf(full, sizeof(full), SHM_PREFIX "%s", g_prefix);
	DIR *d = opendir(SHM_DIR);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, full, strlen(full)) != 0)
			continue;
		count++;
		if (remove) {
			char path[512];
			snprintf(path, sizeof(path), SHM_DIR "%s", e->d_name);
			unlink(path);
		}
	}
	closedir(d);
	return count;
}

/* Names left by runs that died without cleaning up (a crash): their
 * "t_names-PID-" prefix names a process that no longer exists. */
static void remove_stale(void)
{
	DIR *d = opendir(SHM_DIR);
	const char *pre = SHM_PREFIX "t_names-";

	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char *end;
		if (strncmp(e->d_name, pre, strlen(pre)) != 0)
			continue;
		long pid = strtol(e->d_name + strlen(pre), &end, 10);
		if (end[0] != '-' || pid <= 0 || pid > INT32_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[512];
		snprintf(path, sizeof(path), SHM_DIR "%s", e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void cleanup(void)
{
	if (getpid() == g_parent) /* children exit through CHECK too */
		our_files(true);
}

static bool name_exists(const char *name)
{
	char path[512];
	struct stat st;

	shm_path(path, sizeof(path), name);
	if (stat(path, &st) == 0)
		return true;
	CHECK_EQ(errno, ENOENT);
	return false;
}

static struct stat name_stat(const char *name)
{
	char path[512];
	struct stat st;

	shm_path(path, sizeof(path), name);
	CHECK_EQ(stat(path, &st), 0);
	return st;
}

/* ------------------------------------------------------------------------
 * Records: u32 tag, u32 seq, then a pattern derived from (tag, seq).
 * ------------------------------------------------------------------------ */

static size_t rec_size(uint32_t seq)
{
	return 8 + (size_t)((seq * 37u) % 120u);
}

static uint8_t rec_byte(uint32_t tag, uint32_t seq, size_t k)
{
	return (uint8_t)(tag * 7u + seq * 31u + (uint32_t)k * 13u);
}

static void rec_fill(uint8_t *buf, uint32_t tag, uint32_t seq)
{
	size_t size = rec_size(seq);

	memcpy(buf, &tag, 4);
	memcpy(buf + 4, &seq, 4);
	for (size_t k = 8; k < size; k++)
		buf[k] = rec_byte(tag, seq, k);
}

static long out_rec(struct ringbuf *rb, uint32_t tag, uint32_t seq, uint64_t flags)
{
	uint8_t buf[256];

	rec_fill(buf, tag, seq);
	return ringbuf_output(rb, buf, rec_size(seq), flags);
}

#define MAX_SEQS 64

/* Collects the seqs of records of one tag, checking every byte. */
struct col {
	uint32_t tag;
	uint32_t n;    /* records delivered */
	uint32_t next; /* seq expected next (if ordered) */
	bool ordered;  /* check consecutive seqs from next */
	uint32_t seq[MAX_SEQS];
};

static int col_cb(void *ctx, void *data, size_t size)
{
	struct col *c = ctx;
	const uint8_t *b = data;
	uint32_t tag, seq;

	CHECK(size >= 8);
	memcpy(&tag, b, 4);
	memcpy(&seq, b + 4, 4);
	CHECK_EQ(tag, c->tag);
	CHECK_EQ(size, rec_size(seq));
	for (size_t k = 8; k < size; k++)
		CHECK_EQ(b[k], rec_byte(tag, seq, k));
	if (c->ordered) {
		CHECK_EQ(seq, c->next);
		c->next++;
	}
	if (c->n < MAX_SEQS)
		c->seq[c->n] = seq;
	c->n++;
	return 0;
}

/* Consume everything now through @rb, expecting exactly seqs first..last-1. */
static void consume_expect(struct ringbuf *rb, uint32_t tag, uint32_t first, uint32_t last)
{
	struct col c = { .tag = tag, .next = first, .ordered = true };

	CHECK_EQ(ringbuf_consume(rb, col_cb, &c), last - first);
	CHECK_EQ(c.n, last - first);
	CHECK_EQ(c.next, last);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
}

/* ------------------------------------------------------------------------
 * Processes
 * ------------------------------------------------------------------------ */

static pid_t fork_child(void)
{
	return proc_fork_child(g_parent, 30);
}

/* Wait for @pid to exit with @code (5 s at most). */
static void wait_exit(pid_t pid, int code)
{
	int status = proc_wait_status(pid, 5, 500);

	proc_exited_with(pid, status, code);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), code);
}

/* ------------------------------------------------------------------------
 * Peers: child processes that know only the ring's name and act on
 * commands sent over a pipe.
 * ------------------------------------------------------------------------ */

struct cmd {
	char op;
	uint32_t tag;
	int64_t arg;
};

struct reply {
	int64_t ret;
	int err;
	struct col c;
};

struct peer {
	pid_t pid;
	int cmd; /* parent -> peer */
	int rep; /* peer -> parent */
};

static void write_all(int fd, const void *p, size_t n)
{
	CHECK_EQ(write(fd, p, n), (ssize_t)n);
}

/* Read one reply within @ms, or return false. */
static bool read_reply(int fd, struct reply *r, int ms)
{
	return proc_read_msg(fd, r, sizeof(*r), ms);
}

/* Produce seqs 0..n-1 of @tag, mixing output and reserve+submit, retrying
 * while the ring is full (10 s at most). */
static void produce_n(struct ringbuf *rb, uint32_t tag, uint32_t n)
{
	for (uint32_t seq = 0; seq < n; seq++) {
		uint64_t t0 = t_now_ns();
		for (;;) {
			if (seq % 2 == 0) {
				long r = out_rec(rb, tag, seq, 0);
				if (r == 0)
					break;
				CHECK_EQ(r, -EAGAIN);
			} else {
				void *p = ringbuf_reserve(rb, rec_size(seq), 0);
				if (p) {
					rec_fill(p, tag, seq);
					ringbuf_submit(p, 0);
					break;
				}
				CHECK_EQ(errno, EAGAIN);
			}
			CHECK(t_now_ns() - t0 < 10000000000ull);
			usleep(50);
		}
	}
}

static void peer_main(const char *name, int cfd, int rfd)
{
	struct ringbuf *rb = NULL;
	struct cmd c;

	for (;;) {
		struct reply r;
		memset(&r, 0, sizeof(r));
		ssize_t n = read(cfd, &c, sizeof(c));
		if (n == 0)
			_exit(0);
		CHECK_EQ(n, sizeof(c));
		r.c.tag = c.tag;
		errno = 0;
		switch (c.op) {
		case 'n': { /* open by name with role arg */
			struct ringbuf_opts o = { .sz = sizeof(o), .role = (uint32_t)c.arg };
			rb = ringbuf_open(name, &o);
			r.ret = rb ? 0 : -1;
			r.err = rb ? 0 : errno;
			if (rb)
				r.c.n = (uint32_t)ringbuf_query(rb, RINGBUF_RING_SIZE);
			break;
		}
		case 'o': /* output seq arg, adaptive */
		case 'N': /* ... NO_WAKEUP */
		case 'F': /* ... FORCE_WAKEUP */
			r.ret = out_rec(rb, c.tag, (uint32_t)c.arg,
					c.op == 'o' ? 0 : c.op == 'N' ? RINGBUF_NO_WAKEUP
								      : RINGBUF_FORCE_WAKEUP);
			break;
		case 'P': /* produce seqs 0..arg-1 */
			produce_n(rb, c.tag, (uint32_t)c.arg);
			break;
		case 'c': /* consume at most arg records */
			r.ret = ringbuf_consume_n(rb, col_cb, &r.c, (size_t)c.arg);
			r.err = errno;
			break;
		case 'w': /* poll, waiting for ever */
			r.ret = ringbuf_poll(rb, col_cb, &r.c, -1);
			r.err = errno;
			break;
		case 'f':
			ringbuf_free(rb);
			rb = NULL;
			break;
		default:
			CHECK(!"known peer command");
		}
		write_all(rfd, &r, sizeof(r));
	}
}

static struct peer peer_start(const char *name)
{
	int c[2], r[2];
	struct peer p;

	CHECK_EQ(pipe2(c, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(r, O_CLOEXEC), 0);
	p.pid = fork_child();
	if (p.pid == 0) {
		/* hold no other peer's pipe ends, so each sees EOF */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != c[0] && fd != r[1])
				close(fd);
		peer_main(name, c[0], r[1]);
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	p.cmd = c[1];
	p.rep = r[0];
	return p;
}

static void peer_send(struct peer *p, char op, uint32_t tag, int64_t arg)
{
	struct cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.tag = tag;
	c.arg = arg;
	write_all(p->cmd, &c, sizeof(c));
}

static struct reply peer_call(struct peer *p, char op, uint32_t tag, int64_t arg)
{
	struct reply r;

	peer_send(p, op, tag, arg);
	if (!read_reply(p->rep, &r, 10000)) {
		fprintf(stderr, "peer %d: no reply to '%c'\n", (int)p->pid, op);
		CHECK(!"peer replies");
	}
	return r;
}

/* Open by name in the peer with @role, expecting success. */
static void peer_open(struct peer *p, uint32_t role)
{
	struct reply r = peer_call(p, 'n', 0, role);
	if (r.ret != 0)
		fprintf(stderr, "peer open(role %u): %s\n", role, strerror(r.err));
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.c.n, g_ds);
}

/* End the peer: close its command pipe; it exits 0. */
static void peer_end(struct peer *p)
{
	close(p->cmd);
	wait_exit(p->pid, 0);
	close(p->rep);
}

static void peer_kill(struct peer *p, bool reap)
{
	int status;

	CHECK_EQ(kill(p->pid, SIGKILL), 0);
	if (reap) {
		CHECK_EQ(waitpid(p->pid, &status, 0), p->pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		/* Exited means every thread has (a pidfd turns readable then,
		 * as the library checks); the leader alone can show 'Z' while a
		 * sanitizer runtime's thread is still on its way out. */
		struct pollfd pfd = { .fd = (int)syscall(SYS_pidfd_open, p->pid, 0),
				      .events = POLLIN };
		uint64_t t0 = t_now_ns();

		CHECK(pfd.fd >= 0);
		CHECK_EQ(poll(&pfd, 1, 5000), 1);
		close(pfd.fd);
		while (proc_state(p->pid) != 'Z') {
			CHECK(t_now_ns() - t0 < 5000000000ull);
			usleep(500);
		}
	}
	close(p->cmd);
	close(p->rep);
}

/* ------------------------------------------------------------------------
 * Expectations
 * ------------------------------------------------------------------------ */

static struct ringbuf_opts opts_role(uint32_t role)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role };
	return o;
}

static void expect_create_err(const char *name, size_t size, const struct ringbuf_opts *o,
			      int err, const char *what)
{
	errno = 0;
	struct ringbuf *rb = ringbuf_create(name, size, o);
	if (rb || errno != err)
		fprintf(stderr, "create(%s): %p, errno %d (%s), want %s\n", what, (void *)rb,
			errno, strerror(errno), strerror(err));
	CHECK(rb == NULL);
	CHECK_EQ(errno, err);
}

static void expect_open_err(const char *name, const struct ringbuf_opts *o, int err,
			    const char *what)
{
	errno = 0;
	struct ringbuf *rb = ringbuf_open(name, o);
	if (rb || errno != err)
		fprintf(stderr, "open(%s): %p, errno %d (%s), want %s\n", what, (void *)rb, errno,
			strerror(errno), strerror(err));
	CHECK(rb == NULL);
	CHECK_EQ(errno, err);
}

static void expect_unlink_err(const char *name, int err, const char *what)
{
	errno = 0;
	int r = ringbuf_unlink(name);
	if (r != -err || errno != err)
		fprintf(stderr, "unlink(%s): %d, errno %d, want %d\n", what, r, errno, -err);
	CHECK_EQ(r, -err);
	CHECK_EQ(errno, err);
}

/* A bad name: EINVAL from create, open and unlink, and nothing appears. */
static void expect_bad_name(const char *name, const char *what)
{
	int before = our_files(false);

	expect_create_err(name, g_ds, NULL, EINVAL, what);
	expect_open_err(name, NULL, EINVAL, what);
	expect_unlink_err(name, EINVAL, what);
	CHECK_EQ(our_files(false), before);
}

/* ------------------------------------------------------------------------
 * (a) create / open / unlink
 * ------------------------------------------------------------------------ */

/* Write @len bytes of @buf (or zeros past it) into a new file for @name. */
static void write_file(const char *name, const void *buf, size_t len, size_t total)
{
	char path[512];

	shm_path(path, sizeof(path), name);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (len)
		CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	CHECK_EQ(ftruncate(fd, (off_t)total), 0);
	CHECK_EQ(close(fd), 0);
}

static void test_create_basic(void)
{
	char name[256], other[256];
	struct stat st;

	mkname(name, sizeof(name), "basic");
	CHECK(!name_exists(name));

	/* Default mode 0600, the file is a ring's size. */
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	st = name_stat(name);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 3 * g_page + g_ds);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), g_ds);

	/* The creator's fd is the named file. */
	struct stat fst;
	CHECK_EQ(fstat(ringbuf_fd(rb), &fst), 0);
	CHECK_EQ(fst.st_ino, st.st_ino);
	CHECK_EQ(fst.st_dev, st.st_dev);

	/* Opened by name: the same ring. */
	struct ringbuf *o = ringbuf_open(name, NULL);
	CHECK(o != NULL);
	CHECK_EQ(ringbuf_query(o, RINGBUF_RING_SIZE), g_ds);
	for (uint32_t i = 0; i < 5; i++)
		CHECK_EQ(out_rec(rb, 0xA1, i, 0), 0);
	consume_expect(o, 0xA1, 0, 5);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), ringbuf_query(o, RINGBUF_CONS_POS));

	/* EEXIST: any size, any opts, the existing ring untouched. */
	for (uint32_t i = 5; i < 8; i++)
		CHECK_EQ(out_rec(o, 0xA1, i, 0), 0);
	uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS);
	struct ringbuf_opts mode0666 = { .sz = sizeof(mode0666), .mode = 0666 };
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_create_err(name, g_ds, NULL, EEXIST, "existing name");
	expect_create_err(name, 2 * g_ds, NULL, EEXIST, "existing name, other size");
	expect_create_err(name, g_ds, &mode0666, EEXIST, "existing name, mode 0666");
	expect_create_err(name, g_ds, &cons, EEXIST, "existing name, consumer role");
	st = name_stat(name);
	CHECK_EQ(st.st_ino, fst.st_ino);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 3 * g_page + g_ds);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	consume_expect(rb, 0xA1, 5, 8);
	ringbuf_free(o);

	/* A creator with the consumer role; EEXIST left the claim alone. */
	o = ringbuf_open(name, &cons);
	CHECK(o != NULL);
	ringbuf_free(o);

	/* Explicit modes, exactly (umask is 0 here). */
	static const uint32_t modes[] = { 0640, 0660, 0604, 0400, 0666 };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char sfx[32];
		snprintf(sfx, sizeof(sfx), "mode%o", modes[i]);
		mkname(other, sizeof(other), sfx);
		struct ringbuf_opts m = { .sz = sizeof(m), .mode = modes[i] };
		struct ringbuf *r = ringbuf_create(other, g_ds, &m);
		CHECK(r != NULL);
		CHECK_EQ(name_stat(other).st_mode & 07777, modes[i]);
		CHECK_EQ(out_rec(r, 0xA2, 0, 0), 0); /* the creator can use it */
		consume_expect(r, 0xA2, 0, 1);
		ringbuf_free(r);
		CHECK_EQ(ringbuf_unlink(other), 0);
	}
	/* mode 0 in opts: the default. */
	mkname(other, sizeof(other), "mode0");
	struct ringbuf_opts m0 = { .sz = sizeof(m0) };
	struct ringbuf *r = ringbuf_create(other, g_ds, &m0);
	CHECK(r != NULL);
	CHECK_EQ(name_stat(other).st_mode & 07777, 0600);
	ringbuf_free(r);
	CHECK_EQ(ringbuf_unlink(other), 0);

	/* Unlink: 0, then ENOENT everywhere; users keep the ring. */
	o = ringbuf_open(name, NULL);
	CHECK(o != NULL);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK(!name_exists(name));
	expect_unlink_err(name, ENOENT, "unlinked name");
	expect_open_err(name, NULL, ENOENT, "unlinked name");
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(out_rec(rb, 0xA3, i, 0), 0);
	consume_expect(o, 0xA3, 0, 3);
	CHECK_EQ(out_rec(o, 0xA3, 3, 0), 0);
	consume_expect(rb, 0xA3, 3, 4);

	/* The name is free again: a new, distinct ring. */
	struct ringbuf *n2 = ringbuf_create(name, 2 * g_ds, NULL);
	CHECK(n2 != NULL);
	CHECK_EQ(ringbuf_query(n2, RINGBUF_RING_SIZE), 2 * g_ds);
	CHECK_EQ(ringbuf_query(n2, RINGBUF_PROD_POS), 0);
	CHECK_EQ(out_rec(n2, 0xA4, 0, 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0); /* the old ring saw nothing */
	struct ringbuf *n3 = ringbuf_open(name, NULL);
	CHECK(n3 != NULL);
	CHECK_EQ(ringbuf_query(n3, RINGBUF_RING_SIZE), 2 * g_ds);
	consume_expect(n3, 0xA4, 0, 1);
	ringbuf_free(n3);
	ringbuf_free(n2);
	CHECK_EQ(ringbuf_unlink(name), 0);
	ringbuf_free(o);
	ringbuf_free(rb);

	/* Opened by name in another process, which keeps producing after the
	 * unlink. */
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	struct peer p = peer_start(name);
	peer_open(&p, RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK_EQ(peer_call(&p, 'o', 0xA5, 0).ret, 0);
	CHECK_EQ(peer_call(&p, 'o', 0xA5, 1).ret, 0);
	consume_expect(rb, 0xA5, 0, 2);
	peer_end(&p);
	ringbuf_free(rb);
	CHECK_EQ(our_files(false), 0);
	printf("create/open/unlink: ok\n");
}

static void test_validation(void)
{
	char name[256], buf[512];
	struct ringbuf_opts o;

	/* Bad names. */
	expect_bad_name("", "empty");
	expect_bad_name(".x", "leading dot");
	expect_bad_name(".", "dot");
	expect_bad_name("..", "dot dot");
	expect_bad_name("a/b", "slash");
	expect_bad_name("../x", "dot dot slash");
	expect_bad_name("/x", "leading slash");
	snprintf(buf, sizeof(buf), "%sa b", g_prefix);
	expect_bad_name(buf, "space");
	snprintf(buf, sizeof(buf), "%s ", g_prefix);
	expect_bad_name(buf, "trailing space");
	snprintf(buf, sizeof(buf), "%scaf\xc3\xa9", g_prefix);
	expect_bad_name(buf, "UTF-8");
	snprintf(buf, sizeof(buf), "%s\xff", g_prefix);
	expect_bad_name(buf, "byte 0xff");
	snprintf(buf, sizeof(buf), "%sa\nb", g_prefix);
	expect_bad_name(buf, "newline");
	snprintf(buf, sizeof(buf), "%sa*", g_prefix);
	expect_bad_name(buf, "star");
	snprintf(buf, sizeof(buf), "%sa:b", g_prefix);
	expect_bad_name(buf, "colon");
	expect_bad_name(NULL, "NULL");

	/* 200 characters work, 201 do not. */
	size_t plen = strlen(g_prefix);
	memcpy(buf, g_prefix, plen);
	memset(buf + plen, 'x', 201 - plen);
	buf[201] = 0;
	expect_bad_name(buf, "201 characters");
	buf[200] = 0;
	CHECK_EQ(strlen(buf), 200);
	struct ringbuf *rb = ringbuf_create(buf, g_ds, NULL);
	CHECK(rb != NULL);
	CHECK(name_exists(buf));
	struct ringbuf *o2 = ringbuf_open(buf, NULL);
	CHECK(o2 != NULL);
	CHECK_EQ(out_rec(rb, 0xB0, 0, 0), 0);
	consume_expect(o2, 0xB0, 0, 1);
	ringbuf_free(o2);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(buf), 0);
	CHECK(!name_exists(buf));

	/* Every allowed character class, dots after the first. */
	snprintf(buf, sizeof(buf), "%sAZaz09._-.", g_prefix);
	rb = ringbuf_create(buf, g_ds, NULL);
	CHECK(rb != NULL);
	CHECK(name_exists(buf));
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(buf), 0);

	/* Bad sizes: EINVAL, no file. */
	mkname(name, sizeof(name), "size");
	const size_t bad_sizes[] = { 0, 1, g_page / 2, g_page - 1, g_page + 1, 3 * g_page,
				     g_ds + 8, (size_t)RINGBUF_MAX_DATA_SIZE * 2, SIZE_MAX };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		expect_create_err(name, bad_sizes[i], NULL, EINVAL, "bad size");
		CHECK(!name_exists(name));
	}

	/* Bad opts: EINVAL, no file; open refuses them too. */
	const struct {
		struct ringbuf_opts o;
		const char *what;
	} bad[] = {
		{ { .sz = sizeof(o), .mode = 010000 }, "mode 010000" },
		{ { .sz = sizeof(o), .mode = 0xffffffff }, "mode ~0" },
		{ { .sz = sizeof(o), .role = 4 }, "role 4" },
		{ { .sz = sizeof(o), .role = 0x80000000u }, "role 1<<31" },
		{ { .sz = sizeof(o), .flags = 1 }, "flags 1" },
		{ { .sz = sizeof(o), .flags = 1ull << 63 }, "flags 1<<63" },
		{ { .sz = 0 }, "sz 0" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_create_err(name, g_ds, &bad[i].o, EINVAL, bad[i].what);
		CHECK(!name_exists(name));
	}
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bad[i].o.mode == 0) /* mode is create's only */
			expect_open_err(name, &bad[i].o, EINVAL, bad[i].what);
	/* A larger struct with a nonzero byte past the known fields. */
	struct {
		struct ringbuf_opts o;
		uint64_t more;
	} big;
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.more = 1;
	expect_open_err(name, &big.o, EINVAL, "unknown nonzero field");
	char n2[256];
	mkname(n2, sizeof(n2), "size2");
	expect_create_err(n2, g_ds, &big.o, EINVAL, "unknown nonzero field");
	CHECK(!name_exists(n2));
	big.more = 0;
	struct ringbuf *ok = ringbuf_open(name, &big.o);
	CHECK(ok != NULL);
	ringbuf_free(ok);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* ENOENT */
	mkname(name, sizeof(name), "missing");
	expect_open_err(name, NULL, ENOENT, "missing");
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &cons, ENOENT, "missing, consumer");
	expect_unlink_err(name, ENOENT, "missing");

	CHECK_EQ(our_files(false), 0);
	printf("validation: ok\n");
}

/* Files under a ring's name that are not rings of this layout. */
static void test_not_a_ring(void)
{
	char name[256], src[256];
	size_t fsize = 3 * g_page + g_ds;
	uint8_t *img = malloc(fsize);
	CHECK(img != NULL);

	mkname(name, sizeof(name), "notring");

	write_file(name, NULL, 0, 0);
	expect_open_err(name, NULL, EPROTO, "empty file");
	CHECK_EQ(ringbuf_unlink(name), 0); /* unlink removes any file of the name */

	write_file(name, "garbage!", 8, 8);
	expect_open_err(name, NULL, EPROTO, "8 bytes of garbage");
	CHECK_EQ(ringbuf_unlink(name), 0);

	uint64_t st = 0x1234567;
	for (size_t i = 0; i < fsize; i++)
		img[i] = (uint8_t)t_rand(&st);
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTO, "a ring's size of garbage");
	CHECK_EQ(ringbuf_unlink(name), 0);

	write_file(name, NULL, 0, fsize);
	expect_open_err(name, NULL, EPROTO, "a ring's size of zeros");
	CHECK_EQ(ringbuf_unlink(name), 0);

	char path[512];
	shm_path(path, sizeof(path), name);
	CHECK_EQ(mkfifo(path, 0600), 0);
	expect_open_err(name, NULL, EPROTO, "a FIFO");
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* A copy of a real ring's bytes: opens (and carries its records);
	 * edited, it does not. */
	mkname(src, sizeof(src), "src");
	struct ringbuf *rb = ringbuf_create(src, g_ds, NULL);
	CHECK(rb != NULL);
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(out_rec(rb, 0xC1, i, 0), 0);
	CHECK_EQ(pread(ringbuf_fd(rb), img, fsize, 0), (ssize_t)fsize);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(src), 0);
	uint32_t v;
	memcpy(&v, img + 8, 4);
	CHECK_EQ(v, RINGBUF_LAYOUT_VERSION);

	write_file(name, img, fsize, fsize);
	rb = ringbuf_open(name, NULL);
	CHECK(rb != NULL);
	consume_expect(rb, 0xC1, 0, 3);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	v = RINGBUF_LAYOUT_VERSION + 1;
	memcpy(img + 8, &v, 4);
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTONOSUPPORT, "version + 1");
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &cons, EPROTONOSUPPORT, "version + 1, consumer");
	CHECK_EQ(ringbuf_unlink(name), 0);
	v = RINGBUF_LAYOUT_VERSION;
	memcpy(img + 8, &v, 4);

	img[0] ^= 1; /* magic */
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTO, "wrong magic");
	CHECK_EQ(ringbuf_unlink(name), 0);
	img[0] ^= 1;

	write_file(name, img, fsize, fsize - g_page); /* a truncated ring */
	expect_open_err(name, NULL, EPROTO, "a page short");
	CHECK_EQ(ringbuf_unlink(name), 0);

	write_file(name, img, fsize, 3 * g_page - 1); /* shorter than the header */
	expect_open_err(name, NULL, EPROTO, "shorter than 3 pages");
	CHECK_EQ(ringbuf_unlink(name), 0);

	free(img);
	CHECK_EQ(our_files(false), 0);
	printf("not a ring: ok\n");
}

/* A process whose uid the mode refuses (we run as root: drop to nobody). */
static void test_access(void)
{
	char name[256], rwname[256];

	if (geteuid() != 0) {
		printf("access: skipped (not root)\n");
		return;
	}
	mkname(name, sizeof(name), "acc");
	mkname(rwname, sizeof(rwname), "accrw");
	struct ringbuf_opts m0604 = { .sz = sizeof(m0604), .mode = 0604 };
	struct ringbuf_opts m0606 = { .sz = sizeof(m0606), .mode = 0606 };
	struct ringbuf *a = ringbuf_create(name, g_ds, &m0604);
	CHECK(a != NULL);
	struct ringbuf *b = ringbuf_create(rwname, g_ds, &m0606);
	CHECK(b != NULL);

	pid_t pid = fork_child();
	if (pid == 0) {
		if (t_become(65534))
			_exit(77);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the uid change */
		/* read-only for us: a ring needs read-write */
		expect_open_err(name, NULL, EACCES, "mode 0604, other uid");
		struct ringbuf_opts prod = opts_role(RINGBUF_ROLE_PRODUCER);
		expect_open_err(name, &prod, EACCES, "mode 0604, other uid, producer");
		/* sticky /dev/shm: not ours to remove */
		int r = ringbuf_unlink(name);
		CHECK(r == -EACCES || r == -EPERM);
		CHECK_EQ(errno, -r);
		/* mode 0606 lets us in */
		struct ringbuf *rb = ringbuf_open(rwname, &prod);
		CHECK(rb != NULL);
		CHECK_EQ(out_rec(rb, 0xC2, 0, 0), 0);
		ringbuf_free(rb);
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("access: skipped (cannot change uid)\n");
	} else {
		CHECK_EQ(WEXITSTATUS(status), 0);
		consume_expect(b, 0xC2, 0, 1);
		CHECK(name_exists(name));
		printf("access: ok\n");
	}
	ringbuf_free(a);
	ringbuf_free(b);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK_EQ(ringbuf_unlink(rwname), 0);
}

/* ------------------------------------------------------------------------
 * (b) never half-made
 * ------------------------------------------------------------------------ */

struct race {
	int ready, stop;
	long opened, enoent, bad_errno, bad_size;
};

#define OPENERS 3

/* A process that only opens the name, over and over. */
static void opener(const char *name, struct race *rs)
{
	while (!__atomic_load_n(&rs->stop, __ATOMIC_ACQUIRE)) {
		errno = 0;
		struct ringbuf *rb = ringbuf_open(name, NULL);
		if (rb) {
			uint64_t sz = ringbuf_query(rb, RINGBUF_RING_SIZE);
			if ((sz != g_ds && sz != 2 * g_ds) || ringbuf_query(rb, RINGBUF_PROD_POS) ||
			    ringbuf_query(rb, RINGBUF_CONS_POS)) {
				__atomic_store_n(&rs->bad_size, (long)sz | 1, __ATOMIC_RELEASE);
				_exit(1);
			}
			__atomic_add_fetch(&rs->opened, 1, __ATOMIC_RELEASE);
			ringbuf_free(rb);
		} else if (errno == ENOENT) {
			__atomic_add_fetch(&rs->enoent, 1, __ATOMIC_RELEASE);
			__atomic_add_fetch(&rs->ready, 1, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&rs->bad_errno, errno, __ATOMIC_RELEASE);
			_exit(1);
		}
	}
	_exit(0);
}

static bool race_bad(struct race *rs)
{
	return __atomic_load_n(&rs->bad_errno, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&rs->bad_size, __ATOMIC_ACQUIRE);
}

static void test_never_half_made(void)
{
	char name[256];
	const int rounds = 1000;
	pid_t pids[OPENERS];

	mkname(name, sizeof(name), "race");
	struct race *rs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(rs != MAP_FAILED);
	memset(rs, 0, sizeof(*rs));

	for (int k = 0; k < OPENERS; k++) {
		pids[k] = fork_child();
		if (pids[k] == 0)
			opener(name, rs);
	}
	/* every opener has seen the name missing */
	uint64_t t0 = t_now_ns();
	while (__atomic_load_n(&rs->ready, __ATOMIC_ACQUIRE) < OPENERS && !race_bad(rs)) {
		CHECK(t_now_ns() - t0 < 5000000000ull);
		usleep(100);
	}
	for (int i = 0; i < rounds && !race_bad(rs); i++) {
		struct ringbuf *rb = ringbuf_create(name, (i & 1) ? 2 * g_ds : g_ds, NULL);
		CHECK(rb != NULL);
		if (i % 10 == 0) { /* let the openers see this one */
			long seen = __atomic_load_n(&rs->opened, __ATOMIC_ACQUIRE);
			t0 = t_now_ns();
			while (__atomic_load_n(&rs->opened, __ATOMIC_ACQUIRE) == seen &&
			       !race_bad(rs)) {
				CHECK(t_now_ns() - t0 < 5000000000ull);
				usleep(50);
			}
		}
		CHECK_EQ(ringbuf_unlink(name), 0);
		ringbuf_free(rb);
	}
	__atomic_store_n(&rs->stop, 1, __ATOMIC_RELEASE);
	int bad_exits = 0;
	for (int k = 0; k < OPENERS; k++) {
		int status;
		CHECK_EQ(waitpid(pids[k], &status, 0), pids[k]);
		bad_exits += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (rs->bad_errno)
		fprintf(stderr, "opener: errno %ld (%s)\n", rs->bad_errno,
			strerror((int)rs->bad_errno));
	if (rs->bad_size)
		fprintf(stderr, "opener: ring size %ld (|1) or positions not 0\n", rs->bad_size);
	CHECK_EQ(rs->bad_errno, 0);
	CHECK_EQ(rs->bad_size, 0);
	CHECK_EQ(bad_exits, 0);
	CHECK(rs->opened >= rounds / 10);
	CHECK(rs->enoent >= OPENERS);
	printf("never half-made: %d creates, %ld opens, %ld ENOENT\n", rounds, rs->opened,
	       rs->enoent);
	munmap(rs, sizeof(*rs));
}

/* ------------------------------------------------------------------------
 * (c) across processes by name
 * ------------------------------------------------------------------------ */

static void wait_asleep(pid_t pid, const struct ringbuf_shm_meta *meta)
{
	proc_wait_asleep(pid, meta, 1000);
}

static void expect_woken(struct peer *c, uint32_t first, uint32_t n, const char *what)
{
	struct reply r;

	if (!read_reply(c->rep, &r, 5000)) {
		fprintf(stderr, "not woken: %s\n", what);
		CHECK(!"consumer woken");
	}
	CHECK_EQ(r.ret, n);
	CHECK_EQ(r.c.n, n);
	for (uint32_t i = 0; i < n; i++)
		CHECK_EQ(r.c.seq[i], first + i);
}

static void test_by_name(void)
{
	char name[256];
	const uint32_t n = 2000;

	/* c1: a producer process that knows only the name; the creator
	 * consumes.  The peer exists before the ring does. */
	mkname(name, sizeof(name), "byname");
	struct peer p = peer_start(name);
	struct reply r = peer_call(&p, 'n', 0, RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, ENOENT);
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *rb = ringbuf_create(name, g_ds, &cons);
	CHECK(rb != NULL);
	peer_open(&p, RINGBUF_ROLE_PRODUCER);
	peer_send(&p, 'P', 0xD1, n);
	struct col c = { .tag = 0xD1, .ordered = true };
	uint64_t t0 = t_now_ns();
	while (c.n < n) {
		CHECK(ringbuf_poll(rb, col_cb, &c, 10) >= 0);
		CHECK(t_now_ns() - t0 < 10000000000ull);
	}
	CHECK(read_reply(p.rep, &r, 5000));
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(ringbuf_consume(rb, col_cb, &c), 0);
	CHECK_EQ(c.n, n);
	peer_end(&p);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* c2: consumer and producer processes both attached by name; the
	 * creator (a producer handle) only watches. */
	mkname(name, sizeof(name), "wake");
	struct peer cp = peer_start(name), pp = peer_start(name);
	struct ringbuf_opts prod = opts_role(RINGBUF_ROLE_PRODUCER);
	rb = ringbuf_create(name, g_ds, &prod);
	CHECK(rb != NULL);
	peer_open(&cp, RINGBUF_ROLE_CONSUMER);
	peer_open(&pp, RINGBUF_ROLE_PRODUCER);
	char path[512];
	shm_path(path, sizeof(path), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	const struct ringbuf_shm_meta *meta = mmap(NULL, 2 * g_page, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(meta != MAP_FAILED);
	close(fd);
	{
		const struct ringbuf_shm_consumer *cpage =
			(const void *)((const char *)meta + RINGBUF_SHM_CONSUMER_PAGE * g_page);
		CHECK_EQ(cpage->consumer_owner, (uint32_t)cp.pid);
	}

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'o', 0xD2, 0).ret, 0); /* adaptive, caught up */
	expect_woken(&cp, 0, 1, "adaptive record");

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'N', 0xD2, 1).ret, 0);
	CHECK(!read_reply(cp.rep, &r, 150)); /* NO_WAKEUP: still asleep */
	CHECK_EQ(proc_state(cp.pid), 'S');
	CHECK_EQ(peer_call(&pp, 'F', 0xD2, 2).ret, 0);
	expect_woken(&cp, 1, 2, "forced record");

	peer_send(&cp, 'w', 0xD2, 0);
	wait_asleep(cp.pid, meta);
	CHECK_EQ(peer_call(&pp, 'o', 0xD2, 3).ret, 0);
	expect_woken(&cp, 3, 1, "adaptive record again");

	munmap((void *)meta, 2 * g_page);
	peer_end(&cp);
	peer_end(&pp);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("by name: %u records across processes, wakeups ok\n", n);
}

/* ------------------------------------------------------------------------
 * (d) roles and their mappings
 * ------------------------------------------------------------------------ */

#define MAX_VMAS 256

struct vma {
	uintptr_t start, end;
	uint64_t off;
	char perms[5];
};

/* The mappings of the file (@dev, @ino) in this process. */
static int load_vmas(const struct stat *st, struct vma *v)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	int n = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, ino;
		unsigned long long off;
		unsigned int maj, mnr;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu", &start, &end, perms, &off, &maj,
			   &mnr, &ino) != 7)
			continue;
		if (ino != st->st_ino || maj != major(st->st_dev) || mnr != minor(st->st_dev))
			continue;
		CHECK(n < MAX_VMAS);
		v[n].start = start;
		v[n].end = end;
		v[n].off = off;
		memcpy(v[n].perms, perms, 5);
		n++;
	}
	fclose(f);
	return n;
}

/* Start addresses of mappings at file offset 0: one per handle. */
static int handle_bases(const struct stat *st, uintptr_t *bases)
{
	struct vma v[MAX_VMAS];
	int n = load_vmas(st, v), k = 0;

	for (int i = 0; i < n; i++)
		if (v[i].off == 0)
			bases[k++] = v[i].start;
	return k;
}

/* The base of the one handle mapped since @before was taken. */
static uintptr_t new_base(const struct stat *st, const uintptr_t *before, int nbefore)
{
	uintptr_t after[MAX_VMAS], found = 0;
	int n = handle_bases(st, after), fresh = 0;

	for (int i = 0; i < n; i++) {
		bool old = false;
		for (int j = 0; j < nbefore; j++)
			old |= after[i] == before[j];
		if (!old) {
			found = after[i];
			fresh++;
		}
	}
	CHECK_EQ(fresh, 1);
	return found;
}

/* [addr, addr + len) is mapped, shared, from file offset @off on,
 * writable iff @writable. */
static void check_part(const struct stat *st, uintptr_t addr, size_t len, uint64_t off,
		       bool writable, const char *what)
{
	struct vma v[MAX_VMAS];
	int n = load_vmas(st, v);
	uintptr_t a = addr;

	while (a < addr + len) {
		const struct vma *m = NULL;
		for (int i = 0; i < n; i++)
			if (v[i].start <= a && a < v[i].end)
				m = &v[i];
		if (!m) {
			fprintf(stderr, "%s: %#lx not mapped from the ring file\n", what,
				(unsigned long)a);
			CHECK(!"part mapped");
		}
		if (strcmp(m->perms, writable ? "rw-s" : "r--s") != 0 ||
		    m->off + (a - m->start) != off + (a - addr))
			fprintf(stderr, "%s: %#lx is %s at offset %#llx\n", what,
				(unsigned long)a, m->perms,
				(unsigned long long)(m->off + (a - m->start)));
		CHECK_EQ(strcmp(m->perms, writable ? "rw-s" : "r--s"), 0);
		CHECK_EQ(m->off + (a - m->start), off + (a - addr));
		a = m->end;
	}
}

/* A part must stay read-only: mprotect() cannot make it writable, and
 * the kernel cannot write it for us either: read(2) from a pipe into it
 * fails with EFAULT (if it succeeded, it would store the value it read). */
static void check_read_only(uintptr_t addr, size_t len)
{
	errno = 0;
	CHECK_EQ(mprotect((void *)addr, len, PROT_READ | PROT_WRITE), -1);
	CHECK_EQ(errno, EACCES);
	errno = 0;
	CHECK_EQ(mprotect((void *)addr, g_page, PROT_READ | PROT_WRITE | PROT_EXEC), -1);
	CHECK_EQ(errno, EACCES);

	int pfd[2];
	void *last = (void *)(addr + len - 8);
	CHECK_EQ(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ(write(pfd[1], last, 8), 8);
	errno = 0;
	CHECK_EQ(read(pfd[0], last, 8), -1);
	CHECK_EQ(errno, EFAULT);
	close(pfd[0]);
	close(pfd[1]);
}

static void check_writable(uintptr_t addr, size_t len)
{
	CHECK_EQ(mprotect((void *)addr, len, PROT_READ | PROT_WRITE), 0);
}

/* The layout of a handle at @base for @role: which parts are writable. */
static void check_layout(const struct stat *st, uintptr_t base, uint32_t role)
{
	bool cons_w = role != RINGBUF_ROLE_PRODUCER, prod_w = role != RINGBUF_ROLE_CONSUMER;
	uintptr_t cons = base + g_page, prod = base + 2 * g_page, data = base + 3 * g_page;

	check_part(st, base, g_page, 0, prod_w, "meta");
	check_part(st, cons, g_page, g_page, cons_w, "consumer page");
	check_part(st, prod, g_page, 2 * g_page, prod_w, "producer page");
	check_part(st, data, g_ds, 3 * g_page, prod_w, "data");
	check_part(st, data + g_ds, g_ds, 3 * g_page, prod_w, "data, second copy");

	if (prod_w)
		check_writable(base, g_page);
	else
		check_read_only(base, g_page); /* the consumer writes only its page */
	if (cons_w)
		check_writable(cons, g_page);
	else
		check_read_only(cons, g_page);
	if (prod_w) {
		check_writable(prod, g_page);
		check_writable(data, 2 * g_ds);
	} else {
		check_read_only(prod, g_page);
		check_read_only(data, g_ds);
		check_read_only(data + g_ds, g_ds);
	}
	/* nothing changed */
	check_part(st, cons, g_page, g_page, cons_w, "consumer page after mprotect");
	check_part(st, prod, g_page, 2 * g_page, prod_w, "producer page after mprotect");
	check_part(st, data, g_ds, 3 * g_page, prod_w, "data after mprotect");
	check_part(st, data + g_ds, g_ds, 3 * g_page, prod_w, "second copy after mprotect");
}

static int never_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	CHECK(!"callback not called");
	return 0;
}

static void expect_consume_err(struct ringbuf *rb, int err)
{
	errno = 0;
	CHECK_EQ(ringbuf_consume(rb, never_cb, NULL), -err);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK_EQ(ringbuf_consume_n(rb, never_cb, NULL, 10), -err);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK_EQ(ringbuf_poll(rb, never_cb, NULL, 0), -err);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK_EQ(ringbuf_poll(rb, never_cb, NULL, 20), -err);
	CHECK_EQ(errno, err);
}

static void expect_produce_err(struct ringbuf *rb, int err)
{
	uint8_t buf[16] = { 0 };

	errno = 0;
	CHECK_EQ(ringbuf_output(rb, buf, sizeof(buf), 0), -err);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK(ringbuf_reserve(rb, 16, 0) == NULL);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK(ringbuf_reserve_wait(rb, 16, 0) == NULL);
	CHECK_EQ(errno, err);
	errno = 0;
	CHECK(ringbuf_reserve_wait(rb, 16, 10) == NULL);
	CHECK_EQ(errno, err);
}

static void test_roles(void)
{
	char name[256];
	uintptr_t before[MAX_VMAS];

	mkname(name, sizeof(name), "roles");
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	struct stat st = name_stat(name);

	/* The role-0 creator: everything writable. */
	int nb = handle_bases(&st, before);
	CHECK_EQ(nb, 1);
	check_layout(&st, before[0], 0);
	uintptr_t creator = before[0];

	/* Producer handle. */
	struct ringbuf_opts o = opts_role(RINGBUF_ROLE_PRODUCER);
	struct ringbuf *p = ringbuf_open(name, &o);
	CHECK(p != NULL);
	uintptr_t pbase = new_base(&st, before, nb);
	check_layout(&st, pbase, RINGBUF_ROLE_PRODUCER);
	expect_consume_err(p, EOPNOTSUPP);
	CHECK_EQ(out_rec(p, 0xE1, 0, 0), 0);
	void *s = ringbuf_reserve(p, rec_size(1), 0);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 1);
	ringbuf_submit(s, 0);
	s = ringbuf_reserve_wait(p, rec_size(2), 10);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 2);
	ringbuf_submit(s, 0);
	s = ringbuf_reserve(p, 16, 0);
	CHECK(s != NULL);
	ringbuf_discard(s, 0);
	CHECK_EQ(ringbuf_query(p, RINGBUF_RING_SIZE), g_ds);
	expect_consume_err(p, EOPNOTSUPP); /* records waiting change nothing */
	consume_expect(rb, 0xE1, 0, 3);
	CHECK_EQ(ringbuf_query(p, RINGBUF_CONS_POS), ringbuf_query(rb, RINGBUF_CONS_POS));

	/* Consumer handle. */
	nb = handle_bases(&st, before);
	CHECK_EQ(nb, 2);
	o = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *c = ringbuf_open(name, &o);
	CHECK(c != NULL);
	uintptr_t cbase = new_base(&st, before, nb);
	check_layout(&st, cbase, RINGBUF_ROLE_CONSUMER);
	expect_produce_err(c, EOPNOTSUPP);
	CHECK_EQ(ringbuf_query(c, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_consume(c, never_cb, NULL), 0);
	CHECK_EQ(ringbuf_poll(c, never_cb, NULL, 0), 0);

	/* submit/discard of a pointer into the consumer handle's data: a BUSY
	 * record reserved through the producer handle, seen through c. */
	s = ringbuf_reserve(p, rec_size(3), 0);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 3);
	uintptr_t off = (uintptr_t)s - (pbase + 3 * g_page);
	CHECK(off < g_ds);
	CHECK_EQ(memcmp((void *)(cbase + 3 * g_page + off), s, rec_size(3)), 0);
	uint32_t hdr;
	memcpy(&hdr, (void *)(cbase + 3 * g_page + off - 8), 4);
	CHECK(hdr & RINGBUF_BUSY_BIT);
	void *alias[] = { (void *)(cbase + 3 * g_page + off),
			  (void *)(cbase + 3 * g_page + g_ds + off) };
	for (int i = 0; i < 2; i++) {
		errno = 0;
		ringbuf_submit(alias[i], 0);
		CHECK_EQ(errno, EINVAL);
		errno = 0;
		ringbuf_discard(alias[i], RINGBUF_FORCE_WAKEUP);
		CHECK_EQ(errno, EINVAL);
	}
	memcpy(&hdr, (void *)(cbase + 3 * g_page + off - 8), 4);
	CHECK(hdr & RINGBUF_BUSY_BIT);
	CHECK(ringbuf_query(c, RINGBUF_AVAIL_DATA) > 0);
	CHECK_EQ(ringbuf_consume(c, never_cb, NULL), 0); /* still BUSY */
	/* the same record through the creator's (writable) alias is real */
	ringbuf_submit((void *)(creator + 3 * g_page + off), 0);
	struct col col = { .tag = 0xE1, .next = 3, .ordered = true };
	CHECK_EQ(ringbuf_consume(c, col_cb, &col), 1);
	CHECK_EQ(col.next, 4);

	/* The role-0 creator cannot consume while c's claim stands (checked
	 * across processes in the claim test); after c is freed it can. */
	ringbuf_free(c);
	CHECK_EQ(out_rec(p, 0xE1, 4, 0), 0);
	consume_expect(rb, 0xE1, 4, 5);

	ringbuf_free(p);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* ringbuf_new with roles. */
	o = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *nc = ringbuf_new(g_ds, &o);
	CHECK(nc != NULL);
	expect_produce_err(nc, EOPNOTSUPP);
	CHECK_EQ(ringbuf_consume(nc, never_cb, NULL), 0);
	/* its claim holds for from_fd too */
	errno = 0;
	CHECK(ringbuf_from_fd(ringbuf_fd(nc), &o) == NULL);
	CHECK_EQ(errno, EBUSY);
	struct ringbuf_opts po = opts_role(RINGBUF_ROLE_PRODUCER);
	struct ringbuf *np = ringbuf_from_fd(ringbuf_fd(nc), &po);
	CHECK(np != NULL);
	expect_consume_err(np, EOPNOTSUPP);
	CHECK_EQ(out_rec(np, 0xE2, 0, 0), 0);
	struct col col2 = { .tag = 0xE2, .ordered = true };
	CHECK_EQ(ringbuf_consume(nc, col_cb, &col2), 1);
	ringbuf_free(nc);
	struct ringbuf *nc2 = ringbuf_from_fd(ringbuf_fd(np), &o); /* claim released */
	CHECK(nc2 != NULL);
	ringbuf_free(nc2);
	ringbuf_free(np);

	o = opts_role(RINGBUF_ROLE_PRODUCER);
	np = ringbuf_new(g_ds, &o);
	CHECK(np != NULL);
	expect_consume_err(np, EOPNOTSUPP);
	CHECK_EQ(out_rec(np, 0xE3, 0, 0), 0);
	ringbuf_free(np);

	/* from_fd of a named ring's fd: EPROTO (not size-sealed), whichever
	 * handle's fd it is. */
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	errno = 0;
	CHECK(ringbuf_from_fd(ringbuf_fd(rb), NULL) == NULL);
	CHECK_EQ(errno, EPROTO);
	struct ringbuf *op = ringbuf_open(name, NULL);
	CHECK(op != NULL);
	errno = 0;
	CHECK(ringbuf_from_fd(ringbuf_fd(op), NULL) == NULL);
	CHECK_EQ(errno, EPROTO);
	char path[512];
	shm_path(path, sizeof(path), name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(ringbuf_from_fd(fd, NULL) == NULL);
	CHECK_EQ(errno, EPROTO);
	close(fd);
	ringbuf_free(op);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("roles: ok\n");
}

/* ------------------------------------------------------------------------
 * (e) the consumer claim
 * ------------------------------------------------------------------------ */

static void test_claim(void)
{
	char name[256];
	struct ringbuf_opts co = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf_opts po = opts_role(RINGBUF_ROLE_PRODUCER);
	struct reply r;

	mkname(name, sizeof(name), "claim");
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL); /* role 0 */
	CHECK(rb != NULL);
	struct ringbuf *prod = ringbuf_open(name, &po);
	CHECK(prod != NULL);

	/* e1: a live consumer in another process. */
	struct peer a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "second consumer, other process holds");
	struct peer b = peer_start(name);
	r = peer_call(&b, 'n', 0, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EBUSY); /* a third process too */
	peer_open(&b, 0);       /* role 0 opens, but cannot consume */
	CHECK_EQ(out_rec(prod, 0xF1, 0, 0), 0);
	r = peer_call(&b, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, -EBUSY);
	CHECK_EQ(r.err, EBUSY);
	expect_consume_err(rb, EBUSY); /* the role-0 creator */
	struct ringbuf *p2 = ringbuf_open(name, &po); /* producers are not refused */
	CHECK(p2 != NULL);
	ringbuf_free(p2);
	r = peer_call(&a, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, 1);
	CHECK_EQ(r.c.seq[0], 0);

	/* released by ringbuf_free() while the process lives on */
	peer_call(&a, 'f', 0, 0);
	CHECK_EQ(out_rec(prod, 0xF1, 1, 0), 0);
	r = peer_call(&b, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, 1);
	CHECK_EQ(r.c.seq[0], 1);
	peer_end(&b);
	struct ringbuf *c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	expect_open_err(name, &co, EBUSY, "second consumer, same process");
	r = peer_call(&a, 'n', 0, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EBUSY); /* now we hold it */
	ringbuf_free(c1);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	ringbuf_free(c1);
	peer_end(&a);
	consume_expect(rb, 0xF1, 2, 2); /* the role-0 handle works again */

	/* e2: the claimant is killed, then reaped. */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "consumer alive");
	peer_kill(&a, true);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	ringbuf_free(c1);

	/* e3: the claimant is killed and still a zombie (our child). */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "consumer alive");
	peer_kill(&a, false);
	CHECK_EQ(proc_state(a.pid), 'Z');
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	CHECK_EQ(proc_state(a.pid), 'Z'); /* taken over before the reaping */
	expect_open_err(name, &co, EBUSY, "taken over");
	ringbuf_free(c1);
	int status;
	CHECK_EQ(waitpid(a.pid, &status, 0), a.pid);

	/* e4: a role-0 handle is refused while the claimant lives and
	 * consumes again once it was killed (zombie, then reaped). */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(out_rec(prod, 0xF2, 0, 0), 0);
	expect_consume_err(rb, EBUSY);
	peer_kill(&a, false);
	consume_expect(rb, 0xF2, 0, 1);
	CHECK_EQ(waitpid(a.pid, &status, 0), a.pid);
	c1 = ringbuf_open(name, &co); /* the role-0 consume left nothing behind */
	CHECK(c1 != NULL);
	ringbuf_free(c1);

	/* e5: a consumer re-attaching resumes from consumer_pos: the first
	 * consumer takes 4 of 10 and is killed; the next one gets the rest
	 * and the later ones, nothing twice. */
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(out_rec(prod, 0xF3, i, 0), 0);
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	r = peer_call(&a, 'c', 0xF3, 4);
	CHECK_EQ(r.ret, 4);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_EQ(r.c.seq[i], i);
	uint64_t cpos = ringbuf_query(prod, RINGBUF_CONS_POS);
	CHECK(cpos > 0);
	peer_kill(&a, true);
	for (uint32_t i = 10; i < 15; i++)
		CHECK_EQ(out_rec(prod, 0xF3, i, 0), 0);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	CHECK_EQ(ringbuf_query(c1, RINGBUF_CONS_POS), cpos);
	struct col col = { .tag = 0xF3, .next = 4, .ordered = true };
	CHECK_EQ(ringbuf_consume_n(c1, col_cb, &col, 3), 3);
	ringbuf_free(c1);
	/* ... and again through a consumer in another process, freed cleanly */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	r = peer_call(&a, 'c', 0xF3, 100);
	CHECK_EQ(r.ret, 8);
	for (uint32_t i = 0; i < 8; i++)
		CHECK_EQ(r.c.seq[i], 7 + i);
	peer_call(&a, 'f', 0, 0);
	peer_end(&a);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(out_rec(prod, 0xF3, 15, 0), 0);
	consume_expect(rb, 0xF3, 15, 16);

	ringbuf_free(prod);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("consumer claim: ok\n");
}

int main(void)
{
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	g_ds = DATA_PAGES * g_page;
	g_parent = getpid();
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	umask(0); /* modes are checked exactly */
	snprintf(g_prefix, sizeof(g_prefix), "t_names-%d-", (int)g_parent);

	struct stat st;
	if (stat(SHM_DIR, &st) || !S_ISDIR(st.st_mode))
		SKIP("no %s", SHM_DIR);
	remove_stale();
	our_files(true);
	CHECK_EQ(our_files(false), 0);
	atexit(cleanup);

	test_create_basic();
	test_validation();
	test_not_a_ring();
	test_access();
	test_never_half_made();
	test_by_name();
	test_roles();
	test_claim();
	CHECK_EQ(our_files(false), 0);
	return T_PASS;
}
