/* SPDX-License-Identifier: MIT */
/*
 * recover.c -- dead and stuck peers: waiting for the holder of the
 * reservation lock, and turning a dead producer's BUSY record into a
 * discard.  The invariants (I1..I6) and the ordering pairs (R/A/F) are
 * those of the essay at the top of src/ring.c.
 *
 * DEAD PEERS
 *
 * A producer process can be SIGKILLed at any instruction.  Inside the
 * reservation lock that is the lock's business (src/ring.c, section 4):
 * each store leaves I1-I4 true, and the waiter that finds the holder dead
 * takes the lock over (rb_lock_slow(), src/proc.c).  Between reserve and commit
 * -- holding a BUSY record -- it would stop the consumer at that record for
 * ever, and then, once the ring fills up behind it, every producer.  So:
 *
 *   Owner.  The lock holder writes its pid into the BUSY header's pg_off
 *   (the store was there already; only the value changed).  Commit writes
 *   {len, kernel pg_off} as one 8-byte release store (R1), so a header is
 *   never BUSY without its owner -- a process killed in the middle of a
 *   commit leaves either the BUSY header with its pid or the committed
 *   one -- and every committed header is the kernel's byte for byte.  The
 *   one difference from the kernel's bytes is pg_off of a BUSY record,
 *   which nothing reads (libbpf does not; t_diff never sees a BUSY record
 *   between steps, as a BPF program cannot hold one across runs).
 *
 *   Recovery.  The consumer, stopped at a BUSY head record, starts a clock
 *   for that header (position, len, owner; process-local state in the
 *   handle).  After the handle's bound (ringbuf_opts.recover_ms, default
 *   1 s) it checks the owner exactly: pidfd_open() fails with ESRCH, or the
 *   pidfd polls readable (exited; a zombie counts: none of its threads can
 *   store any more).  pid 0, a pid no process can have, or a live process
 *   -- a stopped one, or one that reused the pid -- is alive: recovery errs
 *   towards waiting, never towards discarding a live producer's record.
 *   While the owner lives the check repeats every bound/8 (1 ms..100 ms).
 *   A dead owner's record becomes a discard by CAS on len (R7), counted in
 *   the consumer page's recovered; the CAS (not a store) makes a commit
 *   racing it -- possible only if the owner was not dead after all, e.g. a
 *   fork()ed child submitting its dead parent's reservation, which the
 *   header forbids -- win or lose whole.  Further records of an owner just
 *   found dead (its other threads') are checked at once.  A consumer-role
 *   handle, whose data mapping is read-only, maps the header's page
 *   writable for that one CAS -- except in a split ring, where its file
 *   is read-only too: it stores recover_hint = position | 1 in its own
 *   page instead, and the next reservation, whose pending_pos walk stops
 *   at that very record, checks the owner itself (the hint is a peer's
 *   request, never trusted as a verdict) and makes the CAS, counting it in
 *   meta.recovered (rb_recover_for_consumer).  A ring with no further
 *   reservation keeps the record until one comes.  In overwrite mode
 *   (src/overwrite.c) the same check runs in rb_consume_ow(); producers
 *   never pass a BUSY record there either, and before the CAS the consumer
 *   re-reads overwrite_pos (F5's pattern) so that the header it swaps is
 *   the record's own, never bytes a producer has written there since.
 *
 *   Bounds.  ringbuf_poll() never sleeps past the next check while its
 *   head record is BUSY (a dead owner sends no wakeup).  Producers need no
 *   check of their own: a dead record stops the pending_pos walk exactly
 *   where it stops the consumer (neither passes a BUSY record, and
 *   consumer_pos <= pending_pos after a walk while it stands there), so it
 *   blocks a reservation only while it blocks the consumer -- the
 *   consumer's bound -- and the first walk after the CAS passes it.  With
 *   no consumer running the ring fills and producers get -EAGAIN
 *   (refused_full), as with any stopped consumer.
 *
 *   A dead consumer.  Its claim is taken over by the next consumer-role
 *   handle (src/handle.c), which starts at the shared consumer_pos: records
 *   the dead one delivered after it last published consumer_pos (at most
 *   one consume call's worth, or a quarter ring while draining a backlog)
 *   are delivered again.  At least once across a consumer crash, exactly
 *   once otherwise.
 */
#include "internal.h"
#include "ring.h"

#include <limits.h>
#include <sched.h>
#include <sys/mman.h>

/* ------------------------------------------------------------------------
 * The claim of a single-producer ring
 * ------------------------------------------------------------------------ */

/*
 * RINGBUF_F_SINGLE_PRODUCER: the calling thread claims the ring through
 * this handle by taking the reservation lock for good (its reservations
 * then only compare rb->sp_tid with their thread).  0 once claimed;
 * -EBUSY while another handle, another thread of this handle, or a live
 * process holds it.  The claim of a process that exited is taken over at
 * once (lock_steals): each of its reservations left the ring consistent,
 * as any dead holder's does (src/ring.c, section 4).  ringbuf_free() of
 * the claiming handle gives the claim back.
 */
long rb_sp_claim(struct ringbuf *rb)
{
	uint32_t *owner = &rb->meta->lock_owner, me = rb_self(), cur = 0;

	if (rb->sp_tid) /* claimed through this handle by another thread */
		return -EBUSY;
	/* A4: pairs with R4, the previous claimant's release in ringbuf_free(). */
	if (!atomic_compare_exchange_strong_explicit(RB_ATOMIC(owner), &cur, me, memory_order_acquire,
						     memory_order_relaxed)) {
		if (cur == me || rb_process_alive(cur) ||
		    !atomic_compare_exchange_strong_explicit(RB_ATOMIC(owner), &cur, me,
							     memory_order_acquire,
							     memory_order_relaxed))
			return -EBUSY;
		atomic_fetch_add_explicit(RB_ATOMIC(&rb->meta->lock_steals), 1, memory_order_relaxed);
	}
	rb->sp_tid = rb_tid();
	rb->sp_fast = rb->overwrite ? 0 : ~rb->sp_tid; /* src/output.c from now on */
	WRITE_ONCE(rb->sp_to, RB_SP_NONE);
	return 0;
}

/* ------------------------------------------------------------------------
 * Records left BUSY by dead producers
 * ------------------------------------------------------------------------ */

/* Has the process that owns a BUSY record exited?  Exactly, and erring
 * towards "alive": pid 0 or one no pid can be (garbage) is never dead, a
 * pid that exists is alive (a stopped process, or a new process that reused
 * the pid: the record then waits until that one exits too), and a zombie
 * is dead (its pidfd is readable: no thread of it can store any more). */
static bool rb_owner_dead(uint32_t pid)
{
	if (pid == 0 || pid > INT_MAX)
		return false;
	return !rb_process_alive(pid);
}

/* Between checks of a live owner: an eighth of the bound, 1 ms to 100 ms. */
static uint64_t rb_recheck_ns(const struct ringbuf *rb)
{
	uint64_t t = rb->recover_ns / 8;

	return t < 1000000 ? 1000000 : t > 100000000 ? 100000000 : t;
}

/* Compare-and-swap the len word of the header at data offset @off.  A
 * consumer-role handle has the data mapped read-only (so that it cannot
 * write records by mistake); for this one store it maps the header's page
 * writable from the ring file, which every handle of a ring in one file
 * holds open read-write.  (A split ring's consumer-only handle holds it
 * read-only and asks producers instead: see rb_recover().) */
static bool rb_cas_len(struct ringbuf *rb, uint64_t off, uint32_t expect, uint32_t want)
{
	struct ringbuf_hdr *hdr = (void *)(rb->data + off);
	size_t page = (size_t)1 << rb->page_shift;
	uint64_t in_page = off & (page - 1);
	void *map = NULL;
	bool ok;

	if (rb->role == RINGBUF_ROLE_CONSUMER) {
		map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, rb->fd,
			   (off_t)(((uint64_t)RINGBUF_SHM_DATA_PAGE << rb->page_shift) + off - in_page));
		if (map == MAP_FAILED)
			return false; /* tried again at the next check */
		hdr = (void *)((unsigned char *)map + in_page);
	}
	/* R7: pairs with A1 in rb_advance_pending() (producers pass the
	 * record once they see it a discard) and in this consumer; the CAS,
	 * not a store, so that a commit racing it (only possible if the owner
	 * was not dead after all) wins or loses whole.  R3 publishes the
	 * consumer position past the record only after it. */
	ok = atomic_compare_exchange_strong_explicit(RB_ATOMIC(&hdr->len), &expect, want,
						     memory_order_acq_rel, memory_order_relaxed);
	if (map)
		munmap(map, page);
	return ok;
}

/*
 * The record at @cons, whose header @hdr read @len (BUSY), stops the
 * consumer; @avail = producer_pos - @cons.  Once the same BUSY header has
 * stood there for the handle's bound, and whenever rb_recheck_ns() has
 * passed since, check its owner; if the owner has exited, turn the record
 * into a discard.  Returns true if it did.
 */
__attribute__((noinline, cold)) bool
rb_recover(struct ringbuf *rb, uint64_t cons, struct ringbuf_hdr *hdr, uint32_t len, uint64_t avail)
{
	/* Read after the acquire of len: the reserver wrote it before R2.
	 * (In overwrite mode the bytes may be a newer record's being
	 * written: see the check before the CAS.) */
	uint32_t owner = rb_racy_len(&hdr->pg_off);
	uint64_t now = rb_now_ns();
	uint64_t rec = rb_rec_len(len);

	if (!rb->stall_on || rb->stall_pos != cons || rb->stall_len != len ||
	    rb->stall_owner != owner) {
		rb->stall_on = true; /* a new record at the head: start its clock */
		rb->stall_pos = cons;
		rb->stall_len = len;
		rb->stall_owner = owner;
		rb->stall_check = now + rb->recover_ns;
		/* The bound spares live owners the checks; an owner already
		 * found dead (the other threads' records of a process that
		 * died) is checked at once -- still exactly, its pid may have
		 * been reused since. */
		if (owner != rb->dead_owner)
			return false;
	} else if (now < rb->stall_check) {
		return false;
	}
	rb->stall_check = now + rb_recheck_ns(rb);
	/* A length that runs past producer_pos is not a reservation: wait
	 * (a corrupt committed one is reported by consume). */
	if (rec > avail || !rb_owner_dead(owner))
		return false;
	/* Overwrite mode: producers may have overwritten @cons between our
	 * reading the positions and the header.  If overwrite_pos, read
	 * after the header (F5's pattern), has not passed @cons, the header
	 * we read was the record's own, and a BUSY record is never passed by
	 * producers: only its dead owner could have changed it. */
	if (rb->overwrite) {
		smp_rmb();
		if ((int64_t)(smp_load_acquire(&rb->prod->overwrite_pos) - cons) > 0)
			return false;
	}
	if (rb->cons_fd >= 0 && rb->role == RINGBUF_ROLE_CONSUMER) {
		/* A split ring's consumer-only handle cannot write the data:
		 * ask the next reservation (rb_recover_for_consumer()). */
		WRITE_ONCE(rb->cons->recover_hint, cons | 1);
		return false;
	}
	if (!rb_cas_len(rb, cons & rb->mask, len, (len & ~RINGBUF_BUSY_BIT) | RINGBUF_DISCARD_BIT))
		return false;
	atomic_fetch_add_explicit(RB_ATOMIC(&rb->cons->recovered), 1, memory_order_relaxed);
	rb->stall_on = false;
	rb->dead_owner = owner;
	return true;
}

/*
 * A split ring's consumer-only handle cannot write the data, so it cannot
 * turn a dead producer's record into a discard; it asks, by recover_hint,
 * and the next reservation (which walks pending_pos up to that record)
 * does it -- after checking the owner itself, exactly as the consumer
 * does: the hint is a request from a peer, not a verdict (above).
 * At most one check per millisecond per handle, so a hint naming a live
 * producer's record costs a pidfd per millisecond, not one per record.
 */
__attribute__((noinline, cold)) bool
rb_recover_for_consumer(struct ringbuf *rb, struct ringbuf_hdr *hdr, uint64_t pos, uint32_t len)
{
	uint32_t owner = READ_ONCE(hdr->pg_off);
	uint64_t now = rb_now_ns();

	if (rb->hint_pos == pos && now - rb->hint_at < 1000000)
		return false;
	rb->hint_pos = pos;
	rb->hint_at = now;
	if (!rb_owner_dead(owner))
		return false;
	/* R7, made by a producer (which can write the data directly). */
	if (!rb_cas_len(rb, pos & rb->mask, len, (len & ~RINGBUF_BUSY_BIT) | RINGBUF_DISCARD_BIT))
		return false;
	RB_COUNT(rb, recovered);
	return true;
}
