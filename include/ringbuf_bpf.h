/* SPDX-License-Identifier: MIT */
/*
 * ringbuf_bpf.h -- the BPF ring buffer helpers with the kernel's own
 * signatures and return codes, for BPF C code compiled natively.
 *
 * Not a second API: inline wrappers over ringbuf.h, so that the same source
 * that calls bpf_ringbuf_output(&my_ringbuf, &data, sizeof(data), 0) can be
 * compiled with clang -target bpf for the kernel and with any C compiler
 * for user space, e.g. to test a BPF program's logic on the host:
 *
 *     #ifdef __bpf__
 *     #include <bpf/bpf_helpers.h>
 *     #else
 *     #include <ringbuf_bpf.h>
 *     #endif
 *
 *     struct {
 *             __uint(type, BPF_MAP_TYPE_RINGBUF);
 *             __uint(max_entries, 4096);
 *     } my_ringbuf SEC(".maps");
 *
 * Natively, the host binds each map object to a ring before the BPF code
 * runs:  struct ringbuf *rb = ringbuf_bpf_map_new(&my_ringbuf,
 *                                    RINGBUF_BPF_MAX_ENTRIES(my_ringbuf));
 *
 * Return codes are the kernel's, not ringbuf's: bpf_ringbuf_output() gives
 * -EINVAL for bad flags and -EAGAIN for every reservation failure;
 * bpf_ringbuf_reserve() gives NULL for nonzero flags and every failure.
 */
#ifndef RINGBUF_BPF_H
#define RINGBUF_BPF_H

#include <errno.h>
#include <linux/bpf.h> /* BPF_MAP_TYPE_*, BPF_RB_* as the BPF side sees them */
#include <linux/types.h>

#include "ringbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* libbpf's map-definition macros, as plain C. */
#ifndef SEC
#define SEC(name)
#endif
#ifndef __uint
#define __uint(name, val) int (*name)[val]
#endif
#ifndef __type
#define __type(name, val) __typeof__(val) *name
#endif

/* The max_entries a map definition declares with __uint(max_entries, N). */
#define RINGBUF_BPF_MAX_ENTRIES(map) (sizeof(*(map).max_entries) / sizeof(int))

/*
 * ringbuf_bpf_map_bind - make the BPF-C map object at @map stand for @rb
 * (NULL unbinds).  Returns 0, or -EINVAL (NULL @map), -ENOSPC (64 maps
 * bound already).  Thread-safe; the binding does not own @rb.
 * ringbuf_bpf_map - the ring bound to @map, or NULL.  Lock-free.
 */
RINGBUF_API int ringbuf_bpf_map_bind(const void *map, struct ringbuf *rb);
RINGBUF_API struct ringbuf *ringbuf_bpf_map(const void *map);

/* Create a ring of @max_entries bytes and bind it to @map; NULL + errno as
 * ringbuf_new() or ringbuf_bpf_map_bind(). */
static inline struct ringbuf *ringbuf_bpf_map_new(const void *map, size_t max_entries)
{
	struct ringbuf *rb = ringbuf_new(max_entries, NULL);

	if (rb && ringbuf_bpf_map_bind(map, rb)) {
		int err = errno;

		ringbuf_free(rb);
		errno = err;
		return NULL;
	}
	return rb;
}

/* bpf_ringbuf_output (helper 130) */
static inline long bpf_ringbuf_output(void *ringbuf, void *data, __u64 size, __u64 flags)
{
	long r;

	if (flags & ~(__u64)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))
		return -EINVAL;
	r = ringbuf_output(ringbuf_bpf_map(ringbuf), data, size, flags);
	return r == 0 ? 0 : -EAGAIN;
}

/* bpf_ringbuf_reserve (helper 131) */
static inline void *bpf_ringbuf_reserve(void *ringbuf, __u64 size, __u64 flags)
{
	if (flags)
		return (void *)0;
	return ringbuf_reserve(ringbuf_bpf_map(ringbuf), size, 0);
}

/* bpf_ringbuf_submit (helper 132), bpf_ringbuf_discard (helper 133) */
static inline void bpf_ringbuf_submit(void *data, __u64 flags)
{
	ringbuf_submit(data, flags);
}

static inline void bpf_ringbuf_discard(void *data, __u64 flags)
{
	ringbuf_discard(data, flags);
}

/* bpf_ringbuf_query (helper 134) */
static inline __u64 bpf_ringbuf_query(void *ringbuf, __u64 flags)
{
	return ringbuf_query(ringbuf_bpf_map(ringbuf), flags);
}

#ifdef __cplusplus
}
#endif

#endif /* RINGBUF_BPF_H */
