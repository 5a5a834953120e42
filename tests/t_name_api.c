/* SPDX-License-Identifier: MIT */
/*
 * t_name_api.c -- ringbuf_name_info() and ringbuf_list(): what tools ask
 * the library about named rings instead of re-deriving its rules.
 *
 * Checks: the path and kind of a one-file ring and of a split ring (whose
 * producers map its `ring` file); a valid name with nothing under it
 * (-ENOENT, info still filled); invalid names and a too-small info
 * (-EINVAL, errno set); a symlink, a FIFO and a socket under a name
 * (-EPROTO, nothing opened: a FIFO would block); listing in byte order,
 * invalid names reported (-EINVAL) rather than hidden, hidden entries
 * never listed, and a nonzero callback return stopping the walk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"

#define SHM "/dev/shm/ringbuf."

static char g_prefix[64]; /* "t_name_api-PID-" */

static void mkname(char *buf, size_t len, const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", g_prefix, suffix);

	CHECK(n > 0 && (size_t)n < len);
}

static void cleanup(void)
{
	static const char *const sfx[] = { "file", "split", "link", "fifo", "sock", "bad\nname",
					   "zz" };
	char name[128], path[256];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		mkname(name, sizeof(name), sfx[i]);
		if (ringbuf_unlink(name)) {
			snprintf(path, sizeof(path), SHM "%s", name);
			unlink(path);
		}
	}
}

static void expect_info(const char *name, int ret, uint32_t kind, const char *path,
			const char *ring_path)
{
	struct ringbuf_name_info info;

	memset(&info, 0xAA, sizeof(info));
	info.sz = sizeof(info);
	errno = 0;
	CHECK_EQ(ringbuf_name_info(name, &info), ret);
	CHECK_EQ(errno, ret ? -ret : 0);
	if (ret && ret != -ENOENT && ret != -EPROTO)
		return;
	CHECK_EQ(info.kind, kind);
	CHECK(!strcmp(info.path, path));
	CHECK(!strcmp(info.ring_path, ring_path));
}

static void test_info(void)
{
	struct ringbuf_opts split = { .sz = sizeof(split), .flags = RINGBUF_F_SPLIT };
	char name[128], path[256], rpath[256];
	struct ringbuf_name_info info = { .sz = sizeof(info) };
	struct ringbuf *rb;

	mkname(name, sizeof(name), "file");
	snprintf(path, sizeof(path), SHM "%s", name);
	expect_info(name, -ENOENT, 0, path, path);
	rb = ringbuf_create(name, 4096, NULL);
	CHECK(rb != NULL);
	ringbuf_free(rb);
	expect_info(name, 0, RINGBUF_NAME_FILE, path, path);

	mkname(name, sizeof(name), "split");
	snprintf(path, sizeof(path), SHM "%s", name);
	snprintf(rpath, sizeof(rpath), SHM "%s/ring", name);
	rb = ringbuf_create(name, 4096, &split);
	CHECK(rb != NULL);
	ringbuf_free(rb);
	expect_info(name, 0, RINGBUF_NAME_SPLIT, path, rpath);

	/* Things no ring can be: refused without being opened. */
	mkname(name, sizeof(name), "link");
	snprintf(path, sizeof(path), SHM "%s", name);
	CHECK_EQ(symlink("/etc/passwd", path), 0);
	expect_info(name, -EPROTO, 0, path, path);
	mkname(name, sizeof(name), "fifo");
	snprintf(path, sizeof(path), SHM "%s", name);
	CHECK_EQ(mkfifo(path, 0600), 0);
	expect_info(name, -EPROTO, 0, path, path);
	mkname(name, sizeof(name), "sock");
	snprintf(path, sizeof(path), SHM "%s", name);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);

		CHECK(s >= 0);
		CHECK(strlen(path) < sizeof(sa.sun_path));
		strcpy(sa.sun_path, path);
		CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s);
	}
	expect_info(name, -EPROTO, 0, path, path);

	/* Invalid names and arguments. */
	expect_info("", -EINVAL, 0, "", "");
	expect_info(".hidden", -EINVAL, 0, "", "");
	expect_info("a/b", -EINVAL, 0, "", "");
	expect_info("new\nline", -EINVAL, 0, "", "");
	expect_info(NULL, -EINVAL, 0, "", "");
	{
		char longname[RINGBUF_NAME_MAX + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[RINGBUF_NAME_MAX + 1] = '\0';
		expect_info(longname, -EINVAL, 0, "", "");
		longname[RINGBUF_NAME_MAX] = '\0'; /* the longest valid name */
		snprintf(path, sizeof(path), SHM "%s", longname);
		expect_info(longname, -ENOENT, 0, path, path);
	}
	CHECK_ERR(ringbuf_name_info(name, NULL), EINVAL);
	info.sz = sizeof(size_t);
	CHECK_ERR(ringbuf_name_info(name, &info), EINVAL);
	printf("name info: ok\n");
}

struct seen {
	char names[16][128];
	int errs[16];
	int n;
	int stop_at; /* return 1 when this many are seen (0: never) */
};

static int on_name(void *ctx, const char *name, int err)
{
	struct seen *s = ctx;

	if (strncmp(name, g_prefix, strlen(g_prefix)))
		return 0; /* another test's, or the system's */
	CHECK(s->n < 16);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name + strlen(g_prefix));
	s->errs[s->n] = err;
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static void test_list(void)
{
	/* byte order: "bad\nname" < "fifo" < "file" < "link" < "sock" < "split" < "zz" */
	static const char *const want[] = { "bad\nname", "fifo", "file", "link", "sock", "split",
					    "zz" };
	char name[128], path[256];
	struct seen s = { .n = 0 };
	int fd;

	/* a name the library refuses, and an entry that is not a ring */
	mkname(name, sizeof(name), "bad\nname");
	snprintf(path, sizeof(path), SHM "%s", name);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	mkname(name, sizeof(name), "zz");
	snprintf(path, sizeof(path), SHM "%s", name);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	/* a hidden entry of the same prefix is never listed */
	snprintf(path, sizeof(path), "/dev/shm/.ringbuf.%shidden", g_prefix);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);

	CHECK_EQ(ringbuf_list(on_name, &s), 0);
	CHECK_EQ(s.n, 7);
	for (int i = 0; i < 7; i++) {
		CHECK(!strcmp(s.names[i], want[i]));
		CHECK_EQ(s.errs[i], i == 0 ? -EINVAL : 0);
	}
	CHECK_EQ(unlink(path), 0);

	/* the callback's nonzero return stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	CHECK_EQ(ringbuf_list(on_name, &s), 42);
	CHECK_EQ(s.n, 2);

	CHECK_ERR(ringbuf_list(NULL, NULL), EINVAL);
	printf("list: ok\n");
}

int main(void)
{
	struct stat st;

	if (stat("/dev/shm", &st) || !S_ISDIR(st.st_mode))
		SKIP("no /dev/shm");
	snprintf(g_prefix, sizeof(g_prefix), "t_name_api-%d-", (int)getpid());
	cleanup();
	atexit(cleanup);
	test_info();
	test_list();
	return T_PASS;
}
