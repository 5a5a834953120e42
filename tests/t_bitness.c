/* SPDX-License-Identifier: MIT */
/*
 * t_bitness -- 32- and 64-bit processes on one named ring.  The shared
 * layout is fixed-width; this runs tests/peer/bitness_peer built both ways
 * against each other: a 32-bit producer with a 64-bit consumer and the
 * reverse, the consumer waiting on the futex (ringbuf_poll) and on its
 * wakeup socket (poll() on ringbuf_epoll_fd()):
 *
 *   - wakeups by the kernel's rules across the two: the consumer stays
 *     asleep after NO_WAKEUP records and adaptive ones behind them, and
 *     wakes for FORCE_WAKEUP (on output, submit, discard) and for adaptive
 *     commits at its position; the wakeups counter moves by one each time;
 *   - a dead producer: a producer of the other bitness SIGKILLed while it
 *     holds a reserved record at the consumer's position, with records
 *     committed behind it; the consumer recovers it (recover_ms 100) and
 *     delivers what follows;
 *   - a bulk run through a 16 KiB ring (the positions wrap ~30 times) with
 *     output, reserve+submit and discards, waiting for room;
 *   - every record in order, byte for byte (the consumer checks each), and
 *     the counters (reserved, bytes, discarded, recovered, wakeups,
 *     positions) identical as each side reads them, and as expected.
 *
 * The other bitness's peer is found in build-m32/tests (for a 64-bit test)
 * or build/tests (for a 32-bit one), or by RINGBUF_BITNESS_PEER32 /
 * RINGBUF_BITNESS_PEER64.  Without it, or if it cannot run here, the test
 * skips: `make m32` builds both and runs the 32-bit t_bitness.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"
#include "proc.h"
#include "peer/bitness.h"

#define RING_SIZE  16384
#define RECOVER_MS 100
#define BULK       3000
#define WAKE_MS    3000 /* a wakeup (or a recovery) must come within this */
#define QUIET_MS   50   /* a consumer that must stay asleep is watched this long */

static char peer32[PATH_MAX], peer64[PATH_MAX];
static char ring_name[64]; /* the ring in use, unlinked at exit */

static void unlink_ring(void)
{
	if (ring_name[0])
		(void)ringbuf_unlink(ring_name);
}

/* ---- peers: processes with a pipe to stdin and one from stdout ---------------- */

struct peer {
	pid_t pid;
	int in, out; /* its stdin (ours to write), its stdout (ours to read) */
	char buf[1024];
	size_t len;
};

static void peer_start(struct peer *p, const char *path, const char *const *argv)
{
	int in[2], out[2];

	memset(p, 0, sizeof(*p));
	CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
	p->pid = proc_fork_child(getpid(), 60); /* the alarm survives exec */
	if (p->pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
}

/* The next line from @p within @ms, into @line (without the newline);
 * false if none came. */
static bool peer_line(struct peer *p, char *line, size_t size, int ms)
{
	uint64_t end = t_now_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		uint64_t now = t_now_ns();
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - p->buf);

			CHECK(l < size);
			memcpy(line, p->buf, l);
			line[l] = '\0';
			memmove(p->buf, nl + 1, p->len - l - 1);
			p->len -= l + 1;
			return true;
		}
		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000000 + 1)) <= 0)
			return false;
		CHECK(p->len < sizeof(p->buf));
		n = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			return false;
		p->len += (size_t)n;
	}
}

static void peer_expect(struct peer *p, const char *want, int ms)
{
	char line[256];

	if (!peer_line(p, line, sizeof(line), ms)) {
		fprintf(stderr, "peer %d: no \"%s\" within %d ms\n", (int)p->pid, want, ms);
		CHECK(!"the peer's line");
	}
	if (strcmp(line, want)) {
		fprintf(stderr, "peer %d: \"%s\", want \"%s\"\n", (int)p->pid, line, want);
		CHECK(!"the peer's line");
	}
}

static void peer_cmd(struct peer *p, const char *cmd)
{
	CHECK_EQ(write(p->in, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
}

/* Wait for @p to exit 0, within 20 s. */
static void peer_end(struct peer *p)
{
	CHECK(proc_exited_with(p->pid, proc_wait_status(p->pid, 20, 1000), 0));
	close(p->in);
	close(p->out);
}

/* Run a peer command to its end; its first output line into @line. */
static void peer_run(const char *path, const char *const *argv, char *line, size_t size)
{
	struct peer p;

	peer_start(&p, path, argv);
	if (line && !peer_line(&p, line, size, 20000))
		line[0] = '\0';
	peer_end(&p);
}

/* ---- finding the peers ---------------------------------------------------------- */

/* @path (PATH_MAX bytes) = @a @b @c; @a may be @path. */
static void set_path(char *path, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	CHECK(la + lb + lc < PATH_MAX);
	memmove(path, a, la);
	memcpy(path + la, b, lb);
	memcpy(path + la + lb, c, lc + 1);
}

/* The peer of the other bitness: @env, or @dir/tests/bitness_peer of the
 * repository (two levels above this test's directory). */
static void other_peer(char *path, const char *env, const char *dir)
{
	char exe[PATH_MAX], root[PATH_MAX];
	const char *e = getenv(env);

	if (e && *e) {
		set_path(path, e, "", "");
		return;
	}
	t_exe_dir(exe);
	set_path(path, exe, "/../..", "");
	if (realpath(path, root))
		set_path(path, root, "", "");
	set_path(path, path, "/", dir);
	set_path(path, path, "/tests/", "bitness_peer");
}

/* Both peers exist, run here, and speak this test's protocol. */
static void find_peers(void)
{
	char exe[PATH_MAX], *self, *other, line[128], want[128];
	const char *how;
	int bits = (int)(8 * sizeof(void *));

	CHECK(bits == 32 || bits == 64);
	t_exe_dir(exe);
	self = bits == 64 ? peer64 : peer32;
	other = bits == 64 ? peer32 : peer64;
	set_path(self, exe, "/", "bitness_peer");
	if (bits == 64) {
		other_peer(other, "RINGBUF_BITNESS_PEER32", "build-m32");
		how = "make m32 builds it, and runs this test in 32-bit against this one";
	} else {
		other_peer(other, "RINGBUF_BITNESS_PEER64", "build");
		how = "make m32 builds it (or set RINGBUF_BITNESS_PEER64)";
	}
	CHECK(access(self, X_OK) == 0);
	if (access(other, X_OK))
		SKIP("no %d-bit peer at %s (%s)", 96 - bits, other, how);
	/* the paths, as the table shows them */
	for (int i = 0; i < 2; i++) {
		char *p = i ? other : self, real[PATH_MAX];

		if (realpath(p, real))
			set_path(p, real, "", "");
	}
	for (int i = 0; i < 2; i++) {
		const char *path = i ? peer64 : peer32;
		const char *argv[] = { path, "info", NULL };

		snprintf(want, sizeof(want), "bits=%d layout=%u proto=%u", i ? 64 : 32,
			 RINGBUF_LAYOUT_VERSION, BN_PROTO);
		peer_run(path, argv, line, sizeof(line));
		if (strcmp(line, want))
			SKIP("the peer %s says \"%s\", not \"%s\": built from other sources or "
			     "cannot run here (rebuild with make m32)", path, line, want);
	}
}

/* ---- one scenario ---------------------------------------------------------------- */

struct counts {
	unsigned long long reserved, bytes, discarded, recovered, wakeups;
};

static void produce(const char *prod, uint32_t first, const char *ops)
{
	char f[16];
	const char *argv[] = { prod, "produce", ring_name, f, ops, NULL };

	snprintf(f, sizeof(f), "%u", first);
	peer_run(prod, argv, NULL, 0);
}

/* The consumer's result line: @n records delivered now, @total in all,
 * @recovered as its counter says; then the ring's wakeups counter (in @m,
 * read by this process's bitness) is @wakeups.  The producer has exited:
 * its count is in. */
static void expect_result(struct peer *c, int n, uint32_t total, unsigned long long recovered,
			  const struct ringbuf_shm_meta *m, unsigned long long wakeups)
{
	char want[128];

	snprintf(want, sizeof(want), "n=%d total=%u recovered=%llu", n, total, recovered);
	peer_expect(c, want, WAKE_MS);
	CHECK_EQ(__atomic_load_n(&m->wakeups, __ATOMIC_RELAXED), wakeups);
}

/* The consumer sleeps in its wait: state S on ten looks in a row with
 * consumer_waiting @how in the consumer page @cp. */
static void wait_asleep(struct peer *c, const struct ringbuf_shm_consumer *cp, uint32_t how)
{
	uint64_t t0 = t_now_ns();
	int streak = 0;

	while (streak < 10) {
		uint32_t w = __atomic_load_n(&cp->consumer_waiting, __ATOMIC_ACQUIRE);

		streak = (proc_state(c->pid) == 'S' && w == how) ? streak + 1 : 0;
		if (t_now_ns() - t0 > 5000000000ull) {
			fprintf(stderr, "consumer %d: state %c, consumer_waiting %u\n", (int)c->pid,
				proc_state(c->pid), w);
			CHECK(!"the consumer sleeps in its wait");
		}
		usleep(500);
	}
}

/* It is still asleep after QUIET_MS, and has said nothing. */
static void stays_asleep(struct peer *c, const struct ringbuf_shm_consumer *cp, uint32_t how)
{
	char line[128];

	CHECK(!peer_line(c, line, sizeof(line), QUIET_MS));
	CHECK_EQ(proc_state(c->pid), 'S');
	CHECK_EQ(__atomic_load_n(&cp->consumer_waiting, __ATOMIC_ACQUIRE), how);
}

static void parse_stats(const char *line, struct counts *k, unsigned long long *prod,
			unsigned long long *cons)
{
	unsigned long long full, steals, size, flags;

	CHECK_EQ(sscanf(line,
			"stats reserved=%llu bytes=%llu discarded=%llu recovered=%llu wakeups=%llu "
			"full=%llu steals=%llu prod=%llu cons=%llu size=%llu flags=%llu",
			&k->reserved, &k->bytes, &k->discarded, &k->recovered, &k->wakeups, &full,
			&steals, prod, cons, &size, &flags),
		 11);
	CHECK_EQ(size, RING_SIZE);
	CHECK_EQ(flags, 0);
	CHECK_EQ(steals, 0);
}

static void scenario(int pbits, const char *mode, int idx)
{
	const char *prod = pbits == 32 ? peer32 : peer64, *cons = pbits == 32 ? peer64 : peer32;
	uint32_t how = strcmp(mode, "fd") ? RINGBUF_WAIT_FUTEX : RINGBUF_WAIT_FD;
	char path[128], size[16], rms[16], line[256], pline[256], target[32];
	struct ringbuf_shm_consumer *cp;
	struct ringbuf_shm_meta *m;
	struct counts want = { 0 }, got;
	unsigned long long w = 0, pp, cc;
	struct peer c, h;
	void *map;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd;
	uint64_t t0;

	snprintf(ring_name, sizeof(ring_name), "bitness.%d.%d", (int)getpid(), idx);
	snprintf(size, sizeof(size), "%d", RING_SIZE);
	snprintf(rms, sizeof(rms), "%d", RECOVER_MS);
	{
		const char *argv[] = { prod, "create", ring_name, size, NULL };

		peer_run(prod, argv, NULL, 0);
	}
	{
		const char *argv[] = { cons, "consume", ring_name, mode, rms, NULL };

		peer_start(&c, cons, argv);
	}
	peer_expect(&c, "ready", 10000);
	/* the metadata and consumer pages: the consumer's arming, the
	 * counters */
	snprintf(path, sizeof(path), "/dev/shm/ringbuf.%s", ring_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	map = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	close(fd);
	m = map;
	cp = (void *)((char *)map + RINGBUF_SHM_CONSUMER_PAGE * page);
	CHECK_EQ(m->magic, RINGBUF_MAGIC);
	CHECK_EQ(m->data_size, RING_SIZE);

	/* NO_WAKEUP records, and adaptive ones behind them: asleep it stays */
	peer_cmd(&c, "p\n");
	peer_expect(&c, "polling", WAKE_MS);
	wait_asleep(&c, cp, how);
	produce(prod, 0, "on sn dn oa sa da");
	stays_asleep(&c, cp, how);
	/* FORCE_WAKEUP: woken, everything before delivered */
	produce(prod, 4, "of");
	expect_result(&c, 5, 5, 0, m, ++w);
	/* adaptive at the consumer position; FORCE on a discard behind; an
	 * adaptive discard at the position; an adaptive output */
	{
		static const struct { uint32_t first; const char *ops; int n; } s[] = {
			{ 5, "sa", 1 }, { 6, "on sn df", 2 }, { 8, "da", 0 }, { 8, "oa", 1 },
		};
		uint32_t total = 5;

		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
			peer_cmd(&c, "p\n");
			peer_expect(&c, "polling", WAKE_MS);
			wait_asleep(&c, cp, how);
			produce(prod, s[i].first, s[i].ops);
			total += (uint32_t)s[i].n;
			expect_result(&c, s[i].n, total, 0, m, ++w);
		}
	}
	want.reserved = 13;
	want.discarded = 4;
	for (uint32_t i = 0; i < 9; i++)
		want.bytes += bn_size(i);
	want.bytes += 4 * BN_DISCARD_SIZE;

	/* a producer of the other bitness dies holding the head record, with
	 * two records committed behind it: recovered, and they come */
	{
		const char *argv[] = { prod, "hold", ring_name, NULL };

		peer_start(&h, prod, argv);
	}
	peer_expect(&h, "held", 10000);
	peer_cmd(&c, "r\n");
	peer_expect(&c, "polling", WAKE_MS);
	produce(prod, 9, "oa sa");
	CHECK(!peer_line(&c, line, sizeof(line), 2 * RECOVER_MS)); /* its owner lives */
	CHECK_EQ(kill(h.pid, SIGKILL), 0);
	t0 = t_now_ns();
	{
		int st = proc_wait_status(h.pid, 10, 1000);

		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	close(h.in);
	close(h.out);
	expect_result(&c, 2, 11, 1, m, w);
	CHECK(t_now_ns() - t0 < (uint64_t)WAKE_MS * 1000000ull);
	want.reserved += 3;
	want.bytes += BN_HOLD_SIZE + bn_size(9) + bn_size(10);
	want.recovered = 1;

	/* bulk, through the wrapping ring */
	snprintf(target, sizeof(target), "c %d\n", 11 + BULK);
	peer_cmd(&c, target);
	{
		char first[16], count[16];
		const char *argv[] = { prod, "bulk", ring_name, first, count, NULL };

		snprintf(first, sizeof(first), "%d", 11);
		snprintf(count, sizeof(count), "%d", BULK);
		peer_run(prod, argv, NULL, 0);
	}
	CHECK(peer_line(&c, line, sizeof(line), 20000));
	{
		int n;
		unsigned total;
		unsigned long long rec;

		CHECK_EQ(sscanf(line, "n=%d total=%u recovered=%llu", &n, &total, &rec), 3);
		CHECK_EQ(n, BULK);
		CHECK_EQ(total, 11 + BULK);
		CHECK_EQ(rec, 1);
	}
	for (uint32_t i = 0; i < BULK; i++) {
		want.reserved += 1 + (uint32_t)bn_bulk_discard(i);
		want.discarded += (uint32_t)bn_bulk_discard(i);
		want.bytes += bn_size(11 + i) + (bn_bulk_discard(i) ? BN_DISCARD_SIZE : 0);
	}

	/* the counters, as each side reads them */
	peer_cmd(&c, "q\n");
	CHECK(peer_line(&c, line, sizeof(line), WAKE_MS));
	peer_end(&c);
	{
		const char *argv[] = { prod, "stats", ring_name, NULL };

		peer_run(prod, argv, pline, sizeof(pline));
	}
	if (strcmp(line, pline)) {
		fprintf(stderr, "the %d-bit consumer read:\n  %s\nthe %d-bit producer:\n  %s\n",
			96 - pbits, line, pbits, pline);
		CHECK(!"both sides read the same counters");
	}
	parse_stats(line, &got, &pp, &cc);
	CHECK_EQ(got.reserved, want.reserved);
	CHECK_EQ(got.bytes, want.bytes);
	CHECK_EQ(got.discarded, want.discarded);
	CHECK_EQ(got.recovered, want.recovered);
	/* the bulk run's wakeups depend on timing: at least those before */
	CHECK(got.wakeups >= w);
	CHECK_EQ(got.wakeups, __atomic_load_n(&m->wakeups, __ATOMIC_RELAXED));
	CHECK_EQ(pp, cc);
	CHECK(pp > 20 * RING_SIZE); /* it wrapped */
	CHECK_EQ(ringbuf_unlink(ring_name), 0);
	ring_name[0] = '\0';
	munmap(map, 2 * page);
	printf("%d-bit producer -> %d-bit consumer, %-5s  %u records, wakeups %llu, "
	       "recovered %llu, positions %llu: pass\n",
	       pbits, 96 - pbits, mode, 11 + BULK, got.wakeups, got.recovered, pp);
	fflush(stdout);
}

int main(void)
{
	atexit(unlink_ring);
	find_peers();
	printf("t_bitness: %s and %s on one ring\n", peer32, peer64);
	scenario(32, "futex", 0);
	scenario(64, "futex", 1);
	scenario(32, "fd", 2);
	scenario(64, "fd", 3);
	return T_PASS;
}
