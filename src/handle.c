/* SPDX-License-Identifier: MIT */
/*
 * handle.c -- a struct ringbuf's life: the options it is made with, its
 * allocation and release (ringbuf_free()), the consumer claim, and what it
 * reports about its ring (ringbuf_fd(), ringbuf_query(), ringbuf_stats()),
 * and the library's version.
 * Attaching -- to a ring file (src/files.c) or a kernel map (src/kmap.c)
 * -- fills one in.
 *
 * The consumer claim.  The consumer page's consumer_owner holds the pid of
 * the process whose RINGBUF_ROLE_CONSUMER handle consumes; a second live
 * consumer is refused instead of being allowed to corrupt the stream, and
 * the claim of a process that has exited (pidfd) is taken over.
 */
#include "internal.h"
#include "barrier.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Options and allocation
 * ------------------------------------------------------------------------ */

/* libbpf's OPTS_VALID: sz covers at least the first field, bytes past the
 * struct this library knows are zero, and each known field present is
 * valid. */
bool rb_opts_check(const struct ringbuf_opts *opts, uint64_t flags_allowed)
{
	if (!opts)
		return true;
	if (opts->sz < sizeof(opts->sz))
		return false;
	for (size_t i = sizeof(*opts); i < opts->sz; i++)
		if (((const unsigned char *)opts)[i])
			return false;
	if (opts->sz >= offsetof(struct ringbuf_opts, flags) + sizeof(opts->flags) &&
	    (opts->flags & ~flags_allowed))
		return false;
	if (opts->sz >= offsetof(struct ringbuf_opts, mode) + sizeof(opts->mode) &&
	    (opts->mode & ~07777u))
		return false;
	if (opts->sz >= offsetof(struct ringbuf_opts, role) + sizeof(opts->role) &&
	    opts->role > (RINGBUF_ROLE_PRODUCER | RINGBUF_ROLE_CONSUMER) &&
	    opts->role != RINGBUF_ROLE_OBSERVER)
		return false;
	/* consumer_mode: a mode, and only for a split ring being created */
	if (opts->sz >= offsetof(struct ringbuf_opts, consumer_mode) + sizeof(opts->consumer_mode) &&
	    opts->consumer_mode &&
	    ((opts->consumer_mode & ~07777u) || !(opts->flags & RINGBUF_F_SPLIT)))
		return false;
	return true;
}

uint32_t rb_page_shift(void)
{
	return (uint32_t)__builtin_ctzl((unsigned long)sysconf(_SC_PAGESIZE));
}

bool rb_size_valid(uint64_t size, uint32_t page_shift)
{
	return size >= (1ull << page_shift) && size <= RINGBUF_MAX_DATA_SIZE &&
	       (size & (size - 1)) == 0;
}

struct ringbuf *rb_alloc(enum rb_kind kind, uint64_t size, uint32_t page_shift)
{
	/* aligned for sp_to's own lines (sizeof is a multiple of 128) */
	struct ringbuf *rb = aligned_alloc(_Alignof(struct ringbuf), sizeof(*rb));

	if (!rb)
		return NULL;
	memset(rb, 0, sizeof(*rb));
	rb->kind = kind;
	rb->fd = -1;
	rb->cons_fd = -1;
	rb->epoll_fd = -1;
	rb->intr_fd = -1;
	rb->wake_rx = -1;
	rb->wake_tx = -1;
	rb->faults = &rb_no_faults;
	rb->page_shift = page_shift;
	rb->size = size;
	rb->mask = size - 1;
	return rb;
}

/* ------------------------------------------------------------------------
 * Release
 * ------------------------------------------------------------------------ */

/* Undo the mappings and close the fds of a handle not (or no longer) in
 * the table of mappings (src/proc.c). */
void rb_release(struct ringbuf *rb)
{
	rb_wake_close(rb); /* while the fd and the meta page are still there */
	for (int i = 0; i < 2; i++)
		if (rb->map[i])
			munmap(rb->map[i], rb->map_len[i]);
	if (rb->epoll_fd >= 0)
		close(rb->epoll_fd);
	if (rb->intr_fd >= 0)
		close(rb->intr_fd);
	if (rb->fd >= 0)
		close(rb->fd);
	if (rb->cons_fd >= 0)
		close(rb->cons_fd);
	free(rb->ow_buf);
	free(rb);
}

void ringbuf_free(struct ringbuf *rb)
{
	if (!rb)
		return;
	if (rb->in_call) {
		errno = EBUSY; /* from a callback of this handle: refused */
		return;
	}
	/* The wakeup socket first: once the claim is released, the next
	 * consumer may arm and bind its own, and we must not disarm it. */
	rb_wake_close(rb);
	if (rb->kind == RB_USER)
		rb_release_claim(rb);
	if (rb->sp_tid) { /* a single producer's claim, if this process's (R4) */
		uint32_t me = rb_self();

		atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->meta->lock_owner), &me, 0,
							memory_order_release, memory_order_relaxed);
	}
	RB_FI(RB_FI_FREE);
	rb_unregister(rb);
	rb_release(rb);
}

/* ------------------------------------------------------------------------
 * The consumer claim
 * ------------------------------------------------------------------------ */

/* Claim the consumer role for this process.  0, or -EBUSY while another
 * live process (or another handle of this one) holds it. */
int rb_claim_consumer(struct ringbuf *rb)
{
	uint32_t me = rb_self(), owner;

	for (;;) {
		owner = smp_load_acquire(&rb->cons->consumer_owner);
		if (owner == me || (owner && rb_process_alive(owner)))
			return -EBUSY;
		if (atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->cons->consumer_owner),
							    &owner, me, memory_order_acq_rel,
							    memory_order_acquire)) {
			rb->claimed = true;
			return 0;
		}
	}
}

int rb_consumer_gate(struct ringbuf *rb)
{
	uint32_t owner;

	if (rb->role && !(rb->role & RINGBUF_ROLE_CONSUMER))
		return -EOPNOTSUPP; /* a producer or an observer */
	if (rb_broken(rb))
		return -EBADMSG; /* its file shrank under us: see src/proc.c */
	owner = READ_ONCE(rb->cons->consumer_owner);
	if (owner == 0 || (rb->claimed && owner == rb_self()))
		return 0;
	if (rb_process_alive(owner))
		return -EBUSY; /* includes a fork()ed child of the claimant */
	/* The claimant has exited: a consumer handle takes the claim over,
	 * another handle clears it. */
	if (rb->role == RINGBUF_ROLE_CONSUMER)
		return rb_claim_consumer(rb);
	atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->cons->consumer_owner), &owner, 0,
						memory_order_acq_rel, memory_order_relaxed);
	return 0;
}

void rb_release_claim(struct ringbuf *rb)
{
	uint32_t me = rb_self();

	if (rb->claimed)
		atomic_compare_exchange_strong_explicit(RB_ATOMIC(&rb->cons->consumer_owner), &me, 0,
							memory_order_release, memory_order_relaxed);
	rb->claimed = false;
}

/* ------------------------------------------------------------------------
 * What a handle reports
 * ------------------------------------------------------------------------ */

int ringbuf_fd(const struct ringbuf *rb)
{
	if (!rb)
		return (int)rb_err(EINVAL);
	return rb->fd;
}

/* The kernel's ringbuf_avail_data_sz(): in overwrite mode, producer_pos
 * - max(consumer_pos, overwrite_pos), the max taken as the kernel does, by
 * the smaller distance to producer_pos. */
static uint64_t rb_avail_data(struct ringbuf *rb)
{
	uint64_t cons = smp_load_acquire(&rb->cons->consumer_pos), over, prod;

	if (!rb->overwrite)
		return smp_load_acquire(&rb->prod->producer_pos) - cons;
	over = smp_load_acquire(&rb->prod->overwrite_pos); /* A6 */
	prod = smp_load_acquire(&rb->prod->producer_pos);
	return prod - cons < prod - over ? prod - cons : prod - over;
}

uint64_t ringbuf_query(struct ringbuf *rb, uint64_t what)
{
	if (!rb)
		return 0;
	switch (what) {
	case RINGBUF_AVAIL_DATA:
		return rb_avail_data(rb);
	case RINGBUF_RING_SIZE:
		return rb->size;
	case RINGBUF_CONS_POS:
		return smp_load_acquire(&rb->cons->consumer_pos);
	case RINGBUF_PROD_POS:
		return smp_load_acquire(&rb->prod->producer_pos);
	case RINGBUF_OVERWRITE_POS:
		/* A6: pairs with R6 in rb_overwrite_advance(). */
		return smp_load_acquire(&rb->prod->overwrite_pos);
	case RINGBUF_RING_ID:
		return rb->meta ? READ_ONCE(rb->meta->ring_id) : rb->map_id;
	case RINGBUF_SET_ID:
		return rb->meta ? READ_ONCE(rb->meta->set_id) : 0;
	case RINGBUF_SET_COUNT:
		return rb->meta ? READ_ONCE(rb->meta->set_n) : 0;
	case RINGBUF_SET_INDEX:
		return rb->meta ? READ_ONCE(rb->meta->set_idx) : 0;
	default:
		return 0;
	}
}

int ringbuf_stats(struct ringbuf *rb, struct ringbuf_stats *out)
{
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct ringbuf_shm_meta *m;

	if (!rb || !out || out->sz < sizeof(out->sz))
		return (int)rb_err(EINVAL);
	m = rb->meta;
	if (m) {
		st.reserved = READ_ONCE(m->reserved);
		st.reserved_bytes = READ_ONCE(m->reserved_bytes);
		st.discarded = READ_ONCE(m->discarded);
		st.refused_full = READ_ONCE(m->refused_full);
		st.refused_too_big = READ_ONCE(m->refused_too_big);
		st.refused_flags = READ_ONCE(m->refused_flags);
		st.wakeups = READ_ONCE(m->wakeups);
		st.lock_steals = READ_ONCE(m->lock_steals);
		st.consumer_pid = READ_ONCE(rb->cons->consumer_owner);
		st.overwritten = READ_ONCE(rb->prod->ow_passed);
		st.lost = READ_ONCE(rb->cons->ow_lost);
		st.recovered = READ_ONCE(rb->cons->recovered) + READ_ONCE(m->recovered);
		st.refused_nested = READ_ONCE(m->refused_nested);
	} else {
		st.refused_nested = READ_ONCE(rb->nested);
		st.lock_steals = READ_ONCE(rb->steals);
	}
	st.flags = (rb->overwrite ? RINGBUF_F_OVERWRITE : 0) | (rb->cons_fd >= 0 ? RINGBUF_F_SPLIT : 0) |
		   (rb->single ? RINGBUF_F_SINGLE_PRODUCER : 0);
	st.ring_size = rb->size;
	st.truncated = __atomic_load_n(rb->faults, __ATOMIC_RELAXED);
	st.overwrite_pos = smp_load_acquire(&rb->prod->overwrite_pos);
	st.consumer_pos = smp_load_acquire(&rb->cons->consumer_pos);
	st.producer_pos = smp_load_acquire(&rb->prod->producer_pos);
	st.avail_data = rb_avail_data(rb);
	/* Copy only what the caller's struct holds; keep its sz. */
	memcpy((char *)out + sizeof(out->sz), (char *)&st + sizeof(st.sz),
	       (out->sz < sizeof(st) ? out->sz : sizeof(st)) - sizeof(st.sz));
	return 0;
}

/* ------------------------------------------------------------------------
 * Version: the header's, as this library was built with it
 * ------------------------------------------------------------------------ */

uint32_t ringbuf_version(void)
{
	return RINGBUF_VERSION;
}

const char *ringbuf_version_string(void)
{
	return RINGBUF_VERSION_STRING;
}
