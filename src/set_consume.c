/* SPDX-License-Identifier: MIT */
/*
 * set_consume.c -- the consumer of a ring set (src/set.c): every ring in
 * turn, one epoll instance over all of them, the merge by timestamp; and
 * sets over a kernel map of ring buffers (ARRAY_OF_MAPS / HASH_OF_MAPS),
 * whose members follow the outer map's inner maps.
 */
#include "set.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Maps of kernel ring buffers
 * ------------------------------------------------------------------------ */

#define RB_SET_REFRESH_NS 100000000ull /* reread the outer map at most this often */

/* Watch @rb in the set's epoll instance (once there is one). */
static int rb_set_watch_one(struct ringbuf_set *s, struct ringbuf *rb)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = rb };
	int fd;

	if (s->epfd < 0)
		return 0;
	fd = ringbuf_epoll_fd(rb);
	if (fd < 0)
		return fd;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Reread the outer map: open the inner maps that came, drop those that
 * went (a replaced map is a new id: the old handle goes, the new one
 * comes), keep the others with their positions. */
static int rb_set_refresh_map(struct ringbuf_set *s)
{
	size_t cap = s->n + 16;
	uint32_t *ids = NULL;
	struct ringbuf **ring;
	struct rb_set_head *head;
	unsigned n = 0;
	int got, err = 0;

	for (;;) {
		uint32_t *b = realloc(ids, cap * sizeof(*ids));

		if (!b) {
			free(ids);
			return -ENOMEM;
		}
		ids = b;
		got = rb_outer_ids(s->outer_fd, s->key_size, ids, cap);
		if (got < 0 || (size_t)got <= cap)
			break;
		cap = (size_t)got + 16;
	}
	s->next_refresh = rb_now_ns() + RB_SET_REFRESH_NS;
	if (got < 0 || (got > (int)RB_SET_MAX)) {
		free(ids);
		return got < 0 ? got : -E2BIG;
	}
	if ((unsigned)got == s->n && (!got || !memcmp(ids, s->ids, (size_t)got * sizeof(*ids)))) {
		free(ids);
		return 0;
	}
	ring = calloc((size_t)got + 1, sizeof(*ring));
	head = calloc((size_t)got + 1, sizeof(*head));
	if (!ring || !head) {
		free(ring);
		free(head);
		free(ids);
		return -ENOMEM;
	}
	for (int i = 0; i < got; i++) {
		struct ringbuf *rb = NULL;

		for (unsigned k = 0; k < s->n && !rb; k++)
			if (s->ring[k] && s->ids[k] == ids[i]) {
				rb = s->ring[k];
				s->ring[k] = NULL; /* kept, with the record it holds */
				if (s->head)
					head[n] = s->head[k];
			}
		if (!rb) {
			rb = ringbuf_map_open_id(ids[i], &s->opts);
			if (!rb) {
				if (errno == ENOENT)
					continue; /* removed meanwhile */
				err = -errno;
				continue;
			}
			if (!err)
				err = rb_set_watch_one(s, rb);
		}
		ids[n] = ids[i];
		ring[n++] = rb;
	}
	for (unsigned k = 0; k < s->n; k++) {
		if (!s->ring[k])
			continue;
		if (s->epfd >= 0)
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, ringbuf_epoll_fd(s->ring[k]), NULL);
		ringbuf_free(s->ring[k]);
	}
	free(s->ring);
	free(s->ids);
	free(s->head);
	s->ring = ring;
	s->head = head;
	s->ids = ids;
	s->n = n;
	s->next = 0;
	return err;
}

static int rb_set_refresh_due(struct ringbuf_set *s)
{
	if (s->outer_fd < 0 || rb_now_ns() < s->next_refresh)
		return 0;
	return rb_set_refresh_map(s);
}

int ringbuf_set_refresh(struct ringbuf_set *s)
{
	int err;

	if (!s)
		return (int)rb_err(EINVAL);
	if (s->in_call)
		return (int)rb_err(EBUSY);
	if (s->outer_fd < 0)
		return (int)s->n;
	err = rb_set_refresh_map(s);
	return err ? (int)rb_err(-err) : (int)s->n;
}

static struct ringbuf_set *rb_set_map_attach(int fd, const struct ringbuf_opts *opts)
{
	struct ringbuf_set *s;
	uint32_t key_size = 0;
	int err;

	if (fd < 0)
		return NULL;
	if (opts && !rb_opts_valid(opts)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	err = rb_outer_check(fd, &key_size);
	s = err ? NULL : rb_set_alloc(0);
	if (!s) {
		close(fd);
		errno = err ? -err : ENOMEM;
		return NULL;
	}
	s->outer_fd = fd;
	s->key_size = key_size;
	s->opts.sz = sizeof(s->opts);
	if (opts)
		memcpy(&s->opts, opts, opts->sz < sizeof(s->opts) ? opts->sz : sizeof(s->opts));
	s->opts.sz = sizeof(s->opts);
	err = rb_set_refresh_map(s);
	if (err) {
		ringbuf_set_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

struct ringbuf_set *ringbuf_set_map_open(int map_fd, const struct ringbuf_opts *opts)
{
	if (map_fd < 0) {
		errno = EBADF;
		return NULL;
	}
	return rb_set_map_attach(fcntl(map_fd, F_DUPFD_CLOEXEC, 0), opts);
}

struct ringbuf_set *ringbuf_set_map_open_pinned(const char *path, const struct ringbuf_opts *opts)
{
	return rb_set_map_attach(rb_bpf_fd_pinned(path), opts);
}

struct ringbuf_set *ringbuf_set_map_open_id(uint32_t map_id, const struct ringbuf_opts *opts)
{
	return rb_set_map_attach(rb_bpf_fd_id(map_id), opts);
}

/* ------------------------------------------------------------------------
 * The consumer
 * ------------------------------------------------------------------------ */

static int rb_set_consume_all(struct ringbuf_set *s, ringbuf_sample_fn fn, void *ctx)
{
	unsigned start;
	long total = 0;
	int err = rb_set_refresh_due(s);

	if (err)
		return err;
	if (!s->n)
		return 0;
	if (s->head) /* a plain consume delivers what the ordered one held */
		memset(s->head, 0, s->n * sizeof(*s->head));
	start = s->next % s->n;
	s->next = (start + 1) % s->n;
	for (unsigned k = 0; k < s->n; k++) {
		int r = ringbuf_consume(s->ring[(start + k) % s->n], fn, ctx);

		if (r < 0)
			return r;
		total += r;
	}
	return total > INT_MAX ? INT_MAX : (int)total;
}

int ringbuf_set_consume(struct ringbuf_set *s, ringbuf_sample_fn fn, void *ctx)
{
	int r;

	if (!s || !fn)
		return (int)rb_err(EINVAL);
	if (s->in_call)
		return (int)rb_err(EBUSY);
	s->in_call = true;
	r = rb_set_consume_all(s, fn, ctx);
	s->in_call = false;
	return r < 0 ? (int)rb_err(-r) : r;
}

/* The set's epoll instance over every member, made once (members that
 * come later are added as they come). */
static int rb_set_watch(struct ringbuf_set *s)
{
	int err;

	if (s->epfd >= 0)
		return 0;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	for (unsigned i = 0; i < s->n; i++) {
		err = rb_set_watch_one(s, s->ring[i]);
		if (err) {
			close(s->epfd);
			s->epfd = -1;
			return err;
		}
	}
	return 0;
}

int ringbuf_set_poll(struct ringbuf_set *s, ringbuf_sample_fn fn, void *ctx, int timeout_ms)
{
	uint64_t deadline;
	int r;

	if (!s || !fn)
		return (int)rb_err(EINVAL);
	if (s->in_call)
		return (int)rb_err(EBUSY);
	r = rb_set_watch(s);
	if (r)
		return (int)rb_err(-r);
	s->in_call = true;
	deadline = timeout_ms > 0 ? rb_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
	for (;;) {
		struct epoll_event ev[8];
		int wait = timeout_ms, n;

		r = rb_set_consume_all(s, fn, ctx);
		if (r != 0 || timeout_ms == 0)
			break;
		if (timeout_ms > 0) {
			uint64_t now = rb_now_ns();

			if (now >= deadline)
				break;
			wait = (int)((deadline - now + 999999) / 1000000);
		}
		/* a map of kernel rings: wake to look for new inner maps */
		if (s->outer_fd >= 0 && (wait < 0 || wait > (int)(RB_SET_REFRESH_NS / 1000000)))
			wait = (int)(RB_SET_REFRESH_NS / 1000000);
		n = epoll_wait(s->epfd, ev, 8, wait);
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n > 0) {
			r = rb_set_consume_all(s, fn, ctx);
			break; /* woken: what it brought, even nothing */
		}
	}
	s->in_call = false;
	return r < 0 ? (int)rb_err(-r) : r;
}

/*
 * The ordered consumer: a merge by timestamp over the rings' heads.  Each
 * ring's next record is taken with the pull reader and held (uncommitted)
 * until it is the oldest of all heads and either every ring has a head --
 * nothing older can come from a ring whose records are in order -- or it
 * is lag_ns old (a ring that stays empty cannot hold the others back for
 * longer).  Delivered, it is committed alone.
 */
static uint64_t rb_set_ts(const void *data, size_t size, uint32_t off)
{
	uint64_t ts = 0;

	if ((size_t)off + sizeof(ts) <= size)
		memcpy(&ts, (const unsigned char *)data + off, sizeof(ts));
	return ts; /* too short to carry one: the oldest possible */
}

int ringbuf_set_consume_ordered(struct ringbuf_set *s, uint32_t ts_offset, uint64_t lag_ns,
				ringbuf_sample_fn fn, void *ctx)
{
	uint64_t now;
	long total = 0;
	int err;

	if (!s || !fn)
		return (int)rb_err(EINVAL);
	if (s->in_call)
		return (int)rb_err(EBUSY);
	err = rb_set_refresh_due(s);
	if (err)
		return (int)rb_err(-err);
	if (!s->head && s->n && !(s->head = calloc(s->n, sizeof(*s->head))))
		return (int)rb_err(ENOMEM);
	now = rb_now_ns(); /* CLOCK_MONOTONIC, as the lag is documented */
	s->in_call = true;
	for (;;) {
		unsigned best = s->n;
		bool all = true;
		int r;

		for (unsigned i = 0; i < s->n; i++) {
			struct rb_set_head *h = &s->head[i];

			if (!h->have) {
				struct ringbuf_record rec;

				r = ringbuf_next(s->ring[i], &rec);
				if (r < 0) {
					err = r;
					goto out;
				}
				if (r > 0)
					*h = (struct rb_set_head){ true, rb_set_ts(rec.data, rec.size, ts_offset),
								   rec.data, rec.size };
			}
			if (!h->have)
				all = false;
			else if (best == s->n || h->ts < s->head[best].ts)
				best = i;
		}
		/* its age; a timestamp in the future is young */
		if (best == s->n ||
		    (!all && (int64_t)(now - s->head[best].ts) <
				     (int64_t)(lag_ns > INT64_MAX ? INT64_MAX : lag_ns)))
			break; /* nothing, or not yet safe to deliver */
		s->head[best].have = false;
		r = fn(ctx, s->head[best].data, s->head[best].size);
		err = ringbuf_commit(s->ring[best]);
		total++;
		if (r < 0 || err < 0) {
			err = r < 0 ? r : err;
			break;
		}
	}
out:
	s->in_call = false;
	if (err < 0)
		return (int)rb_err(-err);
	return total > INT_MAX ? INT_MAX : (int)total;
}

int ringbuf_set_epoll_fd(struct ringbuf_set *s)
{
	int r;

	if (!s)
		return (int)rb_err(EINVAL);
	r = rb_set_watch(s);
	if (r)
		return (int)rb_err(-r);
	return s->epfd;
}

int ringbuf_manager_add_set(struct ringbuf_manager *m, struct ringbuf_set *s,
			    ringbuf_sample_fn fn, void *ctx)
{
	if (!m || !s || !fn)
		return (int)rb_err(EINVAL);
	if (s->outer_fd >= 0)
		return (int)rb_err(EOPNOTSUPP); /* members follow the outer map */
	for (unsigned i = 0; i < s->n; i++) {
		int r = ringbuf_manager_add(m, s->ring[i], fn, ctx);

		if (r < 0) { /* all or nothing */
			while (i--)
				(void)ringbuf_manager_remove(m, s->ring[i]);
			return (int)rb_err(-r);
		}
	}
	return 0;
}
