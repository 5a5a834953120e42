# mk/examples.mk -- make examples (included by the Makefile).
#
# examples/execsnoop/: a BPF program (execsnoop.bpf.c, clang -target bpf),
# its libbpf skeleton made by `bpftool gen skeleton` (Debian: bpftool),
# and the program that loads it through the skeleton and consumes its ring
# buffer map with ringbuf_map_open() -- built into
# $(BUILD)/examples/execsnoop/ (execsnoop, execsnoop.bpf.o for
# `ringbuf tail --btf`).  Like the CLI it links the static library and
# sees only include/ (the public API).  Without bpftool the examples are
# not built (make says so) and tests/t_execsnoop.c skips.
#
# `make tests` builds them: t_execsnoop runs execsnoop.

BPFTOOL ?= $(firstword $(shell command -v bpftool 2>/dev/null) $(wildcard /usr/sbin/bpftool /sbin/bpftool))

EXSNOOP_DIR := $(BUILD)/examples/execsnoop
EXSNOOP     := $(EXSNOOP_DIR)/execsnoop
EXAMPLES    := $(EXSNOOP)

.PHONY: examples
tests: examples
ifneq ($(BPFTOOL),)
examples: $(EXAMPLES)
else
examples:
	@echo "examples: no bpftool (Debian: apt-get install bpftool): execsnoop not built" >&2
endif

$(EXSNOOP_DIR)/execsnoop.bpf.o: examples/execsnoop/execsnoop.bpf.c examples/execsnoop/execsnoop.h
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@
$(EXSNOOP_DIR)/execsnoop.skel.h: $(EXSNOOP_DIR)/execsnoop.bpf.o
	$(BPFTOOL) gen skeleton $< name execsnoop_bpf > $@.tmp && mv $@.tmp $@
$(EXSNOOP): examples/execsnoop/execsnoop.c examples/execsnoop/execsnoop.h \
		$(EXSNOOP_DIR)/execsnoop.skel.h $(STATIC)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) -I$(EXSNOOP_DIR) -Iexamples/execsnoop $< $(STATIC) \
		$(LDFLAGS) $(LDLIBS) -lbpf -o $@
