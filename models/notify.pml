/*
 * notify.pml -- the notification protocol of src/ringbuf.c, as implemented:
 * rb_commit_len/rb_notify/rb_wake_sleeper (producers) against
 * ringbuf_poll/rb_take_forced/rb_head_committed/rb_sleep/rb_consume (the
 * consumer), on an x86-TSO memory model.
 *
 * MEMORY MODEL (what the model assumes, and why)
 *
 *   Every process has a FIFO store buffer (sb_*).  A plain, release or
 *   relaxed store (WRITE_ONCE, smp_store_release) goes into the buffer; the
 *   `memory' process drains any buffer's oldest entry at any time.  A load
 *   reads the process's own newest buffered store to that variable (store
 *   forwarding), else memory.  smp_mb and every locked RMW (CAS,
 *   fetch_add: the lock's CAS, rb_wake_sleeper's CAS of notify_seq, a FORCE
 *   producer's fetch_add of force_seq
 *   and fetch_add) wait until the buffer has drained and then act on memory
 *   atomically.
 *   That is x86-TSO: loads are not reordered with loads, stores not with
 *   stores, and a store can be passed only by the same process's later loads
 *   -- exactly the store->load reordering the Dekker pairs F1/F3 and F1'/F3
 *   must forbid.  So removing a fence here (-DNO_F1, -DNO_F2, -DNO_F3) does
 *   make a difference, as it does on real hardware.
 *
 *   Release/acquire pairs (R1..R5 / A1..A5) get no special treatment: under
 *   TSO every store is a release and every load an acquire, which is what
 *   x86 gives them.  On ARM/POWER C11 release/acquire is weaker than TSO in
 *   two ways the code could depend on, and neither matters here:
 *     - a relaxed load before an acquire load may be satisfied after it
 *       (rb_notify reads consumer_waiting relaxed, then consumer_pos
 *       acquire): both loads follow F1, and the fence argument (F1 before F3
 *       in the SC-fence order: the consumer's re-check sees the header;
 *       F3 before F1: both loads see the consumer's pre-F3 stores or later
 *       ones) does not depend on their order;
 *     - a relaxed store after a release store may become visible before it
 *       (rb_sleep: consumer_waiting = 1 after the release store of
 *       consumer_pos): both precede F3 and are only read after F1, same
 *       argument.
 *   IRIW-style non-multi-copy-atomicity (POWER) is not modelled; all the
 *   cross-process store->load pairs that matter have an SC fence on both
 *   sides, which restores it for them.  F1' (the smp_mb after a FORCE
 *   producer's fetch_add of force_seq) is implied by that locked RMW on
 *   x86, so this model cannot show that it is needed on ARM (no -DNO_F1P
 *   control); F2 (after the consumer's plain store of force_taken) is not,
 *   and -DNO_F2 finds its counterexample.
 *
 *   The protocol since layout 2 (split rings): the consumer alone writes
 *   consumer_waiting, wait_seq (the notify_seq it armed at) and
 *   force_taken; a waker wins by CAS(notify_seq, wait_seq, wait_seq + 1);
 *   a forced notification is pending while force_seq != force_taken.
 *   The model's consumer waits one way for ever (futex, or fd with
 *   -DFD_MODE), so rb_wake_sleeper's second look at consumer_waiting after
 *   its CAS (F6, for a consumer that switched kinds) is not modelled.
 *
 * OTHER ABSTRACTIONS
 *
 *   - Positions count records, not bytes, and the ring never wraps (it is
 *     large enough for all N records): wrap-around and the space checks are
 *     reserve.pml's subject.  Records are never discarded (DISCARD only
 *     changes what the consumer delivers, not how it moves or notifies).
 *   - The reservation is one atomic step, after the producer's buffer has
 *     drained (the lock's CAS is a locked instruction), that makes the BUSY header and
 *     producer_pos visible at once.  That is sound: in real TSO they drain
 *     in that order before the commit's header store (FIFO), and the
 *     producer reads nothing in between, so a late drain is the same as a
 *     later reservation.
 *   - futex_wait(notify_seq, seq) waits for the consumer's buffer to drain
 *     (the futex code takes a lock) and then, atomically, blocks iff notify_seq == seq;
 *     futex_wake unblocks it.  No spurious returns, no timeout (timeout_ms =
 *     -1): the worst case for lost wakeups.
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
 *   -DNO_RECHECK   rb_sleep does not re-check the forced mark / the head
 *                  after arming (after F3)
 *   -DNO_F3        the consumer's fences F3 (in ringbuf_poll and rb_sleep)
 *                  are removed
 *   -DNO_F1        the producer's F1 (after the header store) is removed
 *   -DNO_F2        the consumer's F2 (after taking a forced notification)
 *                  is removed
 *
 * FD MODE AND WATERMARK
 *
 *   -DFD_MODE replaces the consumer by the application's loop on
 *   ringbuf_epoll_fd() (epoll_wait, then ringbuf_consume, which drains the
 *   socket first and re-arms with consumer_waiting = 2 and F3 at its end,
 *   rb_arm_fd); producers that exchange 2 to 0 send a datagram.  PROP_A and
 *   PROP_B are checked for it as for the futex; cblocked then means blocked
 *   in epoll_wait on an empty socket.  Negative controls: -DNO_RECHECK,
 *   -DNO_F3, and -DDRAIN_LATE (the socket emptied after arming instead of
 *   before consuming).
 *   -DWM=w adds a watermark of w records: adaptive commits wake only once
 *   producer_pos - consumer_pos >= w, and the consumer's re-checks become
 *   "committed head and w pending" (rb_due).  NO_WAKEUP records are left
 *   out (they owe nothing).  PROP_W: when everything has settled, the
 *   consumer is not blocked while its head is committed with w pending.
 *   Works with and without FD_MODE.
 *
 * Parameters: -DK0=n, -DK1=m records committed by producer 0 and 1
 * (default 2 and 1; the state space grows fast: see README.md).
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

/* buffered variables */
#define V_HDR  1
#define V_FT   2
#define V_CW   3
#define V_CPOS 4
#define V_WSEQ 5

/* ---- shared memory ---- */
byte prod_pos;                 /* producer_pos (records) */
byte cpos;                     /* consumer_pos */
byte hdr[N];                   /* record headers */
byte fseq;                     /* meta.force_seq: bumped by FORCE producers */
byte ftaken;                   /* force_taken (consumer page): a forced
                                * notification is pending while fseq != ftaken */
byte cw;                       /* consumer_waiting (consumer page): 0, 1 futex,
                                * 2 fd (RINGBUF_WAIT_*); only the consumer writes it */
byte wseq;                     /* wait_seq (consumer page): notify_seq when it armed */
bit  sock;                     /* FD_MODE: the wakeup socket holds a datagram */
byte seq;                      /* meta.notify_seq (futex word) */

/* ---- store buffers: entry j of process p is at p*D+j, oldest first ---- */
byte sb_var[NPROC * D];
byte sb_idx[NPROC * D];
byte sb_val[NPROC * D];
byte sb_n[NPROC];

/* ---- ghosts ---- */
byte recflag[N];               /* flags of each record */
bit  owed_rec[N];              /* a wakeup is owed for this record */
bit  consumed[N];              /* the consumer has passed this record */
byte nowed;                    /* number of owed_rec[] set */
byte cpos_prog;                /* consumer's latest consumer_pos store */
byte ccons;                    /* consumer's local position */
bit  cblocked;                 /* consumer blocked in futex_wait */
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
	:: sb_var[p*D] == V_FT   -> ftaken = sb_val[p*D]
	:: sb_var[p*D] == V_CW   -> cw = sb_val[p*D]
	:: sb_var[p*D] == V_WSEQ -> wseq = sb_val[p*D]
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
 * unless a fence is removed): ROOM(p) is the first statement of the atomic
 * block that stores. */
#define ROOM(p) (sb_n[p] < D)
inline store(p, var, i, v) {
	sb_var[p*D + sb_n[p]] = var;
	sb_idx[p*D + sb_n[p]] = i;
	sb_val[p*D + sb_n[p]] = v;
	sb_n[p]++
}

/* F2 after the consumer's plain store of force_taken. */
#ifndef NO_F2
#define TAKE_F2 DRAINED(CONS)
#else
#define TAKE_F2 skip
#endif

/* The memory subsystem: drains store buffers, oldest entry first. */
active proctype memory() {
end:
	do
	:: atomic { sb_n[0] > 0 -> flush_one(0) }
	:: atomic { sb_n[1] > 0 -> flush_one(1) }
	:: atomic { sb_n[CONS] > 0 -> flush_one(CONS) }
	od
}

/* rb_wake_sleeper: read how the consumer waits and the notify_seq it armed
 * at (A8: consumer_waiting, then wait_seq), then CAS notify_seq from that
 * value: exactly one waker per arming wins and makes the syscall. */
inline wake_sleeper(me, v, w) {
	if
	:: cw == 0 -> skip                        /* READ_ONCE(consumer_waiting) */
	:: else ->
		v = cw;                               /* load_acquire (A8) */
		w = wseq;
		if
		:: v == 0 -> skip
		:: else ->
			atomic {                          /* CAS(notify_seq, w, w + 1) (R5) */
				DRAINED(me) ->
				if
				:: seq == w -> seq++; w = 1
				:: else -> w = 0
				fi
			}
			if
			:: w == 1 && v == 2 ->            /* rb_wake_send: one datagram */
				atomic { sock = 1; cblocked = 0 }
			:: w == 1 && v != 2 ->            /* futex_wake */
				atomic { cblocked = 0 }
			:: else -> skip
			fi
		fi
	fi;
	v = 0; w = 0
}

proctype producer(byte me; byte kmax) {
	byte k, idx, f, v, w;

	do
	:: k < kmax ->
		if
		:: f = ADAPT
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
		/* rb_commit_len: store_release(hdr->len) (R1) */
		atomic { ROOM(me) -> store(me, V_HDR, idx, H_DONE); in_notify[me] = 1 }
		if
		:: f == NOWAKE -> goto done
		:: else -> skip
		fi;
#ifndef NO_F1
		DRAINED(me);                                  /* F1 */
#endif
		/* rb_notify */
		if
		:: f == FORCE ->
			/* if (READ_ONCE(force_seq) == READ_ONCE(force_taken))
			 * { fetch_add(force_seq); F1' }: a locked RMW, so F1' adds
			 * nothing on TSO */
			v = fseq;
			if
			:: v == ftaken -> atomic { DRAINED(me) -> fseq++ }
			:: else -> skip
			fi;
			v = 0;
			wake_sleeper(me, v, w)
		:: else ->
			if
			:: cw == 0 -> goto done               /* READ_ONCE(consumer_waiting) */
			:: else -> skip
			fi;
#ifdef WM
			if                                    /* the watermark rule */
			:: prod_pos - cpos >= WM -> wake_sleeper(me, v, w)
			:: else -> skip
			fi
#else
			if
			:: cpos == idx -> wake_sleeper(me, v, w) /* load_acquire(consumer_pos) */
			:: else -> skip
			fi
#endif
		fi;
done:
		atomic { in_notify[me] = 0; k++; v = 0; f = 0; idx = 0 }
	:: else -> break
	od;
	pdone++
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

#ifndef FD_MODE
/* ringbuf_poll (timeout -1) + rb_consume, for ever.  Dead locals are reset
 * to 0 to keep the state space small. */
active proctype consumer() {
	byte prod, s, old, pub, i;

poll:
	/* rb_take_forced: force_taken = force_seq (a plain store), F2 */
	old = fseq;
	if
	:: old != ftaken ->
		atomic { ROOM(CONS) -> store(CONS, V_FT, 0, old); old = 0 }
		TAKE_F2;
		goto consume
	:: else -> old = 0
	fi;
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (poll) */
#endif
	/* rb_head_committed */
	if
	:: HEAD_DUE -> goto consume
	:: else -> skip
	fi;

	/* rb_sleep -> rb_arm: wait_seq = notify_seq, then consumer_waiting (R8) */
	atomic {
		ROOM(CONS) ->
		s = seq;                                      /* A5 */
		store(CONS, V_WSEQ, 0, s)
	}
	atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 1) } /* consumer_waiting = 1 */
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (sleep) */
#endif
#ifndef NO_RECHECK
	if                                                /* rb_forced_pending */
	:: fseq != ftaken -> goto out
	:: else -> skip
	fi;
	if
	:: HEAD_DUE -> goto out
	:: else -> skip
	fi;
#endif
	atomic {                                          /* futex_wait(seq, s) */
		DRAINED(CONS) ->
		if
		:: seq == s -> cblocked = 1
		:: else -> skip
		fi
	}
end_wait:
	cblocked == 0;
out:
	s = 0;
	atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 0) }  /* consumer_waiting = 0 */
	goto poll;

consume:
	/* rb_consume: read producer_pos; the consumer is awake, so every
	 * wakeup owed so far is settled. */
	atomic {
		prod = prod_pos;
		for (i : 0 .. N-1) { clear_owed(i) }
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
	fi;
	goto poll
}

#else /* FD_MODE */
/* The application's loop on ringbuf_epoll_fd(): epoll_wait until the socket
 * is readable, then ringbuf_consume: drain the socket, take a forced
 * notification, consume, publish consumer_pos, arm (consumer_waiting = 2),
 * F3, re-check (rb_arm_fd) and if work is due send to itself.  The fd is
 * made (and armed) before the first wait.  cblocked: blocked in epoll_wait
 * on an empty socket; a sender clears it. */
active proctype consumer() {
	byte prod, old, pub, i, f;

	goto arm;
wait:
	atomic {
		if
		:: sock == 0 -> cblocked = 1
		:: else -> skip
		fi
	}
end_wait:
	sock == 1;
consume:
#ifndef DRAIN_LATE
	sock = 0;                                         /* rb_wake_drain */
#endif
	old = fseq;                                       /* rb_take_forced */
	if
	:: old != ftaken ->
		atomic { ROOM(CONS) -> store(CONS, V_FT, 0, old) }
		TAKE_F2
	:: else -> skip
	fi;
	old = 0;
	atomic {
		prod = prod_pos;
		for (i : 0 .. N-1) { clear_owed(i) }
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
	fi;
arm:
	atomic { ROOM(CONS) -> old = seq; store(CONS, V_WSEQ, 0, old); old = 0 }  /* rb_arm */
	atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 2) }  /* consumer_waiting = FD */
#ifndef NO_F3
	DRAINED(CONS);                                    /* F3 (rb_arm_fd) */
#endif
#ifdef DRAIN_LATE
	sock = 0;                                         /* the wrong order */
#endif
#ifndef NO_RECHECK
	f = 0;
	old = fseq;                                       /* rb_take_forced */
	if
	:: old != ftaken ->
		atomic { ROOM(CONS) -> store(CONS, V_FT, 0, old) }
		TAKE_F2;
		f = 1
	:: else -> skip
	fi;
	old = 0;
	if
	:: HEAD_DUE || (f == 1 && ccons != prod_pos) ->
		/* disarm (only the consumer writes the word), send to itself */
		atomic { ROOM(CONS) -> store(CONS, V_CW, 0, 0) }
		sock = 1                                      /* rb_wake_self */
	:: else -> skip
	fi;
	f = 0;
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

/* The monitor waits, blocked, for a state that violates the property and
 * then fails; blocked is a valid end (label end), so it adds no states of its
 * own to the search. */
#define QUIET (pdone == NPROD && sb_n[0] == 0 && sb_n[1] == 0 && sb_n[CONS] == 0)

#ifdef PROP_C
#define FORCE_LEFT(i) (i < prod_pos && recflag[i] == FORCE && hdr[i] == H_DONE && !consumed[i])
#endif

active proctype monitor() {
end:
#ifdef PROP_A
	atomic { (QUIET && cblocked && nowed > 0) -> assert(false) }
#endif
#ifdef PROP_B
	atomic {
		(cblocked && ccons < prod_pos && hdr[ccons] == H_DONE && owed_rec[ccons] &&
		 !in_notify[0] && !in_notify[1]) -> assert(false)
	}
#endif
#ifdef PROP_C
	atomic {
		(QUIET && cblocked && (FORCE_LEFT(0) || FORCE_LEFT(1)
#if N > 2
		 || FORCE_LEFT(2)
#endif
#if N > 3
		 || FORCE_LEFT(3)
#endif
#if N > 4
		 || FORCE_LEFT(4)
#endif
#if N > 5
		 || FORCE_LEFT(5)
#endif
		)) -> assert(false)
	}
#endif
#ifdef PROP_W
	/* with a watermark: never asleep, once everything has settled, with a
	 * committed head and WM records pending */
	atomic { (QUIET && cblocked && HEAD_DONE && prod_pos - ccons >= WM) -> assert(false) }
#endif
	skip
}
