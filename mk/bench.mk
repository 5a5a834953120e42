# mk/bench.mk -- the benchmark's BPF program (included by the Makefile).
#
# build/bench/ringbuf_bench runs bench/bpf/bench.bpf.c (compiled here with
# clang -target bpf to $(BUILD)/bench/bpf/bench.bpf.o) for its kernel rows;
# it finds the object next to itself, in bpf/.  Without the object, or
# where BPF is not permitted, the kernel rows are reported as skipped.

BENCH_BPF_OBJ := $(BUILD)/bench/bpf/bench.bpf.o

$(BENCH_BPF_OBJ): bench/bpf/bench.bpf.c bench/bpf/bench.h
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/ringbuf_bench: bench/bpf/bench.h $(BENCH_BPF_OBJ)
