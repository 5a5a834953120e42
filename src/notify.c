/* SPDX-License-Identifier: MIT */
/*
 * notify.c -- who wakes whom.  A producer's commit (src/ring.c) decides
 * whether the consumer is owed a wakeup, and one producer per arming makes
 * the system call; the consumer arms, re-checks and sleeps on the futex,
 * or in fd mode arms after every consume.  The invariants (I1..I6) and the
 * release/acquire pairs (R/A) are those of the essay at the top of
 * src/ring.c; the store-load fences (F1..F3, F6) are this file's.
 *
 * 1. NOTIFICATIONS WITHOUT LOST WAKEUPS
 *
 * The kernel's rules (docs/protocol.md, section 7): NO_WAKEUP never
 * notifies, FORCE always does, flags 0 notifies only if consumer_pos
 * equals the committed record's position.  ringbuf adds: a notification
 * costs a system call only if the consumer is asleep (consumer_waiting), so
 * a consumer that keeps up costs producers none.  Two store-load (Dekker)
 * pairs make that safe; on each side a full barrier sits between the store
 * and the load:
 *
 *   F1 (producer, rb_commit_len() then rb_notify()): store hdr->len (R1) ;
 *                          smp_mb ; load consumer_pos and consumer_waiting
 *   F3 (consumer, ringbuf_poll() and rb_arm()): store consumer_pos (R3)
 *                          [end of consume] and store consumer_waiting ;
 *                          smp_mb ; load producer_pos and the header at
 *                          consumer_pos
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
 *   F1' (producer, rb_notify()): fetch_add(force_seq) ; smp_mb ; load
 *                          consumer_waiting
 *   F3  (consumer, rb_arm()): store consumer_waiting ; smp_mb ; load force_seq
 *
 * A producer that finds a mark already pending skips the bump: the
 * consumer's next take (store force_taken = the force_seq it read) is
 * followed by F2 (smp_mb, rb_take_forced()) before it reads producer_pos,
 * and since the producer's F1 read a force_taken older than that store, F1
 * precedes F2 and the consume after the take sees its record.  A bump between the
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
 *   F6 (producer, after its CAS won in rb_wake_sleeper()): smp_mb ; load
 *                                     consumer_waiting, and wake that way too
 *   F3 (consumer, rb_arm()): store consumer_waiting ; smp_mb ; load notify_seq --
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
 * (-DFD_MODE, section 2).
 *
 * 2. AN FD FOR THE APPLICATION'S EVENT LOOP (fd mode)
 *
 * ringbuf_epoll_fd() gives the consumer a unix datagram socket bound to an
 * abstract name drawn at random and kept in the consumer page
 * (src/wakesock.c says why a socket, and how the name is chosen and found).
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
 * The winner's datagram goes out on the handle's cached connection, which
 * its threads share under a lock; a signal handler may win the CAS while
 * its own thread holds that lock.  So the send is handed over, never
 * waited for: the winner marks the wakeup owed, then only tries the lock,
 * and whoever holds it sends and re-checks the mark after dropping it
 * (rb_wake_send(), src/wakesock.c).  The protocol between producers and
 * the consumer -- the CAS, the arming, the models -- is unchanged: the
 * datagram is sent by the interrupted holder before its call returns
 * instead of by the winner itself, once the winner has already committed.
 */
#include "internal.h"
#include "ring.h"

/* ------------------------------------------------------------------------
 * Producers: the wakeup a commit owes
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
	/* R5: pairs with A5 in rb_arm() and rb_sleep(); fails if another
	 * producer (or a later arming) already moved it: that wakeup covers
	 * ours. */
	if (!atomic_compare_exchange_strong_explicit(RB_ATOMIC(&m->notify_seq), &seq, seq + 1,
						     memory_order_acq_rel, memory_order_relaxed))
		return;
	/* F6: pairs with F3 (section 1, "late wakers").  Our CAS may have won
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

void rb_notify(struct ringbuf *rb, uint64_t rec_off, uint64_t flags)
{
	struct ringbuf_shm_meta *m = rb->meta;
	uint64_t wm, cons;

	if (flags & RINGBUF_FORCE_WAKEUP) {
		/* Pending while force_seq != force_taken: one bump makes it so,
		 * and a bump already pending is enough. */
		if (READ_ONCE(m->force_seq) == READ_ONCE(rb->cons->force_taken)) {
			atomic_fetch_add_explicit(RB_ATOMIC(&m->force_seq), 1,
						  memory_order_relaxed);
			smp_mb(); /* F1': pairs with F3 in rb_arm() */
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
	/* A watermark replaces the adaptive rule (section 1): wake once that
	 * much is pending, whichever record's commit sees it. */
	wm = READ_ONCE(rb->cons->wakeup_watermark);
	cons = smp_load_acquire(&rb->cons->consumer_pos);
	if (wm ? READ_ONCE(rb->prod->producer_pos) - cons >= wm : (cons & rb->mask) == rec_off)
		rb_wake_sleeper(rb);
}

/* ------------------------------------------------------------------------
 * The consumer: what it re-checks after F3
 * ------------------------------------------------------------------------ */

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
bool rb_due(struct ringbuf *rb)
{
	uint64_t wm = READ_ONCE(rb->cons->wakeup_watermark);
	uint64_t cons, prod;

	if (!rb_head_committed(rb))
		return false;
	if (!wm || rb_head(rb, &cons, &prod))
		return true;
	return prod - cons >= wm;
}

bool rb_ring_nonempty(struct ringbuf *rb)
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
bool rb_take_forced(struct ringbuf *rb)
{
	/* Ordered by F2 below, against the FORCE producer's F1' or F1. */
	uint32_t seq = READ_ONCE(rb->meta->force_seq);

	if (seq == READ_ONCE(rb->cons->force_taken))
		return false;
	WRITE_ONCE(rb->cons->force_taken, seq);
	smp_mb(); /* F2: see the commits of producers that skipped F1' */
	return true;
}

/* ------------------------------------------------------------------------
 * The consumer: arming, sleeping, fd mode
 * ------------------------------------------------------------------------ */

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
 * sleeping if the re-check after F3 finds work.  With @cap_ns, the sleep
 * looks at the head every @cap_ns through @at_cap (true: stop sleeping),
 * staying armed meanwhile -- poll.c's dead-producer check. */
void rb_sleep(struct ringbuf *rb, uint64_t deadline, uint64_t cap_ns,
	      bool (*at_cap)(struct ringbuf *rb, uint64_t *until))
{
	struct ringbuf_shm_meta *m = rb->meta;
	uint32_t seq = rb_arm(rb, RINGBUF_WAIT_FUTEX);
	struct timespec ts, *rel;

	if (rb_forced_pending(rb) || rb_due(rb))
		goto out;
	for (;;) {
		uint64_t now = rb_now_ns(), until = deadline;

		if (cap_ns && (!until || now + cap_ns < until))
			until = now + cap_ns;
		rel = NULL;
		if (until) {
			if (now >= until)
				goto out;
			ts.tv_sec = (time_t)((until - now) / 1000000000ull);
			ts.tv_nsec = (long)((until - now) % 1000000000ull);
			rel = &ts;
		}
		rb_futex_wait(&m->notify_seq, seq, rel);
		/* A5: a producer's CAS (R5) moved it: notified */
		if (smp_load_acquire(&m->notify_seq) != seq || until == deadline)
			goto out;
		/* The cap passed, or a spurious wakeup: still armed, so a
		 * notification sent meanwhile moved notify_seq and ends the
		 * next wait at once.  Nothing else may end the sleep -- records
		 * committed without a notification stay asleep, as for the
		 * kernel's poller -- but a look at the head (@at_cap), which
		 * may recover a dead producer's record. */
		if (at_cap && at_cap(rb, &until))
			goto out;
	}
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
 * against the producer's F1/F1' as in section 1 above.  Either the
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
	 * this arming while it woke a futex (section 1, "late wakers"); this
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
