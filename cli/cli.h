/* SPDX-License-Identifier: MIT */
/*
 * cli.h -- what the files of the ringbuf command share: the command table's
 * entry and the option parser, messages and exit codes, targets and opening
 * them with the least role, numbers, signals and time (common.c), and the
 * commands themselves (cmd_*.c, listed in main.c's table).
 *
 * The command uses only the public API (include/ringbuf.h) and libc.
 */
#ifndef RINGBUF_CLI_H
#define RINGBUF_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ringbuf.h"

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
	EX_TIMEOUT = 11,    /* tail --count N --timeout S: fewer than N records;
			     * write --timeout S: no room for a record in time */
};

/* For a library number in a help text (a macro that is a plain number). */
#define STR_(x) #x
#define STR(x)  STR_(x)

/* ---- commands and options ------------------------------------------------------ */

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
	const char *alias;                /* NULL, or its short form ("-n"), which
					   * takes a value as the next argument */
};

/* A subcommand: `ringbuf NAME ...`, one entry of main.c's table. */
struct cli_cmd {
	const char *name;
	const char *synopsis; /* its arguments in the main usage; '\n' continues the line */
	const char *summary;  /* what it does, in the main usage; NULL: not listed there */
	const char *help;     /* 'ringbuf NAME --help'; NULL: part of the main usage, whose
			       * help is theirs, and whose messages say just "ringbuf" */
	const struct cli_opt *opts; /* ended by a NULL name; NULL: none */
	const char *operand;  /* "NAME", "TARGET": its one operand, required; NULL: none */
	const char *operand2; /* a second operand, required (cli_parse2()); NULL: none */
	bool (*available)(void); /* NULL, or false when the command cannot run here
				  * (a program it runs is missing): the main
				  * usage does not list it then */
	int (*run)(int argc, char **argv); /* argv[0] is NAME; returns the exit code */
};

extern const struct cli_cmd cmd_create, cmd_rm, cmd_ls, cmd_stat, cmd_tail, cmd_write, cmd_demo,
	cmd_bench, cmd_forward;

/* cli_parse() hands each option to such a function, in order: @opt is its
 * index in the command's opts, @val its value (NULL: none given). */
typedef void cli_opt_fn(void *ctx, int opt, const char *val);

const char *cli_parse(const struct cli_cmd *cmd, int argc, char **argv, cli_opt_fn *fn,
		      void *ctx);
/* The same for a command with two operands: the second goes to *@second,
 * which must be NULL on entry. */
const char *cli_parse2(const struct cli_cmd *cmd, int argc, char **argv, cli_opt_fn *fn,
		       void *ctx, const char **second);
bool is_help(const char *arg);

/* ---- messages ------------------------------------------------------------------ */

/* The command running, for messages; NULL: ringbuf itself. */
extern const struct cli_cmd *cli_current;

/* "ringbuf CMD: " + the message + newline, on standard error. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define die(code, ...)             \
	do {                       \
		msg(__VA_ARGS__);  \
		exit(code);        \
	} while (0)

/* A usage error: one line, with a pointer to --help; exits 2. */
void usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- numbers ------------------------------------------------------------------- */

int parse_u64(const char *s, uint64_t *out);
int parse_secs(const char *s, double *out);
bool is_secs(const char *s);

/* ---- names and targets --------------------------------------------------------- */

int name_info(const char *name, struct ringbuf_name_info *ni);
bool valid_name(const char *name);
void require_name(const char *name);
bool name_is_split(const char *name);
/* @s with every byte outside printable ASCII (and '\\') as \\xHH, into
 * @out: text from the file system never reaches a terminal raw. */
void escape_text(const char *s, char *out, size_t cap);
/* @s as a JSON string, quotes included. */
void json_str(const char *s, char *out, size_t cap);

enum tkind { T_NAME, T_PATH, T_ID };

struct target {
	const char *arg;
	enum tkind kind;
	uint32_t id;
	uint32_t role; /* a named ring: the role it was (to be) opened in */
};

void parse_target(const char *arg, struct target *t);
void open_fail(const struct target *t, int e) __attribute__((noreturn));
struct ringbuf *open_target(struct target *t, uint32_t role);
struct ringbuf_set *open_set_target(struct target *t, uint32_t role);
struct ringbuf *open_observe(const char *name, uint32_t *role, bool *cons_busy);
void observe_stats(struct ringbuf *rb, uint32_t role, struct ringbuf_stats *st);
struct ringbuf *open_observe_target(struct target *t);
int consume_none(struct ringbuf *rb);
double fill_pct(const struct ringbuf_stats *st);

/* ---- records decoded by BTF (btf.c; libbpf) ------------------------------------ */

bool btf_available(void);
void btf_open(const char *file, const char *type);
void btf_print(const void *data, size_t size, bool json, const char *meta, uint64_t seq);

/* ---- signals and time ---------------------------------------------------------- */

extern volatile sig_atomic_t g_stop; /* SIGINT or SIGTERM came */
void catch_stop_signals(void);
double now_s(void);
uint64_t realtime_ns(void);

#endif /* RINGBUF_CLI_H */
