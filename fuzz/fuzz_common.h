/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h -- what the two libFuzzer targets and the seed generator
 * share: the input formats, and the "peer" view of a ring.
 *
 * The fuzzers play a hostile peer: they map ringbuf_fd() themselves
 * (MAP_SHARED, as another process would) and scribble on the shared
 * positions, headers and data, while the library, through its own handle,
 * must never crash, never touch memory outside its ring mapping and never
 * loop for ever.  Everything is single-threaded and deterministic: the peer
 * writes between library calls (and, in the consumer target, from inside the
 * sample callback, i.e. in the middle of a consume).
 *
 * Input formats (little-endian, see make_seeds.c for examples):
 *
 * consumer target
 *   struct fz_cons_hdr (32 bytes)
 *   script_len * struct fz_action (16 bytes each): peer writes done from
 *                                  inside the callback
 *   the rest: bytes written into the data area starting at ring offset
 *             consumer_pos & mask (wrapping), up to the ring size
 *
 * producer target
 *   struct fz_prod_hdr (32 bytes)
 *   the rest: a sequence of struct fz_op (8 bytes each), at most FZ_MAX_OPS
 *
 * attach target
 *   struct fz_attach (40 bytes): the file a peer hands to ringbuf_from_fd()
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "ringbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- input formats ---------------------------------------------------- */

/* fz_*_hdr.flags */
#define FZ_F_BIG_RING  0x01 /* 8192-byte data area instead of 4096 */
#define FZ_F_RELATIVE  0x02 /* prod/pend are cons + (int32_t)low 32 bits */

/* consumer: fz_cons_hdr.calls -- up to four 2-bit call codes, low first,
 * 0 terminates (so 0x00 means "one ringbuf_consume") */
#define FZ_CALL_CONSUME   1
#define FZ_CALL_CONSUME_N 2
#define FZ_CALL_POLL0     3

struct fz_cons_hdr {
	uint8_t flags;
	uint8_t calls;
	uint8_t n;          /* for ringbuf_consume_n */
	uint8_t script_len; /* number of fz_action records that follow */
	uint8_t meta_notify;/* bit0: consumer_waiting=1, bit1: a forced wakeup pending (force_seq bumped) */
	uint8_t _pad[3];
	uint64_t cons, prod, pend;
} __attribute__((packed));

/* Peer writes from inside the sample callback. */
enum fz_action_kind {
	FZ_A_PROD_REL,   /* producer_pos = producer_pos + (int32_t)val */
	FZ_A_PROD_ABS,   /* producer_pos = val */
	FZ_A_HDR_LEN,    /* header len at ring offset (off*8) = (uint32_t)val */
	FZ_A_DATA,       /* 8 data bytes at ring offset off (any alignment) = val */
	FZ_A_CONS,       /* consumer_pos = val (the library must not care) */
	FZ_A_STOP,       /* the callback returns FZ_STOP_RET */
	FZ_A_NOTIFY,     /* a forced wakeup pending (meta.force_seq bumped) */
	FZ_A_HDR_NEXT,   /* header len right after the delivered record = val */
	FZ_A_NKINDS
};

#define FZ_STOP_RET (-4242)

struct fz_action {
	uint8_t at;   /* callback index (across the whole input) at which to act */
	uint8_t kind; /* enum fz_action_kind, modulo FZ_A_NKINDS */
	uint16_t off;
	uint32_t _pad;
	uint64_t val;
} __attribute__((packed));

/* producer */
struct fz_prod_hdr {
	uint8_t flags;
	uint8_t _pad[7];
	uint64_t cons, prod, pend;
} __attribute__((packed));

enum fz_op_kind {
	FZ_OP_OUTPUT,      /* ringbuf_output(size=c, flags(a)); a&0x80: data NULL */
	FZ_OP_RESERVE,     /* ringbuf_reserve(size=c, a&0x80 ? a : 0) */
	FZ_OP_SUBMIT,      /* submit outstanding[b % n], flags(a) */
	FZ_OP_DISCARD,     /* discard outstanding[b % n], flags(a) */
	FZ_OP_COMMIT_PTR,  /* submit (a&1: discard) data + (int32_t)c, or a canary
			    * or NULL pointer (a&6) */
	FZ_OP_QUERY,       /* ringbuf_query(a) */
	FZ_OP_SET_CONS,    /* consumer_pos = pos(a, c) */
	FZ_OP_SET_PROD,    /* producer_pos = pos(a, c) */
	FZ_OP_SET_PEND,    /* pending_pos = pos(a, c) */
	FZ_OP_SET_HDR,     /* header at ring offset b*8: len = c, pg_off = a<<24|b */
	FZ_OP_SET_CACHE,   /* meta.cons_cache = pos(a, c) */
	FZ_OP_CONSUME,     /* ringbuf_consume_n(n = a ? a : all) through the library */
	FZ_OP_RESERVE_WAIT,/* ringbuf_reserve_wait(size=c, timeout 0) */
	FZ_OP_NOTIFY,      /* the consumer page notification words, as a hostile consumer writes them */
	FZ_OP_CATCH_UP,    /* consumer_pos = producer_pos (an honest consumer) */
	FZ_OP_NKINDS
};

struct fz_op {
	uint8_t op; /* enum fz_op_kind, modulo FZ_OP_NKINDS */
	uint8_t a;
	uint16_t b;
	uint32_t c;
} __attribute__((packed));

#define FZ_MAX_OPS 512

/* attach */
struct fz_attach {
	uint8_t kind;       /* 0-3: memfd, 4: pipe, 5: fd -1, 6: closed fd, 7: directory */
	uint8_t seals;      /* bit0 F_SEAL_SHRINK, bit1 F_SEAL_GROW, bit3 F_SEAL_SEAL */
	uint8_t size_mode;  /* file size: 0: 3P + data_size, 1: that + delta,
			     * 2: delta * P / 4096 */
	uint8_t magic_mode; /* 0: the right magic, else the magic field */
	uint32_t version;
	uint32_t page_size; /* 0 means this system's page size */
	int32_t delta;
	uint64_t magic;
	uint64_t data_size;
	uint64_t flags;
} __attribute__((packed));

/* Output/submit flags from a byte: the two wakeup bits, plus (bit 2) one
 * undefined bit chosen by bits 3-7. */
static inline uint64_t fz_flags(uint8_t a)
{
	uint64_t f = a & 3;

	if (a & 4)
		f |= 1ull << (2 + ((a >> 3) % 62));
	return f;
}

/* ---- checks ------------------------------------------------------------ */

#define FZ_CHECK(cond, ...)                                                      \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                                \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			abort();                                                 \
		}                                                                \
	} while (0)

/* ---- the peer's view of a ring ---------------------------------------- */

#ifndef FZ_NO_RING

struct fz_ring {
	struct ringbuf *rb;
	size_t page;
	uint64_t size, mask;
	/* the peer's own MAP_SHARED mapping of the whole file (data once) */
	unsigned char *peer;
	size_t peer_len;
	struct ringbuf_shm_meta *meta;
	volatile uint64_t *cons_pos;
	struct ringbuf_shm_producer *prod;
	unsigned char *pdata;
	/* the library's data mapping (two copies), found via a reservation */
	unsigned char *ldata;
};

static inline uint64_t fz_ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline volatile uint64_t *fz_v64(void *p)
{
	return (volatile uint64_t *)p;
}

static inline volatile uint32_t *fz_v32(void *p)
{
	return (volatile uint32_t *)p;
}

/* Zero everything but the identity block; positions = 0. */
static inline void fz_ring_reset(struct fz_ring *r)
{
	memset((unsigned char *)r->meta + 32, 0, r->page - 32);
	memset(r->peer + r->page, 0, 2 * r->page + r->size);
}

/* Identity fields and every byte the library must never write in the meta
 * page: padding and the reserved block. */
static inline void fz_check_meta(const struct fz_ring *r)
{
	const unsigned char *m = (const unsigned char *)r->meta;

	FZ_CHECK(r->meta->magic == RINGBUF_MAGIC, "magic %llx", (unsigned long long)r->meta->magic);
	FZ_CHECK(r->meta->version == RINGBUF_LAYOUT_VERSION, "version %u", r->meta->version);
	FZ_CHECK(r->meta->page_size == r->page, "page_size %u", r->meta->page_size);
	FZ_CHECK(r->meta->data_size == r->size, "data_size %llu",
		 (unsigned long long)r->meta->data_size);
	FZ_CHECK(r->meta->flags == 0, "flags %llx", (unsigned long long)r->meta->flags);
	static const unsigned char zero[65536];
	/* everything but the identity, the lock, cons_cache, the counters, clean_to
	 * and the producers' notification words */
	static const size_t ranges[][2] = {
		{ offsetof(struct ringbuf_shm_meta, ring_id) + 8,
		  offsetof(struct ringbuf_shm_meta, lock_owner) },
		{ offsetof(struct ringbuf_shm_meta, clean_to) + 8,
		  offsetof(struct ringbuf_shm_meta, notify_seq) },
		{ offsetof(struct ringbuf_shm_meta, _was_owner),
		  offsetof(struct ringbuf_shm_meta, discarded) },
		{ offsetof(struct ringbuf_shm_meta, _reserved), 65536 },
	};

	for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++) {
		size_t lo = ranges[k][0], hi = ranges[k][1] < r->page ? ranges[k][1] : r->page;

		if (memcmp(m + lo, zero, hi - lo))
			for (size_t i = lo; i < hi; i++)
				FZ_CHECK(m[i] == 0, "meta byte %zu written (0x%02x)", i, m[i]);
	}
	FZ_CHECK(r->meta->lock_owner == 0, "lock left held by %u", r->meta->lock_owner);
	FZ_CHECK(r->meta->_lock_pad == 0, "lock pad written");
	FZ_CHECK(r->meta->lock_steals == 0, "lock stolen %llu times",
		 (unsigned long long)r->meta->lock_steals);
}

/* Bytes of the consumer and producer pages other than the positions. */
static inline void fz_check_pages(const struct fz_ring *r)
{
	const unsigned char *c = r->peer + r->page, *p = r->peer + 2 * r->page;
	/* the consumer page's padding: all but consumer_pos, the watermark
	 * block, the claim and identity, and the notification words */
	static const size_t cranges[][2] = {
		{ 8, offsetof(struct ringbuf_shm_consumer, wakeup_watermark) },
		{ offsetof(struct ringbuf_shm_consumer, _pad3),
		  offsetof(struct ringbuf_shm_consumer, consumer_owner) },
		{ offsetof(struct ringbuf_shm_consumer, _pad4),
		  offsetof(struct ringbuf_shm_consumer, ring_id) },
		{ offsetof(struct ringbuf_shm_consumer, _pad5),
		  offsetof(struct ringbuf_shm_consumer, consumer_waiting) },
		{ offsetof(struct ringbuf_shm_consumer, _pad6), 65536 },
	};

	static const unsigned char zero[65536];

	for (size_t k = 0; k < sizeof(cranges) / sizeof(cranges[0]); k++) {
		size_t lo = cranges[k][0], hi = cranges[k][1] < r->page ? cranges[k][1] : r->page;

		if (memcmp(c + lo, zero, hi - lo))
			for (size_t i = lo; i < hi; i++)
				FZ_CHECK(c[i] == 0, "consumer page byte %zu written", i);
	}
	if (memcmp(p + 16, zero, r->page - 16))
		for (size_t i = 16; i < r->page; i++)
			FZ_CHECK(p[i] == 0, "producer page byte %zu written", i);
}

/* Put an inaccessible page right after (and before) the library's mapping
 * of the ring, when the address is free, so an overrun faults instead of
 * silently hitting a neighbouring mapping. */
static inline void fz_guard(void *addr, size_t len)
{
	void *g = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (g != MAP_FAILED && g != addr)
		munmap(g, len); /* an old kernel ignored NOREPLACE: drop it */
}

static inline void fz_ring_init(struct fz_ring *r, uint64_t size)
{
	void *p;

	memset(r, 0, sizeof(*r));
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = size;
	r->mask = size - 1;
	r->rb = ringbuf_new(size, NULL);
	FZ_CHECK(r->rb, "ringbuf_new(%llu): %s", (unsigned long long)size, strerror(errno));
	r->peer_len = 3 * r->page + size;
	r->peer = mmap(NULL, r->peer_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       ringbuf_fd(r->rb), 0);
	FZ_CHECK(r->peer != MAP_FAILED, "mmap: %s", strerror(errno));
	r->meta = (struct ringbuf_shm_meta *)r->peer;
	r->cons_pos = fz_v64(r->peer + r->page);
	r->prod = (struct ringbuf_shm_producer *)(r->peer + 2 * r->page);
	r->pdata = r->peer + 3 * r->page;

	/* Positions are 0: the first reservation's header is at data + 0. */
	p = ringbuf_reserve(r->rb, 0, 0);
	FZ_CHECK(p, "initial reserve: %s", strerror(errno));
	r->ldata = (unsigned char *)p - RINGBUF_HDR_SZ;
	ringbuf_discard(p, 0);
	FZ_CHECK(fz_ld64(r->pdata) == (RINGBUF_DISCARD_BIT | ((uint64_t)3 << 32)),
		 "peer and library mappings disagree");
	fz_guard(r->ldata + 2 * size, r->page);
	fz_guard(r->ldata - 4 * r->page, r->page);
	fz_ring_reset(r);
}

/* Does [p, p + len) lie inside the library's data mapping? */
static inline int fz_in_ldata(const struct fz_ring *r, const void *p, uint64_t len)
{
	uintptr_t lo = (uintptr_t)r->ldata, a = (uintptr_t)p;

	return a >= lo && a - lo <= 2 * r->size && len <= 2 * r->size - (a - lo);
}

/* Positions from the header block. */
static inline void fz_positions(uint8_t flags, uint64_t c, uint64_t p, uint64_t q,
				uint64_t *cons, uint64_t *prod, uint64_t *pend)
{
	*cons = c;
	if (flags & FZ_F_RELATIVE) {
		*prod = c + (uint64_t)(int64_t)(int32_t)(uint32_t)p;
		*pend = c + (uint64_t)(int64_t)(int32_t)(uint32_t)q;
	} else {
		*prod = p;
		*pend = q;
	}
}

#endif /* FZ_NO_RING */

#endif
