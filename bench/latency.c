/* SPDX-License-Identifier: MIT */
/*
 * latency.c -- wakeup latency: the producer stamps CLOCK_MONOTONIC,
 * commits, and waits 1 ms (the consumer is asleep again by then); the
 * consumer's callback (or the return of its wait) takes now - stamp.
 *
 * Rows: ringbuf (ringbuf_output -> ringbuf_poll(-1)), a raw futex and a raw
 * eventfd for reference, and the kernel ring consumed by ringbuf and by
 * libbpf.  The samples of every repetition are pooled (lat_pool) for the
 * percentiles of the latency table.
 */
#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

int lat_pool_n[MAX_ROWS];
double *lat_pool[MAX_ROWS];

struct lat_run {
	const struct rowdef *row;
	int n;
	double *us;           /* n samples, microseconds */
	struct ringbuf *rb;   /* S_LAT_RB */
	struct cons_h ch;     /* S_LAT_RB, S_LAT_K* */
	int efd;
	_Alignas(64) atomic_uint_fast64_t stamp;
	_Alignas(64) _Atomic uint32_t word;
	_Alignas(64) atomic_int got;
	uint64_t ccpu, vcsw;
};

static int lat_cb(void *ctx, void *data, size_t size)
{
	struct lat_run *r = ctx;
	uint64_t t = now_ns(), stamp;
	int i = atomic_load_explicit(&r->got, memory_order_relaxed);

	if (size != 8)
		die("%s: record of %zu bytes", r->row->name, size);
	memcpy(&stamp, data, 8);
	if (i < r->n)
		r->us[i] = (double)(t - stamp) / 1e3;
	atomic_store_explicit(&r->got, i + 1, memory_order_release);
	return 0;
}

static long sys_futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *lat_consumer(void *p)
{
	struct lat_run *r = p;
	uint32_t seen = 0;
	struct tstat t0, t1;

	pin_self(cfg.cpus[1]);
	ch_bind(&r->ch, lat_cb, r);
	t0 = thread_stat();
	while (atomic_load(&r->got) < r->n) {
		switch (r->row->sub) {
		case S_LAT_FUTEX: {
			uint32_t w;

			while ((w = atomic_load_explicit(&r->word, memory_order_acquire)) == seen)
				sys_futex(&r->word, FUTEX_WAIT_PRIVATE, seen);
			seen = w;
			lat_cb(r, &(uint64_t){ atomic_load(&r->stamp) }, 8);
			break;
		}
		case S_LAT_EVENTFD: {
			uint64_t x;

			if (read(r->efd, &x, 8) != 8) {
				if (errno == EINTR)
					continue;
				die("eventfd read: %s", strerror(errno));
			}
			lat_cb(r, &(uint64_t){ atomic_load(&r->stamp) }, 8);
			break;
		}
		default: {
			int n = ch_poll(&r->ch, lat_cb, r, -1);

			if (n < 0)
				die("%s: poll: %s", r->row->name, strerror(-n));
			break;
		}
		}
	}
	t1 = thread_stat();
	r->ccpu = t1.cpu_ns - t0.cpu_ns;
	r->vcsw = t1.vcsw - t0.vcsw;
	return NULL;
}

static void *lat_producer(void *p)
{
	struct lat_run *r = p;
	struct kb_ctx c = { .size = 8, .n = 1, .stamp = 1 };

	pin_self(cfg.cpus[0]);
	for (int i = 0; i < r->n; i++) {
		uint64_t t;

		nap_ns(LAT_GAP_NS);
		switch (r->row->sub) {
		case S_LAT_RB:
			t = now_ns();
			if (ringbuf_output(r->rb, &t, 8, 0))
				die("%s: ringbuf_output", r->row->name);
			break;
		case S_LAT_FUTEX:
			atomic_store(&r->stamp, now_ns());
			atomic_fetch_add_explicit(&r->word, 1, memory_order_release);
			sys_futex(&r->word, FUTEX_WAKE_PRIVATE, 1);
			break;
		case S_LAT_EVENTFD: {
			uint64_t one = 1;

			atomic_store(&r->stamp, now_ns());
			if (write(r->efd, &one, 8) != 8)
				die("eventfd write: %s", strerror(errno));
			break;
		}
		default:
			kb_run(&c);
			if (c.done != 1)
				die("%s: BPF output failed", r->row->name);
			break;
		}
		/* the next sample starts only once this one is in */
		while (atomic_load_explicit(&r->got, memory_order_acquire) <= i)
			nap_ns(20000);
	}
	return NULL;
}

void run_lat(int ri, int n, struct sample *out)
{
	const struct rowdef *row = &rows[ri];
	struct lat_run *r = aligned_alloc(64, sizeof(*r));
	pthread_t tp, tc;

	if (!r)
		die("out of memory");
	memset(r, 0, sizeof(*r));
	r->row = row;
	r->n = n;
	r->us = calloc((size_t)n, sizeof(double));
	r->efd = -1;
	atomic_init(&r->got, 0);
	atomic_init(&r->word, 0);
	atomic_init(&r->stamp, 0);
	if (!r->us)
		die("out of memory");
	if (row->sub == S_LAT_RB) {
		r->rb = new_ring(row->ring, row_ring_flags(row));
		prefault(r->rb);
		r->ch.type = CO_USER;
		r->ch.rb = r->rb;
	} else if (row->sub == S_LAT_EVENTFD) {
		r->efd = eventfd(0, EFD_CLOEXEC);
		if (r->efd < 0)
			die("eventfd: %s", strerror(errno));
	} else if (row->kernel) {
		r->ch.type = row->cons;
		r->ch.rb = kernel_handle();
	}
	if (pthread_create(&tc, NULL, lat_consumer, r))
		die("pthread_create");
	nap_ns(2 * 1000000L);
	if (pthread_create(&tp, NULL, lat_producer, r))
		die("pthread_create");
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);

	lat_pool[ri] = realloc(lat_pool[ri], (size_t)(lat_pool_n[ri] + n) * sizeof(double));
	if (!lat_pool[ri])
		die("out of memory");
	memcpy(lat_pool[ri] + lat_pool_n[ri], r->us, (size_t)n * sizeof(double));
	lat_pool_n[ri] += n;
	qsort(r->us, (size_t)n, sizeof(double), cmp_double);
	memset(out, 0, sizeof(*out));
	out->records = (uint64_t)n;
	out->value = pct(r->us, n, 0.5);
	out->cons_cpu = (double)r->ccpu / n;
	out->wakes = (double)r->vcsw / n;
	if (r->efd >= 0)
		close(r->efd);
	ringbuf_free(r->rb);
	free(r->us);
	free(r);
}

double lat_p50(const char *name)
{
	int ri = row_index(name);

	if (row_skipped(ri) || !lat_pool_n[ri])
		return NAN;
	qsort(lat_pool[ri], (size_t)lat_pool_n[ri], sizeof(double), cmp_double);
	return pct(lat_pool[ri], lat_pool_n[ri], 0.5);
}

