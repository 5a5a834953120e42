/* SPDX-License-Identifier: MIT */
/*
 * internal.h -- what the library's source files share: the handle, a few
 * inline helpers, and what each file offers the files above it, grouped by
 * file, bottom layer first.  A file uses only the groups above its own
 * (scripts/check-layers.sh checks it: make layers).  manager.c and
 * bpf_maps.c, at the top, use only the public API and do not include this
 * header.  Nothing here is part of the API.
 */
#ifndef RINGBUF_INTERNAL_H
#define RINGBUF_INTERNAL_H

#include "ringbuf.h"
#include "fault.h"
#include "barrier.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RB_INTERNAL __attribute__((visibility("hidden")))

/* What a handle is attached to.  All three share one consumer code path:
 * from the consumer page on, the layouts are the same. */
enum rb_kind {
	RB_USER,                 /* a ringbuf ring (memfd, with the metadata page) */
	RB_KERNEL_RINGBUF,       /* a kernel BPF_MAP_TYPE_RINGBUF: we consume */
	RB_KERNEL_USER_RINGBUF,  /* a kernel BPF_MAP_TYPE_USER_RINGBUF: we produce */
};

struct ringbuf {
	enum rb_kind kind;
	int fd;          /* the memfd, the named ring's (or split ring's `ring`)
			  * file, or the kernel map fd (owned) */
	int cons_fd;     /* a split ring's `consumer` file (owned), else -1 */
	int epoll_fd;    /* kernel maps: watches fd; -1 for ringbuf rings */
	uint32_t page_shift;
	uint64_t size;   /* data bytes */
	uint64_t mask;   /* size - 1 */
	void *map[2];    /* mappings to undo in ringbuf_free() */
	size_t map_len[2];
	struct ringbuf_shm_meta *meta;   /* NULL for kernel maps */
	uint32_t map_id;                 /* kernel maps: the map's id */
	struct ringbuf_shm_consumer *cons; /* consumer page (a kernel map: its own,
					    * consumer_pos only) */
	struct ringbuf_shm_producer *prod;
	unsigned char *data;             /* first of the two data copies */
	ringbuf_u64 nested;              /* kernel maps: calls refused in a signal
					  * handler (ringbuf_stats refused_nested) */
	ringbuf_u64 steals;              /* USER_RINGBUF: prod->user_lock taken
					  * over from dead holders, by this handle */
	uint32_t role;                   /* RINGBUF_ROLE_* of this handle, 0 = both */
	bool claimed;                    /* this handle claimed the consumer role */
	bool overwrite;                  /* RINGBUF_F_OVERWRITE, read once at attach */
	bool single;                     /* RINGBUF_F_SINGLE_PRODUCER, likewise */
	uint32_t sp_tid;                 /* single producer: the thread whose claim
					  * this handle holds, 0 = none */
	void *ow_buf;                    /* overwrite mode: the consumer's copy of a record */
	size_t ow_cap;
	/* wakeup socket (src/wakesock.c); -1 when not in use */
	int wake_rx;                     /* consumer in fd mode: its bound socket */
	uint64_t wake_key[2];            /* consumer: the name it bound */
	uint32_t wake_pid;               /* consumer: the process that bound it */
	int wake_tx;                     /* producer: socket connected to the name */
	uint32_t wake_tx_gen;            /* producer: the wake_gen it connected at */
	uint32_t wake_lock;              /* producer threads of this handle: wake_tx
					  * (rb_local_lock(); a handler only tries it) */
	uint32_t wake_owed;              /* a wakeup someone could not send: the
					  * holder of wake_lock sends it (atomic) */
	/* Consumer: recovery of records left BUSY by dead producers
	 * (src/recover.c).  Process-local: a new consumer starts
	 * its own clock. */
	uint64_t recover_ns;             /* 0 = never */
	bool stall_on;                   /* the fields below describe a record */
	uint32_t stall_len, stall_owner; /* its BUSY header when first seen */
	uint64_t stall_pos;              /* its position */
	uint64_t stall_check;            /* when to check its owner next (ns) */
	uint32_t dead_owner;             /* the last owner found dead */
	uint64_t hint_pos, hint_at;      /* producer: the recover_hint last
					  * checked, and when (ns) */
	/* Consumer: the pull reader's lease (src/pull.c) */
	bool taking;                     /* records may be taken, not committed */
	uint64_t take_pos;               /* where the next ringbuf_next() looks */
	uint64_t take_start;             /* consumer_pos when the lease began */
	uint64_t take_prod;              /* producer_pos as last read */
	size_t take_n;                   /* records taken since the lease began */
	/* ringbuf_interrupt() (src/poll.c): any thread against the poller */
	int intr;                        /* an interrupt is pending (atomic) */
	int sleeping;                    /* the poller is in (or entering) its
					  * futex sleep (atomic) */
	int intr_fd;                     /* kernel maps: eventfd in epoll_fd; -1 */
	uint64_t nap_ns;                 /* ringbuf_poll()'s coalescing nap, 0 = off */
	bool in_call;                    /* inside consume/poll: a callback's own
					  * consume, poll, next or free is refused */
	/* What every ringbuf_output() reads, and what a single-producer ring's
	 * claimant writes for every record: on lines of their own, since a
	 * consumer thread of the same handle reads the fields above for every
	 * record, and would lose its copy of their line to each store
	 * (rb_alloc() aligns the handle).  The consumer reads faults once a
	 * call. */
	_Alignas(128) ringbuf_u64 sp_to; /* src/output.c: its last record ended here,
					  * everything before it committed; or
					  * RB_SP_NONE.  One 64-bit access each time
					  * (READ_ONCE/WRITE_ONCE): a signal handler
					  * must never see it torn on 32-bit */
	uint32_t sp_fast;                /* ~sp_tid when ringbuf_output() may take
					  * src/output.c's path, else 0 */
	ringbuf_u64 *faults;             /* pages of this mapping the SIGBUS guard
					  * replaced (its slot in src/proc.c;
					  * &rb_no_faults when not registered) */
};

static inline long rb_err(int e)
{
	errno = e;
	return -e;
}

/* Does a ring of @size data bytes fit this address space once mapped (its
 * pages before the data, then the data twice)?  Not a 2 GiB ring on 32-bit;
 * without this check the mapping length would wrap. */
static inline bool rb_fits_address_space(uint64_t size, uint32_t page_shift)
{
	return ((uint64_t)RINGBUF_SHM_DATA_PAGE << page_shift) + 2 * size <= SIZE_MAX;
}

/* ------------------------------------------------------------------------
 * What each file offers the files above it, bottom layer first.  (fault.c,
 * below all: src/fault.h.  ring.h: the ring files' shared inlines.)
 * ------------------------------------------------------------------------ */

/* proc.c: the process -- clock, liveness, futex, fork, and the table of
 * this process's mappings */

/* getpid() is a system call in current glibc; the lock needs it per
 * reservation, so it is cached and refreshed in fork()ed children. */
RB_INTERNAL extern pid_t rb_cached_pid;

static inline uint32_t rb_self(void)
{
	return (uint32_t)rb_cached_pid;
}

/* The calling thread's id, cached per thread (reset in a fork()ed child). */
RB_INTERNAL extern __thread uint32_t rb_tls_tid __attribute__((tls_model("initial-exec")));
RB_INTERNAL uint32_t rb_tid_slow(void);

static inline uint32_t rb_tid(void)
{
	uint32_t t = rb_tls_tid;

	return __builtin_expect(t != 0, 1) ? t : rb_tid_slow();
}

RB_INTERNAL void rb_init_once(void);
RB_INTERNAL uint64_t rb_now_ns(void);
RB_INTERNAL bool rb_process_alive(uint32_t pid);
RB_INTERNAL void rb_futex_wake(uint32_t *word);
RB_INTERNAL void rb_futex_wait(uint32_t *word, uint32_t expect, const struct timespec *rel);
RB_INTERNAL bool rb_lock_slow(uint32_t *owner, uint32_t me, ringbuf_u64 *steals);
RB_INTERNAL void rb_local_lock(uint32_t *lock);

static inline bool rb_local_trylock(uint32_t *lock)
{
	return !atomic_exchange_explicit(RB_ATOMIC(lock), 1, memory_order_seq_cst);
}

static inline void rb_local_unlock(uint32_t *lock)
{
	atomic_store_explicit(RB_ATOMIC(lock), 0, memory_order_seq_cst);
}
RB_INTERNAL int rb_register(struct ringbuf *rb);
RB_INTERNAL void rb_unregister(struct ringbuf *rb);
RB_INTERNAL struct ringbuf *rb_registry_find(uintptr_t p, uint64_t *gen);
RB_INTERNAL extern uint64_t rb_registry_gen; /* bumped on every removal */
RB_INTERNAL extern ringbuf_u64 rb_no_faults;
/* A named set's member identity (struct ringbuf_shm_meta set_*). */
struct rb_set_ident {
	uint64_t id;
	uint32_t n, idx;
};
/* BPF objects (src/kmap.c): descriptors by pinned path or map id (-1 and
 * errno); maps of ring buffers: the check, the inner maps' ids. */
RB_INTERNAL int rb_bpf_fd_pinned(const char *path);
RB_INTERNAL int rb_bpf_fd_id(uint32_t map_id);
RB_INTERNAL int rb_outer_check(int fd, uint32_t *key_size);
RB_INTERNAL int rb_outer_ids(int fd, uint32_t key_size, uint32_t *ids, size_t cap);
RB_INTERNAL struct ringbuf *rb_create_ident(const char *name, size_t data_size,
					    const struct ringbuf_opts *opts,
					    const struct rb_set_ident *set);
/* Install the SIGBUS guard (src/proc.c) once per process: before mapping a
 * file that another process may truncate. */
RB_INTERNAL void rb_bus_guard(void);
/* May @rb's role not produce (a consumer or an observer handle)? */
static inline bool rb_no_produce(const struct ringbuf *rb)
{
	return rb->role && !(rb->role & RINGBUF_ROLE_PRODUCER);
}

/* Has the SIGBUS guard replaced pages of @rb's mapping (its file shrank)? */
static inline bool rb_broken(const struct ringbuf *rb)
{
	return __builtin_expect(__atomic_load_n(rb->faults, __ATOMIC_RELAXED) != 0, 0);
}

/* Does @rb's data mapping (both copies) contain address @p? */
static inline bool rb_holds(const struct ringbuf *rb, uintptr_t p)
{
	uintptr_t lo = (uintptr_t)rb->data;

	return p >= lo && p - lo < 2 * rb->size;
}

/* wakesock.c: the consumer's wakeup socket (fd mode) */
RB_INTERNAL int rb_wake_open(struct ringbuf *rb);
RB_INTERNAL void rb_wake_close(struct ringbuf *rb);
RB_INTERNAL void rb_wake_drain(struct ringbuf *rb);
RB_INTERNAL void rb_wake_self(struct ringbuf *rb);
RB_INTERNAL void rb_wake_send(struct ringbuf *rb);

/* handle.c: options, allocation and release, the consumer claim */
RB_INTERNAL bool rb_opts_check(const struct ringbuf_opts *opts, uint64_t flags_allowed);
#define rb_opts_valid(opts) rb_opts_check((opts), 0)
RB_INTERNAL uint32_t rb_page_shift(void);
RB_INTERNAL bool rb_size_valid(uint64_t size, uint32_t page_shift);
RB_INTERNAL struct ringbuf *rb_alloc(enum rb_kind kind, uint64_t size, uint32_t page_shift);
RB_INTERNAL void rb_release(struct ringbuf *rb);
RB_INTERNAL int rb_claim_consumer(struct ringbuf *rb);
RB_INTERNAL int rb_consumer_gate(struct ringbuf *rb);
RB_INTERNAL void rb_release_claim(struct ringbuf *rb);

/* kmap.c: kernel maps; producing into a USER_RINGBUF */
RB_INTERNAL struct ringbuf_hdr *rb_kuser_reserve(struct ringbuf *rb, uint64_t size, long *err);

/* recover.c: dead peers -- dead producers' records; the claim of a
 * single-producer ring */
RB_INTERNAL long rb_sp_claim(struct ringbuf *rb);
RB_INTERNAL __attribute__((noinline, cold)) bool
rb_recover(struct ringbuf *rb, uint64_t cons, struct ringbuf_hdr *hdr, uint32_t len,
	   uint64_t avail);
RB_INTERNAL __attribute__((noinline, cold)) bool
rb_recover_for_consumer(struct ringbuf *rb, struct ringbuf_hdr *hdr, uint64_t pos, uint32_t len);

/* overwrite.c: overwrite mode */
RB_INTERNAL long rb_overwrite_advance(struct ringbuf *rb, uint64_t prod, uint64_t pend,
				      uint64_t new_prod);
RB_INTERNAL int rb_consume_ow(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n);
RB_INTERNAL int rb_head(struct ringbuf *rb, uint64_t *head, uint64_t *prod);

/* notify.c: who wakes whom */
RB_INTERNAL void rb_notify(struct ringbuf *rb, uint64_t rec_off, uint64_t flags);
RB_INTERNAL bool rb_head_committed(struct ringbuf *rb);
RB_INTERNAL bool rb_due(struct ringbuf *rb);
RB_INTERNAL bool rb_ring_nonempty(struct ringbuf *rb);
RB_INTERNAL bool rb_take_forced(struct ringbuf *rb);
RB_INTERNAL void rb_sleep(struct ringbuf *rb, uint64_t deadline, uint64_t cap_ns,
			  bool (*at_cap)(struct ringbuf *rb, uint64_t *until));
RB_INTERNAL void rb_arm_fd(struct ringbuf *rb);

/* ring.c: the hot path */
RB_INTERNAL int rb_consume(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n);
RB_INTERNAL long rb_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags);

/* output.c: ringbuf_output()'s fast paths; rb_small_output(): 8 to 16
 * bytes into a ring that is not a single-producer ring (its claimant's
 * calls go elsewhere).  RB_SP_NONE, RB_SP_BUSY: values of sp_to that no
 * position has (positions are multiples of 8). */
RB_INTERNAL long rb_small_output(struct ringbuf *rb, const void *data, uint64_t size,
				 uint64_t flags);
#define RB_SP_NONE 1
#define RB_SP_BUSY 3

#endif
