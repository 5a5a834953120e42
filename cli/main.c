/* SPDX-License-Identifier: MIT */
/*
 * ringbuf -- the command-line tool: create, list, inspect, tail and write
 * ringbuf rings, and tail kernel BPF ring buffer maps.  `ringbuf --help`
 * lists the commands, `ringbuf COMMAND --help` describes one; the manual
 * page is docs/ringbuf.1, which also lists the exit codes.
 *
 * TARGET is a ring name (/dev/shm/ringbuf.NAME, a file, or a directory for
 * a split ring), a path to a map pinned in bpffs (anything containing a
 * '/'), or id:N for a kernel map id.  Uses only the public API of
 * include/ringbuf.h and libc.
 *
 * Each subcommand is one struct cli_cmd (cli.h), in its own file cmd_*.c:
 * its name, the line the main usage gives it, its help text, its options
 * and the function that runs it.  This file holds the table of them
 * (commands[]), makes the main usage from it and dispatches; cli_parse()
 * (common.c) reads every command's arguments from its option descriptions.
 *
 * Roles: each subcommand opens a named ring with the least it needs, so
 * that it works for a user whom a split ring's file modes give only one
 * role: tail the consumer role, write the producer role, stat and ls the
 * producer role (which claims nothing, so a running consumer is not
 * disturbed) or, when the user may not write the `ring` file, the
 * consumer role, held only for the moment of reading (open_observe()).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef RINGBUF_CLI_VERSION
#define RINGBUF_CLI_VERSION "unknown"
#endif

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
	"  11  tail --count N --timeout S ended before N records arrived; write\n"
	"      --timeout S: a record waited S seconds for room\n";

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
	"role, stat, ls and tail --peek the observer role (read-only, no claim).\n"
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
	&cmd_create, &cmd_rm, &cmd_ls, &cmd_stat, &cmd_tail, &cmd_write, &cmd_forward,
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

		if (!c->summary || (c->available && !c->available()))
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

/* help [COMMAND]: a command's help, or the main usage (for a command
 * without help of its own); an unknown COMMAND is a usage error. */
static int help_run(int argc, char **argv)
{
	const struct cli_cmd *cmd = argc == 2 ? find_cmd(argv[1]) : NULL;

	if (argc > 2)
		usage_err("help takes at most one COMMAND");
	if (argc == 2 && !cmd)
		usage_err("unknown command '%s'", argv[1]);
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
