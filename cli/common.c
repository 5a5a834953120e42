/* SPDX-License-Identifier: MIT */
/*
 * common.c -- what every ringbuf command uses: messages, the option parser
 * (cli_parse()), numbers, names and targets -- opening them with the least
 * role and turning a failure into its message and exit code -- and signals.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/statfs.h>

#include "cli.h"

const struct cli_cmd *cli_current;
volatile sig_atomic_t g_stop;

/* ---- messages -------------------------------------------------------------- */

void msg(const char *fmt, ...)
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

void usage_err(const char *fmt, ...)
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

/* -h or --help */
bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* The option of @opts that the argument @a is -- "--name", or "--name=VALUE"
 * for one that takes a value, *@val set to VALUE -- or NULL. */
static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *a, const char **val)
{
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		size_t n = strlen(o->name);

		if (o->alias && !strcmp(a, o->alias)) {
			*val = NULL;
			return o;
		}

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
const char *cli_parse(const struct cli_cmd *cmd, int argc, char **argv, cli_opt_fn *fn,
			     void *ctx)
{
	return cli_parse2(cmd, argc, argv, fn, ctx, NULL);
}

const char *cli_parse2(const struct cli_cmd *cmd, int argc, char **argv, cli_opt_fn *fn,
		       void *ctx, const char **second)
{
	bool no_args = !cmd->operand && !(cmd->opts && cmd->opts[0].name);
	const char *operand = NULL;
	bool ended = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct cli_opt *o;

		if (!ended && is_help(a)) {
			fputs(cmd->help, stdout);
			exit(EX_OK);
		}
		if (!ended && !strcmp(a, "--")) {
			ended = true; /* what follows is operands, even "-x" */
			continue;
		}
		if (ended || no_args || a[0] != '-' || !a[1]) {
			if (!no_args && cmd->operand && !operand) {
				operand = a;
				continue;
			}
			if (!no_args && second && !*second) {
				*second = a;
				continue;
			}
			usage_err("unexpected argument '%s'", a);
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
	if (second && !*second)
		usage_err("missing %s", cmd->operand2);
	return operand;
}

/* ---- numbers ------------------------------------------------------------------- */

/* A decimal unsigned integer, no sign, no suffix. */
int parse_u64(const char *s, uint64_t *out)
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
int parse_secs(const char *s, double *out)
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
bool is_secs(const char *s)
{
	double v;

	return !parse_secs(s, &v);
}

/* What the library says of the named ring @name: its path (filled for
 * every valid name, whether or not anything is under it) and its kind
 * (RINGBUF_NAME_FILE or _SPLIT; 0 when nothing usable is there).  Returns
 * ringbuf_name_info()'s result: -EINVAL only for an invalid name. */
int name_info(const char *name, struct ringbuf_name_info *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->sz = sizeof(*ni);
	return ringbuf_name_info(name, ni);
}

bool valid_name(const char *name)
{
	struct ringbuf_name_info ni;

	return name_info(name, &ni) != -EINVAL;
}

/* A usage error unless @name is a valid ring name. */
void require_name(const char *name)
{
	if (!valid_name(name))
		usage_err("invalid ring name '%s' (1-%d of [A-Za-z0-9._-], not starting with '.')",
			  name, RINGBUF_NAME_MAX);
}

/* Is the named ring @name a split ring (its name a directory)? */
bool name_is_split(const char *name)
{
	struct ringbuf_name_info ni;

	name_info(name, &ni);
	return ni.kind == RINGBUF_NAME_SPLIT;
}

/* ---- targets -------------------------------------------------------------------- */

void parse_target(const char *arg, struct target *t)
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
		require_name(arg);
		t->kind = T_NAME;
	}
}

/* The exit code and message for errno @e from opening @t; exits. */
/* Is @path on a bpf file system (where maps are pinned)? */
static bool on_bpffs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (uint32_t)sf.f_type == 0xcafe4a11u; /* BPF_FS_MAGIC */
}

void escape_text(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, cap - o, c == '\\' ? "\\\\" : "\\x%02x", c);
			o += c == '\\' ? 2 : 4;
		}
	}
	out[o] = '\0';
}

void open_fail(const struct target *t, int e)
{
	bool kernel = t->kind != T_NAME;
	const char *a = t->arg;
	struct ringbuf_name_info ni;

	name_info(a, &ni); /* a kernel target is no valid name: all zeros */
	if (t->kind == T_PATH && e != ENOENT && !on_bpffs(a))
		die(EX_NOTRING, "%s: not a pinned BPF map (not on a bpf file system)", a);
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
	case ELOOP:
		die(EX_NOTRING, "%s: not a ring (%s is a symbolic link)", a,
		    t->kind == T_NAME ? ni.path : a);
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
/*
 * A named ring set under @t's name (ringbuf create --set), opened in @role:
 * only when no ring has that name; or, for a bpffs path or id:N, a kernel
 * map of ring buffers (ARRAY_OF_MAPS / HASH_OF_MAPS).  Returns the set; NULL when there is no
 * set of that name either (then open the name as a ring, for its error);
 * exits on any other failure to open a set that is there (busy, denied).
 */
struct ringbuf_set *open_set_target(struct target *t, uint32_t role)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = role };
	struct ringbuf_name_info ni;
	struct ringbuf_set *s;

	if (t->kind == T_ID || t->kind == T_PATH) {
		/* a map of kernel ring buffers (the per-CPU pattern)? */
		struct ringbuf_opts ko = { .sz = sizeof(ko) };

		errno = 0;
		s = t->kind == T_ID ? ringbuf_set_map_open_id(t->id, &ko)
				    : ringbuf_set_map_open_pinned(t->arg, &ko);
		if (s || errno == EMEDIUMTYPE)
			return s; /* else: open the target as a ring, for its error */
		return NULL;
	}
	if (name_info(t->arg, &ni) != -ENOENT)
		return NULL;
	errno = 0;
	s = ringbuf_set_open(t->arg, &o);
	if (s || errno == ENOENT || errno == EPROTO || errno == EINVAL)
		return s;
	t->role = role;
	open_fail(t, errno ? errno : EIO);
}

struct ringbuf *open_target(struct target *t, uint32_t role)
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
struct ringbuf *open_observe(const char *name, uint32_t *role, bool *cons_busy)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_OBSERVER };
	struct ringbuf *rb;

	/* the observer: read access is all it needs, it claims and writes
	 * nothing (and maps nothing writable, so ls counts no producer) */
	*cons_busy = false;
	*role = RINGBUF_ROLE_OBSERVER;
	errno = 0;
	rb = ringbuf_open(name, &o);
	if (rb || (errno != EACCES && errno != EPERM))
		return rb;
	o.role = *role = RINGBUF_ROLE_PRODUCER;
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
void observe_stats(struct ringbuf *rb, uint32_t role, struct ringbuf_stats *st)
{
	ringbuf_stats(rb, st);
	if (role == RINGBUF_ROLE_CONSUMER && st->consumer_pid == (uint32_t)getpid())
		st->consumer_pid = 0;
}

/* open_observe() for stat: exits on failure. */
struct ringbuf *open_observe_target(struct target *t)
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

static int noop_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* ringbuf_consume_n() of nothing: tells what a kernel map's handle may do.
 * 0 (or more) on one that may consume (a BPF_MAP_TYPE_RINGBUF map),
 * -EOPNOTSUPP on a producer-only one (a BPF_MAP_TYPE_USER_RINGBUF map). */
int consume_none(struct ringbuf *rb)
{
	return ringbuf_consume_n(rb, noop_sample, NULL, 0);
}

/* Data not yet consumed, percent of the ring's size. */
double fill_pct(const struct ringbuf_stats *st)
{
	return st->ring_size ? 100.0 * (double)st->avail_data / (double)st->ring_size : 0;
}

/* ---- signals and time ------------------------------------------------------- */

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: sleeps end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Wall-clock nanoseconds since the epoch: jsonl's recv_ns. */
uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* @s as a JSON string (quotes included) into @out; cut short (still valid)
 * if @cap is too small. */
void json_str(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	if (cap < 3)
		return;
	out[n++] = '"';
	for (; *s && n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
}
