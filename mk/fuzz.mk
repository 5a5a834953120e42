# mk/fuzz.mk -- libFuzzer targets: the library against a hostile peer.
#
#   make fuzz        build both targets, regenerate nothing, run each for
#                    FUZZ_SMOKE_SECONDS (20) from the seed corpus
#   make fuzz-long   the same for FUZZ_SECONDS (600) per target; with
#                    FUZZ_RUNS=N (and FUZZ_SECONDS=0: no time limit), N
#                    executions per target instead
#   make fuzz-build  only build build-fuzz/fuzz_{consumer,producer,attach}
#   make fuzz-seeds  rewrite fuzz/corpus/* from fuzz/make_seeds.c
#   make fuzz-cov    line/branch coverage of src/ reached by the corpora
#                    (fuzz/corpus plus build-fuzz/corpus), with llvm-cov
#
# The targets are built with clang from the library sources directly
# (LIB_SRCS: src/*.c but the fault-injection hook), under ASan + UBSan,
# with no recovery: any crash, sanitizer report, failed check (abort),
# leak or hang (FUZZ_TIMEOUT seconds for one input) makes the fuzzer exit
# non-zero and make fail.  The reproducer is written to
# build-fuzz/artifacts/.  New corpus entries go to build-fuzz/corpus/<target>;
# fuzz/corpus is only read.  One worker per target, one target at a time.

FUZZ_CC            ?= clang
FUZZ_BUILD         ?= build-fuzz
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SECONDS       ?= 600
FUZZ_TIMEOUT       ?= 10
FUZZ_RUNS          ?= -1
FUZZ_FLAGS         ?=
FUZZ_TARGETS       := fuzz_consumer fuzz_producer fuzz_attach
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -DRINGBUF_STATIC_BUILD -Iinclude -Isrc -Ifuzz \
	-Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-long fuzz-build fuzz-seeds fuzz-cov

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(LIB_SRCS) $(HEADERS)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(LIB_SRCS) -lpthread -o $@

# $(call fuzz_run,target,seconds)
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1:fuzz_%=%) $(FUZZ_BUILD)/artifacts
	$(FUZZ_BUILD)/$(1) -max_total_time=$(2) -runs=$(FUZZ_RUNS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(1)- $(FUZZ_FLAGS) \
		$(FUZZ_BUILD)/corpus/$(1:fuzz_%=%) fuzz/corpus/$(1:fuzz_%=%)

endef

fuzz: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SMOKE_SECONDS)))

fuzz-long: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SECONDS)))

$(FUZZ_BUILD)/make_seeds: fuzz/make_seeds.c fuzz/fuzz_common.h include/ringbuf.h
	@mkdir -p $(FUZZ_BUILD)
	$(CC) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ifuzz -Wall -Wextra -Werror -O1 $< -o $@

fuzz-seeds: $(FUZZ_BUILD)/make_seeds
	rm -rf $(FUZZ_TARGETS:fuzz_%=fuzz/corpus/%)
	$(FUZZ_BUILD)/make_seeds fuzz/corpus

# Coverage: the same targets built with source-based coverage instead of
# sanitizers, replayed over the corpora (-runs=0 executes each input once).
FUZZ_LLVM_PROFDATA ?= llvm-profdata
FUZZ_LLVM_COV      ?= llvm-cov
FUZZ_COV_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(FUZZ_CFLAGS)) \
	-fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping

$(FUZZ_BUILD)/cov/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(LIB_SRCS) $(HEADERS)
	@mkdir -p $(FUZZ_BUILD)/cov
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) $< $(LIB_SRCS) -lpthread -o $@

# Reported for the ring protocol's files: the hot path, its variants and
# the waits, which is what a hostile peer's shared memory reaches.
FUZZ_COV_SRCS := src/ring.c src/overwrite.c src/recover.c src/notify.c src/poll.c
FUZZ_COV_OBJS = $(FUZZ_BUILD)/cov/fuzz_consumer $(patsubst %,-object $(FUZZ_BUILD)/cov/%,\
	$(filter-out fuzz_consumer,$(FUZZ_TARGETS)))

fuzz-cov: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/cov/%)
	@mkdir -p $(FUZZ_TARGETS:fuzz_%=$(FUZZ_BUILD)/corpus/%)
	$(foreach t,$(FUZZ_TARGETS),LLVM_PROFILE_FILE=$(FUZZ_BUILD)/cov/$(t).profraw \
		$(FUZZ_BUILD)/cov/$(t) -runs=0 $(FUZZ_BUILD)/corpus/$(t:fuzz_%=%) \
		fuzz/corpus/$(t:fuzz_%=%) >/dev/null 2>&1 &&) true
	$(FUZZ_LLVM_PROFDATA) merge -sparse $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/cov/%.profraw) \
		-o $(FUZZ_BUILD)/cov/all.profdata
	$(FUZZ_LLVM_COV) report $(FUZZ_COV_OBJS) \
		-instr-profile=$(FUZZ_BUILD)/cov/all.profdata $(FUZZ_COV_SRCS)
	@echo "per line: $(FUZZ_LLVM_COV) show $(FUZZ_COV_OBJS)" \
		"-instr-profile=$(FUZZ_BUILD)/cov/all.profdata $(FUZZ_COV_SRCS)"
