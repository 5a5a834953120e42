# mk/bench.mk -- the benchmark (included by the Makefile).
#
# Every bench/*.c is one part of the one program build/bench/ringbuf_bench
# (bench/harness.h lists the parts); bench/forward/ is a program of its own
# (mk/cli.mk).  Like the tests it links the static library and sees only
# include/ringbuf.h, plus libbpf for the kernel rows.
#
# Those rows run bench/bpf/bench.bpf.c (compiled here with clang -target
# bpf to $(BUILD)/bench/bpf/bench.bpf.o); the program finds the object next
# to itself, in bpf/.  Without the object, or where BPF is not permitted,
# the kernel rows are reported as skipped.

BENCH_SRCS    := $(wildcard bench/*.c)
BENCH_OBJS    := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/obj/%.o)
BENCH_HEADERS := $(wildcard bench/*.h) bench/bpf/bench.h include/ringbuf.h
BENCH_BPF_OBJ := $(BUILD)/bench/bpf/bench.bpf.o

$(BUILD)/bench/obj/%.o: bench/%.c $(BENCH_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BENCH): $(BENCH_OBJS) $(STATIC) $(BENCH_BPF_OBJ)
	$(CC) $(CFLAGS) $(BENCH_OBJS) $(STATIC) $(LDFLAGS) $(LDLIBS) -lm -lbpf -o $@

$(BENCH_BPF_OBJ): bench/bpf/bench.bpf.c bench/bpf/bench.h
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@
