/* SPDX-License-Identifier: MIT */
/*
 * script.bpf.c -- a BPF ring buffer "script interpreter", one source for two
 * targets:
 *
 *   clang -target bpf   a SEC("syscall") program the kernel runs through
 *                       BPF_PROG_TEST_RUN on a real BPF_MAP_TYPE_RINGBUF;
 *   cc (natively)       an ordinary function, its helpers coming from
 *                       <ringbuf_bpf.h>, on a ringbuf ring bound to `rb`.
 *
 * tests/t_diff_*.c run the same scripts on both and compares everything a
 * consumer can observe.  The script (struct script) is the program's ctx:
 * the host fills ops[], the program executes up to SCRIPT_MAX_OPS of them in
 * order and stores each one's result in ret[] (and ret2[] for the inner
 * output of a nested op); the kernel copies the ctx back.
 *
 * Payloads are a function of the op's tag (the host's op index): the n-byte
 * payload of tag t is the first n bytes of the little-endian words
 * script_seed(t), script_seed(t) + SCRIPT_PAT_STEP, ... -- so every record is
 * identified by its bytes and can be checked, and both sides write the same
 * bytes into the data area.
 */
#ifdef __bpf__
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#else
#include <ringbuf_bpf.h>
#endif

#define SCRIPT_RING_SIZE 4096 /* the ring: one page of data */
#define SCRIPT_MAX_OPS   32   /* ops per run */
#define SCRIPT_OUT_MAX   4168 /* largest output size (bigger than the ring) */
#define SCRIPT_OUT_WORDS ((SCRIPT_OUT_MAX + 7) / 8)
#define SCRIPT_FILL_MAX  4080 /* reserved samples up to this size are filled */

/* Result of an op whose arguments the interpreter refuses (a host bug). */
#define SCRIPT_BAD_OP (-100000)

enum script_kind {
	SCRIPT_NOP = 0,
	SCRIPT_OUTPUT,        /* ret = bpf_ringbuf_output(osize bytes of otag, flags) */
	SCRIPT_RESERVE,       /* A = reserve(size of class cls, 0), filled with rtag;
			       * with SCRIPT_NESTED, ret2 = output(osize bytes of
			       * otag, oflags) while A is BUSY; then submit A, or
			       * discard it (SCRIPT_DISCARD), with flags;
			       * ret = (A != NULL) */
	SCRIPT_RESERVE_FLAGS, /* A = reserve(8, oflags); ret = (A != NULL); A, if
			       * any, is discarded with flags */
	SCRIPT_QUERY,         /* ret = bpf_ringbuf_query(flags) */
	SCRIPT_KINDS
};

/* struct script_op.mode bits for SCRIPT_RESERVE */
#define SCRIPT_DISCARD 1u
#define SCRIPT_NESTED  2u

struct script_op {
	__u32 kind;   /* enum script_kind */
	__u32 cls;    /* RESERVE: size class */
	__u64 flags;  /* OUTPUT: its flags; RESERVE*: commit flags; QUERY: selector */
	__u32 rtag;   /* payload id of the reserved sample */
	__u32 osize;  /* payload bytes of the output (OUTPUT, SCRIPT_NESTED) */
	__u64 oflags; /* SCRIPT_NESTED: the inner output's flags; RESERVE_FLAGS:
		       * the reserve flags */
	__u32 otag;   /* payload id of the output */
	__u32 mode;   /* RESERVE: SCRIPT_DISCARD | SCRIPT_NESTED */
};

struct script {
	__u32 n;    /* ops to run (at most SCRIPT_MAX_OPS) */
	__u32 done; /* ops run (set by the program) */
	struct script_op ops[SCRIPT_MAX_OPS];
	__s64 ret[SCRIPT_MAX_OPS];
	__s64 ret2[SCRIPT_MAX_OPS];
};

/*
 * bpf_ringbuf_reserve() needs a size the verifier knows, so reservations
 * pick one of these classes: X(class, size).  Around the 4096-byte ring:
 * 2032/2040 make records of 2040/2048 bytes (two 2048s never fit: 4096 >
 * 4095), 4080 the largest record that fits (4088, in an empty ring), 4081 and
 * 4088 a record of exactly the ring size (never fits), 4096 one larger than
 * the ring, then UINT32_MAX/4 (the largest size passing the size check),
 * UINT32_MAX/4 + 1, a size whose low 32 bits are small (a truncation trap)
 * and 2^63.
 */
#define SCRIPT_SIZE_CLASSES(X)                                                 \
	X(0, 0ULL) X(1, 1ULL) X(2, 7ULL) X(3, 8ULL) X(4, 13ULL) X(5, 56ULL)    \
	X(6, 120ULL) X(7, 504ULL) X(8, 1016ULL) X(9, 2032ULL) X(10, 2040ULL)   \
	X(11, 4080ULL) X(12, 4081ULL) X(13, 4088ULL) X(14, 4096ULL)            \
	X(15, 1073741823ULL) X(16, 1073741824ULL) X(17, 0x100000010ULL)        \
	X(18, 0x8000000000000000ULL)
#define SCRIPT_CLASSES 19

#define SCRIPT_PAT_MUL  0x9E3779B97F4A7C15ULL
#define SCRIPT_PAT_STEP 0xD6E8FEB86659FD93ULL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SCRIPT_RING_SIZE);
} rb SEC(".maps");

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Source of bpf_ringbuf_output() payloads. */
static __u64 script_out[SCRIPT_OUT_WORDS];

/* The script, copied out of the ctx: the kernel allows only constant-offset
 * ctx accesses, so the copy is unrolled and ops[] is indexed here. */
static struct script script_in;

#if defined(__clang__)
#define SCRIPT_UNROLL _Pragma("unroll")
#else
#define SCRIPT_UNROLL
#endif

#define SCRIPT_IN_WORDS  (__builtin_offsetof(struct script, ret) / 8)
#define SCRIPT_OUT_FIRST (__builtin_offsetof(struct script, ret) / 8)
#define SCRIPT_ALL_WORDS (sizeof(struct script) / 8)

static __attribute__((always_inline)) inline __u64 script_seed(__u32 tag)
{
	return (__u64)tag * SCRIPT_PAT_MUL + SCRIPT_PAT_STEP;
}

/* The payload of @tag into a reserved sample of exactly @n bytes. */
static __attribute__((always_inline)) inline void script_fill(void *p, __u64 n, __u32 tag)
{
	__u64 *w = p, v = script_seed(tag);
	unsigned char *b = p;
	__u64 k;

	for (k = 0; k + 8 <= n && k < SCRIPT_FILL_MAX; k += 8) {
		w[k / 8] = v;
		v += SCRIPT_PAT_STEP;
	}
	for (; k < n && k < SCRIPT_FILL_MAX; k++)
		b[k] = (unsigned char)(v >> ((k & 7) * 8));
}

/* The payload of @tag into script_out, whatever the output's size: a loop
 * without an exit the verifier could branch on (at each such exit it would
 * learn a range for the size and walk everything after it again). */
static __attribute__((always_inline)) inline void script_fill_out(__u32 tag)
{
	__u64 v = script_seed(tag);
	__u32 k;

	for (k = 0; k < SCRIPT_OUT_WORDS; k++) {
		script_out[k] = v;
		v += SCRIPT_PAT_STEP;
	}
}

/* Reserve a sample of size class @cls, fill it with the payload of @tag. */
static __attribute__((always_inline)) inline void *script_reserve(__u32 cls, __u32 tag)
{
	void *p = (void *)0;

	switch (cls) {
#define SCRIPT_RESERVE_CASE(c, sz)                                             \
	case c:                                                                \
		p = bpf_ringbuf_reserve(&rb, sz, 0);                           \
		if (p && (sz) <= SCRIPT_FILL_MAX)                              \
			script_fill(p, sz, tag);                               \
		break;
		SCRIPT_SIZE_CLASSES(SCRIPT_RESERVE_CASE)
#undef SCRIPT_RESERVE_CASE
	default:
		break;
	}
	return p;
}

int run(struct script *s);

SEC("syscall")
int run(struct script *s)
{
	struct script *c = &script_in;
	__u32 n, i, k;

	SCRIPT_UNROLL
	for (k = 0; k < SCRIPT_IN_WORDS; k++)
		((__u64 *)c)[k] = ((volatile __u64 *)s)[k];
	n = c->n;
	for (i = 0; i < SCRIPT_MAX_OPS && i < n; i++) {
		__u32 kind = c->ops[i].kind, mode = c->ops[i].mode;
		__u64 flags = c->ops[i].flags, osize = c->ops[i].osize;
		__s64 ret = SCRIPT_BAD_OP, ret2 = 0;
		void *p;

		/* The output's payload, whatever the op: the verifier walks
		 * this fill once per op, not once per branch. */
		script_fill_out(c->ops[i].otag);
		switch (kind) {
		case SCRIPT_NOP:
			ret = 0;
			break;
		case SCRIPT_OUTPUT:
			if (osize > SCRIPT_OUT_MAX)
				break;
			ret = bpf_ringbuf_output(&rb, script_out, osize, flags);
			break;
		case SCRIPT_RESERVE:
			if (c->ops[i].cls >= SCRIPT_CLASSES || osize > SCRIPT_OUT_MAX)
				break;
			p = script_reserve(c->ops[i].cls, c->ops[i].rtag);
			if (mode & SCRIPT_NESTED)
				ret2 = bpf_ringbuf_output(&rb, script_out, osize,
							  c->ops[i].oflags);
			ret = p != (void *)0;
			if (!p)
				break;
			if (mode & SCRIPT_DISCARD)
				bpf_ringbuf_discard(p, flags);
			else
				bpf_ringbuf_submit(p, flags);
			break;
		case SCRIPT_RESERVE_FLAGS:
			p = bpf_ringbuf_reserve(&rb, 8, c->ops[i].oflags);
			ret = p != (void *)0;
			if (p) {
				script_fill(p, 8, c->ops[i].rtag);
				bpf_ringbuf_discard(p, flags);
			}
			break;
		case SCRIPT_QUERY:
			ret = (__s64)bpf_ringbuf_query(&rb, flags);
			break;
		default:
			break;
		}
		c->ret[i] = ret;
		c->ret2[i] = ret2;
	}
	c->done = i;
	s->done = i;
	SCRIPT_UNROLL
	for (k = SCRIPT_OUT_FIRST; k < SCRIPT_ALL_WORDS; k++)
		((volatile __u64 *)s)[k] = ((__u64 *)c)[k];
	return 0;
}
