/* SPDX-License-Identifier: MIT */
/*
 * set.h -- what the two files of ring sets share: the set itself.
 * src/set.c builds sets and runs their producers; src/set_consume.c is
 * their consumer and the sets over kernel maps of ring buffers.
 */
#ifndef RINGBUF_SET_H
#define RINGBUF_SET_H

#include "internal.h"

#define RB_SET_MAX   1024U /* members */
#define RB_SET_CACHE 4     /* sets a thread finds without a search */

struct rb_set_thr {
	uint32_t tid;
	uint32_t ring;           /* the ring this thread writes into */
	uint64_t end;            /* while a move waits: a position past its last
				  * record in that ring; 0 otherwise */
	struct rb_set_thr *next; /* immutable once pushed */
};

/* A record the ordered consumer took from a ring and holds (a lease of
 * the pull reader: not committed, so it stays in the ring). */
struct rb_set_head {
	bool have;
	uint64_t ts;
	void *data;
	size_t size;
};

struct ringbuf_set {
	unsigned n;
	unsigned base, groups;         /* placement: min(n, CPUs), n / base */
	uint64_t serial;               /* tells a reused address from this set */
	struct ringbuf **ring;
	struct rb_set_head *head;      /* ringbuf_set_consume_ordered(): each
					* ring's record taken and held, lazily */
	struct rb_set_thr *threads;    /* pushed by CAS, freed with the set */
	int epfd;                      /* the consumer's epoll instance over the
					* members' epoll fds; -1 until needed */
	unsigned next;                 /* the ring ringbuf_set_consume() starts at */
	bool in_call;                  /* inside consume/poll: re-entry refused */
	/* a map of kernel ring buffers (ringbuf_set_map_open()); else -1 */
	int outer_fd;
	uint32_t key_size;
	uint32_t *ids;                 /* each member's map id */
	uint64_t next_refresh;         /* when to reread the outer map (ns) */
	struct ringbuf_opts opts;      /* what the members are opened with */
};

/* A set of @n rings (none attached yet), or NULL with errno ENOMEM. */
RB_INTERNAL struct ringbuf_set *rb_set_alloc(unsigned n);

#endif
