/* SPDX-License-Identifier: MIT */
/*
 * wakesock.c -- the consumer's wakeup socket: what makes ringbuf_epoll_fd()
 * readable, between processes that attached by name and share no fd.
 *
 * The consumer binds a unix datagram socket to /dev/shm/.ringbuf.DEV.INO.wake,
 * DEV and INO being the ring file's st_dev and st_ino.  Every process
 * derives that name from its own fstat() of its own ring fd: nothing is
 * read from shared memory, so a hostile peer cannot point producers at
 * another file; the worst it can do is set the "armed" word and make them
 * send a byte to the ring's own consumer.  The name starts with a dot, so
 * no ring name (which may not) can collide with it and `ringbuf ls` (which
 * lists ringbuf.*) does not show it.
 *
 * Why a socket and not a FIFO: send(MSG_NOSIGNAL | MSG_DONTWAIT) never
 * raises SIGPIPE and never blocks; a full queue (EAGAIN) means the socket is
 * readable already, which is all a wakeup is for; and a name left by a
 * killed consumer is told from a live one by connect() (ECONNREFUSED), so
 * ringbuf_unlink() can remove exactly the stale ones.
 *
 * Producers cache their connection.  A consumer that binds a new socket (a
 * restart) bumps wake_gen in the consumer page before it arms; a producer
 * that sees another generation reconnects by name.  ECONNREFUSED alone
 * would not do: the old socket lives on in any child the old consumer
 * fork()ed, and would swallow the wakeups (t_epoll found it).  A peer that
 * scribbles wake_gen only causes reconnections to the same name.
 *
 * Creation: bind to a private temporary name, chmod it to the ring file's
 * mode (bind follows the umask), then rename() it over the final name.  In
 * sticky /dev/shm rename() cannot replace another user's file; we also
 * refuse any existing name that is not a socket of ours (EEXIST) rather
 * than replace it.  A socket of ours there is a killed consumer's: replaced
 * atomically.  ringbuf_free() of the consumer removes the name if it is
 * still the one it bound (same inode).
 */
#include "internal.h"
#include "barrier.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RB_WAKE_FMT "/dev/shm/.ringbuf.%llx.%llx.wake"

/* Drain at most this many datagrams per consume: a peer that floods the
 * socket cannot keep the consumer in the drain loop. */
#define RB_WAKE_DRAIN_MAX 256

static void rb_wake_addr(const struct stat *ring, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), RB_WAKE_FMT,
		 (unsigned long long)ring->st_dev, (unsigned long long)ring->st_ino);
}

/* The wakeup name of the ring file behind @fd, from our own fstat. */
static int rb_wake_addr_fd(int fd, struct sockaddr_un *sa)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	rb_wake_addr(&st, sa);
	return 0;
}

/* Permissions of the name: the ring file's, except that a ringbuf_new()
 * memfd (sealed, mode 0777 by construction) gets 0600.  A split ring's
 * `ring` file usually belongs to the producers' user, not to us (the
 * socket's owner): sending needs write permission, so if that owner may
 * write the file, "other" may write the socket -- the least this
 * permission model allows.  All it lets anyone do is ring the doorbell:
 * a spurious wakeup, never a record. */
static mode_t rb_wake_mode(const struct ringbuf *rb, const struct stat *st)
{
	int seals = fcntl(rb->fd, F_GET_SEALS);
	mode_t m;

	if (seals >= 0 && (seals & F_SEAL_SHRINK))
		return 0600;
	m = st->st_mode & 0666;
	if (rb->cons_fd >= 0 && st->st_uid != geteuid() && (st->st_mode & S_IWUSR))
		m |= S_IWOTH;
	return m | S_IRUSR | S_IWUSR;
}

int rb_wake_open(struct ringbuf *rb)
{
	static unsigned counter;
	struct sockaddr_un fin, tmp;
	struct stat st, nst;
	uint32_t *gen;
	size_t n;
	int fd, err;

	if (fstat(rb->fd, &st))
		return -errno;
	rb_wake_addr(&st, &fin);
	tmp = fin;
	n = strlen(tmp.sun_path);
	snprintf(tmp.sun_path + n, sizeof(tmp.sun_path) - n, ".%d.%u", (int)getpid(),
		 atomic_fetch_add_explicit(RB_ATOMIC(&counter), 1, memory_order_relaxed));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(tmp.sun_path); /* ours, left by a killed process with our pid */
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp))) {
		err = -errno;
		close(fd);
		return err;
	}
	if (chmod(tmp.sun_path, rb_wake_mode(rb, &st))) {
		err = -errno;
		goto fail;
	}
	/* Producers of the ring's group may write it, if we may give it. */
	if (st.st_gid != getegid() && chown(tmp.sun_path, (uid_t)-1, st.st_gid)) {
		/* not a member: the mode's group bits then apply to ours */
	}
	if (lstat(fin.sun_path, &nst) == 0 && (!S_ISSOCK(nst.st_mode) || nst.st_uid != geteuid())) {
		err = -EEXIST;
		goto fail;
	}
	if (rename(tmp.sun_path, fin.sun_path) || lstat(fin.sun_path, &nst)) {
		err = -errno;
		goto fail;
	}
	rb->wake_ino = (uint64_t)nst.st_ino;
	rb->wake_pid = rb_self();
	__atomic_store_n(&rb->wake_rx, fd, __ATOMIC_RELEASE); /* ringbuf_interrupt() reads it */
	/* Before arming (a release store): producers reconnect. */
	gen = &rb->cons->wake_gen;
	WRITE_ONCE(*gen, READ_ONCE(*gen) + 1);
	return 0;
fail:
	(void)unlink(tmp.sun_path);
	close(fd);
	return err;
}

/* Disarm, remove our name, close the sockets; idempotent (ringbuf_free()
 * calls it before it releases the consumer claim, rb_release() again). */
void rb_wake_close(struct ringbuf *rb)
{
	struct sockaddr_un sa;
	struct stat st;

	/* A fork()ed child freeing its copy of the handle only closes its
	 * copy of the socket: the name and the arming are its parent's. */
	if (rb->wake_rx >= 0 && rb->wake_pid == rb_self()) {
		/* Producers need not send to a socket that is about to go
		 * (only this consumer writes the word). */
		if (rb->cons && READ_ONCE(rb->cons->consumer_waiting) == RINGBUF_WAIT_FD)
			WRITE_ONCE(rb->cons->consumer_waiting, 0);
		if (!rb_wake_addr_fd(rb->fd, &sa) && !lstat(sa.sun_path, &st) &&
		    S_ISSOCK(st.st_mode) && (uint64_t)st.st_ino == rb->wake_ino)
			(void)unlink(sa.sun_path);
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
	int saved = errno;

	if (!rb_wake_addr_fd(rb->fd, &sa))
		(void)sendto(rb->wake_rx, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
			     (struct sockaddr *)&sa, sizeof(sa));
	errno = saved;
}

static int rb_wake_connect(struct ringbuf *rb, uint32_t gen)
{
	struct sockaddr_un sa;
	int fd;

	if (rb_wake_addr_fd(rb->fd, &sa))
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	rb->wake_tx = fd;
	rb->wake_tx_gen = gen;
	return 0;
}

/*
 * A producer wakes a consumer armed in fd mode: one datagram.  The
 * connection is made on first need and cached, and remade when wake_gen
 * says the consumer bound a new socket, or when the send fails (the socket
 * has gone: ECONNREFUSED and the like).  EAGAIN: the queue is full, so the
 * socket is readable -- the wakeup is delivered.  Errors are not reported
 * (a commit cannot fail for them); nobody listening means nobody to wake.
 * Called after the load_acquire of consumer_waiting (A8), which orders the
 * read of wake_gen after the consumer's bump (made before it armed).
 */
void rb_wake_send(struct ringbuf *rb)
{
	const uint32_t *genp = &rb->cons->wake_gen;
	uint32_t gen = READ_ONCE(*genp);
	int saved = errno;

	pthread_mutex_lock(&rb->wake_lock);
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
	pthread_mutex_unlock(&rb->wake_lock);
	errno = saved;
}

/* Remove the wakeup name of the ring at @ring_path if no consumer listens
 * on it any more (a killed consumer's).  A live one is left to its owner's
 * ringbuf_free(): the ring stays in use after its name goes. */
void rb_wake_unlink_stale(const char *ring_path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, saved = errno;

	if (stat(ring_path, &st))
		goto out;
	rb_wake_addr(&st, &sa);
	if (lstat(sa.sun_path, &st) || !S_ISSOCK(st.st_mode))
		goto out;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno == ECONNREFUSED)
		(void)unlink(sa.sun_path);
	close(fd);
out:
	errno = saved;
}
