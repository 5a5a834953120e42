/* SPDX-License-Identifier: MIT */
/*
 * proc.c -- what the library needs of the process it runs in: the clock,
 * whether another process still lives, the futex, a process-local spin
 * lock, the table of this process's ring mappings, and fork(): the pid
 * cache and the locks a child must not inherit held.
 *
 * Nothing here touches a ring's shared memory (the futex word is the
 * caller's); every other library file may use it.
 */
#include "internal.h"
#include "barrier.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t rb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Has process @pid not yet exited?  A pidfd turns readable when the process
 * exits, even while it is an unreaped zombie, which kill(pid, 0) still
 * reports as existing.  A stopped process is alive. */
bool rb_process_alive(uint32_t pid)
{
	struct pollfd pfd = { .events = POLLIN };
	bool alive;

	if (pid == 0 || pid > INT_MAX)
		return false;
	pfd.fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pfd.fd < 0) {
		if (errno == ESRCH)
			return false;
		return kill((pid_t)pid, 0) == 0 || errno != ESRCH; /* no pidfd: best effort */
	}
	alive = poll(&pfd, 1, 0) == 0;
	close(pfd.fd);
	return alive;
}

/* The futex of a word in shared memory: not FUTEX_PRIVATE, so that it
 * works across processes mapping the same file. */
void rb_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void rb_futex_wait(uint32_t *word, uint32_t expect, const struct timespec *rel)
{
	syscall(SYS_futex, word, FUTEX_WAIT, expect, rel, NULL, 0);
}

/* Waiting for the holder of an owner lock (a word holding the holder's
 * pid, 0 when free): spin, then yield, and check the holder's liveness at
 * this interval; give up after a second. */
#define LOCK_SPINS          128
#define LOCK_LIVENESS_NS    (5 * 1000 * 1000)
#define LOCK_GIVEUP_NS      (1000 * 1000 * 1000)

/*
 * Take the owner lock @owner for process @me, or give up (false) once it
 * has been held by a live process for LOCK_GIVEUP_NS.  A holder found dead
 * is robbed (counted in @steals when not NULL).  The reservation lock of a
 * ringbuf ring (src/ring.c, section 4) and the producers' lock of a
 * kernel USER_RINGBUF map (src/kmap.c) are such locks.  Async-signal-safe
 * (system calls and atomics only); a signal handler never gets here for a
 * lock its own thread holds (src/ring.h, rb_enter()).
 */
bool rb_lock_slow(uint32_t *owner, uint32_t me, ringbuf_u64 *steals)
{
	uint64_t next_check = 0, give_up = 0;

	for (unsigned spins = 0;; spins++) {
		uint32_t cur = READ_ONCE(*owner);

		if (cur == 0) {
			/* A4: pairs with R4 in rb_unlock(). */
			if (atomic_compare_exchange_weak_explicit(RB_ATOMIC(owner), &cur, me,
								  memory_order_acquire,
								  memory_order_relaxed))
				return true;
			continue;
		}
		if (spins < LOCK_SPINS) {
			cpu_relax();
			continue;
		}
		/* The holder may be preempted (or dead): give the CPU away. */
		sched_yield();
		if (spins & 63)
			continue;
		uint64_t now = rb_now_ns();

		if (!next_check) {
			next_check = now + LOCK_LIVENESS_NS;
			give_up = now + LOCK_GIVEUP_NS;
		} else if (now >= give_up) {
			return false;
		} else if (cur != me && now >= next_check) {
			next_check = now + LOCK_LIVENESS_NS;
			if (!rb_process_alive(cur) &&
			    atomic_compare_exchange_strong_explicit(RB_ATOMIC(owner), &cur, me,
								    memory_order_acquire,
								    memory_order_relaxed)) {
				if (steals)
					atomic_fetch_add_explicit(RB_ATOMIC(steals), 1,
								  memory_order_relaxed);
				return true;
			}
		}
	}
}

/* A lock of this process's threads that a signal handler may try: one
 * word, taken by exchange (seq_cst, for rb_wake_send()'s hand-over). */
void rb_local_lock(uint32_t *lock)
{
	for (unsigned spins = 0; !rb_local_trylock(lock); spins++) {
		if (spins < LOCK_SPINS)
			cpu_relax();
		else
			sched_yield();
	}
}

/* ------------------------------------------------------------------------
 * The table of this process's mappings, for submit/discard
 * ------------------------------------------------------------------------ */

/*
 * Two views of one table.  The array, under rb_registry_lock, is what
 * fork() walks.  The slots are what ringbuf_submit()/discard() search, with
 * no lock, so that a signal handler can submit while its own thread was
 * inside ringbuf_new() or ringbuf_free(): chunks of slots that are never
 * freed, each slot a seqlock over {data address, length, handle}, written
 * only under the lock.  A reader skips a slot being written (odd seq): it
 * is a handle still being attached or being freed, which nobody may
 * submit to yet or any more.  A slot holds the data range itself, so a
 * reader never dereferences a handle that another thread is freeing.
 */
#define RB_SLOTS 64

struct rb_slot {
	uint32_t seq;
	uintptr_t lo, len;
	struct ringbuf *rb;
};

struct rb_chunk {
	struct rb_slot slot[RB_SLOTS];
	struct rb_chunk *next;
};

static pthread_mutex_t rb_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ringbuf **rb_registry;
static size_t rb_registry_len, rb_registry_cap;
static struct rb_chunk *rb_chunks;
uint64_t rb_registry_gen = 1; /* bumped on every removal */

static void rb_slot_write(struct rb_slot *sl, struct ringbuf *rb)
{
	uint32_t seq = READ_ONCE(sl->seq);

	WRITE_ONCE(sl->seq, seq + 1);
	smp_wmb();
	WRITE_ONCE(sl->lo, rb ? (uintptr_t)rb->data : 0);
	WRITE_ONCE(sl->len, rb ? (uintptr_t)(2 * rb->size) : 0);
	WRITE_ONCE(sl->rb, rb);
	smp_store_release(&sl->seq, seq + 2);
}

/* The slot holding @rb (NULL: a free one), or NULL; under the lock. */
static struct rb_slot *rb_slot_of(const struct ringbuf *rb)
{
	for (struct rb_chunk *c = rb_chunks; c; c = c->next)
		for (size_t i = 0; i < RB_SLOTS; i++)
			if (c->slot[i].rb == rb)
				return &c->slot[i];
	return NULL;
}

int rb_register(struct ringbuf *rb)
{
	struct rb_slot *sl;
	int err = 0;

	pthread_mutex_lock(&rb_registry_lock);
	if (rb_registry_len == rb_registry_cap) {
		size_t cap = rb_registry_cap ? rb_registry_cap * 2 : 8;
		struct ringbuf **n = realloc(rb_registry, cap * sizeof(*n));

		if (!n) {
			err = ENOMEM;
			goto out;
		}
		rb_registry = n;
		rb_registry_cap = cap;
	}
	sl = rb_slot_of(NULL);
	if (!sl) {
		struct rb_chunk *c = calloc(1, sizeof(*c));

		if (!c) {
			err = ENOMEM;
			goto out;
		}
		c->next = rb_chunks;
		smp_store_release(&rb_chunks, c); /* pairs with rb_registry_find()'s acquire */
		sl = &c->slot[0];
	}
	rb_slot_write(sl, rb);
	rb_registry[rb_registry_len++] = rb;
out:
	pthread_mutex_unlock(&rb_registry_lock);
	return err;
}

void rb_unregister(struct ringbuf *rb)
{
	struct rb_slot *sl;

	pthread_mutex_lock(&rb_registry_lock);
	for (size_t i = 0; i < rb_registry_len; i++) {
		if (rb_registry[i] == rb) {
			rb_registry[i] = rb_registry[--rb_registry_len];
			break;
		}
	}
	sl = rb_slot_of(rb);
	if (sl)
		rb_slot_write(sl, NULL);
	/* Invalidate every thread's cached lookup: the handle may be reused. */
	atomic_fetch_add_explicit(RB_ATOMIC(&rb_registry_gen), 1, memory_order_release);
	pthread_mutex_unlock(&rb_registry_lock);
}

/* The ring whose data mapping contains address @p, or NULL; *@gen is set
 * to the table's generation before the search: a lookup cached with it is
 * valid until the next removal.  Lock-free and async-signal-safe. */
struct ringbuf *rb_registry_find(uintptr_t p, uint64_t *gen)
{
	*gen = atomic_load_explicit(RB_ATOMIC(&rb_registry_gen), memory_order_acquire);
	for (struct rb_chunk *c = smp_load_acquire(&rb_chunks); c; c = c->next) {
		for (size_t i = 0; i < RB_SLOTS; i++) {
			struct rb_slot *sl = &c->slot[i];
			uint32_t seq;
			uintptr_t lo, len;
			struct ringbuf *rb;

			do {
				seq = smp_load_acquire(&sl->seq);
				lo = READ_ONCE(sl->lo);
				len = READ_ONCE(sl->len);
				rb = READ_ONCE(sl->rb);
				smp_rmb();
			} while (!(seq & 1) && READ_ONCE(sl->seq) != seq);
			if (!(seq & 1) && rb && p >= lo && p - lo < len)
				return rb;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * fork()
 * ------------------------------------------------------------------------ */

/*
 * fork() from a threaded process copies only the forking thread: a lock
 * another thread held at that moment would stay held in the child for
 * ever, and the child's next ringbuf_free() (the table), fd-mode wakeup (a
 * handle's wake_lock) would hang.  So fork waits for them: prepare takes the table lock and then
 * every registered handle's wake_lock (the only order in which any two are
 * ever held), and both sides release them.  (The shared reservation
 * locks -- a ring's, a USER_RINGBUF map's -- are no such locks: they name
 * their holder's pid, which a child is not, and the parent releases them.)
 */
static void rb_atfork_prepare(void)
{
	pthread_mutex_lock(&rb_registry_lock);
	for (size_t i = 0; i < rb_registry_len; i++)
		rb_local_lock(&rb_registry[i]->wake_lock);
}

static void rb_atfork_parent(void)
{
	for (size_t i = 0; i < rb_registry_len; i++)
		rb_local_unlock(&rb_registry[i]->wake_lock);
	pthread_mutex_unlock(&rb_registry_lock);
}

/* The pid (rb_self()): cached at the first attach, refreshed in a child. */
pid_t rb_cached_pid;
static pthread_once_t rb_once = PTHREAD_ONCE_INIT;

__thread uint32_t rb_tls_tid __attribute__((tls_model("initial-exec")));

uint32_t rb_tid_slow(void)
{
	rb_tls_tid = (uint32_t)syscall(SYS_gettid);
	return rb_tls_tid;
}

static void rb_atfork_child(void)
{
	rb_cached_pid = getpid();
	rb_tls_tid = 0; /* the parent's thread's, copied */
	rb_atfork_parent();
}

static void rb_init_pid(void)
{
	rb_cached_pid = getpid();
	pthread_atfork(rb_atfork_prepare, rb_atfork_parent, rb_atfork_child);
}

void rb_init_once(void)
{
	pthread_once(&rb_once, rb_init_pid);
}
