/* SPDX-License-Identifier: MIT */
/*
 * ringbuf.h -- the Linux BPF ring buffer, in user space.
 *
 * A ring is a multi-producer, single-consumer queue of variable-length
 * records with the kernel's BPF_MAP_TYPE_RINGBUF semantics: producers copy a
 * record in (ringbuf_output) or reserve space, fill it and submit or discard
 * it; one consumer reads committed records in order.  From its second page
 * on, a ring's shared memory is byte-identical to mmap() of a kernel ring
 * buffer map (see struct ringbuf_shm_* below; the essay at the top of
 * src/ring.c explains the protocol).  The same handle type also serves
 * kernel BPF_MAP_TYPE_RINGBUF and BPF_MAP_TYPE_USER_RINGBUF maps.
 *
 * Error model (as libbpf): functions returning int/long return a negative
 * errno on failure *and* set errno to its positive value; functions returning
 * a pointer return NULL and set errno.
 *
 * Roles: a "producer" is any thread that calls output/reserve/submit/
 * discard; the "consumer" is the single thread (per ring, across all
 * processes) that calls consume/consume_n/poll.  Producer calls are safe from
 * any number of threads and processes at once.  Consumer calls must not run
 * concurrently with each other on the same ring.  A handle may be restricted
 * to one role (struct ringbuf_opts.role), which ringbuf then enforces.
 */
#ifndef RINGBUF_H
#define RINGBUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(RINGBUF_STATIC_BUILD)
#define RINGBUF_API __attribute__((visibility("default")))
#else
#define RINGBUF_API
#endif

/* ------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------ */

/* The version of this header.  RINGBUF_VERSION packs it into one number
 * that compares in order, e.g. #if RINGBUF_VERSION >=
 * RINGBUF_MAKE_VERSION(0, 3, 0); ringbuf_version() gives the library's. */
#define RINGBUF_VERSION_MAJOR 0
#define RINGBUF_VERSION_MINOR 5
#define RINGBUF_VERSION_PATCH 0
#define RINGBUF_MAKE_VERSION(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define RINGBUF_VERSION \
	RINGBUF_MAKE_VERSION(RINGBUF_VERSION_MAJOR, RINGBUF_VERSION_MINOR, RINGBUF_VERSION_PATCH)
#define RINGBUF_STRINGIFY_(x) #x
#define RINGBUF_STRINGIFY(x) RINGBUF_STRINGIFY_(x)
#define RINGBUF_VERSION_STRING RINGBUF_STRINGIFY(RINGBUF_VERSION_MAJOR) "." \
	RINGBUF_STRINGIFY(RINGBUF_VERSION_MINOR) "." RINGBUF_STRINGIFY(RINGBUF_VERSION_PATCH)

/*
 * ringbuf_version - the version of the library actually running, as
 * RINGBUF_VERSION packs it (major << 16 | minor << 8 | patch), which may
 * be newer than the header a program was compiled with.
 * ringbuf_version_string() gives it as "MAJOR.MINOR.PATCH", a static
 * string.  Never fail; any thread, async-signal-safe.
 */
RINGBUF_API uint32_t ringbuf_version(void);
RINGBUF_API const char *ringbuf_version_string(void);

/* ------------------------------------------------------------------------
 * Constants (the kernel's values)
 * ------------------------------------------------------------------------ */

/* Wakeup flags for output/submit/discard (BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP). */
#define RINGBUF_NO_WAKEUP    1ULL
#define RINGBUF_FORCE_WAKEUP 2ULL

/* ringbuf_query() selectors (BPF_RB_AVAIL_DATA ... BPF_RB_PROD_POS). */
#define RINGBUF_AVAIL_DATA 0ULL
#define RINGBUF_RING_SIZE  1ULL
#define RINGBUF_CONS_POS   2ULL
#define RINGBUF_PROD_POS   3ULL
#define RINGBUF_OVERWRITE_POS 4ULL /* BPF_RB_OVERWRITE_POS (kernel 6.19) */
/* ringbuf's own selector, not the kernel's: the ring's identity (see
 * ringbuf_query()). */
#define RINGBUF_RING_ID    0x100ULL
/* ringbuf's own selectors: a named ring set's member ring (see
 * ringbuf_set_create()): the set's id, its number of rings, this ring's
 * index; 0, 0, 0 for a ring in no named set. */
#define RINGBUF_SET_ID     0x101ULL
#define RINGBUF_SET_COUNT  0x102ULL
#define RINGBUF_SET_INDEX  0x103ULL

/*
 * Creation flag (struct ringbuf_opts.flags; the kernel's BPF_F_RB_OVERWRITE,
 * 6.19): overwrite mode.  Producers never fail for lack of room: when the
 * ring is full, a reservation moves overwrite_pos over the oldest committed
 * records until the new one fits, and the consumer reads from
 * max(consumer_pos, overwrite_pos).  A BUSY (reserved, not yet committed)
 * record is never overwritten: a reservation that would have to pass one
 * fails with -EAGAIN, as the kernel's does.  The flag is recorded in the
 * ring (meta.flags), so every process that attaches gets the mode.
 */
#define RINGBUF_F_OVERWRITE (1U << 19)

/*
 * Creation flag (ringbuf_create() only): a split ring, whose writable state
 * is two files, so that file permissions enforce the roles between users.
 * The name /dev/shm/ringbuf.NAME is then a directory holding
 *
 *   ring      everything producers write: the metadata page, the producer
 *             page and the data (mode opts->mode, default 0600);
 *   consumer  everything the consumer writes: the consumer page
 *             (mode opts->consumer_mode, default opts->mode).
 *
 * A producer handle opens `ring` read-write and `consumer` read-only, a
 * consumer handle the reverse, a handle with both roles both read-write:
 * give the producers' user write access to `ring` only and the consumer's
 * user write access to `consumer` only (chown/chmod), and neither can do
 * the other's part -- not through this library, and not by opening,
 * mapping or mprotect()ing the files themselves.  The flag is recorded in
 * the ring; ringbuf_open() finds the mode by itself.  The `ring` file
 * alone is not a ring (ringbuf_from_fd() refuses it with EPROTO).  A
 * consumer-only handle cannot rewrite a dead producer's BUSY record
 * itself: once it finds the owner dead it asks, and the next reservation
 * checks the owner again and recovers the record (counted in
 * ringbuf_stats().recovered like the consumer's own recoveries).
 */
#define RINGBUF_F_SPLIT (1ULL << 32)

/*
 * Creation flag (ringbuf_new() and ringbuf_create()): a single-producer
 * ring.  One thread of one process produces -- the first producer handle
 * that reserves claims the ring for the thread that called, and keeps the
 * reservation lock from then on, so its reservations take no locked
 * instruction; its ringbuf_output() writes the whole record before it
 * publishes producer_pos (no BUSY record: a reader cannot tell the
 * difference, and a producer killed meanwhile leaves nothing half done).
 * Any other producer (another handle, thread or process) is
 * refused with -EBUSY while that thread's process lives and its handle is
 * open; ringbuf_free() of the claiming handle gives the claim back, and
 * the claim of a process that exited is taken over (lock_steals).  The
 * records, positions and wakeups are the kernel's, byte for byte, as on
 * any ring.  The flag is recorded in the ring (meta.flags).
 */
#define RINGBUF_F_SINGLE_PRODUCER (1ULL << 33)

/* Record header bits (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT). */
#define RINGBUF_BUSY_BIT    (1U << 31)
#define RINGBUF_DISCARD_BIT (1U << 30)
#define RINGBUF_HDR_SZ      8U

/* Largest data area (the kernel's 32-bit max_entries limit, rounded to a
 * power of two). */
#define RINGBUF_MAX_DATA_SIZE (1ULL << 31)

/* ------------------------------------------------------------------------
 * Shared-memory layout: the cross-process ABI.  Changing it requires a
 * bump of RINGBUF_LAYOUT_VERSION.  Offsets are from the start of the ring
 * file (the memfd returned by ringbuf_fd()); P is the system page size.
 *
 *   0          struct ringbuf_shm_meta      ringbuf's own metadata (1 page)
 *   P          struct ringbuf_shm_consumer  the kernel's consumer page
 *   2P         struct ringbuf_shm_producer  the kernel's producer page
 *   3P         data, data_size bytes, mapped twice back to back
 *
 * A split ring (RINGBUF_F_SPLIT) keeps the same layout in two files: page P
 * comes from the `consumer` file (one page), the rest from the `ring` file
 * (whose page P is unused).
 *
 * From offset P on, a mapping is byte-identical to the mmap of a kernel
 * BPF_MAP_TYPE_RINGBUF map, but for documented additions: ringbuf's own
 * fields after the kernel's in the consumer and producer pages (zero in
 * the kernel's), and the owner's pid in pg_off of a BUSY record header.
 * Positions are free-running 64-bit byte counters; only
 * pos & (data_size - 1) indexes the data.
 * ------------------------------------------------------------------------ */

#define RINGBUF_MAGIC          0x4655424752425552ULL /* "RUBRGBUF" little-endian */
#define RINGBUF_LAYOUT_VERSION 3U

/* 64-bit fields of shared memory are accessed atomically; i386 aligns a
 * plain uint64_t in a struct to 4 only, so force 8 (no offset changes). */
#if defined(__GNUC__)
typedef uint64_t ringbuf_u64 __attribute__((aligned(8)));
#else
typedef uint64_t ringbuf_u64;
#endif

/*
 * One record header, at an 8-byte aligned position in the data area.
 *
 * The one documented difference from the kernel's bytes: while a record is
 * BUSY, pg_off holds the pid of the process that reserved it (its owner),
 * so that a consumer can recover the record if that process dies (see
 * ringbuf_consume()).  Committing stores the whole header at once, {len,
 * kernel pg_off}, so every committed or discarded header is byte-identical
 * to the kernel's.  Nothing reads pg_off of a committed record: libbpf
 * does not, ringbuf's consumer does not, and submit/discard find the ring
 * through the process's own table.  (The kernel's USER_RINGBUF maps, which
 * the kernel consumes, get the kernel's value, 0, throughout.)
 */
struct ringbuf_hdr {
	uint32_t len;    /* payload length | BUSY | DISCARD */
	uint32_t pg_off; /* committed: page offset of this header from the
			  * file start; BUSY: pid of the reserving process */
};

/* Page 0: ringbuf's metadata.  Groups written by different roles live on
 * separate 128-byte blocks (two cache lines: the adjacent-line prefetcher
 * pairs them). */
struct ringbuf_shm_meta {
	/* identity: written once by the creator, then read-only */
	ringbuf_u64 magic;        /* RINGBUF_MAGIC */
	uint32_t version;      /* RINGBUF_LAYOUT_VERSION */
	uint32_t page_size;    /* P used for this layout */
	ringbuf_u64 data_size;    /* power of two, multiple of P */
	ringbuf_u64 flags;        /* creation flags: RINGBUF_F_OVERWRITE, RINGBUF_F_SPLIT,
				   * RINGBUF_F_SINGLE_PRODUCER */
	ringbuf_u64 ring_id;      /* random, chosen at creation; a split ring's
				   * consumer file carries the same value */
	ringbuf_u64 set_id;       /* a named set's member: the set's random id
				   * (the same in every member), else 0 */
	uint32_t set_n;        /* ... the number of rings in the set */
	uint32_t set_idx;      /* ... this ring's index in it, 0 .. set_n - 1 */
	uint8_t  _pad0[128 - 56];

	/* reservation lock: written by producers only */
	uint32_t lock_owner;   /* 0 = free, else pid of the holder */
	uint32_t _lock_pad;
	ringbuf_u64 lock_steals;  /* locks taken over from dead holders */
	ringbuf_u64 cons_cache;   /* a consumer_pos seen by a lock holder */
	ringbuf_u64 reserved;     /* reservations made (counted under the lock) */
	ringbuf_u64 reserved_bytes; /* their payload bytes */
	ringbuf_u64 clean_to;     /* a hint, meaningful only while it equals
				   * producer_pos: then every record below it is
				   * committed (stored after each record written
				   * whole, src/output.c; 1, no position, before a
				   * BUSY record and at creation); older versions
				   * ignore it */
	uint8_t  _pad1[128 - 48];

	/* notification state written by producers, only when they wake the
	 * consumer or force a wakeup (the consumer's half is in its page) */
	uint32_t _was_waiting;     /* unused (layout 1: consumer_waiting) */
	uint32_t notify_seq;       /* futex word: the waker of each arming moves
				    * it from the consumer's wait_seq on, by CAS */
	uint32_t force_seq;        /* bumped by FORCE_WAKEUP commits; a forced
				    * wakeup is pending while it differs from the
				    * consumer's force_taken */
	uint32_t _was_owner;       /* unused (layout 1: the consumer claim) */
	uint8_t  _pad2[128 - 16];

	/* counters of rarer events, atomically incremented by any producer
	 * (or by the consumer for wakeups it receives) */
	ringbuf_u64 discarded;      /* records committed as discarded */
	ringbuf_u64 refused_full;   /* reservations refused: no room (-EAGAIN) */
	ringbuf_u64 refused_too_big;/* reservations refused: can never fit (-E2BIG) */
	ringbuf_u64 refused_flags;  /* calls refused for bad flags (-EINVAL) */
	ringbuf_u64 wakeups;        /* wakeup system calls made by producers */
	ringbuf_u64 recovered;      /* BUSY records of dead producers that a
				    * producer turned into discards, at the
				    * consumer's request (recover_hint) */
	ringbuf_u64 refused_nested; /* reservations refused in a signal handler
				    * that interrupted its own thread's
				    * reservation of this ring (-EAGAIN) */
	uint8_t  _reserved[128 - 56];
};

/* The consumer page's consumer_waiting: 0 while the consumer runs;
 * RINGBUF_WAIT_FUTEX while it is (about to be) asleep on meta.notify_seq in
 * ringbuf_poll(); RINGBUF_WAIT_FD while it is armed for its wakeup socket
 * (ringbuf_epoll_fd()).  Only the consumer writes it; the one producer whose
 * compare-and-swap moves meta.notify_seq from wait_seq to wait_seq + 1
 * makes the wakeup system call. */
#define RINGBUF_WAIT_FUTEX 1U
#define RINGBUF_WAIT_FD    2U

/* Page P: written by the consumer only.  From offset 128 on, ringbuf's
 * own fields (a kernel map's consumer page has only consumer_pos), in
 * 128-byte blocks by who reads them. */
struct ringbuf_shm_consumer {
	ringbuf_u64 consumer_pos;
	uint8_t  _pad0[128 - 8];

	/* overwrite mode: the consumer's accounting of overwritten records */
	ringbuf_u64 ow_passed;     /* records (not discarded) before consumer_pos */
	ringbuf_u64 ow_lost;       /* records overwritten before the consumer read them */
	/* any mode */
	ringbuf_u64 recovered;     /* BUSY records of dead producers turned into
				    * discards by a consumer */
	ringbuf_u64 recover_hint;  /* position | 1 of a BUSY head record whose
				    * owner the consumer found dead but cannot
				    * rewrite (split ring, consumer-only handle):
				    * the next reservation checks it and does
				    * the CAS; 0 if none */
	uint8_t  _pad1[128 - 32];

	/* wakeups: read by producers only when the consumer waits */
	ringbuf_u64 wakeup_watermark; /* 0: the kernel's adaptive wakeups; else
				       * bytes pending before a wakeup is owed
				       * (ringbuf_set_watermark()) */
	uint32_t wake_gen;            /* bumped each time a consumer binds a new
				       * wakeup socket (ringbuf_epoll_fd()):
				       * producers then reconnect by name */
	uint32_t _pad2;
	ringbuf_u64 wake_key[2];      /* the name of that socket: 128 random
				       * bits, stored before wake_gen moves;
				       * only those who may read the ring
				       * learn it (ringbuf_epoll_fd()) */
	uint8_t  _pad3[128 - 32];

	/* the consumer claim and identity */
	uint32_t consumer_owner;   /* pid of the process whose handle claimed the
				    * consumer role (RINGBUF_ROLE_CONSUMER), 0 if none */
	uint32_t _pad4;
	ringbuf_u64 ring_id;       /* meta.ring_id, written by the creator */
	uint8_t  _pad5[128 - 16];

	/* the consumer's half of the notification state: written when it
	 * arms, sleeps and wakes; read by producers that commit */
	uint32_t consumer_waiting; /* RINGBUF_WAIT_*, 0 if it does not wait */
	uint32_t wait_seq;         /* meta.notify_seq when it armed */
	uint32_t force_taken;      /* the meta.force_seq it has taken */
	uint32_t _pad6;
};

/* Page 2P: written by producers only (under the reservation lock).  The
 * first three fields are the kernel's (6.19); the rest is ringbuf's own. */
struct ringbuf_shm_producer {
	ringbuf_u64 producer_pos;  /* end of the last reserved record */
	ringbuf_u64 pending_pos;   /* oldest record that may still be BUSY */
	ringbuf_u64 overwrite_pos; /* overwrite mode: first record not overwritten
				    * (0 otherwise) */
	/* overwrite mode: overwrite_pos's record index, for the consumer's
	 * count of lost records.  Written ow_check, ow_passed, overwrite_pos
	 * in this order; a reader that finds ow_check == overwrite_pos after
	 * reading them in the reverse order has a consistent pair. */
	ringbuf_u64 ow_passed;     /* records (not discarded) before overwrite_pos */
	ringbuf_u64 ow_check;      /* the overwrite_pos being written */
	uint8_t _pad[128 - 40];
	/* A kernel BPF_MAP_TYPE_USER_RINGBUF map only (0 elsewhere): the
	 * lock ringbuf's producers take around a reservation, since the
	 * kernel's map has none for user space -- pid of the holder, 0 when
	 * free.  The kernel reads only producer_pos of this page. */
	uint32_t user_lock;
	uint32_t _pad2;
};

#ifdef __cplusplus
#define RINGBUF_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define RINGBUF_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define RINGBUF_SHM_CONSUMER_PAGE 1 /* in pages */
#define RINGBUF_SHM_PRODUCER_PAGE 2
#define RINGBUF_SHM_DATA_PAGE     3

RINGBUF_STATIC_ASSERT(sizeof(struct ringbuf_hdr) == 8, "record header is 8 bytes");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_hdr, pg_off) == 4, "pg_off at 4");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, magic) == 0, "meta.magic");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, version) == 8, "meta.version");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, page_size) == 12, "meta.page_size");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, data_size) == 16, "meta.data_size");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, flags) == 24, "meta.flags");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, lock_owner) == 128, "meta.lock");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, lock_steals) == 136, "meta.steals");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, cons_cache) == 144, "meta.cons_cache");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, reserved) == 152, "meta.reserved");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, reserved_bytes) == 160, "meta.rbytes");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, discarded) == 384, "meta.discarded");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, wakeups) == 416, "meta.wakeups");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, notify_seq) == 260, "meta.seq");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, force_seq) == 264, "meta.force_seq");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, ring_id) == 32, "meta.ring_id");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, recovered) == 424, "meta.recovered");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, refused_nested) == 432, "meta.refused_nested");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_meta, _reserved) == 440, "meta._reserved");
RINGBUF_STATIC_ASSERT(sizeof(struct ringbuf_shm_meta) == 512, "meta fits any page");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, consumer_pos) == 0, "consumer_pos");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, ow_passed) == 128, "cons.ow_passed");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, ow_lost) == 136, "cons.ow_lost");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, recovered) == 144, "cons.recovered");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, recover_hint) == 152, "cons.hint");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, wakeup_watermark) == 256,
		      "watermark on its own block");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, wake_gen) == 264, "wake_gen");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, wake_key) == 272, "wake_key");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, consumer_owner) == 384, "cons.owner");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, ring_id) == 392, "cons.ring_id");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, consumer_waiting) == 512, "cons.waiting");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, wait_seq) == 516, "cons.wait_seq");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_consumer, force_taken) == 520, "cons.force_taken");
RINGBUF_STATIC_ASSERT(sizeof(struct ringbuf_shm_consumer) <= 4096, "consumer page fits any page");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, producer_pos) == 0, "producer_pos");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, pending_pos) == 8, "pending_pos");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, overwrite_pos) == 16, "overwrite_pos");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, ow_passed) == 24, "prod.ow_passed");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, ow_check) == 32, "prod.ow_check");
RINGBUF_STATIC_ASSERT(offsetof(struct ringbuf_shm_producer, user_lock) == 128, "prod.user_lock");

/* ------------------------------------------------------------------------
 * Construction
 * ------------------------------------------------------------------------ */

struct ringbuf; /* opaque handle: one process's view of one ring */

/*
 * Options for every constructor (ringbuf_new, ringbuf_from_fd,
 * ringbuf_create, ringbuf_open, ringbuf_map_open*).  Set sz to
 * sizeof(struct ringbuf_opts); fields this library does not know must be
 * zero, so the struct can grow without breaking callers.
 */
struct ringbuf_opts {
	size_t sz;
	uint64_t flags; /* ringbuf_new(): 0, RINGBUF_F_OVERWRITE and/or
			 * RINGBUF_F_SINGLE_PRODUCER;
			 * ringbuf_create(): also RINGBUF_F_SPLIT; must be 0
			 * for the others (an attached ring's mode comes from
			 * the ring) */
	uint32_t mode;  /* ringbuf_create(): permissions of the name (0: 0600);
			 * of the `ring` file for a split ring */
	uint32_t role;  /* RINGBUF_ROLE_*; 0 or both bits: both roles, nothing
			 * mapped read-only, no claim */
	uint32_t recover_ms; /* consumer of a ringbuf ring: how long a record
			      * may stay BUSY at the consumer position before
			      * the consumer checks whether its owner is dead
			      * and recovers it (see ringbuf_consume()); 0 (as
			      * in callers that predate the field):
			      * RINGBUF_RECOVER_DEFAULT_MS; RINGBUF_RECOVER_NEVER:
			      * never.  Ignored for kernel maps. */
	uint32_t consumer_mode; /* ringbuf_create() with RINGBUF_F_SPLIT:
				 * permissions of the `consumer` file (0: as
				 * mode); must be 0 otherwise */
};

/*
 * RINGBUF_OPTS(TYPE, NAME, FIELDS...) - declare struct TYPE NAME with sz
 * set to sizeof(struct TYPE), every other byte (padding too) zero, then
 * the designated FIELDS, as libbpf's LIBBPF_OPTS; for any struct of this
 * header that starts with sz (ringbuf_opts, ringbuf_stats,
 * ringbuf_name_info):
 *
 *	RINGBUF_OPTS(ringbuf_opts, o, .mode = 0660, .role = RINGBUF_ROLE_CONSUMER);
 *	struct ringbuf *rb = ringbuf_create("events", 1 << 20, &o);
 *	RINGBUF_OPTS(ringbuf_stats, st);
 *	ringbuf_stats(rb, &st);
 *
 * Uses GNU C statement expressions (gcc, clang; g++ and clang++ too, where
 * FIELDS must follow the struct's order); the fields left out are zero by
 * design, so -Wmissing-field-initializers is off inside it.
 */
#define RINGBUF_OPTS(TYPE, NAME, ...)                                         \
	struct TYPE NAME = __extension__({                                    \
		_Pragma("GCC diagnostic push")                                \
		_Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"") \
		__builtin_memset(&(NAME), 0, sizeof(struct TYPE));            \
		struct TYPE ringbuf_opts_init_ = {                            \
			.sz = sizeof(struct TYPE), __VA_ARGS__                \
		};                                                            \
		_Pragma("GCC diagnostic pop")                                 \
		ringbuf_opts_init_;                                           \
	})

/* struct ringbuf_opts.recover_ms: the default, and "never recover". */
#define RINGBUF_RECOVER_DEFAULT_MS 1000U
#define RINGBUF_RECOVER_NEVER      UINT32_MAX

/*
 * Roles.  A handle opened as RINGBUF_ROLE_PRODUCER maps the consumer page
 * read-only and gets -EOPNOTSUPP from the consumer calls; one opened as
 * RINGBUF_ROLE_CONSUMER maps the producer page and the data read-only, gets
 * -EOPNOTSUPP from the producer calls, and claims the ring's consumer role:
 * while it is open and its process lives, no other handle may consume, in
 * this process or another (EBUSY at open for another RINGBUF_ROLE_CONSUMER
 * handle, -EBUSY from the consumer calls of any other handle).  The
 * read-only mappings come from read-only file descriptors, so mprotect()
 * cannot make them writable, as with the kernel's ring buffer maps.  Roles
 * apply to ringbuf rings; kernel maps have the role their type gives.  The claim is released by ringbuf_free() and
 * taken over once the claiming process has exited.  The one write a
 * consumer makes to the data area -- turning a dead producer's BUSY record
 * into a discard (ringbuf_consume()) -- goes through a writable mapping of
 * that one page made for it and removed at once.
 */
#define RINGBUF_ROLE_PRODUCER 1U
#define RINGBUF_ROLE_CONSUMER 2U
/*
 * An observer (alone, not with the other bits): everything mapped
 * read-only from read-only descriptors, no claim, nothing ever written --
 * so read access to the ring's files is all it needs.  ringbuf_stats(),
 * ringbuf_query() and ringbuf_peek() work; the producer and consumer
 * calls return -EOPNOTSUPP (ringbuf_open() only; `ringbuf stat` and `ls`
 * use it).
 */
#define RINGBUF_ROLE_OBSERVER 4U

/*
 * ringbuf_new - create a ring in a new sealed memfd.
 * @data_size: bytes of record data; a power of two, a multiple of the page
 *             size, at most RINGBUF_MAX_DATA_SIZE.
 * @opts:      may be NULL.
 *
 * The ring is shared with children created by fork() (the handle stays
 * valid in the child) and with any process that receives ringbuf_fd() and
 * calls ringbuf_from_fd().  Forking from a threaded process is safe: the
 * library's process-local locks are taken around fork() (pthread_atfork),
 * so none is copied into the child held by a thread the child lacks.
 *
 * @opts->flags may be RINGBUF_F_OVERWRITE (overwrite mode, see there) and
 * RINGBUF_F_SINGLE_PRODUCER (see there).
 *
 * Returns the handle, or NULL with errno: EINVAL (bad size or opts), ENOMEM
 * (also: a ring too large to map twice in a 32-bit address space),
 * or the errno of memfd_create/ftruncate/mmap.  Thread-safe.
 */
RINGBUF_API struct ringbuf *ringbuf_new(size_t data_size, const struct ringbuf_opts *opts);

/*
 * ringbuf_from_fd - attach to a ring file received from another process.
 * @fd: a ring file descriptor (ringbuf_fd() of the creator).  It is
 *      duplicated; the caller keeps ownership of @fd.
 *
 * Returns the handle, or NULL with errno: EBADF (not an open fd), EINVAL (bad
 * opts, including any opts->flags), EPROTO (the file is not a ringbuf ring:
 * wrong size, magic, geometry or unknown creation flags, or not
 * size-sealed -- so not the fd of a named ring, which is
 * opened by name), EPROTONOSUPPORT (a ring of another layout version), EBUSY
 * (opts->role is RINGBUF_ROLE_CONSUMER and another live handle holds the
 * consumer role), ENOMEM, or the errno of fstat/mmap.  Thread-safe.
 */
RINGBUF_API struct ringbuf *ringbuf_from_fd(int fd, const struct ringbuf_opts *opts);

/*
 * ringbuf_create - create a ring that other processes attach to by name.
 * @name: 1 to 200 characters from [A-Za-z0-9._-], not starting with '.';
 *        the ring lives in /dev/shm/ringbuf.@name until ringbuf_unlink().
 * @opts: may be NULL; opts->mode sets the permissions exactly (default
 *        0600; the umask does not apply), opts->role the role of the
 *        returned handle, opts->flags 0 or RINGBUF_F_OVERWRITE,
 *        RINGBUF_F_SINGLE_PRODUCER and/or RINGBUF_F_SPLIT (two files, see
 *        there; opts->consumer_mode).
 *
 * The ring appears under its name only once fully initialised (it is
 * created unnamed and then linked), and never replaces an existing name.
 * Files that shrink.  Unlike ringbuf_new(), a named ring's file cannot be
 * sealed against shrinking: anyone allowed to write it (for a split ring:
 * the producers' user owns `ring`, the consumer's user owns `consumer`)
 * could truncate it under the processes that map it.  So the first handle
 * of a process attached to such a file installs a SIGBUS handler for the
 * process (once; the one installed before it is kept and called for every
 * SIGBUS that is not ours): a fault inside one of this process's ring
 * mappings gets a page of zeros mapped over the missing page, and the
 * access goes on.  The handle is broken from then on: its calls (output,
 * reserve, consume, poll, next) return -EBADMSG, ringbuf_stats() counts the
 * pages in `truncated`, and ringbuf_free() works as usual; records read
 * while the page was being replaced may read as zeros.  Any other SIGBUS
 * is handed to the handler installed before, or kills the process as it
 * would have.  An application that installs its own SIGBUS handler after
 * attaching replaces this guard; it should save ours with sigaction() and
 * call it first.  Protect named rings with their mode all the same.
 *
 * A split ring is made in a private directory and renamed into place, so
 * it too appears whole or not at all.
 *
 * Returns the handle, or NULL with errno: EINVAL (bad name, size, mode or
 * opts), EEXIST (the name exists), ENOMEM, EACCES, or the errno of
 * open/ftruncate/mmap/link/rename.  Thread-safe.
 */
RINGBUF_API struct ringbuf *ringbuf_create(const char *name, size_t data_size,
					   const struct ringbuf_opts *opts);

/*
 * ringbuf_open - attach to the ring created under @name.  A consumer resumes
 * from the shared consumer position; after a consumer crash that means the
 * records the dead consumer delivered after it last published its position
 * (at most one consume call's worth, see ringbuf_consume()) are delivered
 * again: at least once across a consumer crash.
 *
 * Returns the handle, or NULL with errno: EINVAL (bad name or opts, including
 * any opts->flags), ENOENT (no such ring), EACCES (its mode refuses us),
 * EPROTO (the name is not a ringbuf ring -- e.g. a FIFO, socket, device or
 * other non-regular file someone placed there, which is never opened in a
 * way that could block -- or has unknown creation flags, or is a split ring
 * whose `consumer` file is missing or another ring's), ELOOP (a symbolic
 * link at the name: never followed),
 * EPROTONOSUPPORT (a ring of another layout version), EBUSY
 * (opts->role is RINGBUF_ROLE_CONSUMER and another live process holds the
 * consumer role), ENOMEM, or the errno of open/fstat/mmap.  Thread-safe.
 */
RINGBUF_API struct ringbuf *ringbuf_open(const char *name, const struct ringbuf_opts *opts);

/*
 * ringbuf_unlink - remove the name (a split ring's directory with its
 * files); processes that have the ring open keep using it.  A split ring is
 * removed wholly or not at all: a directory holding anything besides its
 * two files is left as it is (-ENOTEMPTY), and nothing hidden stays
 * behind.  Returns 0, or -EINVAL (bad name), -ENOENT, -EACCES/-EPERM,
 * -ENOTEMPTY.
 */
RINGBUF_API int ringbuf_unlink(const char *name);

/*
 * Names.  A named ring NAME lives at /dev/shm/ringbuf.NAME: a file, or, for
 * a split ring, a directory holding its `ring` and `consumer` files.  A
 * name is 1 to RINGBUF_NAME_MAX characters of [A-Za-z0-9._-], not starting
 * with '.'.  Tools that show or address named rings ask the library with
 * the calls below instead of re-deriving these rules.
 */
#define RINGBUF_NAME_MAX 200

/* struct ringbuf_name_info.kind */
#define RINGBUF_NAME_FILE  1U /* a ring in one file */
#define RINGBUF_NAME_SPLIT 2U /* a split ring's directory */

struct ringbuf_name_info {
	size_t sz;           /* sizeof(struct ringbuf_name_info) */
	uint32_t kind;       /* RINGBUF_NAME_*; 0 when the name does not exist */
	char path[256];      /* the name's path: /dev/shm/ringbuf.NAME */
	char ring_path[256]; /* the file producers map: path, or path/ring for
			      * a split ring (e.g. to find them in /proc/PID/maps) */
};

/*
 * ringbuf_name_info - where the named ring @name lives and what kind it is.
 * Fills @info (set info->sz first) whenever @name is a valid name, also when
 * nothing exists under it.  Looks at the name itself (lstat), opens nothing.
 *
 * Returns 0, or -EINVAL (NULL or invalid @name, NULL @info or info->sz too
 * small), -ENOENT (a valid name with nothing under it; @info is filled,
 * kind 0), -EPROTO (something that is neither a file nor a directory, or a
 * symbolic link, is under the name), or the errno of lstat().  Any role,
 * thread-safe, no handle needed.
 */
RINGBUF_API int ringbuf_name_info(const char *name, struct ringbuf_name_info *info);

/* Called by ringbuf_list() once per name.  @name is the ring's name (the
 * part after "ringbuf."), exactly as found in the directory: it may hold
 * any byte but '/' when @err is -EINVAL, so escape it before printing.
 * A nonzero return stops the listing and is returned by ringbuf_list(). */
typedef int (*ringbuf_name_fn)(void *ctx, const char *name, int err);

/*
 * ringbuf_list - call @fn for every named ring in /dev/shm, in byte order of
 * the names: @err is 0 for a valid name, -EINVAL for a name this library
 * would refuse (so a listing can show it, not hide it).  The library's own
 * hidden entries (names starting with '.') are not listed.
 *
 * Returns 0, @fn's first nonzero return, -EINVAL (NULL @fn), -ENOMEM, or the
 * errno of opening or reading the directory.  Thread-safe.
 */
RINGBUF_API int ringbuf_list(ringbuf_name_fn fn, void *ctx);

/*
 * ringbuf_fd - the ring's file descriptor (for a ringbuf_new() ring, to pass
 * to other processes over SCM_RIGHTS for ringbuf_from_fd(); for a kernel
 * map, the map fd, e.g. for epoll).  Owned by the handle: do not close it.
 * Returns the fd, or -EINVAL (errno EINVAL) for a NULL handle.
 */
RINGBUF_API int ringbuf_fd(const struct ringbuf *rb);

/*
 * ringbuf_free - unmap the ring and close the handle's fd.  NULL is a no-op.
 * No other thread of this process may be using @rb, and samples reserved
 * through it must have been submitted or discarded (they become unreachable
 * otherwise).  The ring itself lives on while other processes map it.
 * Called from a callback of @rb's own consume or poll, it does nothing and
 * sets errno to EBUSY (the loop that called the callback still uses @rb).
 */
RINGBUF_API void ringbuf_free(struct ringbuf *rb);

/* ------------------------------------------------------------------------
 * Kernel maps.  The same handle type serves kernel BPF ring buffers: a
 * BPF_MAP_TYPE_RINGBUF map gives a consumer handle (consume, consume_n,
 * poll, query; the kernel's BPF programs produce), a BPF_MAP_TYPE_USER_RINGBUF
 * map a producer handle (reserve, reserve_wait, submit, discard, output,
 * query; a BPF program drains it with bpf_user_ringbuf_drain()).  Calling a
 * function of the other role gives -EOPNOTSUPP.  ringbuf_fd() returns the
 * map fd; ringbuf_free() closes the handle's own copy of it.
 *
 * Kernel RINGBUF handles publish consumer_pos once per consume call, not
 * per record as libbpf does, and keep the kernel's wakeup contract.  A
 * USER_RINGBUF is written only as the kernel accepts (8-byte aligned
 * producer_pos, lengths within producer_pos - consumer_pos, no record larger
 * than the ring).  The kernel's map has no lock for user space, so
 * ringbuf's producers -- threads, handles and processes alike -- take one
 * of their own, struct ringbuf_shm_producer's user_lock in the map's
 * producer page, around each reservation: any number of them may produce
 * into one map, and none loses a record to another.  A holder that exits
 * is robbed (lock_steals); a live one is waited for at most a second
 * (-EAGAIN).  Producers that do not take that lock (libbpf's
 * user_ring_buffer) must not share a map with ringbuf's.
 * Wakeup flags on USER_RINGBUF commits are ignored (the BPF program decides
 * when to drain).  Overwrite-mode maps (BPF_F_RB_OVERWRITE) are refused
 * with EOPNOTSUPP for now.
 * ------------------------------------------------------------------------ */

/*
 * ringbuf_map_open - attach to the kernel map behind @map_fd (duplicated;
 * the caller keeps @map_fd).  ringbuf_map_open_pinned() opens a map pinned
 * in bpffs at @path, ringbuf_map_open_id() the map with id @map_id (needs
 * CAP_SYS_ADMIN, as bpftool does).
 *
 * Returns the handle, or NULL with errno: EBADF (@map_fd not open), EINVAL
 * (bad opts, NULL @path), EMEDIUMTYPE (not a BPF map, or a map of another
 * type), EPROTO (a size the kernel would not create), EOPNOTSUPP (an
 * overwrite-mode map), ENOENT (no such pinned path or id), EPERM/EACCES (not
 * permitted), or the errno of bpf(2), epoll or mmap.  Thread-safe.
 */
RINGBUF_API struct ringbuf *ringbuf_map_open(int map_fd, const struct ringbuf_opts *opts);
RINGBUF_API struct ringbuf *ringbuf_map_open_pinned(const char *path,
						     const struct ringbuf_opts *opts);
RINGBUF_API struct ringbuf *ringbuf_map_open_id(uint32_t map_id, const struct ringbuf_opts *opts);

/* ------------------------------------------------------------------------
 * Producer API: the BPF helpers' semantics.  Lock-free with respect to the
 * consumer; among producers a reservation takes a short lock (a few
 * instructions, no system call), recovered automatically if its holder
 * process dies.  Safe from any thread of any process that maps the ring.
 *
 * Signal handlers.  ringbuf_output(), ringbuf_reserve(), ringbuf_submit(),
 * ringbuf_discard() and ringbuf_query() are async-signal-safe, on ringbuf
 * rings and kernel USER_RINGBUF maps, in futex and fd mode: a handler may
 * produce, as a BPF program may in NMI.  A handler that interrupted its own
 * thread inside a reservation on the same ring (which may hold the lock)
 * is refused at once, -EAGAIN (NULL/EAGAIN from ringbuf_reserve()),
 * counted in ringbuf_stats' refused_nested -- as the kernel fails a
 * reservation it cannot lock in NMI -- and never waits for that thread.  A
 * wakeup a handler's commit owes is never lost: if the interrupted thread
 * holds the wakeup connection, the handler leaves the wakeup owed and that
 * thread sends it before it returns.  A handler that interrupted another
 * ring's reservation, or none, is an ordinary call.  A handler call does
 * no more than an ordinary one: at most a wakeup system call, and a wait
 * only for another thread or process holding the lock (bounded by the
 * second above).  Producing into a ring from a handler while its thread
 * is inside the ring's consumer calls is fine; the consumer calls
 * themselves are not async-signal-safe.
 * ------------------------------------------------------------------------ */

/*
 * ringbuf_output - copy @size bytes from @data into a new record and commit
 * it (bpf_ringbuf_output).  @flags: 0 (adaptive wakeup), RINGBUF_NO_WAKEUP
 * or RINGBUF_FORCE_WAKEUP.
 *
 * Checks run in this order, the first failure deciding the error.
 * Returns 0, or: -EINVAL (NULL @rb, NULL @data with @size > 0, or a flag bit
 * other than the two above), -E2BIG (the record can never fit: @size >
 * UINT32_MAX/4, or round_up(@size + 8, 8) >= the data size), -EAGAIN (no room
 * now; the kernel returns -EAGAIN for every reservation failure, ringbuf
 * tells "never" from "not now"; also when the reservation lock has been
 * held by a live process, e.g. a stopped one, for over a second), -EBADMSG (a
 * peer corrupted the shared producer_pos/pending_pos, or the ring's file
 * shrank under this process: see ringbuf_create(); nothing was written), -EOPNOTSUPP (a consumer
 * handle of a kernel RINGBUF map), -EBUSY (a single-producer ring claimed
 * by another thread, handle or live process: RINGBUF_F_SINGLE_PRODUCER).
 * A producer killed inside the call leaves no record, or a BUSY one that
 * the consumer recovers as a discard (ringbuf_consume()), or -- for the
 * records written whole, 8 to 16 bytes or any size by a single-producer
 * ring's claimant, which are never BUSY -- a complete one.  On a kernel
 * USER_RINGBUF, -E2BIG only
 * when round_up(@size + 8, 8) is larger than the ring: the kernel lets that
 * ring fill completely.
 */
RINGBUF_API long ringbuf_output(struct ringbuf *rb, const void *data, uint64_t size,
				uint64_t flags);

/*
 * ringbuf_reserve - reserve a record of @size bytes (bpf_ringbuf_reserve).
 * @flags must be 0.  The record is BUSY -- the consumer waits at it -- until
 * ringbuf_submit() or ringbuf_discard(), which the caller must call exactly
 * once, from the process that reserved it (the record belongs to that
 * process: if it exits first, a consumer turns the record into a discard,
 * even if a fork()ed child still holds the pointer; the child must not
 * commit it then).
 *
 * Returns a pointer to @size writable bytes, 8-byte aligned and contiguous
 * (never split at the end of the ring), or NULL with errno EINVAL (NULL @rb
 * or @flags != 0), E2BIG, EAGAIN or EBADMSG as for ringbuf_output().
 */
RINGBUF_API void *ringbuf_reserve(struct ringbuf *rb, uint64_t size, uint64_t flags);

/*
 * ringbuf_submit / ringbuf_discard - commit a reserved record, making it
 * visible to the consumer, or mark it discarded (the consumer skips it; its
 * space is freed when the consumer passes it).  Work from the sample pointer
 * alone, as the helpers do: the ring is found through this process's own
 * table of mappings, never through the header's pg_off field.  @flags: the
 * wakeup flags of ringbuf_output(); other bits are ignored, as in the
 * kernel.  Never block.
 *
 * @sample must be a pointer returned by ringbuf_reserve() and not yet
 * committed, as free() needs a pointer from malloc().  What is checked: a
 * pointer outside every ring this process maps, misaligned, or whose header
 * is not BUSY (e.g. committed twice) is ignored with errno EINVAL, and no
 * pointer ever makes ringbuf write outside the ring.  An 8-byte-aligned
 * pointer into the middle of an outstanding record cannot be told from a
 * sample without walking the ring, so, as in the kernel (where the verifier
 * forbids it), it corrupts that record.
 */
RINGBUF_API void ringbuf_submit(void *sample, uint64_t flags);
RINGBUF_API void ringbuf_discard(void *sample, uint64_t flags);

/*
 * Counters of a ringbuf ring, kept in its shared memory, so they cover every
 * process using the ring.  Set sz to sizeof(struct ringbuf_stats); fields
 * past sz are not written, so the struct can grow.
 */
struct ringbuf_stats {
	size_t sz;
	uint64_t reserved;        /* reservations made (output and reserve) */
	uint64_t reserved_bytes;  /* their payload bytes */
	uint64_t discarded;       /* records committed as discarded */
	uint64_t refused_full;    /* reservations refused for lack of room (-EAGAIN) */
	uint64_t refused_too_big; /* reservations that could never fit (-E2BIG) */
	uint64_t refused_flags;   /* calls refused for bad flags (-EINVAL) */
	uint64_t wakeups;         /* wakeup system calls made by producers */
	uint64_t lock_steals;     /* reservation locks taken over from exited holders */
	uint64_t ring_size;       /* data bytes */
	uint64_t avail_data;      /* producer_pos - consumer_pos now */
	uint64_t consumer_pos;
	uint64_t producer_pos;
	uint32_t consumer_pid;    /* process holding the consumer role, 0 if none */
	uint32_t _pad;
	uint64_t flags;           /* the ring's creation flags (RINGBUF_F_OVERWRITE,
				   * RINGBUF_F_SPLIT, RINGBUF_F_SINGLE_PRODUCER) */
	uint64_t overwrite_pos;
	uint64_t overwritten;     /* overwrite mode: records (not discarded) that
				   * producers overwrote, read by the consumer or not */
	uint64_t lost;            /* overwrite mode: those the consumer never got */
	uint64_t recovered;       /* BUSY records of dead producers turned into
				   * discards (not in discarded): by the
				   * consumer, or, in a split ring whose
				   * consumer cannot write the data, by the
				   * next reservation at its request */
	uint64_t refused_nested;  /* reservations refused (-EAGAIN) because a
				   * signal handler made them while its own
				   * thread was reserving on the same ring (for
				   * a kernel map: by this handle only) */
	uint64_t truncated;       /* pages of this handle's mapping that were
				   * gone when touched, because someone shrank
				   * the ring's file: each was replaced by a
				   * page of zeros, and the handle's calls
				   * return -EBADMSG from then on (this
				   * process only; see "Files that shrink") */
};

/*
 * ringbuf_stats - read the counters and positions of @rb into @out.
 * In overwrite mode avail_data is producer_pos - max(consumer_pos,
 * overwrite_pos), and every record a producer commits is eventually
 * delivered, discarded, or counted in lost (exactly, unless a producer died
 * inside a reservation: then lost may count that reservation's overwritten
 * records although they were delivered).
 * Committed-but-not-discarded records are reserved - discarded - recovered
 * minus those still BUSY (a producer killed inside the reservation lock,
 * between publishing producer_pos and counting, leaves reserved one short).
 * The reservation counters are updated under the reservation
 * lock (no extra cost per record), the others atomically; a reading is a
 * snapshot, not a transaction.  For a kernel map handle, only the sizes and
 * positions are filled (the kernel keeps no such counters), and, for a
 * USER_RINGBUF map, this handle's lock_steals and refused_nested.
 *
 * Returns 0, or -EINVAL (NULL @rb or @out, or out->sz smaller than the
 * first field).  Any role, any thread, any process.
 */
RINGBUF_API int ringbuf_stats(struct ringbuf *rb, struct ringbuf_stats *out);

/*
 * ringbuf_query - an unsynchronised snapshot (bpf_ringbuf_query).
 * @what: RINGBUF_AVAIL_DATA (producer_pos - consumer_pos; it may momentarily
 * exceed the ring size; in overwrite mode producer_pos - max(consumer_pos,
 * overwrite_pos), as the kernel computes it), RINGBUF_RING_SIZE,
 * RINGBUF_CONS_POS, RINGBUF_PROD_POS, RINGBUF_OVERWRITE_POS (the position
 * the consumer may read from at the earliest; 0 for a ring not in
 * overwrite mode, as the kernel's field), RINGBUF_RING_ID (a ringbuf
 * ring's 64-bit random identity, chosen at creation and the same for every
 * handle and process on it, never 0; a kernel map's map id): with a
 * record's position (struct ringbuf_record.pos) it names the record
 * uniquely, e.g. to deduplicate what a forwarder sends again after a
 * restart.  Returns 0 for any other selector or a NULL @rb.
 * Any role, any thread; async-signal-safe (loads only).
 */
RINGBUF_API uint64_t ringbuf_query(struct ringbuf *rb, uint64_t what);

/*
 * ringbuf_reserve_wait - ringbuf_reserve() that waits for room.
 * @timeout_ms: -1 waits for ever, 0 tries once.
 *
 * On a kernel USER_RINGBUF map it sleeps in epoll until the kernel's drain
 * frees space (EPOLLOUT); on a ringbuf ring, whose consumer sends producers
 * no notifications, it backs off with short sleeps (50 us growing to 1 ms).
 * Returns the sample, or NULL with errno EINVAL (NULL @rb, timeout below
 * -1), E2BIG (can never fit), EAGAIN (still no room at the timeout),
 * EBADMSG or EOPNOTSUPP as for ringbuf_reserve().  Producer role, any
 * thread.
 */
RINGBUF_API void *ringbuf_reserve_wait(struct ringbuf *rb, uint64_t size, int timeout_ms);

/* ------------------------------------------------------------------------
 * Consumer API: one consumer per ring (one thread at a time, in one process
 * at a time).  Wait-free with respect to producers, except ringbuf_poll()
 * which sleeps by design.
 * ------------------------------------------------------------------------ */

/*
 * Called once per committed record, in order.  @data points into the ring
 * (zero-copy) and is valid until the callback returns: once it returns, the
 * consumer may publish its position past the record and producers may
 * overwrite it.  A negative return stops consumption and is returned to the
 * caller; other values are ignored.
 *
 * Overwrite mode (RINGBUF_F_OVERWRITE): producers may overwrite a record
 * while the consumer reads it, so the consumer copies each record into a
 * buffer of its handle, then checks that overwrite_pos has not passed the
 * record's start; only a record proven intact is delivered.  @data then
 * points to that private copy (writable, aligned as malloc() aligns, valid
 * until the callback returns), never into the ring; the callback may
 * assume the bytes are exactly what the producer committed.  Records are
 * still delivered in order, but with gaps: those overwritten before the
 * consumer got to them are skipped and counted (struct ringbuf_stats.lost).
 */
typedef int (*ringbuf_sample_fn)(void *ctx, void *data, size_t size);

/*
 * ringbuf_consume - deliver every committed record, in order, skipping
 * discarded ones and stopping at the first BUSY one (later records wait
 * behind it, as in the kernel).  The consumer position is published once
 * per call (and every quarter ring while draining a large backlog), not per
 * record; a consumer killed in between has its unpublished records
 * delivered again to the next consumer (ringbuf_open()).
 *
 * Dead producers (ringbuf rings only): once the same BUSY record has stood
 * at the consumer position for the handle's bound (ringbuf_opts.recover_ms,
 * default RINGBUF_RECOVER_DEFAULT_MS), consume checks whether the process
 * that reserved it (its pid is in the BUSY header's pg_off) has exited,
 * and again every bound/8 (1 to 100 ms) while it lives; a dead owner's
 * record is turned into a discard, counted in ringbuf_stats.recovered, and
 * consumption goes on past it.  Other BUSY records of an owner found dead
 * are checked at once.  A live owner -- running, slow, or stopped with
 * SIGSTOP -- is never judged dead, nor is pid 0 or an impossible pid; a
 * pid reused by a new process keeps the record waiting until that process
 * exits too.  The bound counts from the first consume or poll call that
 * finds the record at the head.  Producers need no such check: a dead
 * record blocks them only while it blocks the consumer.  Rings shared
 * across pid namespaces would misjudge owners; set RINGBUF_RECOVER_NEVER
 * there.
 *
 * Returns the number of records delivered (capped at INT_MAX); or the
 * callback's negative return, which stops consumption with the consumer
 * position already past that record (as in libbpf); or -EINVAL (NULL @rb or
 * @fn); or -EBUSY when called from a callback of the same handle's consume
 * or poll (ringbuf_consume_n() and ringbuf_poll() too, and ringbuf_next():
 * re-entry would deliver records twice; nothing is changed); or -EBADMSG if
 * the ring's file shrank under this process (see ringbuf_create(): "Files
 * that shrink") or its shared state is corrupt (a misaligned
 * position, producer_pos more than one ring ahead, or a record header whose
 * length runs past producer_pos), in which case nothing past the last good
 * record is delivered or consumed; or, in overwrite mode, -ENOMEM (no
 * memory for the copy of a record).  In overwrite mode the consumer starts
 * from max(consumer_pos, overwrite_pos), may be any distance behind
 * producer_pos, and skips the records overwritten in the meantime (see
 * ringbuf_sample_fn).
 */
RINGBUF_API int ringbuf_consume(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx);

/* ringbuf_consume_n - as ringbuf_consume(), delivering at most @n records
 * (@n == 0 delivers nothing and returns 0). */
RINGBUF_API int ringbuf_consume_n(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx,
				  size_t n);

/*
 * The pull reader: take records one by one as pointers into the ring, then
 * commit once -- cilium/ebpf's lease reader, aya's next().
 *
 *	struct ringbuf_record r;
 *	while (ringbuf_next(rb, &r) > 0)
 *		handle(r.data, r.size);     // r.data stays valid until the commit
 *	ringbuf_commit(rb);                 // consumer_pos moves past them all
 */
struct ringbuf_record {
	void *data;         /* the record's payload, in the ring (zero-copy) */
	size_t size;        /* its bytes */
	uint64_t pos;       /* its position: the offset of its header in the
			     * ring's stream of bytes (consumer_pos when it is
			     * the head); unique within the ring, see
			     * RINGBUF_RING_ID */
	uint64_t remaining; /* bytes committed or reserved after it when it
			     * was taken (producer_pos - its end) */
};

/*
 * ringbuf_next - take the next committed record without moving the consumer
 * position: the record and every one taken before it stay in the ring,
 * safe from producers (their room is counted from consumer_pos), until
 * ringbuf_commit().  Discarded records are skipped; a BUSY record stops the
 * taking as it stops ringbuf_consume() (later records wait behind it), and
 * a dead producer's record is recovered as ringbuf_consume() recovers it.
 * Never waits: to wait, ringbuf_epoll_fd() (or ringbuf_poll() with a
 * callback).  The first call after a commit (or the first ever) starts from
 * the shared consumer position.
 *
 * Returns 1 and fills @rec; 0 if no committed record follows the last
 * taken one (nothing is filled); -EINVAL (NULL @rb or @rec); -EOPNOTSUPP
 * for a producer-role handle, a USER_RINGBUF map, or a ring in overwrite
 * mode (a producer may overwrite a record the consumer has not committed
 * past, so no pointer into the ring can be leased: use the callback
 * consumer, which copies); -EBUSY if another live process holds the
 * consumer role; -EBADMSG if the ring's shared state is corrupt (as
 * ringbuf_consume()).
 *
 * Consumer role, one thread at a time (as every consumer call).  A
 * callback consume or poll on the handle ends the lease without committing:
 * it starts again from the committed position, so records taken and not
 * committed are delivered again.  A consumer that dies holding a lease
 * loses nothing: the next consumer gets those records again.
 */
RINGBUF_API int ringbuf_next(struct ringbuf *rb, struct ringbuf_record *rec);

/*
 * ringbuf_commit - publish the consumer position past every record taken
 * with ringbuf_next() since the last commit (and the discarded ones between
 * them); their pointers are then no longer valid.  A commit with nothing
 * taken is a no-op.  In fd mode it re-arms the wakeup as consuming does.
 *
 * Returns the number of records the commit released (0 if none), or
 * -EINVAL for a NULL @rb.  Consumer role, the thread that took them.
 */
RINGBUF_API int ringbuf_commit(struct ringbuf *rb);

/*
 * ringbuf_poll - wait for a notification, then consume.
 * @timeout_ms: -1 waits for ever, 0 does not wait.
 *
 * If a committed record is already waiting at the consumer position, or a
 * forced notification arrived since the last poll and the ring is not empty
 * (a BUSY record counts, as for the kernel's EPOLLIN), it consumes at once.
 * Otherwise it sleeps until a producer sends a notification -- adaptive
 * (flags 0: the record committed is the one the consumer is waiting at) or
 * forced (RINGBUF_FORCE_WAKEUP) -- or until the timeout passes, and then
 * consumes whatever is committed (so a timeout doubles as a periodic drain).
 * Records committed with RINGBUF_NO_WAKEUP, or adaptively while the
 * consumer is behind (e.g. waiting at a BUSY record), do not wake a sleeping
 * consumer: the kernel's rules.  Producers make a system call only when the
 * consumer is actually asleep.  EINTR is retried internally; a BUSY record
 * at the head does not make poll spin (unlike EPOLLIN on a kernel ring),
 * but while one is there poll wakes for the dead-producer checks of
 * ringbuf_consume(), so a record whose owner died is recovered without a
 * notification, and poll returns once it has recovered one.  With a
 * watermark (ringbuf_set_watermark()), "a committed record waiting" also
 * needs that many bytes pending.  On a handle in fd mode
 * (ringbuf_epoll_fd()) it waits on the handle's wakeup socket instead of
 * the futex, by the same rules.
 *
 * Coalescing: a consumer looping on ringbuf_poll() against a fast producer
 * would take a few records per call and chase it, both cores fighting over
 * the same lines.  So when calls keep returning small batches (under 64
 * records) without having to sleep, the next call first naps -- 20 us,
 * doubling per small batch up to 200 us -- so the producer gets ahead and
 * the consumer takes large batches.  Bounds: never once an eighth of the
 * ring is pending, never past the timeout, never with timeout 0 or a
 * watermark; a call that slept for records longer than 400 us (a slow or
 * idle producer) or returned nothing or an error turns it off, so a lone
 * record to a sleeping consumer pays nothing.  Under sustained load a
 * record may thus wait up to 200 us longer; producers' rules are
 * untouched.  (The benchmark's 1p1c-default row against 1p1c-tuned shows
 * what it gains, the lat-* rows what a sleeping consumer pays.)
 *
 * Dead producers: a producer that dies holding the head after the consumer
 * went to sleep leaves records behind it that wake nobody (adaptive commits
 * notify only a consumer waiting at them).  So a sleep lasts at most the
 * handle's recover_ms (default 1 s; unbounded with RINGBUF_RECOVER_NEVER)
 * before poll looks at the head again -- an idle consumer makes one futex
 * or poll call per recover_ms -- and such records are delivered within
 * about twice recover_ms.
 *
 * Returns what ringbuf_consume() returns (0 after a timeout with nothing to
 * deliver, or after recovering a record with nothing committed behind it),
 * or -EINVAL for a NULL @rb or @fn, or -ECANCELED if ringbuf_interrupt() was
 * called since the last poll returned (consuming nothing; the records stay
 * for the next call).
 */
RINGBUF_API int ringbuf_poll(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx,
			     int timeout_ms);

/*
 * ringbuf_interrupt - make a ringbuf_poll() blocked in another thread on
 * this handle return at once with -ECANCELED, as cilium/ebpf's Flush/Close wake
 * a blocked Read.  If no poll is blocked, the next ringbuf_poll() returns
 * -ECANCELED at once instead (one pending interrupt, however many calls made
 * it).  Nothing is consumed or lost: the interrupted poll delivers nothing,
 * and the records wait for the next call.  In fd mode the handle's
 * ringbuf_epoll_fd() turns readable too (an application blocked in its own
 * epoll_wait() wakes; its consume then delivers what there is).  A kernel
 * RINGBUF map's ringbuf_poll() is woken through an eventfd of the handle;
 * its ringbuf_epoll_fd() is the map's own fd, which the interrupt does not
 * touch.  Producers pay nothing: nothing on their path changes.
 *
 * Any thread, any role of the consumer's process, concurrently with the
 * consumer's calls (not with ringbuf_free()).  Not async-signal-safe (it
 * may yield until a poller it finds on its way to sleep is awake).
 * Returns 0, -EINVAL for a NULL @rb, or -EOPNOTSUPP for a USER_RINGBUF
 * map (there is no consumer to wake).
 */
RINGBUF_API int ringbuf_interrupt(struct ringbuf *rb);

/*
 * ringbuf_epoll_fd - a file descriptor for the application's own event loop
 * (as libbpf's ring_buffer__epoll_fd): it polls readable (EPOLLIN) when a
 * notification for @rb fires, under the rules of ringbuf_poll() and the
 * watermark.  Owned by the handle: do not close it or read from it.
 *
 * For a ringbuf ring, the first call puts the handle in fd mode: it binds a
 * unix datagram socket to an abstract name (no file anywhere) made of 128
 * random bits drawn for each bind, and stores those bits in the ring's
 * consumer page (wake_key), where its producers read them: only those who
 * may read the ring learn the name before it is bound, so no other local
 * user can predict or occupy it; the name goes with the socket, a killed
 * consumer leaves nothing.  Once bound, the name is listed in
 * /proc/net/unix like every abstract name: anyone in the network namespace
 * may then send to it, which is a spurious wakeup, never a record (the
 * consumer drains at most 256 datagrams per call).  From then on the
 * consumer counts as waiting whenever it has drained the ring: each
 * ringbuf_consume()/consume_n()/poll() empties the socket first and re-arms
 * at its end (and makes the fd readable itself if records are left or
 * arrived meanwhile), so the fd is readable exactly while a notification is
 * owed.  A producer that finds the consumer armed sends one datagram
 * (connecting lazily, once per handle, MSG_NOSIGNAL: never SIGPIPE); a
 * producer that finds it running makes no system call.  ringbuf_poll() on
 * an fd-mode handle waits on the socket.  ringbuf_free() of the handle
 * removes the name; ringbuf_unlink() also removes a name left by a consumer
 * that was killed.  The consumer owns the name, with the ring file's mode
 * bits; for a split ring whose `ring` file belongs to another user who may
 * write it (the producers'), "other" may also write the name, so their
 * datagrams arrive (anyone can then ring this doorbell: a spurious wakeup,
 * never a record).  Not supported: producers in another mount namespace
 * (another /dev/shm), or of another user without write permission on the
 * name (e.g. a 0600 ring in one file shared by two users through group
 * bits the consumer cannot give); their wakeups are lost, and the
 * consumer's poll timeout bounds the delay.  Likewise no
 * event announces that a producer died holding the record at the head: an
 * event loop that waits on the fd should use a timeout (ringbuf_poll() on
 * the handle bounds its own wait) so that consume gets to recover it.
 *
 * For a kernel BPF_MAP_TYPE_RINGBUF map it returns the map fd, which the
 * kernel reports readable while producer_pos != consumer_pos (so also while
 * a BUSY record sits at the head, as in libbpf).
 *
 * Returns the fd, or -EINVAL (NULL @rb), -EOPNOTSUPP (a producer-role
 * handle or a USER_RINGBUF map), -EBUSY (another handle holds the consumer
 * role), -EEXIST (the name is taken by a file of another user or another
 * type), or the errno of fstat/socket/bind/rename.  Consumer role.
 */
RINGBUF_API int ringbuf_epoll_fd(struct ringbuf *rb);

/*
 * ringbuf_set_watermark - wake the consumer only once @bytes are pending
 * (producer_pos - consumer_pos >= @bytes), as a perf buffer's
 * wakeup_watermark.  0 (the default) restores the kernel's adaptive rule.
 * With a watermark, a commit with flags 0 wakes a waiting consumer only if
 * that much is pending, RINGBUF_FORCE_WAKEUP still always wakes it, and
 * ringbuf_poll() does not sleep while a committed record waits at the head
 * with that much pending; below it, the consumer sleeps until its
 * timeout, so the timeout bounds the latency of a quiet stream.  The value
 * lives in the ring's consumer page: it holds for every process until
 * changed.
 *
 * Returns 0, or -EINVAL (NULL @rb, or @bytes larger than data_size - 8,
 * which a ring can never hold), -EOPNOTSUPP (a producer-role handle or a
 * kernel map), -EBUSY (another handle holds the consumer role).  Consumer
 * role.
 */
RINGBUF_API int ringbuf_set_watermark(struct ringbuf *rb, uint64_t bytes);

/* ------------------------------------------------------------------------
 * Several rings, one wait (libbpf's ring_buffer__new/add/poll/consume/
 * consume_n/epoll_fd).  The manager holds an epoll instance over the
 * rings' ringbuf_epoll_fd()s; each ring keeps its own callback and context.
 * It works over ringbuf rings and kernel BPF_MAP_TYPE_RINGBUF maps alike.
 * It does not own the rings: free it before them.  A manager is used by
 * one thread at a time, the consumer of all its rings.
 * ------------------------------------------------------------------------ */

struct ringbuf_manager;

/*
 * ringbuf_manager_new - an empty manager.  @opts may be NULL (it is a
 * struct ringbuf_opts for growth; no field applies yet, all must be 0
 * except sz).  Returns the manager, or NULL with errno EINVAL (bad opts),
 * ENOMEM, or the errno of epoll_create1.
 */
RINGBUF_API struct ringbuf_manager *ringbuf_manager_new(const struct ringbuf_opts *opts);

/*
 * ringbuf_manager_add - serve @rb with @fn(@ctx, ...).  Calls
 * ringbuf_epoll_fd(@rb) (a ringbuf ring goes to fd mode); the next poll
 * serves the ring, including records it already holds.
 * Returns 0, or -EINVAL (NULL @m, @rb or @fn), -EEXIST (@rb is already
 * added), -ENOMEM, or what ringbuf_epoll_fd() or epoll_ctl returns (e.g.
 * -EOPNOTSUPP for a producer handle or a USER_RINGBUF map).
 */
RINGBUF_API int ringbuf_manager_add(struct ringbuf_manager *m, struct ringbuf *rb,
				    ringbuf_sample_fn fn, void *ctx);

/*
 * ringbuf_manager_poll - one epoll_wait() over all rings (@timeout_ms: -1
 * for ever, 0 no wait), then consume each ring it reported, with its
 * callback.  Returns the total number of records delivered (capped at
 * INT_MAX; 0 after a timeout), or the first error, libbpf-style: a
 * callback's negative return or a ring's consume error stops at that ring
 * (records already delivered from earlier rings are not counted in the
 * return), -EINTR if a signal interrupted the wait (as libbpf, so a
 * loop can check a flag its signal handler set), -ECANCELED if
 * ringbuf_manager_interrupt() was called (nothing consumed), -EINVAL (NULL
 * @m).
 */
RINGBUF_API int ringbuf_manager_poll(struct ringbuf_manager *m, int timeout_ms);

/*
 * ringbuf_manager_interrupt - make a ringbuf_manager_poll() blocked in
 * another thread return at once with -ECANCELED (a signal gives -EINTR),
 * or the next one if none is blocked (one pending interrupt however many
 * calls made it); the
 * manager's epoll fd turns readable until that poll takes it.  Nothing is
 * consumed or lost.  Any thread, concurrently with ringbuf_manager_poll()
 * (not with ringbuf_manager_free()).  Returns 0, -EINVAL for a NULL @m, or
 * an errno of write(2) on the manager's eventfd.
 */
RINGBUF_API int ringbuf_manager_interrupt(struct ringbuf_manager *m);

/*
 * ringbuf_manager_remove - stop serving @rb: its epoll registration is
 * dropped and the rings after it keep their order.  @rb stays open (and in
 * fd mode); once removed it may be freed while the manager lives.  From
 * a callback of this manager's poll or consume only the ring added last
 * may be removed (-EBUSY for the others).  Returns 0,
 * or -EINVAL (NULL @m or @rb), -ENOENT (@rb is not in the manager),
 * -EBUSY.  Since 0.5.
 */
RINGBUF_API int ringbuf_manager_remove(struct ringbuf_manager *m, struct ringbuf *rb);

/* ringbuf_manager_consume - consume every ring, in the order they were
 * added, without waiting.  Returns as ringbuf_manager_poll(). */
RINGBUF_API int ringbuf_manager_consume(struct ringbuf_manager *m);

/* ringbuf_manager_consume_n - as ringbuf_manager_consume(), delivering at
 * most @n records in total (earlier rings first). */
RINGBUF_API int ringbuf_manager_consume_n(struct ringbuf_manager *m, size_t n);

/* ringbuf_manager_epoll_fd - the manager's epoll fd, readable when any ring
 * has a notification: nest it in another event loop.  Owned by the
 * manager.  Returns the fd, or -EINVAL for a NULL @m. */
RINGBUF_API int ringbuf_manager_epoll_fd(const struct ringbuf_manager *m);

/* ringbuf_manager_free - close the epoll instance; the rings stay open (and
 * in fd mode).  NULL is a no-op. */
RINGBUF_API void ringbuf_manager_free(struct ringbuf_manager *m);

/*
 * ringbuf_peek - read the record at *@pos without consuming it: an observer
 * beside the real consumer (e.g. `ringbuf tail --peek` on a kernel map
 * that an application consumes).  Nothing in the ring is written or
 * claimed, so any handle may peek: a producer-role handle of a ringbuf
 * ring, a kernel RINGBUF map's handle.  Start with *@pos =
 * ringbuf_query(@rb, RINGBUF_PROD_POS) (from now on) or RINGBUF_CONS_POS
 * (what waits); each call copies the next committed record at *@pos into
 * @buf and moves *@pos past it (discarded records are skipped).  Records
 * are not held for the observer: if producers wrote over *@pos (the real
 * consumer had passed it and they came a whole ring further), it resumes
 * at consumer_pos and adds the bytes it skipped to *@missed (if not NULL)
 * -- a copy is returned only if no producer could have written over it
 * while it was made.
 * Returns 1 (a record: *@size bytes in @buf), 0 (nothing committed at
 * *@pos yet), or -EINVAL (NULL @rb, @pos or @size, NULL @buf with @cap),
 * -ENOBUFS (the record has *@size bytes, more than @cap; *@pos unchanged),
 * -EBADMSG (corrupt positions or header, or the ring's file shrank),
 * -EOPNOTSUPP (a USER_RINGBUF map).  Any thread, one per *@pos; not
 * async-signal-safe.
 */
RINGBUF_API int ringbuf_peek(struct ringbuf *rb, uint64_t *pos, void *buf, size_t cap,
			     uint32_t *size, uint64_t *missed);

/* ------------------------------------------------------------------------
 * Ring sets: many producers, one consumer, N rings
 * ------------------------------------------------------------------------ */

/*
 * A ring set is N ordinary rings of one size used as one object: producers
 * on different CPUs write into different rings, so they do not fight over
 * one reservation lock and one producer_pos (the per-CPU pattern BPF tools
 * build by hand with an ARRAY_OF_MAPS of ring buffers).  Each member is a
 * plain ring, byte for byte (ringbuf_set_ring() hands it out).
 *
 * Placement and order.  A producer thread writes into a ring of the CPU
 * it runs on (cpu % N; with more rings than CPUs, each CPU has N / CPUs
 * rings and its threads are spread over them by thread id).  Order is per producer thread, as in one ring: a
 * thread that moved to another CPU switches to that CPU's ring only once
 * the consumer has consumed everything it wrote into its current ring, so
 * its records are delivered in the order it wrote them; records of
 * different threads have no order between them across rings.  A full ring
 * fails the reservation with -EAGAIN (counted in that ring's refused_full),
 * as one ring does; the record is not put into another ring, which would
 * deliver it before the thread's earlier ones.
 *
 * Sharing.  A set from ringbuf_set_new() is memfd-backed and shared with
 * fork()ed children like a ring; a named set (ringbuf_set_create()) is
 * the rings NAME.0 .. NAME.(N-1) under /dev/shm, each carrying the set's
 * id, N and its index (struct ringbuf_shm_meta set_*, ringbuf_query()
 * RINGBUF_SET_*), opened whole by other processes with ringbuf_set_open().
 *
 * Threads.  The producer calls (ringbuf_set_output(), ringbuf_set_reserve()
 * and ringbuf_submit()/ringbuf_discard() of what it returns) may be made
 * by any number of threads at once; they take no lock (a thread's first
 * call on a set allocates its entry).  They are not async-signal-safe
 * (a handler may use ringbuf_output() on a member).  The consumer calls
 * (consume, poll, epoll_fd, stats) are for one thread at a time, like a
 * ring's.
 */
struct ringbuf_set;

/*
 * ringbuf_set_new - a set of @n rings (1 .. 1024) of @ring_size data bytes
 * each (as ringbuf_new()), memfd-backed.  @opts as for ringbuf_new(), but
 * opts->flags must be 0.  Returns the set, or NULL with errno EINVAL (@n,
 * @ring_size or @opts), ENOMEM, or what ringbuf_new() sets.  Thread-safe.
 */
RINGBUF_API struct ringbuf_set *ringbuf_set_new(unsigned n, size_t ring_size,
						const struct ringbuf_opts *opts);

/*
 * ringbuf_set_create - a named set: rings @name.0 .. @name.(@n-1) (each
 * name checked as ringbuf_create() checks one), created with @opts (mode,
 * role; opts->flags must be 0) last to first, so that @name.0 appears only
 * when the set is whole.  Returns the set, or NULL with errno: EINVAL (bad
 * @name -- it must leave room for ".N" within RINGBUF_NAME_MAX --, @n,
 * @ring_size or @opts), EEXIST (a member's name exists: nothing is left
 * behind), or what ringbuf_create() sets.  Thread-safe.
 */
RINGBUF_API struct ringbuf_set *ringbuf_set_create(const char *name, unsigned n,
						   size_t ring_size,
						   const struct ringbuf_opts *opts);

/*
 * ringbuf_set_open - attach to the named set @name, with @opts as for
 * ringbuf_open() (a consumer-role set claims every member).  Returns the
 * set, or NULL with errno: EINVAL (bad name or opts), EPROTO (@name.0 is
 * no set's first ring, or a member carries another set's id, index or
 * size), or what ringbuf_open() sets for a member (ENOENT, EACCES, EBUSY,
 * ...).  Thread-safe.
 */
RINGBUF_API struct ringbuf_set *ringbuf_set_open(const char *name,
						 const struct ringbuf_opts *opts);

/*
 * ringbuf_set_unlink - remove the named set's rings (@name.0 first, then
 * the members that carry its id; a ring of another origin under a member's
 * name stays).  Processes that have it open keep using it.  Returns 0, or
 * -EINVAL, -ENOENT, -EACCES, -EPROTO (@name.0 is no set's), or what
 * ringbuf_unlink() returns for @name.0.
 */
RINGBUF_API int ringbuf_set_unlink(const char *name);

/*
 * ringbuf_set_output - ringbuf_output() into this thread's ring of the set
 * (see "Placement and order" above).  Returns as ringbuf_output(), or
 * -EINVAL (NULL @s), -ENOMEM (this thread's first call could not allocate
 * its entry).  Producer role, any thread.
 */
RINGBUF_API long ringbuf_set_output(struct ringbuf_set *s, const void *data, uint64_t size,
				    uint64_t flags);

/*
 * ringbuf_set_reserve - ringbuf_reserve() in this thread's ring of the set;
 * commit the record with ringbuf_submit() or ringbuf_discard() as usual.
 * Returns the record, or NULL with errno as ringbuf_reserve(), or EINVAL
 * (NULL @s), ENOMEM.  Producer role, any thread.
 */
RINGBUF_API void *ringbuf_set_reserve(struct ringbuf_set *s, uint64_t size, uint64_t flags);

/*
 * ringbuf_set_consume - consume every ring of the set once, without
 * waiting (each as ringbuf_consume(), starting one ring further each
 * call, so that no ring waits behind a busy one).  Returns the number of
 * records delivered (capped at INT_MAX), or the first error: what
 * ringbuf_consume() returns for a member (records delivered from members
 * before it are not counted), -EINVAL (NULL @s or @fn), -EBUSY (called
 * from a callback of this set's own consume or poll).  Consumer role, one
 * thread at a time.
 */
RINGBUF_API int ringbuf_set_consume(struct ringbuf_set *s, ringbuf_sample_fn fn, void *ctx);

/*
 * ringbuf_set_poll - consume what is there; if nothing was, wait up to
 * @timeout_ms (-1: for ever, 0: not at all) for a notification from any
 * ring, then consume every ring.  The first call puts every member in fd
 * mode (ringbuf_epoll_fd()) and watches them with an epoll instance of the
 * set's own.  Returns the number of records delivered (0 after a timeout,
 * or when a wakeup brought nothing consumable yet, e.g. a kernel ring
 * whose head record is still being written), or as ringbuf_set_consume(),
 * or -EINTR (a signal), or an errno of epoll_create1/epoll_ctl.  Consumer
 * role, one thread at a time.
 */
RINGBUF_API int ringbuf_set_poll(struct ringbuf_set *s, ringbuf_sample_fn fn, void *ctx,
				 int timeout_ms);

/*
 * ringbuf_set_epoll_fd - an epoll fd that turns readable when any ring of
 * the set has a notification (for another event loop; then call
 * ringbuf_set_consume()).  Owned by the set; the same fd for the set's
 * life, members that come later included.  Returns the fd, or -EINVAL
 * (NULL @s), or what ringbuf_epoll_fd() returns for a member (e.g.
 * -EOPNOTSUPP for a producer-role set).  Consumer role.  (For a map of
 * kernel rings, new inner maps are noticed only by consume/poll/refresh:
 * an event loop should call ringbuf_set_consume() now and then.)
 */
RINGBUF_API int ringbuf_set_epoll_fd(struct ringbuf_set *s);

/*
 * ringbuf_manager_add_set - serve every ring of @s in manager @m with
 * @fn(@ctx, ...), as ringbuf_manager_add() of each member in index order:
 * a set's records then arrive in the same ringbuf_manager_poll() as other
 * rings' and sets'.  All or nothing: if adding a member fails, the members
 * added before it are removed again (they stay in fd mode), from a
 * callback of @m too.  Not for a
 * kernel map of ring buffers (its members follow the outer map, which the
 * manager would not: use ringbuf_set_poll() or ringbuf_set_epoll_fd()).
 * Remove the members (ringbuf_manager_remove() of ringbuf_set_ring()) or
 * free the manager before ringbuf_set_free().  Consumer side; the thread
 * that uses the manager.  Returns 0, or -EINVAL (NULL @m, @s or @fn),
 * -EOPNOTSUPP (a kernel map of rings, or a set opened producer-only), or
 * what ringbuf_manager_add() returns (-EEXIST: a member is in @m
 * already).  Since 0.5.
 */
RINGBUF_API int ringbuf_manager_add_set(struct ringbuf_manager *m, struct ringbuf_set *s,
					ringbuf_sample_fn fn, void *ctx);

/*
 * ringbuf_set_map_open - one consumer handle over a kernel map of ring
 * buffers: a BPF_MAP_TYPE_ARRAY_OF_MAPS or HASH_OF_MAPS whose values are
 * BPF_MAP_TYPE_RINGBUF maps (the per-CPU pattern: a BPF program looks up
 * the ring of its CPU and writes there).  Each inner map is a member,
 * opened as ringbuf_map_open() would (with @opts), in the outer map's key
 * order.  The outer map is reread at most every 100 ms by consume and
 * poll (a poll waiting for ever wakes for it), and at once by
 * ringbuf_set_refresh(): inner maps added are opened and consumed from
 * their consumer_pos, inner maps removed or replaced are dropped (a
 * replaced slot is a new map).  The producer calls fail with -EOPNOTSUPP
 * (BPF programs produce).  @map_fd is duplicated; the caller keeps its own.
 * Returns the set (possibly of 0 rings: empty slots are skipped), or NULL
 * with errno: EBADF, EINVAL (bad @opts), EMEDIUMTYPE (not a map of maps,
 * or its inner maps are not ring buffers), E2BIG (over 1024 inner maps),
 * ENOMEM, or the errno of bpf(2) or of ringbuf_map_open() for an inner
 * map.  Thread-safe.
 */
RINGBUF_API struct ringbuf_set *ringbuf_set_map_open(int map_fd, const struct ringbuf_opts *opts);
/* The same for the map pinned at @path (errno also as BPF_OBJ_GET). */
RINGBUF_API struct ringbuf_set *ringbuf_set_map_open_pinned(const char *path,
							    const struct ringbuf_opts *opts);
/* The same for the map with id @map_id (errno also as BPF_MAP_GET_FD_BY_ID). */
RINGBUF_API struct ringbuf_set *ringbuf_set_map_open_id(uint32_t map_id,
							const struct ringbuf_opts *opts);

/*
 * ringbuf_set_refresh - for a set from ringbuf_set_map_open*(): reread the
 * outer map now (see there).  Returns the number of rings in the set, or
 * -EINVAL (NULL @s), -EBUSY (from a callback of this set), or the errno of
 * reading the map or opening an inner map (the set keeps what it could
 * open).  For any other set, returns its number of rings.  Consumer role,
 * the consumer's thread: ringbuf_set_ring() pointers taken before may be
 * stale after it (and after consume/poll) for such a set.
 */
RINGBUF_API int ringbuf_set_refresh(struct ringbuf_set *s);

/*
 * ringbuf_set_consume_ordered - deliver the set's records in the order of
 * a timestamp they carry: an unsigned 64-bit value at byte @ts_offset of
 * each record (native byte order; e.g. bpf_ktime_get_ns() or
 * CLOCK_MONOTONIC nanoseconds; a record too short to hold it counts as
 * the oldest).  Each ring must hold its records in timestamp order (one
 * producer per ring, or producers that stamp under the ring's order).  A
 * record is delivered once it is the oldest of every ring's next record
 * and either every ring has a next record -- then nothing older can come
 * -- or it is @lag_ns old by CLOCK_MONOTONIC: a ring that stays empty
 * holds the others back by at most @lag_ns, and only a record that
 * arrives more than @lag_ns after its timestamp can be delivered out of
 * order.  Records held back stay in their rings (taken with the pull
 * reader, not committed): call again within @lag_ns (e.g. wait on
 * ringbuf_set_epoll_fd() with that timeout).  Each record is committed as
 * it is delivered.  Returns the number delivered, or as
 * ringbuf_set_consume() (a callback's negative return stops it, its record
 * committed), -EOPNOTSUPP for a ring in overwrite mode.  Consumer role, one
 * thread at a time; do not mix with ringbuf_next() on the members.
 */
RINGBUF_API int ringbuf_set_consume_ordered(struct ringbuf_set *s, uint32_t ts_offset,
					    uint64_t lag_ns, ringbuf_sample_fn fn, void *ctx);

/* ringbuf_set_count - the number of rings in @s (0 for NULL). */
RINGBUF_API unsigned ringbuf_set_count(const struct ringbuf_set *s);

/*
 * ringbuf_set_ring - the @i-th ring of @s, owned by the set (do not free
 * it): for its own ringbuf_stats(), ringbuf_query(), or a producer that
 * wants one ring.  Returns it, or NULL with errno EINVAL (NULL @s, @i out
 * of range).
 */
RINGBUF_API struct ringbuf *ringbuf_set_ring(const struct ringbuf_set *s, unsigned i);

/*
 * ringbuf_set_stats - the counters of every ring summed into @out (sz as
 * for ringbuf_stats()): the event counters, ring_size and avail_data are
 * sums; consumer_pid and flags are ring 0's; the positions are 0 (they
 * mean nothing summed: read them per ring).  Returns 0, or -EINVAL.  Any
 * role, any thread.
 */
RINGBUF_API int ringbuf_set_stats(struct ringbuf_set *s, struct ringbuf_stats *out);

/*
 * ringbuf_set_free - free the set and its rings (as ringbuf_free() each).
 * Called from a callback of its own consume or poll it does nothing
 * (errno EBUSY).  NULL is a no-op.
 */
RINGBUF_API void ringbuf_set_free(struct ringbuf_set *s);

#ifdef __cplusplus
}
#endif

#endif /* RINGBUF_H */
