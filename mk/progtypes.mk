# mk/progtypes.mk -- the BPF objects of t_progtypes (included by the Makefile).
#
# tests/bpf/progtypes*.bpf.c take their arming with a compare-and-swap
# (BPF_ATOMIC with fetch), which needs the v3 instruction set.
$(BUILD)/tests/bpf/progtypes.bpf.o $(BUILD)/tests/bpf/progtypes_ca.bpf.o: BPF_CFLAGS += -mcpu=v3
