/* SPDX-License-Identifier: MIT */
/*
 * overwrite.c -- overwrite mode: producers that pass the consumer, and the
 * consumer that copies what it reads and checks it was not overwritten.
 * The invariants (I1..I6) and the ordering pairs (R/A/F) are those of the
 * essay at the top of src/ring.c.
 *
 * OVERWRITE MODE (RINGBUF_F_OVERWRITE, the kernel's BPF_F_RB_OVERWRITE)
 *
 * Producers ignore consumer_pos.  Under the lock a reservation checks only
 * pending_pos (I2's second half: a BUSY record is never overwritten; the
 * kernel's NULL is -EAGAIN here), then, if [overwrite_pos, new producer_pos)
 * would exceed size - 8, walks overwrite_pos forward record by record over
 * committed ones (rb_overwrite_advance).  Invariant I6 (src/ring.c):
 * overwrite_pos <= pending_pos <= producer_pos, overwrite_pos on a record
 * boundary; the walk checks each header against it, so a hostile one ends
 * it with -EBADMSG.
 *
 * The consumer reads from max(consumer_pos, overwrite_pos) and may be any
 * distance behind.  A record can be overwritten while it is read, so it is
 * copied out and delivered only if overwrite_pos has not passed its start
 * afterwards (F4/F5, src/ring.c): the callback never sees torn bytes, and
 * never a pointer into the ring.  Counting what is lost: producers keep
 * ow_passed, the number of non-discarded records before overwrite_pos
 * (they walk them); the consumer keeps its own ow_passed for consumer_pos.
 * When it jumps to overwrite_pos, the difference is the number of records
 * it never got (ow_lost).  rb_consume_ow() uses only the kernel's fields for its
 * positions, so a 6.19 kernel map can use the same consumer (without the
 * count, which the kernel does not keep).  Wakeups follow the kernel's
 * rule unchanged (consumer_pos == the committed record's position).
 */
#include "internal.h"
#include "ring.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------
 * Producers: moving overwrite_pos, under the reservation lock
 * ------------------------------------------------------------------------ */

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
long rb_overwrite_advance(struct ringbuf *rb, uint64_t prod, uint64_t pend,
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
		/* A1: pairs with R1 in rb_commit_len(): a committed header is final. */
		uint32_t len = smp_load_acquire(&hdr->len);
		uint64_t rec = rb_rec_len(len);

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

/* ------------------------------------------------------------------------
 * The consumer
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
int rb_consume_ow(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n)
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
		/* A1: pairs with R1 in rb_commit_len() and R7 in rb_cas_len();
		 * read once, use the copy. */
		uint32_t len = rb_racy_len(&hdr->len), size = len & LEN_MASK;
		uint64_t rec = rb_rec_len(len), at = o.cons;
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
			 * (src/recover.c): then it is a discard now */
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
int rb_head(struct ringbuf *rb, uint64_t *head, uint64_t *prod)
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
