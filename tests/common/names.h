/* SPDX-License-Identifier: MIT */
/*
 * names.h (tests/t_names_*.c) -- named rings (ringbuf_create/open/unlink), roles and the
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
#ifndef RINGBUF_TEST_NAMES_H
#define RINGBUF_TEST_NAMES_H

/* Shared by the tests/t_names_*.c programs, each of which uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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
	CHECK_ERR(ringbuf_consume(rb, never_cb, NULL), err);
	CHECK_ERR(ringbuf_consume_n(rb, never_cb, NULL, 10), err);
	CHECK_ERR(ringbuf_poll(rb, never_cb, NULL, 0), err);
	CHECK_ERR(ringbuf_poll(rb, never_cb, NULL, 20), err);
}

static void expect_produce_err(struct ringbuf *rb, int err)
{
	uint8_t buf[16] = { 0 };

	CHECK_ERR(ringbuf_output(rb, buf, sizeof(buf), 0), err);
	CHECK_NULL_ERR(ringbuf_reserve(rb, 16, 0), err);
	CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 16, 0), err);
	CHECK_NULL_ERR(ringbuf_reserve_wait(rb, 16, 10), err);
}

/* ------------------------------------------------------------------------
 * (e) the consumer claim
 * ------------------------------------------------------------------------ */

/* What every t_names_* program does first: its name prefix, no stale
 * files of ours, cleanup at exit. */
static void names_begin(void)
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
}

#endif
