/* SPDX-License-Identifier: MIT */
/*
 * bpf_maps.c -- the table behind include/ringbuf_bpf.h: which ring a BPF-C
 * map object stands for when BPF code is compiled natively.
 *
 * BPF C names a ring buffer by the address of its map definition
 * (bpf_ringbuf_output(&my_ringbuf, ...)).  Natively that address is an
 * ordinary object, bound here to a struct ringbuf.  Lookups are lock-free
 * (helpers run on hot paths in tests); binding takes a mutex.
 */
#include "ringbuf_bpf.h" /* and through it ringbuf.h: the public API only */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define RB_BPF_MAPS 64

struct rb_bpf_binding {
	const void *_Atomic map;
	struct ringbuf *_Atomic rb;
};

static struct rb_bpf_binding rb_bpf_maps[RB_BPF_MAPS];
static pthread_mutex_t rb_bpf_lock = PTHREAD_MUTEX_INITIALIZER;

/* An error as the API returns it: -@e, with errno set. */
static int rb_bpf_err(int e)
{
	errno = e;
	return -e;
}

int ringbuf_bpf_map_bind(const void *map, struct ringbuf *rb)
{
	int err = -ENOSPC;

	if (!map)
		return rb_bpf_err(EINVAL);
	pthread_mutex_lock(&rb_bpf_lock);
	for (int i = 0; i < RB_BPF_MAPS; i++) {
		if (atomic_load_explicit(&rb_bpf_maps[i].map, memory_order_relaxed) == map) {
			atomic_store_explicit(&rb_bpf_maps[i].rb, rb, memory_order_release);
			err = 0;
			goto out;
		}
	}
	for (int i = 0; rb && i < RB_BPF_MAPS; i++) {
		if (!atomic_load_explicit(&rb_bpf_maps[i].map, memory_order_relaxed)) {
			atomic_store_explicit(&rb_bpf_maps[i].rb, rb, memory_order_relaxed);
			/* Publish the ring before the key that finds it. */
			atomic_store_explicit(&rb_bpf_maps[i].map, map, memory_order_release);
			err = 0;
			goto out;
		}
	}
	if (!rb)
		err = 0; /* unbinding what was never bound */
out:
	pthread_mutex_unlock(&rb_bpf_lock);
	return err ? rb_bpf_err(-err) : 0;
}

struct ringbuf *ringbuf_bpf_map(const void *map)
{
	for (int i = 0; map && i < RB_BPF_MAPS; i++)
		if (atomic_load_explicit(&rb_bpf_maps[i].map, memory_order_acquire) == map)
			return atomic_load_explicit(&rb_bpf_maps[i].rb, memory_order_acquire);
	return NULL;
}
