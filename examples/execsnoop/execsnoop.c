/* SPDX-License-Identifier: MIT */
/*
 * execsnoop -- print every exec on the machine, as bcc's and libbpf-tools'
 * execsnoop do, from a BPF program (execsnoop.bpf.c) through its libbpf
 * skeleton (execsnoop.skel.h, made by `bpftool gen skeleton`), consuming
 * the BPF ring buffer map with ringbuf instead of libbpf's ring_buffer__*:
 *
 *   execsnoop [--count N] [--timeout S]    print one line per exec
 *   execsnoop --pin PATH                   pin the map at PATH (bpffs) and
 *                                          leave the reading to another
 *                                          consumer until SIGINT/SIGTERM:
 *   ringbuf tail PATH --btf execsnoop.bpf.o --type event
 *
 * Printing starts with a header line once the program is attached.  Exit
 * status 0, 1 on failure (loading needs root or CAP_BPF + CAP_PERFMON),
 * 2 for bad usage.  At the end the number of events the BPF program
 * dropped for lack of room is printed on standard error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <ringbuf.h>

#include "execsnoop.h"
#include "execsnoop.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct state {
	long printed;
	long count; /* stop after this many; 0: never */
};

/* ringbuf_poll()'s callback: one record, one line. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct state *st = ctx;
	const struct event *e = data;

	if (size < sizeof(*e)) {
		fprintf(stderr, "execsnoop: short record (%zu bytes)\n", size);
		return 0;
	}
	printf("%-8u %-8u %-6u %-16.*s %.*s\n", e->pid, e->ppid, e->uid, EXECSNOOP_COMM_LEN,
	       e->comm, EXECSNOOP_FILENAME_LEN, e->filename);
	if (st->count && ++st->printed >= st->count)
		return -ECANCELED; /* stop: enough */
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: execsnoop [--count N] [--timeout S] | --pin PATH\n", f);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct state st = { 0, 0 };
	const char *pin = NULL;
	double timeout = 0;
	struct execsnoop_bpf *skel;
	struct ringbuf *rb = NULL;
	struct timespec t0, t;
	int err, ret = 1;

	for (int i = 1; i < argc; i++) {
		char *end = NULL;

		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			st.count = strtol(argv[++i], &end, 10);
			if (*end || st.count < 1)
				return usage(stderr), 2;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = strtod(argv[++i], &end);
			if (*end || !(timeout > 0))
				return usage(stderr), 2;
		} else if (!strcmp(argv[i], "--pin") && i + 1 < argc) {
			pin = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_quiet);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = execsnoop_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "execsnoop: loading the BPF program: %s\n", strerror(errno));
		return 1;
	}
	err = execsnoop_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "execsnoop: attaching to sched_process_exec: %s\n", strerror(-err));
		goto out;
	}

	if (pin) {
		/* Another consumer reads the map: ringbuf tail PATH --btf ... */
		err = bpf_map__pin(skel->maps.events, pin);
		if (err) {
			fprintf(stderr, "execsnoop: pinning at %s: %s\n", pin, strerror(-err));
			goto out;
		}
		printf("execsnoop: events pinned at %s; try: ringbuf tail %s --btf "
		       "execsnoop.bpf.o --type event\n", pin, pin);
		{
			/* wait for SIGINT/SIGTERM without the race of a check
			 * followed by pause(): blocked, then atomically waited */
			sigset_t block, old;

			sigemptyset(&block);
			sigaddset(&block, SIGINT);
			sigaddset(&block, SIGTERM);
			sigprocmask(SIG_BLOCK, &block, &old);
			while (!stop)
				sigsuspend(&old);
			sigprocmask(SIG_SETMASK, &old, NULL);
		}
		bpf_map__unpin(skel->maps.events, pin);
		ret = 0;
		goto out;
	}

	rb = ringbuf_map_open(bpf_map__fd(skel->maps.events), NULL);
	if (!rb) {
		fprintf(stderr, "execsnoop: ringbuf_map_open: %s\n", strerror(errno));
		goto out;
	}
	printf("%-8s %-8s %-6s %-16s %s\n", "PID", "PPID", "UID", "COMM", "FILENAME");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		/* a timeout, so that a signal's flag is seen within 100 ms */
		err = ringbuf_poll(rb, on_event, &st, 100);
		if (err == -ECANCELED)
			break; /* --count reached */
		if (err < 0) {
			fprintf(stderr, "execsnoop: ringbuf_poll: %s\n", strerror(-err));
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timeout > 0 && (double)(t.tv_sec - t0.tv_sec) +
					   (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= timeout)
			break;
	}
	ret = 0;
out:
	if (skel->bss->dropped)
		fprintf(stderr, "execsnoop: %llu events dropped (ring full)\n", skel->bss->dropped);
	ringbuf_free(rb);
	execsnoop_bpf__destroy(skel);
	return ret;
}
