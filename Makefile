# ringbuf -- the BPF ring buffer in user space.
#
#   make            library (shared + static), tests, benchmark, demo
#   make test       build and run the test suite (tests/run.sh)
#   make demo       build and run the demonstration
#   make bench      build and run the benchmark
#   make asan       the test suite under AddressSanitizer + UBSan
#   make tsan       the test suite under ThreadSanitizer
#   make install    PREFIX=/usr/local DESTDIR= (mk/install.mk); make uninstall
#   make man        the API's man pages, from the header (scripts/gen-man.sh)
#   make examples   examples/execsnoop: a BPF program, its skeleton, a ringbuf consumer
#
# Sanitizer builds go to their own build directory (BUILD=build-asan ...),
# so they never mix objects with the normal build.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PKGDIR  ?= $(LIBDIR)/pkgconfig
# The version is the header's (RINGBUF_VERSION_MAJOR/MINOR/PATCH).
VERSION := $(shell sed -n 's/^\#define RINGBUF_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$$/\2/p' \
	include/ringbuf.h | paste -sd.)
SOVER   := 0

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
SANITIZE ?=
CFLAGS   ?=
override CFLAGS += -std=gnu11 $(OPT) $(WARN) $(SANITIZE) -D_GNU_SOURCE -Iinclude -Isrc
LDFLAGS  ?=
override LDFLAGS += $(SANITIZE)
LDLIBS   := -lpthread

# src/fault.c (the RB_FI() hook of src/fault.h) goes only into the
# fault-injection variant below, never into the real library.
FI_SRCS  := src/fault.c
LIB_SRCS := $(filter-out $(FI_SRCS),$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_PIC  := $(LIB_SRCS:src/%.c=$(BUILD)/pic/%.o)
STATIC   := $(BUILD)/libringbuf.a
SHARED   := $(BUILD)/libringbuf.so.$(VERSION)

TEST_SRCS  := $(wildcard tests/t_*.c)
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_COMMON := $(wildcard tests/common/*.c)
# BPF programs for the kernel interop tests: clang -target bpf.
BPF_SRCS   := $(wildcard tests/bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:tests/bpf/%.bpf.c=$(BUILD)/tests/bpf/%.bpf.o)
BPF_CC     ?= clang
BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Iinclude \
	-I/usr/include/$(shell $(CC) -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
TEST_LDLIBS := -lbpf
# The benchmark: every bench/*.c goes into the one program (mk/bench.mk).
BENCH      := $(BUILD)/bench/ringbuf_bench
DEMO       := $(BUILD)/ringbuf-demo

.PHONY: all lib tests bench-bin test demo bench asan tsan clean
all: lib tests bench-bin $(DEMO)
lib: $(STATIC) $(SHARED)
tests: $(TEST_BINS) $(BPF_OBJS)
bench-bin: $(BENCH)

HEADERS  := $(wildcard include/*.h) $(wildcard src/*.h)

$(BUILD)/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(CFLAGS) -DRINGBUF_STATIC_BUILD -c $< -o $@
$(BUILD)/pic/%.o: src/%.c $(HEADERS) | $(BUILD)/pic
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(STATIC): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(SHARED): $(LIB_PIC) src/libringbuf.map
	$(CC) -shared -Wl,-soname,libringbuf.so.$(SOVER) -Wl,--version-script=src/libringbuf.map \
		$(LDFLAGS) -o $@ $(LIB_PIC) $(LDLIBS)
	ln -sf libringbuf.so.$(VERSION) $(BUILD)/libringbuf.so.$(SOVER)
	ln -sf libringbuf.so.$(SOVER) $(BUILD)/libringbuf.so

# Tests, benchmark and demo link the static library: they see only what
# include/ringbuf.h declares (tests/common is test-only helper code).
$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(wildcard tests/common/*.h tests/bpf/*.h) $(STATIC) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/common -Itests $< $(TEST_COMMON) $(STATIC) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS) -o $@
# The fault-injection variant of the library: the same sources built with
# -DRINGBUF_FAULT_INJECTION (the RB_FI() points of src/fault.h) plus
# src/fault.c, linked only into the tests of FI_TESTS.  The real library
# has no trace of it.
FI_STATIC := $(BUILD)/libringbuf-fi.a
FI_OBJS   := $(LIB_SRCS:src/%.c=$(BUILD)/fi/%.o) $(FI_SRCS:src/%.c=$(BUILD)/fi/%.o)
$(BUILD)/fi/%.o: src/%.c $(HEADERS) | $(BUILD)/fi
	$(CC) $(CFLAGS) -DRINGBUF_STATIC_BUILD -DRINGBUF_FAULT_INJECTION -c $< -o $@
$(FI_STATIC): $(FI_OBJS)
	rm -f $@ && ar rcs $@ $^
FI_TESTS  := $(BUILD)/tests/t_dead $(BUILD)/tests/t_wakeswitch
$(FI_TESTS): $(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(wildcard tests/common/*.h) $(FI_STATIC) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/common -Itests $< $(TEST_COMMON) $(FI_STATIC) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS) -o $@
$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(HEADERS) $(wildcard tests/bpf/*.h) | $(BUILD)/tests/bpf
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@
$(DEMO): examples/demo.c $(STATIC)
	$(CC) $(CFLAGS) $< $(STATIC) $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/obj $(BUILD)/pic $(BUILD)/fi $(BUILD)/tests $(BUILD)/tests/bpf $(BUILD)/bench:
	mkdir -p $@

test: tests
	BUILD=$(BUILD) tests/run.sh $(TESTFLAGS)

demo: $(DEMO)
	$(DEMO) $(DEMOFLAGS)

bench: bench-bin
	$(BENCH) $(BENCHFLAGS)

# AddressSanitizer + UndefinedBehaviorSanitizer, then ThreadSanitizer: the
# whole suite, built apart.  Forked stress children inherit the sanitizers.
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all" test
# gcc notes (-Wtsan) that TSan does not model standalone fences; every field
# those fences order is accessed atomically, so TSan misses no race there.
TSAN_NOWARN := $(shell $(CC) -Werror -Wno-tsan -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-tsan)
tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1 -g $(TSAN_NOWARN)" SANITIZE="-fsanitize=thread" test

# Verification targets (fuzzing, models, 32-bit build), the command, the
# benchmark and installing live in mk/*.mk.
-include $(wildcard mk/*.mk)

clean:
	rm -rf build build-asan build-tsan
