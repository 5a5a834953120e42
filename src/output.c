/* SPDX-License-Identifier: MIT */
/*
 * single.c -- ringbuf_output() on a single-producer ring, by the thread
 * that claimed it (RINGBUF_F_SINGLE_PRODUCER; the claim is rb_sp_claim(),
 * src/recover.c).  ringbuf_output() comes here once rb->sp_fast names the
 * calling thread; every other call takes the ordinary path of src/ring.c.
 *
 * The claimant holds the reservation lock for good, so nothing else ever
 * writes producer_pos, pending_pos or the data ahead of producer_pos, and a
 * record can be finished before anyone may see it:
 *
 *   1. walk pending_pos as the kernel does (the same value); over the
 *      record this path committed last it moves without reading that
 *      record's header: rb->sp_to is where that record ended, kept only
 *      when every record before it was committed too;
 *   2. the kernel's space checks, in the kernel's order (I2, I5);
 *   3. copy the payload, store the committed header {len, pg_off};
 *   4. R2, store_release(producer_pos): publishes header and payload with
 *      the position, so the consumer's A2 then A1 see a committed record.
 *
 * The kernel (and src/ring.c) write a BUSY header, publish producer_pos,
 * copy, then commit.  Here no reader can be between those steps: the bytes
 * a reader finds, and every position and counter, are those of the kernel
 * after its commit -- the differential test runs on a single-producer ring
 * too.  A producer killed before step 4 leaves nothing published; after
 * it, a committed record.  No BUSY record, no locked instruction and no
 * shared line but the ring's own producer page, metadata counters and
 * data.  Then the wakeup decision of src/notify.c: F1 is the smp_mb after
 * step 4 (the committed header and producer_pos are both stored before it).
 *
 * Signal handlers.  A handler that interrupts the claimant here and
 * outputs into the same ring would read the same producer_pos and write
 * the same bytes, so from before its first load of a position until its
 * last store the claimant keeps rb->sp_to at RB_SP_BUSY -- here, and in
 * src/ring.c's reservation too (rb_lock()) -- and a call that finds it so
 * is refused with -EAGAIN (refused_nested), as rb_enter() refuses one
 * inside another ring's reservation of its thread.  So the fast path
 * needs no check of rb_inside.
 *
 * Two versions of these steps.  rb_sp_fast() is the common case, written
 * to stay in the registers a caller saves: it decides from loads alone
 * whether the call is ordinary (arguments, pending_pos at producer_pos or
 * right behind this path's last record, room by the cached consumer_pos)
 * and stores nothing shared before it has; any other call goes, before any
 * shared store, to rb_sp_output_full(), which makes every check and count
 * in full.  Records of 8 to 16 bytes (most events) are copied as two
 * words, so that the path makes no call at all.
 */
#include "internal.h"
#include "ring.h"

/* Step 3: the payload, then the committed header, at data offset @off;
 * @small (a constant): 8 to 16 bytes, as one word or two that overlap. */
static __attribute__((always_inline)) inline void
rb_write_whole(struct ringbuf *rb, uint64_t off, const void *data, uint64_t size, bool small)
{
	struct ringbuf_hdr *hdr = (void *)(rb->data + off);

	if (small) {
		uint64_t a, b;

		memcpy(&a, data, 8);
		memcpy(hdr + 1, &a, 8);
		if (size > 8) {
			memcpy(&b, (const char *)data + size - 8, 8);
			memcpy((char *)(hdr + 1) + size - 8, &b, 8);
		}
	} else {
		rb_copy(hdr + 1, data, size); /* (no memcpy from NULL when size is 0) */
	}
	WRITE_ONCE(*(ringbuf_u64 *)(void *)hdr, rb_hdr_word(rb, off, (uint32_t)size));
}

/* After a record written whole was published: the wakeup decision of
 * src/notify.c (F1 is this smp_mb; the committed header and producer_pos
 * are both stored before it).  Returns 0, for the callers' tail calls. */
static __attribute__((noinline)) long rb_whole_wake(struct ringbuf *rb, uint64_t off,
						    uint64_t flags)
{
	smp_mb(); /* F1: pairs with F3 in ringbuf_poll() and rb_arm() */
	rb_notify(rb, off, flags);
	return 0;
}

static __attribute__((noinline)) long rb_sp_output_full(struct ringbuf *rb, const void *data,
							uint64_t size, uint64_t flags)
{
	uint64_t len, prod, pend, new_prod, off, last = READ_ONCE(rb->sp_to);
	struct ringbuf *outer;
	bool clean;
	long err;

	/* ringbuf_output()'s own checks, as src/ring.c makes them */
	if (!data && size)
		return rb_err(EINVAL);
	if (flags & ~(RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) {
		RB_COUNT(rb, refused_flags);
		return rb_err(EINVAL);
	}
	if (last == RB_SP_BUSY) { /* a signal handler, inside this thread's
				   * reservation (here or in src/ring.c) */
		RB_COUNT(rb, refused_nested);
		return rb_err(EAGAIN);
	}
	if (!rb_enter(rb, &outer, &err))
		return rb_err((int)-err);
	WRITE_ONCE(rb->sp_to, RB_SP_BUSY); /* before any position is read */
	atomic_signal_fence(memory_order_seq_cst);
	/* I5: sizes before positions. */
	len = (size + RINGBUF_HDR_SZ + 7) & ~7ull;
	if (size > UINT32_MAX / 4 || len > rb->size) {
		err = -E2BIG;
		goto refused;
	}
	prod = READ_ONCE(rb->prod->producer_pos);
	pend = READ_ONCE(rb->prod->pending_pos);
	if ((prod | pend) & 7 || prod - pend > rb->size) {
		err = len == rb->size ? -E2BIG : -EBADMSG;
		goto refused;
	}
	if (pend != prod) {
		/* 1.  Our own last record is committed: no need to read it. */
		pend = prod == last ? prod : rb_advance_pending(rb, pend, prod);
		WRITE_ONCE(rb->prod->pending_pos, pend);
	}
	clean = pend == prod;
	/* 2. */
	new_prod = prod + len;
	if (len == rb->size) {
		err = -E2BIG;
		goto refused;
	}
	if (new_prod - pend > rb->mask)
		goto full;
	if (!rb_room(rb, prod, new_prod))
		goto full;
	/* 3. */
	off = prod & rb->mask;
	rb_write_whole(rb, off, data, size, false);
	/* 4. R2: pairs with A2 in rb_positions() and the consume loops; the
	 * header and payload above are visible before the position. */
	smp_store_release(&rb->prod->producer_pos, new_prod);
	WRITE_ONCE(rb->meta->reserved, READ_ONCE(rb->meta->reserved) + 1);
	WRITE_ONCE(rb->meta->reserved_bytes, READ_ONCE(rb->meta->reserved_bytes) + size);
	atomic_signal_fence(memory_order_seq_cst);
	WRITE_ONCE(rb->sp_to, clean ? new_prod : RB_SP_NONE);
	rb_leave(outer);
	if ((flags & (RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) != RINGBUF_NO_WAKEUP)
		return rb_whole_wake(rb, off, flags);
	return 0;
full:
	atomic_signal_fence(memory_order_seq_cst);
	WRITE_ONCE(rb->sp_to, last); /* nothing was published: still true */
	rb_leave(outer);
	RB_COUNT(rb, refused_full);
	return rb_err(EAGAIN);
refused:
	atomic_signal_fence(memory_order_seq_cst);
	WRITE_ONCE(rb->sp_to, last);
	rb_leave(outer);
	if (err == -E2BIG) /* (-EBADMSG: positions no ring can have) */
		RB_COUNT(rb, refused_too_big);
	return rb_err((int)-err);
}

/* @d rotated right by 3: at most mask / 8 exactly when @d is a multiple of
 * 8 no larger than size - 8 (I2 and I3 in one comparison; mask = size - 1,
 * size a power of 2). */
static inline uint64_t rb_ror3(uint64_t d)
{
	return d >> 3 | d << 61;
}

/* The common case; @small (a constant): 8 to 16 payload bytes, copied as
 * two words with no call, so that the whole path stays in registers the
 * caller saves. */
static __attribute__((always_inline)) inline long
rb_sp_fast(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags, bool small)
{
	uint64_t len = (size + RINGBUF_HDR_SZ + 7) & ~7ull, last = READ_ONCE(rb->sp_to), prod, pend, cons, off;

	/* Anything unusual, before any shared store: the full version.  Each
	 * value is checked as soon as it is loaded, so few stay live. */
	if (__builtin_expect(!data || (flags & ~(RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) ||
				     (!small && (size > UINT32_MAX / 4 || len >= rb->size)) ||
				     last == RB_SP_BUSY || rb_broken(rb),
			     0))
		goto full;
	/* A signal handler's output into this ring from here to the end
	 * would read the same positions and write the same bytes: it finds
	 * sp_to BUSY and is refused (as rb_enter() refuses it elsewhere). */
	WRITE_ONCE(rb->sp_to, RB_SP_BUSY);
	atomic_signal_fence(memory_order_seq_cst);
	prod = READ_ONCE(rb->prod->producer_pos);
	pend = READ_ONCE(rb->prod->pending_pos);
	/* 1. (pending_pos is producer_pos, or our own committed record lies
	 * between them.) */
	if (pend != prod && /* (the common case: the last record's start) */
	    __builtin_expect(prod != last ||
				     (pend + len != prod && rb_ror3(prod - pend) > rb->mask >> 3),
			     0))
		goto unmark; /* a pending_pos no ring can have (I2, I3): the full path says so */
	/* 2. pending_pos is producer_pos after the walk, so the record fits
	 * beside it (len < size: a small record fits any ring, which is at
	 * least a page); the consumer position cached on the metadata line
	 * (only ever behind the real one) must leave room too -- one unsigned
	 * comparison, which also sends a cached position ahead of
	 * producer_pos to the full version. */
	cons = READ_ONCE(rb->meta->cons_cache);
	if (__builtin_expect((prod & 7) || prod - cons > rb->mask - len, 0))
		goto unmark;
	WRITE_ONCE(rb->prod->pending_pos, prod); /* (the kernel stores it every time) */
	/* 3. */
	off = prod & rb->mask;
	rb_write_whole(rb, off, data, size, small);
	/* 4. R2: pairs with A2 in rb_positions() and the consume loops. */
	smp_store_release(&rb->prod->producer_pos, prod + len);
	{
		struct ringbuf_shm_meta *m = rb->meta;

		WRITE_ONCE(m->reserved, READ_ONCE(m->reserved) + 1);
		WRITE_ONCE(m->reserved_bytes, READ_ONCE(m->reserved_bytes) + size);
	}
	atomic_signal_fence(memory_order_seq_cst);
	WRITE_ONCE(rb->sp_to, prod + len);
	if ((flags & (RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) != RINGBUF_NO_WAKEUP)
		return rb_whole_wake(rb, off, flags);
	return 0;
unmark:
	atomic_signal_fence(memory_order_seq_cst);
	WRITE_ONCE(rb->sp_to, last);
full:
	return rb_sp_output_full(rb, data, size, flags);
}

static __attribute__((noinline)) long rb_sp_output_small(struct ringbuf *rb, const void *data,
							 uint64_t size, uint64_t flags)
{
	return rb_sp_fast(rb, data, size, flags, true);
}

static __attribute__((noinline)) long rb_sp_output_any(struct ringbuf *rb, const void *data,
						       uint64_t size, uint64_t flags)
{
	return rb_sp_fast(rb, data, size, flags, false);
}

/*
 * A small record (8 to 16 bytes) into a ring of many producers.  Copying
 * two words costs less than the lock's own round trip, so it is done under
 * the lock and the record is written whole, as above: take the lock (one
 * CAS; a holder found there sends the call to src/ring.c, which knows how
 * to wait and whom to rob), walk pending_pos to producer_pos, check room,
 * write the record, publish producer_pos (R2), count, then store
 * meta.clean_to and release the lock (R4).  clean_to lets the next
 * holder's walk skip reading this record back: it is stored after
 * producer_pos, and this path runs only when the walk reached producer_pos
 * (every record below committed), so it equals producer_pos only while
 * that is true -- any other producer's record, written whole or BUSY,
 * moves producer_pos past it, and a holder that dies before storing it
 * leaves an older value.  Whatever this path does not handle (a walk of
 * more than one record, a BUSY record, no room by the cached
 * consumer_pos, a held lock) it sends, before writing anything, to
 * src/ring.c.  A signal handler
 * interrupting its own thread here finds rb_inside set and is refused, as
 * in src/ring.c.
 */
long rb_small_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags)
{
	uint64_t len = (size + RINGBUF_HDR_SZ + 7) & ~7ull, prod, pend, cons, off;
	struct ringbuf *outer = rb_inside;
	struct ringbuf_shm_producer *pp;
	struct ringbuf_shm_meta *m;
	uint32_t free_ = 0;

	if (__builtin_expect(!data || (flags & ~(RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) ||
				     rb->kind != RB_USER || rb->overwrite || rb->single ||
				     rb_no_produce(rb) || outer == rb || rb_broken(rb),
			     0))
		return rb_output(rb, data, size, flags);
	m = rb->meta;
	rb_inside = rb;
	atomic_signal_fence(memory_order_seq_cst);
	/* A4: pairs with R4 below and in rb_unlock(). */
	if (__builtin_expect(!atomic_compare_exchange_strong_explicit(
				     RB_ATOMIC(&m->lock_owner), &free_, rb_self(),
				     memory_order_acquire, memory_order_relaxed),
			     0))
		goto general;
	RB_FI(RB_FI_LOCKED);
	pp = rb->prod;
	/* A2: pairs with R2 of the previous holder (a dead one too, whose
	 * lock was taken over): its clean_to store is visible with it. */
	prod = smp_load_acquire(&pp->producer_pos);
	pend = READ_ONCE(pp->pending_pos);
	if (__builtin_expect((prod | pend) & 7 || prod - pend > rb->size, 0))
		goto unlock; /* positions no ring can have: src/ring.c says so */
	/* 1.  After clean_to (the last record was written whole), pending_pos
	 * walks to producer_pos unread; after one record of another path, one
	 * step of the walk reads it; anything longer goes to src/ring.c. */
	if (pend != prod && prod != READ_ONCE(m->clean_to)) {
		/* A1: pairs with R1 in rb_commit_len() and R7 in rb_cas_len(). */
		uint32_t l = smp_load_acquire(&((struct ringbuf_hdr *)(void *)(rb->data +
									 (pend & rb->mask)))->len);

		if ((l & RINGBUF_BUSY_BIT) || rb_rec_len(l) != prod - pend)
			goto unlock;
	}
	/* 2. (len < size: a small record fits any ring) */
	cons = READ_ONCE(m->cons_cache);
	if (__builtin_expect(prod - cons > rb->mask - len, 0))
		goto unlock; /* the consumer may be in the way */
	WRITE_ONCE(pp->pending_pos, prod);
	/* 3. */
	off = prod & rb->mask;
	rb_write_whole(rb, off, data, size, true);
	/* 4. R2: pairs with A2 in rb_positions() and the consume loops. */
	smp_store_release(&pp->producer_pos, prod + len);
	WRITE_ONCE(m->reserved, READ_ONCE(m->reserved) + 1);
	WRITE_ONCE(m->reserved_bytes, READ_ONCE(m->reserved_bytes) + size);
	RB_FI(RB_FI_WHOLE);
	WRITE_ONCE(m->clean_to, prod + len);
	/* R4: pairs with A4 above and in rb_lock()/rb_lock_slow(). */
	smp_store_release(&m->lock_owner, 0);
	atomic_signal_fence(memory_order_seq_cst);
	rb_inside = outer;
	if ((flags & (RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) != RINGBUF_NO_WAKEUP)
		return rb_whole_wake(rb, off, flags);
	return 0;
unlock:
	smp_store_release(&m->lock_owner, 0); /* R4; nothing was written */
general:
	atomic_signal_fence(memory_order_seq_cst);
	rb_inside = outer;
	return rb_output(rb, data, size, flags);
}

long ringbuf_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags)
{
	if (__builtin_expect(!rb, 0))
		return rb_err(EINVAL);
	if (rb->sp_fast == ~rb_tls_tid) { /* a single-producer ring's claimant */
		if (size - 8 <= 8)
			return rb_sp_output_small(rb, data, size, flags);
		return rb_sp_output_any(rb, data, size, flags);
	}
	if (size - 8 <= 8)
		return rb_small_output(rb, data, size, flags);
	return rb_output(rb, data, size, flags);
}
