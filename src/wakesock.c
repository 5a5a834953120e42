/* SPDX-License-Identifier: MIT */
/*
 * wakesock.c -- the consumer's wakeup socket: what makes ringbuf_epoll_fd()
 * readable, between processes that attached by name and share no fd.
 *
 * The name.  The consumer binds a unix datagram socket in the abstract
 * namespace (no file: nothing in /dev/shm to plant, squat, leave stale or
 * get the permissions of wrong) under "ringbuf-wake.KEY", KEY being 128
 * bits from getrandom() drawn for each bind.  It stores KEY in its
 * consumer page (wake_key), then bumps wake_gen, then arms; a producer that
 * finds it armed reads KEY there and connects.  So the name is known to
 * exactly those who may read the ring's consumer page -- its producers and
 * consumer -- and no other local user can predict it, occupy it first or
 * send to it (an abstract socket has no permission bits: knowing the name
 * is the permission).  A bind that finds the name taken (only a process
 * that read KEY could have taken it) draws another KEY.  A peer that may
 * write the consumer page could point producers at another name, but only
 * at one of this prefix (another ring's doorbell: a spurious wakeup there);
 * in a split ring only the consumer's user writes that page.  Abstract
 * names live in the network namespace: producers in another one are not
 * woken (the consumer's poll timeout bounds the delay).
 *
 * Why a socket and not a FIFO: send(MSG_NOSIGNAL | MSG_DONTWAIT) never
 * raises SIGPIPE and never blocks; a full queue (EAGAIN) means the socket is
 * readable already, which is all a wakeup is for; and the name goes with
 * the last descriptor of the socket: a killed consumer leaves nothing.
 *
 * Producers cache their connection.  A consumer that binds a new socket (a
 * restart) bumps wake_gen in the consumer page before it arms; a producer
 * that sees another generation reconnects by name.  ECONNREFUSED alone
 * would not do: the old socket lives on in any child the old consumer
 * fork()ed, and would swallow the wakeups (t_epoll found it).  A peer that
 * scribbles wake_gen only causes reconnections.
 */
#include "internal.h"
#include "barrier.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RB_WAKE_PREFIX "ringbuf-wake."

/* Drain at most this many datagrams per consume: a peer that floods the
 * socket cannot keep the consumer in the drain loop. */
#define RB_WAKE_DRAIN_MAX 256

/* The abstract address of the wakeup socket named by @key; returns its
 * length (an abstract name is as long as the length says). */
static socklen_t rb_wake_addr(const uint64_t key[2], struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, RB_WAKE_PREFIX "%016llx%016llx",
		     (unsigned long long)key[0], (unsigned long long)key[1]);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The address the ring's consumer page names now (a producer's view). */
static socklen_t rb_wake_addr_ring(const struct ringbuf *rb, struct sockaddr_un *sa)
{
	uint64_t key[2] = { READ_ONCE(rb->cons->wake_key[0]), READ_ONCE(rb->cons->wake_key[1]) };

	return rb_wake_addr(key, sa);
}

int rb_wake_open(struct ringbuf *rb)
{
	struct sockaddr_un sa;
	uint64_t key[2];
	socklen_t len;
	uint32_t *gen;
	int fd, err = -EADDRINUSE;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A taken name was read from the ring by someone: draw again. */
	for (int attempt = 0; attempt < 8 && err == -EADDRINUSE; attempt++) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
			err = errno ? -errno : -EIO;
			break;
		}
		len = rb_wake_addr(key, &sa);
		err = bind(fd, (struct sockaddr *)&sa, len) ? -errno : 0;
	}
	if (err) {
		close(fd);
		return err;
	}
	rb->wake_key[0] = key[0];
	rb->wake_key[1] = key[1];
	rb->wake_pid = rb_self();
	__atomic_store_n(&rb->wake_rx, fd, __ATOMIC_RELEASE); /* ringbuf_interrupt() reads it */
	/* The name, then (a release store, before arming) the generation:
	 * producers that see the new generation read the new name. */
	WRITE_ONCE(rb->cons->wake_key[0], key[0]);
	WRITE_ONCE(rb->cons->wake_key[1], key[1]);
	gen = &rb->cons->wake_gen;
	smp_store_release(gen, READ_ONCE(*gen) + 1);
	return 0;
}

/* Disarm and close the sockets; idempotent (ringbuf_free() calls it
 * before it releases the consumer claim, rb_release() again).  The name
 * goes with the socket's last descriptor. */
void rb_wake_close(struct ringbuf *rb)
{
	/* A fork()ed child freeing its copy of the handle only closes its
	 * copy of the socket: the arming is its parent's. */
	if (rb->wake_rx >= 0 && rb->wake_pid == rb_self()) {
		/* Producers need not send to a socket that is about to go
		 * (only this consumer writes the word). */
		if (rb->cons && READ_ONCE(rb->cons->consumer_waiting) == RINGBUF_WAIT_FD)
			WRITE_ONCE(rb->cons->consumer_waiting, 0);
	}
	if (rb->wake_rx >= 0) {
		close(rb->wake_rx);
		rb->wake_rx = -1;
	}
	if (rb->wake_tx >= 0) {
		close(rb->wake_tx);
		rb->wake_tx = -1;
	}
}

/* Empty the socket: the notifications it holds are about to be served. */
void rb_wake_drain(struct ringbuf *rb)
{
	char buf[16];
	int saved = errno;

	for (int i = 0; i < RB_WAKE_DRAIN_MAX; i++)
		if (recv(rb->wake_rx, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != EINTR)
			break;
	errno = saved;
}

/* Make our own socket readable: work is left that no producer will signal. */
void rb_wake_self(struct ringbuf *rb)
{
	struct sockaddr_un sa;
	socklen_t len = rb_wake_addr(rb->wake_key, &sa);
	int saved = errno;

	(void)sendto(rb->wake_rx, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	errno = saved;
}

static int rb_wake_connect(struct ringbuf *rb, uint32_t gen)
{
	struct sockaddr_un sa;
	socklen_t len = rb_wake_addr_ring(rb, &sa);
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, len)) {
		close(fd);
		return -1;
	}
	rb->wake_tx = fd;
	rb->wake_tx_gen = gen;
	return 0;
}

/* One datagram on the cached connection, remade when wake_gen says the
 * consumer bound a new socket or when the send fails; under wake_lock. */
static void rb_wake_send_locked(struct ringbuf *rb, uint32_t gen)
{
	if (rb->wake_tx >= 0 && rb->wake_tx_gen != gen) {
		close(rb->wake_tx);
		rb->wake_tx = -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (rb->wake_tx < 0 && rb_wake_connect(rb, gen))
			break;
		if (send(rb->wake_tx, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno == EAGAIN)
			break;
		close(rb->wake_tx);
		rb->wake_tx = -1;
	}
}

/*
 * A producer wakes a consumer armed in fd mode: one datagram.  The
 * connection is made on first need and cached.  EAGAIN: the queue is full,
 * so the socket is readable -- the wakeup is delivered.  Errors are not
 * reported (a commit cannot fail for them); nobody listening means nobody
 * to wake.  Called after the load_acquire of consumer_waiting (A8), which
 * orders the read of wake_gen after the consumer's bump (made before it
 * armed).
 *
 * Async-signal-safe, and no wakeup is lost: the caller first marks the
 * wakeup owed (wake_owed), then only *tries* wake_lock.  Whoever holds
 * the lock sends, and after dropping it looks at wake_owed again: a
 * wakeup owed by a signal handler that interrupted the holder, or by a
 * thread that found the lock taken, is sent by the holder, now or on its
 * next round.  (Seq_cst exchange and store on both words: a marker that
 * fails the trylock, and a holder that unlocks and then finds wake_owed 0,
 * cannot both miss each other.)  A handler thus never waits for the
 * thread it interrupted.
 */
void rb_wake_send(struct ringbuf *rb)
{
	int saved = errno;

	atomic_store_explicit(RB_ATOMIC(&rb->wake_owed), 1, memory_order_seq_cst);
	while (atomic_load_explicit(RB_ATOMIC(&rb->wake_owed), memory_order_seq_cst) &&
	       rb_local_trylock(&rb->wake_lock)) {
		if (atomic_exchange_explicit(RB_ATOMIC(&rb->wake_owed), 0, memory_order_seq_cst)) {
			/* A8 orders this read after the consumer's bump. */
			rb_wake_send_locked(rb, READ_ONCE(rb->cons->wake_gen));
		}
		rb_local_unlock(&rb->wake_lock);
	}
	errno = saved;
}
