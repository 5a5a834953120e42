# mk/m32.mk -- 32-bit build and long soak runs (included by the Makefile).
#
#   make m32     the library and every test that does not need libbpf, built
#                with -m32 into build-m32/ and run there: size_t is 32-bit
#                while positions stay 64-bit, so size/position truncation
#                shows up.  Needs a multilib toolchain (Debian: gcc-multilib).
#   make soak    t_stress and t_hostile for SOAK_SECONDS (default 3600) each
#                (t_stress runs that long per mode), in $(BUILD).
#
# M32_CC picks the compiler (default $(CC)), e.g. make m32 M32_CC=clang.

M32_BUILD ?= build-m32
M32_CC    ?= $(CC)
# Tests that use libbpf or the kernel maps (tests/common/kbpf.h) are left out.
M32_EXCLUDE := $(filter t_kmap% t_kuser% t_diff%,$(TEST_SRCS:tests/%.c=%)) \
	$(basename $(notdir $(shell grep -l 'kbpf\.h' tests/t_*.c 2>/dev/null))) \
	$(basename $(notdir $(shell for h in $$(grep -l 'kbpf\.h' tests/common/*.h); do \
		grep -l "include \"$$(basename $$h)\"" tests/t_*.c; done 2>/dev/null)))
M32_TESTS := $(filter-out $(M32_EXCLUDE),$(TEST_SRCS:tests/%.c=%))

SOAK_SECONDS ?= 3600

.PHONY: m32 m32-check soak
m32-check:
	@printf 'int main(void){return 0;}\n' | \
		$(M32_CC) -m32 -x c - -o /dev/null 2>/dev/null || { \
		echo "m32: '$(M32_CC) -m32' cannot link a program: install a 32-bit" \
		     "toolchain (Debian: apt-get install gcc-multilib)" >&2; exit 1; }

M32_MAKE = $(MAKE) --no-print-directory BUILD=$(M32_BUILD) CC="$(M32_CC)" CFLAGS="-m32" \
	LDFLAGS="-m32" TEST_LDLIBS= NATS_LIBS= BTF_LIBS=

# The library must build; a test that does not is reported (and fails the
# target) while the others still build and run.
m32: m32-check
	$(M32_MAKE) $(M32_BUILD)/libringbuf.a $(M32_BUILD)/libringbuf.so.$(VERSION)
	@bad=; ok=; \
	for t in $(M32_TESTS); do \
		if $(M32_MAKE) $(M32_BUILD)/tests/$$t; then ok="$$ok $$t"; \
		else bad="$$bad $$t"; fi; \
	done; \
	rc=0; \
	if [ -n "$$ok" ]; then BUILD=$(M32_BUILD) tests/run.sh $(TESTFLAGS) $$ok || rc=1; fi; \
	if [ -n "$$bad" ]; then echo "m32: not built with -m32:$$bad" >&2; rc=1; fi; \
	exit $$rc

soak: $(BUILD)/tests/t_stress $(BUILD)/tests/t_hostile
	STRESS_SECONDS=$(SOAK_SECONDS) TEST_TIMEOUT=$$(( 3 * $(SOAK_SECONDS) + 600 )) \
		BUILD=$(BUILD) tests/run.sh t_stress t_hostile
