/* SPDX-License-Identifier: MIT */
/*
 * manager.c -- several rings, one wait: libbpf's ring_buffer__new/add/poll/
 * consume/consume_n/epoll_fd over ringbuf handles, and a remove that libbpf
 * does not have.
 *
 * One epoll instance watches each ring's ringbuf_epoll_fd(): the wakeup
 * socket of a ringbuf ring in fd mode (readable exactly while a
 * notification is owed, see rb_arm_fd() in src/notify.c), or the map fd of a
 * kernel RINGBUF (the kernel's level-triggered EPOLLIN).  Each registration
 * carries the ring's index.  poll consumes the rings epoll reports, with
 * their own callbacks; consuming re-arms them.  Nothing here touches shared
 * memory: everything goes through the public consumer calls, and this
 * file includes nothing of the library but include/ringbuf.h.
 */
#include "ringbuf.h" /* the public API only, like any application */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The epoll data of the manager's interrupt eventfd; rings are 0 .. n-1. */
#define RB_INTR_EVENT UINT32_MAX

struct rb_managed {
	struct ringbuf *rb;
	ringbuf_sample_fn fn;
	void *ctx;
	int fd; /* what was registered (ringbuf_epoll_fd() at add time) */
};

struct ringbuf_manager {
	int epfd;
	int intr_fd;  /* ringbuf_manager_interrupt(): an eventfd in epfd */
	struct rb_managed *rings;
	struct epoll_event *events; /* one per ring, for epoll_wait */
	size_t n, cap;
	unsigned in_call; /* poll/consume calls in progress (nested from
			   * callbacks too): a callback's remove is refused */
};

/* An error as the API returns it: -@e, with errno set. */
static int rb_manager_err(int e)
{
	errno = e;
	return -e;
}

/* Does the caller's struct ringbuf_opts (of @o->sz bytes) hold @field? */
#define RB_OPT_HAS(o, field) \
	((o)->sz >= offsetof(struct ringbuf_opts, field) + sizeof((o)->field))

/* The options check of the API (libbpf's OPTS_VALID: sz covers at least
 * sz, bytes past the struct this library knows are zero), where no field
 * applies to a manager yet: flags, mode, role and consumer_mode must be 0;
 * recover_ms is ignored, as for kernel maps. */
static bool rb_manager_opts_ok(const struct ringbuf_opts *o)
{
	if (!o)
		return true;
	if (o->sz < sizeof(o->sz))
		return false;
	for (size_t i = sizeof(*o); i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return false;
	return !(RB_OPT_HAS(o, flags) && o->flags) && !(RB_OPT_HAS(o, mode) && o->mode) &&
	       !(RB_OPT_HAS(o, role) && o->role) &&
	       !(RB_OPT_HAS(o, consumer_mode) && o->consumer_mode);
}

struct ringbuf_manager *ringbuf_manager_new(const struct ringbuf_opts *opts)
{
	struct ringbuf_manager *m;

	if (!rb_manager_opts_ok(opts)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->intr_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->epfd < 0 || m->intr_fd < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->intr_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = RB_INTR_EVENT })) {
		int e = errno;

		if (m->epfd >= 0)
			close(m->epfd);
		if (m->intr_fd >= 0)
			close(m->intr_fd);
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

static int rb_manager_grow(struct ringbuf_manager *m)
{
	size_t cap = m->cap ? m->cap * 2 : 4;
	struct rb_managed *r;
	struct epoll_event *ev;

	r = realloc(m->rings, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	m->rings = r;
	ev = realloc(m->events, (cap + 1) * sizeof(*ev)); /* + the interrupt */
	if (!ev)
		return -ENOMEM;
	m->events = ev;
	m->cap = cap;
	return 0;
}

int ringbuf_manager_add(struct ringbuf_manager *m, struct ringbuf *rb, ringbuf_sample_fn fn,
			void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, err;

	if (!m || !rb || !fn)
		return rb_manager_err(EINVAL);
	for (size_t i = 0; i < m->n; i++)
		if (m->rings[i].rb == rb)
			return rb_manager_err(EEXIST);
	if (m->n == m->cap && (err = rb_manager_grow(m)))
		return rb_manager_err(-err);
	fd = ringbuf_epoll_fd(rb);
	if (fd < 0)
		return fd; /* errno set */
	if (m->n >= RB_INTR_EVENT)
		return rb_manager_err(ENOSPC);
	ev.data.u32 = (uint32_t)m->n;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev))
		return rb_manager_err(errno);
	m->rings[m->n++] = (struct rb_managed){ .rb = rb, .fn = fn, .ctx = ctx, .fd = fd };
	return 0;
}

int ringbuf_manager_remove(struct ringbuf_manager *m, struct ringbuf *rb)
{
	size_t i;
	int fd;

	if (!m || !rb)
		return rb_manager_err(EINVAL);
	for (i = 0; i < m->n && m->rings[i].rb != rb; i++)
		;
	if (i == m->n)
		return rb_manager_err(ENOENT);
	/* A poll in progress holds the indices epoll reported: only the last
	 * ring may go from under it (an index past the end is skipped). */
	if (m->in_call && i != m->n - 1)
		return rb_manager_err(EBUSY);
	fd = m->rings[i].fd;
	(void)epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL); /* gone with its fd if closed */
	/* The rings after it move down one, in order (consume's order is the
	 * order of adding); each registration carries its index: renumber. */
	for (size_t j = i + 1; j < m->n; j++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)(j - 1) };

		m->rings[j - 1] = m->rings[j];
		(void)epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->rings[j - 1].fd, &ev);
	}
	m->n--;
	return 0;
}

/* Add @r records to the running total, saturating at INT_MAX. */
static int rb_total(int total, int r)
{
	return r > INT_MAX - total ? INT_MAX : total + r;
}

int ringbuf_manager_poll(struct ringbuf_manager *m, int timeout_ms)
{
	int cnt, total = 0;

	if (!m)
		return rb_manager_err(EINVAL);
	if (!m->n)
		return 0;
	cnt = epoll_wait(m->epfd, m->events, (int)(m->n >= INT_MAX ? INT_MAX : m->n + 1),
			 timeout_ms);
	if (cnt < 0)
		return rb_manager_err(errno);
	for (int i = 0; i < cnt; i++) {
		if (m->events[i].data.u32 == RB_INTR_EVENT) {
			uint64_t v;

			if (read(m->intr_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
				return rb_manager_err(ECANCELED); /* the rings' records wait */
		}
	}
	m->in_call++;
	for (int i = 0; i < cnt; i++) {
		uint32_t idx = m->events[i].data.u32;
		struct rb_managed *r;
		int got;

		if (idx >= m->n)
			continue;
		r = &m->rings[idx];
		got = ringbuf_consume(r->rb, r->fn, r->ctx);
		if (got < 0) {
			m->in_call--;
			return got; /* errno set */
		}
		total = rb_total(total, got);
	}
	m->in_call--;
	return total;
}

int ringbuf_manager_consume_n(struct ringbuf_manager *m, size_t n)
{
	int total = 0;

	if (!m)
		return rb_manager_err(EINVAL);
	m->in_call++;
	for (size_t i = 0; i < m->n && n > 0; i++) {
		struct rb_managed *r = &m->rings[i];
		int got = ringbuf_consume_n(r->rb, r->fn, r->ctx, n);

		if (got < 0) {
			m->in_call--;
			return got;
		}
		n -= (size_t)got;
		total = rb_total(total, got);
	}
	m->in_call--;
	return total;
}

int ringbuf_manager_consume(struct ringbuf_manager *m)
{
	return ringbuf_manager_consume_n(m, SIZE_MAX);
}

int ringbuf_manager_epoll_fd(const struct ringbuf_manager *m)
{
	if (!m)
		return rb_manager_err(EINVAL);
	return m->epfd;
}

int ringbuf_manager_interrupt(struct ringbuf_manager *m)
{
	uint64_t one = 1;

	if (!m)
		return rb_manager_err(EINVAL);
	if (write(m->intr_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return rb_manager_err(errno); /* EAGAIN: full, so readable anyway */
	return 0;
}

void ringbuf_manager_free(struct ringbuf_manager *m)
{
	if (!m)
		return;
	close(m->epfd);
	close(m->intr_fd);
	free(m->rings);
	free(m->events);
	free(m);
}
