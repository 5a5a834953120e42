/* SPDX-License-Identifier: MIT */
/*
 * cmd_ls.c -- ringbuf ls: one line per named ring, with its producers found in
 * /proc/PID/maps.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

			char perms[8];

			/* producers map it writable; observers (stat, ls, tail
			 * --peek) and a consumer of a split ring only read it */
			if (sscanf(line, "%*s %7s %*s %x:%x %llu", perms, &maj, &min, &ino) == 4 &&
			    perms[1] == 'w' && maj == major(st.st_dev) && min == minor(st.st_dev) &&
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

/* One ring's line, collected before any is printed, so that the NAME
 * column is as wide as the longest name. */
struct ls_row {
	char shown[4 * RINGBUF_NAME_MAX + 8]; /* the name, escaped for a terminal */
	char json[6 * RINGBUF_NAME_MAX + 8];  /* the name, as a JSON string */
	const char *why;                      /* not a ring we could read: why */
	struct ringbuf_stats st;
	int producers;                        /* -1: not visible */
};

struct ls_ctx {
	struct ls_row *row;
	size_t n, cap;
};

/* Collect the ring @name (@err: -EINVAL for a name the library refuses),
 * from ringbuf_list(). */
static int ls_one(void *ctx, const char *name, int err)
{
	struct ls_ctx *c = ctx;
	struct ringbuf_name_info ni;
	struct ls_row *r;
	struct ringbuf *rb;
	uint32_t role;
	bool busy = false;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct ls_row *n = realloc(c->row, cap * sizeof(*n));

		if (!n)
			die(EX_FAIL, "out of memory");
		c->row = n;
		c->cap = cap;
	}
	r = &c->row[c->n];
	memset(r, 0, sizeof(*r));
	r->st.sz = sizeof(r->st);
	/* a name is whatever some user created: never raw bytes to a terminal */
	escape_text(name, r->shown, sizeof(r->shown));
	json_str(name, r->json, sizeof(r->json));
	errno = 0;
	rb = err ? (errno = -err, NULL) : open_observe(name, &role, &busy);
	if (!rb) {
		int e = errno ? errno : EIO;

		if (e == ENOENT) /* removed since the directory was read */
			return 0;
		r->why = busy ? "permission denied; consumer running" : open_reason(e);
		c->n++;
		return 0;
	}
	observe_stats(rb, role, &r->st);
	ringbuf_free(rb);
	/* a split ring's producers map its 'ring' file */
	name_info(name, &ni);
	r->producers = count_producers(ni.ring_path, r->st.consumer_pid);
	c->n++;
	return 0;
}

static void ls_print(const struct ls_ctx *c, bool json)
{
	int w = 24;

	if (json) {
		putchar('[');
		for (size_t i = 0; i < c->n; i++) {
			const struct ls_row *r = &c->row[i];
			const struct ringbuf_stats *st = &r->st;

			printf("%s{\"name\":%s", i ? "," : "", r->json);
			if (r->why) {
				char why[128];

				json_str(r->why, why, sizeof(why));
				printf(",\"error\":%s}", why);
				continue;
			}
			printf(",\"size\":%" PRIu64 ",\"fill\":%.1f,\"consumer_pid\":%u,"
			       "\"producers\":%d,\"reserved\":%" PRIu64 ",\"discarded\":%" PRIu64
			       ",\"refused\":%" PRIu64 ",\"recovered\":%" PRIu64 ",\"avail_data\":%" PRIu64
			       "}",
			       st->ring_size, fill_pct(st), st->consumer_pid, r->producers, st->reserved,
			       st->discarded, st->refused_full + st->refused_too_big + st->refused_flags,
			       st->recovered, st->avail_data);
		}
		puts("]");
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		if ((int)strlen(c->row[i].shown) > w)
			w = (int)strlen(c->row[i].shown);
	printf("%-*s %6s %6s %8s %9s %12s %10s %10s %10s\n", w, "NAME", "SIZE", "FILL", "CONSUMER",
	       "PRODUCERS", "RESERVED", "DISCARDED", "REFUSED", "RECOVERED");
	for (size_t i = 0; i < c->n; i++) {
		const struct ls_row *r = &c->row[i];
		const struct ringbuf_stats *st = &r->st;
		char size[32], pid[16], nprod[16];

		if (r->why) {
			printf("%-*s %6s %6s %8s %9s %12s %10s %10s %10s  (%s)\n", w, r->shown, "-", "-",
			       "-", "-", "-", "-", "-", "-", r->why);
			continue;
		}
		if (r->producers >= 0)
			snprintf(nprod, sizeof(nprod), "%d", r->producers);
		else
			snprintf(nprod, sizeof(nprod), "-");
		fmt_size(size, sizeof(size), st->ring_size);
		if (st->consumer_pid)
			snprintf(pid, sizeof(pid), "%u", st->consumer_pid);
		else
			snprintf(pid, sizeof(pid), "-");
		printf("%-*s %6s %5.1f%% %8s %9s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       "\n",
		       w, r->shown, size, fill_pct(st), pid, nprod, st->reserved, st->discarded,
		       st->refused_full + st->refused_too_big + st->refused_flags, st->recovered);
	}
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

static const struct cli_opt ls_opts[] = {
	{ "--json", CLI_FLAG, NULL, "-j" },
	{ NULL, 0, NULL, NULL },
};

static void ls_opt(void *ctx, int opt, const char *v)
{
	(void)opt; /* --json, the only one */
	(void)v;
	*(bool *)ctx = true;
}

static int ls_run(int argc, char **argv)
{
	struct ls_ctx c = { NULL, 0, 0 };
	bool json = false;
	int r;

	cli_parse(&cmd_ls, argc, argv, ls_opt, &json);
	r = ringbuf_list(ls_one, &c);
	if (r < 0) {
		char dir[sizeof(((struct ringbuf_name_info *)0)->path)];

		ring_dir(dir, sizeof(dir));
		die(EX_FAIL, "%s: %s", dir, strerror(-r));
	}
	ls_print(&c, json);
	free(c.row);
	if (fflush(stdout))
		die(EX_FAIL, "standard output: %s", strerror(errno));
	return EX_OK;
}

static const char ls_help[] =
	"usage: ringbuf ls [-j|--json]\n"
	"\n"
	"List the rings in /dev/shm (files and split rings' directories named\n"
	"ringbuf.*), one per line:\n"
	"  NAME       the ring's name\n"
	"  SIZE       data bytes (K, M, G: powers of 1024)\n"
	"  FILL       data not yet consumed, percent of SIZE\n"
	"  CONSUMER   pid of the process holding the consumer role, '-' if none\n"
	"  PRODUCERS  other processes mapping the ring (its 'ring' file) writable:\n"
	"             the consumer and readers (stat, ls, tail --peek) are not\n"
	"             counted ('-': not visible to this user)\n"
	"  RESERVED   reservations made (records written, discarded ones included)\n"
	"  DISCARDED  records committed as discarded\n"
	"  REFUSED    reservations refused (ring full, too big, bad flags)\n"
	"A name that cannot be opened as a ring is listed with '-' and the reason.\n"
	"The NAME column is as wide as the longest name.  --json (-j) prints one\n"
	"JSON array instead: per ring an object with name, size, fill,\n"
	"consumer_pid, producers (-1: not visible), reserved, discarded,\n"
	"refused, recovered, avail_data; or name and error.\n"
	"Each ring is opened as stat does (see 'ringbuf stat --help').\n"
	"\n"
	"Exit status: 0, 1 (/dev/shm unreadable), 2.\n";

const struct cli_cmd cmd_ls = {
	.name = "ls",
	.synopsis = "[-j|--json]",
	.opts = ls_opts,
	.summary = "list the rings on this machine",
	.help = ls_help,
	.run = ls_run,
};
