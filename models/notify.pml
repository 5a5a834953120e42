/*
 * notify.pml -- the notification protocol (src/notify.c, with the commit
 * of src/ring.c and the poll loop of src/poll.c), as implemented
 * since the split-ring layout (consumer_waiting, wait_seq and force_taken
 * on the consumer page, written only by the consumer; producers write only
 * meta.notify_seq and meta.force_seq): rb_commit_len/rb_notify/
 * rb_wake_sleeper (producers) against ringbuf_poll/rb_take_forced/rb_due/
 * rb_arm/rb_sleep/rb_consume (the consumer), or in fd mode rb_consume/
 * rb_arm_fd, on an x86-TSO memory model.
 *
 * MEMORY MODEL (what the model assumes, and why)
 *
 *   Every process has a FIFO store buffer (sb_*).  A plain, release or
 *   relaxed store (WRITE_ONCE, smp_store_release) goes into the buffer; the
 *   `memory' process drains any buffer's oldest entry at any time.  A load
 *   reads memory (no process here loads a variable it stores itself, except
 *   the consumer's own force_taken, wait_seq and consumer_pos, which it
 *   alone writes and keeps in locals, as store forwarding would give it).
 *   smp_mb and every locked RMW (the lock's CAS, rb_wake_sleeper's CAS of
 *   notify_seq, rb_notify's fetch_add of force_seq) wait until the buffer
 *   has drained and then act on memory atomically.
 *   That is x86-TSO: loads are not reordered with loads, stores not with
 *   stores, and a store can be passed only by the same process's later loads
 *   -- exactly the store->load reordering the Dekker pairs F1/F3, F1'/F3 and
 *   F1/F2 must forbid.  So removing a fence here (-DNO_F1, -DNO_F3,
 *   -DNO_F2) does make a difference, as it does on real hardware.
 *
 *   F1' (the smp_mb after fetch_add(force_seq)) is implied on x86 by the
 *   locked fetch_add itself.  On ARM a relaxed RMW's store may be passed by
 *   the producer's later loads, so -DNO_F1P models exactly that: the
 *   fetch_add's store goes into the producer's store buffer (atomicity kept:
 *   no other fetch_add of force_seq can act until it has drained, as a
 *   competing store-exclusive would fail), which is what F1' forbids.
 *
 *   Release/acquire pairs (R1..R8 / A1..A8) get no special treatment: under
 *   TSO every store is a release and every load an acquire, which is what
 *   x86 gives them.  On ARM/POWER C11 release/acquire is weaker than TSO in
 *   ways the code could depend on, and none matters here:
 *     - a relaxed load before an acquire load may be satisfied after it
 *       (rb_notify reads consumer_waiting relaxed, then consumer_pos
 *       acquire; the FORCE path reads force_seq then force_taken, both
 *       relaxed): all these loads follow F1, and the fence argument (F1
 *       before F3 in the SC-fence order: the consumer's re-check sees the
 *       header; F3 before F1: the loads see the consumer's pre-F3 stores
 *       or later ones) does not depend on their order;
 *     - a relaxed store after a release store may become visible before it
 *       (the consumer stores consumer_pos, then wait_seq, then
 *       consumer_waiting): all precede F3 and are only read after F1, same
 *       argument.  -DNO_R8 (consumer_waiting stored before wait_seq) checks
 *       that the F1/F3 argument alone is enough for the properties here:
 *       R8/A8 only make a winning CAS the current arming's (see README).
 *   The model's consumer waits one way for ever (futex, or fd with
 *   -DFD_MODE), so rb_wake_sleeper's second look at consumer_waiting
 *   after a winning CAS (F6, for a consumer that switched kinds) finds 0 or
 *   the kind it read, and adds no wakeup: it is not modelled (its smp_mb is
 *   implied by the locked CAS on x86).  rb_arm_fd's re-read of notify_seq
 *   after F3 (the other half of that pair) is modelled: the consumer makes
 *   its fd readable if the value it armed at is no longer current.
 *   IRIW-style non-multi-copy-atomicity (POWER) is not modelled; all the
 *   cross-process store->load pairs that matter have an SC fence on both
 *   sides, which restores it for them.
 *
 * OTHER ABSTRACTIONS
 *
 *   - Positions count records, not bytes, and the ring never wraps (it is
 *     large enough for all N records): wrap-around and the space checks are
 *     reserve.pml's subject.  Records are never discarded (DISCARD only
 *     changes what the consumer delivers, not how it moves or notifies).
 *     notify_seq and force_seq never wrap (at most N moves each).
 *   - The reservation is one atomic step, after the producer's buffer has
 *     drained (the lock's CAS is a locked instruction), that makes the BUSY
 *     header and producer_pos visible at once.  That is sound: in real TSO
 *     they drain in that order before the commit's header store (FIFO), and
 *     the producer reads nothing in between, so a late drain is the same as
 *     a later reservation.
 *   - rb_wake_sleeper reads consumer_waiting twice (READ_ONCE, then A8):
 *     one load here.  Every outcome of the two loads is that of one load at
 *     the time of the first (it reads 0) or of the second, and the producer
 *     does nothing else in between.  The consumer's load of notify_seq (A5)
 *     and its buffered stores of wait_seq and consumer_waiting are one step
 *     (stores into its own buffer are invisible to the others until drained).
 *   - futex_wait(notify_seq, seq) waits for the consumer's buffer to drain
 *     (the futex code takes a lock) and then, atomically, blocks iff
 *     notify_seq == seq; futex_wake unblocks it.  No spurious returns, no
 *     timeout (timeout_ms = -1, no dead-owner check): the worst case for
 *     lost wakeups.
 *   - The consumer polls for ever: poll, consume, poll, ...
 *
 * GHOSTS AND PROPERTIES
 *
 *   A record's commit happens when its header store reaches memory.  At
 *   that moment a wakeup becomes owed for it (owed_rec[i]) if it is FORCE,
 *   or adaptive (flags 0) and the consumer's position equals the record's
 *   position.  "The consumer's position" is its own latest consumer_pos
 *   store in program order (cpos_prog), not the possibly older value in
 *   memory the kernel reads: that makes more commits owed, so the property
 *   is stronger than the kernel's rule.  Owed wakeups are settled when the
 *   consumer starts a consume pass (it is awake and will read everything
 *   committed so far: owed_rec[] all cleared when it reads producer_pos) and
 *   when it consumes the record.
 *
 *   PROP_A  (no lost wakeup) when all producers are done and all store
 *           buffers are empty (nothing can wake the consumer any more), the
 *           consumer is not blocked in futex_wait while any wakeup is owed.
 *   PROP_B  (no sleeping on an owed head) the consumer is never blocked in
 *           futex_wait while the record at its position is committed, owed
 *           a wakeup, and no producer is still between its commit store and
 *           the end of its notify (a producer that is, may yet wake it).
 *   PROP_C  (informational; FAILS, see README) every committed FORCE record
 *           is eventually consumed: when all producers are done and buffers
 *           empty, the consumer is not blocked while a FORCE record sits
 *           unconsumed.  libbpf + the kernel satisfy this (epoll keeps
 *           reporting EPOLLIN while producer_pos != consumer_pos, so the
 *           consumer spins behind a BUSY head); ringbuf deliberately sleeps.
 *
 *   All three are checked as assertions of a monitor process that can run
 *   in any reachable state (a safety check, pan -DSAFETY).  End-state
 *   validity is checked too: the only valid end for the consumer is blocked
 *   in futex_wait (label end_wait).
 *
 * NEGATIVE CONTROLS (each must yield a counterexample)
 *
 *   -DNO_RECHECK   rb_sleep does not re-check (forced pending, rb_due) after
 *                  arming (after F3); in fd mode rb_arm_fd does not re-check
 *   -DNO_FRECHECK  the re-check after F3 leaves out the forced notification
 *                  (rb_sleep: rb_forced_pending; rb_arm_fd: rb_take_forced)
 *   -DNO_F3        the consumer's fences F3 (in ringbuf_poll and rb_arm)
 *                  are removed
 *   -DNO_F1        the producer's F1 (after the header store) is removed
 *   -DNO_F1P       the producer's F1' (after the fetch_add of force_seq) is
 *                  removed, on a machine where the RMW does not fence (above)
 *   -DNO_F2        the consumer's F2 (after storing force_taken) is removed;
 *                  in fd mode only: in ringbuf_poll F3 follows at once
 *   -DWAIT_FRESH   futex_wait on a notify_seq read again after the re-check
 *                  instead of the one armed at (stored in wait_seq)
 *
 * FD MODE AND WATERMARK
 *
 *   -DFD_MODE replaces the consumer by the application's loop on
 *   ringbuf_epoll_fd() (epoll_wait, then ringbuf_consume, which drains the
 *   socket first and re-arms with rb_arm(FD) and F3 at its end, rb_arm_fd,
 *   which takes a forced notification and, if work is due, stores
 *   consumer_waiting = 0 and makes its own socket readable); a producer
 *   whose CAS wins for an FD arming sends a datagram.  PROP_A and PROP_B
 *   are checked for it as for the futex; cblocked then means blocked in
 *   epoll_wait on an empty socket.  Negative controls: -DNO_RECHECK,
 *   -DNO_FRECHECK, -DNO_F3, -DNO_F1, -DNO_F2 and -DDRAIN_LATE (the socket
 *   emptied after arming and the re-check, instead of before consuming; a
 *   drain between F3 and the re-check would be covered by the re-read of
 *   notify_seq, which sees the CAS of any datagram it removed).
 *   -DWM=w adds a watermark of w records: adaptive commits wake only once
 *   producer_pos - consumer_pos >= w, and the consumer's re-checks become
 *   "committed head and w pending" (rb_due).  NO_WAKEUP records are left
 *   out (they owe nothing).  PROP_W: when everything has settled, the
 *   consumer is not blocked while its head is committed with w pending.
 *   Works with and without FD_MODE.
 *
 * Parameters: -DK0=n, -DK1=m records committed by producer 0 and 1
 * (default 2 and 1; the state space grows fast: see README.md).
 * -DNO_ADAPT draws the flags from {NO_WAKEUP, FORCE} only: the negative
 * controls of the forced notification (NO_FRECHECK, NO_F1P, NO_F2) need no
 * adaptive record, and find their counterexample in a smaller space.
 */

#ifndef K0
#define K0 2                   /* records committed by producer 0 */
#endif
#ifndef K1
#define K1 1                   /* records committed by producer 1 */
#endif
#define NPROD 2
#define N (K0 + K1)            /* records in total */
#define CONS NPROD             /* process index of the consumer */
#define NPROC (NPROD + 1)
#define D 3                    /* store buffer depth */

/* record flags */
#define ADAPT  0
#define NOWAKE 1
#define FORCE  2

/* header states */
#define H_NONE 0
#define H_BUSY 1
#define H_DONE 2

/* consumer_waiting (RINGBUF_WAIT_*) */
#define W_FUTEX 1
#define W_FD    2

/* buffered variables */
#define V_HDR  1               /* producers: a record header */
#define V_FSEQ 2               /* producers, -DNO_F1P only: force_seq */
#define V_CW   3               /* consumer: consumer_waiting */
#define V_WSEQ 4               /* consumer: wait_seq */
#define V_FT   5               /* consumer: force_taken */
#define V_CPOS 6               /* consumer: consumer_pos */

/* ---- shared memory ---- */
/* meta page and producer page (producers write) */
byte prod_pos;                 /* producer_pos (records) */
byte hdr[N];                   /* record headers */
/* meta.notify_seq (the futex word) is kept abstractly: see below */
byte fseq;                     /* meta.force_seq */
/* consumer page (the consumer writes) */
byte cpos;                     /* consumer_pos */
byte cw;                       /* consumer_waiting: 0, W_FUTEX, W_FD */
bit  wseq;                     /* wait_seq (== notify_seq?) */
byte ftaken;                   /* force_taken */
/* the consumer's wakeup socket (FD_MODE) */
bit  sock;                     /* holds a datagram */

/* notify_seq only ever moves on (by one, at a producer's winning CAS), and
 * every use of a copy of it is an equality test with its current value
 * (the CAS, futex_wait).  So each copy is kept as one bit, "still equal to
 * notify_seq", and a move clears every copy (seq_moved): an exact
 * abstraction (a copy that is stale stays stale: no wrap-around, at most N
 * moves), and far fewer states than counters whose values differ only by
 * how many moves happened.  Copies: wait_seq in memory (wseq) and in the
 * consumer's buffer (V_WSEQ entries), the value the consumer armed at
 * (cseq, rb_arm's return, passed to futex_wait), and the wait_seq each
 * producer loaded for its CAS (pseq[]). */
bit  cseq;
bit  pseq[NPROD];

/* ---- store buffers: entry j of process p is at p*D+j, oldest first ---- */
byte sb_var[NPROC * D];
byte sb_idx[NPROC * D];
byte sb_val[NPROC * D];
byte sb_n[NPROC];
#ifdef NO_F1P
bit  fseq_buffered;            /* a fetch_add's store to force_seq is buffered */
#endif

/* ---- ghosts ---- */
byte recflag[N];               /* flags of each record */
bit  owed_rec[N];              /* a wakeup is owed for this record */
bit  consumed[N];              /* the consumer has passed this record */
byte nowed;                    /* number of owed_rec[] set */
byte cpos_prog;                /* consumer's latest consumer_pos store */
byte ft_prog;                  /* consumer's latest force_taken store */
byte ccons;                    /* consumer's local position */
bit  cblocked;                 /* consumer blocked in futex_wait / epoll_wait */
bit  in_notify[NPROD];         /* producer between commit store and end of notify */
byte pdone;                    /* producers finished */

inline set_owed(i) {
	if
	:: !owed_rec[i] -> owed_rec[i] = 1; nowed++
	:: else -> skip
	fi
}

inline clear_owed(i) {
	if
	:: owed_rec[i] -> owed_rec[i] = 0; nowed--
	:: else -> skip
	fi
}

/* Apply the oldest entry of p's buffer to memory and shift the rest. */
inline flush_one(p) {
	if
	:: sb_var[p*D] == V_HDR ->
		hdr[sb_idx[p*D]] = sb_val[p*D];
		if
		:: sb_val[p*D] == H_DONE ->          /* the commit point */
			if
			:: recflag[sb_idx[p*D]] == FORCE ||
			   (recflag[sb_idx[p*D]] == ADAPT && cpos_prog == sb_idx[p*D]) ->
				set_owed(sb_idx[p*D])
			:: else -> skip
			fi
		:: else -> skip
		fi
#ifdef NO_F1P
	:: sb_var[p*D] == V_FSEQ -> fseq = sb_val[p*D]; fseq_buffered = 0
#endif
	:: sb_var[p*D] == V_CW   -> cw = sb_val[p*D]
	:: sb_var[p*D] == V_WSEQ -> wseq = sb_val[p*D]
	:: sb_var[p*D] == V_FT   -> ftaken = sb_val[p*D]
	:: sb_var[p*D] == V_CPOS -> cpos = sb_val[p*D]
	fi;
	sb_var[p*D] = sb_var[p*D+1]; sb_idx[p*D] = sb_idx[p*D+1]; sb_val[p*D] = sb_val[p*D+1];
	sb_var[p*D+1] = sb_var[p*D+2]; sb_idx[p*D+1] = sb_idx[p*D+2]; sb_val[p*D+1] = sb_val[p*D+2];
	sb_var[p*D+2] = 0; sb_idx[p*D+2] = 0; sb_val[p*D+2] = 0;
	sb_n[p]--
}

/* smp_mb, and every locked RMW, waits until the process's buffer has
 * drained (the memory process drains it): DRAINED(p) is used as a guard, or
 * as the first statement of the atomic block that does the RMW. */
#define DRAINED(p) (sb_n[p] == 0)

/* Buffer a store.  A full buffer blocks the store until the memory drains
 * an entry (a bounded buffer only removes behaviours; D is never reached
 * unless a fence is removed): ROOM(p) / ROOM2(p) is the first statement of
 * the atomic block that stores once / twice. */
#define ROOM(p) (sb_n[p] < D)
#define ROOM2(p) (sb_n[p] < D - 1)
inline store(p, var, i, v) {
	sb_var[p*D + sb_n[p]] = var;
	sb_idx[p*D + sb_n[p]] = i;
	sb_val[p*D + sb_n[p]] = v;
	sb_n[p]++
}


/* The memory subsystem: drains store buffers, oldest entry first. */
active proctype memory() {
end:
	do
	:: atomic { sb_n[0] > 0 -> flush_one(0) }
	:: atomic { sb_n[1] > 0 -> flush_one(1) }
	:: atomic { sb_n[CONS] > 0 -> flush_one(CONS) }
	od
}

/* The end of a producer's commit + notify, folded into its last shared
 * step (these are its own locals and ghosts): no longer inside its notify,
 * one more record done, and when all are, the producer is. */
#define DONE in_notify[me] = 0; k++; idx = 0; \
	if :: f != NOWAKE -> f = 0 :: else -> skip fi; \
	if :: k == kmax -> pdone++ :: else -> skip fi

/* notify_seq moves on (a CAS wins): every copy of it is now stale. */
inline seq_moved() {
	wseq = 0; cseq = 0; pseq[0] = 0; pseq[1] = 0;
	if :: sb_var[CONS*D] == V_WSEQ -> sb_val[CONS*D] = 0 :: else -> skip fi;
	if :: sb_var[CONS*D+1] == V_WSEQ -> sb_val[CONS*D+1] = 0 :: else -> skip fi;
	if :: sb_var[CONS*D+2] == V_WSEQ -> sb_val[CONS*D+2] = 0 :: else -> skip fi
}

/* rb_wake_sleeper: the producer whose CAS moves notify_seq on from the
 * consumer's wait_seq makes the syscall, as consumer_waiting says. */
inline wake_sleeper(me, h) {
	if
	:: atomic { cw != 0 -> h = cw }                   /* READ_ONCE + A8 */
		pseq[me] = wseq;                              /* READ_ONCE(wait_seq) */
		atomic {                                      /* CAS (R5), locked */
			DRAINED(me) ->
			if
			:: pseq[me] -> seq_moved()                /* notify_seq == wait_seq */
			:: else -> h = 0; DONE                    /* lost: no syscall */
			fi;
			pseq[me] = 0
		}
		if
		:: h == W_FD ->                               /* rb_wake_send */
			atomic { sock = 1; cblocked = 0; h = 0; DONE }
		:: h != 0 && h != W_FD ->                     /* futex_wake */
			atomic { cblocked = 0; h = 0; DONE }
		:: h == 0 -> skip
		fi
	:: atomic { cw == 0 -> DONE }
	fi
}

proctype producer(byte me; byte kmax) {
	byte k, idx, f, a, b;       /* a, b: force_seq, force_taken, then a: consumer_waiting */

	do
	:: k < kmax ->
		if
#ifndef NO_ADAPT
		:: f = ADAPT
#endif
#ifndef WM
		:: f = NOWAKE                  /* (under WM: NO_WAKEUP owes nothing, PROP_W ignores it) */
#endif
		:: f = FORCE
		fi;
		/* rb_reserve under the lock (atomic: see the header comment) */
		atomic {
			DRAINED(me) ->                 /* the lock's CAS */
			idx = prod_pos;
			hdr[idx] = H_BUSY;
			recflag[idx] = f;
			prod_pos++
		}
		/* rb_commit_len: store_release(hdr) (R1) */
		atomic {
			ROOM(me) -> store(me, V_HDR, idx, H_DONE);
			if
			:: f == NOWAKE -> DONE
			:: else -> in_notify[me] = 1
			fi
		}
		if
		:: f == NOWAKE -> f = 0; goto next            /* NO_WAKEUP: done */
		:: else -> skip
		fi;
#ifndef NO_F1
		DRAINED(me);                                  /* F1 */
#endif
		/* rb_notify */
		if
		:: f == FORCE ->
			a = fseq;                                 /* READ_ONCE(force_seq) */
			b = ftaken;                               /* READ_ONCE(force_taken) */
			if
			:: a == b ->
#ifndef NO_F1P
				/* fetch_add (locked: on x86 it is F1' too) */
				atomic { DRAINED(me) -> fseq++; a = 0; b = 0 }
#else
				/* a relaxed RMW whose store later loads may pass */
				atomic { ROOM(me) && !fseq_buffered ->
					store(me, V_FSEQ, 0, fseq + 1); fseq_buffered = 1; a = 0; b = 0 }
#endif
			:: else -> a = 0; b = 0                   /* a mark is pending: skip */
			fi;
			wake_sleeper(me, a)
		:: else ->
			if
			:: atomic { cw == 0 -> DONE }; goto next  /* READ_ONCE(consumer_waiting) */
			:: cw != 0 -> skip
			fi;
#ifdef WM
			if                                    /* the watermark rule */
			:: prod_pos - cpos >= WM -> wake_sleeper(me, a)
			:: atomic { prod_pos - cpos < WM -> DONE }
			fi
#else
			if
			:: cpos == idx -> wake_sleeper(me, a) /* load_acquire(consumer_pos) */
			:: atomic { cpos != idx -> DONE }
			fi
#endif
		fi;
next:
		skip
	:: else -> break
	od
}

/* rb_head_committed: load producer_pos, then (if it differs from the
 * consumer's position) the header there.  Modelled as one atomic step: a
 * producer_pos that has moved past ccons stays past it, so reading both at
 * the time of the header load gives the same answer, and when producer_pos
 * equals ccons no header is read. */
#define HEAD_DONE (ccons != prod_pos && hdr[ccons] == H_DONE)
/* rb_due: with a watermark, also that many records pending */
#ifdef WM
#define HEAD_DUE (HEAD_DONE && prod_pos - ccons >= WM)
#else
#define HEAD_DUE HEAD_DONE
#endif

/* rb_take_forced: load force_seq; if it differs from force_taken (the
 * consumer's own), store it there (the load and the buffered store are one
 * step) and F2.  t: taken. */
inline take_forced(t) {
	if
	:: atomic { fseq == ft_prog -> t = 0 }
	:: atomic { fseq != ft_prog && ROOM(CONS) ->
		ft_prog = fseq; store(CONS, V_FT, 0, ft_prog); t = 1 }
#ifndef NO_F2
		DRAINED(CONS)                                 /* F2 */
#endif
	fi
}

/* rb_arm(how): A5 load of notify_seq, wait_seq = it, then
 * store_release(consumer_waiting, how) (R8); the caller does F3.  The
 * value armed at is kept (cseq) only for futex_wait. */
inline rb_arm(how, keep) {
	atomic {
		ROOM2(CONS) ->
		cseq = keep;                                  /* A5 */
#ifndef NO_R8
		store(CONS, V_WSEQ, 0, 1);
		store(CONS, V_CW, 0, how)
#else
		store(CONS, V_CW, 0, how);
		store(CONS, V_WSEQ, 0, 1)
#endif
	}
}

/* rb_consume: read producer_pos (the consumer is awake, so every wakeup
 * owed so far is settled), walk the committed headers, re-read
 * producer_pos when caught up, publish consumer_pos once (R3). */
inline rb_consume(prod, pub, i) {
	atomic {
		prod = prod_pos;
		for (i : 0 .. N-1) { clear_owed(i) }
		i = 0
	}
	pub = ccons;
	do
	:: ccons != prod ->
		if
		:: hdr[ccons] == H_DONE ->                    /* A1 */
			atomic { consumed[ccons] = 1; clear_owed(ccons); ccons++ }
			if
			:: ccons == prod -> prod = prod_pos        /* A2 re-read */
			:: else -> skip
			fi
		:: else -> break                              /* BUSY: stop */
		fi
	:: else -> break
	od;
	prod = 0;
	if
	:: ccons != pub ->
		atomic { ROOM(CONS) -> store(CONS, V_CPOS, 0, ccons); cpos_prog = ccons; pub = 0 }  /* R3 */
	:: else -> pub = 0
	fi
}

#ifndef FD_MODE
/* ringbuf_poll (timeout -1) + rb_consume, for ever.  Dead locals are reset
 * to 0 to keep the state space small. */
active proctype consumer() {
	byte prod, pub, i;
	bit f;

poll:
	take_forced(f);                                   /* rb_take_forced */
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (poll) */
#endif
	if                                                /* rb_due */
	:: atomic { HEAD_DUE -> f = 0 }; goto consume
	:: !HEAD_DUE && f == 0 -> skip
	:: atomic { !HEAD_DUE && f == 1 -> f = 0 };
		if                                            /* rb_ring_nonempty */
		:: ccons != prod_pos -> goto consume
		:: else -> skip
		fi
	fi;

	/* rb_sleep */
	rb_arm(W_FUTEX, 1);                                  /* rb_arm */
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (rb_arm) */
#endif
#ifndef NO_RECHECK
#ifndef NO_FRECHECK
	if                                                /* rb_forced_pending */
	:: fseq != ft_prog -> goto out
	:: else -> skip
	fi;
#endif
	if                                                /* rb_due */
	:: HEAD_DUE -> goto out
	:: else -> skip
	fi;
#endif
#ifdef WAIT_FRESH
	cseq = 1;                                         /* the wrong seq: notify_seq now */
#endif
	atomic {                                          /* futex_wait(seq, s) */
		DRAINED(CONS) ->
		if
		:: cseq -> cblocked = 1                       /* notify_seq == seq */
		:: else -> skip
		fi
	}
end_wait:
	cblocked == 0;
out:
	atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 0); cseq = 0 }  /* consumer_waiting = 0 */
	goto poll;

consume:
	rb_consume(prod, pub, i);
	goto poll
}

#else /* FD_MODE */
/* The application's loop on ringbuf_epoll_fd(): epoll_wait until the socket
 * is readable, then ringbuf_consume: drain the socket, take a forced
 * notification, consume, publish consumer_pos, then rb_arm_fd: arm (FD), F3,
 * take a forced notification, and if work is due disarm and make the own
 * socket readable.  The fd is made (and armed) before the first wait.
 * cblocked: blocked in epoll_wait on an empty socket; a sender clears it. */
#ifndef DRAIN_LATE
#define DRAIN sock = 0
#else
#define DRAIN skip
#endif
active proctype consumer() {
	byte prod, pub, i;
	bit f;

	goto arm;
wait:
	/* epoll_wait; then rb_wake_drain (one step: a datagram sent in between
	 * would only set sock again) */
	if
	:: atomic { sock == 0 -> cblocked = 1 }
end_wait:
		atomic { sock == 1 -> DRAIN }
	:: atomic { sock == 1 -> DRAIN }
	fi;
	take_forced(f);                                   /* rb_take_forced */
	f = 0;
	rb_consume(prod, pub, i);
arm:
	rb_arm(W_FD, 1);                                     /* rb_arm_fd: rb_arm */
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (rb_arm) */
#endif
#ifndef NO_RECHECK
#ifndef NO_FRECHECK
	take_forced(f);                                   /* rb_take_forced */
#endif
	if
	:: HEAD_DUE || (f == 1 && ccons != prod_pos) ->   /* rb_due, forced and nonempty */
		goto self
	:: else -> skip
	fi;
	if                                                /* notify_seq moved since rb_arm */
	:: !cseq -> goto self
	:: else -> f = 0; cseq = 0;
#ifdef DRAIN_LATE
		sock = 0;                                     /* the wrong order: after arming */
#endif
		goto wait
	fi;
self:
	atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 0); f = 0; cseq = 0 }  /* consumer_waiting = 0 */
	sock = 1;                                         /* rb_wake_self */
#else
	cseq = 0;
#endif
	goto wait
}
#endif /* FD_MODE */

init {
	atomic {
		run producer(0, K0);
		run producer(1, K1)
	}
}

/* The monitor waits, blocked, for a state that violates a property and
 * then fails with the assertion of that property; blocked is a valid end
 * (label end), so it adds no states of its own to the search.  Several
 * properties can be checked in one run (-DPROP_A -DPROP_B). */
#define QUIET (pdone == NPROD && sb_n[0] == 0 && sb_n[1] == 0 && sb_n[CONS] == 0)

#ifdef PROP_A
#define BAD_A (QUIET && cblocked && nowed > 0)
#else
#define BAD_A false
#endif

#ifdef PROP_B
#define BAD_B (cblocked && ccons < prod_pos && hdr[ccons] == H_DONE && owed_rec[ccons] && \
	       !in_notify[0] && !in_notify[1])
#else
#define BAD_B false
#endif

#ifdef PROP_C
#define FORCE_LEFT(i) (i < prod_pos && recflag[i] == FORCE && hdr[i] == H_DONE && !consumed[i])
#if N == 3
#define ANY_FORCE_LEFT (FORCE_LEFT(0) || FORCE_LEFT(1) || FORCE_LEFT(2))
#elif N == 4
#define ANY_FORCE_LEFT (FORCE_LEFT(0) || FORCE_LEFT(1) || FORCE_LEFT(2) || FORCE_LEFT(3))
#else
#define ANY_FORCE_LEFT (FORCE_LEFT(0) || FORCE_LEFT(1) || FORCE_LEFT(2) || FORCE_LEFT(3) || \
			FORCE_LEFT(4) || FORCE_LEFT(5))
#endif
#define BAD_C (QUIET && cblocked && ANY_FORCE_LEFT)
#else
#define BAD_C false
#endif

#ifdef PROP_W
/* with a watermark: never asleep, once everything has settled, with a
 * committed head and WM records pending */
#define BAD_W (QUIET && cblocked && HEAD_DONE && prod_pos - ccons >= WM)
#else
#define BAD_W false
#endif

active proctype monitor() {
end:
	atomic {
		(BAD_A || BAD_B || BAD_C || BAD_W) ->
		assert(!BAD_A);                               /* PROP_A: no lost wakeup */
		assert(!BAD_B);                               /* PROP_B: no sleep on an owed head */
		assert(!BAD_C);                               /* PROP_C: FORCE records delivered */
		assert(!BAD_W)                                /* PROP_W: watermark */
	}
}
