/* SPDX-License-Identifier: MIT */
/*
 * poll.c -- waiting: ringbuf_poll() and the fd of ringbuf_epoll_fd() for
 * the consumer, with its watermark; ringbuf_reserve_wait() for a producer
 * facing a full ring; and both on kernel maps, where the kernel's own
 * epoll readiness replaces the futex and the wakeup socket.  What a wait
 * re-checks, and why no wakeup is lost, is src/notify.c's; this file only
 * decides when and how long to sleep.
 *
 * Ordering on a kernel RINGBUF (the kernel's pairs):
 *   kernel commit: xchg(hdr->len) [full barrier]; load consumer_pos
 *   ringbuf:       store_release(consumer_pos); smp_mb; load producer_pos
 *                  and the head header (rb_head_committed)
 * so either the kernel sees our position and sends an adaptive wakeup, or
 * our check sees its record.  An edge-triggered epoll registration keeps a
 * wakeup that arrives before epoll_wait() queued for it, and makes poll
 * wait for the next wakeup rather than spin while a BUSY record sits at the
 * head (the level-triggered EPOLLIN libbpf uses would report it ready).
 */
#include "internal.h"
#include "ring.h"

#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Kernel maps: the map fd's epoll readiness
 * ------------------------------------------------------------------------ */

/* Milliseconds left until @deadline (0 = for ever: -1), rounded up. */
static int rb_ms_left(uint64_t deadline)
{
	uint64_t now;

	if (!deadline)
		return -1;
	now = rb_now_ns();
	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000 > INT_MAX ? INT_MAX
			: (deadline - now + 999999) / 1000000);
}

/* ringbuf_interrupt(): take a pending interrupt (true: return -ECANCELED). */
static bool rb_take_intr(struct ringbuf *rb)
{
	if (!__atomic_load_n(&rb->intr, __ATOMIC_RELAXED))
		return false;
	return __atomic_exchange_n(&rb->intr, 0, __ATOMIC_ACQ_REL) != 0;
}

/* Wait for the kernel's next notification on the map fd, or @deadline.
 * Returns 1 if notified, 0 on timeout, -ECANCELED if interrupted
 * (ringbuf_interrupt()), or a negative errno. */
static int rb_kmap_wait(struct ringbuf *rb, uint64_t deadline)
{
	struct epoll_event ev[2];

	for (;;) {
		int ms = rb_ms_left(deadline), n;

		if (rb_take_intr(rb))
			return -ECANCELED;
		if (ms == 0)
			return 0;
		n = epoll_wait(rb->epoll_fd, ev, 2, ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == 1) {
				uint64_t v;

				if (read(rb->intr_fd, &v, sizeof(v)) < 0) {
					/* EAGAIN: another wait took it */
				}
			}
		}
		if (rb_take_intr(rb))
			return -ECANCELED;
		for (int i = 0; i < n; i++)
			if (ev[i].data.u64 == 0)
				return 1;
	}
}

static int rb_kmap_poll(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, int timeout_ms,
			bool *slept)
{
	if (rb->kind != RB_KERNEL_RINGBUF)
		return (int)rb_err(EOPNOTSUPP);
	if (rb_take_intr(rb))
		return (int)rb_err(ECANCELED);
	/* Our last consumer_pos store before the head check: pairs with the
	 * kernel's xchg-then-load in bpf_ringbuf_commit(). */
	smp_mb();
	if (timeout_ms != 0 && !rb_head_committed(rb)) {
		uint64_t deadline = 0;
		int r;

		if (timeout_ms > 0)
			deadline = rb_now_ns() + (uint64_t)timeout_ms * 1000000ull;
		/* One notification (or the timeout), then consume what there
		 * is: a FORCE_WAKEUP may be for a record behind a BUSY one. */
		*slept = true;
		r = rb_kmap_wait(rb, deadline);
		if (r < 0)
			return (int)rb_err(-r);
	}
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}

/* ------------------------------------------------------------------------
 * The consumer of a ringbuf ring
 * ------------------------------------------------------------------------ */

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

/* rb_sleep()'s look while it stays armed: after a wakeup that was no
 * notification (ringbuf_interrupt()'s, or a spurious one), or every
 * recover_ms (the head may be a dead producer's). */
static bool rb_poll_at_cap(struct ringbuf *rb, uint64_t *until)
{
	if (__atomic_load_n(&rb->intr, __ATOMIC_SEQ_CST))
		return true;
	return rb_head_stall(rb, until);
}

/*
 * How long a wait may sleep before it looks at the head again: until
 * @deadline (0: for ever), but never longer than the recovery bound.  A
 * producer that dies holding the head after the consumer went to sleep
 * leaves records committed behind it that wake nobody (the consumer is
 * not at them, so adaptive commits do not notify), and only a consumer
 * that looks again can start the head's recovery clock (rb_head_stall()).
 * An idle consumer thus wakes once per recover_ms; RINGBUF_RECOVER_NEVER
 * sleeps unbounded.
 */
static uint64_t rb_sleep_until(const struct ringbuf *rb, uint64_t deadline, uint64_t now)
{
	uint64_t cap;

	if (!rb->recover_ns)
		return deadline;
	cap = now + rb->recover_ns;
	return !deadline || cap < deadline ? cap : deadline;
}

/* ringbuf_poll() in fd mode: wait on the socket (armed by the last
 * consume), then consume, which drains and re-arms. */
static int rb_poll_fd(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, uint64_t deadline,
		      bool no_wait, bool *slept)
{
	struct pollfd p = { .fd = rb->wake_rx, .events = POLLIN };

	while (!no_wait) {
		uint64_t now = rb_now_ns(), until = rb_sleep_until(rb, deadline, now);
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
		*slept = true;
		r = poll(&p, 1, ms);
		if (rb_take_intr(rb))
			return (int)rb_err(ECANCELED); /* the datagram stays: consumed next time */
		if (r > 0 || (r < 0 && errno != EINTR) || (r == 0 && until == deadline))
			break;
	}
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}

static int rb_poll_user(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, int timeout_ms,
			uint64_t deadline, bool *slept)
{
	int err;

	err = rb_consumer_gate(rb);
	if (err)
		return (int)rb_err(-err);
	if (rb_take_intr(rb))
		return (int)rb_err(ECANCELED);
	if (rb->wake_rx >= 0)
		return rb_poll_fd(rb, fn, ctx, timeout_ms ? deadline : 0, timeout_ms == 0, slept);
	for (;;) {
		bool forced = rb_take_forced(rb);

		smp_mb(); /* F3 (consumer_pos side): pairs with F1 in rb_commit_len() */
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
		/* Dekker with ringbuf_interrupt(): we say we sleep, then look
		 * for an interrupt; it sets one, then looks for a sleeper and
		 * wakes it until it has left (see there). */
		__atomic_store_n(&rb->sleeping, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&rb->intr, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&rb->sleeping, 0, __ATOMIC_RELEASE);
			(void)rb_take_intr(rb);
			return (int)rb_err(ECANCELED);
		}
		/* Woken, timed out, interrupted (EINTR) or spurious: the loop
		 * re-checks everything. */
		*slept = true;
		rb_sleep(rb, until, rb->recover_ns, rb_poll_at_cap);
		__atomic_store_n(&rb->sleeping, 0, __ATOMIC_RELEASE);
		if (rb_take_intr(rb))
			return (int)rb_err(ECANCELED);
	}
	return rb_consume(rb, fn, ctx, SIZE_MAX);
}

/*
 * Coalescing: the default form -- a consumer looping on ringbuf_poll()
 * with adaptive wakeups -- chases a fast producer.  Each poll finds a few
 * records at once, takes them, and polls again; both cores then fight
 * over the position and header lines (and on a VM a busy vCPU slows its
 * sibling).  So when polls keep returning small batches without having
 * slept, the next poll first naps, letting the producer get ahead, as NIC
 * drivers switch from interrupts to polling under load: 20 us after the
 * first small batch, doubling per small batch up to 200 us.  A poll that
 * had to sleep for records (the producer is slow or idle) or failed turns
 * it off, so a lone record to a sleeping consumer pays nothing.  Bounds:
 * no nap once an eighth of the ring is pending (the ring must not fill for
 * it), none past the poll's timeout, none for timeout 0 or with a
 * watermark (which already decides when to wake).  Producers' rules are
 * untouched: the nap is the consumer's alone.
 */
#define RB_NAP_MIN_NS 20000ull
#define RB_NAP_MAX_NS 200000ull
#define RB_NAP_SMALL  64 /* records: fewer is a small batch */

static void rb_coalesce_nap(struct ringbuf *rb, int timeout_ms, uint64_t deadline)
{
	uint64_t nap = rb->nap_ns, now;
	struct timespec ts;

	if (!nap || timeout_ms == 0)
		return;
	if (rb->kind == RB_USER && READ_ONCE(rb->cons->wakeup_watermark))
		return;
	if (__atomic_load_n(&rb->prod->producer_pos, __ATOMIC_RELAXED) -
		    __atomic_load_n(&rb->cons->consumer_pos, __ATOMIC_RELAXED) >=
	    rb->size / 8)
		return;
	if (deadline) {
		now = rb_now_ns();
		if (now >= deadline)
			return;
		if (deadline - now < nap)
			nap = deadline - now;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = (long)nap;
	nanosleep(&ts, NULL); /* a signal ends it early: fine */
}

static void rb_coalesce_learn(struct ringbuf *rb, int got, bool slept, uint64_t t0)
{
	/* Slept for records longer than the longest nap: the producer is
	 * slow or idle, latency matters more than batching. */
	if (got <= 0 || (slept && rb_now_ns() - t0 > 2 * RB_NAP_MAX_NS))
		rb->nap_ns = 0;
	else if (got < RB_NAP_SMALL)
		rb->nap_ns = !rb->nap_ns ? RB_NAP_MIN_NS
			     : rb->nap_ns * 2 > RB_NAP_MAX_NS ? RB_NAP_MAX_NS : rb->nap_ns * 2;
}

static int rb_poll_call(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, int timeout_ms)
{
	uint64_t deadline = 0, t0;
	bool slept = false;
	int got;

	if (!rb || !fn)
		return (int)rb_err(EINVAL);
	t0 = rb_now_ns();
	if (timeout_ms >= 0)
		deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
	rb_coalesce_nap(rb, timeout_ms, deadline);
	if (rb->kind != RB_USER)
		got = rb_kmap_poll(rb, fn, ctx, timeout_ms, &slept);
	else
		got = rb_poll_user(rb, fn, ctx, timeout_ms, deadline, &slept);
	rb_coalesce_learn(rb, got, slept, t0);
	return got;
}

/*
 * The consumer calls with a callback, refusing re-entry: a callback that
 * consumes or polls its own handle would be handed records twice (the
 * position is published after it returns), and one that frees it would
 * pull the ring from under the loop that called it (-EBUSY, nothing
 * changed; ringbuf_next() and ringbuf_free() check the same flag).
 */
int ringbuf_poll(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, int timeout_ms)
{
	int r;

	if (rb && rb->in_call)
		return (int)rb_err(EBUSY);
	if (rb)
		rb->in_call = true;
	r = rb_poll_call(rb, fn, ctx, timeout_ms);
	if (rb)
		rb->in_call = false;
	return r;
}

int ringbuf_consume_n(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx, size_t n)
{
	int r;

	if (rb && rb->in_call)
		return (int)rb_err(EBUSY);
	if (rb)
		rb->in_call = true;
	r = rb_consume(rb, fn, ctx, n);
	if (rb)
		rb->in_call = false;
	return r;
}

int ringbuf_consume(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx)
{
	return ringbuf_consume_n(rb, fn, ctx, SIZE_MAX);
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

/* ------------------------------------------------------------------------
 * A producer facing a full ring
 * ------------------------------------------------------------------------ */

void *ringbuf_reserve_wait(struct ringbuf *rb, uint64_t size, int timeout_ms)
{
	uint64_t deadline = 0, nap_ns = 50000;
	void *sample;
	long err = 0;

	if (!rb || timeout_ms < -1) {
		errno = EINVAL;
		return NULL;
	}
	if (timeout_ms > 0)
		deadline = rb_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		int r = 0;

		sample = ringbuf_reserve(rb, size, 0);
		if (sample)
			return sample;
		err = -errno;
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

/* ------------------------------------------------------------------------
 * Interrupting a waiting consumer
 * ------------------------------------------------------------------------ */

/*
 * Any thread.  The flag first, then whatever wakes the poller:
 *  - futex mode: the poller stores sleeping = 1, then loads intr (both
 *    seq_cst) before it sleeps; we store intr, then load sleeping.  One of
 *    the two sees the other's store.  If we see a sleeper, it may still be
 *    on its way into FUTEX_WAIT, where a wake would find nobody, so we wake
 *    and yield until it has left (sleeping = 0): it leaves within one
 *    scheduling round once inside, since every FUTEX_WAKE wakes it.  Only
 *    the wake is shared (notify_seq is not written, so a split ring's
 *    consumer may interrupt itself); the extra wakeups are spurious ones,
 *    which every waiter on notify_seq tolerates.
 *  - fd mode: a datagram to the consumer's own socket (what a producer
 *    sends), so ringbuf_poll() and an application's epoll on
 *    ringbuf_epoll_fd() both see it readable.
 *  - kernel RINGBUF map: the handle's eventfd, in the epoll set ringbuf_poll()
 *    waits on.
 */
int ringbuf_interrupt(struct ringbuf *rb)
{
	if (!rb)
		return (int)rb_err(EINVAL);
	if (rb->kind == RB_KERNEL_USER_RINGBUF)
		return (int)rb_err(EOPNOTSUPP);
	__atomic_store_n(&rb->intr, 1, __ATOMIC_SEQ_CST);
	if (rb->kind == RB_KERNEL_RINGBUF) {
		uint64_t one = 1;

		if (write(rb->intr_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, so it is readable */
		}
		return 0;
	}
	if (__atomic_load_n(&rb->wake_rx, __ATOMIC_ACQUIRE) >= 0)
		rb_wake_self(rb);
	while (__atomic_load_n(&rb->sleeping, __ATOMIC_SEQ_CST)) {
		rb_futex_wake(&rb->meta->notify_seq);
		sched_yield();
	}
	return 0;
}
