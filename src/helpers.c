/* SPDX-License-Identifier: MIT */
/*
 * helpers.c -- the table behind include/ringbuf_bpf.h: which ring a BPF-C
 * map object stands for when BPF code is compiled natively.
 *
 * BPF C names a ring buffer by the address of its map definition
 * (bpf_ringbuf_output(&my_ringbuf, ...)).  Natively that address is an
 * ordinary object, bound here to a struct ringbuf.  Lookups are lock-free
 * (helpers run on hot paths in tests); binding takes a mutex.
 */
#include "internal.h"
#include "barrier.h"
#include "ringbuf_bpf.h"

#include <pthread.h>

#define RB_BPF_MAPS 64

struct rb_bpf_binding {
	const void *map;
	struct ringbuf *rb;
};

static struct rb_bpf_binding rb_bpf_maps[RB_BPF_MAPS];
static pthread_mutex_t rb_bpf_lock = PTHREAD_MUTEX_INITIALIZER;

int ringbuf_bpf_map_bind(const void *map, struct ringbuf *rb)
{
	int err = -ENOSPC;

	if (!map)
		return (int)rb_err(EINVAL);
	pthread_mutex_lock(&rb_bpf_lock);
	for (int i = 0; i < RB_BPF_MAPS; i++) {
		if (READ_ONCE(rb_bpf_maps[i].map) == map) {
			smp_store_release(&rb_bpf_maps[i].rb, rb);
			err = 0;
			goto out;
		}
	}
	for (int i = 0; rb && i < RB_BPF_MAPS; i++) {
		if (!READ_ONCE(rb_bpf_maps[i].map)) {
			WRITE_ONCE(rb_bpf_maps[i].rb, rb);
			/* Publish the ring before the key that finds it. */
			smp_store_release(&rb_bpf_maps[i].map, map);
			err = 0;
			goto out;
		}
	}
	if (!rb)
		err = 0; /* unbinding what was never bound */
out:
	pthread_mutex_unlock(&rb_bpf_lock);
	return err ? (int)rb_err(-err) : 0;
}

struct ringbuf *ringbuf_bpf_map(const void *map)
{
	for (int i = 0; map && i < RB_BPF_MAPS; i++)
		if (smp_load_acquire(&rb_bpf_maps[i].map) == map)
			return smp_load_acquire(&rb_bpf_maps[i].rb);
	return NULL;
}
