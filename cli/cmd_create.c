/* SPDX-License-Identifier: MIT */
/*
 * cmd_create.c -- ringbuf create and ringbuf rm: make a named ring, remove
 * its name.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A decimal number with an optional K/M/G (KiB/MiB/GiB) suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		switch (*p) {
		case 'k': case 'K': mul = 1ULL << 10; break;
		case 'm': case 'M': mul = 1ULL << 20; break;
		case 'g': case 'G': mul = 1ULL << 30; break;
		default: return -1;
		}
		p++;
		if (!strcmp(p, "iB"))
			p += 2;
		if (*p)
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* --mode/--consumer-mode: octal permissions, 1 to 0777; exits on a bad one. */
static uint32_t parse_mode(const char *opt, const char *name, const char *s)
{
	unsigned long mode;
	char *end;

	errno = 0;
	mode = strtoul(s, &end, 8);
	if (!*s || *end || errno || mode > 0777 || !isdigit((unsigned char)*s))
		usage_err("malformed %s '%s' (expected octal, e.g. 0600)", opt + 2, s);
	if (mode == 0) {
		/* opts.mode 0 means the default (0600); a mode of 0 is asked
		 * for explicitly: the library cannot make it, say so */
		die(EX_USAGE, "%s: %s 0 is not supported (0 selects the default)", name, opt);
	}
	return (uint32_t)mode;
}

enum { CREATE_SIZE, CREATE_MODE, CREATE_CMODE, CREATE_OVERWRITE, CREATE_SPLIT, CREATE_SET };

static const struct cli_opt create_opts[] = {
	[CREATE_SIZE] = { "--size", CLI_VALUE, NULL, NULL },
	[CREATE_MODE] = { "--mode", CLI_VALUE, NULL, NULL },
	[CREATE_CMODE] = { "--consumer-mode", CLI_VALUE, NULL, NULL },
	[CREATE_OVERWRITE] = { "--overwrite", CLI_FLAG, NULL, NULL },
	[CREATE_SPLIT] = { "--split", CLI_FLAG, NULL, NULL },
	[CREATE_SET] = { "--set", CLI_VALUE, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

struct create_args {
	const char *size, *mode, *cmode, *set; /* as given */
	bool overwrite, split;
};

static void create_opt(void *ctx, int opt, const char *v)
{
	struct create_args *a = ctx;

	switch (opt) {
	case CREATE_SIZE: a->size = v; break;
	case CREATE_MODE: a->mode = v; break;
	case CREATE_CMODE: a->cmode = v; break;
	case CREATE_OVERWRITE: a->overwrite = true; break;
	case CREATE_SPLIT: a->split = true; break;
	case CREATE_SET: a->set = v; break;
	}
}

static int create_run(int argc, char **argv)
{
	struct create_args a = { NULL, NULL, NULL, NULL, false, false };
	uint64_t nset = 0;
	const char *name = cli_parse(&cmd_create, argc, argv, create_opt, &a);
	uint64_t size;
	uint32_t mode = 0600, cmode = 0;
	long page = sysconf(_SC_PAGESIZE);

	require_name(name);
	if (!a.size)
		usage_err("missing --size");
	if (parse_size(a.size, &size))
		usage_err("malformed size '%s' (expected a number with an optional K, M or G "
			  "suffix)", a.size);
	if (size == 0 || (size & (size - 1)) || size % (uint64_t)page ||
	    size > RINGBUF_MAX_DATA_SIZE || size > SIZE_MAX)
		usage_err("bad size '%s': must be a power of two, a multiple of the page size "
			  "(%ld) and at most 2G", a.size, page);
	if (a.cmode && !a.split)
		usage_err("--consumer-mode needs --split (it is the mode of a split ring's "
			  "'consumer' file)");
	if (a.set && (parse_u64(a.set, &nset) || nset < 1 || nset > 1024))
		usage_err("malformed --set '%s' (the number of rings, 1 to 1024)", a.set);
	if (a.set && (a.split || a.overwrite))
		usage_err("--set makes plain rings: not with --split or --overwrite");
	if (a.mode)
		mode = parse_mode("--mode", name, a.mode);
	if (a.cmode)
		cmode = parse_mode("--consumer-mode", name, a.cmode);
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = mode, .consumer_mode = cmode,
				  .flags = (a.overwrite ? RINGBUF_F_OVERWRITE : 0) |
					   (a.split ? RINGBUF_F_SPLIT : 0) };
	struct target t = { .arg = name, .kind = T_NAME };
	struct ringbuf *rb;

	if (a.set) {
		struct ringbuf_set *set;

		errno = 0;
		set = ringbuf_set_create(name, (unsigned)nset, (size_t)size, &o);
		if (!set && errno == EINVAL)
			usage_err("invalid set name '%s' (a ring name with room for '.%u' after it)",
				  name, (unsigned)nset - 1);
		if (!set && errno == EEXIST)
			die(EX_EXIST, "%s: a ring of the set's names (%s.0 .. %s.%u) exists", name,
			    name, name, (unsigned)nset - 1);
		if (!set)
			open_fail(&t, errno ? errno : EIO);
		ringbuf_set_free(set);
		return EX_OK;
	}
	errno = 0;
	rb = ringbuf_create(name, (size_t)size, &o);
	if (!rb)
		open_fail(&t, errno ? errno : EIO);
	ringbuf_free(rb);
	return EX_OK;
}

static const char create_help[] =
	"usage: ringbuf create NAME --size SIZE [--mode MODE] [--overwrite]\n"
	"                      [--split [--consumer-mode MODE]] [--set N]\n"
	"\n"
	"Create the ring NAME (1-" STR(RINGBUF_NAME_MAX) " characters of [A-Za-z0-9._-],"
	" not starting\n"
	"with '.') as /dev/shm/ringbuf.NAME.\n"
	"\n"
	"  --size SIZE   data bytes: a power of two, a multiple of the page size,\n"
	"                at most 2G; a number with an optional suffix K, M or G\n"
	"                (KiB, MiB, GiB also accepted; powers of 1024): 4096, 64K, 1M\n"
	"  --mode MODE   permissions of the ring file (of 'ring' with --split),\n"
	"                octal (default 0600; the umask does not apply)\n"
	"  --overwrite   overwrite mode (the kernel's BPF_F_RB_OVERWRITE): writers\n"
	"                never fail for lack of room, the oldest committed records\n"
	"                are overwritten; tail gets the newest, and stat counts\n"
	"                the records it lost (overwritten, lost, overwrite_pos)\n"
	"  --split       a split ring: /dev/shm/ringbuf.NAME is a directory (mode\n"
	"                0711) holding two files, 'ring' (what producers write:\n"
	"                metadata, producer page, data; --mode) and 'consumer' (what\n"
	"                the consumer writes: its page; --consumer-mode).  Writing\n"
	"                records needs write access to 'ring', consuming needs it\n"
	"                to 'consumer'; read access to the other file is needed\n"
	"                too.  chown/chmod the files to let each user do only its\n"
	"                part.\n"
	"  --consumer-mode MODE\n"
	"                with --split: permissions of the 'consumer' file, octal\n"
	"                (default: as --mode)\n"
	"  --set N       a ring set: N rings (1 to 1024) of SIZE each, named\n"
	"                NAME.0 .. NAME.(N-1), that producers share a ring per CPU\n"
	"                (ringbuf_set_*); tail, stat and rm take NAME for the\n"
	"                whole set.  Not with --split or --overwrite.\n"
	"\n"
	"Exit status: 0, 1, 2 (bad name, size, mode or count; --consumer-mode\n"
	"without --split), 5, 9 (exists).\n";

const struct cli_cmd cmd_create = {
	.name = "create",
	.synopsis = "NAME --size SIZE [--mode MODE] [--overwrite]\n[--split [--consumer-mode MODE]] [--set N]",
	.summary = "create a named ring",
	.help = create_help,
	.opts = create_opts,
	.operand = "NAME",
	.run = create_run,
};

static int rm_run(int argc, char **argv)
{
	const char *name = cli_parse(&cmd_rm, argc, argv, NULL, NULL);
	struct target t = { .arg = name, .kind = T_NAME };
	int r;

	if (!valid_name(name))
		usage_err("invalid ring name '%s'", name);
	r = ringbuf_unlink(name);
	if (r == -ENOENT) {
		/* no ring of that name: a ring set's? */
		int rs = ringbuf_set_unlink(name);

		if (rs != -ENOENT && rs != -EPROTO && rs != -EINVAL)
			r = rs;
	}
	if (r < 0)
		open_fail(&t, -r);
	return EX_OK;
}

static const char rm_help[] =
	"usage: ringbuf rm NAME\n"
	"\n"
	"Remove the name of ring NAME (a split ring's directory with its two\n"
	"files; a ring set's rings).  Processes that have it open keep using it.\n"
	"\n"
	"Exit status: 0, 1, 2 (bad name), 3 (no such ring), 5.\n";

const struct cli_cmd cmd_rm = {
	.name = "rm",
	.synopsis = "NAME",
	.summary = "remove a ring's name",
	.help = rm_help,
	.operand = "NAME",
	.run = rm_run,
};
