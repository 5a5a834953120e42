/* SPDX-License-Identifier: MIT */
/*
 * t_execsnoop -- the eBPF example examples/execsnoop, as a user runs it:
 *   - execsnoop (BPF program on sched_process_exec, libbpf skeleton,
 *     consumed with ringbuf_map_open + ringbuf_poll) prints one line for
 *     each of 5 execs of /bin/true made by this test, exactly once, with
 *     the right pid, ppid (this test), uid, comm and filename, among
 *     whatever else the machine execs meanwhile; SIGINT ends it with 0;
 *   - --count N stops after N events with status 0;
 *   - --pin PATH leaves the map to another consumer: `ringbuf tail PATH
 *     --btf execsnoop.bpf.o --type event --format jsonl` prints each of 3
 *     execs decoded, with its pid and filename -- where the command has
 *     --btf (otherwise that part is left out, and the test says so).
 * Skips (77) where BPF is not permitted or the example is not built (make
 * examples; it needs bpftool).
 */
#include "test.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "kbpf.h"

#define NEXEC 5
#define WATCHDOG_MS 30000 /* a hang guard, not a timing assertion */

static char g_dir[PATH_MAX];

struct proc {
	pid_t pid;
	int out, err; /* read ends of its stdout and stderr */
	char buf[1 << 16];
	size_t n; /* bytes in buf */
};

static void spawn(struct proc *p, char *const argv[])
{
	int out[2], err[2];

	CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(err, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	p->pid = fork();
	CHECK(p->pid >= 0);
	if (p->pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		alarm(WATCHDOG_MS / 1000 + 10); /* never outlive a hung test */
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	p->out = out[0];
	p->err = err[0];
	p->n = 0;
}

/* The next line of @p's stdout into @line (without '\n'): 1, or 0 at
 * end of file; fails after WATCHDOG_MS of silence. */
static int next_line(struct proc *p, char *line, size_t len)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->n);

		if (nl) {
			size_t l = (size_t)(nl - p->buf);

			CHECK(l < len);
			memcpy(line, p->buf, l);
			line[l] = '\0';
			memmove(p->buf, nl + 1, p->n - l - 1);
			p->n -= l + 1;
			return 1;
		}
		CHECK(p->n < sizeof(p->buf));
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		int r = poll(&pfd, 1, WATCHDOG_MS);

		if (r == 0) {
			fprintf(stderr, "no output from pid %d for %d ms\n", (int)p->pid, WATCHDOG_MS);
			CHECK(!"the example answers");
		}
		ssize_t got = read(p->out, p->buf + p->n, sizeof(p->buf) - p->n);

		CHECK(got >= 0);
		if (got == 0)
			return 0;
		p->n += (size_t)got;
	}
}

/* @p's stderr, once it has exited (for messages). */
static void read_err(struct proc *p, char *msg, size_t len)
{
	ssize_t got = read(p->err, msg, len - 1);

	msg[got > 0 ? got : 0] = '\0';
}

static int finish(struct proc *p)
{
	int st;

	CHECK_EQ(waitpid(p->pid, &st, 0), p->pid);
	close(p->out);
	close(p->err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Start @argv and wait for its first line, which must start with @ready;
 * skip if it could not load its BPF program for lack of permission. */
static void start(struct proc *p, char *const argv[], const char *ready)
{
	char line[512], msg[1024];

	spawn(p, argv);
	if (next_line(p, line, sizeof(line))) {
		if (strncmp(line, ready, strlen(ready)) != 0) {
			fprintf(stderr, "first line: '%s'\n", line);
			CHECK(!"the example's first line");
		}
		return;
	}
	int code = finish(p);

	read_err(p, msg, sizeof(msg));
	if (strstr(msg, "Operation not permitted"))
		SKIP("execsnoop may not load or attach its BPF program here: %s", msg);
	fprintf(stderr, "execsnoop exited %d before it was ready: %s\n", code, msg);
	CHECK(!"execsnoop starts");
}

/* fork + exec /bin/true, reaped; returns its pid. */
static pid_t run_true(void)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return pid;
}

static int index_of(const pid_t *pids, int n, long pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return i;
	return -1;
}

/* execsnoop's own output: our execs, each once, every field right. */
static void consumer(void)
{
	char path[PATH_MAX + 64], line[512];
	char *argv[] = { path, NULL };
	int seen[NEXEC] = { 0 }, found = 0, others = 0;
	pid_t pids[NEXEC];
	struct proc p;

	snprintf(path, sizeof(path), "%s/execsnoop", g_dir);
	start(&p, argv, "PID ");
	for (int i = 0; i < NEXEC; i++)
		pids[i] = run_true();
	while (found < NEXEC && next_line(&p, line, sizeof(line))) {
		long pid, ppid, uid;
		char comm[32], file[256];
		int i;

		CHECK_EQ(sscanf(line, "%ld", &pid), 1);
		i = index_of(pids, NEXEC, pid);
		if (i < 0) {
			others++; /* the machine's own execs */
			continue;
		}
		CHECK_EQ(sscanf(line, "%ld %ld %ld %31s %255s", &pid, &ppid, &uid, comm, file), 5);
		CHECK_EQ(seen[i], 0);
		seen[i] = 1;
		found++;
		CHECK_EQ(ppid, getpid());
		CHECK_EQ(uid, getuid());
		CHECK(strcmp(comm, "true") == 0);
		CHECK(strcmp(file, "/bin/true") == 0);
	}
	CHECK_EQ(found, NEXEC);
	CHECK_EQ(kill(p.pid, SIGINT), 0);
	/* what it printed meanwhile must not hold our execs again */
	while (next_line(&p, line, sizeof(line))) {
		long pid;

		if (sscanf(line, "%ld", &pid) == 1)
			CHECK(index_of(pids, NEXEC, pid) < 0);
	}
	CHECK_EQ(finish(&p), 0);
	printf("execsnoop: %d execs of /bin/true, each once and right (%d other execs)\n", NEXEC,
	       others);
}

static void count(void)
{
	char path[PATH_MAX + 64], line[512];
	char *argv[] = { path, "--count", "2", NULL };
	int lines = 0;
	struct proc p;

	snprintf(path, sizeof(path), "%s/execsnoop", g_dir);
	start(&p, argv, "PID ");
	run_true();
	run_true();
	while (next_line(&p, line, sizeof(line)))
		lines++;
	CHECK_EQ(lines, 2);
	CHECK_EQ(finish(&p), 0);
	printf("execsnoop --count 2: 2 lines, exit 0\n");
}

/* Does @line hold @pid as a number of its own? */
static bool has_number(const char *line, long pid)
{
	char num[32];
	size_t l = (size_t)snprintf(num, sizeof(num), "%ld", pid);

	for (const char *s = strstr(line, num); s; s = strstr(s + 1, num))
		if ((s == line || !isdigit((unsigned char)s[-1])) && !isdigit((unsigned char)s[l]))
			return true;
	return false;
}

static bool cli_has_btf(char *cli)
{
	char *argv[] = { cli, "tail", "--help", NULL };
	char line[512];
	bool has = false;
	struct proc p;

	spawn(&p, argv);
	while (next_line(&p, line, sizeof(line)))
		has = has || strstr(line, "--btf") != NULL;
	CHECK_EQ(finish(&p), 0);
	return has;
}

/* execsnoop --pin, read by ringbuf tail --btf. */
static void tail_btf(void)
{
	char snoop[PATH_MAX + 64], cli[PATH_MAX + 64], obj[PATH_MAX + 64], pin[PATH_MAX + 64];
	char bpffs[PATH_MAX] = "/sys/fs/bpf", line[4096];
	char *pargv[] = { snoop, "--pin", pin, NULL };
	char *targv[] = { cli, "tail", pin, "--btf", obj, "--type", "event", "--format", "jsonl", NULL };
	int seen[3] = { 0 }, found = 0, mounted;
	pid_t pids[3];
	struct proc ps, pt;

	snprintf(cli, sizeof(cli), "%s/../../ringbuf", g_dir);
	if (!cli_has_btf(cli)) {
		printf("note: this ringbuf has no tail --btf: only the ringbuf_map_open consumer "
		       "was checked\n");
		return;
	}
	mounted = kbpf_bpffs_get(bpffs, sizeof(bpffs), "/tmp/t_execsnoop.XXXXXX");
	if (mounted < 0)
		return;
	snprintf(snoop, sizeof(snoop), "%s/execsnoop", g_dir);
	snprintf(obj, sizeof(obj), "%s/execsnoop.bpf.o", g_dir);
	snprintf(pin, sizeof(pin), "%s/t_execsnoop_%d", bpffs, (int)getpid());
	start(&ps, pargv, "execsnoop: events pinned");
	for (int i = 0; i < 3; i++)
		pids[i] = run_true();
	/* the records wait in the map for the first consumer: tail */
	spawn(&pt, targv);
	while (found < 3 && next_line(&pt, line, sizeof(line))) {
		for (int i = 0; i < 3; i++) {
			if (!seen[i] && has_number(line, pids[i])) {
				CHECK(strstr(line, "/bin/true"));
				seen[i] = 1;
				found++;
			}
		}
	}
	CHECK_EQ(found, 3);
	CHECK_EQ(kill(pt.pid, SIGINT), 0);
	finish(&pt);
	CHECK_EQ(kill(ps.pid, SIGINT), 0);
	CHECK_EQ(finish(&ps), 0);
	CHECK(access(pin, F_OK) != 0); /* unpinned at exit */
	kbpf_bpffs_put(bpffs, mounted);
	printf("ringbuf tail --btf: 3 execs decoded from the pinned map\n");
}

int main(void)
{
	char exe[PATH_MAX];

	kbpf_require();
	t_exe_dir(exe);
	snprintf(g_dir, sizeof(g_dir), "%.*s/../examples/execsnoop", PATH_MAX - 32, exe);
	if (access(g_dir, X_OK) != 0 || strlen(g_dir) > PATH_MAX - 64)
		SKIP("no %s: make examples builds it (it needs bpftool)", g_dir);
	{
		char p[PATH_MAX + 64];

		snprintf(p, sizeof(p), "%s/execsnoop", g_dir);
		if (access(p, X_OK) != 0)
			SKIP("no %s: make examples builds it (it needs bpftool)", p);
	}
	signal(SIGPIPE, SIG_IGN);
	consumer();
	count();
	tail_btf();
	return T_PASS;
}
