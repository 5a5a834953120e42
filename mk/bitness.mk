# mk/bitness.mk -- the peer program of t_bitness (included by the Makefile).
#
# tests/peer/bitness_peer.c is built into $(BUILD)/tests/bitness_peer with
# the build's flags: 64-bit in build/ (and build-asan/, build-tsan/),
# 32-bit in build-m32/ (make m32).  t_bitness runs a 32-bit and a 64-bit
# peer against each other, finding the other one in build-m32/ or build/
# (or RINGBUF_BITNESS_PEER32 / RINGBUF_BITNESS_PEER64); without it, it
# skips.  `make m32` builds the 64-bit peer of $(BUILD) first and points
# the 32-bit t_bitness at it, so the cross test runs for real there.

BITNESS_PEER := $(BUILD)/tests/bitness_peer

tests: $(BITNESS_PEER)
$(BUILD)/tests/t_bitness: $(BITNESS_PEER)

$(BITNESS_PEER): tests/peer/bitness_peer.c tests/peer/bitness.h tests/common/test.h \
		$(STATIC) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/common -Itests $< $(STATIC) $(LDFLAGS) $(LDLIBS) -o $@

m32: $(BITNESS_PEER)
m32: export RINGBUF_BITNESS_PEER64 := $(abspath $(BITNESS_PEER))
