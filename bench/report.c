/* SPDX-License-Identifier: MIT */
/*
 * report.c -- what ringbuf_bench prints and writes once every repetition
 * is in: the row table, the latency table, the comparisons, the goals, the
 * JSON file (--json) and the PNG (--plot, drawn by gnuplot from the same
 * medians as the table).  docs/benchmarks.md explains every column.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Figures from earlier measurements on the development machine, NOT
 * measured by this program (printed beside this run's for scale). */
#define REF_KERNEL_DEFAULT_MS 2.9  /* 0.9 / 2.9 / 5.9 M rec/s */
#define REF_KERNEL_TUNED_MS   20.8 /* 20.3 / 20.8 / 21.2 M rec/s */
#define REF_PORT_ALONE_NS     18.0 /* plain port, producer alone, ns/record */

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

void print_table(void)
{
	const char *sect = NULL;

	printf("\n%-22s %9s %-6s %17s %8s %8s %8s %7s %7s %7s\n", "row", "median", "unit",
	       "min .. max", "MB/s", "drops", "wake/rec", "p-CPU", "c-CPU", "x-kern");
	for (int ri = 0; ri < nrows; ri++) {
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
		if (row->kind != K_MEMCPY && row->kind != K_ALONE && row->kind != K_KALONE &&
		    row->kind != K_CLAIM)
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

void print_latency(void)
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
	for (int ri = 0; ri < nrows; ri++) {
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

void print_comparisons(void)
{
	printf("\nFigures published elsewhere for the kernel path (not measured here): kernel+libbpf default "
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
	for (int ri = 0; ri < nrows; ri++) {
		uint64_t t = total_u64(ri, offsetof(struct sample, timeouts));

		if (t && !row_skipped(ri))
			printf("note: %s: poll returned 0 (timeout, or woken with nothing "
			       "deliverable) %" PRIu64 " times in all\n", rows[ri].name, t);
	}
}

void print_goals(void)
{
	printf("\nGoals, measured side by side in this run:\n");
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

void write_json(void)
{
	FILE *f = fopen(cfg.json, "w");

	if (!f)
		die("cannot write %s: %s", cfg.json, strerror(errno));
	fprintf(f, "{\n  \"reps\": %d,\n  \"seconds\": %.3f,\n  \"producer_cpu\": %d,\n"
		   "  \"consumer_cpu\": %d,\n  \"other_load_cpus\": %.3f,\n  \"steal_cpus\": %.3f,\n"
		   "  \"kernel_rows\": %s,\n  \"kernel_skip_reason\": \"%s\",\n  \"rows\": [\n",
		cfg.reps, cfg.seconds, cfg.cpus[0], cfg.cpus[1], cfg.others, cfg.stolen,
		kernel_ok() ? "true" : "false", kernel_ok() ? "" : kernel_why());
	for (int ri = 0; ri < nrows; ri++) {
		const struct rowdef *row = &rows[ri];
		struct stat3 s;

		fprintf(f, "    {\"name\": \"%s\", \"section\": \"%s\", \"desc\": \"%s\", "
			   "\"unit\": \"%s\", \"record_size\": %zu, \"ring_size\": %zu, "
			   "\"producers\": %d, \"peer\": %s%s%s, ",
			row->name, section_of(ri), row->desc, unit_name(row_unit(row)), row->size,
			row->ring, row->nprod, row->peer ? "\"" : "", row->peer ? row->peer : "null",
			row->peer ? "\"" : "");
		if (row_skipped(ri)) {
			fprintf(f, "\"skipped\": true}%s\n", ri + 1 < nrows ? "," : "");
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
		fprintf(f, "}%s\n", ri + 1 < nrows ? "," : "");
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

/* A few lines before the table: the headline figures and the goals'
 * verdicts, for a reader who stops there. */
void print_summary(void)
{
	int met = 0, not_met = 0, skipped = 0;
	double kdef = med("k-libbpf-default"), ktuned = med("k-libbpf-tuned"),
	       tuned = med("1p1c-tuned");

	for (int i = 0; i < NGOALS; i++) {
		enum gres r = goal_res(&goals[i]);

		met += r == G_MET;
		not_met += r == G_NOT_MET;
		skipped += r == G_SKIP;
	}
	printf("\nSummary (medians of this run; 'x kernel' is against kernel BPF + libbpf in the same form):\n");
	printf("  1 producer, 1 consumer, 8-byte records: default form %.1f M/s (%.1fx kernel), "
	       "tuned form %.1f M/s (%.1fx kernel)\n",
	       med("1p1c-default"), med("1p1c-default") / kdef, tuned, tuned / ktuned);
	printf("  producer alone, ring in cache: %.1f ns a record (BPF bpf_ringbuf_output %.1f ns)\n",
	       med("producer-alone-1MiB"), med("k-alone"));
	printf("  many producers, x of 1 producer: one ring 2p %.2f, 8p %.2f, 4 processes %.2f; "
	       "ring set 2p %.2f, 8p %.2f, 4 processes %.2f\n",
	       med("2p-tuned") / tuned, med("8p-tuned") / tuned, med("4proc-tuned") / tuned,
	       med("2p-set") / tuned, med("8p-set") / tuned, med("4proc-set") / tuned);
	printf("  wakeup latency p50: %.1f us (raw futex %.1f us)\n", lat_p50("lat-ringbuf"),
	       lat_p50("lat-futex"));
	printf("  goals: %d met, %d not met yet, %d skipped (each at the end, with its figures)\n", met,
	       not_met, skipped);
	printf("  ('nan': a row the run left out)\n");
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

void write_plot(void)
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
	static const char *const sets[] = { "2p-set", "8p-set" };
	static const char *const setprocs[] = { "4proc-set" };
	static const char *const rb_def[] = { "1p1c-default" }, *const k_def[] = { "k-libbpf-default" };
	static const double four[] = { 4 }, twoeight[] = { 2, 8 }, eight[] = { 8 };
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
	plot_block(g, "sets", sets, twoeight, 2, 1, false);
	plot_block(g, "setprocs", setprocs, four, 1, 1, false);
	plot_block(g, "rbdef", rb_def, eight, 1, 1e-9, true);
	plot_block(g, "kdef", k_def, eight, 1, 1e-9, true);
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
		"$rbdef using 1:2:3:4 with yerrorbars pt 5 ps 1.5 lw 2 title 'ringbuf, default form (adaptive wakeups, ringbuf_poll)', "
		"$kdef using 1:2:3:4 with yerrorbars pt 4 ps 1.5 lw 2 title 'kernel BPF + libbpf, default form', "
		"%g with lines dt 2 lw 2 title 'memcpy 4 KiB (this run)'\n"
		"unset logscale x\nset logscale y\nset xtics (1, 2, 4, 8)\nset xrange [0.5:8.5]\n"
		"set key top right\nset xlabel 'producers (2 CPUs)'\nset ylabel 'records/s (millions), 8-byte records'\n"
		"set title 'Throughput vs producer count (tuned form)'\n"
		"plot $rbnp using 1:2:3:4 with yerrorlines lw 2 title 'ringbuf, threads', "
		"$procs using 1:2:3:4 with yerrorbars pt 7 ps 1.5 lw 2 title 'ringbuf, 4 processes (named ring)', "
		"$sets using 1:2:3:4 with yerrorlines lw 2 title 'ringbuf ring set (a ring per CPU), threads', "
		"$setprocs using 1:2:3:4 with yerrorbars pt 9 ps 1.5 lw 2 title 'ringbuf ring set, 4 processes', "
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

