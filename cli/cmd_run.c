/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c -- ringbuf demo and ringbuf bench: run the demonstration or the
 * benchmark, built next to this program or installed beside it, with the
 * given arguments.  Where neither is there, the main usage does not list
 * the command.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Where the programs are: next to this program in the build tree
 * (build/ringbuf-demo, build/bench/ringbuf_bench), and, once installed,
 * in PREFIX/libexec/ringbuf/ beside PREFIX/bin/ringbuf (mk/install.mk). */
static const char *const program_dirs[] = { "", "../libexec/ringbuf/" };

/* Into @path, @rel in the first of program_dirs (relative to the
 * directory of this program) that holds it as an executable.  Returns
 * whether one was found. */
static bool find_program(char *path, size_t len, const char *rel)
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
	for (size_t i = 0; i < sizeof(program_dirs) / sizeof(program_dirs[0]); i++) {
		snprintf(path, len, "%s/%s%s", exe, program_dirs[i], rel);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

static bool program_exists(const char *rel)
{
	char path[PATH_MAX + 64];

	return find_program(path, sizeof(path), rel);
}

static int run_sibling(const char *rel, int argc, char **argv)
{
	char path[PATH_MAX + 64];
	char **args;
	int e;

	if (!find_program(path, sizeof(path), rel))
		die(EX_FAIL, "%s: not found next to this program nor in ../libexec/ringbuf/ "
			     "(build it with 'make')", rel);
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		die(EX_FAIL, "out of memory");
	args[0] = path;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(path, args);
	e = errno;
	free(args); /* for leak checkers: we exit */
	die(EX_FAIL, "%s: %s", path, strerror(e));
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
		if (!lists_options || !program_exists(rel))
			return EX_OK;
		/* then the program's own list of options */
		fputs("\n", stdout);
		fflush(stdout);
		break;
	}
	return run_sibling(rel, argc, argv);
}

static bool demo_available(void)
{
	return program_exists("ringbuf-demo");
}

static bool bench_available(void)
{
	return program_exists("bench/ringbuf_bench");
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
	"Run ringbuf-demo (found next to this program, or installed in\n"
	"../libexec/ringbuf/ beside it) with the given arguments:\n"
	"three processes send events through one ring, the parent consumes and\n"
	"accounts for every one.  Exit status: the demo's, or 1 if not found.\n";

static const char bench_help[] =
	"usage: ringbuf bench [--quick] [--reps N] [--seconds S] [--json FILE] ...\n"
	"\n"
	"Run the benchmark (bench/ringbuf_bench, found next to this program, or\n"
	"installed in ../libexec/ringbuf/ beside it) with the given arguments\n"
	"('ringbuf bench --help' for its own).  Exit status:\n"
	"the benchmark's, or 1 if not found.\n";

const struct cli_cmd cmd_demo = {
	.name = "demo",
	.synopsis = "[ARGS...]",
	.summary = "run ringbuf-demo",
	.help = demo_help,
	.available = demo_available,
	.run = demo_run,
};

const struct cli_cmd cmd_bench = {
	.name = "bench",
	.synopsis = "[ARGS...]",
	.summary = "run the benchmark",
	.help = bench_help,
	.available = bench_available,
	.run = bench_run,
};
