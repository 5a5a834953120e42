/* SPDX-License-Identifier: MIT */
/*
 * ringbuf_bench -- ringbuf beside the kernel's BPF ring buffer and the usual
 * alternatives, in one run (docs/benchmarks.md explains every row and
 * column).  This file: the options, the CPUs, the run loop; harness.h
 * lists the other parts.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

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
		   "  --only TEXT  run only the rows whose name contains TEXT, or any of\n"
		   "               several comma-separated TEXTs (goals that\n"
		   "               need rows left out are reported as skipped)\n",
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
	kernel_setup();
	if (!kernel_ok())
		fprintf(stderr, "ringbuf_bench: kernel rows skipped: %s\n", kernel_why());
	for (int ri = 0; ri < nrows; ri++)
		nrun += !row_skipped(ri);
	machine_cpu_ns(&busy0, &steal0);
	self0 = process_cpu_ns();
	t_begin = now_ns();
	fprintf(stderr, "ringbuf_bench: %d rows x %d reps x %.2f s, producer CPU %d, consumer CPU %d\n",
		nrun, cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1]);
	for (int rep = 0; rep < cfg.reps; rep++) {
		for (int ri = 0; ri < nrows; ri++) {
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
	printf("kernel rows: %s%s\n", kernel_ok() ? "run" : "skipped: ", kernel_ok() ? "" : kernel_why());
	printf("machine load during the run: other processes %.2f CPUs, hypervisor steal %.2f CPUs%s\n",
	       cfg.others, cfg.stolen,
	       cfg.others > 0.1 || cfg.stolen > 0.1 ? "  -- WARNING: the figures below are disturbed"
						    : "");
	print_summary();
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
