/* SPDX-License-Identifier: MIT */
/*
 * pull.c -- the pull reader: ringbuf_next() takes the next committed
 * record as a pointer into the ring without moving consumer_pos, and
 * ringbuf_commit() publishes consumer_pos past everything taken.
 *
 * The handle remembers where the next take starts (take_pos) while a lease
 * is open (taking).  Records taken but not committed stay protected: the
 * producers' room check reads consumer_pos (A3 in rb_reserve()), which
 * has not moved, so no producer can reserve over them.  The loads and the
 * check of each header are those of rb_consume() (src/ring.c): A1 on the
 * header's length, A2 on producer_pos, the same -EBADMSG checks, the same
 * dead-producer recovery at a BUSY head; the store is R3, in
 * ringbuf_commit() only.
 *
 * Overwrite mode is refused: there a producer may overwrite a record the
 * consumer has not committed past, so a pointer into the ring cannot be
 * leased; the copying callback consumer exists for it.
 */
#include "internal.h"
#include "ring.h"

#include <limits.h>
#include <string.h>

/* Where the lease starts: the committed position, checked. */
static int rb_lease_start(struct ringbuf *rb)
{
	int err;

	if (rb->kind == RB_KERNEL_USER_RINGBUF || rb->overwrite)
		return -EOPNOTSUPP;
	if (rb->kind == RB_USER) {
		err = rb_consumer_gate(rb);
		if (err)
			return err;
		if (rb->wake_rx >= 0) {
			/* as rb_consume(): take what was notified first */
			rb_wake_drain(rb);
			(void)rb_take_forced(rb);
		}
	}
	rb->take_pos = READ_ONCE(rb->cons->consumer_pos); /* only the consumer writes it */
	if (rb->take_pos & 7)
		return -EBADMSG;
	rb->take_start = rb->take_prod = rb->take_pos;
	rb->take_n = 0;
	rb->taking = true;
	return 0;
}

int ringbuf_next(struct ringbuf *rb, struct ringbuf_record *rec)
{
	uint64_t cons, prod;
	int err;

	if (!rb || !rec)
		return (int)rb_err(EINVAL);
	if (rb->in_call)
		return (int)rb_err(EBUSY); /* from a callback of this handle */
	if (rb_broken(rb))
		return (int)rb_err(EBADMSG); /* its file shrank: src/proc.c */
	if (!rb->taking) {
		err = rb_lease_start(rb);
		if (err)
			return (int)rb_err(-err);
	}
	prod = rb->take_prod;
	for (;;) {
		struct ringbuf_hdr *hdr;
		uint32_t len;
		uint64_t reclen;

		cons = rb->take_pos;
		if (cons == prod) {
			/* A2: pairs with R2 in rb_reserve(); once per batch, as
			 * rb_consume() reads it once per pass. */
			prod = smp_load_acquire(&rb->prod->producer_pos);
			if ((prod & 7) || prod - rb->take_start > rb->size)
				return (int)rb_err(EBADMSG);
			rb->take_prod = prod;
			if (cons == prod)
				break;
		}
		hdr = (void *)(rb->data + (cons & rb->mask));
		/* A1: pairs with R1 in rb_commit_len() and R7 in rb_cas_len(). */
		len = smp_load_acquire(&hdr->len);
		reclen = rb_rec_len(len);
		if (len & RINGBUF_BUSY_BIT) {
			if (rb->recover_ns && rb_recover(rb, cons, hdr, len, prod - cons))
				continue; /* a dead producer's record: a discard now */
			break;
		}
		if (reclen > prod - cons)
			return (int)rb_err(EBADMSG);
		rb->take_pos = cons + reclen;
		if (len & RINGBUF_DISCARD_BIT)
			continue;
		rb->take_n++;
		rec->data = hdr + 1;
		rec->size = len & LEN_MASK;
		rec->pos = cons;
		rec->remaining = prod - rb->take_pos;
		return 1;
	}
	/* Nothing to take: a lease with nothing in it needs no commit. */
	if (rb->take_n == 0 && rb->take_pos == rb->take_start) {
		rb->taking = false;
		if (rb->wake_rx >= 0)
			rb_arm_fd(rb);
	}
	return 0;
}

int ringbuf_commit(struct ringbuf *rb)
{
	size_t n;

	if (!rb)
		return (int)rb_err(EINVAL);
	if (!rb->taking)
		return 0;
	n = rb->take_n;
	if (rb->take_pos != rb->take_start)
		rb_publish_consumer(rb, rb->take_pos);
	rb->taking = false;
	rb->take_n = 0;
	if (rb->wake_rx >= 0)
		rb_arm_fd(rb);
	return n > INT_MAX ? INT_MAX : (int)n;
}

/*
 * The observer: ringbuf_peek() reads records without consuming.  It owns
 * nothing in the ring -- no claim, no store -- so its records can be
 * overwritten under it once the real consumer has passed them.  A record
 * at position p occupies ring bytes that a producer can write again only
 * by reserving beyond p + size, which moves producer_pos past p + size
 * first (R2 before the producer writes a byte); so a copy is intact if
 * producer_pos, read after the copy (acquire), is at most p + size.
 * Otherwise the observer was lapped: it resumes at consumer_pos (a record
 * boundary no producer can be more than a ring ahead of) and counts the
 * bytes it missed.
 */
int ringbuf_peek(struct ringbuf *rb, uint64_t *pos, void *buf, size_t cap, uint32_t *size,
		 uint64_t *missed)
{
	if (!rb || !pos || (!buf && cap) || !size)
		return (int)rb_err(EINVAL);
	if (rb->kind == RB_KERNEL_USER_RINGBUF)
		return (int)rb_err(EOPNOTSUPP);
	if (rb_broken(rb))
		return (int)rb_err(EBADMSG);
	for (;;) {
		uint64_t p = *pos, prod = smp_load_acquire(&rb->prod->producer_pos); /* A2 */
		struct ringbuf_hdr *hdr = (void *)(rb->data + (p & rb->mask));
		uint32_t len;
		uint64_t reclen, after;

		if ((p & 7) || (prod & 7))
			return (int)rb_err(EBADMSG);
		if (prod - p > rb->size && (int64_t)(prod - p) > 0) {
			/* lapped: resume where the consumer is */
			uint64_t cons = smp_load_acquire(&rb->cons->consumer_pos);

			if ((cons & 7) || prod - cons > rb->size)
				return (int)rb_err(EBADMSG);
			if (missed)
				*missed += cons - p;
			*pos = cons;
			continue;
		}
		if (p == prod || (int64_t)(prod - p) < 0)
			return 0; /* nothing yet (or a position ahead of the producer) */
		len = smp_load_acquire(&hdr->len); /* A1 */
		if (len & RINGBUF_BUSY_BIT)
			return 0;
		reclen = rb_rec_len(len);
		if (reclen > prod - p)
			return (int)rb_err(EBADMSG);
		*size = len & LEN_MASK;
		if (!(len & RINGBUF_DISCARD_BIT) && *size > cap)
			return (int)rb_err(ENOBUFS); /* *size says how much */
		if (!(len & RINGBUF_DISCARD_BIT))
			memcpy(buf, hdr + 1, *size); /* the second copy makes it contiguous */
		smp_rmb(); /* the copy before the check below */
		after = smp_load_acquire(&rb->prod->producer_pos);
		if (after - p > rb->size)
			continue; /* overwritten while copied: lapped, see above */
		*pos = p + reclen;
		if (len & RINGBUF_DISCARD_BIT)
			continue;
		return 1;
	}
}
