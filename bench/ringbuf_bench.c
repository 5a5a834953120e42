/* SPDX-License-Identifier: MIT */
/*
 * ringbuf_bench -- ringbuf beside the kernel's BPF ring buffer and the usual
 * alternatives, in one run (issue 5; docs/benchmarks.md explains every
 * row and column).
 *
 *   ringbuf_bench [--quick] [--reps N] [--seconds S] [--json FILE] [--plot FILE]
 *
 * Every row is measured --reps times, interleaved (the whole list of rows
 * once per repetition), and reported as median and min..max.  Producers
 * run pinned to the first allowed CPU, the consumer to the second (the
 * cross-core case is the one that matters on the development machine).
 *
 * Rows:
 *   ringbuf user-space rings: producer alone; 1 producer / 1 consumer with
 *     output or reserve+submit, adaptive / NO_WAKEUP / FORCE_WAKEUP, a
 *     blocking (ringbuf_poll), napping (consume every 5 ms) or spinning
 *     consumer, 8 / 64 / 512 / 4096-byte records; 2, 4, 8 producer threads;
 *     4 producer processes on a named ring; a blocking consumer with a
 *     4 KiB / 64 KiB wakeup watermark, and one that waits in its own
 *     epoll_wait() on ringbuf_epoll_fd().
 *   kernel BPF ring buffer (bench/bpf/bench.bpf.c, BPF_PROG_TEST_RUN, 500
 *     records per run with bpf_ringbuf_output): the BPF producer alone;
 *     consumed by libbpf (ring_buffer__poll / ring_buffer__consume) or by
 *     ringbuf (ringbuf_map_open + ringbuf_poll / ringbuf_consume) in the
 *     same forms; each consumer alone draining a full ring; 2, 4, 8
 *     producer threads.  Skipped, with the reason, where BPF is not
 *     permitted.
 *   a pipe and a unix datagram socketpair, per record and batched.
 *   memcpy bandwidth (the 4 KiB-record reference).
 *   wakeup latency (commit to callback, sleeping consumer): ringbuf, raw
 *     futex, raw eventfd, kernel ring with ringbuf's and libbpf's consumer.
 *
 * Records carry (producer id << 56 | sequence) in their first 8 bytes and
 * the complement of that word in their last 8 (records of 16 bytes or
 * more); the consumer checks size, order and the tail of every record.  A
 * producer that finds the ring full retries, so nothing is ever dropped:
 * any gap seen by the consumer is an ERROR (exit 1).
 *
 * This is a benchmark, not a test: it uses only include/ringbuf.h, plus
 * libbpf for the kernel rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ringbuf.h"
#include "bpf/bench.h"

#define KIB (1024UL)
#define MIB (1024UL * 1024UL)

#define MAX_REPS      50
#define MAX_PRODUCERS 8
#define MAX_REC       4096
#define ID_SHIFT      56
#define SEQ_MASK      ((UINT64_C(1) << ID_SHIFT) - 1)

#define ALONE_RING   (64 * MIB)
#define WARM_RING    (1 * MIB)
#define TUNED_RING   (16 * MIB)
#define KERNEL_RING  (16 * MIB) /* the BPF map's max_entries */
#define LAT_RING     (1 * MIB)
#define TUNED_NAP_NS (5 * 1000000L)
#define POLL_MS      100
#define MEMCPY_BUF   (64 * MIB)
#define MEMCPY_CHUNK (4 * KIB)
#define KB_BATCH     500 /* records per BPF_PROG_TEST_RUN */
#define IPC_BATCH    512 /* records per write() in the batched pipe row */
#define DGRAM_BATCH  64  /* datagrams per sendmmsg/recvmmsg */
#define LAT_GAP_NS   (1000 * 1000L) /* 1 ms between latency samples */
#define LAT_SAMPLES       2000
#define LAT_SAMPLES_QUICK 300

/* Published / earlier figures from ANCHORS.md: NOT measured by this program. */
#define REF_KERNEL_DEFAULT_MS 2.9  /* 0.9 / 2.9 / 5.9 M rec/s */
#define REF_KERNEL_TUNED_MS   20.8 /* 20.3 / 20.8 / 21.2 M rec/s */
#define REF_PORT_ALONE_NS     18.0 /* plain port, producer alone, ns/record */

/* Goals (issue 5). */
#define GOAL_ALONE_NS       10.0
#define GOAL_DEFAULT_FACTOR 3.0
#define GOAL_TUNED_FACTOR   5.0
#define GOAL_KCONS_FACTOR   2.0
#define GOAL_NP_RATIO       0.5
#define GOAL_MEMCPY_RATIO   0.5
#define GOAL_LAT_FACTOR     1.5

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static struct {
	int reps;
	double seconds;
	int lat_samples; /* per latency row, over all repetitions */
	const char *json;
	const char *plot;
	const char *only; /* run only rows whose name contains this */
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

static uint64_t tv_ns(const struct rusage *ru)
{
	return ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) * 1000ULL;
}

/* CPU time (user + system) and voluntary context switches of the calling
 * thread. */
struct tstat {
	uint64_t cpu_ns;
	uint64_t vcsw;
};

static struct tstat thread_stat(void)
{
	struct rusage ru;
	struct tstat t = { 0, 0 };

	if (getrusage(RUSAGE_THREAD, &ru))
		return t;
	t.cpu_ns = tv_ns(&ru);
	t.vcsw = (uint64_t)ru.ru_nvcsw;
	return t;
}

static uint64_t thread_cpu_ns(void)
{
	return thread_stat().cpu_ns;
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

/* CPU time of this whole process (and its waited-for children) so far, ns. */
static uint64_t process_cpu_ns(void)
{
	struct rusage ru, rc;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	if (getrusage(RUSAGE_CHILDREN, &rc))
		return tv_ns(&ru);
	return tv_ns(&ru) + tv_ns(&rc);
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

/* Fill and drain twice round (producer handle @p, consumer handle @c) so
 * that page faults of a fresh ring stay out of the timed region. */
static void prefault2(struct ringbuf *p, struct ringbuf *c)
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

static void prefault(struct ringbuf *rb)
{
	prefault2(rb, rb);
}

/* ------------------------------------------------------------------------
 * Record format and the consumer's check
 * ------------------------------------------------------------------------ */

struct verifier {
	uint64_t expected[KB_MAX_IDS]; /* next sequence per producer */
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
 * Rows
 * ------------------------------------------------------------------------ */

enum kind {
	K_ALONE,   /* ringbuf producer alone */
	K_STREAM,  /* producers + consumer: ringbuf ring or kernel map */
	K_PROC,    /* producer processes on a named ring */
	K_KALONE,  /* BPF producer alone */
	K_KDRAIN,  /* a consumer alone, draining a full kernel ring */
	K_IPC,     /* pipe / unix datagram socket */
	K_MEMCPY,  /* memcpy bandwidth */
	K_LAT,     /* wakeup latency */
};
enum cmode { C_POLL, C_NAP, C_SPIN, C_EPOLL };
enum ctype { CO_USER, CO_RB, CO_LIBBPF }; /* ringbuf ring; kernel map read by ringbuf / libbpf */
enum sub { S_NONE, S_PIPE, S_PIPE_BATCH, S_DGRAM, S_DGRAM_BATCH, S_LAT_RB, S_LAT_FUTEX,
	   S_LAT_EVENTFD, S_LAT_KRB, S_LAT_KLIBBPF };
enum unit { U_NS_REC, U_MREC_S, U_GB_S, U_US };

struct rowdef {
	const char *name;
	enum kind kind;
	int nprod;
	size_t size;      /* record payload bytes */
	size_t ring;      /* data bytes */
	uint64_t flags;   /* producer wakeup flags */
	enum cmode mode;  /* consumer form */
	enum ctype cons;  /* consumer implementation */
	enum sub sub;
	bool reserve;     /* producer uses reserve+submit instead of output */
	bool kernel;      /* needs BPF */
	const char *peer; /* kernel+libbpf row of the same form (ratio column) */
	const char *desc;
};

/* One measurement. */
struct sample {
	double value;       /* in the row's unit */
	double bytes_s;     /* payload bytes per second */
	double prod_cpu;    /* producer CPU ns per record (all producers) */
	double cons_cpu;    /* consumer CPU ns per record */
	double wakes;       /* consumer voluntary context switches per record */
	uint64_t records;
	uint64_t drops;     /* ring-full returns that made a producer retry (see desc) */
	uint64_t timeouts;  /* poll calls that returned 0 */
};

#define DEF  C_POLL
#define NAP  C_NAP
#define SPIN C_SPIN
#define EPL  C_EPOLL
#define NOW  RINGBUF_NO_WAKEUP
#define FRC  RINGBUF_FORCE_WAKEUP

static const struct rowdef rows[] = {
	/* ---- ringbuf, user space ---- */
	{ "producer-alone", K_ALONE, 1, 8, ALONE_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-alone", "ringbuf_output, 64 MiB ring, no consumer (DRAM write-bound)" },
	{ "producer-alone-1MiB", K_ALONE, 1, 8, WARM_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-alone", "ringbuf_output, 1 MiB ring that stays in cache: the library's own cost" },
	{ "producer-alone-reserve", K_ALONE, 1, 8, ALONE_RING, NOW, NAP, CO_USER, S_NONE, true,
	  false, "k-alone", "reserve+submit, 64 MiB ring, no consumer" },
	{ "1p1c-default", K_STREAM, 1, 8, TUNED_RING, 0, DEF, CO_USER, S_NONE, false, false,
	  "k-libbpf-default", "output, adaptive, consumer loops on ringbuf_poll(100 ms)" },
	{ "1p1c-default-reserve", K_STREAM, 1, 8, TUNED_RING, 0, DEF, CO_USER, S_NONE, true, false,
	  "k-libbpf-default", "reserve+submit, adaptive, consumer loops on ringbuf_poll" },
	{ "1p1c-wm-4KiB", K_STREAM, 1, 8, TUNED_RING, 0, DEF, CO_USER, S_NONE, false, false,
	  "k-libbpf-default", "output, adaptive, ringbuf_poll(100 ms), watermark 4 KiB" },
	{ "1p1c-wm-64KiB", K_STREAM, 1, 8, TUNED_RING, 0, DEF, CO_USER, S_NONE, false, false,
	  "k-libbpf-default", "output, adaptive, ringbuf_poll(100 ms), watermark 64 KiB" },
	{ "1p1c-epoll", K_STREAM, 1, 8, TUNED_RING, 0, EPL, CO_USER, S_NONE, false, false,
	  "k-libbpf-default", "output, adaptive, epoll_wait(100 ms) on ringbuf_epoll_fd + consume" },
	{ "1p1c-epoll-wm-64KiB", K_STREAM, 1, 8, TUNED_RING, 0, EPL, CO_USER, S_NONE, false, false,
	  "k-libbpf-default", "as 1p1c-epoll, watermark 64 KiB" },
	{ "1p1c-force", K_STREAM, 1, 8, TUNED_RING, FRC, DEF, CO_USER, S_NONE, false, false,
	  "k-libbpf-force", "output, FORCE_WAKEUP every record, consumer loops on ringbuf_poll" },
	{ "1p1c-adaptive-spin", K_STREAM, 1, 8, TUNED_RING, 0, SPIN, CO_USER, S_NONE, false, false,
	  "k-libbpf-spin", "output, adaptive, consumer spins on ringbuf_consume" },
	{ "1p1c-tuned", K_STREAM, 1, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned", "output, NO_WAKEUP, consumer ringbuf_consume every 5 ms" },
	{ "1p1c-tuned-reserve", K_STREAM, 1, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, true, false,
	  "k-libbpf-tuned", "reserve+submit, NO_WAKEUP, consumer every 5 ms" },
	{ "1p1c-spin", K_STREAM, 1, 8, TUNED_RING, NOW, SPIN, CO_USER, S_NONE, false, false,
	  "k-libbpf-spin", "output, NO_WAKEUP, consumer spins on ringbuf_consume" },
	{ "1p1c-tuned-64B", K_STREAM, 1, 64, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned-64B", "64-byte records, tuned form" },
	{ "1p1c-tuned-512B", K_STREAM, 1, 512, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned-512B", "512-byte records, tuned form" },
	{ "1p1c-tuned-4096B", K_STREAM, 1, 4096, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false,
	  false, "k-libbpf-tuned-4096B", "4 KiB records, tuned form (<= 16 MiB per 5 ms nap)" },
	{ "1p1c-spin-64B", K_STREAM, 1, 64, TUNED_RING, NOW, SPIN, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned-64B", "64-byte records, spinning consumer" },
	{ "1p1c-spin-512B", K_STREAM, 1, 512, TUNED_RING, NOW, SPIN, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned-512B", "512-byte records, spinning consumer" },
	{ "1p1c-spin-4096B", K_STREAM, 1, 4096, TUNED_RING, NOW, SPIN, CO_USER, S_NONE, false,
	  false, "k-libbpf-tuned-4096B", "4 KiB records, spinning consumer" },
	{ "2p-tuned", K_STREAM, 2, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-2p", "2 producer threads, pinned round-robin, tuned form" },
	{ "4p-tuned", K_STREAM, 4, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-4p", "4 producer threads, pinned round-robin, tuned form" },
	{ "8p-tuned", K_STREAM, 8, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-8p", "8 producer threads, pinned round-robin, tuned form" },
	{ "4proc-tuned", K_PROC, 4, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-4p", "4 producer processes, named ring (ringbuf_create/ringbuf_open), tuned" },
	/* ---- kernel BPF ring buffer ---- */
	{ "k-alone", K_KALONE, 1, 8, KERNEL_RING, NOW, NAP, CO_RB, S_NONE, false, true, "k-alone",
	  "BPF bpf_ringbuf_output, 500/run, 16 MiB map, no consumer (incl. syscall)" },
	{ "k-libbpf-default", K_STREAM, 1, 8, KERNEL_RING, 0, DEF, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-default", "BPF adaptive; libbpf ring_buffer__poll(100 ms) loop" },
	{ "k-rbcons-default", K_STREAM, 1, 8, KERNEL_RING, 0, DEF, CO_RB, S_NONE, false, true,
	  "k-libbpf-default", "BPF adaptive; ringbuf_map_open + ringbuf_poll loop" },
	{ "k-libbpf-force", K_STREAM, 1, 8, KERNEL_RING, FRC, DEF, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-force", "BPF FORCE_WAKEUP; libbpf ring_buffer__poll loop" },
	{ "k-rbcons-force", K_STREAM, 1, 8, KERNEL_RING, FRC, DEF, CO_RB, S_NONE, false, true,
	  "k-libbpf-force", "BPF FORCE_WAKEUP; ringbuf_poll loop" },
	{ "k-libbpf-tuned", K_STREAM, 1, 8, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-tuned", "BPF NO_WAKEUP; libbpf ring_buffer__consume every 5 ms" },
	{ "k-rbcons-tuned", K_STREAM, 1, 8, KERNEL_RING, NOW, NAP, CO_RB, S_NONE, false, true,
	  "k-libbpf-tuned", "BPF NO_WAKEUP; ringbuf_consume every 5 ms" },
	{ "k-libbpf-spin", K_STREAM, 1, 8, KERNEL_RING, NOW, SPIN, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-spin", "BPF NO_WAKEUP; libbpf ring_buffer__consume spinning" },
	{ "k-rbcons-spin", K_STREAM, 1, 8, KERNEL_RING, NOW, SPIN, CO_RB, S_NONE, false, true,
	  "k-libbpf-spin", "BPF NO_WAKEUP; ringbuf_consume spinning" },
	{ "k-libbpf-drain", K_KDRAIN, 1, 8, KERNEL_RING, NOW, SPIN, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-drain", "libbpf ring_buffer__consume alone on a full 16 MiB ring" },
	{ "k-rbcons-drain", K_KDRAIN, 1, 8, KERNEL_RING, NOW, SPIN, CO_RB, S_NONE, false, true,
	  "k-libbpf-drain", "ringbuf_consume alone on a full 16 MiB kernel ring" },
	{ "k-libbpf-tuned-64B", K_STREAM, 1, 64, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false,
	  true, "k-libbpf-tuned-64B", "64-byte records, kernel tuned form" },
	{ "k-libbpf-tuned-512B", K_STREAM, 1, 512, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false,
	  true, "k-libbpf-tuned-512B", "512-byte records, kernel tuned form" },
	{ "k-libbpf-tuned-4096B", K_STREAM, 1, 4096, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE,
	  false, true, "k-libbpf-tuned-4096B", "4 KiB records, kernel tuned form" },
	{ "k-libbpf-2p", K_STREAM, 2, 8, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-2p", "2 BPF producer threads, kernel tuned form" },
	{ "k-libbpf-4p", K_STREAM, 4, 8, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-4p", "4 BPF producer threads, kernel tuned form" },
	{ "k-libbpf-8p", K_STREAM, 8, 8, KERNEL_RING, NOW, NAP, CO_LIBBPF, S_NONE, false, true,
	  "k-libbpf-8p", "8 BPF producer threads, kernel tuned form" },
	/* ---- what a user would otherwise reach for ---- */
	{ "pipe", K_IPC, 1, 8, 0, 0, DEF, CO_USER, S_PIPE, false, false, "k-libbpf-default",
	  "pipe, one 8-byte write()/read() per record, blocking" },
	{ "pipe-batch", K_IPC, 1, 8, 0, 0, DEF, CO_USER, S_PIPE_BATCH, false, false,
	  "k-libbpf-default", "pipe, 512 records per write(), read() up to 64 KiB" },
	{ "unix-dgram", K_IPC, 1, 8, 0, 0, DEF, CO_USER, S_DGRAM, false, false, "k-libbpf-default",
	  "AF_UNIX SOCK_DGRAM socketpair, one send()/recv() per record" },
	{ "unix-dgram-batch", K_IPC, 1, 8, 0, 0, DEF, CO_USER, S_DGRAM_BATCH, false, false,
	  "k-libbpf-default", "AF_UNIX SOCK_DGRAM, sendmmsg/recvmmsg of 64 records" },
	/* ---- references ---- */
	{ "memcpy-4KiB", K_MEMCPY, 0, MEMCPY_CHUNK, MEMCPY_BUF, 0, NAP, CO_USER, S_NONE, false,
	  false, NULL, "4 KiB memcpy between two 64 MiB buffers (beyond L3: DRAM-bound)" },
	{ "memcpy-4KiB-16MiB", K_MEMCPY, 0, MEMCPY_CHUNK, TUNED_RING, 0, NAP, CO_USER, S_NONE,
	  false, false, NULL, "4 KiB memcpy between two 16 MiB buffers (the ring's footprint)" },
	/* ---- wakeup latency ---- */
	{ "lat-ringbuf", K_LAT, 1, 8, LAT_RING, 0, DEF, CO_USER, S_LAT_RB, false, false,
	  "lat-k-libbpf", "ringbuf_output(adaptive) -> ringbuf_poll(-1) callback" },
	{ "lat-futex", K_LAT, 1, 8, 0, 0, DEF, CO_USER, S_LAT_FUTEX, false, false, "lat-k-libbpf",
	  "raw FUTEX_WAKE -> FUTEX_WAIT return" },
	{ "lat-eventfd", K_LAT, 1, 8, 0, 0, DEF, CO_USER, S_LAT_EVENTFD, false, false,
	  "lat-k-libbpf", "raw eventfd write() -> blocking read() return" },
	{ "lat-k-rbcons", K_LAT, 1, 8, KERNEL_RING, 0, DEF, CO_RB, S_LAT_KRB, false, true,
	  "lat-k-libbpf", "BPF output(adaptive, bpf_ktime_get_ns) -> ringbuf_poll(-1) callback" },
	{ "lat-k-libbpf", K_LAT, 1, 8, KERNEL_RING, 0, DEF, CO_LIBBPF, S_LAT_KLIBBPF, false, true,
	  "lat-k-libbpf", "BPF output(adaptive) -> ring_buffer__poll(-1) callback" },
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* The rows with a wakeup watermark (ringbuf_set_watermark); 0 for the rest. */
static uint64_t row_watermark(const struct rowdef *r)
{
	static const struct {
		const char *row;
		uint64_t bytes;
	} wm[] = {
		{ "1p1c-wm-4KiB", 4 * KIB },
		{ "1p1c-wm-64KiB", 64 * KIB },
		{ "1p1c-epoll-wm-64KiB", 64 * KIB },
	};

	for (size_t i = 0; i < sizeof(wm) / sizeof(wm[0]); i++)
		if (!strcmp(r->name, wm[i].row))
			return wm[i].bytes;
	return 0;
}

static enum unit row_unit(const struct rowdef *r)
{
	switch (r->kind) {
	case K_ALONE:
	case K_KALONE:
	case K_KDRAIN:
		return U_NS_REC;
	case K_MEMCPY:
		return U_GB_S;
	case K_LAT:
		return U_US;
	default:
		return U_MREC_S;
	}
}

static const char *unit_name(enum unit u)
{
	return u == U_NS_REC ? "ns/rec" : u == U_GB_S ? "GB/s" : u == U_US ? "us p50" : "Mrec/s";
}

/* ------------------------------------------------------------------------
 * The kernel side: the BPF object, its ring, two persistent consumers
 * ------------------------------------------------------------------------ */

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
static void kb_run(struct kb_ctx *c)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = c, .ctx_size_in = sizeof(*c));
	int err = bpf_prog_test_run_opts(kb.prog_fd, &o);

	if (err || o.retval)
		die("BPF_PROG_TEST_RUN: %d (%s), retval %d", err, strerror(err < 0 ? -err : errno),
		    (int)o.retval);
}

/* Fill the kernel ring with NO_WAKEUP records until output fails; returns
 * the records placed (sequence continues from *seq). */
static uint64_t kb_fill(uint32_t id, uint32_t size, uint64_t *seq)
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
struct cons_h {
	enum ctype type;
	struct ringbuf *rb;
};

static void ch_bind(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	if (h->type == CO_LIBBPF) {
		kb.lb_fn = fn;
		kb.lb_ctx = ctx;
	}
}

static int ch_consume(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	if (h->type == CO_LIBBPF)
		return ring_buffer__consume(kb.lb);
	return ringbuf_consume(h->rb, fn, ctx);
}

static int ch_poll(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx, int ms)
{
	int n;

	if (h->type != CO_LIBBPF)
		return ringbuf_poll(h->rb, fn, ctx, ms);
	do
		n = ring_buffer__poll(kb.lb, ms);
	while (n == -EINTR);
	return n;
}

static uint64_t ch_drain(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx)
{
	uint64_t total = 0;
	int n;

	while ((n = ch_consume(h, fn, ctx)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		die("consume: %s", strerror(-n));
	return total;
}

static void kernel_setup(const char *argv0)
{
	char path[PATH_MAX], exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct bpf_map *map;
	struct bpf_program *prog;
	uint64_t seq = 0, n = 0;
	struct cons_h h;
	struct verifier v = { .size = 8, .row = "kernel warm-up" };
	int fd, err;

	(void)argv0;
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
	a->out.bytes_s = 8e9 / a->out.value;
	return NULL;
}

/* The BPF producer alone: timed fills of the kernel ring (500 records per
 * BPF_PROG_TEST_RUN, the syscall included), untimed drains. */
static void *kalone_main(void *p)
{
	struct alone_arg *a = p;
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
	struct alone_arg *a = p;
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
				drops++;
				while ((s = ringbuf_reserve(rb, size, 0)) == NULL) {
					if (errno != EAGAIN)
						die("%s: ringbuf_reserve: %s", r->row->name,
						    strerror(errno));
					cpu_relax();
				}
			}
			memcpy(s, buf, size);
			ringbuf_submit(s, flags);
			continue;
		}
		if ((err = ringbuf_output(rb, buf, size, flags)) == -EAGAIN) {
			drops++;
			do
				cpu_relax();
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
			drops += seq != failed_at;
			failed_at = seq;
			cpu_relax();
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
	if (row->kernel) {
		r->ch.type = row->cons;
		r->ch.rb = kb.rh;
	} else {
		r->rb = new_ring(row->ring);
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
	ringbuf_free(r->rb);
	free(r);
}

/* ------------------------------------------------------------------------
 * producer processes on a named ring
 * ------------------------------------------------------------------------ */

struct proc_result {
	int id, err;
	uint64_t sent, drops, cpu_ns, t_start;
};

static void proc_child(const char *name, int id, int go_fd, int res_fd, const struct rowdef *row,
		       uint64_t dur_ns)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_PRODUCER };
	struct proc_result res = { .id = id };
	struct ringbuf *rb;
	uint64_t buf[MAX_REC / 8 + 1], seq = 0, deadline, cpu0;
	const uint64_t tag = (uint64_t)id << ID_SHIFT;
	char c;

	pin_self(cfg.allowed[id % cfg.ncpus]);
	memset(buf, 0x5a, sizeof(buf));
	rb = ringbuf_open(name, &o);
	if (!rb)
		res.err = errno;
	/* the parent closes its end of the go pipe: every child starts at once */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	cpu0 = process_cpu_ns();
	res.t_start = now_ns();
	deadline = res.t_start + dur_ns;
	for (; rb; seq++) {
		long err;

		if ((seq & 255) == 0 && now_ns() >= deadline)
			break;
		fill_record(buf, row->size, tag | seq);
		if ((err = ringbuf_output(rb, buf, row->size, row->flags)) == -EAGAIN) {
			res.drops++;
			do
				cpu_relax();
			while ((err = ringbuf_output(rb, buf, row->size, row->flags)) == -EAGAIN);
		}
		if (err) {
			res.err = (int)-err;
			break;
		}
	}
	res.cpu_ns = process_cpu_ns() - cpu0;
	res.sent = seq;
	if (write(res_fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(3);
	ringbuf_free(rb);
	_exit(0);
}

struct proc_arg {
	const struct rowdef *row;
	uint64_t dur_ns;
	struct sample out;
};

static void *procs_main(void *p)
{
	struct proc_arg *a = p;
	const struct rowdef *row = a->row;
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct verifier v = { .size = row->size, .row = row->name };
	struct proc_result res[MAX_PRODUCERS];
	struct ringbuf *rb, *pre;
	pid_t pid[MAX_PRODUCERS];
	int go[2], rp[2], nres = 0;
	uint64_t sent = 0, t0 = UINT64_MAX, pcpu = 0, t_end;
	struct tstat s0, s1;
	char name[64];

	pin_self(cfg.cpus[1]);
	snprintf(name, sizeof(name), "bench.%d", (int)getpid());
	rb = ringbuf_create(name, row->ring, &co);
	if (!rb)
		die("ringbuf_create(%s): %s", name, strerror(errno));
	pre = ringbuf_open(name, &po); /* allocate the pages before the children map them */
	if (!pre)
		die("ringbuf_open(%s, producer): %s", name, strerror(errno));
	prefault2(pre, rb);
	ringbuf_free(pre);
	if (pipe(go) || pipe(rp))
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (int i = 0; i < row->nprod; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			close(go[1]);
			close(rp[0]);
			proc_child(name, i, go[0], rp[1], row, a->dur_ns);
		}
	}
	close(go[0]);
	close(rp[1]);
	nap_ns(20 * 1000000L); /* let every child open the ring */
	s0 = thread_stat();
	close(go[1]); /* start */
	while (nres < row->nprod) {
		struct pollfd pf = { .fd = rp[0], .events = POLLIN };
		int n = ringbuf_consume(rb, verify_cb, &v);

		if (n < 0)
			die("%s: ringbuf_consume: %s", row->name, strerror(-n));
		while (nres < row->nprod && poll(&pf, 1, 0) == 1) {
			if (read(rp[0], &res[nres], sizeof(res[0])) != (ssize_t)sizeof(res[0]))
				die("%s: a producer process died", row->name);
			if (res[nres].err)
				die("%s: producer process %d: %s", row->name, res[nres].id,
				    strerror(res[nres].err));
			nres++;
		}
		if (nres < row->nprod)
			nap_ns(TUNED_NAP_NS);
	}
	drain(rb, verify_cb, &v);
	t_end = now_ns();
	s1 = thread_stat();
	for (int i = 0; i < row->nprod; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		sent += res[i].sent;
		pcpu += res[i].cpu_ns;
		a->out.drops += res[i].drops;
		if (res[i].t_start < t0)
			t0 = res[i].t_start;
	}
	close(rp[0]);
	if (v.received != sent)
		die("%s: producers sent %" PRIu64 ", consumer got %" PRIu64, row->name, sent,
		    v.received);
	ringbuf_unlink(name);
	ringbuf_free(rb);
	a->out.records = v.received;
	a->out.value = (double)v.received / ((double)(t_end - t0) / 1e9) / 1e6;
	a->out.bytes_s = a->out.value * 1e6 * (double)row->size;
	a->out.prod_cpu = (double)pcpu / (double)v.received;
	a->out.cons_cpu = (double)(s1.cpu_ns - s0.cpu_ns) / (double)v.received;
	a->out.wakes = (double)(s1.vcsw - s0.vcsw) / (double)v.received;
	return NULL;
}

/* ------------------------------------------------------------------------
 * pipe and unix datagram socket
 * ------------------------------------------------------------------------ */

struct ipc_run {
	const struct rowdef *row;
	int wfd, rfd;
	uint64_t dur_ns;
	uint64_t t_start, t_end, sent, received, pcpu, ccpu, vcsw;
};

static void *ipc_producer(void *p)
{
	struct ipc_run *r = p;
	enum sub s = r->row->sub;
	uint64_t buf[IPC_BATCH], seq = 0, deadline, cpu0;
	struct mmsghdr mm[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];

	pin_self(cfg.cpus[0]);
	for (int i = 0; i < DGRAM_BATCH; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 8;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	cpu0 = thread_cpu_ns();
	r->t_start = now_ns();
	deadline = r->t_start + r->dur_ns;
	while (now_ns() < deadline) {
		int batch = s == S_PIPE_BATCH ? IPC_BATCH : s == S_DGRAM_BATCH ? DGRAM_BATCH : 1;

		for (int k = 0; k < 64; k++) { /* check the clock every 64 calls */
			ssize_t w;

			for (int i = 0; i < batch; i++)
				buf[i] = seq + (uint64_t)i;
			if (s == S_DGRAM_BATCH) {
				int sentn = 0;

				while (sentn < batch) {
					int m = sendmmsg(r->wfd, mm + sentn,
							 (unsigned)(batch - sentn), 0);

					if (m < 0 && errno != EINTR)
						die("sendmmsg: %s", strerror(errno));
					if (m > 0)
						sentn += m;
				}
			} else {
				do
					w = write(r->wfd, buf, (size_t)batch * 8);
				while (w < 0 && errno == EINTR);
				if (w != (ssize_t)batch * 8)
					die("%s: write: %zd (%s)", r->row->name, w,
					    strerror(errno));
			}
			seq += (uint64_t)batch;
		}
	}
	r->pcpu = thread_cpu_ns() - cpu0;
	r->sent = seq;
	/* end of stream: EOF on a pipe, an empty datagram on the socket */
	if (s == S_PIPE || s == S_PIPE_BATCH)
		close(r->wfd);
	else if (send(r->wfd, buf, 0, 0) != 0)
		die("send: %s", strerror(errno));
	return NULL;
}

static void *ipc_consumer(void *p)
{
	struct ipc_run *r = p;
	enum sub s = r->row->sub;
	struct verifier v = { .size = 8, .row = r->row->name };
	static _Thread_local uint64_t buf[8192 + 1];
	struct mmsghdr mm[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	size_t have = 0; /* bytes carried over (pipe-batch) */
	struct tstat t0, t1;

	pin_self(cfg.cpus[1]);
	for (int i = 0; i < DGRAM_BATCH; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 8;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = thread_stat();
	for (;;) {
		ssize_t n;

		if (s == S_PIPE || s == S_DGRAM) {
			n = s == S_PIPE ? read(r->rfd, buf, 8) : recv(r->rfd, buf, 8, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				break;
			if (n != 8)
				die("%s: read %zd (%s)", r->row->name, n, strerror(errno));
			verify_cb(&v, buf, 8);
		} else if (s == S_PIPE_BATCH) {
			n = read(r->rfd, (char *)buf + have, sizeof(buf) - 8 - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("%s: read: %s", r->row->name, strerror(errno));
			if (n == 0)
				break;
			have += (size_t)n;
			for (size_t off = 0; off + 8 <= have; off += 8)
				verify_cb(&v, (char *)buf + off, 8);
			if (have % 8)
				memmove(buf, (char *)buf + (have & ~(size_t)7), have % 8);
			have %= 8;
		} else {
			int m = recvmmsg(r->rfd, mm, DGRAM_BATCH, MSG_WAITFORONE, NULL);
			bool end = false;

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				die("%s: recvmmsg: %s", r->row->name, strerror(errno));
			for (int i = 0; i < m; i++) {
				if (mm[i].msg_len == 0) {
					end = true;
					break;
				}
				verify_cb(&v, &buf[i], 8);
			}
			if (end)
				break;
		}
	}
	r->t_end = now_ns();
	t1 = thread_stat();
	r->ccpu = t1.cpu_ns - t0.cpu_ns;
	r->vcsw = t1.vcsw - t0.vcsw;
	r->received = v.received;
	return NULL;
}

static void run_ipc(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct ipc_run r = { .row = row, .dur_ns = dur_ns };
	pthread_t tp, tc;
	int fds[2];

	if (row->sub == S_PIPE || row->sub == S_PIPE_BATCH) {
		if (pipe(fds))
			die("pipe: %s", strerror(errno));
		r.rfd = fds[0];
		r.wfd = fds[1];
	} else {
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds))
			die("socketpair: %s", strerror(errno));
		r.rfd = fds[0];
		r.wfd = fds[1];
	}
	if (pthread_create(&tc, NULL, ipc_consumer, &r) ||
	    pthread_create(&tp, NULL, ipc_producer, &r))
		die("pthread_create");
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	close(r.rfd);
	if (row->sub != S_PIPE && row->sub != S_PIPE_BATCH)
		close(r.wfd);
	if (r.received != r.sent)
		die("%s: sent %" PRIu64 ", received %" PRIu64, row->name, r.sent, r.received);
	memset(out, 0, sizeof(*out));
	out->records = r.received;
	out->value = (double)r.received / ((double)(r.t_end - r.t_start) / 1e9) / 1e6;
	out->bytes_s = out->value * 8e6;
	out->prod_cpu = (double)r.pcpu / (double)r.received;
	out->cons_cpu = (double)r.ccpu / (double)r.received;
	out->wakes = (double)r.vcsw / (double)r.received;
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
 * Wakeup latency: the producer stamps CLOCK_MONOTONIC, commits, and waits
 * 1 ms (the consumer is asleep again by then); the consumer's callback (or
 * the return of its wait) takes now - stamp.
 * ------------------------------------------------------------------------ */

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

static int lat_pool_n[NROWS];
static double *lat_pool[NROWS];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile of sorted @v (nearest rank). */
static double pct(const double *v, int n, double q)
{
	int i = (int)ceil(q * n) - 1;

	if (n <= 0)
		return NAN;
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void run_lat(int ri, int n, struct sample *out)
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
		r->rb = new_ring(row->ring);
		prefault(r->rb);
		r->ch.type = CO_USER;
		r->ch.rb = r->rb;
	} else if (row->sub == S_LAT_EVENTFD) {
		r->efd = eventfd(0, EFD_CLOEXEC);
		if (r->efd < 0)
			die("eventfd: %s", strerror(errno));
	} else if (row->kernel) {
		r->ch.type = row->cons;
		r->ch.rb = kb.rh;
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

/* ------------------------------------------------------------------------
 * Driver, statistics, report
 * ------------------------------------------------------------------------ */

static struct sample samples[NROWS][MAX_REPS];

static bool row_skipped(int ri)
{
	return (rows[ri].kernel && !kb.ok) || (cfg.only && !strstr(rows[ri].name, cfg.only));
}

static const char *skip_reason(int ri)
{
	return rows[ri].kernel && !kb.ok ? kb.why : "not selected (--only)";
}

static void measure(int ri, int rep, uint64_t dur_ns)
{
	const struct rowdef *row = &rows[ri];
	pthread_t t;

	if (row_skipped(ri))
		return;
	switch (row->kind) {
	case K_ALONE:
	case K_KALONE:
	case K_KDRAIN: {
		struct alone_arg a = { .row = row, .dur_ns = dur_ns };

		pthread_create(&t, NULL,
			       row->kind == K_ALONE ? alone_main :
			       row->kind == K_KALONE ? kalone_main : kdrain_main, &a);
		pthread_join(t, NULL);
		samples[ri][rep] = a.out;
		break;
	}
	case K_MEMCPY: {
		struct memcpy_arg a = { .dur_ns = dur_ns, .span = row->ring };

		pthread_create(&t, NULL, memcpy_main, &a);
		pthread_join(t, NULL);
		samples[ri][rep] = a.out;
		break;
	}
	case K_PROC: {
		struct proc_arg a = { .row = row, .dur_ns = dur_ns };

		pthread_create(&t, NULL, procs_main, &a);
		pthread_join(t, NULL);
		samples[ri][rep] = a.out;
		break;
	}
	case K_IPC:
		run_ipc(row, dur_ns, &samples[ri][rep]);
		break;
	case K_LAT: {
		int n = cfg.lat_samples / cfg.reps;

		run_lat(ri, n < 10 ? 10 : n, &samples[ri][rep]);
		break;
	}
	case K_STREAM:
		run_stream(row, dur_ns, &samples[ri][rep]);
		break;
	}
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

#define F_VALUE offsetof(struct sample, value)
#define F_BYTES offsetof(struct sample, bytes_s)

/* Median of a row's value; NAN if the row was skipped. */
static double med(const char *name)
{
	int ri = row_index(name);

	return row_skipped(ri) ? NAN : stat_of(ri, F_VALUE).med;
}

static double med_bytes(const char *name)
{
	int ri = row_index(name);

	return row_skipped(ri) ? NAN : stat_of(ri, F_BYTES).med;
}

/* Ratio of a row to its kernel+libbpf peer, > 1 meaning better than the
 * kernel: rates divide, costs (ns/rec, us) invert. */
static double peer_ratio(int ri)
{
	const struct rowdef *row = &rows[ri];
	double mine, theirs;

	if (!row->peer || row_skipped(ri))
		return NAN;
	mine = med(row->name);
	theirs = med(row->peer);
	if (isnan(theirs))
		return NAN;
	return row_unit(row) == U_NS_REC || row_unit(row) == U_US ? theirs / mine : mine / theirs;
}

static const char *section_of(int ri)
{
	const struct rowdef *r = &rows[ri];

	if (r->kind == K_LAT)
		return "wakeup latency";
	if (r->kind == K_IPC)
		return "alternatives";
	if (r->kind == K_MEMCPY)
		return "references";
	if (r->kernel)
		return "kernel BPF ring buffer";
	return "ringbuf, user space";
}

static void print_table(void)
{
	const char *sect = NULL;

	printf("\n%-22s %9s %-6s %17s %8s %8s %8s %7s %7s %7s\n", "row", "median", "unit",
	       "min .. max", "MB/s", "drops", "wake/rec", "p-CPU", "c-CPU", "x-kern");
	for (int ri = 0; ri < NROWS; ri++) {
		const struct rowdef *row = &rows[ri];
		struct stat3 s;
		char spread[40], mbs[16] = "-", drops[16] = "-", wk[16] = "-", pc[16] = "-",
			cc[16] = "-", xk[16] = "-";
		double x;

		if (!sect || strcmp(sect, section_of(ri))) {
			sect = section_of(ri);
			printf("-- %s\n", sect);
		}
		if (row->kind == K_LAT)
			continue; /* own table */
		if (row_skipped(ri)) {
			printf("%-22s skipped: %s\n", row->name, skip_reason(ri));
			continue;
		}
		s = stat_of(ri, F_VALUE);
		snprintf(spread, sizeof(spread), "%.2f .. %.2f", s.min, s.max);
		snprintf(mbs, sizeof(mbs), "%.0f", stat_of(ri, F_BYTES).med / 1e6);
		if (row->kind == K_STREAM || row->kind == K_PROC || row->kind == K_KALONE)
			snprintf(drops, sizeof(drops), "%" PRIu64,
				 median_u64(ri, offsetof(struct sample, drops)));
		if (row->kind == K_STREAM || row->kind == K_PROC || row->kind == K_IPC)
			snprintf(wk, sizeof(wk), "%.3g",
				 stat_of(ri, offsetof(struct sample, wakes)).med);
		if (row->kind != K_MEMCPY && row->kind != K_KDRAIN)
			snprintf(pc, sizeof(pc), "%.1f",
				 stat_of(ri, offsetof(struct sample, prod_cpu)).med);
		if (row->kind != K_MEMCPY && row->kind != K_ALONE && row->kind != K_KALONE)
			snprintf(cc, sizeof(cc), "%.1f",
				 stat_of(ri, offsetof(struct sample, cons_cpu)).med);
		x = peer_ratio(ri);
		if (!isnan(x))
			snprintf(xk, sizeof(xk), "%.2fx", x);
		printf("%-22s %9.2f %-6s %17s %8s %8s %8s %7s %7s %7s\n", row->name, s.med,
		       unit_name(row_unit(row)), spread, mbs, drops, wk, pc, cc, xk);
	}
	printf("(median and min..max of the repetitions; MB/s = payload bytes per second;\n"
	       " drops = records that found the ring full (ringbuf: -EAGAIN, kernel: a failed\n"
	       " bpf_ringbuf_output) and were retried, median per run -- none is ever lost;\n"
	       " wake/rec = the consumer thread's voluntary context switches (sleeps) per record;\n"
	       " p-CPU / c-CPU = producer(s) / consumer CPU time per record, ns (getrusage);\n"
	       " x-kern = this row against the kernel+libbpf row of the same form, > 1 = better)\n");
}

static void print_latency(void)
{
	int fut = row_index("lat-futex");
	double fut50 = NAN;

	printf("\nWakeup latency, commit to callback with a sleeping consumer (producer waits 1 ms"
	       " between records;\n%d samples per row, pooled over the repetitions; microseconds):\n",
	       cfg.reps * (cfg.lat_samples / cfg.reps < 10 ? 10 : cfg.lat_samples / cfg.reps));
	printf("%-14s %8s %8s %8s %8s %8s %17s %9s  %s\n", "row", "p50", "p90", "p99", "p99.9",
	       "max", "p50 min .. max", "vs futex", "what");
	if (lat_pool_n[fut]) {
		qsort(lat_pool[fut], (size_t)lat_pool_n[fut], sizeof(double), cmp_double);
		fut50 = pct(lat_pool[fut], lat_pool_n[fut], 0.5);
	}
	for (int ri = 0; ri < NROWS; ri++) {
		const struct rowdef *row = &rows[ri];
		double *v = lat_pool[ri];
		int n = lat_pool_n[ri];
		struct stat3 s;

		if (row->kind != K_LAT)
			continue;
		if (row_skipped(ri)) {
			printf("%-14s skipped: %s\n", row->name, skip_reason(ri));
			continue;
		}
		qsort(v, (size_t)n, sizeof(double), cmp_double);
		s = stat_of(ri, F_VALUE);
		printf("%-14s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f .. %6.1f %8.2fx  %s\n", row->name,
		       pct(v, n, 0.5), pct(v, n, 0.9), pct(v, n, 0.99), pct(v, n, 0.999), v[n - 1],
		       s.min, s.max, pct(v, n, 0.5) / fut50, row->desc);
	}
}

enum gres { G_PASS, G_MISS, G_SKIP };

struct goal {
	const char *what;
	double measured, target;
	const char *unit;
	bool le; /* measured must be <= target (else >=) */
	char note[200];
};

#define NGOALS 7
static struct goal goals[NGOALS];
static double tuned_ceiling_gbs;

static enum gres goal_res(const struct goal *g)
{
	if (isnan(g->measured) || isnan(g->target))
		return G_SKIP;
	return (g->le ? g->measured <= g->target : g->measured >= g->target) ? G_PASS : G_MISS;
}

static const char *gres_name(enum gres r)
{
	return r == G_PASS ? "PASS" : r == G_MISS ? "MISS" : "SKIP";
}

static double lat_p50(const char *name)
{
	int ri = row_index(name);

	if (row_skipped(ri) || !lat_pool_n[ri])
		return NAN;
	qsort(lat_pool[ri], (size_t)lat_pool_n[ri], sizeof(double), cmp_double);
	return pct(lat_pool[ri], lat_pool_n[ri], 0.5);
}

static void compute_goals(void)
{
	const char *best_names[] = { "1p1c-tuned", "1p1c-tuned-reserve", "1p1c-spin" };
	const char *best = best_names[0];
	double alone = med("producer-alone-1MiB"), def = med("1p1c-default"),
	       kdef = med("k-libbpf-default"), ktuned = med("k-libbpf-tuned"),
	       tuned = med("1p1c-tuned"), np8 = med("8p-tuned"),
	       mc = fmax(med("memcpy-4KiB"), med("memcpy-4KiB-16MiB"));
	double t4k = med_bytes("1p1c-tuned-4096B"), s4k = med_bytes("1p1c-spin-4096B");
	double lrb = lat_p50("lat-ringbuf"), lfu = lat_p50("lat-futex"),
	       lev = lat_p50("lat-eventfd");
	bool spin_better = s4k > t4k;

	for (size_t i = 1; i < sizeof(best_names) / sizeof(best_names[0]); i++)
		if (med(best_names[i]) > med(best))
			best = best_names[i];
	tuned_ceiling_gbs = (double)TUNED_RING / (TUNED_NAP_NS / 1e9) / 1e9;

	goals[0] = (struct goal){ "1p/1c 8 B default form >= 3x kernel+libbpf", def,
				  GOAL_DEFAULT_FACTOR * kdef, "Mrec/s", false, "" };
	snprintf(goals[0].note, sizeof(goals[0].note),
		 "1p1c-default vs k-libbpf-default %.2f M/s: %.2fx", kdef, def / kdef);
	goals[1] = (struct goal){ "best form >= 5x kernel best tuned form", med(best),
				  GOAL_TUNED_FACTOR * ktuned, "Mrec/s", false, "" };
	snprintf(goals[1].note, sizeof(goals[1].note),
		 "%s vs k-libbpf-tuned %.2f M/s: %.2fx (k-libbpf-spin %.2f M/s)", best, ktuned,
		 med(best) / ktuned, med("k-libbpf-spin"));
	goals[2] = (struct goal){ "producer alone (cache-resident ring) <= 10 ns/record", alone, GOAL_ALONE_NS, "ns/rec",
				  true, "" };
	snprintf(goals[2].note, sizeof(goals[2].note),
		 "ringbuf_output; BPF producer (k-alone) %.2f ns/rec in this run: %.1fx", med("k-alone"),
		 med("k-alone") / alone);
	goals[3] = (struct goal){ "ringbuf consumer on kernel ring >= 2x libbpf",
				  med("k-libbpf-drain") / med("k-rbcons-drain"), GOAL_KCONS_FACTOR,
				  "x", false, "" };
	snprintf(goals[3].note, sizeof(goals[3].note),
		 "consumer alone: libbpf %.2f vs ringbuf %.2f ns/rec; streaming spin %.2fx, "
		 "default %.2fx",
		 med("k-libbpf-drain"), med("k-rbcons-drain"),
		 med("k-rbcons-spin") / med("k-libbpf-spin"),
		 med("k-rbcons-default") / med("k-libbpf-default"));
	goals[4] = (struct goal){ "8 producer threads >= 0.5x 1 producer", np8, GOAL_NP_RATIO * tuned,
				  "Mrec/s", false, "" };
	snprintf(goals[4].note, sizeof(goals[4].note),
		 "8p-tuned / 1p1c-tuned = %.2f; kernel k-libbpf-8p / k-libbpf-tuned = %.2f",
		 np8 / tuned, med("k-libbpf-8p") / ktuned);
	/* against the faster of the two memcpy references: the stricter test */
	goals[5] = (struct goal){ "4 KiB records >= 0.5x memcpy", (spin_better ? s4k : t4k) / 1e9,
				  GOAL_MEMCPY_RATIO * mc, "GB/s", false, "" };
	snprintf(goals[5].note, sizeof(goals[5].note), "%s, memcpy %.2f GB/s: %.2fx",
		 spin_better ? "1p1c-spin-4096B" : "1p1c-tuned-4096B", mc,
		 (spin_better ? s4k : t4k) / 1e9 / mc);
	goals[6] = (struct goal){ "wakeup latency p50 <= 1.5x raw futex", lrb, GOAL_LAT_FACTOR * lfu,
				  "us", true, "" };
	snprintf(goals[6].note, sizeof(goals[6].note),
		 "lat-ringbuf %.1f us, futex %.1f us (%.2fx), eventfd %.1f us (%.2fx)", lrb, lfu,
		 lrb / lfu, lev, lrb / lev);
}

static void print_comparisons(void)
{
	printf("\nBeside the figures ANCHORS.md quotes (not measured here): kernel+libbpf default "
	       "%.1f M/s, tuned %.1f M/s;\nplain user-space port producer alone %.0f ns/rec.  This "
	       "run: k-libbpf-default %.2f, k-libbpf-tuned %.2f M/s, k-alone %.2f ns/rec.\n",
	       REF_KERNEL_DEFAULT_MS, REF_KERNEL_TUNED_MS, REF_PORT_ALONE_NS,
	       med("k-libbpf-default"), med("k-libbpf-tuned"), med("k-alone"));
	printf("Multi-producer, ratio to 1 producer (tuned form): ringbuf 2p %.2fx 4p %.2fx 8p %.2fx"
	       " 4proc %.2fx; kernel 2p %.2fx 4p %.2fx 8p %.2fx\n",
	       med("2p-tuned") / med("1p1c-tuned"), med("4p-tuned") / med("1p1c-tuned"),
	       med("8p-tuned") / med("1p1c-tuned"), med("4proc-tuned") / med("1p1c-tuned"),
	       med("k-libbpf-2p") / med("k-libbpf-tuned"), med("k-libbpf-4p") / med("k-libbpf-tuned"),
	       med("k-libbpf-8p") / med("k-libbpf-tuned"));
	printf("4 KiB records vs memcpy (%.2f GB/s over 64 MiB, %.2f GB/s over 16 MiB): tuned %.2f,"
	       " spin %.2f GB/s\n (the tuned form cannot exceed %.2f GB/s: 16 MiB per 5 ms nap)\n",
	       med("memcpy-4KiB"), med("memcpy-4KiB-16MiB"), med_bytes("1p1c-tuned-4096B") / 1e9,
	       med_bytes("1p1c-spin-4096B") / 1e9, tuned_ceiling_gbs);
	for (int ri = 0; ri < NROWS; ri++) {
		uint64_t t = total_u64(ri, offsetof(struct sample, timeouts));

		if (t && !row_skipped(ri))
			printf("note: %s: poll returned 0 (timeout, or woken with nothing "
			       "deliverable) %" PRIu64 " times in all\n", rows[ri].name, t);
	}
}

static void print_goals(void)
{
	printf("\nGoals (issue 5), measured side by side in this run:\n");
	for (int i = 0; i < NGOALS; i++) {
		const struct goal *g = &goals[i];

		printf("  %-44s %9.2f %-6s target %s %7.2f   %s  (%s)\n", g->what, g->measured,
		       g->unit, g->le ? "<=" : ">=", g->target, gres_name(goal_res(g)), g->note);
	}
}

static void json_num(FILE *f, const char *key, double x, const char *sep)
{
	if (isnan(x) || isinf(x))
		fprintf(f, "\"%s\": null%s", key, sep);
	else
		fprintf(f, "\"%s\": %.4f%s", key, x, sep);
}

static void write_json(void)
{
	FILE *f = fopen(cfg.json, "w");

	if (!f)
		die("cannot write %s: %s", cfg.json, strerror(errno));
	fprintf(f, "{\n  \"reps\": %d,\n  \"seconds\": %.3f,\n  \"producer_cpu\": %d,\n"
		   "  \"consumer_cpu\": %d,\n  \"other_load_cpus\": %.3f,\n  \"steal_cpus\": %.3f,\n"
		   "  \"kernel_rows\": %s,\n  \"kernel_skip_reason\": \"%s\",\n  \"rows\": [\n",
		cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1], cfg.others, cfg.stolen,
		kb.ok ? "true" : "false", kb.ok ? "" : kb.why);
	for (int ri = 0; ri < NROWS; ri++) {
		const struct rowdef *row = &rows[ri];
		struct stat3 s;

		fprintf(f, "    {\"name\": \"%s\", \"section\": \"%s\", \"desc\": \"%s\", "
			   "\"unit\": \"%s\", \"record_size\": %zu, \"ring_size\": %zu, "
			   "\"producers\": %d, \"peer\": %s%s%s, ",
			row->name, section_of(ri), row->desc, unit_name(row_unit(row)), row->size,
			row->ring, row->nprod, row->peer ? "\"" : "", row->peer ? row->peer : "null",
			row->peer ? "\"" : "");
		if (row_skipped(ri)) {
			fprintf(f, "\"skipped\": true}%s\n", ri + 1 < NROWS ? "," : "");
			continue;
		}
		s = stat_of(ri, F_VALUE);
		fprintf(f, "\"skipped\": false, \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, "
			   "\"samples\": [", s.med, s.min, s.max);
		for (int i = 0; i < cfg.reps; i++)
			fprintf(f, "%s%.4f", i ? ", " : "", samples[ri][i].value);
		fprintf(f, "], ");
		json_num(f, "bytes_per_s_median", stat_of(ri, F_BYTES).med, ", ");
		json_num(f, "records_per_s_median",
			 row_unit(row) == U_MREC_S ? s.med * 1e6 :
			 row_unit(row) == U_NS_REC ? 1e9 / s.med : NAN, ", ");
		fprintf(f, "\"drops_median\": %" PRIu64 ", \"drops_total\": %" PRIu64
			   ", \"poll_timeouts_total\": %" PRIu64 ", ",
			median_u64(ri, offsetof(struct sample, drops)),
			total_u64(ri, offsetof(struct sample, drops)),
			total_u64(ri, offsetof(struct sample, timeouts)));
		json_num(f, "consumer_sleeps_per_rec", stat_of(ri, offsetof(struct sample, wakes)).med,
			 ", ");
		json_num(f, "producer_cpu_ns_per_rec",
			 stat_of(ri, offsetof(struct sample, prod_cpu)).med, ", ");
		json_num(f, "consumer_cpu_ns_per_rec",
			 stat_of(ri, offsetof(struct sample, cons_cpu)).med, ", ");
		if (row->kind == K_LAT && lat_pool_n[ri]) {
			double *v = lat_pool[ri];
			int n = lat_pool_n[ri];

			qsort(v, (size_t)n, sizeof(double), cmp_double);
			fprintf(f, "\"latency_samples\": %d, ", n);
			json_num(f, "p50_us", pct(v, n, 0.5), ", ");
			json_num(f, "p90_us", pct(v, n, 0.9), ", ");
			json_num(f, "p99_us", pct(v, n, 0.99), ", ");
			json_num(f, "p999_us", pct(v, n, 0.999), ", ");
			json_num(f, "max_us", v[n - 1], ", ");
		}
		json_num(f, "ratio_to_kernel_libbpf", peer_ratio(ri), "");
		fprintf(f, "}%s\n", ri + 1 < NROWS ? "," : "");
	}
	fprintf(f, "  ],\n  \"goals\": [\n");
	for (int i = 0; i < NGOALS; i++) {
		fprintf(f, "    {\"goal\": \"%s\", ", goals[i].what);
		json_num(f, "measured", goals[i].measured, ", ");
		fprintf(f, "\"unit\": \"%s\", ", goals[i].unit);
		json_num(f, "target", goals[i].target, ", ");
		fprintf(f, "\"result\": \"%s\", \"note\": \"%s\"}%s\n", gres_name(goal_res(&goals[i])),
			goals[i].note, i + 1 < NGOALS ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f))
		die("writing %s: %s", cfg.json, strerror(errno));
}

/* One data block for gnuplot: x, median, min, max of the named rows. */
static void plot_block(FILE *g, const char *block, const char *const *names, const double *xs,
		       int n, double scale, bool bytes)
{
	fprintf(g, "$%s << EOD\n", block);
	for (int i = 0; i < n; i++) {
		int ri = row_index(names[i]);
		struct stat3 s;

		if (row_skipped(ri))
			continue;
		s = stat_of(ri, bytes ? F_BYTES : F_VALUE);
		fprintf(g, "%g %g %g %g\n", xs[i], s.med * scale, s.min * scale, s.max * scale);
	}
	fprintf(g, "EOD\n");
}

static void write_plot(void)
{
	static const double sizes[] = { 8, 64, 512, 4096 }, np[] = { 1, 2, 4, 8 };
	static const char *const rb_tuned[] = { "1p1c-tuned", "1p1c-tuned-64B", "1p1c-tuned-512B",
						"1p1c-tuned-4096B" };
	static const char *const rb_spin[] = { "1p1c-spin", "1p1c-spin-64B", "1p1c-spin-512B",
					       "1p1c-spin-4096B" };
	static const char *const k_tuned[] = { "k-libbpf-tuned", "k-libbpf-tuned-64B",
					       "k-libbpf-tuned-512B", "k-libbpf-tuned-4096B" };
	static const char *const rb_np[] = { "1p1c-tuned", "2p-tuned", "4p-tuned", "8p-tuned" };
	static const char *const k_np[] = { "k-libbpf-tuned", "k-libbpf-2p", "k-libbpf-4p",
					    "k-libbpf-8p" };
	static const char *const procs[] = { "4proc-tuned" };
	static const double four[] = { 4 };
	char cmd[PATH_MAX + 64];
	FILE *g;
	int st;

	snprintf(cmd, sizeof(cmd), "gnuplot");
	g = popen(cmd, "w");
	if (!g) {
		fprintf(stderr, "warning: cannot run gnuplot (Debian: apt-get install gnuplot-nox)\n");
		return;
	}
	plot_block(g, "rbtuned", rb_tuned, sizes, 4, 1e-9, true);
	plot_block(g, "rbspin", rb_spin, sizes, 4, 1e-9, true);
	plot_block(g, "ktuned", k_tuned, sizes, 4, 1e-9, true);
	plot_block(g, "rbnp", rb_np, np, 4, 1, false);
	plot_block(g, "knp", k_np, np, 4, 1, false);
	plot_block(g, "procs", procs, four, 1, 1, false);
	fprintf(g,
		"set terminal pngcairo noenhanced size 1400,560 font ',10'\n"
		"set output '%s'\n"
		"set multiplot layout 1,2 title 'ringbuf_bench: median and min..max of %d repetitions, "
		"%.2f s each (load from others %.2f CPUs)'\n"
		"set grid\nset key bottom right\nset logscale x 2\nset logscale y\nset xrange [6:5500]\n"
		"set xlabel 'record size (bytes)'\nset ylabel 'payload throughput (GB/s)'\n"
		"set xtics (8, 64, 512, 4096)\n"
		"set title 'Throughput vs record size (1 producer, 1 consumer)'\n"
		"plot $rbtuned using 1:2:3:4 with yerrorlines lw 2 title 'ringbuf, NO_WAKEUP, consume every 5 ms', "
		"$rbspin using 1:2:3:4 with yerrorlines lw 2 title 'ringbuf, spinning consumer', "
		"$ktuned using 1:2:3:4 with yerrorlines lw 2 title 'kernel BPF + libbpf, tuned', "
		"%g with lines dt 2 lw 2 title 'memcpy 4 KiB (this run)'\n"
		"unset logscale x\nset logscale y\nset xtics (1, 2, 4, 8)\nset xrange [0.5:8.5]\n"
		"set key top right\nset xlabel 'producers (2 CPUs)'\nset ylabel 'records/s (millions), 8-byte records'\n"
		"set title 'Throughput vs producer count (tuned form)'\n"
		"plot $rbnp using 1:2:3:4 with yerrorlines lw 2 title 'ringbuf, threads', "
		"$procs using 1:2:3:4 with yerrorbars pt 7 ps 1.5 lw 2 title 'ringbuf, 4 processes (named ring)', "
		"$knp using 1:2:3:4 with yerrorlines lw 2 title 'kernel BPF + libbpf, threads'\n"
		"unset multiplot\n",
		cfg.plot, cfg.reps, cfg.seconds, cfg.others,
		fmax(med("memcpy-4KiB"), med("memcpy-4KiB-16MiB")));
	st = pclose(g);
	if (st != 0)
		fprintf(stderr, "warning: gnuplot failed (status %d); is it installed? "
				"(Debian: apt-get install gnuplot-nox)\n", st);
	else
		printf("\nplot written to %s\n", cfg.plot);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringbuf_bench [--quick] [--reps N] [--seconds S] [--json FILE] "
		   "[--plot FILE] [--only TEXT]\n"
		   "  --quick      3 repetitions of 0.1 s, 300 latency samples (under 30 s)\n"
		   "  --reps N     repetitions per row, interleaved (default 5, max %d)\n"
		   "  --seconds S  length of one measurement (default 0.4)\n"
		   "  --json FILE  also write the results as JSON\n"
		   "  --plot FILE  also draw throughput vs record size and producer count\n"
		   "               (PNG, with gnuplot: Debian package gnuplot-nox)\n"
		   "  --only TEXT  run only the rows whose name contains TEXT (goals that\n"
		   "               need other rows print SKIP)\n",
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
		} else if (!strcmp(a, "--plot") && i + 1 < argc) {
			cfg.plot = argv[++i];
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			cfg.only = argv[++i];
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
	cfg.seconds = secs > 0 ? secs : quick ? 0.1 : 0.4;
	cfg.lat_samples = quick ? LAT_SAMPLES_QUICK : LAT_SAMPLES;
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
	int nrun = 0;

	parse_args(argc, argv);
	find_cpus();
	cfg.tty = isatty(STDERR_FILENO);
	dur = (uint64_t)(cfg.seconds * 1e9);
	kernel_setup(argv[0]);
	if (!kb.ok)
		fprintf(stderr, "ringbuf_bench: kernel rows skipped: %s\n", kb.why);
	for (int ri = 0; ri < NROWS; ri++)
		nrun += !row_skipped(ri);
	machine_cpu_ns(&busy0, &steal0);
	self0 = process_cpu_ns();
	t_begin = now_ns();
	fprintf(stderr, "ringbuf_bench: %d rows x %d reps x %.2f s, producer CPU %d, consumer CPU %d\n",
		nrun, cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1]);
	for (int rep = 0; rep < cfg.reps; rep++) {
		for (int ri = 0; ri < NROWS; ri++) {
			if (row_skipped(ri))
				continue;
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
	printf("kernel rows: %s%s\n", kb.ok ? "run" : "SKIPPED: ", kb.ok ? "" : kb.why);
	printf("machine load during the run: other processes %.2f CPUs, hypervisor steal %.2f CPUs%s\n",
	       cfg.others, cfg.stolen,
	       cfg.others > 0.1 || cfg.stolen > 0.1 ? "  -- WARNING: the figures below are disturbed"
						    : "");
	print_table();
	print_latency();
	print_comparisons();
	print_goals();
	if (cfg.json)
		write_json();
	if (cfg.plot)
		write_plot();
	return 0;
}
