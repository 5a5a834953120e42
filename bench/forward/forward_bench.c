/* SPDX-License-Identifier: MIT */
/*
 * forward_bench -- what `ringbuf forward` moves into NATS JetStream, beside
 * `ringbuf tail --format raw > /dev/null` on the same ring, in one run.
 *
 *   build/bench/forward_bench [--records N] [--reps R]
 *
 * Starts its own nats-server (-js, 127.0.0.1, a free port, a temporary
 * store) and a stream, fills a named ring of 64 MiB with N records of 64
 * bytes and then of 4 KiB while the command drains it, and times the
 * command from start to exit (`--count N`), so the figures include its
 * start-up and every acknowledgement.  Prints, per row, the median of R
 * repetitions and the min..max of records/s and MB/s.  Uses only the
 * public API (and the NATS C client to make the stream).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "ringbuf.h"

static char g_cli[4200], g_url[64], g_store[64], g_name[64];
static pid_t g_server = -1;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "forward_bench: %s\n", what);
	exit(1);
}

static void cleanup(void)
{
	char cmd[128];

	if (g_server > 0) {
		kill(g_server, SIGKILL);
		waitpid(g_server, NULL, 0);
	}
	if (g_name[0])
		ringbuf_unlink(g_name);
	if (g_store[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_store);
		if (system(cmd) != 0)
			fprintf(stderr, "forward_bench: could not remove %s\n", g_store);
	}
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("no free port");
	close(fd);
	return ntohs(a.sin_port);
}

static void server_start(void)
{
	char port[16];
	int p = free_port();

	snprintf(port, sizeof(port), "%d", p);
	snprintf(g_url, sizeof(g_url), "nats://127.0.0.1:%d", p);
	g_server = fork();
	if (g_server < 0)
		die("fork");
	if (g_server == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd",
		       g_store, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		natsConnection *nc = NULL;
		jsCtx *js = NULL;
		jsStreamConfig sc;
		jsStreamInfo *si = NULL;
		const char *subs[] = { "bench.>" };

		if (natsConnection_ConnectTo(&nc, g_url) == NATS_OK &&
		    natsConnection_JetStream(&js, nc, NULL) == NATS_OK) {
			jsStreamConfig_Init(&sc);
			sc.Name = "BENCH";
			sc.Subjects = subs;
			sc.SubjectsLen = 1;
			sc.Storage = js_FileStorage;
			if (js_AddStream(&si, js, &sc, NULL, NULL) == NATS_OK) {
				jsStreamInfo_Destroy(si);
				jsCtx_Destroy(js);
				natsConnection_Destroy(nc);
				return;
			}
		}
		jsCtx_Destroy(js);
		natsConnection_Destroy(nc);
		usleep(25000);
	}
	die("nats-server did not start (is it installed? Debian: nats-server)");
}

struct producer {
	struct ringbuf *rb;
	uint64_t n;
	size_t size;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	static char buf[4096];

	for (uint64_t i = 0; i < p->n; i++) {
		memcpy(buf, &i, sizeof(i));
		while (ringbuf_output(p->rb, buf, p->size, 0) == -EAGAIN)
			usleep(200);
	}
	return NULL;
}

/* Run the command with @args over @n records of @size; returns seconds. */
static double run_one(const char *const *args, uint64_t n, size_t size, bool to_null)
{
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct producer p = { .n = n, .size = size };
	pthread_t th;
	double t0;
	int st;
	pid_t pid;

	p.rb = ringbuf_open(g_name, &po);
	if (!p.rb)
		die("open the ring");
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		const char *argv[16];
		int k = 0;

		argv[k++] = "ringbuf";
		for (; *args; args++)
			argv[k++] = *args;
		argv[k] = NULL;
		if (to_null) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
		}
		execv(g_cli, (char *const *)argv);
		_exit(127);
	}
	if (pthread_create(&th, NULL, produce, &p))
		die("thread");
	pthread_join(th, NULL);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the command failed");
	t0 = now_s() - t0;
	ringbuf_free(p.rb);
	return t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void row(const char *label, const char *what, uint64_t n, size_t size, int reps)
{
	double secs[32];
	char count[32], url[128];

	snprintf(count, sizeof(count), "%" PRIu64, n);
	snprintf(url, sizeof(url), "%s/bench.%zu", g_url, size);
	for (int r = 0; r < reps; r++) {
		if (!strcmp(what, "forward"))
			secs[r] = run_one((const char *[]){ "forward", g_name, url, "--count", count,
							    NULL },
					  n, size, false);
		else
			secs[r] = run_one((const char *[]){ "tail", g_name, "--format", "raw",
							    "--count", count, NULL },
					  n, size, true);
	}
	qsort(secs, (size_t)reps, sizeof(double), cmp_d);
	printf("%-22s %10.0f  (%.0f..%.0f)  %8.1f MB/s  (%.1f..%.1f)\n", label,
	       (double)n / secs[reps / 2], (double)n / secs[reps - 1], (double)n / secs[0],
	       (double)n * (double)size / secs[reps / 2] / 1e6,
	       (double)n * (double)size / secs[reps - 1] / 1e6,
	       (double)n * (double)size / secs[0] / 1e6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint64_t n = 200000;
	int reps = 3;
	char dir[4096];
	ssize_t len;
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0600 };
	struct ringbuf *rb;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--records") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: forward_bench [--records N] [--reps R (1-32)]\n");
			return 2;
		}
	}
	if (n == 0 || reps < 1 || reps > 32)
		die("--records must be >= 1, --reps 1 to 32");
	len = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (len <= 0)
		die("readlink /proc/self/exe");
	dir[len] = '\0';
	*strrchr(dir, '/') = '\0';
	snprintf(g_cli, sizeof(g_cli), "%s/../ringbuf", dir);
	if (access(g_cli, X_OK))
		die("build/ringbuf is not built");
	snprintf(g_name, sizeof(g_name), "forward_bench.%d", (int)getpid());
	snprintf(g_store, sizeof(g_store), "/tmp/forward_bench.%d", (int)getpid());
	if (mkdir(g_store, 0700))
		die("mkdir store");
	atexit(cleanup);
	server_start();
	rb = ringbuf_create(g_name, 64u << 20, &o);
	if (!rb)
		die("create the ring");
	ringbuf_free(rb);

	printf("ringbuf forward into a local NATS JetStream (file storage), beside\n"
	       "ringbuf tail --format raw > /dev/null; %" PRIu64 " records per run, a producer\n"
	       "thread filling a 64 MiB ring meanwhile; median of %d runs (min..max):\n\n",
	       n, reps);
	printf("%-22s %10s  %-14s %13s\n", "row", "records/s", "", "payload");
	row("tail-raw-64B", "tail", n, 64, reps);
	row("forward-64B", "forward", n, 64, reps);
	row("tail-raw-4KiB", "tail", n / 10, 4096, reps);
	row("forward-4KiB", "forward", n / 10, 4096, reps);
	nats_Close();
	return 0;
}
