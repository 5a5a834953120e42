/* SPDX-License-Identifier: MIT */
/*
 * barrier.h -- kernel-named memory-ordering helpers on C11 atomics.
 *
 * Every shared-memory field is a plain fixed-width integer in the layout
 * (include/ringbuf.h); these helpers access it as an _Atomic object of the
 * same size, as liburing's barrier.h does.  Each use site names the
 * operation it pairs with: the labels R1..R8, A1..A8 and W1 of the essay at
 * the top of src/ring.c, F1..F6 of src/notify.c's and src/ring.c's.
 */
#ifndef RINGBUF_BARRIER_H
#define RINGBUF_BARRIER_H

#include <stdatomic.h>

#define RB_ATOMIC(p) ((_Atomic __typeof__(*(p)) *)(p))

/* Shared memory is shared between processes: an atomic that the compiler
 * implements with a lock (in this process only) would not be atomic there.
 * Every width the layout uses must be lock-free, 64 bits on i386 too. */
_Static_assert(__atomic_always_lock_free(4, 0) && __atomic_always_lock_free(8, 0),
	       "shared-memory atomics must be lock-free");

#define READ_ONCE(x)  atomic_load_explicit(RB_ATOMIC(&(x)), memory_order_relaxed)
#define WRITE_ONCE(x, v) atomic_store_explicit(RB_ATOMIC(&(x)), (v), memory_order_relaxed)

#define smp_load_acquire(p)     atomic_load_explicit(RB_ATOMIC(p), memory_order_acquire)
#define smp_store_release(p, v) atomic_store_explicit(RB_ATOMIC(p), (v), memory_order_release)

/* Full barrier: orders earlier loads and stores against later ones (the
 * store-load order that release/acquire does not give).  The tsan build
 * passes -Wno-tsan for gcc, which notes that TSan does not model fences. */
#define smp_mb() atomic_thread_fence(memory_order_seq_cst)

/* Store-store and load-load order, as in a seqlock: smp_wmb() between a
 * writer's stores, smp_rmb() between a reader's loads. */
#define smp_wmb() atomic_thread_fence(memory_order_release)
#define smp_rmb() atomic_thread_fence(memory_order_acquire)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
