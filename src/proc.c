/* SPDX-License-Identifier: MIT */
/*
 * proc.c -- what the library needs of the process it runs in: the clock,
 * whether another process still lives, the futex, a process-local spin
 * lock, the table of this process's ring mappings, the SIGBUS guard over
 * ring files a peer may truncate, and fork(): the pid cache and the locks
 * a child must not inherit held.
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
#include <sys/mman.h>
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
	uintptr_t lo, len;         /* the data's two copies */
	uintptr_t map_lo, map_len; /* the whole mapping: what the SIGBUS guard covers */
	struct ringbuf *rb;
	ringbuf_u64 faults;        /* pages the guard replaced (atomic) */
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
ringbuf_u64 rb_no_faults;      /* what an unregistered handle's faults point to */

static void rb_slot_write(struct rb_slot *sl, struct ringbuf *rb)
{
	uint32_t seq = READ_ONCE(sl->seq);

	WRITE_ONCE(sl->seq, seq + 1);
	smp_wmb();
	WRITE_ONCE(sl->lo, rb ? (uintptr_t)rb->data : 0);
	WRITE_ONCE(sl->len, rb ? (uintptr_t)(2 * rb->size) : 0);
	WRITE_ONCE(sl->map_lo, rb ? (uintptr_t)rb->map[0] : 0);
	WRITE_ONCE(sl->map_len, rb ? (uintptr_t)rb->map_len[0] : 0);
	WRITE_ONCE(sl->rb, rb);
	WRITE_ONCE(sl->faults, 0);
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
	rb->faults = &sl->faults;
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
	rb->faults = &rb_no_faults;
	/* Invalidate every thread's cached lookup: the handle may be reused. */
	atomic_fetch_add_explicit(RB_ATOMIC(&rb_registry_gen), 1, memory_order_release);
	pthread_mutex_unlock(&rb_registry_lock);
}

/* The slot whose range (@whole: the whole mapping; else the data) holds
 * address @p, or NULL.  Lock-free and async-signal-safe: a slot being
 * written (odd seq) is skipped, the others read consistently. */
static struct rb_slot *rb_slot_find(uintptr_t p, bool whole)
{
	for (struct rb_chunk *c = smp_load_acquire(&rb_chunks); c; c = c->next) {
		for (size_t i = 0; i < RB_SLOTS; i++) {
			struct rb_slot *sl = &c->slot[i];
			uint32_t seq;
			uintptr_t lo, len;
			struct ringbuf *rb;

			do {
				seq = smp_load_acquire(&sl->seq);
				lo = whole ? READ_ONCE(sl->map_lo) : READ_ONCE(sl->lo);
				len = whole ? READ_ONCE(sl->map_len) : READ_ONCE(sl->len);
				rb = READ_ONCE(sl->rb);
				smp_rmb();
			} while (!(seq & 1) && READ_ONCE(sl->seq) != seq);
			if (!(seq & 1) && rb && p >= lo && p - lo < len)
				return sl;
		}
	}
	return NULL;
}

/* The ring whose data mapping contains address @p, or NULL; *@gen is set
 * to the table's generation before the search: a lookup cached with it is
 * valid until the next removal.  Lock-free and async-signal-safe. */
struct ringbuf *rb_registry_find(uintptr_t p, uint64_t *gen)
{
	struct rb_slot *sl;

	*gen = atomic_load_explicit(RB_ATOMIC(&rb_registry_gen), memory_order_acquire);
	sl = rb_slot_find(p, false);
	return sl ? READ_ONCE(sl->rb) : NULL;
}

/* ------------------------------------------------------------------------
 * The SIGBUS guard
 * ------------------------------------------------------------------------ */

/*
 * A named ring's files cannot be sealed against shrinking: whoever may
 * write one (a split ring's producers' user owns `ring`; its consumer's
 * user owns `consumer`) can truncate it under every other process that
 * maps it, and the next access past the new end is a SIGBUS -- the
 * consumer of a split ring, the party split rings exist to protect, would
 * die of its producers' mistake or malice.  So, as Wayland compositors do
 * for their clients' buffers, the first handle attached to a file that can
 * shrink installs a SIGBUS handler for the process.  A fault at an address
 * inside one of this process's ring mappings (the table above, searched
 * without a lock) gets an anonymous zero page mapped over the faulting
 * page -- the access is then retried and reads zeros -- and is counted in
 * that handle's slot; the library's calls on a handle with faults return
 * -EBADMSG from then on (the ring is broken: its file is gone).  Any other
 * SIGBUS goes to the handler that was installed before ours, or, if that
 * was the default, kills the process as it would have.  An application
 * that installs its own SIGBUS handler afterwards replaces the guard
 * (include/ringbuf.h says so).
 */
static struct sigaction rb_bus_prev;
static pthread_once_t rb_bus_once = PTHREAD_ONCE_INIT;
static size_t rb_bus_page;

static void rb_bus_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	uintptr_t a = (uintptr_t)si->si_addr;
	struct rb_slot *sl = si->si_code == BUS_ADRERR ? rb_slot_find(a, true) : NULL;

	if (sl && mmap((void *)(a & ~(uintptr_t)(rb_bus_page - 1)), rb_bus_page,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		       0) != MAP_FAILED) {
		atomic_fetch_add_explicit(RB_ATOMIC(&sl->faults), 1, memory_order_relaxed);
		errno = saved;
		return;
	}
	errno = saved;
	if ((rb_bus_prev.sa_flags & SA_SIGINFO) && rb_bus_prev.sa_handler != SIG_DFL &&
	    rb_bus_prev.sa_handler != SIG_IGN) {
		rb_bus_prev.sa_sigaction(sig, si, uc);
	} else if (rb_bus_prev.sa_handler == SIG_IGN) {
		if (si->si_code <= 0)
			return; /* sent, and ignored before we came */
		signal(sig, SIG_DFL); /* a fault cannot be ignored: die of it */
	} else if (rb_bus_prev.sa_handler == SIG_DFL) {
		/* Die of it, as without us: a fault recurs on return; a sent
		 * signal is raised again (blocked until we return). */
		signal(sig, SIG_DFL);
		if (si->si_code <= 0)
			raise(sig);
	} else {
		rb_bus_prev.sa_handler(sig);
	}
}

static void rb_bus_install(void)
{
	struct sigaction sa = { .sa_sigaction = rb_bus_handler, .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };

	rb_bus_page = (size_t)sysconf(_SC_PAGESIZE);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &rb_bus_prev);
}

void rb_bus_guard(void)
{
	pthread_once(&rb_bus_once, rb_bus_install);
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
/* The ring whose reservation this thread is making (src/ring.h). */
__thread struct ringbuf *rb_inside __attribute__((tls_model("initial-exec")));

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
