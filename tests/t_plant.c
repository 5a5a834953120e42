/* SPDX-License-Identifier: MIT */
/*
 * t_plant -- what another local user can plant in /dev/shm, where ring
 * names live, is refused at once and clearly, never followed, never
 * waited on:
 *   - at a ring's name, and as a split ring's 'ring' or 'consumer' file:
 *     a FIFO, a unix socket, a symlink (to /etc/passwd and to a real ring),
 *     a directory, a device node, an empty file, a sparse 1 TiB file;
 *     ringbuf_open() in each role fails with an errno (never a hang: a
 *     watchdog), ringbuf_create() gives EEXIST, and the command's stat,
 *     write and tail exit 4 (not a ring) while ls lists the name with a
 *     reason and ends;
 *   - ls prints a planted name's control bytes escaped, so a newline or
 *     an escape sequence cannot forge a row or drive the terminal;
 *   - rm of a split ring holding a planted extra file removes nothing and
 *     leaves nothing hidden; `--` lets the command address a name that
 *     starts with '-';
 *   - a callback that consumes, polls, takes or frees its own handle gets
 *     EBUSY and changes nothing.
 */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ringbuf.h"

#define SHM "/dev/shm"

static char g_cli[PATH_MAX + 16];
static char g_name[64];

enum plant { P_FIFO, P_SOCK, P_LINK_PASSWD, P_LINK_RING, P_DIR, P_DEV, P_EMPTY, P_HUGE, P_N };
static const char *const plant_name[P_N] = { "fifo", "socket", "symlink to /etc/passwd",
					      "symlink to a ring", "directory", "device node",
					      "empty file", "sparse 1 TiB file" };

static void plant_at(const char *path, enum plant p, const char *real_ring)
{
	int fd;

	switch (p) {
	case P_FIFO:
		CHECK(mkfifo(path, 0666) == 0);
		break;
	case P_SOCK: {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		CHECK(fd >= 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		close(fd);
		break;
	}
	case P_LINK_PASSWD:
		CHECK(symlink("/etc/passwd", path) == 0);
		break;
	case P_LINK_RING:
		CHECK(symlink(real_ring, path) == 0);
		break;
	case P_DIR:
		CHECK(mkdir(path, 0777) == 0);
		break;
	case P_DEV:
		if (mknod(path, S_IFCHR | 0666, makedev(1, 3))) /* /dev/null's */
			CHECK(mkfifo(path, 0666) == 0);           /* not root: a FIFO */
		break;
	case P_EMPTY:
	case P_HUGE:
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0666);
		CHECK(fd >= 0);
		if (p == P_HUGE) {
			/* 1 TiB where off_t has 64 bits, 2 GiB - 1 where it has 32 */
			off_t huge = INT32_MAX;
			if (sizeof(off_t) > 4)
				huge = (huge + 1) * 512;
			CHECK(ftruncate(fd, huge) == 0);
		}
		close(fd);
		break;
	default:
		CHECK(!"plant");
	}
}

static void remove_tree(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	CHECK(system(cmd) == 0);
}

static int cli(const char *const *args, bool quiet)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (pid == 0) {
		const char *argv[12] = { "ringbuf" };
		int n = 1;
		int null = open("/dev/null", O_RDWR);

		for (; *args && n < 11; args++)
			argv[n++] = *args;
		argv[n] = NULL;
		dup2(null, 0);
		dup2(null, 1);
		if (quiet)
			dup2(null, 2);
		alarm(10); /* a command that waits on a planted object fails */
		execv(g_cli, (char *const *)argv);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "ringbuf %s %s: killed by signal %d\n", args[0], args[1],
			WTERMSIG(st));
		exit(T_FAIL);
	}
	return WEXITSTATUS(st);
}

/* Everything that opens @name must refuse it at once. */
static void expect_refused(const char *name, const char *what)
{
	uint32_t roles[] = { RINGBUF_ROLE_PRODUCER, RINGBUF_ROLE_CONSUMER, 0 };

	for (size_t i = 0; i < 3; i++) {
		struct ringbuf_opts o = { .sz = sizeof(o), .role = roles[i] };
		struct ringbuf *rb;

		errno = 0;
		rb = ringbuf_open(name, &o);
		if (rb) {
			fprintf(stderr, "%s: opened\n", what);
			CHECK(!"a planted object is refused");
		}
		CHECK(errno != 0);
	}
	fprintf(stderr, "planted: %s\n", what);
	CHECK_EQ(cli((const char *[]){ "stat", name, NULL }, false), 4);
	CHECK_EQ(cli((const char *[]){ "write", name, NULL }, true), 4);
	CHECK_EQ(cli((const char *[]){ "tail", name, "--count", "1", NULL }, true), 4);
	CHECK_EQ(cli((const char *[]){ "ls", NULL }, true), 0);
}

static void plants(void)
{
	char path[256], real[256], sub[300], realname[80];
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = 0600 };
	struct ringbuf *rb;

	snprintf(realname, sizeof(realname), "%s.real", g_name);
	rb = ringbuf_create(realname, 4096, &o);
	CHECK(rb);
	ringbuf_free(rb);
	snprintf(real, sizeof(real), SHM "/ringbuf.%s", realname);
	snprintf(path, sizeof(path), SHM "/ringbuf.%s", g_name);
	for (int p = 0; p < P_N; p++) {
		/* at the name */
		plant_at(path, (enum plant)p, real);
		if (p != P_DIR) /* an empty directory is a split ring missing its files */
			expect_refused(g_name, plant_name[p]);
		errno = 0;
		CHECK(ringbuf_create(g_name, 4096, &o) == NULL);
		CHECK_EQ(errno, EEXIST);
		remove_tree(path);
		/* as each file of a split ring */
		for (int f = 0; f < 2; f++) {
			struct ringbuf_opts so = { .sz = sizeof(so), .flags = RINGBUF_F_SPLIT,
						   .mode = 0600 };

			rb = ringbuf_create(g_name, 4096, &so);
			CHECK(rb);
			ringbuf_free(rb);
			snprintf(sub, sizeof(sub), "%s/%s", path, f ? "consumer" : "ring");
			CHECK(unlink(sub) == 0);
			plant_at(sub, (enum plant)p, real);
			expect_refused(g_name, plant_name[p]);
			remove_tree(path);
		}
	}
	CHECK(ringbuf_unlink(realname) == 0);
}

/* ls output of a planted name with control bytes: escaped. */
static void forged_names(void)
{
	char path[PATH_MAX], out[PATH_MAX];
	int pfd[2], st;
	char buf[16384];
	ssize_t n, got = 0;
	pid_t pid;

	snprintf(path, sizeof(path), SHM "/ringbuf.%s\nFORGED row\033]0;title\a", g_name);
	plant_at(path, P_EMPTY, NULL);
	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		alarm(10);
		execl(g_cli, "ringbuf", "ls", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(pfd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	buf[got] = '\0';
	for (ssize_t i = 0; i < got; i++)
		CHECK(buf[i] == '\n' || (buf[i] >= 0x20 && buf[i] < 0x7f));
	CHECK(strstr(buf, "\\x0aFORGED row\\x1b]0;title\\x07") != NULL);
	for (char *l = buf; (l = strstr(l, "FORGED")); l++)
		CHECK(l > buf && l[-1] != '\n'); /* never at the start of a row */
	snprintf(out, sizeof(out), "%s", path);
	CHECK(unlink(out) == 0);
}

static bool hidden_leftovers(void)
{
	DIR *d = opendir(SHM);
	struct dirent *de;
	bool found = false;

	CHECK(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".ringbuf-old.", 13))
			found = true;
	closedir(d);
	return found;
}

static void rm_never_half(void)
{
	struct ringbuf_opts so = { .sz = sizeof(so), .flags = RINGBUF_F_SPLIT, .mode = 0600 };
	struct ringbuf *rb = ringbuf_create(g_name, 4096, &so);
	char extra[PATH_MAX], dash[80];

	CHECK(rb);
	ringbuf_free(rb);
	CHECK(!hidden_leftovers());
	snprintf(extra, sizeof(extra), SHM "/ringbuf.%s/planted", g_name);
	plant_at(extra, P_EMPTY, NULL);
	CHECK_ERR(ringbuf_unlink(g_name), ENOTEMPTY);
	CHECK(cli((const char *[]){ "rm", g_name, NULL }, true) != 0);
	CHECK(!hidden_leftovers());
	/* the ring is intact and usable */
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	rb = ringbuf_open(g_name, &po);
	CHECK(rb);
	CHECK_EQ(ringbuf_output(rb, "x", 1, 0), 0);
	ringbuf_free(rb);
	CHECK(unlink(extra) == 0);
	CHECK_EQ(ringbuf_unlink(g_name), 0);
	CHECK(!hidden_leftovers());

	/* `--` for a name that starts with '-' */
	snprintf(dash, sizeof(dash), "-%s", g_name);
	CHECK_EQ(cli((const char *[]){ "create", "--size", "4K", "--", dash, NULL }, true), 0);
	CHECK_EQ(cli((const char *[]){ "stat", "--", dash, NULL }, true), 0);
	CHECK_EQ(cli((const char *[]){ "rm", "--", dash, NULL }, true), 0);
	CHECK_EQ(cli((const char *[]){ "stat", "--", dash, NULL }, true), 3);
}

/* Re-entry from a callback. */
struct reent {
	struct ringbuf *rb;
	int calls;
};

static int inner_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	CHECK(!"a re-entered consume delivers nothing");
	return 0;
}

static int reent_cb(void *ctx, void *data, size_t size)
{
	struct reent *r = ctx;
	struct ringbuf_record rec;

	(void)data;
	(void)size;
	r->calls++;
	CHECK_ERR(ringbuf_consume(r->rb, inner_cb, NULL), EBUSY);
	CHECK_ERR(ringbuf_consume_n(r->rb, inner_cb, NULL, 1), EBUSY);
	CHECK_ERR(ringbuf_poll(r->rb, inner_cb, NULL, 0), EBUSY);
	CHECK_ERR(ringbuf_next(r->rb, &rec), EBUSY);
	errno = 0;
	ringbuf_free(r->rb); /* refused: the handle stays */
	CHECK_EQ(errno, EBUSY);
	return 0;
}

static void reentry(void)
{
	struct reent r = { .rb = ringbuf_new(4096, NULL) };

	CHECK(r.rb);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(ringbuf_output(r.rb, &i, sizeof(i), 0), 0);
	CHECK_EQ(ringbuf_consume(r.rb, reent_cb, &r), 6);
	CHECK_EQ(r.calls, 6); /* each record once */
	CHECK_EQ(ringbuf_output(r.rb, "y", 1, 0), 0);
	CHECK_EQ(ringbuf_poll(r.rb, reent_cb, &r, 100), 1);
	CHECK_EQ(r.calls, 7);
	CHECK_EQ(ringbuf_query(r.rb, RINGBUF_AVAIL_DATA), 0);
	ringbuf_free(r.rb); /* outside the callback: freed */
}

int main(void)
{
	char dir[PATH_MAX];

	t_exe_dir(dir);
	snprintf(g_cli, sizeof(g_cli), "%s/../ringbuf", dir);
	if (access(g_cli, X_OK))
		SKIP("the ringbuf command is not built at %s", g_cli);
	snprintf(g_name, sizeof(g_name), "t_plant.%d", (int)getpid());
	alarm(120);
	reentry();
	plants();
	forged_names();
	rm_never_half();
	return T_PASS;
}
