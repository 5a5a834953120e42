/* SPDX-License-Identifier: MIT */
/*
 * kernel.c -- the kernel side of ringbuf_bench: the BPF object
 * (bench/bpf/bench.bpf.c, a SEC("syscall") program run by
 * BPF_PROG_TEST_RUN that writes records with bpf_ringbuf_output), its
 * RINGBUF map, and the two persistent consumers on it -- ringbuf's
 * (ringbuf_map_open) and libbpf's (ring_buffer__new).  Rows that need it
 * are skipped, with the reason, where BPF is not permitted.
 *
 * Rows here: the BPF producer alone (k-alone) and each consumer alone on a
 * full ring (k-*-drain).  The streaming kernel rows run in streams.c, the
 * latency rows in latency.c, through kb_run() and the ch_*() calls.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"

static struct {
	bool ok;
	char why[200];
	struct bpf_object *obj;
	int prog_fd, map_fd;
	struct ringbuf *rh;       /* ringbuf's consumer handle on the map */
	struct ring_buffer *lb;   /* libbpf's */
	ringbuf_sample_fn lb_fn;  /* what lb's callback forwards to */
	void *lb_ctx;
} kb;

static int lb_forward(void *ctx, void *data, size_t size)
{
	(void)ctx;
	return kb.lb_fn(kb.lb_ctx, data, size);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (getenv("BENCH_LIBBPF_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* One BPF_PROG_TEST_RUN of "produce"; the kernel copies the ctx back. */
void kb_run(struct kb_ctx *c)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = c, .ctx_size_in = sizeof(*c));
	int err = bpf_prog_test_run_opts(kb.prog_fd, &o);

	if (err || o.retval)
		die("BPF_PROG_TEST_RUN: %d (%s), retval %d", err, strerror(err < 0 ? -err : errno),
		    (int)o.retval);
}

/* Fill the kernel ring with NO_WAKEUP records until output fails; returns
 * the records placed (sequence continues from *seq). */
uint64_t kb_fill(uint32_t id, uint32_t size, uint64_t *seq)
{
	struct kb_ctx c = { .id = id, .size = size, .n = KB_BATCH, .flags = RINGBUF_NO_WAKEUP };
	uint64_t n = 0;

	for (;;) {
		c.seq = *seq;
		kb_run(&c);
		*seq += c.done;
		n += c.done;
		if (c.fails)
			return n;
	}
}

/* Consumer calls on either kind of consumer handle. */
void ch_bind(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	if (h->type == CO_LIBBPF) {
		kb.lb_fn = fn;
		kb.lb_ctx = ctx;
	}
}

int ch_consume(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	if (h->type == CO_LIBBPF)
		return ring_buffer__consume(kb.lb);
	if (h->type == CO_PULL) {
		/* the pull reader: take everything, then commit once */
		struct ringbuf_record rec;
		int n = 0, r;

		while ((r = ringbuf_next(h->rb, &rec)) > 0) {
			fn(ctx, rec.data, rec.size);
			n++;
		}
		if (r < 0)
			return r;
		r = ringbuf_commit(h->rb);
		return r < 0 ? r : n;
	}
	return ringbuf_consume(h->rb, fn, ctx);
}

int ch_poll(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx, int ms)
{
	int n;

	if (h->type != CO_LIBBPF)
		return ringbuf_poll(h->rb, fn, ctx, ms);
	do
		n = ring_buffer__poll(kb.lb, ms);
	while (n == -EINTR);
	return n;
}

uint64_t ch_drain(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	uint64_t total = 0;
	int n;

	while ((n = ch_consume(h, fn, ctx)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		die("consume: %s", strerror(-n));
	return total;
}

void kernel_setup(void)
{
	char path[PATH_MAX], exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct bpf_map *map;
	struct bpf_program *prog;
	uint64_t seq = 0, n = 0;
	struct cons_h h;
	struct verifier v = { .size = 8, .row = "kernel warm-up" };
	int fd, err;

	libbpf_set_print(quiet_print);
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);
	if (fd < 0) {
		snprintf(kb.why, sizeof(kb.why), "BPF not permitted (creating a ringbuf map: %s)",
			 strerror(errno));
		return;
	}
	close(fd);
	if (len <= 0) {
		snprintf(kb.why, sizeof(kb.why), "cannot read /proc/self/exe");
		return;
	}
	exe[len] = '\0';
	if (strrchr(exe, '/'))
		*strrchr(exe, '/') = '\0';
	if (snprintf(path, sizeof(path), "%s/bpf/bench.bpf.o", exe) >= (int)sizeof(path) ||
	    access(path, R_OK)) {
		snprintf(kb.why, sizeof(kb.why), "no BPF object bpf/bench.bpf.o next to the binary");
		return;
	}
	kb.obj = bpf_object__open_file(path, NULL);
	if (!kb.obj) {
		snprintf(kb.why, sizeof(kb.why), "opening bench.bpf.o: %s", strerror(errno));
		return;
	}
	map = bpf_object__find_map_by_name(kb.obj, "rb");
	prog = bpf_object__find_program_by_name(kb.obj, "produce");
	if (!map || !prog || bpf_map__set_max_entries(map, KERNEL_RING)) {
		snprintf(kb.why, sizeof(kb.why), "bench.bpf.o lacks map rb or program produce");
		return;
	}
	err = bpf_object__load(kb.obj);
	if (err) {
		snprintf(kb.why, sizeof(kb.why), "loading the BPF program: %s%s", strerror(-err),
			 err == -EPERM ? " (not permitted)" : err == -EACCES ? " (verifier)" : "");
		return;
	}
	kb.prog_fd = bpf_program__fd(prog);
	kb.map_fd = bpf_map__fd(map);
	kb.rh = ringbuf_map_open(kb.map_fd, NULL);
	if (!kb.rh) {
		snprintf(kb.why, sizeof(kb.why), "ringbuf_map_open: %s", strerror(errno));
		return;
	}
	kb.lb = ring_buffer__new(kb.map_fd, lb_forward, NULL, NULL);
	if (!kb.lb) {
		snprintf(kb.why, sizeof(kb.why), "ring_buffer__new: %s", strerror(errno));
		return;
	}
	/* warm-up: every page of the ring through both consumers' mappings */
	for (int round = 0; round < 2; round++) {
		h.type = round ? CO_LIBBPF : CO_RB;
		h.rb = kb.rh;
		ch_bind(&h, verify_cb, &v);
		n += kb_fill(0, 8, &seq);
		ch_drain(&h, verify_cb, &v);
	}
	if (v.received != n)
		die("kernel warm-up: produced %" PRIu64 ", consumed %" PRIu64, n, v.received);
	kb.ok = true;
}

bool kernel_ok(void)
{
	return kb.ok;
}

const char *kernel_why(void)
{
	return kb.why;
}

struct ringbuf *kernel_handle(void)
{
	return kb.rh;
}

/* The BPF producer alone: timed fills of the kernel ring (500 records per
 * BPF_PROG_TEST_RUN, the syscall included), untimed drains. */
static void *kalone_main(void *p)
{
	struct row_arg *a = p;
	struct verifier v = { .size = 8, .row = a->row->name };
	struct cons_h h = { CO_RB, kb.rh };
	uint64_t seq = 0, ns = 0, cpu = 0, recs = 0, t0;

	pin_self(cfg.cpus[0]);
	do {
		uint64_t c0 = thread_cpu_ns();

		t0 = now_ns();
		recs += kb_fill(0, 8, &seq);
		ns += now_ns() - t0;
		cpu += thread_cpu_ns() - c0;
		ch_drain(&h, verify_cb, &v);
	} while (ns < a->dur_ns);
	if (v.received != seq)
		die("%s: produced %" PRIu64 ", consumed %" PRIu64, a->row->name, seq, v.received);
	a->out.records = recs;
	a->out.value = (double)ns / (double)recs;
	a->out.prod_cpu = (double)cpu / (double)recs;
	a->out.bytes_s = 8e9 / a->out.value;
	return NULL;
}

/* A consumer alone: fill the kernel ring from the producer CPU (untimed),
 * then drain it from the consumer CPU, timed. */
struct kfill_arg {
	uint64_t seq, n;
};

static void *kfill_main(void *p)
{
	struct kfill_arg *f = p;

	pin_self(cfg.cpus[0]);
	f->n = kb_fill(0, 8, &f->seq);
	return NULL;
}

static void *kdrain_main(void *p)
{
	struct row_arg *a = p;
	struct verifier v = { .size = 8, .row = a->row->name };
	struct cons_h h = { a->row->cons, kb.rh };
	struct kfill_arg f = { 0, 0 };
	uint64_t ns = 0, cpu = 0, recs = 0, t_begin = now_ns(), produced = 0;

	pin_self(cfg.cpus[1]);
	ch_bind(&h, verify_cb, &v);
	do {
		pthread_t t;
		uint64_t c0, t0, got;

		if (pthread_create(&t, NULL, kfill_main, &f))
			die("pthread_create");
		pthread_join(t, NULL);
		produced += f.n;
		c0 = thread_cpu_ns();
		t0 = now_ns();
		got = ch_drain(&h, verify_cb, &v);
		ns += now_ns() - t0;
		cpu += thread_cpu_ns() - c0;
		recs += got;
	} while (now_ns() - t_begin < a->dur_ns);
	if (v.received != produced)
		die("%s: produced %" PRIu64 ", consumed %" PRIu64, a->row->name, produced,
		    v.received);
	a->out.records = recs;
	a->out.value = (double)ns / (double)recs;
	a->out.cons_cpu = (double)cpu / (double)recs;
	a->out.bytes_s = 8e9 / a->out.value;
	return NULL;
}

void run_kalone(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	run_in_thread(kalone_main, row, dur_ns, out);
}

void run_kdrain(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	run_in_thread(kdrain_main, row, dur_ns, out);
}
