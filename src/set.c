/* SPDX-License-Identifier: MIT */
/*
 * set.c -- ring sets: N plain rings of one size used as one object, so
 * that many producers stop fighting over one reservation lock.
 *
 * Each member is an ordinary ring, byte for byte; nothing is shared
 * between members.  What the set adds is the choice of ring per producer
 * and one consumer over all of them.
 *
 * Placement.  A producer thread writes into a ring of the CPU it runs on
 * (ring i belongs to CPU c when i % B == c % B, B = min(N, CPUs)): two
 * threads on different CPUs never touch the same ring's lock, positions or
 * data lines, however many threads there are, and the threads that share a
 * CPU share its rings' lines only with each other (with more rings than
 * CPUs, a CPU's threads are spread over its rings by tid).  The fast path
 * is one per-thread answer (set, serial, tid, CPU -> ring) checked with
 * independent loads, the CPU read from glibc's rseq area; then the ring's
 * own output path (src/output.c's for small records) or ringbuf_reserve()
 * is tail-called.
 * Order is per producer thread, as in one ring: a thread that finds itself
 * on another CPU moves to that CPU's ring only once the consumer has
 * consumed everything it put in its current ring (its consumer_pos has
 * passed the producer_pos the thread saw after its last record there);
 * until then it keeps its ring -- sharing lines for a while, never
 * reordering its own records.  A full ring fails the reservation with
 * -EAGAIN, as one ring does: trying another ring would put the record
 * ahead of the thread's earlier ones.  Each thread's state (its ring, that
 * position) lives in a list owned by the set, found through a small
 * per-thread cache; entries are pushed with a compare-and-swap and freed
 * only with the set, so no lock is taken on any producer path (fork()-safe).
 *
 * Consumer (src/set_consume.c).  ringbuf_set_consume() consumes every ring
 * once, starting one ring further each call; ringbuf_set_poll() waits on
 * an epoll instance of the set's own over the members' epoll fds, made on
 * first use; ringbuf_set_consume_ordered() merges the rings' heads by a
 * timestamp the records carry.  A set may also be a kernel map of ring
 * buffers, whose members follow its inner maps.
 *
 * Names.  A named set NAME is the rings NAME.0 .. NAME.(N-1), each carrying
 * the set's random id, N and its index in its metadata page, written before
 * its name appears.  Members are created last to first, so NAME.0 appears
 * only once every other member exists; opening starts from NAME.0 and
 * checks every member's identity and size.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && \
	(defined(__x86_64__) || defined(__aarch64__))
#include <sys/rseq.h>
#define RB_HAVE_RSEQ 1
#endif

#include "set.h"

static uint64_t rb_set_serial;

static __thread struct {
	const struct ringbuf_set *s;
	uint64_t serial;
	struct rb_set_thr *t;
} rb_set_cache[RB_SET_CACHE] __attribute__((tls_model("initial-exec")));
static __thread unsigned rb_set_cache_next __attribute__((tls_model("initial-exec")));
/* The fast path's answer (rb_set_pick()): this thread's ring of set s
 * while it runs on cpu. */
static __thread struct {
	const struct ringbuf_set *s;
	uint64_t serial;
	uint32_t tid;
	int cpu;
	struct ringbuf *rb;
} rb_set_hot __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------------------
 * Building and freeing
 * ------------------------------------------------------------------------ */

/* Placement over n rings: CPU c's rings are those i with i % base ==
 * c % base (base = min(n, CPUs)); with more rings than CPUs, the threads of
 * one CPU are spread over its n / base rings by their tid, so that a
 * thread preempted while it holds a ring's lock stalls only the few
 * threads that share that ring. */
static void rb_set_layout(struct ringbuf_set *s)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	s->base = s->n < (unsigned)(cpus > 0 ? cpus : 1) ? s->n : (unsigned)(cpus > 0 ? cpus : 1);
	s->groups = s->base ? s->n / s->base : 1;
}

/* The ring of a thread of @tid on @cpu. */
static uint32_t rb_set_want(const struct ringbuf_set *s, int cpu, uint32_t tid)
{
	uint32_t h = (tid * 2654435761u) >> 8;

	return (uint32_t)cpu % s->base + s->base * (s->groups > 1 ? h % s->groups : 0);
}

struct ringbuf_set *rb_set_alloc(unsigned n)
{
	struct ringbuf_set *s = calloc(1, sizeof(*s));

	if (!s || !(s->ring = calloc(n ? n : 1, sizeof(*s->ring)))) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->n = n;
	rb_set_layout(s);
	s->serial = __atomic_add_fetch(&rb_set_serial, 1, __ATOMIC_RELAXED);
	s->epfd = -1;
	s->outer_fd = -1;
	return s;
}

void ringbuf_set_free(struct ringbuf_set *s)
{
	struct rb_set_thr *t, *next;

	if (!s)
		return;
	if (s->in_call) {
		errno = EBUSY; /* from a callback of its own consume or poll */
		return;
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->outer_fd >= 0)
		close(s->outer_fd);
	free(s->ids);
	free(s->head);
	for (unsigned i = 0; i < s->n; i++)
		ringbuf_free(s->ring[i]);
	for (t = s->threads; t; t = next) {
		next = t->next;
		free(t);
	}
	free(s->ring);
	free(s);
}

/* Only 0, the role, mode and recover_ms apply to a set's rings. */
static bool rb_set_opts_ok(const struct ringbuf_opts *opts)
{
	return !opts || opts->sz < offsetof(struct ringbuf_opts, flags) + sizeof(opts->flags) ||
	       !opts->flags;
}

struct ringbuf_set *ringbuf_set_new(unsigned n, size_t ring_size, const struct ringbuf_opts *opts)
{
	struct ringbuf_set *s;

	if (!n || n > RB_SET_MAX || !rb_set_opts_ok(opts)) {
		errno = EINVAL;
		return NULL;
	}
	s = rb_set_alloc(n);
	if (!s)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		s->ring[i] = ringbuf_new(ring_size, opts);
		if (!s->ring[i]) {
			int e = errno;

			ringbuf_set_free(s);
			errno = e;
			return NULL;
		}
	}
	return s;
}

/* NAME.IDX into @buf (RINGBUF_NAME_MAX + 1 bytes): 0, or -EINVAL when the
 * set's name leaves no room for the index. */
static int rb_set_member(char *buf, const char *name, unsigned idx)
{
	int len;

	if (!name)
		return -EINVAL;
	len = snprintf(buf, RINGBUF_NAME_MAX + 1, "%s.%u", name, idx);
	return len < 0 || len > RINGBUF_NAME_MAX ? -EINVAL : 0;
}

int ringbuf_set_unlink(const char *name)
{
	char member[RINGBUF_NAME_MAX + 1];
	struct ringbuf *r0;
	uint64_t id;
	unsigned n;
	int err;

	err = rb_set_member(member, name, 0);
	if (err)
		return (int)rb_err(-err);
	r0 = ringbuf_open(member, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							  .role = RINGBUF_ROLE_PRODUCER });
	if (!r0)
		return -errno;
	id = ringbuf_query(r0, RINGBUF_SET_ID);
	n = (unsigned)ringbuf_query(r0, RINGBUF_SET_COUNT);
	ringbuf_free(r0);
	if (!id || !n)
		return (int)rb_err(EPROTO); /* NAME.0 is a ring of no set */
	/* NAME.0 first: the set is gone for openers before its parts are */
	err = ringbuf_unlink(member);
	if (err)
		return err;
	for (unsigned i = 1; i < n; i++) {
		struct ringbuf *r;

		rb_set_member(member, name, i);
		r = ringbuf_open(member, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
								 .role = RINGBUF_ROLE_PRODUCER });
		/* only our own members: a ring of that name from elsewhere stays */
		if (r && ringbuf_query(r, RINGBUF_SET_ID) == id &&
		    ringbuf_query(r, RINGBUF_SET_INDEX) == i)
			(void)ringbuf_unlink(member);
		ringbuf_free(r);
	}
	return 0;
}

struct ringbuf_set *ringbuf_set_create(const char *name, unsigned n, size_t ring_size,
				       const struct ringbuf_opts *opts)
{
	char member[RINGBUF_NAME_MAX + 1];
	struct rb_set_ident id = { .n = n };
	struct ringbuf_set *s;

	if (!n || n > RB_SET_MAX || !rb_set_opts_ok(opts) || rb_set_member(member, name, n - 1)) {
		errno = EINVAL;
		return NULL;
	}
	if (getrandom(&id.id, sizeof(id.id), GRND_NONBLOCK) != (ssize_t)sizeof(id.id) || !id.id)
		id.id = rb_now_ns() | 1;
	s = rb_set_alloc(n);
	if (!s)
		return NULL;
	for (unsigned i = n; i-- > 0;) {
		id.idx = i;
		rb_set_member(member, name, i);
		s->ring[i] = rb_create_ident(member, ring_size, opts, &id);
		if (!s->ring[i]) {
			int e = errno;

			for (unsigned k = i + 1; k < n; k++) {
				rb_set_member(member, name, k);
				(void)ringbuf_unlink(member);
			}
			ringbuf_set_free(s);
			errno = e;
			return NULL;
		}
	}
	return s;
}

struct ringbuf_set *ringbuf_set_open(const char *name, const struct ringbuf_opts *opts)
{
	char member[RINGBUF_NAME_MAX + 1];
	struct ringbuf_set *s;
	struct ringbuf *r0;
	uint64_t id, size;
	unsigned n;
	int e;

	if (rb_set_member(member, name, 0) || !rb_set_opts_ok(opts)) {
		errno = EINVAL;
		return NULL;
	}
	r0 = ringbuf_open(member, opts);
	if (!r0)
		return NULL;
	id = ringbuf_query(r0, RINGBUF_SET_ID);
	n = (unsigned)ringbuf_query(r0, RINGBUF_SET_COUNT);
	size = ringbuf_query(r0, RINGBUF_RING_SIZE);
	if (!id || !n || n > RB_SET_MAX || ringbuf_query(r0, RINGBUF_SET_INDEX) != 0) {
		ringbuf_free(r0);
		errno = EPROTO; /* NAME.0 is a ring of no set */
		return NULL;
	}
	s = rb_set_alloc(n);
	if (!s) {
		ringbuf_free(r0);
		return NULL;
	}
	s->ring[0] = r0;
	for (unsigned i = 1; i < n; i++) {
		rb_set_member(member, name, i);
		s->ring[i] = ringbuf_open(member, opts);
		e = errno;
		if (s->ring[i] && (ringbuf_query(s->ring[i], RINGBUF_SET_ID) != id ||
				   ringbuf_query(s->ring[i], RINGBUF_SET_INDEX) != i ||
				   ringbuf_query(s->ring[i], RINGBUF_RING_SIZE) != size))
			e = EPROTO; /* another set's ring, or none's */
		else if (s->ring[i])
			continue;
		ringbuf_set_free(s);
		errno = e;
		return NULL;
	}
	return s;
}

unsigned ringbuf_set_count(const struct ringbuf_set *s)
{
	return s ? s->n : 0;
}

struct ringbuf *ringbuf_set_ring(const struct ringbuf_set *s, unsigned i)
{
	if (!s || i >= s->n) {
		errno = EINVAL;
		return NULL;
	}
	return s->ring[i];
}

int ringbuf_set_stats(struct ringbuf_set *s, struct ringbuf_stats *out)
{
	struct ringbuf_stats sum = { .sz = sizeof(sum) };

	if (!s || !out || out->sz < sizeof(out->sz))
		return (int)rb_err(EINVAL);
	for (unsigned i = 0; i < s->n; i++) {
		struct ringbuf_stats st = { .sz = sizeof(st) };

		ringbuf_stats(s->ring[i], &st);
		sum.reserved += st.reserved;
		sum.reserved_bytes += st.reserved_bytes;
		sum.discarded += st.discarded;
		sum.refused_full += st.refused_full;
		sum.refused_too_big += st.refused_too_big;
		sum.refused_flags += st.refused_flags;
		sum.wakeups += st.wakeups;
		sum.lock_steals += st.lock_steals;
		sum.ring_size += st.ring_size;
		sum.avail_data += st.avail_data;
		sum.overwritten += st.overwritten;
		sum.lost += st.lost;
		sum.recovered += st.recovered;
		sum.refused_nested += st.refused_nested;
		sum.truncated += st.truncated;
		if (i == 0) {
			sum.consumer_pid = st.consumer_pid;
			sum.flags = st.flags;
		}
	}
	memcpy((char *)out + sizeof(out->sz), (char *)&sum + sizeof(sum.sz),
	       (out->sz < sizeof(sum) ? out->sz : sizeof(sum)) - sizeof(sum.sz));
	return 0;
}

/* ------------------------------------------------------------------------
 * Producers
 * ------------------------------------------------------------------------ */

/* The CPU this thread runs on, or -1.  glibc registers an rseq area for
 * each thread, in which the kernel keeps the current CPU: one load, where
 * sched_getcpu() costs a few nanoseconds (a measurable share of a 10 ns
 * record).  Without it (older glibc, rseq disabled), sched_getcpu(). */
static inline int rb_cpu(void)
{
#ifdef RB_HAVE_RSEQ
	if (__builtin_expect(__rseq_size != 0, 1))
		return (int)__atomic_load_n(
			(const uint32_t *)((const char *)__builtin_thread_pointer() + __rseq_offset +
					   offsetof(struct rseq, cpu_id)),
			__ATOMIC_RELAXED);
#endif
	return sched_getcpu();
}

/* The fast path's view of the CPU: the rseq area's cpu_id, read without
 * asking whether glibc registered it.  glibc keeps the area in every
 * thread; unregistered, its cpu_id is never a CPU (RSEQ_CPU_ID_*: -1, -2),
 * and the fast path's answer is only filled with a CPU when the area is
 * registered, so the two then never match.  Without rseq support: -4. */
static inline int rb_hot_cpu(void)
{
#ifdef RB_HAVE_RSEQ
	return (int)__atomic_load_n((const uint32_t *)((const char *)__builtin_thread_pointer() +
						       __rseq_offset + offsetof(struct rseq, cpu_id)),
				    __ATOMIC_RELAXED);
#else
	return -4;
#endif
}

/* This thread's entry in @s: from the cache, else found or pushed. */
static struct rb_set_thr *rb_set_thread(struct ringbuf_set *s)
{
	uint32_t tid = rb_tid();
	struct rb_set_thr *t;

	for (unsigned i = 0; i < RB_SET_CACHE; i++)
		if (rb_set_cache[i].s == s && rb_set_cache[i].serial == s->serial &&
		    rb_set_cache[i].t->tid == tid)
			return rb_set_cache[i].t;
	for (t = __atomic_load_n(&s->threads, __ATOMIC_ACQUIRE); t; t = t->next)
		if (t->tid == tid)
			break;
	if (!t) {
		int cpu = rb_cpu();

		/* a line of its own: written by its thread only, never beside
		 * another thread's entry */
		t = aligned_alloc(128, 128);
		if (!t)
			return NULL;
		memset(t, 0, 128);
		t->tid = tid;
		t->ring = cpu >= 0 ? rb_set_want(s, cpu, tid) : 0;
		t->next = __atomic_load_n(&s->threads, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(&s->threads, &t->next, t, false,
						    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			;
	}
	rb_set_cache[rb_set_cache_next].s = s;
	rb_set_cache[rb_set_cache_next].serial = s->serial;
	rb_set_cache[rb_set_cache_next].t = t;
	rb_set_cache_next = (rb_set_cache_next + 1) % RB_SET_CACHE;
	return t;
}

/* The ring this thread writes into now, the long way: its CPU's, unless
 * records it put in its current ring are still unconsumed (see the top
 * of this file).  Fills the fast path's answer when it may be reused. */
static struct ringbuf *rb_set_pick_slow(struct ringbuf_set *s, struct rb_set_thr **tp)
{
	struct rb_set_thr *t;
	int cpu = rb_cpu();
	uint32_t want;

	if (s->outer_fd >= 0 || !s->n)
		return NULL; /* kernel rings: BPF programs produce */
	t = rb_set_thread(s);
	if (!t)
		return NULL;
	want = cpu >= 0 ? rb_set_want(s, cpu, t->tid) : t->ring;
	if (want == t->ring) {
		t->end = 0; /* nothing to wait for: nothing tracked */
	} else {
		struct ringbuf *old = s->ring[t->ring];

		/* Everything this thread put in its ring lies below the ring's
		 * producer_pos now: that is what the consumer must pass (and
		 * what each record written while the move waits raises). */
		if (!t->end)
			t->end = READ_ONCE(old->prod->producer_pos);
		if ((int64_t)(smp_load_acquire(&old->cons->consumer_pos) - t->end) >= 0) {
			t->ring = want;
			t->end = 0;
		}
	}
	/* a move still pending: no fast path, and each record's end tracked */
	*tp = want == t->ring ? NULL : t;
	rb_set_hot.s = s;
	rb_set_hot.serial = s->serial;
	rb_set_hot.tid = t->tid;
#ifdef RB_HAVE_RSEQ
	rb_set_hot.cpu = want == t->ring && __rseq_size != 0 ? cpu : -3; /* see rb_hot_cpu() */
#else
	rb_set_hot.cpu = -3;
#endif
	rb_set_hot.rb = s->ring[t->ring];
	return rb_set_hot.rb;
}

/* The fast path: one per-thread answer, valid while the thread uses the
 * same set on the same CPU with no move pending.  Its loads are
 * independent of each other (chasing the thread's entry and the set's
 * ring array instead cost as much as the record itself), and the callers
 * below then tail-call the ring's own function. */
static __attribute__((always_inline)) inline struct ringbuf *rb_set_fast(const struct ringbuf_set *s)
{
	if (__builtin_expect(rb_set_hot.s == s && s && rb_set_hot.serial == s->serial &&
			     rb_set_hot.tid == rb_tls_tid && rb_set_hot.cpu == rb_hot_cpu(), 1))
		return rb_set_hot.rb;
	return NULL;
}

static __attribute__((noinline)) long rb_set_output_slow(struct ringbuf_set *s, const void *data,
							 uint64_t size, uint64_t flags)
{
	struct rb_set_thr *t = NULL;
	struct ringbuf *rb = s ? rb_set_pick_slow(s, &t) : NULL;
	long r;

	if (!rb)
		return rb_err(!s ? EINVAL : s->outer_fd >= 0 ? EOPNOTSUPP : ENOMEM);
	r = ringbuf_output(rb, data, size, flags);
	if (!r && t) /* a move waits: the consumer must pass this record too */
		t->end = READ_ONCE(rb->prod->producer_pos);
	return r;
}

long ringbuf_set_output(struct ringbuf_set *s, const void *data, uint64_t size, uint64_t flags)
{
	struct ringbuf *rb = rb_set_fast(s);

	if (__builtin_expect(rb != NULL, 1)) /* a member: never a single-producer ring */
		return size - 8 <= 8 ? rb_small_output(rb, data, size, flags)
				     : rb_output(rb, data, size, flags);
	return rb_set_output_slow(s, data, size, flags);
}

void *ringbuf_set_reserve(struct ringbuf_set *s, uint64_t size, uint64_t flags)
{
	struct rb_set_thr *t = NULL;
	struct ringbuf *rb = rb_set_fast(s);
	void *p;

	if (__builtin_expect(rb != NULL, 1))
		return ringbuf_reserve(rb, size, flags);
	rb = s ? rb_set_pick_slow(s, &t) : NULL;
	if (!rb) {
		errno = !s ? EINVAL : s->outer_fd >= 0 ? EOPNOTSUPP : ENOMEM;
		return NULL;
	}
	p = ringbuf_reserve(rb, size, flags);
	if (p && t) /* a move waits: and this record (BUSY holds the consumer) */
		t->end = READ_ONCE(rb->prod->producer_pos);
	return p;
}

