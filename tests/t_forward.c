/* SPDX-License-Identifier: MIT */
/*
 * t_forward -- `ringbuf forward` into NATS JetStream, nothing lost.
 *
 * Starts its own nats-server with JetStream on a free 127.0.0.1 port and a
 * temporary store, creates one stream per case with the C client, runs the
 * built `ringbuf forward` against a named ring that this test produces
 * into, and checks the stream with the C client: N records in, N messages
 * out, in ring order, exactly once --
 *   - plainly, with --count;
 *   - with --headers and --jsonl payloads;
 *   - across kill -9 of the forwarder at random moments (restarted);
 *   - across kill -9 of the server (restarted on the same store);
 *   - with the server away: producers find the ring full (back-pressure),
 *     the forwarder says once that it retries, nothing is lost when the
 *     server returns;
 *   - and its errors: malformed URLs (2), no such ring (3), a second
 *     consumer (8), SIGTERM (0, position committed).
 * Skips (77) without the NATS client library at build time or without
 * nats-server.
 */
#include "test.h"

#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ringbuf.h"

#ifndef RINGBUF_HAVE_NATS
int main(void)
{
	SKIP("built without the NATS C client (Debian: libnats-dev; build.sh installs it)");
}
#else
#include <nats/nats.h>

static char g_cli[PATH_MAX + 16], g_store[64], g_server_url[64], g_name[64];
static int g_port;
static pid_t g_server = -1;

static const char *server_bin(void)
{
	static const char *const where[] = { "/usr/bin/nats-server", "/usr/sbin/nats-server",
					     "/usr/local/bin/nats-server" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void server_start(void)
{
	char port[16];
	natsConnection *nc = NULL;

	snprintf(port, sizeof(port), "%d", g_port);
	g_server = fork();
	CHECK(g_server >= 0);
	if (g_server == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(server_bin(), "nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd",
		      g_store, (char *)NULL);
		_exit(127);
	}
	/* ready once it takes a connection and JetStream answers */
	for (int i = 0; i < 200; i++) {
		if (natsConnection_ConnectTo(&nc, g_server_url) == NATS_OK) {
			jsCtx *js = NULL;
			jsAccountInfo *ai = NULL;
			natsStatus st = natsConnection_JetStream(&js, nc, NULL);

			if (st == NATS_OK)
				st = js_GetAccountInfo(&ai, js, NULL, NULL);
			jsAccountInfo_Destroy(ai);
			jsCtx_Destroy(js);
			natsConnection_Destroy(nc);
			if (st == NATS_OK)
				return;
		}
		msleep(25);
	}
	fprintf(stderr, "nats-server did not come up on %s\n", g_server_url);
	exit(T_FAIL);
}

static void server_kill(void)
{
	CHECK(g_server > 0);
	kill(g_server, SIGKILL);
	CHECK(waitpid(g_server, NULL, 0) == g_server);
	g_server = -1;
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
		if (system(cmd)) {
		}
	}
}

/* A connection and JetStream context for checking. */
struct js {
	natsConnection *nc;
	jsCtx *js;
};

static void js_open(struct js *j)
{
	CHECK(natsConnection_ConnectTo(&j->nc, g_server_url) == NATS_OK);
	CHECK(natsConnection_JetStream(&j->js, j->nc, NULL) == NATS_OK);
}

static void js_close(struct js *j)
{
	jsCtx_Destroy(j->js);
	natsConnection_Destroy(j->nc);
}

static void stream_add(const char *name, const char *subject)
{
	struct js j;
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode je = 0;
	const char *subs[] = { subject };

	js_open(&j);
	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = subs;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	CHECK(js_AddStream(&si, j.js, &sc, NULL, &je) == NATS_OK);
	jsStreamInfo_Destroy(si);
	js_close(&j);
}

static uint64_t stream_msgs(const char *name)
{
	struct js j;
	jsStreamInfo *si = NULL;
	uint64_t n = UINT64_MAX;

	if (natsConnection_ConnectTo(&j.nc, g_server_url) != NATS_OK)
		return n;
	if (natsConnection_JetStream(&j.js, j.nc, NULL) == NATS_OK &&
	    js_GetStreamInfo(&si, j.js, name, NULL, NULL) == NATS_OK) {
		n = si->State.Msgs;
		jsStreamInfo_Destroy(si);
	}
	js_close(&j);
	return n;
}

/* The payload of record @i: "rec %08u" and, every seventh record, a tail
 * that makes sizes vary. */
static size_t payload(uint32_t i, char *buf)
{
	int n = snprintf(buf, 64, "rec %08u", i);

	if (i % 7 == 3)
		n += snprintf(buf + n, 64 - (size_t)n, " %.*s", (int)(i % 40), "0123456789abcdef0123456789abcdef01234567");
	return (size_t)n;
}

/* The stream holds exactly records @first .. @first + @n - 1, in order,
 * each with a Nats-Msg-Id. */
static void stream_check(const char *name, uint32_t first, uint32_t n)
{
	struct js j;
	char want[64];

	CHECK_EQ(stream_msgs(name), n);
	js_open(&j);
	for (uint32_t k = 0; k < n; k++) {
		natsMsg *m = NULL;
		const char *id = NULL;
		size_t len = payload(first + k, want);

		CHECK(js_GetMsg(&m, j.js, name, k + 1, NULL, NULL) == NATS_OK);
		if ((size_t)natsMsg_GetDataLength(m) != len || memcmp(natsMsg_GetData(m), want, len)) {
			fprintf(stderr, "stream %s seq %u: '%.*s', want '%s'\n", name, k + 1,
				natsMsg_GetDataLength(m), natsMsg_GetData(m), want);
			exit(T_FAIL);
		}
		CHECK(natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id && strchr(id, '-'));
		natsMsg_Destroy(m);
	}
	js_close(&j);
}

/* Run the forwarder; returns its pid.  Its standard error goes to @err
 * (a path) when given. */
static pid_t fwd_start(const char *err, const char *const *args)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		const char *argv[16] = { "ringbuf", "forward" };
		int n = 2;

		for (; *args && n < 15; args++)
			argv[n++] = *args;
		argv[n] = NULL;
		if (err) {
			int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);

			dup2(fd, 2);
		}
		execv(g_cli, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait until forwarder @pid holds the consumer role of @rb: it is running
 * its loop, with its signal handlers in place. */
static void wait_consumer(struct ringbuf *rb, pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		struct ringbuf_stats st = { .sz = sizeof(st) };

		CHECK_EQ(ringbuf_stats(rb, &st), 0);
		if (st.consumer_pid == (uint32_t)pid)
			return;
		CHECK(waitpid(pid, NULL, WNOHANG) == 0);
		msleep(10);
	}
	fprintf(stderr, "forwarder %d never became the consumer\n", (int)pid);
	exit(T_FAIL);
}

static int fwd_wait(pid_t pid, int secs)
{
	int st;

	for (int i = 0; i < secs * 100; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		CHECK(r >= 0);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		msleep(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fprintf(stderr, "forwarder did not exit within %d s\n", secs);
	exit(T_FAIL);
}

static int fwd_run(const char *const *args)
{
	return fwd_wait(fwd_start(NULL, args), 30);
}

/* Produce records @from .. @to - 1 into the ring, waiting while it is full. */
struct producer {
	struct ringbuf *rb;
	uint32_t from, to;
	uint32_t pace;             /* sleep 1 ms after every @pace records (0: never) */
	atomic_uint_fast64_t full; /* -EAGAIN seen */
	pthread_t th;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char buf[64];

	for (uint32_t i = p->from; i < p->to; i++) {
		size_t len = payload(i, buf);
		long r;

		while ((r = ringbuf_output(p->rb, buf, len, 0)) == -EAGAIN) {
			atomic_fetch_add(&p->full, 1);
			msleep(1);
		}
		CHECK_EQ(r, 0);
		if (p->pace && i % p->pace == 0)
			msleep(1);
	}
	return NULL;
}

static struct ringbuf *ring_new(uint64_t size)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0600 };
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf *rb;

	ringbuf_unlink(g_name);
	rb = ringbuf_create(g_name, size, &o);
	CHECK(rb);
	ringbuf_free(rb);
	rb = ringbuf_open(g_name, &po);
	CHECK(rb);
	return rb;
}

static void url(char *out, const char *subject)
{
	snprintf(out, 128, "nats://127.0.0.1:%d/%s", g_port, subject);
}

static bool file_has(const char *path, const char *s)
{
	char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static unsigned count_of(const char *path, const char *s)
{
	char buf[16384], *p;
	int fd = open(path, O_RDONLY);
	ssize_t n;
	unsigned c = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, s)); p++)
		c++;
	return c;
}

/* ---- cases ---------------------------------------------------------------------------- */

static void case_plain(void)
{
	struct ringbuf *rb = ring_new(1 << 20);
	struct producer p = { .rb = rb, .from = 0, .to = 5000 };
	char u[128];

	stream_add("PLAIN", "t.plain");
	produce(&p);
	url(u, "t.plain");
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--count", "3000", NULL }), 0);
	stream_check("PLAIN", 0, 3000);
	/* the rest is still in the ring, exactly: the consumer position
	 * moved past the 3000 acknowledged records and no further */
	{
		uint64_t left = 0;
		char buf[64];

		for (uint32_t i = 3000; i < 5000; i++)
			left += (8 + payload(i, buf) + 7) & ~7ull;
		CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), left);
	}
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--count", "2000", "--window", "7", NULL }), 0);
	stream_check("PLAIN", 0, 5000);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(rb);
}

static void case_headers_jsonl(void)
{
	struct ringbuf *rb = ring_new(1 << 16);
	char u[128], buf[64];
	struct js j;
	natsMsg *m = NULL;
	const char *v = NULL;

	stream_add("HDR", "t.hdr");
	CHECK_EQ(ringbuf_output(rb, "hello", 5, 0), 0);
	CHECK_EQ(ringbuf_output(rb, "\x01\x02\x03\x04", 4, 0), 0);
	url(u, "t.hdr");
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--count", "1", "--headers", NULL }), 0);
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--count", "1", "--jsonl", NULL }), 0);
	js_open(&j);
	CHECK(js_GetMsg(&m, j.js, "HDR", 1, NULL, NULL) == NATS_OK);
	CHECK_EQ(natsMsg_GetDataLength(m), 5);
	CHECK(natsMsgHeader_Get(m, "Ringbuf-Source", &v) == NATS_OK && !strcmp(v, g_name));
	CHECK(natsMsgHeader_Get(m, "Ringbuf-Size", &v) == NATS_OK && !strcmp(v, "5"));
	natsMsg_Destroy(m);
	CHECK(js_GetMsg(&m, j.js, "HDR", 2, NULL, NULL) == NATS_OK);
	snprintf(buf, sizeof(buf), "{\"seq\":2,\"size\":4,\"data\":\"AQIDBA==\"}");
	CHECK_EQ(natsMsg_GetDataLength(m), strlen(buf));
	CHECK(!memcmp(natsMsg_GetData(m), buf, strlen(buf)));
	CHECK(natsMsgHeader_Get(m, "Ringbuf-Source", &v) != NATS_OK);
	natsMsg_Destroy(m);
	js_close(&j);
	ringbuf_free(rb);
}

/* Wait until the stream holds @n messages (or fail after @secs). */
static void stream_wait(const char *name, uint64_t n, int secs)
{
	for (int i = 0; i < secs * 50; i++) {
		uint64_t have = stream_msgs(name);

		if (have == n)
			return;
		CHECK(have == UINT64_MAX || have < n);
		msleep(20);
	}
	fprintf(stderr, "stream %s: %" PRIu64 " of %" PRIu64 " messages after %d s\n", name,
		stream_msgs(name), n, secs);
	exit(T_FAIL);
}

static void case_kill_forwarder(void)
{
	enum { N = 30000 };
	struct ringbuf *rb = ring_new(1 << 16); /* small: the producer waits on it */
	struct producer p = { .rb = rb, .from = 0, .to = N };
	char u[128];
	pid_t f;

	stream_add("KF", "t.kf");
	url(u, "t.kf");
	CHECK(pthread_create(&p.th, NULL, produce, &p) == 0);
	srand((unsigned)getpid());
	for (int round = 0; round < 6; round++) {
		f = fwd_start(NULL, (const char *[]){ g_name, u, "--window", "256", NULL });
		msleep(40 + rand() % 200);
		kill(f, SIGKILL);
		CHECK_EQ(fwd_wait(f, 10), 128 + SIGKILL);
	}
	f = fwd_start(NULL, (const char *[]){ g_name, u, NULL });
	wait_consumer(rb, f);
	CHECK(pthread_join(p.th, NULL) == 0);
	stream_wait("KF", N, 30);
	kill(f, SIGTERM);
	CHECK_EQ(fwd_wait(f, 10), 0);
	stream_check("KF", 0, N);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(rb);
}

static void case_kill_server(void)
{
	enum { N = 20000 };
	struct ringbuf *rb = ring_new(1 << 16);
	/* paced over about 2 s, so that the server dies mid-stream */
	struct producer p = { .rb = rb, .from = 0, .to = N, .pace = 10 };
	char u[128], err[128];
	pid_t f;

	snprintf(err, sizeof(err), "%s/ks.err", g_store);
	stream_add("KS", "t.ks");
	url(u, "t.ks");
	CHECK(pthread_create(&p.th, NULL, produce, &p) == 0);
	f = fwd_start(err, (const char *[]){ g_name, u, NULL });
	wait_consumer(rb, f);
	for (int round = 0; round < 3; round++) {
		msleep(100 + rand() % 200);
		server_kill();
		msleep(150);
		server_start();
	}
	CHECK(pthread_join(p.th, NULL) == 0);
	stream_wait("KS", N, 40);
	kill(f, SIGTERM);
	CHECK_EQ(fwd_wait(f, 10), 0);
	stream_check("KS", 0, N);
	CHECK(file_has(err, "retrying"));
	ringbuf_free(rb);
}

static void case_backpressure(void)
{
	struct ringbuf *rb = ring_new(1 << 14);
	char u[128], err[128], buf[64];
	uint32_t n = 0;
	uint64_t spins = 0;
	pid_t f;

	snprintf(err, sizeof(err), "%s/bp.err", g_store);
	stream_add("BP", "t.bp");
	url(u, "t.bp");
	server_kill();
	f = fwd_start(err, (const char *[]){ g_name, u, NULL });
	wait_consumer(rb, f);
	/* fill the ring: with the server away the forwarder commits nothing */
	for (;;) {
		size_t len = payload(n, buf);
		long r = ringbuf_output(rb, buf, len, 0);

		if (r == -EAGAIN) {
			if (++spins > 50)
				break;
			msleep(10);
			continue;
		}
		CHECK_EQ(r, 0);
		n++;
		spins = 0;
	}
	CHECK(n > 100);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), 0);
	CHECK(waitpid(f, NULL, WNOHANG) == 0); /* still there, retrying */
	msleep(300);
	CHECK(file_has(err, "retrying"));
	CHECK_EQ(count_of(err, "retrying"), 1); /* said once */
	server_start();
	stream_wait("BP", n, 20);
	kill(f, SIGINT);
	CHECK_EQ(fwd_wait(f, 10), 0);
	stream_check("BP", 0, n);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(rb);
}

static void case_errors(void)
{
	struct ringbuf *rb = ring_new(1 << 14);
	char u[128];
	pid_t f;

	url(u, "t.err");
	CHECK_EQ(fwd_run((const char *[]){ g_name, NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "http://127.0.0.1:4222/x", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "nats://127.0.0.1/x", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "nats://127.0.0.1:99999/x", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "nats://127.0.0.1:4222/", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "nats://127.0.0.1:4222/a.*", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, "nats://127.0.0.1:4222/a..b", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--count", "0", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--window", "0", NULL }), 2);
	CHECK_EQ(fwd_run((const char *[]){ "no-such-ring-here", u, NULL }), 3);
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, "--token-file", "/nonexistent/t", NULL }), 3);
	/* a second consumer */
	stream_add("ERR", "t.err");
	f = fwd_start(NULL, (const char *[]){ g_name, u, NULL });
	wait_consumer(rb, f);
	CHECK_EQ(fwd_run((const char *[]){ g_name, u, NULL }), 8);
	/* SIGTERM while idle: 0 */
	kill(f, SIGTERM);
	CHECK_EQ(fwd_wait(f, 10), 0);
	ringbuf_free(rb);
}

int main(void)
{
	char dir[PATH_MAX];

	if (!server_bin())
		SKIP("nats-server not installed (Debian: nats-server; build.sh installs it)");
	t_exe_dir(dir);
	snprintf(g_cli, sizeof(g_cli), "%s/../ringbuf", dir);
	if (access(g_cli, X_OK))
		SKIP("the ringbuf command is not built at %s", g_cli);
	signal(SIGPIPE, SIG_IGN);
	snprintf(g_name, sizeof(g_name), "t_forward.%d", (int)getpid());
	snprintf(g_store, sizeof(g_store), "/tmp/t_forward.%d", (int)getpid());
	CHECK(mkdir(g_store, 0700) == 0);
	atexit(cleanup);
	g_port = free_port();
	snprintf(g_server_url, sizeof(g_server_url), "nats://127.0.0.1:%d", g_port);
	server_start();

	case_errors();
	case_plain();
	case_headers_jsonl();
	case_kill_forwarder();
	case_kill_server();
	case_backpressure();
	nats_Close();
	return T_PASS;
}
#endif
