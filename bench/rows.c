/* SPDX-License-Identifier: MIT */
/*
 * rows.c -- every row of ringbuf_bench and the goals, in one place: what
 * each row runs (family, producers, record and ring size, wakeup flags,
 * consumer form), the kernel+libbpf row it is compared with (the x-kern
 * column), and the goals the headline rows are held to.
 *
 * A new row goes into rows[] below, in its section; its family's file
 * (see harness.h) runs it.  docs/benchmarks.md describes every row.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* Goals, each against its peer measured in the same run. */
#define GOAL_ALONE_NS       10.0
#define GOAL_DEFAULT_FACTOR 3.0
#define GOAL_TUNED_FACTOR   5.0
#define GOAL_KCONS_FACTOR   2.0
#define GOAL_NP_RATIO       0.5
#define GOAL_MEMCPY_RATIO   0.5
#define GOAL_LAT_FACTOR     1.5
#define GOAL_SINGLE_NS      5.0
#define GOAL_SET2_RATIO     1.3
#define GOAL_SET8_RATIO     1.0
#define GOAL_SETPROC_RATIO  1.0

#define DEF  C_POLL
#define NAP  C_NAP
#define SPIN C_SPIN
#define EPL  C_EPOLL
#define NOW  RINGBUF_NO_WAKEUP
#define FRC  RINGBUF_FORCE_WAKEUP

const struct rowdef rows[] = {
	/* ---- ringbuf, user space ---- */
	{ "producer-alone", K_ALONE, 1, 8, ALONE_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-alone", "ringbuf_output, 64 MiB ring, no consumer (DRAM write-bound)" },
	{ "producer-alone-1MiB", K_ALONE, 1, 8, WARM_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-alone", "ringbuf_output, 1 MiB ring that stays in cache: the library's own cost" },
	{ "producer-alone-1MiB-2t", K_ALONE, 2, 8, WARM_RING, NOW, NAP, CO_USER, S_NONE, false,
	  false, "k-alone", "as producer-alone-1MiB, two threads on two CPUs, a ring each, at once" },
	{ "producer-alone-reserve", K_ALONE, 1, 8, ALONE_RING, NOW, NAP, CO_USER, S_NONE, true,
	  false, "k-alone", "reserve+submit, 64 MiB ring, no consumer" },
	{ "producer-alone-single", K_ALONE, 1, 8, ALONE_RING, NOW, NAP, CO_USER, S_NONE, false,
	  false, "k-alone", "ringbuf_output, 64 MiB single-producer ring, no consumer"},
	{ "producer-alone-1MiB-single", K_ALONE, 1, 8, WARM_RING, NOW, NAP, CO_USER, S_NONE, false,
	  false, "k-alone", "ringbuf_output, 1 MiB single-producer ring in cache: no locked "
	  "instruction" },
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
	{ "1p1c-tuned-single", K_STREAM, 1, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-tuned", "as 1p1c-tuned, on a single-producer ring"},
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
	{ "2p-set", K_STREAM, 2, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-2p", "2 producer threads, pinned round-robin, a ring set (a ring per CPU), tuned" },
	{ "8p-set", K_STREAM, 8, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-8p", "8 producer threads, pinned round-robin, a ring set (a ring per CPU), tuned" },
	{ "4proc-set", K_PROC, 4, 8, TUNED_RING, NOW, NAP, CO_USER, S_NONE, false, false,
	  "k-libbpf-4p", "4 producer processes, a named ring set (ringbuf_set_create/open), tuned" },
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
	{ "k-rbpull-drain", K_KDRAIN, 1, 8, KERNEL_RING, NOW, SPIN, CO_PULL, S_NONE, false, true,
	  "k-libbpf-drain", "ringbuf_next + one ringbuf_commit alone on a full 16 MiB kernel ring" },
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
	{ "claim-floor-1t", K_CLAIM, 1, 8, WARM_RING, 0, NAP, CO_USER, S_NONE, false, false, NULL,
	  "1 thread: fetch-and-add on a shared position + a 16-byte record's stores, no ring" },
	{ "claim-floor-2t", K_CLAIM, 2, 8, WARM_RING, 0, NAP, CO_USER, S_NONE, false, false, NULL,
	  "2 threads on 2 CPUs, the same: any one-ring claim by one atomic costs at least this" },
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

const int nrows = NROWS;
_Static_assert(NROWS <= MAX_ROWS, "raise MAX_ROWS in harness.h");

/* The rows with a wakeup watermark (ringbuf_set_watermark); 0 for the rest. */
/* The creation flags of a row's ring: a single-producer ring for the
 * rows named so, a plain ring for the others. */
uint64_t row_ring_flags(const struct rowdef *r)
{
	static const char *const single[] = { "producer-alone-single", "producer-alone-1MiB-single",
					      "1p1c-tuned-single" };

	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (!strcmp(r->name, single[i]))
			return RINGBUF_F_SINGLE_PRODUCER;
	return 0;
}

/* A ring set's rows ("-set"): one ring per CPU this process may use (each
 * of the row's ring size); 0 for a plain ring. */
unsigned row_set_rings(const struct rowdef *r)
{
	size_t n = strlen(r->name);

	return n > 4 && !strcmp(r->name + n - 4, "-set") ? (unsigned)cfg.ncpus : 0;
}

uint64_t row_watermark(const struct rowdef *r)
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

enum unit row_unit(const struct rowdef *r)
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

const char *unit_name(enum unit u)
{
	return u == U_NS_REC ? "ns/rec" : u == U_GB_S ? "GB/s" : u == U_US ? "us p50" : "Mrec/s";
}

const char *section_of(int ri)
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

struct goal goals[NGOALS];
double tuned_ceiling_gbs;

enum gres goal_res(const struct goal *g)
{
	if (isnan(g->measured) || isnan(g->target))
		return G_SKIP;
	return (g->le ? g->measured <= g->target : g->measured >= g->target) ? G_MET : G_NOT_MET;
}

const char *gres_name(enum gres r)
{
	return r == G_MET ? "met" : r == G_NOT_MET ? "not met yet" : "skipped";
}

void compute_goals(void)
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
	goals[7] = (struct goal){ "single-producer ring, producer alone (in cache) <= 5 ns/record",
				  med("producer-alone-1MiB-single"), GOAL_SINGLE_NS, "ns/rec", true, "" };
	snprintf(goals[7].note, sizeof(goals[7].note),
		 "producer-alone-1MiB-single; the locked ring (producer-alone-1MiB) %.2f ns/rec: %.2fx",
		 alone, alone / med("producer-alone-1MiB-single"));
	goals[8] = (struct goal){ "single-producer ring, tuned form >= 5x kernel tuned form",
				  med("1p1c-tuned-single"), GOAL_TUNED_FACTOR * ktuned, "Mrec/s", false,
				  "" };
	snprintf(goals[8].note, sizeof(goals[8].note),
		 "1p1c-tuned-single vs k-libbpf-tuned %.2f M/s: %.2fx", ktuned,
		 med("1p1c-tuned-single") / ktuned);
	goals[9] = (struct goal){ "ring set, 2 producer threads >= 1.3x 1 producer", med("2p-set"),
				  GOAL_SET2_RATIO * tuned, "Mrec/s", false, "" };
	snprintf(goals[9].note, sizeof(goals[9].note),
		 "2p-set / 1p1c-tuned = %.2f; one ring (2p-tuned) %.2f", med("2p-set") / tuned,
		 med("2p-tuned") / tuned);
	goals[10] = (struct goal){ "ring set, 8 producer threads >= 1.0x 1 producer", med("8p-set"),
				   GOAL_SET8_RATIO * tuned, "Mrec/s", false, "" };
	snprintf(goals[10].note, sizeof(goals[10].note),
		 "8p-set / 1p1c-tuned = %.2f; one ring (8p-tuned) %.2f", med("8p-set") / tuned,
		 np8 / tuned);
	goals[11] = (struct goal){ "ring set, 4 producer processes >= 1.0x 1 producer",
				   med("4proc-set"), GOAL_SETPROC_RATIO * tuned, "Mrec/s", false, "" };
	snprintf(goals[11].note, sizeof(goals[11].note),
		 "4proc-set / 1p1c-tuned = %.2f; one ring (4proc-tuned) %.2f",
		 med("4proc-set") / tuned, med("4proc-tuned") / tuned);
}

