/* SPDX-License-Identifier: MIT */
/*
 * streams.c -- ringbuf's producer alone, and the streaming rows: 1 to 8
 * producer threads and one consumer in its form (blocking ringbuf_poll,
 * napping, spinning, its own epoll_wait on ringbuf_epoll_fd), on a ringbuf
 * ring or on the kernel map (BPF producers via BPF_PROG_TEST_RUN, consumed
 * by libbpf or by ringbuf's kernel-map consumer).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------------------
 * producer alone: fill the ring until -EAGAIN, timed; drain untimed
 * ------------------------------------------------------------------------ */

/* One timed fill; returns records placed, adds its duration to *ns. */
static uint64_t fill_once(struct ringbuf *rb, bool reserve, uint64_t *seq, uint64_t *ns)
{
	uint64_t s = *seq, t0 = now_ns();
	long err;

	if (reserve) {
		uint64_t *p;

		while ((p = ringbuf_reserve(rb, 8, 0)) != NULL) {
			*p = s++;
			ringbuf_submit(p, RINGBUF_NO_WAKEUP);
		}
		err = -errno;
	} else {
		uint64_t w = s;

		while ((err = ringbuf_output(rb, &w, 8, RINGBUF_NO_WAKEUP)) == 0)
			w = ++s;
	}
	*ns += now_ns() - t0;
	if (err != -EAGAIN)
		die("producer-alone: fill ended with %ld (%s), expected -EAGAIN", err,
		    strerror((int)-err));
	err = (long)(s - *seq);
	*seq = s;
	return (uint64_t)err;
}

static void *alone_main(void *p)
{
	struct row_arg *a = p;
	struct ringbuf *rb;
	struct verifier v = { .size = 8, .row = a->row->name };
	uint64_t seq = 0, ns = 0, recs = 0, warm = 0;

	pin_self(a->cpu);
	rb = new_ring(a->row->ring, row_ring_flags(a->row));
	prefault(rb);
	fill_once(rb, a->row->reserve, &seq, &warm); /* warm-up, not counted */
	drain(rb, verify_cb, &v);
	do {
		recs += fill_once(rb, a->row->reserve, &seq, &ns);
		drain(rb, verify_cb, &v);
	} while (ns < a->dur_ns);
	if (v.received != seq)
		die("%s: produced %" PRIu64 ", consumed %" PRIu64, a->row->name, seq, v.received);
	ringbuf_free(rb);
	a->out.records = recs;
	a->out.value = (double)ns / (double)recs;
	a->out.prod_cpu = a->out.value;
	a->out.bytes_s = 8e9 / a->out.value;
	return NULL;
}

/* With two producers (a "-2t" row): each on its own CPU and its own ring,
 * at the same time, no consumer running -- what two CPUs can produce when
 * nothing is shared.  The figure is the mean of the two threads' ns per
 * record. */
void run_alone(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct row_arg a[2];
	pthread_t t[2];
	int n = row->nprod > 1 && cfg.ncpus > 1 ? 2 : 1;

	if (n == 1) {
		run_in_thread(alone_main, row, dur_ns, out);
		return;
	}
	for (int i = 0; i < n; i++) {
		a[i] = (struct row_arg){ .row = row, .dur_ns = dur_ns, .cpu = cfg.allowed[i] };
		if (pthread_create(&t[i], NULL, alone_main, &a[i]))
			die("pthread_create");
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	*out = a[0].out;
	out->records += a[1].out.records;
	out->value = (a[0].out.value + a[1].out.value) / 2;
	out->prod_cpu = out->value;
	out->bytes_s = a[0].out.bytes_s + a[1].out.bytes_s;
}

/* ------------------------------------------------------------------------
 * producers + consumer (ringbuf ring or kernel map)
 * ------------------------------------------------------------------------ */

struct run;

struct prod_arg {
	_Alignas(128) struct run *run;
	int id;
	int cpu;
	uint64_t sent, drops, cpu_ns, t_start;
};

struct run {
	const struct rowdef *row;
	struct ringbuf *rb;
	struct ringbuf_set *set; /* a ring set's rows: the producers' and the consumer's */
	struct cons_h ch;
	int epfd;        /* C_EPOLL: the consumer's own epoll instance */
	uint64_t dur_ns;
	pthread_barrier_t start;
	/* written by producers once, at their end */
	_Alignas(128) atomic_uint done;
	atomic_uint_fast64_t total_sent;
	/* consumer results */
	_Alignas(128) uint64_t t_end, cons_cpu_ns, received, timeouts, vcsw;
	struct prod_arg prod[MAX_PRODUCERS];
};

static void *producer_main(void *p)
{
	struct prod_arg *a = p;
	struct run *r = a->run;
	struct ringbuf *rb = r->rb;
	struct ringbuf_set *set = r->set;
	const size_t size = r->row->size;
	const bool reserve = r->row->reserve;
	const uint64_t flags = r->row->flags, tag = (uint64_t)a->id << ID_SHIFT;
	uint64_t buf[MAX_REC / 8 + 1];
	uint64_t seq = 0, drops = 0, deadline, cpu0;

	memset(buf, 0x5a, sizeof(buf));
	pin_self(a->cpu);
	pthread_barrier_wait(&r->start);
	cpu0 = thread_cpu_ns();
	a->t_start = now_ns();
	deadline = a->t_start + r->dur_ns;
	for (;; seq++) {
		long err;

		if ((seq & 255) == 0 && now_ns() >= deadline)
			break;
		fill_record(buf, size, tag | seq);
		if (reserve) {
			void *s;

			if ((s = ringbuf_reserve(rb, size, 0)) == NULL) {
				unsigned tries = 0;

				drops++;
				while ((s = ringbuf_reserve(rb, size, 0)) == NULL) {
					if (errno != EAGAIN)
						die("%s: ringbuf_reserve: %s", r->row->name,
						    strerror(errno));
					full_wait(&tries);
				}
			}
			memcpy(s, buf, size);
			ringbuf_submit(s, flags);
			continue;
		}
		if (set) {
			if ((err = ringbuf_set_output(set, buf, size, flags)) == -EAGAIN) {
				unsigned tries = 0;

				drops++;
				do
					full_wait(&tries);
				while ((err = ringbuf_set_output(set, buf, size, flags)) == -EAGAIN);
			}
		} else if ((err = ringbuf_output(rb, buf, size, flags)) == -EAGAIN) {
			unsigned tries = 0;

			drops++;
			do
				full_wait(&tries);
			while ((err = ringbuf_output(rb, buf, size, flags)) == -EAGAIN);
		}
		if (err)
			die("%s: ringbuf_output: %s", r->row->name, strerror((int)-err));
	}
	a->cpu_ns = thread_cpu_ns() - cpu0;
	a->sent = seq;
	a->drops = drops;
	atomic_fetch_add(&r->total_sent, seq);
	atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
	return NULL;
}

/* A BPF producer: BPF_PROG_TEST_RUN of 500 records at a time. */
static void *kproducer_main(void *p)
{
	struct prod_arg *a = p;
	struct run *r = a->run;
	struct kb_ctx c = { .id = (uint32_t)a->id, .size = (uint32_t)r->row->size,
			    .n = KB_BATCH, .flags = (uint32_t)r->row->flags };
	uint64_t seq = 0, drops = 0, deadline, cpu0, failed_at = UINT64_MAX;
	unsigned tries = 0;

	pin_self(a->cpu);
	pthread_barrier_wait(&r->start);
	cpu0 = thread_cpu_ns();
	a->t_start = now_ns();
	deadline = a->t_start + r->dur_ns;
	while (now_ns() < deadline) {
		c.seq = seq;
		kb_run(&c);
		seq += c.done;
		if (c.fails) { /* record seq found the ring full: count it once */
			if (seq != failed_at)
				tries = 0;
			drops += seq != failed_at;
			failed_at = seq;
			full_wait(&tries);
		}
	}
	a->cpu_ns = thread_cpu_ns() - cpu0;
	a->sent = seq;
	a->drops = drops;
	atomic_fetch_add(&r->total_sent, seq);
	atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
	return NULL;
}

static bool producers_done(struct run *r)
{
	return atomic_load_explicit(&r->done, memory_order_acquire) == (unsigned)r->row->nprod;
}

/* The application's own event loop: epoll_wait() on ringbuf_epoll_fd(),
 * then ringbuf_consume() (which re-arms the fd). */
static int epoll_wait_consume(struct run *r, struct verifier *v)
{
	struct epoll_event ev;
	int n;

	do
		n = epoll_wait(r->epfd, &ev, 1, POLL_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("epoll_wait: %s", strerror(errno));
	return ringbuf_consume(r->rb, verify_cb, v);
}

static void *consumer_main(void *p)
{
	struct run *r = p;
	const struct cons_h *h = &r->ch;
	struct verifier v = { .size = r->row->size, .row = r->row->name };
	uint64_t timeouts = 0;
	struct tstat t0, t1;
	int n;

	pin_self(cfg.cpus[1]);
	ch_bind(h, verify_cb, &v);
	pthread_barrier_wait(&r->start);
	t0 = thread_stat();
	for (;;) {
		if (producers_done(r)) {
			/* every record is committed: finish without waiting */
			if (r->set)
				while (ringbuf_set_consume(r->set, verify_cb, &v) > 0)
					;
			else
				ch_drain(h, verify_cb, &v);
			if (v.received != atomic_load(&r->total_sent))
				die("%s: producers sent %" PRIu64 ", consumer got %" PRIu64,
				    r->row->name, (uint64_t)atomic_load(&r->total_sent),
				    v.received);
			break;
		}
		if (r->row->mode == C_POLL) {
			n = ch_poll(h, verify_cb, &v, POLL_MS);
			if (n == 0)
				timeouts++;
		} else if (r->row->mode == C_EPOLL) {
			n = epoll_wait_consume(r, &v);
			if (n == 0)
				timeouts++;
		} else if (r->set) {
			n = ringbuf_set_consume(r->set, verify_cb, &v);
		} else {
			n = ch_consume(h, verify_cb, &v);
		}
		if (n < 0)
			die("%s: consume: %s", r->row->name, strerror(-n));
		if (r->row->mode == C_NAP && !producers_done(r))
			nap_ns(TUNED_NAP_NS);
	}
	r->t_end = now_ns();
	t1 = thread_stat();
	r->cons_cpu_ns = t1.cpu_ns - t0.cpu_ns;
	r->vcsw = t1.vcsw - t0.vcsw;
	r->received = v.received;
	r->timeouts = timeouts;
	return NULL;
}

void run_stream(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct run *r = aligned_alloc(128, sizeof(*r));
	pthread_t cons, prod[MAX_PRODUCERS];
	uint64_t t0 = UINT64_MAX, prod_cpu = 0;

	if (!r)
		die("out of memory");
	memset(r, 0, sizeof(*r));
	r->row = row;
	r->dur_ns = dur_ns;
	if (row->kernel) {
		r->ch.type = row->cons;
		r->ch.rb = kernel_handle();
	} else if (row_set_rings(row)) {
		r->set = ringbuf_set_new(row_set_rings(row), row->ring, NULL);
		if (!r->set)
			die("ringbuf_set_new: %s", strerror(errno));
		for (unsigned i = 0; i < ringbuf_set_count(r->set); i++)
			prefault(ringbuf_set_ring(r->set, i));
		r->rb = ringbuf_set_ring(r->set, 0); /* for ch_bind only */
		r->ch.type = CO_USER;
		r->ch.rb = r->rb;
	} else {
		r->rb = new_ring(row->ring, row_ring_flags(row));
		prefault(r->rb);
		r->ch.type = CO_USER;
		r->ch.rb = r->rb;
		if (ringbuf_set_watermark(r->rb, row_watermark(row)))
			die("ringbuf_set_watermark: %s", strerror(errno));
	}
	r->epfd = -1;
	if (row->mode == C_EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = ringbuf_epoll_fd(r->rb);

		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0 || r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
			die("ringbuf_epoll_fd/epoll: %s", strerror(errno));
	}
	atomic_init(&r->done, 0);
	atomic_init(&r->total_sent, 0);
	pthread_barrier_init(&r->start, NULL, (unsigned)row->nprod + 1);
	for (int i = 0; i < row->nprod; i++) {
		r->prod[i].run = r;
		r->prod[i].id = i;
		r->prod[i].cpu = row->nprod == 1 ? cfg.cpus[0] : cfg.allowed[i % cfg.ncpus];
		if (pthread_create(&prod[i], NULL, row->kernel ? kproducer_main : producer_main,
				   &r->prod[i]))
			die("pthread_create");
	}
	if (pthread_create(&cons, NULL, consumer_main, r))
		die("pthread_create");
	for (int i = 0; i < row->nprod; i++)
		pthread_join(prod[i], NULL);
	pthread_join(cons, NULL);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < row->nprod; i++) {
		if (r->prod[i].t_start < t0)
			t0 = r->prod[i].t_start;
		prod_cpu += r->prod[i].cpu_ns;
		out->drops += r->prod[i].drops;
	}
	out->records = r->received;
	out->value = (double)r->received / ((double)(r->t_end - t0) / 1e9) / 1e6;
	out->bytes_s = out->value * 1e6 * (double)row->size;
	out->prod_cpu = (double)prod_cpu / (double)r->received;
	out->cons_cpu = (double)r->cons_cpu_ns / (double)r->received;
	out->wakes = (double)r->vcsw / (double)r->received;
	out->timeouts = r->timeouts;
	pthread_barrier_destroy(&r->start);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->set)
		ringbuf_set_free(r->set);
	else
		ringbuf_free(r->rb);
	free(r);
}
