/* SPDX-License-Identifier: MIT */
/*
 * fault.h -- the fault-injection points, for the tests of dead peers.
 *
 * Only the test variant of the library has them: build/libringbuf-fi.a is
 * every library source built with -DRINGBUF_FAULT_INJECTION plus
 * src/fault.c, and it is linked only into the tests that kill or stop a
 * process at one of these points (tests/t_dead.c, tests/t_wakeswitch.c,
 * which include this header).  In the real library RB_FI() is nothing and
 * src/fault.c is not built.
 *
 * rb_fi_arm(point, n) makes the process SIGKILL itself the n-th time
 * (n >= 1) any of its threads passes @point; rb_fi_arm_sig() sends another
 * signal instead (SIGSTOP: the test holds the process there and lets it go
 * on with SIGCONT).
 */
#ifndef RINGBUF_FAULT_H
#define RINGBUF_FAULT_H

enum rb_fi_point {
	RB_FI_LOCKED = 1, /* reservation lock taken, nothing written yet */
	RB_FI_HDR,        /* BUSY header written, producer_pos not yet */
	RB_FI_PUBLISHED,  /* producer_pos published, lock not yet released */
	RB_FI_RESERVED,   /* lock released: the caller holds a BUSY record */
	RB_FI_COMMIT,     /* submit/discard/output, before the header store */
	RB_FI_WHOLE,      /* a record written whole (src/output.c) and
			   * published, the lock not yet released */
	RB_FI_WAKE,       /* a waker has read the consumer's arming, notify_seq
			   * not yet moved (t_wakeswitch stops it here) */
	RB_FI_FREE,       /* ringbuf_free(): the consumer claim just released */
	RB_FI_NPOINTS
};

__attribute__((visibility("hidden"))) void rb_fi_arm(int point, long n);
__attribute__((visibility("hidden"))) void rb_fi_arm_sig(int point, long n, int sig);
__attribute__((visibility("hidden"))) void rb_fi_hit(int point);

#ifdef RINGBUF_FAULT_INJECTION
#define RB_FI(point) rb_fi_hit(point)
#else
#define RB_FI(point) ((void)0)
#endif

#endif
