# mk/cli.mk -- the ringbuf command-line tool (included by the Makefile).
#
# build/ringbuf is built from cli/*.c (main.c: the table of commands and
# dispatch; common.c: what they share; cmd_*.c: the commands) against the
# static library, as part of `make` (all) and `make tests`: tests/t_cli_*.c
# runs it, found next to the test directory.  It sees only include/ (no
# -Isrc): the command uses the public API alone.  Its manual page is
# docs/ringbuf.1 (man -l docs/ringbuf.1).

CLI      := $(BUILD)/ringbuf
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o)

all: $(CLI)
tests: $(CLI)

# `ringbuf forward` needs the NATS C client (Debian: libnats-dev, which
# build.sh installs); without it the command is built, and says so when run.
NATS_LIBS := $(shell pkg-config --libs libnats 2>/dev/null)
CLI_NATS  := $(if $(NATS_LIBS),-DRINGBUF_HAVE_NATS)
# `ringbuf tail --btf` decodes records with libbpf's BTF API (libbpf-dev,
# which build.sh installs); without it the option says so.  Only the
# command links libbpf, never the library.
BTF_LIBS  := $(shell pkg-config --libs libbpf 2>/dev/null)
CLI_NATS  += $(if $(BTF_LIBS),-DRINGBUF_HAVE_BTF)

$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h) $(wildcard include/*.h) | $(BUILD)/cli
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(CLI_NATS) -DRINGBUF_CLI_VERSION='"$(VERSION)"' -c $< -o $@
$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(CLI_OBJS) $(STATIC) $(LDFLAGS) $(LDLIBS) $(NATS_LIBS) $(BTF_LIBS) -o $@
$(BUILD)/cli:
	mkdir -p $@

# The t_cli_* tests drive the command: build it first.
$(filter $(BUILD)/tests/t_cli_%,$(TEST_BINS)): $(CLI)

# t_forward runs `ringbuf forward` against its own nats-server and checks
# the stream with the NATS C client; without libnats it is built to skip.
$(BUILD)/tests/t_forward: $(CLI)
$(BUILD)/tests/t_forward: CFLAGS += $(CLI_NATS)
$(BUILD)/tests/t_forward: TEST_LDLIBS += $(NATS_LIBS)

# build/bench/forward_bench: `ringbuf forward` into a local nats-server
# beside `ringbuf tail --format raw`; built only with the NATS client.
ifneq ($(NATS_LIBS),)
FWD_BENCH := $(BUILD)/bench/forward_bench
bench-bin: $(FWD_BENCH)
$(FWD_BENCH): bench/forward/forward_bench.c $(STATIC) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(STATIC) $(LDFLAGS) $(LDLIBS) $(NATS_LIBS) -o $@
endif
$(BUILD)/tests/t_plant: $(CLI)
