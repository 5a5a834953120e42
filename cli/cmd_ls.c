/* SPDX-License-Identifier: MIT */
/*
 * cmd_ls.c -- ringbuf ls: one line per named ring, with its producers found in
 * /proc/PID/maps.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"

static void fmt_size(char *buf, size_t len, uint64_t v)
{
	if (v && v % (1ULL << 30) == 0)
		snprintf(buf, len, "%" PRIu64 "G", v >> 30);
	else if (v && v % (1ULL << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "M", v >> 20);
	else if (v && v % (1ULL << 10) == 0)
		snprintf(buf, len, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static const char *open_reason(int e)
{
	switch (e) {
	case ENOENT: return "removed";
	case EPROTO: return "not a ring";
	case EACCES: case EPERM: return "permission denied";
	case EPROTONOSUPPORT: return "another layout version";
	case EINVAL: return "invalid name";
	default: return strerror(e);
	}
}

/* How many processes other than this one and @consumer map the file at
 * @path: the ring's producers, as /proc/PID/maps shows them (by device and
 * inode, since a ring's creator maps it from before it had its name).
 * -1 if the file cannot be looked at. */
static int count_producers(const char *path, uint32_t consumer)
{
	struct dirent *de;
	struct stat st;
	int count = 0;
	DIR *proc;

	if (stat(path, &st) || !(proc = opendir("/proc")))
		return -1;
	while ((de = readdir(proc)) != NULL) {
		char maps[64], line[512];
		long pid = strtol(de->d_name, NULL, 10);
		FILE *f;

		if (pid <= 0 || pid == getpid() || (uint32_t)pid == consumer)
			continue;
		snprintf(maps, sizeof(maps), "/proc/%ld/maps", pid);
		f = fopen(maps, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned int maj, min;
			unsigned long long ino;

			if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
			    maj == major(st.st_dev) && min == minor(st.st_dev) &&
			    ino == (unsigned long long)st.st_ino) {
				count++;
				break;
			}
		}
		fclose(f);
	}
	closedir(proc);
	return count;
}

static void ls_header(void)
{
	printf("%-24s %6s %6s %8s %9s %12s %10s %10s %10s\n", "NAME", "SIZE", "FILL", "CONSUMER",
	       "PRODUCERS", "RESERVED", "DISCARDED", "REFUSED", "RECOVERED");
}

/* One line of ls for the ring @name (@err: -EINVAL for a name the library
 * refuses), from ringbuf_list(). */
static int ls_one(void *ctx, const char *name, int err)
{
	bool *header = ctx;
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct ringbuf_name_info ni;
	struct ringbuf *rb;
	char size[32], pid[16], nprod[16], shown[4 * RINGBUF_NAME_MAX + 8];
	uint32_t role;
	bool busy = false;
	int producers;

	if (!*header) {
		ls_header();
		*header = true;
	}
	/* a name is whatever some user created: never raw bytes to a terminal */
	escape_text(name, shown, sizeof(shown));
	errno = 0;
	rb = err ? (errno = -err, NULL) : open_observe(name, &role, &busy);
	if (!rb) {
		int e = errno ? errno : EIO;

		if (e == ENOENT) /* removed since the directory was read */
			return 0;
		printf("%-24s %6s %6s %8s %9s %12s %10s %10s %10s  (%s)\n", shown, "-", "-", "-",
		       "-", "-", "-", "-", "-",
		       busy ? "permission denied; consumer running" : open_reason(e));
		return 0;
	}
	observe_stats(rb, role, &st);
	ringbuf_free(rb);
	/* a split ring's producers map its 'ring' file */
	name_info(name, &ni);
	producers = count_producers(ni.ring_path, st.consumer_pid);
	if (producers >= 0)
		snprintf(nprod, sizeof(nprod), "%d", producers);
	else
		snprintf(nprod, sizeof(nprod), "-");
	fmt_size(size, sizeof(size), st.ring_size);
	if (st.consumer_pid)
		snprintf(pid, sizeof(pid), "%u", st.consumer_pid);
	else
		snprintf(pid, sizeof(pid), "-");
	printf("%-24s %6s %5.1f%% %8s %9s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
	       "\n",
	       shown, size, fill_pct(&st), pid, nprod, st.reserved, st.discarded,
	       st.refused_full + st.refused_too_big + st.refused_flags, st.recovered);
	return 0;
}

/* The directory the named rings live in (that of any name's path), for a
 * failure of ringbuf_list() to name. */
static void ring_dir(char *buf, size_t len)
{
	struct ringbuf_name_info ni;
	char *slash;

	name_info("x", &ni);
	slash = strrchr(ni.path, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s", ni.path);
}

static int ls_run(int argc, char **argv)
{
	bool header = false; /* printed before the first ring, or at the end */
	int r;

	cli_parse(&cmd_ls, argc, argv, NULL, NULL);
	r = ringbuf_list(ls_one, &header);
	if (r < 0) {
		char dir[sizeof(((struct ringbuf_name_info *)0)->path)];

		ring_dir(dir, sizeof(dir));
		die(EX_FAIL, "%s: %s", dir, strerror(-r));
	}
	if (!header)
		ls_header();
	if (fflush(stdout))
		die(EX_FAIL, "standard output: %s", strerror(errno));
	return EX_OK;
}

static const char ls_help[] =
	"usage: ringbuf ls\n"
	"\n"
	"List the rings in /dev/shm (files and split rings' directories named\n"
	"ringbuf.*), one per line:\n"
	"  NAME       the ring's name\n"
	"  SIZE       data bytes (K, M, G: powers of 1024)\n"
	"  FILL       data not yet consumed, percent of SIZE\n"
	"  CONSUMER   pid of the process holding the consumer role, '-' if none\n"
	"  PRODUCERS  other processes mapping the ring (its 'ring' file), the\n"
	"             consumer not counted ('-': not visible to this user)\n"
	"  RESERVED   reservations made (records written, discarded ones included)\n"
	"  DISCARDED  records committed as discarded\n"
	"  REFUSED    reservations refused (ring full, too big, bad flags)\n"
	"A name that cannot be opened as a ring is listed with '-' and the reason.\n"
	"Each ring is opened as stat does (see 'ringbuf stat --help').\n"
	"\n"
	"Exit status: 0, 1 (/dev/shm unreadable), 2.\n";

const struct cli_cmd cmd_ls = {
	.name = "ls",
	.synopsis = "",
	.summary = "list the rings on this machine",
	.help = ls_help,
	.run = ls_run,
};
