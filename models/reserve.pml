/*
 * reserve.pml -- reservation among producers (rb_reserve +
 * rb_advance_pending in src/ring.c; docs/protocol.md, section 5, step 2)
 * against a hostile consumer that stores any 8-aligned value into
 * consumer_pos at any time (CVE-2024-41009).
 *
 * Property (assertion): no two outstanding (reserved, not yet committed or
 * discarded) reservations ever overlap in the ring, offsets taken modulo the
 * ring size.  A ghost occupancy map occ[] (one entry per 8-byte slot) holds
 * the owner of each slot; a reservation asserts that every slot it covers is
 * free and takes them; commit/discard frees them.
 *
 * Negative control: -DNO_PENDING_CHECK drops the pending_pos check (and so
 * the rb_advance_pending walk): the pre-CVE-2024-41009 kernel.  spin must
 * then find an overlap.
 *
 * MODEL
 *
 *   - Ring of SIZE = 32 bytes (4 slots; -DSIZE=64 for 8); records of 8, 16
 *     or 24 bytes (payload 0, 8, 16), chosen nondeterministically per
 *     reservation.  2 producers, making RES0 and RES1 reservation attempts
 *     (default 3 and 2) and each holding up to 2 reservations at once, committing or
 *     discarding them in any order.
 *   - Positions are bytes modulo 256 and every difference is taken modulo
 *     256 ((a - b) & 255), standing for the 64-bit unsigned differences of
 *     the code.  Producer-side values (producer_pos, pending_pos, record
 *     positions) are never more than SIZE apart, so their differences are
 *     exact.  The hostile consumer picks any of the 256/8 residues; a real
 *     64-bit value c behaves like c mod 256 except that some differences
 *     that are >= 256 in reality (refused) look small here (accepted).  The
 *     consumer-side checks can only refuse, so the model accepts a superset
 *     of what the code accepts: sound for a safety property about accepted
 *     reservations.
 *   - The lock is modelled (lock_owner, taken by an atomic test-and-set).
 *     Reads of producer_pos, pending_pos and cons_cache, written only under
 *     the lock, are folded into the lock acquisition; so are the header
 *     write, the producer_pos publication and the unlock at the end.  The
 *     steps that can race with others are separate: the read of
 *     consumer_pos (hostile writer) and each header read of the
 *     rb_advance_pending walk (the other producer commits concurrently).
 *   - Sequential consistency: every shared access here is either under the
 *     lock (R4/A4), or a header published with release and read with
 *     acquire (R1 -> the walk's A1), or consumer_pos (R3/A3, whose value is
 *     arbitrary anyway).  Payload bytes are not modelled: the overlap is
 *     caught when the reservation is made, before any payload is written.
 *   - The pending walk runs at every reservation attempt, before the space
 *     checks, to the first BUSY record or producer_pos, as rb_reserve and
 *     the kernel do.
 */

#ifndef SIZE
#define SIZE 32
#endif
#define MASK (SIZE - 1)
#define NSLOT (SIZE / 8)
#ifndef RES0
#define RES0 3      /* reservation attempts of producer 0 */
#endif
#ifndef RES1
#define RES1 2      /* reservation attempts of producer 1 */
#endif

#define BUSY 128
#define DISC 64
#define LENM 63

#define DIFF(a, b) (((a) - (b)) & 255)

/* shared */
byte prod_pos;        /* producer_pos */
byte pend_pos;        /* pending_pos */
byte cons_cache;      /* meta->cons_cache */
byte hdr[NSLOT];      /* header word (sz | BUSY | DISCARD) at each slot */
byte lock_owner;

/* ghost */
byte occ[NSLOT];      /* 0 free, else 1 + producer owning the slot */

/* The hostile consumer stores any 8-aligned value into consumer_pos at any
 * time; consumer_pos is read exactly once per reservation, so that is the
 * same as: the read returns any 8-aligned value (and consumer_pos need not
 * be part of the state). */
inline read_consumer_pos(c) {
	select (c : 0 .. 31);
	c = c * 8
}

inline take(p, pos, rec) {
	j = 0;
	do
	:: j < rec / 8 ->
		assert(occ[((pos + j * 8) & MASK) / 8] == 0);     /* no overlap */
		occ[((pos + j * 8) & MASK) / 8] = p + 1;
		j++
	:: else -> j = 0; break
	od
}

inline release(pos, rec) {
	j = 0;
	do
	:: j < rec / 8 -> occ[((pos + j * 8) & MASK) / 8] = 0; j++
	:: else -> j = 0; break
	od
}

/* Commit (or discard) the reservation at pos: rb_commit_hdr. */
inline commit(pos, rec) {
	atomic {
		h = hdr[(pos & MASK) / 8];
		assert(h & BUSY);
		h = h & ~BUSY;
		if
		:: h = h | DISC               /* discard */
		:: skip                       /* submit */
		fi;
		release(pos, rec);
		hdr[(pos & MASK) / 8] = h;    /* store_release (R1) */
		h = 0
	}
}

proctype producer(byte me; byte res) {
	byte att;                 /* reservation attempts made */
	byte n;                   /* reservations held (0..2) */
	byte apos, arec, bpos, brec;  /* the held reservations (a first) */
	byte sz, rec, prod, pend, cons, newp, h, j;

	do
	:: att < res && n < 2 ->
		/* ringbuf_reserve(size): size 0, 8 or 16 -> record 8, 16, 24 */
		if
		:: sz = 0
		:: sz = 8
		:: sz = 16
		fi;
		rec = sz + 8;                                   /* round_up(sz + 8, 8) */
		att++;
		/* rb_lock(), then the reads made under it */
		atomic {
			lock_owner == 0 -> lock_owner = me + 1;
			prod = prod_pos;
			pend = pend_pos;
			cons = cons_cache
		}
		if
		:: (prod | pend) & 7 || DIFF(prod, pend) > SIZE -> goto unlock   /* EBADMSG */
		:: else -> skip
		fi;
		newp = (prod + rec) & 255;
		/* rb_advance_pending, at every attempt */
		do
		:: pend == prod -> break
		:: else ->
			h = hdr[(pend & MASK) / 8];              /* A1 */
			if
			:: h & BUSY -> break
			:: else -> skip
			fi;
			h = (h & LENM) + 8;                      /* rec (len is a multiple of 8) */
			if
			:: h > DIFF(prod, pend) -> break
			:: else -> pend = (pend + h) & 255
			fi
		od;
		h = 0;
		pend_pos = pend;
		if
		:: DIFF(newp, cons) > MASK || DIFF(prod, cons) > SIZE ->
			atomic { read_consumer_pos(cons); cons_cache = cons }   /* A3 */
			if
			:: DIFF(newp, cons) > MASK -> goto unlock   /* full */
			:: else -> skip
			fi
		:: else -> skip
		fi;
#ifndef NO_PENDING_CHECK
		if
		:: DIFF(newp, pend) > MASK -> goto unlock   /* full */
		:: else -> skip
		fi;
#endif
		/* header {sz | BUSY}, producer_pos (R2), unlock (R4) */
		atomic {
			take(me, prod, rec);
			hdr[(prod & MASK) / 8] = sz | BUSY;
			prod_pos = newp;
			if
			:: n == 0 -> apos = prod; arec = rec
			:: else -> bpos = prod; brec = rec
			fi;
			n++
		}
unlock:
		atomic {
			lock_owner = 0;
			sz = 0; rec = 0; prod = 0; pend = 0; cons = 0; newp = 0
		}
	:: n > 0 ->                       /* commit/discard the first one */
		commit(apos, arec);
		atomic { apos = bpos; arec = brec; bpos = 0; brec = 0; n-- }
	:: n > 1 ->                       /* commit/discard the second one */
		commit(bpos, brec);
		atomic { bpos = 0; brec = 0; n-- }
	:: att == res && n == 0 -> break
	od
}

init {
	atomic {
		run producer(0, RES0);
		run producer(1, RES1)
	}
}
