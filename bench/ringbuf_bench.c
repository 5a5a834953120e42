/* SPDX-License-Identifier: MIT */
/*
 * ringbuf_bench -- throughput of the ring against the figures in
 * docs ANCHORS.md (kernel BPF ringbuf, plain user-space port).
 *
 *   ringbuf_bench [--quick] [--reps N] [--seconds S] [--json FILE]
 *
 * Every row is measured --reps times, interleaved (the whole list of rows
 * once per repetition), and reported as median and min..max.  Producers
 * run pinned to the first allowed CPU, the consumer to the second (the
 * cross-core case is the one that matters on the development machine).
 *
 * Records carry (producer id << 56 | sequence) in their first 8 bytes and
 * the complement of that word in their last 8 (records of 16 bytes or
 * more); the consumer checks size, order and the tail of every record.  A
 * producer that finds the ring full spins and retries, so nothing is ever
 * dropped: any gap seen by the consumer is an ERROR (exit 1).
 *
 * This is a benchmark, not a test: it uses only include/ringbuf.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ringbuf.h"

#define KIB (1024UL)
#define MIB (1024UL * 1024UL)

#define MAX_REPS      50
#define MAX_PRODUCERS 8
#define MAX_REC       4096
#define ID_SHIFT      56
#define SEQ_MASK      ((UINT64_C(1) << ID_SHIFT) - 1)

#define ALONE_RING   (64 * MIB)
#define TUNED_RING   (16 * MIB)
#define TUNED_NAP_NS (5 * 1000000L)
#define POLL_MS      100
#define MEMCPY_BUF   (64 * MIB)
#define MEMCPY_CHUNK (4 * KIB)

/* Reference figures from ANCHORS.md: NOT measured by this program. */
#define REF_KERNEL_DEFAULT_MS 2.9  /* 0.9 / 2.9 / 5.9 M rec/s */
#define REF_KERNEL_TUNED_MS   20.8 /* 20.3 / 20.8 / 21.2 M rec/s */
#define REF_PORT_DEFAULT_MS   4.3  /* 4.2 / 4.3 / 6.8 M rec/s */
#define REF_PORT_TUNED_MS     41.1 /* 40.7 / 41.1 / 43.1 M rec/s */
#define REF_PORT_ALONE_NS     18.0 /* producer alone, ns/record */

/* Goals (OPEN-PROBLEMS / the issue). */
#define GOAL_ALONE_NS       10.0
#define GOAL_DEFAULT_FACTOR 3.0
#define GOAL_TUNED_FACTOR   5.0
#define GOAL_NP_RATIO       0.5
#define GOAL_MEMCPY_RATIO   0.5

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static struct {
	int reps;
	double seconds;
	const char *json;
	int cpus[2];    /* producer CPU, consumer CPU */
	int ncpus;      /* CPUs this process may run on */
	double others;  /* CPUs' worth used by other processes during the run */
	double stolen;  /* CPUs' worth stolen by the hypervisor during the run */
	int allowed[CPU_SETSIZE];
	bool tty;
} cfg;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("\nERROR: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) of the calling thread. */
static uint64_t thread_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

/* Busy and steal time of the whole machine so far, ns (from /proc/stat). */
static void machine_cpu_ns(uint64_t *busy, uint64_t *steal)
{
	unsigned long long v[8] = { 0 };
	double tick = 1e9 / (double)sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	*busy = *steal = 0;
	if (!f)
		return;
	/* user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		*busy = (uint64_t)((double)(v[0] + v[1] + v[2] + v[5] + v[6]) * tick);
		*steal = (uint64_t)((double)v[7] * tick);
	}
	fclose(f);
}

/* CPU time of this whole process so far, ns. */
static uint64_t process_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "warning: cannot pin to CPU %d\n", cpu);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static void nap_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static struct ringbuf *new_ring(size_t size)
{
	struct ringbuf *rb = ringbuf_new(size, NULL);

	if (!rb)
		die("ringbuf_new(%zu): %s", size, strerror(errno));
	return rb;
}

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Drain everything committed; returns the number of records. */
static uint64_t drain(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx)
{
	uint64_t total = 0;
	int n;

	while ((n = ringbuf_consume(rb, fn, ctx)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		die("ringbuf_consume: %s", strerror(-n));
	return total;
}

/*
 * Touch every data page (twice round, with large records) so that page
 * faults of a fresh ring stay out of the timed region.
 */
static void prefault(struct ringbuf *rb)
{
	static char big[64 * KIB];
	uint64_t size = ringbuf_query(rb, RINGBUF_RING_SIZE), n = 0;
	size_t rec = size / 4 < sizeof(big) ? (size_t)(size / 4) : sizeof(big) - 8;

	for (int round = 0; round < 2; round++) {
		while (ringbuf_output(rb, big, rec, RINGBUF_NO_WAKEUP) == 0)
			;
		drain(rb, count_cb, &n);
	}
}

/* ------------------------------------------------------------------------
 * Record format and the consumer's check
 * ------------------------------------------------------------------------ */

struct verifier {
	uint64_t expected[MAX_PRODUCERS]; /* next sequence per producer */
	uint64_t received;
	size_t size;
	const char *row;
};

static void fill_record(uint64_t *buf, size_t size, uint64_t word)
{
	uint64_t tail = ~word;

	buf[0] = word;
	if (size >= 16)
		memcpy((char *)buf + size - 8, &tail, 8);
}

static int verify_cb(void *ctx, void *data, size_t size)
{
	struct verifier *v = ctx;
	uint64_t word, tail;
	unsigned id;

	if (size != v->size) {
		fprintf(stderr, "\nERROR: %s: record %" PRIu64 " has size %zu, expected %zu\n",
			v->row, v->received, size, v->size);
		exit(1);
	}
	memcpy(&word, data, 8);
	id = (unsigned)(word >> ID_SHIFT);
	if (id >= MAX_PRODUCERS || (word & SEQ_MASK) != v->expected[id]) {
		fprintf(stderr,
			"\nERROR: %s: record %" PRIu64 ": producer %u sequence %" PRIu64
			", expected %" PRIu64 " (records lost or out of order)\n",
			v->row, v->received, id, word & SEQ_MASK,
			id < MAX_PRODUCERS ? v->expected[id] : 0);
		exit(1);
	}
	if (size >= 16) {
		memcpy(&tail, (char *)data + size - 8, 8);
		if (tail != ~word) {
			fprintf(stderr, "\nERROR: %s: record %" PRIu64 " payload corrupt\n",
				v->row, v->received);
			exit(1);
		}
	}
	v->expected[id]++;
	v->received++;
	return 0;
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

enum kind { K_ALONE, K_STREAM, K_MEMCPY };
enum cmode { C_POLL, C_NAP, C_SPIN };
enum unit { U_NS_REC, U_MREC_S, U_GB_S };

struct rowdef {
	const char *name;
	enum kind kind;
	int nprod;
	size_t size;      /* record payload bytes */
	size_t ring;      /* data bytes */
	uint64_t flags;   /* producer wakeup flags */
	enum cmode mode;  /* consumer form */
	bool reserve;     /* producer-alone: reserve+submit instead of output */
	const char *desc;
};

/* One measurement. */
struct sample {
	double value;       /* in the row's unit */
	double bytes_s;     /* payload bytes per second (stream rows) */
	double prod_cpu;    /* producer CPU ns per record (all producers) */
	double cons_cpu;    /* consumer CPU ns per record */
	uint64_t records;
	uint64_t stalls;    /* records that found the ring full at least once */
	uint64_t retries;   /* -EAGAIN returns in total */
	uint64_t timeouts;  /* ringbuf_poll() calls that returned 0 */
};

static const struct rowdef rows[] = {
	{ "producer-alone", K_ALONE, 1, 8, ALONE_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "ringbuf_output, 64 MiB ring, no consumer" },
	{ "producer-alone-reserve", K_ALONE, 1, 8, ALONE_RING, RINGBUF_NO_WAKEUP, C_NAP, true,
	  "reserve+submit, 64 MiB ring, no consumer" },
	{ "1p1c-default", K_STREAM, 1, 8, TUNED_RING, 0, C_POLL, false,
	  "flags 0 (adaptive), consumer ringbuf_poll(100 ms)" },
	{ "1p1c-tuned", K_STREAM, 1, 8, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "NO_WAKEUP, consumer ringbuf_consume every 5 ms" },
	{ "1p1c-spin", K_STREAM, 1, 8, TUNED_RING, RINGBUF_NO_WAKEUP, C_SPIN, false,
	  "NO_WAKEUP, consumer spins on ringbuf_consume" },
	{ "2p-tuned", K_STREAM, 2, 8, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "2 producers, pinned round-robin" },
	{ "4p-tuned", K_STREAM, 4, 8, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "4 producers, pinned round-robin" },
	{ "8p-tuned", K_STREAM, 8, 8, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "8 producers, pinned round-robin" },
	{ "1p1c-tuned-64B", K_STREAM, 1, 64, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "64-byte records" },
	{ "1p1c-tuned-512B", K_STREAM, 1, 512, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "512-byte records" },
	{ "1p1c-tuned-4096B", K_STREAM, 1, 4096, TUNED_RING, RINGBUF_NO_WAKEUP, C_NAP, false,
	  "4 KiB records (bounded by 16 MiB per 5 ms nap)" },
	{ "1p1c-spin-4096B", K_STREAM, 1, 4096, TUNED_RING, RINGBUF_NO_WAKEUP, C_SPIN, false,
	  "4 KiB records, spinning consumer" },
	{ "memcpy-4KiB", K_MEMCPY, 0, MEMCPY_CHUNK, MEMCPY_BUF, 0, C_NAP, false,
	  "4 KiB memcpy between two 64 MiB buffers (beyond L3: DRAM-bound)" },
	{ "memcpy-4KiB-16MiB", K_MEMCPY, 0, MEMCPY_CHUNK, TUNED_RING, 0, C_NAP, false,
	  "4 KiB memcpy between two 16 MiB buffers (the ring's footprint)" },
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

static enum unit row_unit(const struct rowdef *r)
{
	return r->kind == K_ALONE ? U_NS_REC : r->kind == K_MEMCPY ? U_GB_S : U_MREC_S;
}

static const char *unit_name(enum unit u)
{
	return u == U_NS_REC ? "ns/rec" : u == U_GB_S ? "GB/s" : "Mrec/s";
}

/* ------------------------------------------------------------------------
 * producer alone: fill the ring until -EAGAIN, timed; drain untimed
 * ------------------------------------------------------------------------ */

struct alone_arg {
	const struct rowdef *row;
	uint64_t dur_ns;
	struct sample out;
};

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
	struct alone_arg *a = p;
	struct ringbuf *rb;
	struct verifier v = { .size = 8, .row = a->row->name };
	uint64_t seq = 0, ns = 0, recs = 0, warm = 0;

	pin_self(cfg.cpus[0]);
	rb = new_ring(a->row->ring);
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
	return NULL;
}

/* ------------------------------------------------------------------------
 * producers + consumer
 * ------------------------------------------------------------------------ */

struct run;

struct prod_arg {
	_Alignas(128) struct run *run;
	int id;
	int cpu;
	uint64_t sent, stalls, retries, cpu_ns, t_start;
};

struct run {
	const struct rowdef *row;
	struct ringbuf *rb;
	uint64_t dur_ns;
	pthread_barrier_t start;
	/* written by producers once, at their end */
	_Alignas(128) atomic_uint done;
	atomic_uint_fast64_t total_sent;
	/* consumer results */
	_Alignas(128) uint64_t t_end, cons_cpu_ns, received, timeouts;
	struct prod_arg prod[MAX_PRODUCERS];
};

static void *producer_main(void *p)
{
	struct prod_arg *a = p;
	struct run *r = a->run;
	struct ringbuf *rb = r->rb;
	const size_t size = r->row->size;
	const uint64_t flags = r->row->flags, tag = (uint64_t)a->id << ID_SHIFT;
	uint64_t buf[MAX_REC / 8 + 1];
	uint64_t seq = 0, stalls = 0, retries = 0, deadline, cpu0;

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
		err = ringbuf_output(rb, buf, size, flags);
		if (err == -EAGAIN) {
			stalls++;
			do {
				retries++;
				cpu_relax();
				err = ringbuf_output(rb, buf, size, flags);
			} while (err == -EAGAIN);
		}
		if (err)
			die("%s: ringbuf_output: %s", r->row->name, strerror((int)-err));
	}
	a->cpu_ns = thread_cpu_ns() - cpu0;
	a->sent = seq;
	a->stalls = stalls;
	a->retries = retries;
	atomic_fetch_add(&r->total_sent, seq);
	atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
	return NULL;
}

static bool producers_done(struct run *r)
{
	return atomic_load_explicit(&r->done, memory_order_acquire) == (unsigned)r->row->nprod;
}

static void *consumer_main(void *p)
{
	struct run *r = p;
	struct ringbuf *rb = r->rb;
	struct verifier v = { .size = r->row->size, .row = r->row->name };
	uint64_t timeouts = 0, cpu0;
	int n;

	pin_self(cfg.cpus[1]);
	pthread_barrier_wait(&r->start);
	cpu0 = thread_cpu_ns();
	for (;;) {
		if (producers_done(r)) {
			/* every record is committed: finish without waiting */
			drain(rb, verify_cb, &v);
			if (v.received != atomic_load(&r->total_sent))
				die("%s: producers sent %" PRIu64 ", consumer got %" PRIu64,
				    r->row->name, (uint64_t)atomic_load(&r->total_sent),
				    v.received);
			break;
		}
		if (r->row->mode == C_POLL) {
			n = ringbuf_poll(rb, verify_cb, &v, POLL_MS);
			if (n == 0)
				timeouts++;
		} else {
			n = ringbuf_consume(rb, verify_cb, &v);
		}
		if (n < 0)
			die("%s: consume: %s", r->row->name, strerror(-n));
		if (r->row->mode == C_NAP && !producers_done(r))
			nap_ns(TUNED_NAP_NS);
	}
	r->t_end = now_ns();
	r->cons_cpu_ns = thread_cpu_ns() - cpu0;
	r->received = v.received;
	r->timeouts = timeouts;
	return NULL;
}

static void run_stream(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct run *r = aligned_alloc(128, sizeof(*r));
	pthread_t cons, prod[MAX_PRODUCERS];
	uint64_t t0 = UINT64_MAX, prod_cpu = 0;

	if (!r)
		die("out of memory");
	memset(r, 0, sizeof(*r));
	r->row = row;
	r->dur_ns = dur_ns;
	r->rb = new_ring(row->ring);
	prefault(r->rb);
	atomic_init(&r->done, 0);
	atomic_init(&r->total_sent, 0);
	pthread_barrier_init(&r->start, NULL, (unsigned)row->nprod + 1);
	for (int i = 0; i < row->nprod; i++) {
		r->prod[i].run = r;
		r->prod[i].id = i;
		r->prod[i].cpu = row->nprod == 1 ? cfg.cpus[0] : cfg.allowed[i % cfg.ncpus];
		if (pthread_create(&prod[i], NULL, producer_main, &r->prod[i]))
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
		out->stalls += r->prod[i].stalls;
		out->retries += r->prod[i].retries;
	}
	out->records = r->received;
	out->value = (double)r->received / ((double)(r->t_end - t0) / 1e9) / 1e6;
	out->bytes_s = out->value * 1e6 * (double)row->size;
	out->prod_cpu = (double)prod_cpu / (double)r->received;
	out->cons_cpu = (double)r->cons_cpu_ns / (double)r->received;
	out->timeouts = r->timeouts;
	pthread_barrier_destroy(&r->start);
	ringbuf_free(r->rb);
	free(r);
}

/* ------------------------------------------------------------------------
 * memcpy reference
 * ------------------------------------------------------------------------ */

struct memcpy_arg {
	uint64_t dur_ns;
	size_t span; /* bytes of each buffer used, <= MEMCPY_BUF */
	struct sample out;
};

static char *mc_src, *mc_dst;

static void *memcpy_main(void *p)
{
	struct memcpy_arg *a = p;
	uint64_t t0, t1, bytes = 0;

	pin_self(cfg.cpus[0]);
	if (!mc_src) {
		mc_src = aligned_alloc(4096, MEMCPY_BUF);
		mc_dst = aligned_alloc(4096, MEMCPY_BUF);
		if (!mc_src || !mc_dst)
			die("out of memory");
		memset(mc_src, 0x33, MEMCPY_BUF);
		memset(mc_dst, 0x44, MEMCPY_BUF);
	}
	t0 = t1 = now_ns();
	while (t1 - t0 < a->dur_ns) {
		for (size_t off = 0; off < a->span; off += MEMCPY_CHUNK)
			memcpy(mc_dst + off, mc_src + off, MEMCPY_CHUNK);
		__asm__ __volatile__("" ::: "memory");
		bytes += a->span;
		t1 = now_ns();
	}
	a->out.value = (double)bytes / ((double)(t1 - t0) / 1e9) / 1e9;
	a->out.bytes_s = a->out.value * 1e9;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Driver, statistics, report
 * ------------------------------------------------------------------------ */

static struct sample samples[NROWS][MAX_REPS];

static void measure(int ri, int rep, uint64_t dur_ns)
{
	const struct rowdef *row = &rows[ri];
	pthread_t t;

	if (row->kind == K_ALONE) {
		struct alone_arg a = { .row = row, .dur_ns = dur_ns };

		pthread_create(&t, NULL, alone_main, &a);
		pthread_join(t, NULL);
		samples[ri][rep] = a.out;
	} else if (row->kind == K_MEMCPY) {
		struct memcpy_arg a = { .dur_ns = dur_ns, .span = row->ring };

		pthread_create(&t, NULL, memcpy_main, &a);
		pthread_join(t, NULL);
		samples[ri][rep] = a.out;
	} else {
		run_stream(row, dur_ns, &samples[ri][rep]);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat3 {
	double med, min, max;
};

/* Statistic of one field of a row's samples (offset of a double). */
static struct stat3 stat_of(int ri, size_t field)
{
	double v[MAX_REPS];
	struct stat3 s;
	int n = cfg.reps;

	for (int i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&samples[ri][i] + field, sizeof(double));
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

static uint64_t median_u64(int ri, size_t field)
{
	uint64_t v[MAX_REPS], t;
	int n = cfg.reps;

	for (int i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&samples[ri][i] + field, sizeof(uint64_t));
	for (int i = 1; i < n; i++) /* insertion sort: n is small */
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static uint64_t total_u64(int ri, size_t field)
{
	uint64_t sum = 0, x;

	for (int i = 0; i < cfg.reps; i++) {
		memcpy(&x, (const char *)&samples[ri][i] + field, sizeof(x));
		sum += x;
	}
	return sum;
}

static int row_index(const char *name)
{
	for (int i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].name, name))
			return i;
	die("no row %s", name);
}

static double med(const char *name)
{
	return stat_of(row_index(name), offsetof(struct sample, value)).med;
}

static void print_table(void)
{
	printf("\n%-22s %9s %-7s %19s %9s %8s %7s %7s\n", "row", "median", "unit",
	       "min .. max", "MB/s", "stalls", "p-CPU", "c-CPU");
	for (int ri = 0; ri < NROWS; ri++) {
		const struct rowdef *row = &rows[ri];
		struct stat3 s = stat_of(ri, offsetof(struct sample, value));
		char spread[40], mbs[16] = "-", stalls[16] = "-", pc[16] = "-", cc[16] = "-";

		snprintf(spread, sizeof(spread), "%.2f .. %.2f", s.min, s.max);
		if (row->kind == K_STREAM) {
			snprintf(mbs, sizeof(mbs), "%.0f",
				 stat_of(ri, offsetof(struct sample, bytes_s)).med / 1e6);
			snprintf(stalls, sizeof(stalls), "%" PRIu64,
				 median_u64(ri, offsetof(struct sample, stalls)));
			snprintf(pc, sizeof(pc), "%.1f",
				 stat_of(ri, offsetof(struct sample, prod_cpu)).med);
			snprintf(cc, sizeof(cc), "%.1f",
				 stat_of(ri, offsetof(struct sample, cons_cpu)).med);
		} else if (row->kind == K_MEMCPY) {
			snprintf(mbs, sizeof(mbs), "%.0f", s.med * 1e3);
		}
		printf("%-22s %9.2f %-7s %19s %9s %8s %7s %7s\n", row->name, s.med,
		       unit_name(row_unit(row)), spread, mbs, stalls, pc, cc);
	}
	printf("(MB/s = payload bytes; stalls = records that found the ring full, median per run;\n"
	       " p-CPU / c-CPU = producer / consumer thread CPU time per record, ns, getrusage)\n");
}

struct goal {
	const char *what;
	double measured, target;
	const char *unit;
	bool le; /* measured must be <= target (else >=) */
	const char *note;
};

static struct goal goals[5];
static double tuned_ceiling_gbs;

static void compute_goals(void)
{
	double alone = med("producer-alone"), def = med("1p1c-default"),
	       tuned = med("1p1c-tuned"), np8 = med("8p-tuned"),
	       mc = fmax(med("memcpy-4KiB"), med("memcpy-4KiB-16MiB"));
	double t4k = stat_of(row_index("1p1c-tuned-4096B"), offsetof(struct sample, bytes_s)).med,
	       s4k = stat_of(row_index("1p1c-spin-4096B"), offsetof(struct sample, bytes_s)).med;
	bool spin_better = s4k > t4k;

	tuned_ceiling_gbs = (double)TUNED_RING / (TUNED_NAP_NS / 1e9) / 1e9;
	goals[0] = (struct goal){ "producer alone <= 10 ns/record", alone, GOAL_ALONE_NS,
				  "ns/rec", true, "ringbuf_output row" };
	goals[1] = (struct goal){ "default form >= 3x kernel 2.9 M/s", def,
				  GOAL_DEFAULT_FACTOR * REF_KERNEL_DEFAULT_MS, "Mrec/s", false,
				  "1p1c-default" };
	goals[2] = (struct goal){ "tuned form >= 5x kernel 20.8 M/s", tuned,
				  GOAL_TUNED_FACTOR * REF_KERNEL_TUNED_MS, "Mrec/s", false,
				  "1p1c-tuned" };
	goals[3] = (struct goal){ "8 producers >= 0.5x 1-producer tuned", np8,
				  GOAL_NP_RATIO * tuned, "Mrec/s", false, "8p-tuned vs 1p1c-tuned" };
	/* against the faster of the two memcpy references: the stricter test */
	goals[4] = (struct goal){ "4 KiB records >= 0.5x memcpy", (spin_better ? s4k : t4k) / 1e9,
				  GOAL_MEMCPY_RATIO * mc, "GB/s", false,
				  spin_better ? "1p1c-spin-4096B (better form)"
					      : "1p1c-tuned-4096B (better form)" };
}

static bool goal_pass(const struct goal *g)
{
	return g->le ? g->measured <= g->target : g->measured >= g->target;
}

static void print_comparisons(void)
{
	double tuned = med("1p1c-tuned"), mc;

	printf("\nReference figures from ANCHORS.md, NOT measured in this run (same 2-core VM):\n"
	       "  kernel BPF ringbuf + libbpf: default form %.1f M/s (runs 0.9/2.9/5.9), tuned %.1f M/s\n"
	       "  plain user-space port:       default form %.1f M/s, tuned %.1f M/s, producer alone %.0f ns/rec\n",
	       REF_KERNEL_DEFAULT_MS, REF_KERNEL_TUNED_MS, REF_PORT_DEFAULT_MS, REF_PORT_TUNED_MS,
	       REF_PORT_ALONE_NS);
	printf("%-22s %12s %14s %14s\n", "row", "measured", "vs kernel ref", "vs port ref");
	printf("%-22s %9.2f ns %14s %13.2fx (faster)\n", "producer-alone", med("producer-alone"), "-",
	       REF_PORT_ALONE_NS / med("producer-alone"));
	printf("%-22s %9.2f ns %14s %13.2fx (faster)\n", "producer-alone-reserve",
	       med("producer-alone-reserve"), "-", REF_PORT_ALONE_NS / med("producer-alone-reserve"));
	printf("%-22s %7.2f M/s %13.2fx %13.2fx\n", "1p1c-default", med("1p1c-default"),
	       med("1p1c-default") / REF_KERNEL_DEFAULT_MS, med("1p1c-default") / REF_PORT_DEFAULT_MS);
	printf("%-22s %7.2f M/s %13.2fx %13.2fx\n", "1p1c-tuned", tuned,
	       tuned / REF_KERNEL_TUNED_MS, tuned / REF_PORT_TUNED_MS);
	printf("%-22s %7.2f M/s %13.2fx %13.2fx\n", "1p1c-spin", med("1p1c-spin"),
	       med("1p1c-spin") / REF_KERNEL_TUNED_MS, med("1p1c-spin") / REF_PORT_TUNED_MS);
	printf("Multi-producer, ratio to this run's 1p1c-tuned (%.2f M/s):", tuned);
	printf("  2p %.2fx, 4p %.2fx, 8p %.2fx\n", med("2p-tuned") / tuned, med("4p-tuned") / tuned,
	       med("8p-tuned") / tuned);
	mc = fmax(med("memcpy-4KiB"), med("memcpy-4KiB-16MiB"));
	printf("4 KiB records vs memcpy (this run: %.2f GB/s over 64 MiB, %.2f GB/s over 16 MiB;"
	       " the faster is used):\n  tuned %.2fx, spin %.2fx"
	       " (the tuned form cannot exceed %.2f GB/s: 16 MiB per 5 ms nap)\n",
	       med("memcpy-4KiB"), med("memcpy-4KiB-16MiB"),
	       stat_of(row_index("1p1c-tuned-4096B"), offsetof(struct sample, bytes_s)).med / 1e9 / mc,
	       stat_of(row_index("1p1c-spin-4096B"), offsetof(struct sample, bytes_s)).med / 1e9 / mc,
	       tuned_ceiling_gbs);
	if (total_u64(row_index("1p1c-default"), offsetof(struct sample, timeouts)))
		printf("note: ringbuf_poll returned 0 (timeout, or woken with the head record still BUSY) %" PRIu64
		       " times in 1p1c-default\n",
		       total_u64(row_index("1p1c-default"), offsetof(struct sample, timeouts)));
}

static void print_goals(void)
{
	printf("\nGoals (from the issue):\n");
	for (int i = 0; i < 5; i++) {
		const struct goal *g = &goals[i];

		printf("  %-40s %9.2f %-7s target %s %7.2f   %s  (%s)\n", g->what, g->measured,
		       g->unit, g->le ? "<=" : ">=", g->target, goal_pass(g) ? "PASS" : "MISS",
		       g->note);
	}
}

static void write_json(void)
{
	FILE *f = fopen(cfg.json, "w");

	if (!f)
		die("cannot write %s: %s", cfg.json, strerror(errno));
	fprintf(f, "{\n  \"reps\": %d,\n  \"seconds\": %.3f,\n  \"producer_cpu\": %d,\n"
		   "  \"consumer_cpu\": %d,\n  \"other_load_cpus\": %.3f,\n  \"steal_cpus\": %.3f,\n"
		   "  \"rows\": [\n",
		cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1], cfg.others, cfg.stolen);
	for (int ri = 0; ri < NROWS; ri++) {
		const struct rowdef *row = &rows[ri];
		struct stat3 s = stat_of(ri, offsetof(struct sample, value));

		fprintf(f, "    {\"name\": \"%s\", \"desc\": \"%s\", \"unit\": \"%s\", "
			   "\"record_size\": %zu, \"ring_size\": %zu, \"producers\": %d, "
			   "\"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"samples\": [",
			row->name, row->desc, unit_name(row_unit(row)), row->size, row->ring,
			row->nprod, s.med, s.min, s.max);
		for (int i = 0; i < cfg.reps; i++)
			fprintf(f, "%s%.4f", i ? ", " : "", samples[ri][i].value);
		fprintf(f, "]");
		if (row->kind == K_STREAM)
			fprintf(f, ", \"bytes_per_s_median\": %.0f, \"stalls_median\": %" PRIu64
				   ", \"retries_total\": %" PRIu64 ", \"poll_timeouts_total\": %" PRIu64
				   ", \"producer_cpu_ns_per_rec\": %.3f, \"consumer_cpu_ns_per_rec\": %.3f",
				stat_of(ri, offsetof(struct sample, bytes_s)).med,
				median_u64(ri, offsetof(struct sample, stalls)),
				total_u64(ri, offsetof(struct sample, retries)),
				total_u64(ri, offsetof(struct sample, timeouts)),
				stat_of(ri, offsetof(struct sample, prod_cpu)).med,
				stat_of(ri, offsetof(struct sample, cons_cpu)).med);
		fprintf(f, "}%s\n", ri + 1 < NROWS ? "," : "");
	}
	fprintf(f, "  ],\n  \"references_from_anchors_not_measured\": {\"kernel_default_mrec_s\": %.1f, "
		   "\"kernel_tuned_mrec_s\": %.1f, \"port_default_mrec_s\": %.1f, "
		   "\"port_tuned_mrec_s\": %.1f, \"port_producer_alone_ns\": %.1f},\n  \"goals\": [\n",
		REF_KERNEL_DEFAULT_MS, REF_KERNEL_TUNED_MS, REF_PORT_DEFAULT_MS, REF_PORT_TUNED_MS,
		REF_PORT_ALONE_NS);
	for (int i = 0; i < 5; i++)
		fprintf(f, "    {\"goal\": \"%s\", \"measured\": %.4f, \"unit\": \"%s\", "
			   "\"target\": %.4f, \"pass\": %s, \"note\": \"%s\"}%s\n",
			goals[i].what, goals[i].measured, goals[i].unit, goals[i].target,
			goal_pass(&goals[i]) ? "true" : "false", goals[i].note, i < 4 ? "," : "");
	fprintf(f, "  ]\n}\n");
	if (fclose(f))
		die("writing %s: %s", cfg.json, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringbuf_bench [--quick] [--reps N] [--seconds S] [--json FILE]\n"
		   "  --quick      3 repetitions of 0.15 s (well under 30 s in total)\n"
		   "  --reps N     repetitions per row, interleaved (default 5, max %d)\n"
		   "  --seconds S  length of one measurement (default 0.4)\n"
		   "  --json FILE  also write the results as JSON\n",
		MAX_REPS);
}

static void parse_args(int argc, char **argv)
{
	int reps = 0;
	double secs = 0;
	bool quick = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--quick")) {
			quick = true;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if (reps < 1 || reps > MAX_REPS)
				die("--reps must be 1..%d", MAX_REPS);
		} else if (!strcmp(a, "--seconds") && i + 1 < argc) {
			secs = atof(argv[++i]);
			if (!(secs > 0 && secs <= 60))
				die("--seconds must be in (0, 60]");
		} else if (!strcmp(a, "--json") && i + 1 < argc) {
			cfg.json = argv[++i];
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "ringbuf_bench: bad argument '%s'\n", a);
			usage(stderr);
			exit(2);
		}
	}
	cfg.reps = reps ? reps : quick ? 3 : 5;
	cfg.seconds = secs > 0 ? secs : quick ? 0.15 : 0.4;
}

static void find_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		CPU_ZERO(&set);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cfg.allowed[cfg.ncpus++] = c;
	if (cfg.ncpus == 0) {
		cfg.allowed[cfg.ncpus++] = -1; /* unknown: do not pin */
	}
	cfg.cpus[0] = cfg.allowed[0];
	cfg.cpus[1] = cfg.allowed[cfg.ncpus > 1 ? 1 : 0];
	if (cfg.ncpus < 2)
		fprintf(stderr, "warning: only one CPU available; producer and consumer share it\n");
}

int main(int argc, char **argv)
{
	uint64_t dur, t_begin, busy0, steal0, busy1, steal1, self0, wall;

	parse_args(argc, argv);
	find_cpus();
	cfg.tty = isatty(STDERR_FILENO);
	dur = (uint64_t)(cfg.seconds * 1e9);
	machine_cpu_ns(&busy0, &steal0);
	self0 = process_cpu_ns();
	t_begin = now_ns();
	fprintf(stderr, "ringbuf_bench: %d rows x %d reps x %.2f s, producer CPU %d, consumer CPU %d\n",
		NROWS, cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1]);
	for (int rep = 0; rep < cfg.reps; rep++) {
		for (int ri = 0; ri < NROWS; ri++) {
			if (cfg.tty)
				fprintf(stderr, "\r\033[K[rep %d/%d] %-22s (%.0f s elapsed)", rep + 1,
					cfg.reps, rows[ri].name, (double)(now_ns() - t_begin) / 1e9);
			measure(ri, rep, dur);
		}
		if (!cfg.tty)
			fprintf(stderr, "[rep %d/%d] done, %.1f s elapsed\n", rep + 1, cfg.reps,
				(double)(now_ns() - t_begin) / 1e9);
	}
	if (cfg.tty)
		fprintf(stderr, "\r\033[Kdone in %.1f s\n", (double)(now_ns() - t_begin) / 1e9);

	wall = now_ns() - t_begin;
	machine_cpu_ns(&busy1, &steal1);
	cfg.others = ((double)(busy1 - busy0) - (double)(process_cpu_ns() - self0)) / (double)wall;
	cfg.stolen = (double)(steal1 - steal0) / (double)wall;
	if (cfg.others < 0)
		cfg.others = 0;
	compute_goals();
	printf("ringbuf_bench: %d repetitions (interleaved) of %.2f s; 8-byte records unless named;\n"
	       "producers pinned to CPU %d (multi-producer rows: round-robin over %d CPUs), consumer "
	       "to CPU %d; verified: 0 records lost or out of order\n",
	       cfg.reps, cfg.seconds, cfg.cpus[0], cfg.ncpus, cfg.cpus[1]);
	printf("machine load during the run: other processes %.2f CPUs, hypervisor steal %.2f CPUs%s\n",
	       cfg.others, cfg.stolen,
	       cfg.others > 0.1 || cfg.stolen > 0.1 ? "  -- WARNING: the figures below are disturbed"
						    : "");
	print_table();
	print_comparisons();
	print_goals();
	if (cfg.json)
		write_json();
	return 0;
}
