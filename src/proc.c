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

/* A spin lock of this process's threads (a USER_RINGBUF handle's
 * producers: the kernel's map has no lock of its own); released with
 * smp_store_release(lock, 0). */
void rb_local_lock(uint32_t *lock)
{
	for (unsigned spins = 0;; spins++) {
		uint32_t free_ = 0;

		if (!READ_ONCE(*lock) &&
		    atomic_compare_exchange_weak_explicit(RB_ATOMIC(lock), &free_, 1,
							  memory_order_acquire, memory_order_relaxed))
			return;
		if (spins < 128)
			cpu_relax();
		else
			sched_yield();
	}
}

/* ------------------------------------------------------------------------
 * The table of this process's mappings, for submit/discard
 * ------------------------------------------------------------------------ */

static pthread_mutex_t rb_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ringbuf **rb_registry;
static size_t rb_registry_len, rb_registry_cap;
uint64_t rb_registry_gen = 1; /* bumped on every removal */

int rb_register(struct ringbuf *rb)
{
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
	rb_registry[rb_registry_len++] = rb;
out:
	pthread_mutex_unlock(&rb_registry_lock);
	return err;
}

void rb_unregister(struct ringbuf *rb)
{
	pthread_mutex_lock(&rb_registry_lock);
	for (size_t i = 0; i < rb_registry_len; i++) {
		if (rb_registry[i] == rb) {
			rb_registry[i] = rb_registry[--rb_registry_len];
			break;
		}
	}
	/* Invalidate every thread's cached lookup: the handle may be reused. */
	atomic_fetch_add_explicit(RB_ATOMIC(&rb_registry_gen), 1, memory_order_release);
	pthread_mutex_unlock(&rb_registry_lock);
}

/* The ring whose data mapping contains address @p, or NULL; *@gen is set
 * to the table's generation, read under its lock: a lookup cached with it
 * is valid until the next removal. */
struct ringbuf *rb_registry_find(uintptr_t p, uint64_t *gen)
{
	struct ringbuf *hit = NULL;

	pthread_mutex_lock(&rb_registry_lock);
	for (size_t i = 0; i < rb_registry_len; i++) {
		if (rb_holds(rb_registry[i], p)) {
			hit = rb_registry[i];
			break;
		}
	}
	*gen = READ_ONCE(rb_registry_gen);
	pthread_mutex_unlock(&rb_registry_lock);
	return hit;
}

/* ------------------------------------------------------------------------
 * fork()
 * ------------------------------------------------------------------------ */

/*
 * fork() from a threaded process copies only the forking thread: a lock
 * another thread held at that moment would stay held in the child for
 * ever, and the child's next ringbuf_free() (the table), fd-mode wakeup (a
 * handle's wake_lock) or USER_RINGBUF reservation (its local_lock) would
 * hang.  So fork waits for them: prepare takes the table lock and then
 * every registered handle's wake_lock and local_lock (the only order in
 * which any two are ever held), and both sides release them.  (The shared
 * reservation lock is no such lock: it names its holder's pid, which a
 * child is not, and is released by the parent.)
 */
static void rb_atfork_prepare(void)
{
	pthread_mutex_lock(&rb_registry_lock);
	for (size_t i = 0; i < rb_registry_len; i++) {
		pthread_mutex_lock(&rb_registry[i]->wake_lock);
		if (rb_registry[i]->kind == RB_KERNEL_USER_RINGBUF)
			rb_local_lock(&rb_registry[i]->local_lock);
	}
}

static void rb_atfork_parent(void)
{
	for (size_t i = 0; i < rb_registry_len; i++) {
		if (rb_registry[i]->kind == RB_KERNEL_USER_RINGBUF)
			smp_store_release(&rb_registry[i]->local_lock, 0);
		pthread_mutex_unlock(&rb_registry[i]->wake_lock);
	}
	pthread_mutex_unlock(&rb_registry_lock);
}

/* The pid (rb_self()): cached at the first attach, refreshed in a child. */
pid_t rb_cached_pid;
static pthread_once_t rb_once = PTHREAD_ONCE_INIT;

static void rb_atfork_child(void)
{
	rb_cached_pid = getpid();
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
