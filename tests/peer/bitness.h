/* SPDX-License-Identifier: MIT */
/*
 * bitness.h -- shared by tests/peer/bitness_peer.c (built 64-bit in
 * $(BUILD)/tests and 32-bit in build-m32/tests) and tests/t_bitness.c,
 * which runs the two builds against each other on one named ring: the
 * records the producer side writes and the consumer side checks byte for
 * byte, and what the peer protocol is.
 *
 * A committed record has a sequence number: records are committed in seq
 * order 0, 1, 2, ... and the consumer expects exactly that order.  Its
 * size and every byte are a function of seq.  Discarded and held
 * (reserved, never committed) records have no seq; they are filled with
 * BN_JUNK so that a consumer that delivered one would see it.
 */
#ifndef RINGBUF_TEST_PEER_BITNESS_H
#define RINGBUF_TEST_PEER_BITNESS_H

#include <stdint.h>
#include <string.h>

/* Bumped when the commands or the records below change: t_bitness refuses
 * (skips) a peer built from other sources. */
#define BN_PROTO 1

#define BN_DISCARD_SIZE 40U /* payload bytes of a discarded record */
#define BN_HOLD_SIZE    64U /* payload bytes of a held record */
#define BN_JUNK         0xddU
#define BN_MAX_SIZE     300U

/* Payload bytes of record @seq: 8 to 300. */
static inline uint32_t bn_size(uint32_t seq)
{
	return 8u + (seq * 37u) % 293u;
}

static inline uint8_t bn_byte(uint32_t seq, uint32_t k)
{
	return (uint8_t)(seq * 131u + k * 7u + (k >> 5) + 0x3cu);
}

/* Record @seq: seq and ~seq (little-endian words), then bn_byte()s. */
static inline void bn_fill(uint8_t *b, uint32_t seq)
{
	uint32_t size = bn_size(seq), inv = ~seq;

	memcpy(b, &seq, 4);
	memcpy(b + 4, &inv, 4);
	for (uint32_t k = 8; k < size; k++)
		b[k] = bn_byte(seq, k);
}

/* Does @b (@size bytes) hold record @seq exactly? */
static inline int bn_check(const uint8_t *b, size_t size, uint32_t seq)
{
	uint8_t want[BN_MAX_SIZE];

	if (size != bn_size(seq))
		return 0;
	bn_fill(want, seq);
	return memcmp(b, want, size) == 0;
}

/* In bulk runs (the "bulk" command), operation i of COUNT: every seventh a
 * reserve+discard before the record. */
static inline int bn_bulk_discard(uint32_t i)
{
	return i % 7u == 6u;
}

#endif
