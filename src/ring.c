/* SPDX-License-Identifier: MIT */
/*
 * ring.c -- the BPF ring buffer in user space: the hot path.  Reserve,
 * commit, output and the consume loop, in that order.  Read this essay
 * before the code.  The rest of the design is at the top of the file that
 * implements it:
 *
 *   src/notify.c     notifications without lost wakeups (F1..F3, F6), and
 *                    the wakeup fd of ringbuf_epoll_fd() (fd mode)
 *   src/overwrite.c  overwrite mode (RINGBUF_F_OVERWRITE)
 *   src/recover.c    dead peers: a dead lock holder, a dead producer's
 *                    BUSY record, a dead consumer
 *   src/poll.c       waiting: ringbuf_poll(), kernel maps, a full ring
 *   src/output.c     ringbuf_output(): small records, and a single-producer
 *                    ring's, written whole before they are published
 *   docs/protocol.md the protocol itself, the kernel's and ringbuf's
 *
 * 1. THE OBJECT
 *
 * A ring is a file (a sealed memfd or a name under /dev/shm, src/files.c):
 * a metadata page of ringbuf's own, then the kernel's BPF_MAP_TYPE_RINGBUF
 * layout -- consumer page, producer page, data pages -- with the data mapped
 * twice back to back so that no record is ever split at the end
 * (include/ringbuf.h has the ABI).  Every process maps the whole file; a
 * struct ringbuf is one process's view of it.  Shared memory holds
 * positions, never pointers: free-running 64-bit byte counters compared by
 * unsigned difference, so 2^64 wrap-around is harmless, and no ABA.
 *
 * 2. WHO WRITES WHAT (every field of include/ringbuf.h's shared structs)
 *
 * Metadata page (ringbuf's own; producers write it, the consumer maps it
 * read-only):
 *   magic, version, page_size, data_size, flags, ring_id   the creator,
 *                     once, before the ring is mapped or named (files.c)
 *   lock_owner        producers: pid of the lock holder, 0 when free (4)
 *   lock_steals       a producer taking a dead holder's lock over (recover.c)
 *   cons_cache        the lock holder: the consumer_pos it last read (4)
 *   reserved, reserved_bytes   the lock holder (plain adds on the lock's line)
 *   clean_to          the lock holder: after a record written whole
 *                     (src/output.c), and RB_SP_NONE before a BUSY one;
 *                     a hint, valid while = producer_pos
 *   notify_seq        the futex word: moved from wait_seq to wait_seq + 1 by
 *                     the one producer whose CAS wins (src/notify.c)
 *   force_seq         producers sending a FORCE_WAKEUP bump it
 *   discarded, refused_*, wakeups   any producer (atomic adds, rare events)
 *   recovered         a producer, at the request of a split ring's consumer
 *                     (recover_hint below; src/recover.c)
 *   _was_waiting, _was_owner   nobody (layout 1's fields, kept as padding)
 * Consumer page (the consumer writes it, producers map it read-only):
 *   consumer_pos      the consumer, once per consume call (plus every quarter
 *                     ring while draining a backlog), never per record
 *   ow_passed, ow_lost   overwrite mode: the consumer (src/overwrite.c)
 *   recovered         the consumer, per dead producer's record it discards
 *   recover_hint      a consumer that may not write the data (split ring)
 *   wakeup_watermark  the consumer; producers read it only when it waits
 *   wake_gen          the consumer, binding a new wakeup socket (wakesock.c)
 *   consumer_owner    the process claiming the consumer role, or any
 *                     consumer call clearing a dead claimant's (handle.c)
 *   ring_id           the creator, once: meta.ring_id (a split ring's pair)
 *   consumer_waiting, wait_seq   the consumer: it arms before sleeping
 *                     (RINGBUF_WAIT_FUTEX) or, in fd mode, after each
 *                     consume (RINGBUF_WAIT_FD), storing the notify_seq it
 *                     armed at, and clears the word when it wakes or disarms
 *   force_taken       the consumer, when it takes a forced notification;
 *                     one is pending while it differs from meta.force_seq
 * Producer page (the kernel's fields first; producers write it):
 *   producer_pos, pending_pos   producers, under the reservation lock (4)
 *   overwrite_pos, ow_passed, ow_check   overwrite mode: producers, under
 *                     the reservation lock (src/overwrite.c)
 *   user_lock         a kernel USER_RINGBUF map's producers: their lock
 *                     (src/kmap.c); never touched in a ringbuf ring
 * Data:
 *   record header     the reserving producer: {len|BUSY, its pid} under the
 *                     lock, then once more at commit: {len, the kernel's
 *                     pg_off} in one 8-byte store.  Or, instead of that
 *                     commit, the consumer, if the reserving process died
 *                     (one CAS on len: BUSY|n -> DISCARD|n, src/recover.c)
 *   payload           the reserving producer, between reserve and commit
 *
 * So the consumer writes only its own page, and producers only the
 * metadata page, the producer page and the data -- which is what lets a
 * split ring (RINGBUF_F_SPLIT, src/files.c) enforce the roles with file
 * permissions.  The one exception is the recovery CAS (src/recover.c); a
 * consumer without write access to the data asks producers to make it.
 *
 * Nothing here trusts a peer: every field read from shared memory is read
 * once into a local, checked (alignment, distance between positions, record
 * length against producer_pos), and never turned into an address without
 * masking it into this process's own mapping.
 *
 * 3. INVARIANTS (of a ring whose peers follow the protocol)
 *
 *   I1  consumer_pos <= pending_pos <= producer_pos   (as unsigned distances)
 *   I2  producer_pos - consumer_pos <= size - 8, and
 *       producer_pos - pending_pos  <= size - 8: the kernel's two space checks
 *       ("> mask" rejects).  The second is the CVE-2024-41009 fix: however far
 *       a consumer moves consumer_pos, a new record never overlaps one that
 *       is still BUSY, because everything from pending_pos on may be BUSY.
 *   I3  every position is a multiple of 8; every record occupies
 *       round_up(len + 8, 8) bytes, headers are 8-byte aligned.
 *   I4  the header at producer_pos's predecessor records is written BUSY
 *       before producer_pos covers it (R2 below), so a consumer never sees a
 *       stale header between consumer_pos and producer_pos.
 *   I5  sizes are checked before positions (CVE-2021-3489): a record of
 *       round_up(len + 8, 8) >= size is refused before consumer_pos is read.
 *   I6  overwrite mode: overwrite_pos <= pending_pos <= producer_pos, on a
 *       record boundary; consumer_pos may then lag any distance (src/overwrite.c).
 *
 * 4. RESERVATION AMONG MANY PRODUCERS
 *
 * Like the kernel, a reservation takes a lock around a handful of
 * instructions: read positions, check space, write the BUSY header, publish
 * producer_pos.  Copying the payload and committing happen outside it, so
 * the lock is held for a few nanoseconds whatever the record size.  The lock
 * is one CAS to take and one release store to drop.  A waiter spins briefly,
 * then yields the CPU -- so a holder preempted by producers that outnumber
 * the cores gets its CPU back instead of being spun against -- and every
 * few milliseconds checks whether the holder's process has exited (a pidfd
 * polls readable once it has, even while it is an unreaped zombie).
 * A holder killed inside the critical section leaves a consistent ring: each
 * of its shared stores leaves I1-I4 true (the header is written before
 * producer_pos, pending_pos only moves over committed records), so the
 * waiter that finds it dead simply takes the lock over (counted in
 * lock_steals).  A stopped (SIGSTOP) holder is alive and is never robbed;
 * after a second of waiting for a live holder the reservation gives up
 * with -EAGAIN, so a stopped holder, or a peer that writes a live pid into
 * lock_owner, cannot hang the other producers (found by the fuzzer).
 * A single-producer ring (RINGBUF_F_SINGLE_PRODUCER) has one claimant
 * thread, which takes the lock once and keeps it: its reservations make
 * no locked instruction, others get -EBUSY (rb_sp_claim(), recover.c);
 * its ringbuf_output() calls go to src/output.c, which writes the whole
 * record before publishing producer_pos (no reader can tell).
 * A signal handler is this machine's NMI: one that interrupts its own
 * thread's reservation of the ring and reserves there too would wait for
 * its own thread; each thread marks the ring it is reserving in, and such
 * a handler is refused at once (-EAGAIN, refused_nested; rb_enter(),
 * src/ring.h), as the kernel fails a reservation it cannot lock in NMI.
 * A single-producer ring's claimant, which takes no lock, marks the ring
 * itself (sp_to = RB_SP_BUSY, in rb_lock() and src/output.c) before it
 * reads a position, and its handlers are refused the same way.
 *
 * pending_pos is advanced as the kernel does it, at the start of every
 * reservation attempt, over the committed records since the last one; so
 * it equals the kernel's value at every step, not only the accept/refuse
 * decisions (the differential test compares the producer page).
 *
 * 5. ORDERING: THE PAIRS
 *
 *   R1 -> A1  rb_commit_len()'s store_release of the header ... the
 *             consumer's load_acquire(hdr->len): the payload is visible
 *             before the record is seen committed.
 *   R2 -> A2  rb_reserve()'s store_release(producer_pos) ... the consumer's
 *             load_acquire(producer_pos): the BUSY header (I4) is visible
 *             before the position that covers it.
 *   R3 -> A3  rb_publish_consumer()'s store_release(consumer_pos) ...
 *             rb_reserve()'s load_acquire(consumer_pos): the consumer has
 *             finished reading bytes before a producer may overwrite them.
 *   R4 -> A4  rb_unlock()'s store_release(lock_owner, 0) ... the CAS
 *             (acquire) of rb_lock() or rb_lock_slow(): one holder's writes
 *             of producer_pos, pending_pos and the header reach the next.
 *   R5 -> A5  rb_wake_sleeper()'s CAS(notify_seq) (acq_rel) ... the
 *             consumer's load_acquire(notify_seq) in rb_arm() and, once
 *             woken, rb_sleep().  (F6 -> F3, src/notify.c, orders the CAS
 *             against the next arming's consumer_waiting.)
 *   R8 -> A8  the consumer's store_release(consumer_waiting) in rb_arm()
 *             ... a producer's load_acquire(consumer_waiting) in
 *             rb_wake_sleeper(): the wait_seq stored before it is this
 *             arming's, so the CAS that wins is the one this arming owes.
 *   R6 -> A6  overwrite mode: rb_overwrite_advance()'s store_release of
 *             overwrite_pos (before producer_pos, R2, as in the kernel) ...
 *             rb_ow_read()'s load_acquire: ow_passed and ow_check with it.
 *   F4 -> F5  overwrite mode, a seqlock on overwrite_pos: smp_wmb after
 *             storing it, before overwriting (F4); rb_consume_ow()'s smp_rmb
 *             after a copy, before re-reading it (F5): torn copies dropped.
 *   W1        smp_wmb between ow_check and ow_passed, with rb_ow_read()'s
 *             smp_rmb (each site in src/overwrite.c says more).
 *   R7 -> A1  rb_cas_len()'s CAS(hdr->len, BUSY|n, DISCARD|n) (acq_rel),
 *             made by the recovering consumer ... producers' load_acquire
 *             of hdr->len in rb_advance_pending(): a recovered record is
 *             passed like any discard.  Its payload is never read, so
 *             nothing else needs ordering; the consumer's R3 publishes its
 *             position past the record only after the CAS.
 *
 * 6. submit AND discard FROM THE SAMPLE POINTER
 *
 * The kernel finds the ring from the header's pg_off, which a peer can
 * rewrite (CVE-2024-41009); ringbuf looks the pointer up in its own table
 * of mappings (a per-thread cache of the last hit: one comparison).  The header is written
 * only after checking that it lies inside this process's data mapping,
 * 8-byte aligned, and is still BUSY.  A committed header's pg_off is the
 * kernel's value (the header's page offset from the file start, which is
 * also the kernel's offset from its ring base); nobody reads it.  While the
 * record is BUSY, pg_off holds the owner's pid instead (src/recover.c).
 */
#include "internal.h"
#include "ring.h"

#include <limits.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------
 * Producer: reserve
 * ------------------------------------------------------------------------ */

/* The reservation lock (section 4): one CAS; waiting for a holder is
 * rb_lock_slow(), src/proc.c.  A single-producer ring's claimant holds it
 * for good: one comparison (rb_sp_claim(), src/recover.c).  0, -EAGAIN
 * (held for over a second by a live process), -EBUSY (claimed) or
 * -EINPROGRESS (a signal handler inside its thread's single-producer
 * reservation). */
static inline long rb_lock(struct ringbuf *rb)
{
	uint32_t me = rb_self(), free_ = 0;

	if (__builtin_expect(rb->single, 0)) {
		/* The claimant marks the ring as src/output.c does; a signal
		 * handler finding it marked is refused (-EINPROGRESS: nested). */
		long e = rb->sp_tid != rb_tid()	      ? rb_sp_claim(rb)
			 : READ_ONCE(rb->sp_to) == RB_SP_BUSY ? -EINPROGRESS
						   : 0;

		if (!e) {
			WRITE_ONCE(rb->sp_to, RB_SP_BUSY);
			atomic_signal_fence(memory_order_seq_cst);
		}
		return e;
	}
	/* A4: pairs with R4 in rb_unlock(). */
	return atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->meta->lock_owner), &free_, me,
						       memory_order_acquire, memory_order_relaxed) ||
			       rb_lock_slow(&rb->meta->lock_owner, me, &rb->meta->lock_steals)
		       ? 0
		       : -EAGAIN;
}

static inline void rb_unlock(struct ringbuf *rb)
{
	/* R4: pairs with A4 in rb_lock()/rb_lock_slow(). */
	if (!rb->single) {
		smp_store_release(&rb->meta->lock_owner, 0);
	} else {
		atomic_signal_fence(memory_order_seq_cst);
		WRITE_ONCE(rb->sp_to, RB_SP_NONE); /* (a record of this path lies below) */
	}
}

/* Reserve a record of @size payload bytes; flags already checked.  Returns
 * the header, or NULL with *err set to a negative errno. */
static __attribute__((always_inline)) inline struct ringbuf_hdr *
rb_reserve_in(struct ringbuf *rb, uint64_t size, long *err)
{
	if (__builtin_expect(rb->kind != RB_USER || rb_no_produce(rb), 0)) {
		if (rb->kind == RB_KERNEL_USER_RINGBUF)
			return rb_kuser_reserve(rb, size, err);
		/* the kernel produces into a RINGBUF map; a consumer handle
		 * has the data mapped read-only */
		*err = -EOPNOTSUPP;
		return NULL;
	}
	uint64_t len, prod, pend, old_pend, new_prod;
	struct ringbuf_hdr *hdr;

	/* I5: sizes before positions. */
	len = (size + RINGBUF_HDR_SZ + 7) & ~7ull;
	/* The kernel refuses len > size before its lock; len == size can
	 * never fit either (I2), but the kernel finds that only after its
	 * pending_pos walk, which must happen here too. */
	if (size > UINT32_MAX / 4 || len > rb->size) {
		RB_COUNT(rb, refused_too_big);
		*err = -E2BIG;
		return NULL;
	}
	*err = rb_lock(rb);
	if (*err) {
		if (*err == -EAGAIN)
			RB_COUNT(rb, refused_full);
		if (*err == -EINPROGRESS) {
			RB_COUNT(rb, refused_nested);
			*err = -EAGAIN;
		}
		return NULL;
	}
	prod = READ_ONCE(rb->prod->producer_pos);
	pend = READ_ONCE(rb->prod->pending_pos);
	if ((prod | pend) & 7 || prod - pend > rb->size) {
		rb_unlock(rb);
		if (len == rb->size) /* "never" wins */
			RB_COUNT(rb, refused_too_big);
		*err = len == rb->size ? -E2BIG : -EBADMSG;
		return NULL;
	}
	new_prod = prod + len;
	old_pend = pend;
	pend = rb_advance_pending(rb, pend, prod);
	if (pend != old_pend)
		WRITE_ONCE(rb->prod->pending_pos, pend);
	if (len == rb->size) {
		rb_unlock(rb);
		RB_COUNT(rb, refused_too_big);
		*err = -E2BIG;
		return NULL;
	}
	if (new_prod - pend > rb->mask)
		goto full; /* a BUSY record would be overwritten */
	if (__builtin_expect(rb->overwrite, 0)) {
		long e = rb_overwrite_advance(rb, prod, pend, new_prod);

		if (e) {
			rb_unlock(rb);
			*err = e;
			return NULL;
		}
		goto room;
	}
	if (!rb_room(rb, prod, new_prod)) /* src/ring.h */
		goto full;
room:
	hdr = (void *)(rb->data + (prod & rb->mask));
	RB_FI(RB_FI_LOCKED);
	/* While BUSY, pg_off names the owner: the pid a consumer checks
	 * before it recovers the record (src/recover.c). */
	WRITE_ONCE(hdr->len, (uint32_t)size | RINGBUF_BUSY_BIT);
	WRITE_ONCE(hdr->pg_off, rb_self());
	/* A BUSY record: clean_to (src/output.c) must not match producer_pos
	 * by coincidence (positions set from outside, a wrap), so it goes
	 * before the position that covers the record. */
	WRITE_ONCE(rb->meta->clean_to, RB_SP_NONE);
	RB_FI(RB_FI_HDR);
	/* R2: pairs with A2 in rb_positions() and the consume loops; I4. */
	smp_store_release(&rb->prod->producer_pos, new_prod);
	/* Counted under the lock, on the lock's own cache line: no atomic,
	 * no extra line per record.  Relaxed: ringbuf_stats is a snapshot. */
	WRITE_ONCE(rb->meta->reserved, READ_ONCE(rb->meta->reserved) + 1);
	WRITE_ONCE(rb->meta->reserved_bytes, READ_ONCE(rb->meta->reserved_bytes) + size);
	RB_FI(RB_FI_PUBLISHED);
	rb_unlock(rb);
	RB_FI(RB_FI_RESERVED);
	return hdr;
full:
	rb_unlock(rb);
	RB_COUNT(rb, refused_full);
	*err = -EAGAIN;
	return NULL;
}

/* ... never from a signal handler into its own thread's reservation of
 * the same ring (rb_enter(), src/ring.h). */
static __attribute__((always_inline)) inline struct ringbuf_hdr *
rb_reserve(struct ringbuf *rb, uint64_t size, long *err)
{
	struct ringbuf *outer;
	struct ringbuf_hdr *hdr = NULL;

	if (rb_enter(rb, &outer, err)) {
		hdr = rb_reserve_in(rb, size, err);
		rb_leave(outer);
	}
	return hdr;
}

/* ------------------------------------------------------------------------
 * Producer: commit, and the API
 * ------------------------------------------------------------------------ */

/* Store the final header word of the record at data offset @off (first
 * copy), then decide the wakeup. */
static __attribute__((always_inline)) inline void
rb_commit_len(struct ringbuf *rb, uint64_t off, uint32_t len, uint64_t flags)
{
	struct ringbuf_hdr *hdr = (void *)(rb->data + off);

	if (rb->kind == RB_USER) {
		/* The whole header in one store: the kernel's pg_off replaces
		 * the owner's pid in the same instant BUSY clears, so a header
		 * is never BUSY without its owner, and a committed one is the
		 * kernel's, byte for byte.  (@off is 8-byte aligned.) */
		RB_FI(RB_FI_COMMIT);
		/* R1: pairs with A1 in the consumer and in rb_advance_pending(). */
		smp_store_release((ringbuf_u64 *)(void *)hdr, rb_hdr_word(rb, off, len));
	} else {
		/* a kernel USER_RINGBUF: pg_off stays the 0 reserve wrote */
		smp_store_release(&hdr->len, len); /* R1 */
	}

	/* FORCE wins over NO_WAKEUP, as in the kernel.  A kernel user ring
	 * buffer is drained when its BPF program runs: nothing to wake. */
	if ((flags & (RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) == RINGBUF_NO_WAKEUP ||
	    rb->kind != RB_USER)
		return;
	smp_mb(); /* F1: pairs with F3 in ringbuf_poll() and rb_arm() */
	rb_notify(rb, off, flags);
}

/* Commit the BUSY record at data offset @off: clear BUSY, maybe set DISCARD. */
static void rb_commit_hdr(struct ringbuf *rb, uint64_t off, uint64_t flags, bool discard)
{
	struct ringbuf_hdr *hdr = (void *)(rb->data + off);
	uint32_t len = READ_ONCE(hdr->len);

	if (!(len & RINGBUF_BUSY_BIT)) {
		errno = EINVAL; /* not outstanding: committed twice, or not a sample */
		return;
	}
	len &= ~RINGBUF_BUSY_BIT;
	if (discard)
		len |= RINGBUF_DISCARD_BIT;
	rb_commit_len(rb, off, len, flags);
	if (discard) /* after: a producer killed before its commit is counted
		      * once, by the consumer that recovers the record */
		RB_COUNT(rb, discarded);
}

/* The ring whose data mapping contains address @p, or NULL.  Each thread
 * remembers its last hit, valid while rb_registry_gen does not move (no
 * handle freed since): on the submit/discard path the lookup is then one
 * comparison. */
static __thread struct ringbuf *rb_tls_last __attribute__((tls_model("initial-exec")));
static __thread uint64_t rb_tls_gen __attribute__((tls_model("initial-exec")));

static inline struct ringbuf *rb_lookup(uintptr_t p)
{
	uint64_t gen = atomic_load_explicit(RB_ATOMIC(&rb_registry_gen), memory_order_acquire);
	struct ringbuf *rb = rb_tls_last, *hit;
	uint64_t found_gen;

	if (rb && rb_tls_gen == gen && rb_holds(rb, p))
		return rb;
	hit = rb_registry_find(p, &found_gen);
	if (hit) {
		rb_tls_last = hit;
		rb_tls_gen = found_gen;
	}
	return hit;
}

/* submit/discard from the sample pointer alone: find the ring in this
 * process's own table, never through the shared pg_off. */
static void rb_commit(void *sample, uint64_t flags, bool discard)
{
	uintptr_t hp = (uintptr_t)sample - RINGBUF_HDR_SZ;
	struct ringbuf *rb = sample ? rb_lookup(hp) : NULL;

	if (!rb || ((hp - (uintptr_t)rb->data) & 7) || rb_no_produce(rb)) {
		errno = EINVAL; /* (a consumer handle's data is read-only) */
		return;
	}
	rb_commit_hdr(rb, (hp - (uintptr_t)rb->data) & rb->mask, flags, discard);
}

void *ringbuf_reserve(struct ringbuf *rb, uint64_t size, uint64_t flags)
{
	struct ringbuf_hdr *hdr;
	long err = 0;

	if (!rb || flags) {
		if (rb)
			RB_COUNT(rb, refused_flags);
		errno = EINVAL;
		return NULL;
	}
	hdr = rb_reserve(rb, size, &err);
	if (!hdr) {
		errno = (int)-err;
		return NULL;
	}
	return hdr + 1;
}

void ringbuf_submit(void *sample, uint64_t flags)
{
	rb_commit(sample, flags, false);
}

void ringbuf_discard(void *sample, uint64_t flags)
{
	rb_commit(sample, flags, true);
}

/* ringbuf_output() the general way: reserve, copy, commit (src/output.c
 * has the public function and its fast paths). */
long rb_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags)
{
	struct ringbuf_hdr *hdr;
	long err = 0;

	if (!rb || (!data && size))
		return rb_err(EINVAL);
	if (flags & ~(RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) {
		RB_COUNT(rb, refused_flags);
		return rb_err(EINVAL);
	}
	hdr = rb_reserve(rb, size, &err);
	if (!hdr)
		return rb_err((int)-err);
	rb_copy(hdr + 1, data, size);
	/* The header is ours until this store: no need to read it back. */
	rb_commit_len(rb, (uint64_t)((unsigned char *)hdr - rb->data), (uint32_t)size, flags);
	return 0;
}

/* ------------------------------------------------------------------------
 * Consumer
 * ------------------------------------------------------------------------ */

/*
 * Deliver up to @n committed records.  Reads producer_pos once per pass and
 * makes passes until it finds nothing new or has moved a whole ring's worth
 * of bytes, so a call always ends even against producers that never stop.
 */
int rb_consume(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n)
{
	uint64_t cons, prod, start, published;
	size_t cnt = 0;
	int err = 0;

	if (!rb || !fn)
		return (int)rb_err(EINVAL);
	rb->taking = false; /* a pull reader's lease ends uncommitted: see pull.c */
	if (rb->kind == RB_KERNEL_USER_RINGBUF)
		return (int)rb_err(EOPNOTSUPP); /* the kernel consumes it */
	if (rb->kind == RB_USER) {
		err = rb_consumer_gate(rb);
		if (err)
			return (int)rb_err(-err);
		if (rb->wake_rx >= 0) {
			/* Before consuming, take what was notified: see rb_arm_fd(). */
			rb_wake_drain(rb);
			(void)rb_take_forced(rb);
		}
	}
	if (rb->overwrite) {
		int r = rb_consume_ow(rb, fn, ctx, n);

		if (rb->wake_rx >= 0)
			rb_arm_fd(rb);
		return r;
	}
	err = rb_positions(rb, &cons, &prod);
	start = published = cons;
	while (!err && cnt < n && cons != prod) {
		struct ringbuf_hdr *hdr = (void *)(rb->data + (cons & rb->mask));
		/* A1: pairs with R1 in rb_commit_len() and R7 in rb_cas_len();
		 * read once, use the copy. */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec = rb_rec_len(len);

		if (len & RINGBUF_BUSY_BIT) {
			/* its owner may be dead: then it is a discard now */
			if (rb->recover_ns && rb_recover(rb, cons, hdr, len, prod - cons))
				continue;
			break;
		}
		if (rec > prod - cons) {
			err = -EBADMSG;
			break;
		}
		cons += rec;
		if (!(len & RINGBUF_DISCARD_BIT)) {
			int r = fn(ctx, hdr + 1, len & LEN_MASK);

			cnt++;
			if (r < 0) {
				err = r;
				break;
			}
		}
		if (cons - published >= rb->size / 4) {
			rb_publish_consumer(rb, cons);
			published = cons;
		}
		if (cons == prod && cons - start < rb->size) {
			prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
			if ((prod & 7) || prod - cons > rb->size)
				err = -EBADMSG;
		}
	}
	if (cons != published)
		rb_publish_consumer(rb, cons);
	if (rb->wake_rx >= 0)
		rb_arm_fd(rb);
	if (err || rb_broken(rb)) /* broken: its file shrank meanwhile */
		return (int)rb_err(err ? -err : EBADMSG);
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}
