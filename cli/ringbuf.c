/* SPDX-License-Identifier: MIT */
/*
 * ringbuf -- the command-line tool: create, list, inspect, tail and write
 * ringbuf rings, and tail kernel BPF ring buffer maps.
 *
 *   ringbuf create NAME --size SIZE [--mode MODE] [--overwrite]
 *                  [--split [--consumer-mode MODE]]
 *   ringbuf rm NAME
 *   ringbuf ls
 *   ringbuf stat TARGET [--watch [SECS]]
 *   ringbuf tail TARGET [--format hex|raw|jsonl|text] [--count N] [--timeout S]
 *   ringbuf write TARGET [--lines | --raw] [--no-wakeup | --force-wakeup]
 *   ringbuf demo [ARGS...]   /   ringbuf bench [ARGS...]
 *
 * TARGET is a ring name (/dev/shm/ringbuf.NAME, a file, or a directory for
 * a split ring), a path to a map pinned in bpffs (anything containing a
 * '/'), or id:N for a kernel map id.  Uses only the public API of
 * include/ringbuf.h and libc.  The exit codes are listed in the main usage
 * (exit_codes_text) and in docs/ringbuf.1.
 *
 * Each subcommand is one struct cli_cmd: its name, the line the main usage
 * gives it, its help text, its options and the function that runs it.
 * The main usage is made from the table of them (commands[]); cli_parse()
 * reads every command's arguments from its option descriptions.
 *
 * Roles: each subcommand opens a named ring with the least it needs, so
 * that it works for a user whom a split ring's file modes give only one
 * role: tail the consumer role, write the producer role, stat and ls the
 * producer role (which claims nothing, so a running consumer is not
 * disturbed) or, when the user may not write the `ring` file, the
 * consumer role, held only for the moment of reading (open_observe()).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ringbuf.h"

#ifndef RINGBUF_CLI_VERSION
#define RINGBUF_CLI_VERSION "unknown"
#endif

/* Exit codes: distinct per kind of failure (documented in --help and the
 * man page). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,        /* runtime failure (anything not below) */
	EX_USAGE = 2,       /* bad usage, malformed argument or input */
	EX_NOENT = 3,       /* no such ring / pinned path / map id */
	EX_NOTRING = 4,     /* not a ring, or a kernel map of the wrong type */
	EX_PERM = 5,        /* permission denied (file modes) */
	EX_BPFPERM = 6,     /* BPF not permitted (EPERM from bpf(2)) */
	EX_VERSION = 7,     /* a ring of another layout version */
	EX_BUSY = 8,        /* another process is the ring's consumer */
	EX_EXIST = 9,       /* the ring name exists */
	EX_UNSUPPORTED = 10,/* an unsupported feature or operation */
	EX_TIMEOUT = 11,    /* tail --count N --timeout S: fewer than N records */
};

/* The one number in the help texts that is the library's (a macro that is
 * a plain number). */
#define STR_(x) #x
#define STR(x)  STR_(x)

/* An option of a command, as cli_parse() reads it. */
enum cli_arg {
	CLI_FLAG,     /* --name */
	CLI_VALUE,    /* --name VALUE or --name=VALUE */
	CLI_OPTVALUE, /* --name=VALUE, or --name followed by a VALUE that takes() accepts,
		       * or --name alone */
};

struct cli_opt {
	const char *name;                 /* "--size" */
	enum cli_arg arg;
	bool (*takes)(const char *next);  /* CLI_OPTVALUE: is @next its value? */
};

/* A subcommand: `ringbuf NAME ...`. */
struct cli_cmd {
	const char *name;
	const char *synopsis; /* its arguments in the main usage; '\n' continues the line */
	const char *summary;  /* what it does, in the main usage; NULL: not listed there */
	const char *help;     /* 'ringbuf NAME --help'; NULL: part of the main usage, whose
			       * help is theirs, and whose messages say just "ringbuf" */
	const struct cli_opt *opts; /* ended by a NULL name; NULL: none */
	const char *operand;  /* "NAME", "TARGET": its one operand, required; NULL: none */
	int (*run)(int argc, char **argv); /* argv[0] is NAME */
};

/* cli_parse() hands each option to such a function, in order: @opt is its
 * index in the command's opts, @val its value (NULL: none given). */
typedef void cli_opt_fn(void *ctx, int opt, const char *val);

static const struct cli_cmd cmd_create, cmd_rm, cmd_ls, cmd_stat, cmd_tail, cmd_write, cmd_demo,
	cmd_bench;

/* The command running, for messages; NULL: ringbuf itself. */
static const struct cli_cmd *cli_current;
static volatile sig_atomic_t g_stop;

/* ---- messages -------------------------------------------------------------- */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("ringbuf", stderr);
	if (cli_current)
		fprintf(stderr, " %s", cli_current->name);
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define die(code, ...)             \
	do {                       \
		msg(__VA_ARGS__);  \
		exit(code);        \
	} while (0)

/* A usage error: one line, with a pointer to --help. */
static void usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_err(const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	msg("%s (try 'ringbuf %s%s--help')", line, cli_current ? cli_current->name : "",
	    cli_current ? " " : "");
	exit(EX_USAGE);
}

/* ---- options ------------------------------------------------------------------- */

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* The option of @opts that the argument @a is -- "--name", or "--name=VALUE"
 * for one that takes a value, *@val set to VALUE -- or NULL. */
static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *a, const char **val)
{
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		size_t n = strlen(o->name);

		if (strncmp(a, o->name, n))
			continue;
		if (a[n] == '\0' || (a[n] == '=' && o->arg != CLI_FLAG)) {
			*val = a[n] ? a + n + 1 : NULL;
			return o;
		}
	}
	return NULL;
}

/*
 * Read the arguments of @cmd (argv[0] is its name) from left to right: each
 * option that cmd->opts describes goes to @fn (which may refuse its value
 * with usage_err()), with its value: "--opt VALUE" or "--opt=VALUE".  An
 * argument that does not start with '-' (or is "-") is the operand.  -h or
 * --help prints cmd->help and exits 0.  An unknown option, a missing
 * value, a second operand or a missing one is a usage error (exit 2), as
 * soon as it is met.  A command with neither options nor operand calls any
 * argument unexpected.  Returns the operand (NULL if the command has none).
 * @fn is not called (may be NULL) for a command without options.
 */
static const char *cli_parse(const struct cli_cmd *cmd, int argc, char **argv, cli_opt_fn *fn,
			     void *ctx)
{
	bool no_args = !cmd->operand && !(cmd->opts && cmd->opts[0].name);
	const char *operand = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct cli_opt *o;

		if (is_help(a)) {
			fputs(cmd->help, stdout);
			exit(EX_OK);
		}
		if (no_args || a[0] != '-' || !a[1]) {
			if (no_args || !cmd->operand || operand)
				usage_err("unexpected argument '%s'", a);
			operand = a;
			continue;
		}
		o = find_opt(cmd->opts, a, &val);
		if (!o)
			usage_err("unknown option '%s'", a);
		if (!val && o->arg == CLI_VALUE) {
			if (i + 1 >= argc)
				usage_err("%s needs a value", o->name);
			val = argv[++i];
		} else if (!val && o->arg == CLI_OPTVALUE && i + 1 < argc && o->takes(argv[i + 1])) {
			val = argv[++i];
		}
		fn(ctx, (int)(o - cmd->opts), val);
	}
	if (cmd->operand && !operand)
		usage_err("missing %s", cmd->operand);
	return operand;
}

/* ---- parsing ------------------------------------------------------------------ */

/* A decimal unsigned integer, no sign, no suffix. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Seconds: a positive finite decimal number, fractions allowed. */
static int parse_secs(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

/* --watch's test for its optional value. */
static bool is_secs(const char *s)
{
	double v;

	return !parse_secs(s, &v);
}

/* What the library says of the named ring @name: its path (filled for
 * every valid name, whether or not anything is under it) and its kind
 * (RINGBUF_NAME_FILE or _SPLIT; 0 when nothing usable is there).  Returns
 * ringbuf_name_info()'s result: -EINVAL only for an invalid name. */
static int name_info(const char *name, struct ringbuf_name_info *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->sz = sizeof(*ni);
	return ringbuf_name_info(name, ni);
}

static bool valid_name(const char *name)
{
	struct ringbuf_name_info ni;

	return name_info(name, &ni) != -EINVAL;
}

/* Is the named ring @name a split ring (its name a directory)? */
static bool name_is_split(const char *name)
{
	struct ringbuf_name_info ni;

	name_info(name, &ni);
	return ni.kind == RINGBUF_NAME_SPLIT;
}

/* ---- targets -------------------------------------------------------------------- */

enum tkind { T_NAME, T_PATH, T_ID };

struct target {
	const char *arg;
	enum tkind kind;
	uint32_t id;
	uint32_t role; /* a named ring: the role it was (to be) opened in */
};

static void parse_target(const char *arg, struct target *t)
{
	t->arg = arg;
	t->id = 0;
	t->role = 0;
	if (!strncmp(arg, "id:", 3)) {
		uint64_t v;

		if (parse_u64(arg + 3, &v) || v == 0 || v > UINT32_MAX)
			usage_err("malformed map id '%s' (expected id:N, N from 1 to %u)", arg,
				  UINT32_MAX);
		t->kind = T_ID;
		t->id = (uint32_t)v;
	} else if (strchr(arg, '/')) {
		t->kind = T_PATH;
	} else {
		if (!valid_name(arg))
			usage_err("invalid ring name '%s' (1-%d of [A-Za-z0-9._-], not "
				  "starting with '.')", arg, RINGBUF_NAME_MAX);
		t->kind = T_NAME;
	}
}

/* The exit code and message for errno @e from opening @t; exits. */
static void open_fail(const struct target *t, int e) __attribute__((noreturn));
static void open_fail(const struct target *t, int e)
{
	bool kernel = t->kind != T_NAME;
	const char *a = t->arg;
	struct ringbuf_name_info ni;

	name_info(a, &ni); /* a kernel target is no valid name: all zeros */
	switch (e) {
	case ENOENT:
		if (t->kind == T_NAME)
			die(EX_NOENT, "%s: no such ring (no %s)", a, ni.path);
		if (t->kind == T_PATH)
			die(EX_NOENT, "%s: no such pinned object", a);
		die(EX_NOENT, "%s: no BPF map with id %u", a, t->id);
	case EPROTO:
		if (kernel)
			die(EX_NOTRING, "%s: not a usable ring buffer map (a size the kernel "
			    "would not create)", a);
		if (ni.kind == RINGBUF_NAME_SPLIT)
			die(EX_NOTRING, "%s: not a ringbuf ring (the directory %s lacks a ring's "
			    "'ring' or 'consumer' file, or they do not match)", a, ni.path);
		die(EX_NOTRING, "%s: not a ringbuf ring (%s has the wrong size, magic or "
		    "geometry)", a, ni.path);
	case EMEDIUMTYPE:
		die(EX_NOTRING, "%s: not a BPF ring buffer map (another map type, or not a "
		    "map)", a);
	case EACCES:
		if (t->kind == T_NAME && t->role && ni.kind == RINGBUF_NAME_SPLIT)
			die(EX_PERM, "%s: permission denied (the %s role of a split ring needs "
			    "write access to its '%s' file)", a,
			    t->role == RINGBUF_ROLE_CONSUMER ? "consumer" : "producer",
			    t->role == RINGBUF_ROLE_CONSUMER ? "consumer" : "ring");
		die(EX_PERM, "%s: permission denied", a);
	case EPERM:
		if (kernel)
			die(EX_BPFPERM, "%s: BPF not permitted (the bpf(2) system call "
			    "refused: needs CAP_BPF or CAP_SYS_ADMIN)", a);
		die(EX_PERM, "%s: permission denied (operation not permitted)", a);
	case EPROTONOSUPPORT:
		die(EX_VERSION, "%s: a ring of another layout version (this ringbuf reads "
		    "version %u)", a, RINGBUF_LAYOUT_VERSION);
	case EBUSY: {
		struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_PRODUCER };
		struct ringbuf_stats st = { .sz = sizeof(st) };
		struct ringbuf *rb = t->kind == T_NAME ? ringbuf_open(a, &o) : NULL;

		if (rb) {
			ringbuf_stats(rb, &st);
			ringbuf_free(rb);
		}
		if (st.consumer_pid)
			die(EX_BUSY, "%s: busy: process %u is the ring's consumer", a,
			    st.consumer_pid);
		die(EX_BUSY, "%s: busy: another live process holds the consumer role", a);
	}
	case EEXIST:
		die(EX_EXIST, "%s: a ring of that name exists", a);
	case EOPNOTSUPP:
		die(EX_UNSUPPORTED, "%s: not supported (an overwrite-mode map?)", a);
	case EINVAL:
		die(EX_USAGE, "%s: invalid ring name or options", a);
	default:
		die(EX_FAIL, "%s: %s", a, strerror(e));
	}
}

/* Open @t with @role (named rings only; kernel maps have the role their
 * type gives).  Exits on failure. */
static struct ringbuf *open_target(struct target *t, uint32_t role)
{
	struct ringbuf_opts o = { .sz = sizeof(o) };
	struct ringbuf *rb = NULL;

	errno = 0;
	t->role = role;
	switch (t->kind) {
	case T_NAME:
		o.role = role;
		rb = ringbuf_open(t->arg, &o);
		break;
	case T_PATH:
		rb = ringbuf_map_open_pinned(t->arg, &o);
		break;
	case T_ID:
		rb = ringbuf_map_open_id(t->id, &o);
		break;
	}
	if (!rb)
		open_fail(t, errno ? errno : EIO);
	return rb;
}

/*
 * stat and ls: open the named ring @name to read it, with the least that
 * works.  The producer role first: it claims nothing, so a running
 * consumer is not disturbed (the consumer role would be refused while one
 * runs, and while held would make a starting tail fail as busy).  When the
 * producer role is refused for permission -- a split ring whose 'ring'
 * file this user may not write -- the consumer role, which the caller
 * must give back (ringbuf_free) as soon as it has read.  Returns the
 * handle and its role in *@role, or NULL with errno; *@cons_busy tells
 * that the producer role was refused and the consumer role is held by
 * another process (errno is then EACCES).
 */
static struct ringbuf *open_observe(const char *name, uint32_t *role, bool *cons_busy)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_PRODUCER };
	struct ringbuf *rb;

	*cons_busy = false;
	*role = RINGBUF_ROLE_PRODUCER;
	errno = 0;
	rb = ringbuf_open(name, &o);
	if (rb || (errno != EACCES && errno != EPERM))
		return rb;
	o.role = *role = RINGBUF_ROLE_CONSUMER;
	errno = 0;
	rb = ringbuf_open(name, &o);
	if (!rb && errno == EBUSY) {
		*cons_busy = true;
		errno = EACCES;
	}
	return rb;
}

/* ringbuf_stats() of a handle from open_observe(): a consumer-role handle
 * is its own claim, which is not a consumer. */
static void observe_stats(struct ringbuf *rb, uint32_t role, struct ringbuf_stats *st)
{
	ringbuf_stats(rb, st);
	if (role == RINGBUF_ROLE_CONSUMER && st->consumer_pid == (uint32_t)getpid())
		st->consumer_pid = 0;
}

/* open_observe() for stat: exits on failure. */
static struct ringbuf *open_observe_target(struct target *t)
{
	struct ringbuf *rb;
	bool busy;

	if (t->kind != T_NAME)
		return open_target(t, RINGBUF_ROLE_PRODUCER);
	rb = open_observe(t->arg, &t->role, &busy);
	if (rb)
		return rb;
	if (busy)
		die(EX_PERM, "%s: permission denied (this user may not write the ring's 'ring' "
		    "file, and the consumer role, which would do, is held by a running "
		    "consumer)", t->arg);
	if (errno == EACCES || errno == EPERM)
		die(EX_PERM, "%s: permission denied (stat needs write access to the ring%s)",
		    t->arg, name_is_split(t->arg) ? "'s 'ring' or 'consumer' file" : "");
	open_fail(t, errno ? errno : EIO);
}

/* ---- signals and time ------------------------------------------------------- */

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: sleeps end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double fill_pct(const struct ringbuf_stats *st)
{
	return st->ring_size ? 100.0 * (double)st->avail_data / (double)st->ring_size : 0;
}

/* consume_n(0) delivers nothing: 0 on a handle that may consume, -EOPNOTSUPP
 * on a producer-only one (a kernel USER_RINGBUF map). */
static int noop_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* ---- create / rm ----------------------------------------------------------------- */

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

enum { CREATE_SIZE, CREATE_MODE, CREATE_CMODE, CREATE_OVERWRITE, CREATE_SPLIT };

static const struct cli_opt create_opts[] = {
	[CREATE_SIZE] = { "--size", CLI_VALUE, NULL },
	[CREATE_MODE] = { "--mode", CLI_VALUE, NULL },
	[CREATE_CMODE] = { "--consumer-mode", CLI_VALUE, NULL },
	[CREATE_OVERWRITE] = { "--overwrite", CLI_FLAG, NULL },
	[CREATE_SPLIT] = { "--split", CLI_FLAG, NULL },
	{ NULL, 0, NULL },
};

struct create_args {
	const char *size, *mode, *cmode; /* as given */
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
	}
}

static int create_run(int argc, char **argv)
{
	struct create_args a = { NULL, NULL, NULL, false, false };
	const char *name = cli_parse(&cmd_create, argc, argv, create_opt, &a);
	uint64_t size;
	uint32_t mode = 0600, cmode = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (!valid_name(name))
		usage_err("invalid ring name '%s' (1-%d of [A-Za-z0-9._-], not starting with '.')",
			  name, RINGBUF_NAME_MAX);
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
	if (a.mode)
		mode = parse_mode("--mode", name, a.mode);
	if (a.cmode)
		cmode = parse_mode("--consumer-mode", name, a.cmode);
	struct ringbuf_opts o = { .sz = sizeof(o), .mode = mode, .consumer_mode = cmode,
				  .flags = (a.overwrite ? RINGBUF_F_OVERWRITE : 0) |
					   (a.split ? RINGBUF_F_SPLIT : 0) };
	struct target t = { .arg = name, .kind = T_NAME };
	struct ringbuf *rb;

	errno = 0;
	rb = ringbuf_create(name, (size_t)size, &o);
	if (!rb)
		open_fail(&t, errno ? errno : EIO);
	ringbuf_free(rb);
	return EX_OK;
}

static const char create_help[] =
	"usage: ringbuf create NAME --size SIZE [--mode MODE] [--overwrite]\n"
	"                      [--split [--consumer-mode MODE]]\n"
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
	"\n"
	"Exit status: 0, 1, 2 (bad name, size or mode; --consumer-mode without\n"
	"--split), 5, 9 (exists).\n";

static const struct cli_cmd cmd_create = {
	.name = "create",
	.synopsis = "NAME --size SIZE [--mode MODE] [--overwrite]\n[--split [--consumer-mode MODE]]",
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
	if (r < 0)
		open_fail(&t, -r);
	return EX_OK;
}

static const char rm_help[] =
	"usage: ringbuf rm NAME\n"
	"\n"
	"Remove the name of ring NAME (a split ring's directory with its two\n"
	"files).  Processes that have it open keep using it.\n"
	"\n"
	"Exit status: 0, 1, 2 (bad name), 3 (no such ring), 5.\n";

static const struct cli_cmd cmd_rm = {
	.name = "rm",
	.synopsis = "NAME",
	.summary = "remove a ring's name",
	.help = rm_help,
	.operand = "NAME",
	.run = rm_run,
};

/* ---- ls ------------------------------------------------------------------------- */

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
	char size[32], pid[16], nprod[16];
	uint32_t role;
	bool busy = false;
	int producers;

	if (!*header) {
		ls_header();
		*header = true;
	}
	errno = 0;
	rb = err ? (errno = -err, NULL) : open_observe(name, &role, &busy);
	if (!rb) {
		int e = errno ? errno : EIO;

		if (e == ENOENT) /* removed since the directory was read */
			return 0;
		printf("%-24s %6s %6s %8s %9s %12s %10s %10s %10s  (%s)\n", name, "-", "-", "-",
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
	       name, size, fill_pct(&st), pid, nprod, st.reserved, st.discarded,
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

static const struct cli_cmd cmd_ls = {
	.name = "ls",
	.synopsis = "",
	.summary = "list the rings on this machine",
	.help = ls_help,
	.run = ls_run,
};

/* ---- stat ------------------------------------------------------------------------ */

static const char *target_kind(const struct target *t, struct ringbuf *rb)
{
	if (t->kind == T_NAME)
		return "ringbuf ring";
	/* consume_n(0) delivers nothing; a USER_RINGBUF refuses it */
	if (ringbuf_consume_n(rb, noop_sample, NULL, 0) == -EOPNOTSUPP)
		return "kernel BPF_MAP_TYPE_USER_RINGBUF map";
	return "kernel BPF_MAP_TYPE_RINGBUF map";
}

#define KV(k, fmt, ...) printf("%-16s " fmt "\n", k ":", __VA_ARGS__)

static void print_stats(const struct target *t, const char *kind, const struct ringbuf_stats *st,
			const struct ringbuf_stats *prev, double dt)
{
	bool kernel = t->kind != T_NAME;
	bool split = !kernel && name_is_split(t->arg);

	KV("target", "%s", t->arg);
	KV("kind", "%s", kind);
	KV("ring_size", "%" PRIu64, st->ring_size);
	KV("consumer_pos", "%" PRIu64, st->consumer_pos);
	KV("producer_pos", "%" PRIu64, st->producer_pos);
	KV("avail_data", "%" PRIu64, st->avail_data);
	KV("fill", "%.1f%%", fill_pct(st));
	if (!kernel) {
		KV("consumer_pid", "%u", st->consumer_pid);
		KV("reserved", "%" PRIu64, st->reserved);
		KV("reserved_bytes", "%" PRIu64, st->reserved_bytes);
		KV("discarded", "%" PRIu64, st->discarded);
		KV("refused_full", "%" PRIu64, st->refused_full);
		KV("refused_too_big", "%" PRIu64, st->refused_too_big);
		KV("refused_flags", "%" PRIu64, st->refused_flags);
		KV("wakeups", "%" PRIu64, st->wakeups);
		KV("lock_steals", "%" PRIu64, st->lock_steals);
		KV("recovered", "%" PRIu64, st->recovered);
		KV("mode", "%s", st->flags & RINGBUF_F_OVERWRITE ? "overwrite" : "normal");
		if (st->flags & RINGBUF_F_OVERWRITE) {
			KV("overwrite_pos", "%" PRIu64, st->overwrite_pos);
			KV("overwritten", "%" PRIu64, st->overwritten);
			KV("lost", "%" PRIu64, st->lost);
		}
		KV("split", "%s", split ? "yes" : "no");
		KV("opened_as", "%s", t->role == RINGBUF_ROLE_CONSUMER ? "consumer" : "producer");
	}
	if (prev && dt > 0) {
#define RATE(f) ((double)(st->f - prev->f) / dt)
		KV("produced_rate", "%.0f bytes/s", RATE(producer_pos));
		KV("consumed_rate", "%.0f bytes/s", RATE(consumer_pos));
		if (!kernel) {
			KV("reserved_rate", "%.0f records/s", RATE(reserved));
			KV("discarded_rate", "%.0f records/s", RATE(discarded));
			KV("refused_rate", "%.0f records/s",
			   RATE(refused_full) + RATE(refused_too_big) + RATE(refused_flags));
			KV("wakeups_rate", "%.0f /s", RATE(wakeups));
		}
#undef RATE
	}
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL); /* a signal ends it early: g_stop is checked */
}

static const struct cli_opt stat_opts[] = {
	{ "--watch", CLI_OPTVALUE, is_secs },
	{ NULL, 0, NULL },
};

struct stat_args {
	bool watch;
	double every; /* seconds between refreshes */
};

static void stat_opt(void *ctx, int opt, const char *v)
{
	struct stat_args *a = ctx;

	(void)opt; /* --watch [SECS], the only one */
	a->watch = true;
	if (v && parse_secs(v, &a->every))
		usage_err("malformed --watch seconds '%s'", v);
}

static int stat_run(int argc, char **argv)
{
	struct stat_args sa = { false, 1.0 };
	const char *arg;
	struct target t;
	struct ringbuf *rb;
	struct ringbuf_stats st = { .sz = sizeof(st) }, prev;
	const char *kind;

	arg = cli_parse(&cmd_stat, argc, argv, stat_opt, &sa);
	parse_target(arg, &t);
	rb = open_observe_target(&t);
	kind = target_kind(&t, rb);
	observe_stats(rb, t.role, &st);
	if (t.kind == T_NAME && t.role == RINGBUF_ROLE_CONSUMER) {
		/* give the claim back at once; reopened at each refresh */
		ringbuf_free(rb);
		rb = NULL;
	}
	if (!sa.watch) {
		print_stats(&t, kind, &st, NULL, 0);
	} else {
		bool tty = isatty(STDOUT_FILENO), first = true;
		double t0 = now_s(), t1, dt = 0;

		catch_stop_signals();
		for (;;) {
			if (tty)
				fputs("\033[H\033[J", stdout);
			else if (!first)
				fputc('\n', stdout);
			/* rates appear from the second refresh on */
			print_stats(&t, kind, &st, first ? NULL : &prev, dt);
			if (fflush(stdout))
				break;
			first = false;
			sleep_s(sa.every);
			if (g_stop)
				break;
			prev = st;
			if (!rb)
				rb = open_observe_target(&t);
			observe_stats(rb, t.role, &st);
			if (t.role == RINGBUF_ROLE_CONSUMER) {
				ringbuf_free(rb);
				rb = NULL;
			}
			t1 = now_s();
			dt = t1 - t0;
			t0 = t1;
		}
	}
	ringbuf_free(rb);
	if (fflush(stdout))
		die(EX_FAIL, "standard output: %s", strerror(errno));
	return EX_OK;
}

static const char stat_help[] =
	"usage: ringbuf stat TARGET [--watch [SECS]]\n"
	"\n"
	"Print a ring's positions, available data and counters, one 'key: value'\n"
	"per line (ring_size, consumer_pos, producer_pos, avail_data, fill,\n"
	"consumer_pid, reserved, reserved_bytes, discarded, refused_full,\n"
	"refused_too_big, refused_flags, wakeups, lock_steals, recovered -- records\n"
	"of dead producers a consumer discarded -- mode; for an overwrite-mode ring\n"
	"also overwrite_pos, overwritten -- records overwritten -- and lost -- those\n"
	"of them the consumer never got), split -- yes for a split ring -- and\n"
	"opened_as -- the role stat used.  Kernel maps keep no counters: only sizes\n"
	"and positions are shown for them.\n"
	"\n"
	"A named ring is opened in the producer role, which claims nothing, so a\n"
	"running consumer is not disturbed.  If the user may not write the ring\n"
	"(a split ring whose 'ring' file another user's producers write), it is\n"
	"opened in the consumer role instead, held only while reading (reopened\n"
	"at each --watch refresh; a tail starting at that very moment may be\n"
	"refused as busy).  If neither works: permission denied (5), also when\n"
	"the consumer role is held by a running consumer.\n"
	"\n"
	"  --watch [SECS]  refresh every SECS seconds (default 1; fractions allowed;\n"
	"                  --watch=SECS is unambiguous) until interrupted, adding\n"
	"                  per-second rates since the previous refresh.  The screen\n"
	"                  is cleared between refreshes when the output is a\n"
	"                  terminal; otherwise blocks are separated by a blank line.\n"
	"\n"
	"TARGET: NAME, a bpffs PATH, or id:N.\n"
	"Exit status: 0, 1, 2, 3, 4, 5, 6, 7.\n";

static const struct cli_cmd cmd_stat = {
	.name = "stat",
	.synopsis = "TARGET [--watch [SECS]]",
	.summary = "positions, counters, rates",
	.help = stat_help,
	.opts = stat_opts,
	.operand = "TARGET",
	.run = stat_run,
};

/* ---- tail ------------------------------------------------------------------------ */

enum fmt { F_HEX, F_RAW, F_JSONL, F_TEXT };

struct tail {
	enum fmt fmt;   /* --format */
	uint64_t count; /* --count: stop after this many (0: no limit) */
	double timeout; /* --timeout: stop after this many seconds (0: never) */
	uint64_t seq;   /* records printed */
	bool done;      /* count reached */
	bool werr;      /* writing standard output failed */
};

static void put_base64(const unsigned char *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = b64[(v >> 6) & 63];
		out[3] = b64[v & 63];
		fwrite(out, 1, 4, stdout);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = out[3] = '=';
		fwrite(out, 1, 4, stdout);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[0] = b64[v >> 18];
		out[1] = b64[(v >> 12) & 63];
		out[2] = b64[(v >> 6) & 63];
		out[3] = '=';
		fwrite(out, 1, 4, stdout);
	}
}

static void put_hexdump(const unsigned char *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t m = n - off < 16 ? n - off : 16;

		printf("  %08zx ", off);
		for (size_t j = 0; j < 16; j++) {
			if (j == 8)
				putchar(' ');
			if (j < m)
				printf(" %02x", p[off + j]);
			else
				fputs("   ", stdout);
		}
		fputs("  |", stdout);
		for (size_t j = 0; j < m; j++)
			putchar(p[off + j] >= 0x20 && p[off + j] < 0x7f ? p[off + j] : '.');
		fputs("|\n", stdout);
	}
}

static void put_text(const unsigned char *p, size_t n)
{
	if (n && p[n - 1] == '\0')
		n--; /* a C string's terminator */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				putchar(c);
			else
				printf("\\x%02x", c);
		}
	}
	putchar('\n');
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tail *t = ctx;
	const unsigned char *p = data;

	switch (t->fmt) {
	case F_RAW: {
		unsigned char len[4] = { (unsigned char)size, (unsigned char)(size >> 8),
					 (unsigned char)(size >> 16), (unsigned char)(size >> 24) };

		fwrite(len, 1, 4, stdout);
		fwrite(p, 1, size, stdout);
		break;
	}
	case F_JSONL:
		printf("{\"seq\":%" PRIu64 ",\"size\":%zu,\"data\":\"", t->seq, size);
		put_base64(p, size);
		fputs("\"}\n", stdout);
		break;
	case F_TEXT:
		put_text(p, size);
		break;
	case F_HEX:
		printf("record %" PRIu64 ": %zu bytes\n", t->seq, size);
		put_hexdump(p, size);
		break;
	}
	t->seq++;
	if (ferror(stdout)) {
		t->werr = true;
		return -1;
	}
	if (t->count && t->seq >= t->count) {
		t->done = true;
		return -1; /* stop: the consumer position is past this record */
	}
	return 0;
}

enum { TAIL_FORMAT, TAIL_COUNT, TAIL_TIMEOUT };

static const struct cli_opt tail_opts[] = {
	[TAIL_FORMAT] = { "--format", CLI_VALUE, NULL },
	[TAIL_COUNT] = { "--count", CLI_VALUE, NULL },
	[TAIL_TIMEOUT] = { "--timeout", CLI_VALUE, NULL },
	{ NULL, 0, NULL },
};

static void tail_opt(void *ctx, int opt, const char *v)
{
	struct tail *a = ctx;

	switch (opt) {
	case TAIL_FORMAT:
		if (!strcmp(v, "hex"))
			a->fmt = F_HEX;
		else if (!strcmp(v, "raw"))
			a->fmt = F_RAW;
		else if (!strcmp(v, "jsonl"))
			a->fmt = F_JSONL;
		else if (!strcmp(v, "text"))
			a->fmt = F_TEXT;
		else
			usage_err("unknown format '%s' (hex, raw, jsonl or text)", v);
		break;
	case TAIL_COUNT:
		if (parse_u64(v, &a->count) || a->count == 0)
			usage_err("malformed count '%s' (a whole number, at least 1)", v);
		break;
	case TAIL_TIMEOUT:
		if (parse_secs(v, &a->timeout))
			usage_err("malformed timeout '%s' (seconds, above 0)", v);
		break;
	}
}

static int tail_run(int argc, char **argv)
{
	struct tail tl = { .fmt = F_HEX };
	double deadline = 0;
	const char *arg;
	struct target t;
	struct ringbuf *rb;
	int rc = EX_OK;

	arg = cli_parse(&cmd_tail, argc, argv, tail_opt, &tl);
	parse_target(arg, &t);
	if (tl.timeout > 0)
		deadline = now_s() + tl.timeout;
	rb = open_target(&t, RINGBUF_ROLE_CONSUMER);
	catch_stop_signals();
	while (!g_stop) {
		int ms = 100, r;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = (int)(left * 1000) + 1;
		}
		r = ringbuf_poll(rb, on_record, &tl, ms);
		if (fflush(stdout))
			tl.werr = true;
		if (tl.werr) {
			msg("standard output: %s", strerror(errno));
			rc = EX_FAIL;
			break;
		}
		if (tl.done)
			break;
		if (r < 0) {
			if (r == -EOPNOTSUPP) {
				msg("%s: cannot consume: a user ring buffer map (the kernel consumes "
				    "it)", t.arg);
				rc = EX_UNSUPPORTED;
			} else if (r == -EBUSY) {
				msg("%s: busy: another live process holds the consumer role", t.arg);
				rc = EX_BUSY;
			} else if (r == -EBADMSG) {
				msg("%s: the ring's shared state is corrupt", t.arg);
				rc = EX_FAIL;
			} else {
				msg("%s: %s", t.arg, strerror(-r));
				rc = EX_FAIL;
			}
			break;
		}
	}
	ringbuf_free(rb);
	if (rc == EX_OK && tl.count && !tl.done && !g_stop) {
		msg("%s: timed out after %g s with %" PRIu64 " of %" PRIu64 " records", t.arg,
		    tl.timeout, tl.seq, tl.count);
		rc = EX_TIMEOUT;
	}
	return rc;
}

static const char tail_help[] =
	"usage: ringbuf tail TARGET [--format hex|raw|jsonl|text] [--count N]\n"
	"                    [--timeout S]\n"
	"\n"
	"Consume the ring's records and print them as they arrive.  A named ring\n"
	"is opened in the consumer role (a split ring: this needs write access to\n"
	"its 'consumer' file): while this runs, no other process may consume it\n"
	"(a second tail fails with exit status 8).  Consumed records are gone\n"
	"from the ring.  Runs until interrupted (SIGINT/SIGTERM: exit 0), unless\n"
	"--count or --timeout ends it.\n"
	"\n"
	"  --format F    hex (default): 'record SEQ: SIZE bytes', then an offset,\n"
	"                16 bytes in hex and their ASCII per line\n"
	"                raw: per record a 4-byte little-endian length, then the\n"
	"                bytes (what 'ringbuf write --raw' reads)\n"
	"                jsonl: one JSON object per line,\n"
	"                {\"seq\":N,\"size\":N,\"data\":\"BASE64\"}, data in standard\n"
	"                base64 (RFC 4648, with padding)\n"
	"                text: the payload, one record per line; \\\\ \\n \\r \\t and\n"
	"                \\xHH escape backslashes and non-printable bytes; one\n"
	"                trailing NUL byte (a C string's end) is dropped\n"
	"                SEQ counts records from 0 in this invocation.\n"
	"  --count N     stop after exactly N records (N >= 1); the records after\n"
	"                them stay in the ring\n"
	"  --timeout S   stop S seconds (fractions allowed) after starting, in total,\n"
	"                whether or not records arrived: exit 0, or 11 when --count N\n"
	"                was given and fewer than N records arrived\n"
	"\n"
	"TARGET: NAME, a bpffs PATH or id:N of a BPF_MAP_TYPE_RINGBUF map.\n"
	"Exit status: 0, 1, 2, 3, 4, 5, 6, 7, 8 (busy), 10 (a USER_RINGBUF map), 11.\n";

static const struct cli_cmd cmd_tail = {
	.name = "tail",
	.synopsis = "TARGET [--format F] [--count N] [--timeout S]",
	.summary = "consume and print records",
	.help = tail_help,
	.opts = tail_opts,
	.operand = "TARGET",
	.run = tail_run,
};

/* ---- write ----------------------------------------------------------------------- */

/* Write one record, waiting for room as long as it takes. */
static void put_record(struct ringbuf *rb, const struct target *t, const void *p, size_t n,
		       uint64_t flags)
{
	void *s;

	for (;;) {
		errno = 0;
		s = ringbuf_reserve_wait(rb, n, 1000);
		if (s)
			break;
		if (errno == EAGAIN)
			continue; /* still full: keep waiting, never drop */
		if (errno == E2BIG)
			die(EX_FAIL, "%s: a record of %zu bytes can never fit in a ring of %" PRIu64
			    " bytes", t->arg, n, ringbuf_query(rb, RINGBUF_RING_SIZE));
		if (errno == EOPNOTSUPP)
			die(EX_UNSUPPORTED, "%s: cannot write: a kernel BPF_MAP_TYPE_RINGBUF map "
			    "(BPF programs produce into it)", t->arg);
		if (errno == EBADMSG)
			die(EX_FAIL, "%s: the ring's shared state is corrupt", t->arg);
		die(EX_FAIL, "%s: %s", t->arg, strerror(errno ? errno : EIO));
	}
	if (n)
		memcpy(s, p, n);
	ringbuf_submit(s, flags);
}

enum { WRITE_LINES, WRITE_RAW, WRITE_NOWAKE, WRITE_FORCE };

static const struct cli_opt write_opts[] = {
	[WRITE_LINES] = { "--lines", CLI_FLAG, NULL },
	[WRITE_RAW] = { "--raw", CLI_FLAG, NULL },
	[WRITE_NOWAKE] = { "--no-wakeup", CLI_FLAG, NULL },
	[WRITE_FORCE] = { "--force-wakeup", CLI_FLAG, NULL },
	{ NULL, 0, NULL },
};

struct write_args {
	bool lines, raw, nowake, force;
};

static void write_opt(void *ctx, int opt, const char *v)
{
	struct write_args *a = ctx;

	(void)v;
	switch (opt) {
	case WRITE_LINES: a->lines = true; break;
	case WRITE_RAW: a->raw = true; break;
	case WRITE_NOWAKE: a->nowake = true; break;
	case WRITE_FORCE: a->force = true; break;
	}
}

static int write_run(int argc, char **argv)
{
	struct write_args wa = { false, false, false, false };
	const char *arg;
	uint64_t flags = 0, ring_size;
	struct target t;
	struct ringbuf *rb;

	arg = cli_parse(&cmd_write, argc, argv, write_opt, &wa);
	if (wa.lines && wa.raw)
		usage_err("--lines and --raw exclude each other");
	if (wa.nowake && wa.force)
		usage_err("--no-wakeup and --force-wakeup exclude each other");
	flags = wa.nowake ? RINGBUF_NO_WAKEUP : wa.force ? RINGBUF_FORCE_WAKEUP : 0;
	parse_target(arg, &t);
	rb = open_target(&t, RINGBUF_ROLE_PRODUCER);
	ring_size = ringbuf_query(rb, RINGBUF_RING_SIZE);
	/* consume_n(0) delivers nothing: it succeeds on a kernel RINGBUF map,
	 * which only BPF programs produce into */
	if (t.kind != T_NAME && ringbuf_consume_n(rb, noop_sample, NULL, 0) >= 0)
		die(EX_UNSUPPORTED, "%s: cannot write: a kernel BPF_MAP_TYPE_RINGBUF map (BPF "
		    "programs produce into it; use a USER_RINGBUF map)", t.arg);

	if (!wa.raw) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&line, &cap, stdin)) >= 0) {
			if (n > 0 && line[n - 1] == '\n')
				n--;
			put_record(rb, &t, line, (size_t)n, flags);
		}
		free(line);
	} else {
		unsigned char hdr[4];
		unsigned char *buf = NULL;
		size_t cap = 0;

		for (;;) {
			size_t got = fread(hdr, 1, 4, stdin);
			uint32_t len;

			if (got == 0 && feof(stdin))
				break;
			if (got < 4) {
				if (ferror(stdin))
					break;
				die(EX_USAGE, "%s: malformed --raw input: truncated length prefix",
				    t.arg);
			}
			len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			      (uint32_t)hdr[3] << 24;
			if (len >= ring_size)
				die(EX_FAIL, "%s: a record of %" PRIu32 " bytes can never fit in a "
				    "ring of %" PRIu64 " bytes", t.arg, len, ring_size);
			if (len > cap) {
				unsigned char *nb = realloc(buf, len);

				if (!nb)
					die(EX_FAIL, "out of memory");
				buf = nb;
				cap = len;
			}
			if (fread(buf, 1, len, stdin) != len) {
				if (ferror(stdin))
					break;
				die(EX_USAGE, "%s: malformed --raw input: a record of %" PRIu32
				    " bytes is truncated", t.arg, len);
			}
			put_record(rb, &t, buf, len, flags);
		}
		free(buf);
	}
	if (ferror(stdin))
		die(EX_FAIL, "standard input: %s", strerror(errno ? errno : EIO));
	ringbuf_free(rb);
	return EX_OK;
}

static const char write_help[] =
	"usage: ringbuf write TARGET [--lines | --raw] [--no-wakeup | --force-wakeup]\n"
	"\n"
	"Write records read from standard input until its end.  When the ring is\n"
	"full, wait for room (no record is ever dropped).  A named ring is opened\n"
	"in the producer role (a split ring: needs write access to its 'ring'\n"
	"file).\n"
	"\n"
	"  --lines          one record per line, without its newline (default); an\n"
	"                   empty line is an empty record, a last line without a\n"
	"                   newline is a record too\n"
	"  --raw            records as a 4-byte little-endian length, then the bytes\n"
	"                   (what 'ringbuf tail --format raw' writes)\n"
	"  --no-wakeup      commit with RINGBUF_NO_WAKEUP: never wake the consumer\n"
	"  --force-wakeup   commit with RINGBUF_FORCE_WAKEUP: wake it every record\n"
	"                   (default: adaptive wakeups, as the kernel's flags 0)\n"
	"\n"
	"TARGET: NAME, or a bpffs PATH or id:N of a BPF_MAP_TYPE_USER_RINGBUF map.\n"
	"Exit status: 0, 1 (also: a record larger than the ring), 2 (also: truncated\n"
	"--raw input), 3, 4, 5, 6, 7, 10 (a BPF_MAP_TYPE_RINGBUF map).\n";

static const struct cli_cmd cmd_write = {
	.name = "write",
	.synopsis = "TARGET [--lines|--raw] [--no-wakeup|--force-wakeup]",
	.summary = "records from standard input",
	.help = write_help,
	.opts = write_opts,
	.operand = "TARGET",
	.run = write_run,
};

/* ---- demo / bench ------------------------------------------------------------------ */

/* @rel, relative to the directory of this program, into @path. */
static void sibling_path(char *path, size_t len, const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		die(EX_FAIL, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		die(EX_FAIL, "/proc/self/exe: not a path");
	*slash = '\0';
	snprintf(path, len, "%s/%s", exe, rel);
}

static bool sibling_exists(const char *rel)
{
	char path[PATH_MAX + 64];

	sibling_path(path, sizeof(path), rel);
	return access(path, X_OK) == 0;
}

static int run_sibling(const char *rel, int argc, char **argv)
{
	char path[PATH_MAX + 64];
	char **args;

	sibling_path(path, sizeof(path), rel);
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		die(EX_FAIL, "out of memory");
	args[0] = path;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(path, args);
	die(EX_FAIL, "%s: %s (build it with 'make')", path, strerror(errno));
}

/* demo and bench: run the program @rel next to this one with our arguments.
 * With -h or --help among them, print @cmd's help first; a program that
 * @lists_options then adds its own list of them (when it is there). */
static int run_program(const struct cli_cmd *cmd, const char *rel, bool lists_options, int argc,
		       char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!is_help(argv[i]))
			continue;
		fputs(cmd->help, stdout);
		if (!lists_options || !sibling_exists(rel))
			return EX_OK;
		/* then the program's own list of options */
		fputs("\n", stdout);
		fflush(stdout);
		break;
	}
	return run_sibling(rel, argc, argv);
}

static int demo_run(int argc, char **argv)
{
	return run_program(&cmd_demo, "ringbuf-demo", false, argc, argv);
}

static int bench_run(int argc, char **argv)
{
	return run_program(&cmd_bench, "bench/ringbuf_bench", true, argc, argv);
}

static const char demo_help[] =
	"usage: ringbuf demo [--seconds N]\n"
	"\n"
	"Run ringbuf-demo (found next to this program) with the given arguments:\n"
	"three processes send events through one ring, the parent consumes and\n"
	"accounts for every one.  Exit status: the demo's, or 1 if not found.\n";

static const char bench_help[] =
	"usage: ringbuf bench [--quick] [--reps N] [--seconds S] [--json FILE] ...\n"
	"\n"
	"Run the benchmark (bench/ringbuf_bench, found next to this program) with\n"
	"the given arguments ('ringbuf bench --help' for its own).  Exit status:\n"
	"the benchmark's, or 1 if not found.\n";

static const struct cli_cmd cmd_demo = {
	.name = "demo",
	.synopsis = "[ARGS...]",
	.summary = "run ringbuf-demo",
	.help = demo_help,
	.run = demo_run,
};

static const struct cli_cmd cmd_bench = {
	.name = "bench",
	.synopsis = "[ARGS...]",
	.summary = "run the benchmark",
	.help = bench_help,
	.run = bench_run,
};

/* ---- main ---------------------------------------------------------------------------- */

static const char exit_codes_text[] =
	"exit status:\n"
	"   0  success\n"
	"   1  runtime failure (I/O error, out of memory, corrupt ring, record too big, ...)\n"
	"   2  usage error: unknown subcommand or option, malformed argument (size, mode,\n"
	"      count, seconds, id, name) or malformed input for write --raw\n"
	"   3  no such ring, pinned path or map id (ENOENT)\n"
	"   4  not a ring: a file that is not a ringbuf ring (EPROTO), or a kernel map\n"
	"      that is not a ring buffer map (EMEDIUMTYPE)\n"
	"   5  permission denied (EACCES; EPERM for named rings)\n"
	"   6  BPF not permitted: EPERM from the bpf(2) system call (kernel targets)\n"
	"   7  a ring of another layout version (EPROTONOSUPPORT)\n"
	"   8  busy: another live process is the ring's consumer (EBUSY)\n"
	"   9  the ring name exists (EEXIST)\n"
	"  10  unsupported (the wrong direction for a kernel map, an overwrite-mode map)\n"
	"  11  tail --count N --timeout S ended before N records arrived\n";

static const char usage_head[] =
	"usage: ringbuf COMMAND [ARGS...]\n"
	"\n"
	"The BPF ring buffer in user space: named rings live in /dev/shm/ringbuf.NAME.\n"
	"\n"
	"commands:\n";

static const char usage_targets[] =
	"\n"
	"TARGET: a ring NAME, a bpffs PATH (anything with a '/') of a pinned kernel\n"
	"map, or id:N for the kernel map with id N.  A named ring is opened with the\n"
	"least role each command needs: tail the consumer role, write the producer\n"
	"role, stat and ls the producer role, else the consumer role (split rings).\n"
	"'ringbuf COMMAND --help' describes a command; see also ringbuf(1).\n"
	"\n";

static int help_run(int argc, char **argv);
static int version_run(int argc, char **argv);

static const struct cli_cmd cmd_help = {
	.name = "help",
	.synopsis = "[COMMAND]",
	.summary = "this text, or a command's",
	.run = help_run,
};

static const struct cli_cmd cmd_version = {
	.name = "--version",
	.run = version_run,
};

/* Every command, in the order of the main usage. */
static const struct cli_cmd *const commands[] = {
	&cmd_create, &cmd_rm, &cmd_ls, &cmd_stat, &cmd_tail, &cmd_write,
	&cmd_demo, &cmd_bench, &cmd_help, &cmd_version,
};

static const struct cli_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* The main usage: the list of commands is made from the table, each
 * summary at column USAGE_SUMMARY_COL, on the synopsis's (last) line if
 * that leaves room, and continuation lines of a synopsis indented by
 * USAGE_CONT_INDENT. */
#define USAGE_SUMMARY_COL 45
#define USAGE_CONT_INDENT 14

static void usage_main(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct cli_cmd *c = commands[i];
		int col;

		if (!c->summary)
			continue;
		col = fprintf(f, "  %s%s", c->name, c->synopsis[0] ? " " : "");
		for (const char *p = c->synopsis; *p; p++) {
			if (*p == '\n') {
				col = fprintf(f, "\n%*s", USAGE_CONT_INDENT, "") - 1;
			} else {
				fputc(*p, f);
				col++;
			}
		}
		if (col < USAGE_SUMMARY_COL - 1)
			fprintf(f, "%*s%s\n", USAGE_SUMMARY_COL - col, "", c->summary);
		else
			fprintf(f, "\n%*s%s\n", USAGE_SUMMARY_COL, "", c->summary);
	}
	fputs(usage_targets, f);
	fputs(exit_codes_text, f);
}

/* help [COMMAND]: a command's help, or the main usage (also for a command
 * unknown or without help of its own). */
static int help_run(int argc, char **argv)
{
	const struct cli_cmd *cmd = argc == 2 ? find_cmd(argv[1]) : NULL;

	if (argc > 2)
		usage_err("help takes at most one COMMAND");
	if (cmd && cmd->help)
		fputs(cmd->help, stdout);
	else
		usage_main(stdout);
	return EX_OK;
}

static int version_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("ringbuf %s (ring layout version %u)\n", RINGBUF_CLI_VERSION,
	       RINGBUF_LAYOUT_VERSION);
	return EX_OK;
}

int main(int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 2)
		usage_err("missing COMMAND");
	if (is_help(argv[1])) {
		usage_main(stdout);
		return EX_OK;
	}
	cmd = find_cmd(argv[1]);
	if (!cmd)
		usage_err("unknown command '%s'", argv[1]);
	if (cmd->help)
		cli_current = cmd; /* "ringbuf NAME: ..." in its messages */
	return cmd->run(argc - 1, argv + 1);
}
