/* SPDX-License-Identifier: MIT */
/*
 * ringview.h -- a test's own look at a ring's shared memory, independent of
 * the library: the size a record takes, a mapping of the ring's file
 * (meta, consumer and producer pages, data) with the protections a test
 * asks for, and where the library's own data mapping is.
 */
#ifndef RINGBUF_TEST_RINGVIEW_H
#define RINGBUF_TEST_RINGVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"

/* Ring bytes a record of @size payload bytes takes: header, 8-aligned. */
static inline uint64_t rv_rec_size(uint64_t size)
{
	return (size + RINGBUF_HDR_SZ + 7) & ~7ULL;
}

/* The mapped parts of a ring's file; a part not asked for is NULL. */
struct ringview {
	size_t page;
	uint64_t size;                 /* of the data area */
	struct ringbuf_shm_meta *meta; /* meta page */
	uint64_t *cons;                /* &consumer_pos */
	uint64_t *prod, *pend;         /* &producer_pos, &pending_pos */
	const unsigned char *data;     /* data area, mapped once (read-only) */
};

#define RV_UNMAPPED (-1) /* a protection: do not map that part */

static inline void *rv_mmap_part(int fd, size_t len, int prot, size_t off)
{
	void *p;

	if (prot == RV_UNMAPPED)
		return NULL;
	p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);
	CHECK(p != MAP_FAILED);
	return p;
}

/* Map @rb's file: the meta page with @meta_prot, the consumer page with
 * @cons_prot, the producer page with @prod_prot (each RV_UNMAPPED to leave
 * it out) and the data area read-only. */
static inline void rv_map(struct ringview *v, struct ringbuf *rb, int meta_prot, int cons_prot,
			  int prod_prot)
{
	int fd = ringbuf_fd(rb);
	void *c, *p;

	CHECK(fd >= 0);
	v->page = (size_t)sysconf(_SC_PAGESIZE);
	v->size = ringbuf_query(rb, RINGBUF_RING_SIZE);
	v->meta = rv_mmap_part(fd, v->page, meta_prot, 0);
	c = rv_mmap_part(fd, v->page, cons_prot, RINGBUF_SHM_CONSUMER_PAGE * v->page);
	p = rv_mmap_part(fd, v->page, prod_prot, RINGBUF_SHM_PRODUCER_PAGE * v->page);
	v->data = rv_mmap_part(fd, v->size, PROT_READ, RINGBUF_SHM_DATA_PAGE * v->page);
	v->cons = c ? &((struct ringbuf_shm_consumer *)c)->consumer_pos : NULL;
	v->prod = p ? &((struct ringbuf_shm_producer *)p)->producer_pos : NULL;
	v->pend = p ? &((struct ringbuf_shm_producer *)p)->pending_pos : NULL;
}

static inline void rv_unmap(struct ringview *v)
{
	if (v->meta)
		munmap(v->meta, v->page);
	if (v->cons)
		munmap(v->cons, v->page);
	if (v->prod)
		munmap(v->prod, v->page);
	munmap((void *)v->data, v->size);
}

static inline uint64_t rv_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void rv_store(uint64_t *p, uint64_t x)
{
	__atomic_store_n(p, x, __ATOMIC_RELEASE);
}

/* The header of the record at @pos (a copy). */
static inline struct ringbuf_hdr rv_hdr(const struct ringview *v, uint64_t pos)
{
	struct ringbuf_hdr h;

	memcpy(&h, v->data + (pos & (v->size - 1)), sizeof(h));
	return h;
}

/* The payload of the record at @pos, as mapped (no wrap-around). */
static inline const unsigned char *rv_payload(const struct ringview *v, uint64_t pos)
{
	return v->data + (pos & (v->size - 1)) + RINGBUF_HDR_SZ;
}

/* The library's data mapping in this process (and in children forked
 * after), found from a reservation at a known position, which is then
 * discarded; NULL if the reservation fails. */
static inline uint8_t *rv_lib_data(struct ringbuf *rb, uint64_t ds)
{
	uint64_t pos = ringbuf_query(rb, RINGBUF_PROD_POS);
	uint8_t *p = ringbuf_reserve(rb, 0, 0);
	uint8_t *lib;

	if (!p)
		return NULL;
	lib = p - RINGBUF_HDR_SZ - (pos & (ds - 1));
	ringbuf_discard(p, 0);
	return lib;
}

/* Is [ptr, ptr + size) inside the library's data mapping @lib_data (both
 * copies of a data area of @ds bytes), with its header in the first copy
 * at an aligned offset? */
static inline bool rv_in_ring(const uint8_t *lib_data, uint64_t ds, const void *ptr, uint64_t size)
{
	uintptr_t p = (uintptr_t)ptr, lo = (uintptr_t)lib_data;
	uint64_t off;

	if (p < lo + RINGBUF_HDR_SZ)
		return false;
	off = p - RINGBUF_HDR_SZ - lo;
	return off < ds && off % 8 == 0 && size <= ds - RINGBUF_HDR_SZ &&
	       off + RINGBUF_HDR_SZ + size <= 2 * ds;
}

#endif
