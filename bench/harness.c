/* SPDX-License-Identifier: MIT */
/*
 * harness.c -- what every row of ringbuf_bench uses: clocks, CPU time,
 * pinning, fresh prefaulted rings, the record check, the driver that
 * runs one row once (measure) and the statistics over repetitions.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct bench_cfg cfg;
struct sample samples[MAX_ROWS][MAX_REPS];

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("\nERROR: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(const struct rusage *ru)
{
	return ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) * 1000ULL;
}

/* CPU time (user + system) and voluntary context switches of the calling
 * thread. */
struct tstat thread_stat(void)
{
	struct rusage ru;
	struct tstat t = { 0, 0 };

	if (getrusage(RUSAGE_THREAD, &ru))
		return t;
	t.cpu_ns = tv_ns(&ru);
	t.vcsw = (uint64_t)ru.ru_nvcsw;
	return t;
}

uint64_t thread_cpu_ns(void)
{
	return thread_stat().cpu_ns;
}

/* Busy and steal time of the whole machine so far, ns (from /proc/stat). */
void machine_cpu_ns(uint64_t *busy, uint64_t *steal)
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

/* CPU time of this whole process (and its waited-for children) so far, ns. */
uint64_t process_cpu_ns(void)
{
	struct rusage ru, rc;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	if (getrusage(RUSAGE_CHILDREN, &rc))
		return tv_ns(&ru);
	return tv_ns(&ru) + tv_ns(&rc);
}

void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "warning: cannot pin to CPU %d\n", cpu);
}

void nap_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct ringbuf *new_ring(size_t size, uint64_t flags)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .flags = flags };
	struct ringbuf *rb = ringbuf_new(size, &o);

	if (!rb)
		die("ringbuf_new(%zu): %s", size, strerror(errno));
	return rb;
}

int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Drain everything committed; returns the number of records. */
uint64_t drain(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx)
{
	uint64_t total = 0;
	int n;

	while ((n = ringbuf_consume(rb, fn, ctx)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		die("ringbuf_consume: %s", strerror(-n));
	return total;
}

/* Fill and drain twice round (producer handle @p, consumer handle @c) so
 * that page faults of a fresh ring stay out of the timed region. */
void prefault2(struct ringbuf *p, struct ringbuf *c)
{
	static char big[64 * KIB];
	uint64_t size = ringbuf_query(p, RINGBUF_RING_SIZE), n = 0;
	size_t rec = size / 4 < sizeof(big) ? (size_t)(size / 4) : sizeof(big) - 8;

	for (int round = 0; round < 2; round++) {
		while (ringbuf_output(p, big, rec, RINGBUF_NO_WAKEUP) == 0)
			;
		drain(c, count_cb, &n);
	}
}

/* Touch every page of @rb's data.  Through a handle of its own, freed
 * after: on a single-producer ring the producing thread's handle must be
 * the one that claims it. */
void prefault(struct ringbuf *rb)
{
	struct ringbuf *p = ringbuf_from_fd(ringbuf_fd(rb), NULL);

	if (!p)
		die("ringbuf_from_fd: %s", strerror(errno));
	prefault2(p, rb);
	ringbuf_free(p);
}

/* ------------------------------------------------------------------------
 * Record format and the consumer's check
 * ------------------------------------------------------------------------ */

void fill_record(uint64_t *buf, size_t size, uint64_t word)
{
	uint64_t tail = ~word;

	buf[0] = word;
	if (size >= 16)
		memcpy((char *)buf + size - 8, &tail, 8);
}

int verify_cb(void *ctx, void *data, size_t size)
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
	if (id >= KB_MAX_IDS || (word & SEQ_MASK) != v->expected[id]) {
		fprintf(stderr,
			"\nERROR: %s: record %" PRIu64 ": producer %u sequence %" PRIu64
			", expected %" PRIu64 " (records lost or out of order)\n",
			v->row, v->received, id, word & SEQ_MASK,
			id < KB_MAX_IDS ? v->expected[id] : 0);
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
 * Driver and statistics
 * ------------------------------------------------------------------------ */

/* Is row @name selected by --only (comma-separated texts, any of which
 * its name contains)? */
static bool row_selected(const char *name)
{
	const char *p = cfg.only;

	if (!p)
		return true;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char part[64];

		if (len && len < sizeof(part)) {
			memcpy(part, p, len);
			part[len] = '\0';
			if (strstr(name, part))
				return true;
		}
		if (!comma)
			return false;
		p = comma + 1;
	}
}

bool row_skipped(int ri)
{
	return (rows[ri].kernel && !kernel_ok()) || !row_selected(rows[ri].name);
}

const char *skip_reason(int ri)
{
	return rows[ri].kernel && !kernel_ok() ? kernel_why() : "not selected (--only)";
}

void run_in_thread(void *(*fn)(void *), const struct rowdef *row, uint64_t dur_ns,
		   struct sample *out)
{
	struct row_arg a = { .row = row, .dur_ns = dur_ns, .cpu = cfg.cpus[0] };
	pthread_t t;

	if (pthread_create(&t, NULL, fn, &a))
		die("pthread_create");
	pthread_join(t, NULL);
	*out = a.out;
}

/* One measurement of row @ri, repetition @rep; each family's run_*() does
 * its work in threads (or processes) of its own. */
void measure(int ri, int rep, uint64_t dur_ns)
{
	const struct rowdef *row = &rows[ri];
	struct sample *out = &samples[ri][rep];

	if (row_skipped(ri))
		return;
	switch (row->kind) {
	case K_ALONE:
		run_alone(row, dur_ns, out);
		break;
	case K_KALONE:
		run_kalone(row, dur_ns, out);
		break;
	case K_KDRAIN:
		run_kdrain(row, dur_ns, out);
		break;
	case K_MEMCPY:
		run_memcpy(row, dur_ns, out);
		break;
	case K_CLAIM:
		run_claim(row, dur_ns, out);
		break;
	case K_PROC:
		run_procs(row, dur_ns, out);
		break;
	case K_IPC:
		run_ipc(row, dur_ns, out);
		break;
	case K_LAT: {
		int n = cfg.lat_samples / cfg.reps;

		run_lat(ri, n < 10 ? 10 : n, out);
		break;
	}
	case K_STREAM:
		run_stream(row, dur_ns, out);
		break;
	}
}

/* Statistic of one field of a row's samples (offset of a double). */
struct stat3 stat_of(int ri, size_t field)
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

uint64_t median_u64(int ri, size_t field)
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

uint64_t total_u64(int ri, size_t field)
{
	uint64_t sum = 0, x;

	for (int i = 0; i < cfg.reps; i++) {
		memcpy(&x, (const char *)&samples[ri][i] + field, sizeof(x));
		sum += x;
	}
	return sum;
}

int row_index(const char *name)
{
	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, name))
			return i;
	die("no row %s", name);
}

/* Median of a row's value; NAN if the row was skipped. */
double med(const char *name)
{
	int ri = row_index(name);

	return row_skipped(ri) ? NAN : stat_of(ri, F_VALUE).med;
}

double med_bytes(const char *name)
{
	int ri = row_index(name);

	return row_skipped(ri) ? NAN : stat_of(ri, F_BYTES).med;
}

/* Ratio of a row to its kernel+libbpf peer, > 1 meaning better than the
 * kernel: rates divide, costs (ns/rec, us) invert. */
int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile of sorted @v (nearest rank). */
double pct(const double *v, int n, double q)
{
	int i = (int)ceil(q * n) - 1;

	if (n <= 0)
		return NAN;
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

