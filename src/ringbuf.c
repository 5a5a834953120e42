/* SPDX-License-Identifier: MIT */
/*
 * ringbuf.c -- the BPF ring buffer in user space: producers, consumer,
 * notifications.  Read this essay before the code.
 *
 * 1. THE OBJECT
 *
 * A ring is one sealed memfd: a metadata page of ringbuf's own, then the
 * kernel's BPF_MAP_TYPE_RINGBUF layout -- consumer page, producer page, data
 * pages -- with the data mapped twice back to back so that no record is ever
 * split at the end (include/ringbuf.h has the ABI).  Every process maps the
 * whole file; a struct ringbuf is one process's view of it.  Shared memory
 * holds positions, never pointers.  Positions are free-running 64-bit byte
 * counters compared by unsigned difference, so 2^64 wrap-around is harmless
 * and there is no ABA on positions.
 *
 * 2. WHO WRITES WHAT
 *
 *   consumer_pos      the consumer, once per consume call (plus every quarter
 *                     ring while draining a backlog), never per record
 *   producer_pos      producers, under the reservation lock
 *   pending_pos       producers, under the reservation lock (see 4)
 *   record header     the reserving producer: {len|BUSY, its pid} under the
 *                     lock, then once more at commit: {len, the kernel's
 *                     pg_off} in one 8-byte store.  Or, instead of that
 *                     commit, the consumer, if the reserving process died
 *                     (one CAS on len: BUSY|n -> DISCARD|n, section 10)
 *   payload           the reserving producer, between reserve and commit
 *   lock_owner        producers (pid of the holder, 0 when free)
 *   consumer_waiting, wait_seq   the consumer only (consumer page): it
 *                     arms before sleeping (RINGBUF_WAIT_FUTEX) or, in fd
 *                     mode, after each consume (RINGBUF_WAIT_FD), storing
 *                     the notify_seq it armed at, and clears the word when
 *                     it wakes or disarms
 *   wakeup_watermark  the consumer (consumer page, its own 128-byte block);
 *                     producers read it only when the consumer waits
 *   force_seq         producers sending a FORCE_WAKEUP bump it (meta)
 *   force_taken       the consumer, when it takes a forced notification
 *                     (consumer page); one is pending while the two differ
 *   notify_seq        the futex word (meta): moved from wait_seq to
 *                     wait_seq + 1 by the one producer whose CAS wins
 *   reserved, reserved_bytes   the lock holder (plain adds on the lock's line)
 *   discarded, refused_*, wakeups   any producer (atomic adds, rare events)
 *   consumer_owner    the process claiming the consumer role (consumer
 *                     page, src/handle.c)
 *   overwrite_pos, ow_passed, ow_check   overwrite mode: producers, under
 *                     the reservation lock (see 9)
 *   ow_passed, ow_lost (consumer page)   overwrite mode: the consumer
 *   recovered         the consumer (consumer page, its own 128-byte block);
 *                     meta.recovered: a producer, at the request of a
 *                     split ring's consumer (recover_hint, consumer page)
 *
 * So the consumer writes only its own page, and producers only the
 * metadata page, the producer page and the data -- which is what lets a
 * split ring (RINGBUF_F_SPLIT, src/shm.c) enforce the roles with file
 * permissions.  The one exception is the recovery CAS of section 10; a
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
 *       record boundary; consumer_pos may then lag any distance (see 9).
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
 *
 * pending_pos is advanced as the kernel does it, at the start of every
 * reservation attempt, over the committed records since the last one; so
 * it equals the kernel's value at every step, not only the accept/refuse
 * decisions (the differential test compares the producer page).
 *
 * 5. ORDERING: THE PAIRS
 *
 *   R1 -> A1  commit's store_release(hdr->len) ... consumer's
 *             load_acquire(hdr->len): the payload is visible before the
 *             record is seen committed.
 *   R2 -> A2  reserve's store_release(producer_pos) ... consumer's
 *             load_acquire(producer_pos): the BUSY header (I4) is visible
 *             before the position that covers it.
 *   R3 -> A3  consumer's store_release(consumer_pos) ... reserve's
 *             load_acquire(consumer_pos): the consumer has finished reading
 *             bytes before a producer may overwrite them.
 *   R4 -> A4  unlock's store_release(lock_owner, 0) ... lock's CAS
 *             (acquire): one holder's writes of producer_pos, pending_pos
 *             and the header are seen by the next.
 *   R5 -> A5  the waking producer's CAS(notify_seq) (acq_rel) ... the
 *             consumer's load_acquire(notify_seq), when it arms and when it
 *             wakes.  (F6 -> F3, section 6, orders the CAS against the
 *             next arming's consumer_waiting.)
 *   R8 -> A8  the consumer's store_release(consumer_waiting) in rb_arm()
 *             ... a producer's load_acquire(consumer_waiting) in
 *             rb_wake_sleeper(): the wait_seq stored before it is this
 *             arming's, so the CAS that wins is the one this arming owes.
 *   R6 -> A6  overwrite mode: reserve's store_release(overwrite_pos) ...
 *             the consumer's load_acquire(overwrite_pos): ow_passed (and
 *             ow_check) are visible with the position they describe.
 *             overwrite_pos is stored before producer_pos (R2), as in the
 *             kernel, so a consumer that reads it after producer_pos sees a
 *             value at least as new as that producer_pos needs.
 *   F4 -> F5  overwrite mode, a seqlock whose sequence is overwrite_pos:
 *             reserve stores overwrite_pos, smp_wmb (F4), then overwrites
 *             the bytes it passed (BUSY header, payload); the consumer
 *             copies a record, smp_rmb (F5), re-reads overwrite_pos.  A copy
 *             that saw any overwriting store therefore sees overwrite_pos
 *             past the record's start, and is thrown away.
 *   W1        between ow_check and ow_passed (smp_wmb), with the consumer's
 *             smp_rmb in rb_ow_read(): a reader that finds ow_check equal to
 *             the overwrite_pos it read first has that position's ow_passed.
 *   R7 -> A1  the recovering consumer's CAS(hdr->len, BUSY|n, DISCARD|n)
 *             (acq_rel) ... producers' load_acquire(hdr->len) in the
 *             pending_pos walk: a recovered record is passed like any
 *             discard.  Its payload is never read, so nothing else needs
 *             ordering; the consumer's R3 publishes its position past the
 *             record only after the CAS.
 *
 * 6. NOTIFICATIONS WITHOUT LOST WAKEUPS
 *
 * The kernel's rules (PROTOCOL.md 4): NO_WAKEUP never notifies, FORCE always
 * does, flags 0 notifies only if consumer_pos equals the committed record's
 * position.  ringbuf adds: a notification costs a system call only if the
 * consumer is asleep (consumer_waiting), so a consumer that keeps up costs
 * producers none.  Two store-load (Dekker) pairs make that safe; on each
 * side a full barrier sits between the store and the load:
 *
 *   F1 (producer, commit): store hdr->len (R1) ; smp_mb ; load consumer_pos
 *                          and consumer_waiting
 *   F3 (consumer, poll):   store consumer_pos (R3) [end of consume] and
 *                          store consumer_waiting ; smp_mb ; load
 *                          producer_pos and the header at consumer_pos
 *
 * Either F1 precedes F3 -- then the consumer's re-check sees the committed
 * record and does not sleep -- or F3 precedes F1 -- then the producer sees
 * both the consumer's position (so it knows the record is owed a wakeup) and
 * consumer_waiting, and wakes it.  No interleaving loses an adaptive
 * wakeup.  The record-at-head re-check is what the kernel's epoll does with
 * EPOLLIN; unlike EPOLLIN, a BUSY head record does not make poll spin.
 *
 * A forced wakeup may be for a record behind a BUSY one, which the re-check
 * cannot see, so FORCE also leaves a sticky mark (the epoll ready list's
 * role): pending while meta.force_seq differs from the consumer's
 * force_taken.
 *
 *   F1' (producer): fetch_add(force_seq) ; smp_mb ; load consumer_waiting
 *   F3  (consumer): store consumer_waiting ; smp_mb ; load force_seq
 *
 * A producer that finds a mark already pending skips the bump: the
 * consumer's next take (store force_taken = the force_seq it read) is
 * followed by F2 (smp_mb) before it reads producer_pos, and since the
 * producer's F1 read a force_taken older than that store, F1 precedes F2
 * and the consume after the take sees its record.  A bump between the
 * consumer's load and its store stays pending for the next look.
 * NO_WAKEUP commits skip F1 entirely: nothing is owed, so nothing is ordered.
 *
 * Sleeping is a futex on notify_seq (not FUTEX_PRIVATE: it works across
 * processes mapping the same file).  The consumer reads notify_seq (A5),
 * stores it as wait_seq and then consumer_waiting (R8); a producer that
 * sees consumer_waiting (A8) tries to CAS notify_seq from wait_seq to
 * wait_seq + 1, and only the winner makes the syscall (FUTEX_WAKE, or a
 * datagram in fd mode) -- exactly one per arming, without producers
 * writing anything of the consumer's.  A CAS that fails means notify_seq
 * already moved past this arming: its waker is on the way.  A move that
 * lands before the consumer's FUTEX_WAIT makes the wait return at once.
 *
 * Late wakers.  An arming reads notify_seq before it stores
 * consumer_waiting, so a producer that read an earlier arming (a futex
 * sleep that has since timed out, or a consumer in fd mode since replaced)
 * may make the CAS that wins for the current one -- and wake the way the
 * earlier one waited.  If the kinds differ, that wakeup goes nowhere and
 * every later CAS for this arming fails (t_wakeswitch).  So a pair more:
 *
 *   F6 (producer, after its CAS won): smp_mb ; load consumer_waiting,
 *                                     and wake that way too
 *   F3 (consumer): store consumer_waiting ; smp_mb ; load notify_seq --
 *                  FUTEX_WAIT's compare, or rb_arm_fd()'s re-read, which
 *                  makes the fd readable itself if the word moved
 *
 * Either the consumer's load sees the CAS (it does not sleep), or the
 * producer's load sees the new arming (it wakes it its way).  Costs one
 * fence and one load per wakeup system call; none when nobody waits.
 *
 * The watermark (ringbuf_set_watermark, W > 0) replaces the adaptive rule
 * "wake if consumer_pos is at this record" by "wake if producer_pos -
 * consumer_pos >= W", read after the same F1; the consumer's re-check after
 * F3 becomes "a committed record at the head AND producer_pos - consumer_pos
 * >= W" (rb_due).  No lost wakeup: the condition turns true either when the
 * head record commits or when the reservation that crosses W is made (the
 * record then commits later).  Take the later of those two commits: its F1
 * follows both facts.  If the consumer's F3 precedes it, that producer
 * sees consumer_waiting, consumer_pos and a producer_pos at least W ahead,
 * and wakes; if it precedes F3, the consumer's re-check sees the committed
 * head and producer_pos (stored before the commit, R2) and does not sleep.
 * A producer may wake the consumer while the head is still BUSY (it does
 * not look at the head): the consumer finds nothing, re-arms, and the head
 * record's own commit wakes it again -- one extra wakeup, never a lost
 * one.  Below W nothing wakes the consumer but FORCE or its timeout: that
 * is the point, and why the timeout bounds the latency.  models/notify.pml
 * checks this exhaustively (-DWM, property PROP_W), as it checks fd mode
 * (-DFD_MODE, section 8).
 *
 * 7. submit AND discard FROM THE SAMPLE POINTER
 *
 * The kernel finds the ring from the header's pg_off; a peer can rewrite
 * that field (CVE-2024-41009).  ringbuf keeps a process-local table of its
 * mappings and looks the pointer up there (a per-thread cache of the last
 * hit makes that one comparison on the hot path).  The header is written
 * only after checking that it lies inside this process's data mapping,
 * 8-byte aligned, and is still BUSY.  A committed header's pg_off is the
 * kernel's value (the header's page offset from the file start, which is
 * also the kernel's offset from its ring base); nobody reads it.  While the
 * record is BUSY, pg_off holds the owner's pid instead (section 10).
 *
 * 8. AN FD FOR THE APPLICATION'S EVENT LOOP (fd mode)
 *
 * ringbuf_epoll_fd() gives the consumer a unix datagram socket bound to a
 * name each process derives from its own fstat of the ring file (src/wake.c
 * says why a socket, and how the name is created, protected and removed).
 * The futex protocol carries over with one change of meaning: the
 * application sleeps in its own epoll_wait(), where we cannot set a flag
 * just before it, so the consumer counts as waiting whenever it has drained
 * the ring.  Each consume empties the socket first, consumes, then arms
 * (consumer_waiting = RINGBUF_WAIT_FD) and re-checks after F3 -- the same
 * pair as the futex sleep, argued at rb_arm_fd().  The producer whose CAS
 * of notify_seq wins for an RINGBUF_WAIT_FD arming sends one datagram; one
 * that finds the word 0 makes no system call, so a consumer that keeps up
 * still costs producers nothing.  A word
 * a peer scribbles (any other nonzero value) is taken as the futex: a
 * spurious FUTEX_WAKE, never a write to a file of the peer's choosing.
 *
 * 9. OVERWRITE MODE (RINGBUF_F_OVERWRITE, the kernel's BPF_F_RB_OVERWRITE)
 *
 * Producers ignore consumer_pos.  Under the lock a reservation checks only
 * pending_pos (I2's second half: a BUSY record is never overwritten; the
 * kernel's NULL is -EAGAIN here), then, if [overwrite_pos, new producer_pos)
 * would exceed size - 8, walks overwrite_pos forward record by record over
 * committed ones (rb_overwrite_advance).  Invariant I6: overwrite_pos <=
 * pending_pos <= producer_pos, overwrite_pos on a record boundary; the walk
 * checks each header against it, so a hostile one ends it with -EBADMSG.
 *
 * The consumer reads from max(consumer_pos, overwrite_pos) and may be any
 * distance behind.  A record can be overwritten while it is read, so it is
 * copied out and delivered only if overwrite_pos has not passed its start
 * afterwards (F4/F5): the callback never sees torn bytes, and never a
 * pointer into the ring.  Counting what is lost: producers keep ow_passed,
 * the number of non-discarded records before overwrite_pos (they walk
 * them); the consumer keeps its own ow_passed for consumer_pos.  When it
 * jumps to overwrite_pos, the difference is the number of records it never
 * got (ow_lost).  rb_consume_ow() uses only the kernel's fields for its
 * positions, so a 6.19 kernel map can use the same consumer (without the
 * count, which the kernel does not keep).  Wakeups follow the kernel's
 * rule unchanged (consumer_pos == the committed record's position).
 *
 * 10. DEAD PEERS
 *
 * A producer process can be SIGKILLed at any instruction.  Inside the
 * reservation lock that is section 4's business (each store leaves I1-I4
 * true; the lock is taken over).  Between reserve and commit -- holding a
 * BUSY record -- it would stop the consumer at that record for ever, and
 * then, once the ring fills up behind it, every producer.  So:
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
 *   reservation keeps the record until one comes.  In overwrite mode (section 9) the same
 *   check runs in rb_consume_ow(); producers never pass a BUSY record
 *   there either, and before the CAS the consumer re-reads overwrite_pos
 *   (F5's pattern) so that the header it swaps is the record's own, never
 *   bytes a producer has written there since.
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
#include "barrier.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LEN_MASK (~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT))

/* Waits for a lock holder: spins, then yields, and checks the holder's
 * liveness at this interval. */
#define LOCK_SPINS          128
#define LOCK_LIVENESS_NS    (5 * 1000 * 1000)
#define LOCK_GIVEUP_NS      (1000 * 1000 * 1000)


/* ------------------------------------------------------------------------
 * Producer: the reservation lock
 * ------------------------------------------------------------------------ */

/* Take the lock, or give up (false) once it has been held by a live
 * process for LOCK_GIVEUP_NS. */
static bool rb_lock_slow(struct ringbuf *rb, uint32_t me)
{
	uint32_t *owner = &rb->meta->lock_owner;
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
				atomic_fetch_add_explicit(RB_ATOMIC(&rb->meta->lock_steals), 1,
							  memory_order_relaxed);
				return true;
			}
		}
	}
}

static inline bool rb_lock(struct ringbuf *rb)
{
	uint32_t me = rb_self(), free_ = 0;

	/* A4: pairs with R4 in rb_unlock(). */
	return atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->meta->lock_owner), &free_, me,
						       memory_order_acquire, memory_order_relaxed) ||
	       rb_lock_slow(rb, me);
}

static inline void rb_unlock(struct ringbuf *rb)
{
	/* R4: pairs with A4 in rb_lock()/rb_lock_slow(). */
	smp_store_release(&rb->meta->lock_owner, 0);
}

/* Count a rare event in shared memory (any producer, any process).  Kernel
 * maps have no metadata page: nothing to count. */
#define RB_COUNT(rb, field)                                                          \
	do {                                                                         \
		if ((rb)->meta)                                                      \
			atomic_fetch_add_explicit(RB_ATOMIC(&(rb)->meta->field), 1,  \
						  memory_order_relaxed);             \
	} while (0)

/* ------------------------------------------------------------------------
 * Producer: reserve
 * ------------------------------------------------------------------------ */

/* Walk pending_pos forward over committed records, as the kernel does at
 * the start of every reservation attempt, so that pending_pos in the
 * producer page is the kernel's value byte for byte (t_diff compares it).
 * With one producer the header read is the one it just committed, still in
 * its cache.  A header that is BUSY, or whose length runs past producer_pos
 * (corrupt), stops the walk: a pending_pos that lags refuses more, never
 * less. */
static bool rb_owner_dead(uint32_t pid);
static bool rb_cas_len(struct ringbuf *rb, uint64_t off, uint32_t expect, uint32_t want);

/*
 * A split ring's consumer-only handle cannot write the data, so it cannot
 * turn a dead producer's record into a discard; it asks, by recover_hint,
 * and the next reservation (which walks pending_pos up to that record)
 * does it -- after checking the owner itself, exactly as the consumer
 * does: the hint is a request from a peer, not a verdict (section 10).
 * At most one check per millisecond per handle, so a hint naming a live
 * producer's record costs a pidfd per millisecond, not one per record.
 */
static __attribute__((noinline, cold)) bool
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

static inline uint64_t rb_advance_pending(struct ringbuf *rb, uint64_t pend, uint64_t prod)
{
	while (pend != prod) {
		struct ringbuf_hdr *hdr = (void *)(rb->data + (pend & rb->mask));
		/* Pairs with R1 in rb_commit(): a committed header is final. */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec;

		if (len & RINGBUF_BUSY_BIT) {
			if (__builtin_expect(READ_ONCE(rb->cons->recover_hint) == (pend | 1), 0) &&
			    rb_recover_for_consumer(rb, hdr, pend, len))
				continue; /* now a discard: walk on */
			break;
		}
		rec = ((uint64_t)(len & LEN_MASK) + RINGBUF_HDR_SZ + 7) & ~7ull;
		if (rec > prod - pend)
			break;
		pend += rec;
	}
	return pend;
}

/*
 * Overwrite mode, under the reservation lock, once the new record is known
 * to fit behind pending_pos: move overwrite_pos over the oldest records
 * until [overwrite_pos, @new_prod) spans at most size - 8 bytes (the
 * kernel's loop).  Everything before pending_pos is committed, so the walk
 * never passes a BUSY record; it stops at pending_pos at the latest.  The
 * headers come from shared memory: one that is BUSY or runs past
 * pending_pos is corruption (-EBADMSG, nothing written), so a hostile
 * length can neither walk outside [overwrite_pos, pending_pos] nor loop.
 * Returns 0 or -EBADMSG.
 */
static long rb_overwrite_advance(struct ringbuf *rb, uint64_t prod, uint64_t pend,
				 uint64_t new_prod)
{
	struct ringbuf_shm_producer *p = rb->prod;
	uint64_t over = READ_ONCE(p->overwrite_pos), passed;

	/* I6: overwrite_pos <= pending_pos <= producer_pos, one ring at most. */
	if ((over & 7) || pend - over > prod - over || prod - over > rb->size)
		return -EBADMSG;
	if (new_prod - over <= rb->mask)
		return 0;
	passed = READ_ONCE(p->ow_passed);
	while (new_prod - over > rb->mask) {
		struct ringbuf_hdr *hdr = (void *)(rb->data + (over & rb->mask));
		/* Pairs with R1 in rb_commit(): a committed header is final. */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec = ((uint64_t)(len & LEN_MASK) + RINGBUF_HDR_SZ + 7) & ~7ull;

		if ((len & RINGBUF_BUSY_BIT) || rec > pend - over)
			return -EBADMSG;
		passed += !(len & RINGBUF_DISCARD_BIT);
		over += rec;
	}
	/* The pair (overwrite_pos, ow_passed) for the consumer's count, written
	 * as a seqlock whose sequence is the position itself. */
	WRITE_ONCE(p->ow_check, over);
	smp_wmb(); /* W1: pairs with the consumer's smp_rmb() in rb_ow_read() */
	WRITE_ONCE(p->ow_passed, passed);
	/* R6: pairs with A6 in rb_ow_read(); overwrite_pos is also published
	 * before producer_pos (R2), as in the kernel. */
	smp_store_release(&p->overwrite_pos, over);
	/* F4: overwrite_pos is visible before any store that overwrites what
	 * it passed (the BUSY header below, the payload after we return).
	 * Pairs with F5 in rb_consume_ow(). */
	smp_wmb();
	return 0;
}

/* Reserve a record of @size payload bytes; flags already checked.  Returns
 * the header, or NULL with *err set to a negative errno. */
static __attribute__((always_inline)) inline struct ringbuf_hdr *
rb_reserve(struct ringbuf *rb, uint64_t size, long *err)
{
	if (__builtin_expect(rb->kind != RB_USER || rb->role == RINGBUF_ROLE_CONSUMER, 0)) {
		if (rb->kind == RB_KERNEL_USER_RINGBUF)
			return rb_kuser_reserve(rb, size, err);
		/* the kernel produces into a RINGBUF map; a consumer handle
		 * has the data mapped read-only */
		*err = -EOPNOTSUPP;
		return NULL;
	}
	uint64_t len, cons, prod, pend, old_pend, new_prod;
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
	if (!rb_lock(rb)) {
		RB_COUNT(rb, refused_full);
		*err = -EAGAIN; /* held for over a second by a live process */
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
	/* consumer_pos only grows, so an older value refuses more, never
	 * less: check against the copy on the lock's own cache line, and read
	 * the consumer's line only when that refuses (when the consumer
	 * chases the producer, a read per record is a cross-core miss).  A
	 * copy ahead of producer_pos cannot be a consumer position (positions
	 * set from outside, e.g. a ring started near 2^64): re-read then too.
	 * A consumer that moves consumer_pos backwards may find the records
	 * it re-reads overwritten; the kernel does not support that either. */
	cons = READ_ONCE(rb->meta->cons_cache);
	if (new_prod - cons > rb->mask || prod - cons > rb->size) {
		/* A3: pairs with R3 in rb_publish_consumer(). */
		cons = smp_load_acquire(&rb->cons->consumer_pos);
		WRITE_ONCE(rb->meta->cons_cache, cons);
		if (new_prod - cons > rb->mask)
			goto full;
	}
room:
	hdr = (void *)(rb->data + (prod & rb->mask));
	RB_FI(RB_FI_LOCKED);
	/* While BUSY, pg_off names the owner: the pid a consumer checks
	 * before it recovers the record (section 10). */
	WRITE_ONCE(hdr->len, (uint32_t)size | RINGBUF_BUSY_BIT);
	WRITE_ONCE(hdr->pg_off, rb_self());
	RB_FI(RB_FI_HDR);
	/* R2: pairs with A2 in the consumer; I4. */
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

/* ------------------------------------------------------------------------
 * Producer: commit and notify
 * ------------------------------------------------------------------------ */


/* Wake the consumer if it waits; exactly one waker per arming makes the
 * syscall, on the futex or on the consumer's wakeup socket, as the word
 * says: the one whose CAS moves notify_seq on from the consumer's
 * wait_seq.  Producers write only their own meta page, so a split ring's
 * file permissions hold. */
static void rb_wake_sleeper(struct ringbuf *rb)
{
	struct ringbuf_shm_meta *m = rb->meta;
	struct ringbuf_shm_consumer *c = rb->cons;
	uint32_t how, seq, again;

	if (!READ_ONCE(c->consumer_waiting))
		return;
	/* A8: pairs with R8 in rb_arm(): wait_seq belongs to this arming. */
	how = smp_load_acquire(&c->consumer_waiting);
	seq = READ_ONCE(c->wait_seq);
	if (!how)
		return;
	RB_FI(RB_FI_WAKE);
	/* R5: pairs with A5 in rb_sleep(); fails if another producer (or a
	 * later arming) already moved it: that wakeup covers ours. */
	if (!atomic_compare_exchange_strong_explicit(RB_ATOMIC(&m->notify_seq), &seq, seq + 1,
						     memory_order_acq_rel, memory_order_relaxed))
		return;
	/* F6: pairs with F3 (section 6, "late wakers").  Our CAS may have won
	 * for a newer arming than the one we read, of the other kind; if so,
	 * wake that way too, or nobody will: later CASes fail. */
	smp_mb();
	again = READ_ONCE(c->consumer_waiting);
	if (how == RINGBUF_WAIT_FD || again == RINGBUF_WAIT_FD) {
		rb_wake_send(rb);
		RB_COUNT(rb, wakeups);
	}
	if (how != RINGBUF_WAIT_FD || (again && again != RINGBUF_WAIT_FD)) {
		rb_futex_wake(&m->notify_seq);
		RB_COUNT(rb, wakeups);
	}
}

static void rb_notify(struct ringbuf *rb, uint64_t rec_off, uint64_t flags)
{
	struct ringbuf_shm_meta *m = rb->meta;
	uint64_t wm, cons;

	if (flags & RINGBUF_FORCE_WAKEUP) {
		/* Pending while force_seq != force_taken: one bump makes it so,
		 * and a bump already pending is enough. */
		if (READ_ONCE(m->force_seq) == READ_ONCE(rb->cons->force_taken)) {
			atomic_fetch_add_explicit(RB_ATOMIC(&m->force_seq), 1,
						  memory_order_relaxed);
			smp_mb(); /* F1': pairs with F3 in rb_sleep() */
		}
		rb_wake_sleeper(rb);
		return;
	}
	/* Adaptive: only when the consumer sleeps, and waits at this very
	 * record.  consumer_waiting first: it is written only when the consumer
	 * sleeps or wakes, so a producer whose consumer keeps up reads no line
	 * the consumer writes per batch.  Both loads follow F1, and the
	 * consumer stores consumer_pos before consumer_waiting before F3. */
	if (!READ_ONCE(rb->cons->consumer_waiting))
		return;
	/* A watermark replaces the adaptive rule (section 6): wake once that
	 * much is pending, whichever record's commit sees it. */
	wm = READ_ONCE(rb->cons->wakeup_watermark);
	cons = smp_load_acquire(&rb->cons->consumer_pos);
	if (wm ? READ_ONCE(rb->prod->producer_pos) - cons >= wm : (cons & rb->mask) == rec_off)
		rb_wake_sleeper(rb);
}

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
		struct ringbuf_hdr h = {
			.len = len,
			.pg_off = (uint32_t)(RINGBUF_SHM_DATA_PAGE + (off >> rb->page_shift)),
		};
		uint64_t word;

		memcpy(&word, &h, sizeof(word));
		RB_FI(RB_FI_COMMIT);
		/* R1: pairs with A1 in the consumer (and in rb_advance_pending). */
		smp_store_release((ringbuf_u64 *)(void *)hdr, word);
	} else {
		/* a kernel USER_RINGBUF: pg_off stays the 0 reserve wrote */
		smp_store_release(&hdr->len, len); /* R1 */
	}

	/* FORCE wins over NO_WAKEUP, as in the kernel.  A kernel user ring
	 * buffer is drained when its BPF program runs: nothing to wake. */
	if ((flags & (RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)) == RINGBUF_NO_WAKEUP ||
	    rb->kind != RB_USER)
		return;
	smp_mb(); /* F1: pairs with F3 in ringbuf_poll()/rb_sleep() */
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
static __thread struct ringbuf *rb_tls_last;
static __thread uint64_t rb_tls_gen;

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

	if (!rb || ((hp - (uintptr_t)rb->data) & 7) || rb->role == RINGBUF_ROLE_CONSUMER) {
		errno = EINVAL; /* (a consumer handle's data is read-only) */
		return;
	}
	rb_commit_hdr(rb, (hp - (uintptr_t)rb->data) & rb->mask, flags, discard);
}

void ringbuf_submit(void *sample, uint64_t flags)
{
	rb_commit(sample, flags, false);
}

void ringbuf_discard(void *sample, uint64_t flags)
{
	rb_commit(sample, flags, true);
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

/* memcpy, with the small records that dominate event streams (8 to 16
 * bytes) copied inline as two overlapping words instead of a call. */
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

void *ringbuf_reserve_wait(struct ringbuf *rb, uint64_t size, int timeout_ms)
{
	uint64_t deadline = 0, nap_ns = 50000;
	struct ringbuf_hdr *hdr;
	long err = 0;

	if (!rb || timeout_ms < -1) {
		errno = EINVAL;
		return NULL;
	}
	if (timeout_ms > 0)
		deadline = rb_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		int r = 0;

		hdr = rb_reserve(rb, size, &err);
		if (hdr)
			return hdr + 1;
		if (err != -EAGAIN || timeout_ms == 0 || (deadline && rb_now_ns() >= deadline))
			break;
		if (rb->kind == RB_KERNEL_USER_RINGBUF) {
			r = rb_kmap_wait(rb, deadline); /* EPOLLOUT after a drain */
		} else {
			struct timespec ts = { 0, (long)nap_ns };

			nanosleep(&ts, NULL);
			nap_ns = nap_ns * 2 > 1000000 ? 1000000 : nap_ns * 2;
		}
		if (r < 0) {
			err = r;
			break;
		}
	}
	errno = (int)-err;
	return NULL;
}

long ringbuf_output(struct ringbuf *rb, const void *data, uint64_t size, uint64_t flags)
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

static inline void rb_publish_consumer(struct ringbuf *rb, uint64_t cons)
{
	/* R3: pairs with A3 in rb_reserve() and rb_notify(). */
	smp_store_release(&rb->cons->consumer_pos, cons);
}

/* Read and check both positions.  Returns 0, or -EBADMSG if they cannot
 * belong to a ring that follows the protocol. */
static int rb_positions(struct ringbuf *rb, uint64_t *cons, uint64_t *prod)
{
	*cons = READ_ONCE(rb->cons->consumer_pos); /* only the consumer writes it */
	/* A2: pairs with R2 in rb_reserve(). */
	*prod = smp_load_acquire(&rb->prod->producer_pos);
	if ((*cons | *prod) & 7 || *prod - *cons > rb->size)
		return -EBADMSG;
	return 0;
}

/* Section 10: recovery of a dead producer's record (below). */
static __attribute__((noinline, cold)) bool rb_recover(struct ringbuf *rb, uint64_t cons, struct ringbuf_hdr *hdr, uint32_t len,
		       uint64_t avail);

/* ------------------------------------------------------------------------
 * Consumer, overwrite mode
 * ------------------------------------------------------------------------ */

/* Read overwrite_pos and the count of records before it as a consistent
 * pair: if ow_check, read last, equals overwrite_pos, read first, no
 * producer started another update in between (W1), so *passed belongs to
 * that position.  A producer between its stores makes us retry: spinning
 * briefly, then yielding, since it may have been preempted there (with
 * more producer threads than CPUs it is; make m32 found the count off by
 * one when this gave up after 100 spins).  Only a producer stuck there for
 * 100 ms -- one that died between its stores, or a peer scribbling
 * ow_check -- makes us go on with a *passed possibly one reservation's
 * records ahead (documented). */
static uint64_t rb_ow_read(struct ringbuf *rb, uint64_t *passed)
{
	struct ringbuf_shm_producer *p = rb->prod;
	uint64_t over = 0, t0 = 0;

	for (unsigned i = 0;; i++) {
		/* A6: pairs with R6 in rb_overwrite_advance(). */
		over = smp_load_acquire(&p->overwrite_pos);
		*passed = smp_load_acquire(&p->ow_passed);
		smp_rmb(); /* pairs with W1 */
		if (READ_ONCE(p->ow_check) == over)
			break;
		if (i < 100) {
			cpu_relax();
			continue;
		}
		if (!t0)
			t0 = rb_now_ns();
		else if (rb_now_ns() - t0 > 100000000ull)
			break;
		sched_yield();
	}
	return over;
}

/* The consumer's state while it consumes an overwrite-mode ring. */
struct rb_ow {
	uint64_t cons, prod;
	uint64_t passed; /* records (not discarded) before cons */
	uint64_t lost;
};

/* Read overwrite_pos (after producer_pos, as the kernel's consumer must)
 * and move the consumer there if it is ahead, counting the records
 * skipped.  Returns 0, or -EBADMSG for positions no protocol-following
 * ring has. */
static int rb_ow_sync(struct ringbuf *rb, struct rb_ow *o)
{
	uint64_t passed = 0, over = rb_ow_read(rb, &passed);

	if (over & 7)
		return -EBADMSG;
	if ((int64_t)(over - o->prod) > 0) {
		/* a reservation newer than our producer_pos: over is at most
		 * the producer_pos that reservation started from */
		o->prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
		if ((o->prod & 7) || (int64_t)(over - o->prod) > 0)
			return -EBADMSG;
	} else if (o->prod - over > rb->size) {
		return -EBADMSG; /* read after producer_pos, so at most a ring behind */
	}
	if ((int64_t)(over - o->cons) > 0) {
		if ((int64_t)(passed - o->passed) > 0)
			o->lost += passed - o->passed;
		o->passed = passed;
		o->cons = over;
	}
	return (int64_t)(o->prod - o->cons) < 0 ? -EBADMSG : 0;
}

/* Copy a record out of an overwrite-mode ring.  The copy races with
 * producers by design -- they may overwrite the record meanwhile, and F5
 * with the re-check of overwrite_pos throws such a copy away -- so under
 * ThreadSanitizer it is done where TSan does not look (a volatile loop, so
 * that the compiler does not turn it into a call to memcpy). */
#if defined(__SANITIZE_THREAD__)
#define RB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RB_TSAN 1
#endif
#endif
#ifdef RB_TSAN
__attribute__((no_sanitize("thread"), noinline))
static void rb_racy_copy(void *dst, const void *src, size_t n)
{
	const volatile unsigned char *s = src;
	unsigned char *d = dst;

	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

/* A header word that a producer's payload copy may be overwriting. */
__attribute__((no_sanitize("thread"), noinline))
static uint32_t rb_racy_len(uint32_t *p)
{
	uint32_t v = *(volatile uint32_t *)p;

	smp_rmb();
	return v;
}
#else
#define rb_racy_copy memcpy
#define rb_racy_len(p) smp_load_acquire(p)
#endif

/* Room in the handle's copy buffer for @len bytes; false if out of memory. */
static bool rb_ow_buf(struct ringbuf *rb, size_t len)
{
	size_t cap = rb->ow_cap ? rb->ow_cap : 256;
	void *p;

	if (len <= rb->ow_cap)
		return true;
	while (cap < len)
		cap *= 2;
	p = realloc(rb->ow_buf, cap);
	if (!p)
		return false;
	rb->ow_buf = p;
	rb->ow_cap = cap;
	return true;
}

static void rb_ow_publish(struct ringbuf *rb, const struct rb_ow *o)
{
	struct ringbuf_shm_consumer *c = rb->cons;

	WRITE_ONCE(c->ow_passed, o->passed);
	WRITE_ONCE(c->ow_lost, o->lost);
	rb_publish_consumer(rb, o->cons);
}

/*
 * Overwrite mode: producers never wait for the consumer, so a record may be
 * overwritten while we read it.  For each record: read the header, copy the
 * payload out, then (F5) re-read overwrite_pos; if it has passed the
 * record's start, what we copied may be torn, so it is dropped and the
 * consumer moves to overwrite_pos, counting the records in between as lost.
 * Only a record proven intact reaches the callback, as a private copy.
 * A call stops after moving two rings' worth, so it ends against producers
 * that never stop.
 */
static int rb_consume_ow(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n)
{
	struct ringbuf_shm_consumer *c = rb->cons;
	struct rb_ow o;
	uint64_t start, published;
	size_t cnt = 0;
	int err;

	o.cons = READ_ONCE(rb->cons->consumer_pos); /* only the consumer writes it */
	o.passed = READ_ONCE(c->ow_passed);
	o.lost = READ_ONCE(c->ow_lost);
	o.prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
	err = (o.cons | o.prod) & 7 ? -EBADMSG : rb_ow_sync(rb, &o);
	start = published = o.cons;
	while (!err && cnt < n && o.cons != o.prod && o.cons - start <= 2 * rb->size) {
		struct ringbuf_hdr *hdr = (void *)(rb->data + (o.cons & rb->mask));
		/* A1: pairs with R1 in rb_commit(); read once, use the copy. */
		uint32_t len = rb_racy_len(&hdr->len), size = len & LEN_MASK;
		uint64_t rec = ((uint64_t)size + RINGBUF_HDR_SZ + 7) & ~7ull, at = o.cons;
		bool whole = !(len & RINGBUF_BUSY_BIT) && rec <= o.prod - o.cons && rec < rb->size;

		if (whole && !(len & RINGBUF_DISCARD_BIT)) {
			if (!rb_ow_buf(rb, size)) {
				err = -ENOMEM;
				break;
			}
			rb_racy_copy(rb->ow_buf, hdr + 1, size);
		}
		smp_rmb(); /* F5: the copy before the check; pairs with F4 */
		err = rb_ow_sync(rb, &o);
		if (err || o.cons != at)
			continue; /* overwritten under us (or before): resume there */
		if (len & RINGBUF_BUSY_BIT) {
			/* never overwritten while BUSY; its owner may be dead
			 * (section 10): then it is a discard now */
			if (rb->recover_ns && rb_recover(rb, o.cons, hdr, len, o.prod - o.cons))
				continue;
			break;
		}
		if (!whole) {
			err = -EBADMSG;
			break;
		}
		o.cons += rec;
		if (!(len & RINGBUF_DISCARD_BIT)) {
			int r;

			o.passed++;
			r = fn(ctx, rb->ow_buf, size);
			cnt++;
			if (r < 0) {
				err = r;
				break;
			}
		}
		if (o.cons - published >= rb->size / 4) {
			rb_ow_publish(rb, &o);
			published = o.cons;
		}
		if (o.cons == o.prod && o.cons - start < rb->size) {
			o.prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
			if (o.prod & 7)
				err = -EBADMSG;
		}
	}
	if (o.cons != published || o.lost != READ_ONCE(c->ow_lost))
		rb_ow_publish(rb, &o);
	if (err)
		return (int)rb_err(-err);
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}

/* Where the consumer would read next, and producer_pos; -EBADMSG if the
 * positions are corrupt.  In overwrite mode that is max(consumer_pos,
 * overwrite_pos). */
static int rb_head(struct ringbuf *rb, uint64_t *head, uint64_t *prod)
{
	struct rb_ow o;
	int err;

	if (!rb->overwrite)
		return rb_positions(rb, head, prod);
	o.cons = READ_ONCE(rb->cons->consumer_pos);
	o.prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
	o.passed = o.lost = 0;
	err = (o.cons | o.prod) & 7 ? -EBADMSG : rb_ow_sync(rb, &o);
	*head = o.cons;
	*prod = o.prod;
	return err;
}

static bool rb_take_forced(struct ringbuf *rb);

/* ------------------------------------------------------------------------
 * Consumer: records left BUSY by dead producers (section 10)
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
static __attribute__((noinline, cold)) bool rb_recover(struct ringbuf *rb, uint64_t cons, struct ringbuf_hdr *hdr, uint32_t len,
		       uint64_t avail)
{
	/* Read after the acquire of len: the reserver wrote it before R2.
	 * (In overwrite mode the bytes may be a newer record's being
	 * written: see the check before the CAS.) */
	uint32_t owner = rb_racy_len(&hdr->pg_off);
	uint64_t now = rb_now_ns();
	uint64_t rec = ((uint64_t)(len & LEN_MASK) + RINGBUF_HDR_SZ + 7) & ~7ull;

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

/* ringbuf_poll: is the head a BUSY record?  Then run the recovery check
 * (true: it recovered the record, consume now) and lower *@wake to the
 * time of the next check. */
static bool rb_head_stall(struct ringbuf *rb, uint64_t *wake)
{
	uint64_t cons, prod;
	struct ringbuf_hdr *hdr;
	uint32_t len;

	if (!rb->recover_ns || rb_head(rb, &cons, &prod) || cons == prod)
		return false;
	hdr = (void *)(rb->data + (cons & rb->mask));
	len = rb_racy_len(&hdr->len); /* A1 (see rb_head_committed()) */
	if (!(len & RINGBUF_BUSY_BIT))
		return false;
	if (rb_recover(rb, cons, hdr, len, prod - cons))
		return true;
	if (!*wake || rb->stall_check < *wake)
		*wake = rb->stall_check;
	return false;
}

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
		/* A1: pairs with R1 in rb_commit(); read once, use the copy. */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec = ((uint64_t)(len & LEN_MASK) + RINGBUF_HDR_SZ + 7) & ~7ull;

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
	if (err)
		return (int)rb_err(-err);
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}

int ringbuf_consume(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx)
{
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}

int ringbuf_consume_n(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n)
{
	return rb_consume(rb, fn, ctx, n);
}

/* Is a committed (or discarded) record waiting at consumer_pos?  Called
 * after F3, so it sees any commit whose producer did not see the consumer's
 * position or its consumer_waiting flag. */
bool rb_head_committed(struct ringbuf *rb)
{
	uint64_t cons, prod;
	uint32_t len;

	if (rb_head(rb, &cons, &prod))
		return true; /* let consume report the corruption */
	if (cons == prod)
		return false;
	/* A1 (in overwrite mode the header may be being overwritten: consume
	 * finds out) */
	len = rb_racy_len(&((struct ringbuf_hdr *)(rb->data + (cons & rb->mask)))->len);
	return !(len & RINGBUF_BUSY_BIT);
}

/* Is a wakeup due now: a committed record at the head and, under a
 * watermark, that many bytes pending?  Called after F3. */
static bool rb_due(struct ringbuf *rb)
{
	uint64_t wm = READ_ONCE(rb->cons->wakeup_watermark);
	uint64_t cons, prod;

	if (!rb_head_committed(rb))
		return false;
	if (!wm || rb_head(rb, &cons, &prod))
		return true;
	return prod - cons >= wm;
}

static bool rb_ring_nonempty(struct ringbuf *rb)
{
	uint64_t cons, prod;

	return rb_head(rb, &cons, &prod) || cons != prod;
}

/* Is a forced notification pending? */
static bool rb_forced_pending(struct ringbuf *rb)
{
	return READ_ONCE(rb->meta->force_seq) != READ_ONCE(rb->cons->force_taken);
}

/* Take a forced notification, if one is pending: the consumer alone
 * writes force_taken, so a plain store takes it; a FORCE commit that bumps
 * force_seq after our load stays pending for the next look. */
static bool rb_take_forced(struct ringbuf *rb)
{
	/* Ordered by F2 below, against the FORCE producer's F1' or F1. */
	uint32_t seq = READ_ONCE(rb->meta->force_seq);

	if (seq == READ_ONCE(rb->cons->force_taken))
		return false;
	WRITE_ONCE(rb->cons->force_taken, seq);
	smp_mb(); /* F2: see the commits of producers that skipped F1' */
	return true;
}

/* Arm for a wakeup by @how: wait_seq first, then consumer_waiting (R8:
 * pairs with A8 in rb_wake_sleeper()), then F3.  Returns the notify_seq
 * armed at. */
static uint32_t rb_arm(struct ringbuf *rb, uint32_t how)
{
	struct ringbuf_shm_consumer *c = rb->cons;
	/* A5: pairs with R5 in rb_wake_sleeper(). */
	uint32_t seq = smp_load_acquire(&rb->meta->notify_seq);

	WRITE_ONCE(c->wait_seq, seq);
	smp_store_release(&c->consumer_waiting, how);
	smp_mb(); /* F3: pairs with F1 in rb_commit_len() and F1' in rb_notify() */
	return seq;
}

/* Sleep until woken or @deadline (ns, 0 = for ever).  Returns without
 * sleeping if the re-check after F3 finds work. */
static void rb_sleep(struct ringbuf *rb, uint64_t deadline)
{
	struct ringbuf_shm_meta *m = rb->meta;
	uint32_t seq = rb_arm(rb, RINGBUF_WAIT_FUTEX);
	struct timespec ts, *rel = NULL;

	if (rb_forced_pending(rb) || rb_due(rb))
		goto out;
	if (deadline) {
		uint64_t now = rb_now_ns();

		if (now >= deadline)
			goto out;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
		rel = &ts;
	}
	rb_futex_wait(&m->notify_seq, seq, rel);
	(void)smp_load_acquire(&m->notify_seq); /* A5 */
out:
	WRITE_ONCE(rb->cons->consumer_waiting, 0);
}

/*
 * fd mode.  The consumer is armed (consumer_waiting = RINGBUF_WAIT_FD)
 * whenever it has drained the ring, not only while it sleeps, because the
 * application sleeps in its own epoll_wait(), out of our sight.  So the
 * order at the end of each consume is: the socket was emptied FIRST (at the
 * start of the consume), then the records were consumed, then
 *
 *   F3 (consumer): store consumer_pos (R3) ; store wait_seq, then
 *                  consumer_waiting = FD (R8) ; smp_mb ; load force_seq,
 *                  producer_pos, head header
 *
 * against the producer's F1/F1' as in section 6 of the essay.  Either the
 * producer's F1 comes first -- then the re-check here sees its record (or
 * its forced mark) and we disarm and make our own socket readable -- or
 * ours comes first -- then the producer sees FD, wins the CAS of
 * notify_seq (or another producer did) and sends a datagram.  A datagram
 * sent after the drain is never discarded before the consumer has looked
 * at the ring again, because draining happens only at the start of a
 * consume, never after arming.  Both sides may send for one arming (the
 * consumer's re-check and a producer's CAS are not exclusive); the extra
 * readiness costs one empty consume, never a lost notification.
 */
void rb_arm_fd(struct ringbuf *rb)
{
	uint32_t seq = rb_arm(rb, RINGBUF_WAIT_FD);
	bool forced = rb_take_forced(rb);

	/* notify_seq moved since we read it: a waker's CAS may have won for
	 * this arming while it woke a futex (section 6, "late wakers"); this
	 * load after F3 is what FUTEX_WAIT's compare is to a futex sleep. */
	if (!rb_due(rb) && !(forced && rb_ring_nonempty(rb)) &&
	    READ_ONCE(rb->meta->notify_seq) == seq)
		return;
	/* Work is here already: disarm and make our own socket readable.
	 * A producer may also have won its CAS and sent a datagram; the
	 * extra readiness is drained by the next consume. */
	WRITE_ONCE(rb->cons->consumer_waiting, 0);
	rb_wake_self(rb);
}

/* ringbuf_poll() in fd mode: wait on the socket (armed by the last
 * consume), then consume, which drains and re-arms. */
static int rb_poll_fd(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, uint64_t deadline,
		      bool no_wait)
{
	struct pollfd p = { .fd = rb->wake_rx, .events = POLLIN };

	while (!no_wait) {
		uint64_t now = rb_now_ns(), until = deadline;
		int ms = -1, r;

		/* a BUSY head whose owner may die: wake for its next check */
		if (rb_head_stall(rb, &until))
			break;
		if (until) {
			if (now >= until)
				break;
			ms = (int)((until - now + 999999) / 1000000 > INT_MAX
					   ? INT_MAX : (until - now + 999999) / 1000000);
		}
		r = poll(&p, 1, ms);
		if (r > 0 || (r < 0 && errno != EINTR) || (r == 0 && until == deadline))
			break;
	}
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}

int ringbuf_epoll_fd(struct ringbuf *rb)
{
	int err;

	if (!rb)
		return (int)rb_err(EINVAL);
	if (rb->kind == RB_KERNEL_RINGBUF)
		return rb->fd; /* the kernel's own EPOLLIN */
	if (rb->kind != RB_USER)
		return (int)rb_err(EOPNOTSUPP);
	err = rb_consumer_gate(rb);
	if (err)
		return (int)rb_err(-err);
	if (rb->wake_rx < 0) {
		err = rb_wake_open(rb);
		if (err)
			return (int)rb_err(-err);
		rb_arm_fd(rb);
	}
	return rb->wake_rx;
}

int ringbuf_set_watermark(struct ringbuf *rb, uint64_t bytes)
{
	int err;

	if (!rb)
		return (int)rb_err(EINVAL);
	if (rb->kind != RB_USER)
		return (int)rb_err(EOPNOTSUPP);
	err = rb_consumer_gate(rb);
	if (err)
		return (int)rb_err(-err);
	if (bytes > rb->size - RINGBUF_HDR_SZ)
		return (int)rb_err(EINVAL);
	WRITE_ONCE(rb->cons->wakeup_watermark, bytes);
	/* A lower watermark may already be met: no producer would say so. */
	if (rb->wake_rx >= 0)
		rb_arm_fd(rb);
	return 0;
}

int ringbuf_poll(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, int timeout_ms)
{
	uint64_t deadline = 0;
	int err;

	if (!rb || !fn)
		return (int)rb_err(EINVAL);
	if (rb->kind != RB_USER)
		return rb_kmap_poll(rb, fn, ctx, timeout_ms);
	err = rb_consumer_gate(rb);
	if (err)
		return (int)rb_err(-err);
	if (timeout_ms >= 0)
		deadline = rb_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	if (rb->wake_rx >= 0)
		return rb_poll_fd(rb, fn, ctx, timeout_ms ? deadline : 0, timeout_ms == 0);
	for (;;) {
		bool forced = rb_take_forced(rb);

		smp_mb(); /* F3 (consumer_pos side): pairs with F1 in rb_commit() */
		if (rb_due(rb))
			break;
		/* A forced notification counts while the ring holds anything,
		 * even a BUSY record: the kernel's EPOLLIN is producer_pos !=
		 * consumer_pos, and its epoll drops a wakeup that finds the
		 * ring empty (t_diff found the difference). */
		if (forced && rb_ring_nonempty(rb))
			break;
		if (deadline && rb_now_ns() >= deadline)
			break;
		if (timeout_ms == 0)
			break;
		/* A BUSY record at the head whose owner may die: never sleep
		 * past its next check (a dead owner wakes nobody). */
		uint64_t until = deadline;

		if (rb_head_stall(rb, &until))
			break;
		/* Woken, timed out, interrupted (EINTR) or spurious: the loop
		 * re-checks everything. */
		rb_sleep(rb, until);
	}
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}
