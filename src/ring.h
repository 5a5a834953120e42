/* SPDX-License-Identifier: MIT */
/*
 * ring.h -- what the files of the ring protocol (ring.c, recover.c,
 * overwrite.c, notify.c, poll.c) share inline: record sizes, the shared
 * counters, the consumer's position loads and stores, and the loads that
 * race with producers by design.  Inline because the hot path of
 * src/ring.c uses most of them; nothing here is out of line.
 */
#ifndef RINGBUF_RING_H
#define RINGBUF_RING_H

#include "internal.h"

#include <string.h>

#define LEN_MASK (~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT))

/* The bytes a record occupies in the ring (I3): its header word @len
 * (BUSY and DISCARD bits ignored), plus the header, rounded up to 8. */
static inline uint64_t rb_rec_len(uint32_t len)
{
	return ((uint64_t)(len & LEN_MASK) + RINGBUF_HDR_SZ + 7) & ~7ull;
}

/* Count a rare event in shared memory (any producer, any process).  Kernel
 * maps have no metadata page: nothing to count. */
#define RB_COUNT(rb, field)                                                          \
	do {                                                                         \
		if ((rb)->meta)                                                      \
			atomic_fetch_add_explicit(RB_ATOMIC(&(rb)->meta->field), 1,  \
						  memory_order_relaxed);             \
	} while (0)

/*
 * Signal handlers (the NMI case).  A thread records, in rb_inside, the
 * ring whose reservation it is making; a signal handler that interrupts
 * it there and reserves on the same ring would wait for a lock its own
 * thread holds (for ever, or for the lock's one-second give-up), so it is
 * refused at once with -EAGAIN instead and counted in refused_nested -- as
 * the kernel fails a reservation it cannot lock in NMI.  A handler that
 * interrupted another ring's reservation, or none, proceeds as any call.
 * Only this thread and its own handlers touch rb_inside, so a signal
 * fence (a compiler barrier) orders it against the lock.  Initial-exec TLS:
 * no allocation on first touch, even from a handler in a new thread.
 */
extern __thread struct ringbuf *rb_inside __attribute__((tls_model("initial-exec")));

/* Enter @rb's reservation: false (*@err = -EAGAIN) if this thread is
 * inside it already. */
static inline bool rb_enter(struct ringbuf *rb, struct ringbuf **outer, long *err)
{
	if (rb_broken(rb)) { /* its file shrank under us: see src/proc.c */
		*err = -EBADMSG;
		return false;
	}
	*outer = rb_inside;
	if (__builtin_expect(*outer == rb, 0)) {
		*err = -EAGAIN;
		if (rb->meta)
			atomic_fetch_add_explicit(RB_ATOMIC(&rb->meta->refused_nested), 1,
						  memory_order_relaxed);
		else
			atomic_fetch_add_explicit(RB_ATOMIC(&rb->nested), 1, memory_order_relaxed);
		return false;
	}
	rb_inside = rb;
	atomic_signal_fence(memory_order_seq_cst);
	return true;
}

static inline void rb_leave(struct ringbuf *outer)
{
	atomic_signal_fence(memory_order_seq_cst);
	rb_inside = outer;
}

/* memcpy; 8 to 16 bytes (most events) inline as two overlapping words. */
static inline void rb_copy(void *dst, const void *src, uint64_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t a, b;

		memcpy(&a, src, 8);
		memcpy(&b, (const char *)src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy((char *)dst + n - 8, &b, 8);
	} else if (n) {
		memcpy(dst, src, n);
	}
}

/* Walk pending_pos forward over committed records, as the kernel does at
 * the start of every reservation attempt, so that pending_pos in the
 * producer page is the kernel's value byte for byte (t_diff compares it).
 * With one producer the header read is the one it just committed, still in
 * its cache.  A header that is BUSY, or whose length runs past producer_pos
 * (corrupt), stops the walk: a pending_pos that lags refuses more, never
 * less. */
static inline uint64_t rb_advance_pending(struct ringbuf *rb, uint64_t pend, uint64_t prod)
{
	while (pend != prod) {
		struct ringbuf_hdr *hdr = (void *)(rb->data + (pend & rb->mask));
		/* A1: pairs with R1 in rb_commit_len() (a committed header is
		 * final) and R7 in rb_cas_len(). */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec;

		if (len & RINGBUF_BUSY_BIT) {
			if (__builtin_expect(READ_ONCE(rb->cons->recover_hint) == (pend | 1), 0) &&
			    rb_recover_for_consumer(rb, hdr, pend, len))
				continue; /* now a discard: walk on */
			break;
		}
		rec = rb_rec_len(len);
		if (rec > prod - pend)
			break;
		pend += rec;
	}
	return pend;
}

/* Room for a record [@prod, @new_prod) as far as the consumer goes (the
 * reservation's second check, under the lock or by the single producer).
 * consumer_pos only grows, so an older value refuses more, never less:
 * check against the copy on the lock's own cache line, and read the
 * consumer's line only when that refuses (when the consumer chases the
 * producer, a read per record is a cross-core miss).  A copy ahead of
 * producer_pos cannot be a consumer position (positions set from outside,
 * e.g. a ring started near 2^64): re-read then too.  A consumer that moves
 * consumer_pos backwards may find the records it re-reads overwritten; the
 * kernel does not support that either. */
static inline bool rb_room(struct ringbuf *rb, uint64_t prod, uint64_t new_prod)
{
	uint64_t cons = READ_ONCE(rb->meta->cons_cache);

	if (new_prod - cons > rb->mask || prod - cons > rb->size) {
		/* A3: pairs with R3 in rb_publish_consumer(). */
		cons = smp_load_acquire(&rb->cons->consumer_pos);
		WRITE_ONCE(rb->meta->cons_cache, cons);
		if (new_prod - cons > rb->mask)
			return false;
	}
	return true;
}

/* A committed header of a ringbuf ring as one word, for one 8-byte store:
 * {len, the kernel's pg_off} (src/ring.c, section 6); @off is 8-aligned. */
static inline uint64_t rb_hdr_word(const struct ringbuf *rb, uint64_t off, uint32_t len)
{
	struct ringbuf_hdr h = {
		.len = len,
		.pg_off = (uint32_t)(RINGBUF_SHM_DATA_PAGE + (off >> rb->page_shift)),
	};
	uint64_t word;

	memcpy(&word, &h, sizeof(word));
	return word;
}

static inline void rb_publish_consumer(struct ringbuf *rb, uint64_t cons)
{
	/* R3: pairs with A3 in rb_reserve() and rb_notify(). */
	smp_store_release(&rb->cons->consumer_pos, cons);
}

/* Read and check both positions.  Returns 0, or -EBADMSG if they cannot
 * belong to a ring that follows the protocol. */
static inline int rb_positions(struct ringbuf *rb, uint64_t *cons, uint64_t *prod)
{
	*cons = READ_ONCE(rb->cons->consumer_pos); /* only the consumer writes it */
	/* A2: pairs with R2 in rb_reserve(). */
	*prod = smp_load_acquire(&rb->prod->producer_pos);
	if ((*cons | *prod) & 7 || *prod - *cons > rb->size)
		return -EBADMSG;
	return 0;
}

/* Copy a record out of an overwrite-mode ring (src/overwrite.c).  The
 * copy races with producers by design -- they may overwrite the record
 * meanwhile, and F5 with the re-check of overwrite_pos throws such a copy
 * away -- so under ThreadSanitizer it is done where TSan does not look (a
 * volatile loop, so that the compiler does not turn it into a call to
 * memcpy).  Out of line there, and unused in some files: not inline. */
#if defined(__SANITIZE_THREAD__)
#define RB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RB_TSAN 1
#endif
#endif
#ifdef RB_TSAN
static __attribute__((no_sanitize("thread"), noinline, unused)) void
rb_racy_copy(void *dst, const void *src, size_t n)
{
	const volatile unsigned char *s = src;
	unsigned char *d = dst;

	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

/* A header word that a producer's payload copy may be overwriting. */
static __attribute__((no_sanitize("thread"), noinline, unused)) uint32_t
rb_racy_len(uint32_t *p)
{
	uint32_t v = *(volatile uint32_t *)p;

	smp_rmb();
	return v;
}
#else
#define rb_racy_copy memcpy
#define rb_racy_len(p) smp_load_acquire(p)
#endif

#endif
