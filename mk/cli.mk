# mk/cli.mk -- the ringbuf command-line tool (included by the Makefile).
#
# build/ringbuf is built from cli/*.c (main.c: the table of commands and
# dispatch; common.c: what they share; cmd_*.c: the commands) against the
# static library, as part of `make` (all) and `make tests`: tests/t_cli.c
# runs it, found next to the test directory.  It sees only include/ (no
# -Isrc): the command uses the public API alone.  Its manual page is
# docs/ringbuf.1 (man -l docs/ringbuf.1).

CLI      := $(BUILD)/ringbuf
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o)

all: $(CLI)
tests: $(CLI)

$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h) $(wildcard include/*.h) | $(BUILD)/cli
	$(CC) $(filter-out -Isrc,$(CFLAGS)) -DRINGBUF_CLI_VERSION='"$(VERSION)"' -c $< -o $@
$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(CLI_OBJS) $(STATIC) $(LDFLAGS) $(LDLIBS) -o $@
$(BUILD)/cli:
	mkdir -p $@

# t_cli drives the command: build it first.
$(BUILD)/tests/t_cli: $(CLI)
