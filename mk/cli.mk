# mk/cli.mk -- the ringbuf command-line tool (included by the Makefile).
#
# build/ringbuf is built from cli/ringbuf.c against the static library (it
# uses only include/ringbuf.h), as part of `make` (all) and `make tests`:
# tests/t_cli.c runs it, found next to the test directory.  Its manual page
# is docs/ringbuf.1 (man -l docs/ringbuf.1).

CLI := $(BUILD)/ringbuf

all: $(CLI)
tests: $(CLI)

$(CLI): cli/ringbuf.c $(wildcard include/*.h) $(STATIC)
	$(CC) $(CFLAGS) -DRINGBUF_CLI_VERSION='"$(VERSION)"' $< $(STATIC) $(LDFLAGS) $(LDLIBS) -o $@

# t_cli drives the command: build it first.
$(BUILD)/tests/t_cli: $(CLI)
