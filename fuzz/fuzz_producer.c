/* SPDX-License-Identifier: MIT */
/*
 * fuzz_producer.c -- libFuzzer target: producers against a hostile ring.
 *
 * Each input is an initial ring state (positions) and a sequence of
 * producer operations (output, reserve, submit, discard, commit of arbitrary
 * pointers, query, reserve_wait) interleaved with peer writes to the shared
 * positions, headers, the reservation cache and the notification words.
 * After every operation:
 *   - return values are only those documented, in the documented order of
 *     checks (EINVAL, then E2BIG, then EBADMSG iff the positions are corrupt,
 *     else 0 or EAGAIN), with errno set;
 *   - a reserved sample lies inside the library's data mapping, 8-byte
 *     aligned, at producer_pos, with its header written as the kernel does;
 *   - an accepted reservation never overlaps a record still BUSY (the
 *     CVE-2024-41009 property) while the peer has not rewritten producer
 *     state, and never overwrites unconsumed data while the consumer side
 *     is honest as well;
 *   - commits of pointers that are not samples write nothing outside the
 *     ring (canary) and never touch the positions;
 *   - the meta identity fields, the meta padding, the consumer page (except
 *     through the consumer API) and the rest of the producer page are
 *     unchanged, and the reservation lock is free.
 */
#include "fuzz_common.h"

static struct fz_ring rings[2];
static int rings_ready;
static struct fz_ring *R;

#define MAX_OUT 64
static struct { unsigned char *p; uint64_t off, size, rec; } outs[MAX_OUT];
static size_t nout;

static unsigned char src_buf[16384];
/* A fake "sample" outside any ring: BUSY-looking headers everywhere. */
static uint64_t canary[64] __attribute__((aligned(64)));
#define CANARY_WORD (0x8000001080000010ull)

static int trace; /* FZ_TRACE=1 in the environment: print every op */
static int trusted; /* the peer has not rewritten producer_pos/pending_pos/headers */
static int honest;  /* ...and consumer_pos/cons_cache only moved as a consumer would */

static uint64_t rd_cons(void) { return *R->cons_pos; }
static uint64_t rd_prod(void) { return *fz_v64(&R->prod->producer_pos); }
static uint64_t rd_pend(void) { return *fz_v64(&R->prod->pending_pos); }

static uint64_t op_size(const struct fz_op *o)
{
	return (o->b & 0x8000) ? (uint64_t)o->c << (o->b & 63) : o->c;
}

static uint64_t op_pos(const struct fz_op *o)
{
	uint64_t base;

	switch (o->a & 3) {
	case 0: base = rd_cons(); break;
	case 1: base = rd_prod(); break;
	case 2: base = rd_pend(); break;
	default: base = 0; break;
	}
	base += (uint64_t)(int64_t)(int32_t)o->c;
	if (o->a & 4)
		base ^= (uint64_t)o->b << 48;
	return base;
}

static int too_big(uint64_t size)
{
	return size > UINT32_MAX / 4 || ((size + RINGBUF_HDR_SZ + 7) & ~7ull) >= R->size;
}

static int corrupt(uint64_t prod, uint64_t pend)
{
	return ((prod | pend) & 7) || prod - pend > R->size;
}

/* Circular overlap of [a, a+la) and [b, b+lb) in a ring of R->size. */
static int overlaps(uint64_t a, uint64_t la, uint64_t b, uint64_t lb)
{
	return ((a - b) & R->mask) < lb || ((b - a) & R->mask) < la;
}

static int in_ring_range(uint64_t off, uint64_t from, uint64_t to)
{
	/* is ring offset off inside positions [from, to)? */
	if (to - from >= R->size)
		return 1;
	return ((off - from) & R->mask) < to - from;
}

/* Checks common to a successful reservation (reserve or output): the
 * sample, its header and the positions around it. */
static void check_accepted(unsigned char *p, uint64_t size, uint32_t want_len, uint64_t cons_b,
			   uint64_t prod_b, uint64_t pend_b)
{
	uint64_t rec = (size + RINGBUF_HDR_SZ + 7) & ~7ull, off = prod_b & R->mask;
	uint64_t new_prod = prod_b + rec, pend_a = rd_pend();
	uint32_t len, pg;

	FZ_CHECK(fz_in_ldata(R, p - RINGBUF_HDR_SZ, size + RINGBUF_HDR_SZ),
		 "sample %p+%llu outside data %p+%llu", (void *)p, (unsigned long long)size,
		 (void *)R->ldata, (unsigned long long)(2 * R->size));
	FZ_CHECK(p - RINGBUF_HDR_SZ == R->ldata + off, "sample at data+%lld, producer_pos at %llu",
		 (long long)(p - R->ldata), (unsigned long long)off);
	FZ_CHECK(rd_prod() == new_prod, "producer_pos %llx after reserving %llu at %llx",
		 (unsigned long long)rd_prod(), (unsigned long long)rec,
		 (unsigned long long)prod_b);
	FZ_CHECK(pend_a - pend_b <= prod_b - pend_b && !(pend_a & 7),
		 "pending_pos %llx -> %llx (producer_pos %llx)", (unsigned long long)pend_b,
		 (unsigned long long)pend_a, (unsigned long long)prod_b);
	FZ_CHECK(new_prod - pend_a <= R->mask, "accepted past pending_pos: %llx - %llx",
		 (unsigned long long)new_prod, (unsigned long long)pend_a);
	memcpy(&len, R->pdata + off, 4);
	memcpy(&pg, R->pdata + off + 4, 4);
	FZ_CHECK(len == want_len, "header len %x, want %x", len, want_len);
	/* a BUSY header names its owner, this process; a committed one (an
	 * output) carries the kernel's pg_off, its page offset in the file */
	if (want_len & RINGBUF_BUSY_BIT)
		FZ_CHECK(pg == (uint32_t)getpid(), "BUSY header pg_off %u at %llu, want the owner pid",
			 pg, (unsigned long long)off);
	else
		FZ_CHECK(pg == (uint32_t)((RINGBUF_SHM_DATA_PAGE * R->page + off) / R->page),
			 "committed header pg_off %u at %llu, want the kernel's", pg,
			 (unsigned long long)off);
	if (trusted) {
		for (size_t i = 0; i < nout; i++)
			FZ_CHECK(!overlaps(off, rec, outs[i].off, outs[i].rec),
				 "new record [%llu,+%llu) overlaps BUSY record [%llu,+%llu)",
				 (unsigned long long)off, (unsigned long long)rec,
				 (unsigned long long)outs[i].off, (unsigned long long)outs[i].rec);
	}
	if (honest)
		FZ_CHECK(new_prod - cons_b <= R->mask,
			 "accepted record ending at %llx overwrites unconsumed data from %llx",
			 (unsigned long long)new_prod, (unsigned long long)cons_b);
}

/* Error classification shared by output, reserve, reserve_wait. */
static void check_err(int err, int einval, uint64_t size, uint64_t prod_b, uint64_t pend_b,
		      const char *what)
{
	if (einval) {
		FZ_CHECK(err == EINVAL, "%s: error %d, want EINVAL", what, err);
		return;
	}
	if (too_big(size)) {
		FZ_CHECK(err == E2BIG, "%s(%llu): error %d, want E2BIG", what,
			 (unsigned long long)size, err);
		return;
	}
	if (corrupt(prod_b, pend_b)) {
		FZ_CHECK(err == EBADMSG, "%s: error %d, want EBADMSG (prod %llx pend %llx)", what,
			 err, (unsigned long long)prod_b, (unsigned long long)pend_b);
		return;
	}
	FZ_CHECK(err == 0 || err == EAGAIN, "%s(%llu): error %d (prod %llx pend %llx)", what,
		 (unsigned long long)size, err, (unsigned long long)prod_b,
		 (unsigned long long)pend_b);
}

static int consume_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	FZ_CHECK(fz_in_ldata(R, data, size), "consumed sample outside the ring");
	return 0;
}

/* Forget outstanding samples whose header is at ring offset off. */
static void forget_at(uint64_t off)
{
	for (size_t i = 0; i < nout;) {
		if (outs[i].off == off)
			outs[i] = outs[--nout];
		else
			i++;
	}
}

static void do_reserve(const struct fz_op *o, int wait)
{
	uint64_t cons_b = rd_cons(), prod_b = rd_prod(), pend_b = rd_pend();
	uint64_t size = op_size(o), flags = (o->a & 0x80) ? o->a : 0;
	unsigned char *p;
	int err;

	if (nout == MAX_OUT)
		return;
	errno = 0;
	p = wait ? ringbuf_reserve_wait(R->rb, size, 0) : ringbuf_reserve(R->rb, size, flags);
	err = p ? 0 : errno;
	check_err(err, !wait && flags, size, prod_b, pend_b, wait ? "reserve_wait" : "reserve");
	if (!p) {
		FZ_CHECK(rd_prod() == prod_b, "failed reserve moved producer_pos");
		FZ_CHECK(rd_pend() - pend_b <= prod_b - pend_b, "failed reserve: pending_pos");
		return;
	}
	FZ_CHECK(((uintptr_t)p & 7) == 0, "sample %p misaligned", (void *)p);
	check_accepted(p, size, (uint32_t)size | RINGBUF_BUSY_BIT, cons_b, prod_b, pend_b);
	memset(p, 0xA5, size); /* the caller owns all size bytes */
	outs[nout].p = p;
	outs[nout].off = prod_b & R->mask;
	outs[nout].size = size;
	outs[nout].rec = (size + RINGBUF_HDR_SZ + 7) & ~7ull;
	nout++;
}

static void do_output(const struct fz_op *o)
{
	uint64_t cons_b = rd_cons(), prod_b = rd_prod(), pend_b = rd_pend();
	uint64_t size = op_size(o), flags = fz_flags(o->a & 0x7f);
	const void *src = (o->a & 0x80) ? NULL : src_buf;
	long ret;

	errno = 0;
	ret = ringbuf_output(R->rb, src, size, flags);
	FZ_CHECK(ret <= 0, "output returned %ld", ret);
	if (ret)
		FZ_CHECK(errno == -ret, "output: errno %d for %ld", errno, ret);
	check_err((int)-ret,
		  (!src && size) || (flags & ~(RINGBUF_NO_WAKEUP | RINGBUF_FORCE_WAKEUP)), size,
		  prod_b, pend_b, "output");
	if (ret) {
		FZ_CHECK(rd_prod() == prod_b, "failed output moved producer_pos");
		FZ_CHECK(rd_pend() - pend_b <= prod_b - pend_b, "failed output: pending_pos");
		return;
	}
	FZ_CHECK(size <= sizeof(src_buf), "output of %llu accepted", (unsigned long long)size);
	check_accepted(R->ldata + (prod_b & R->mask) + RINGBUF_HDR_SZ, size, (uint32_t)size,
		       cons_b, prod_b, pend_b);
	for (uint64_t i = 0; i < size; i++)
		FZ_CHECK(R->pdata[((prod_b & R->mask) + 8 + i) & R->mask] == src_buf[i],
			 "output byte %llu wrong", (unsigned long long)i);
}

static void do_commit(const struct fz_op *o, int discard)
{
	uint64_t prod_b = rd_prod(), pend_b = rd_pend();
	uint64_t flags = fz_flags(o->a);
	size_t i;
	uint32_t len;

	if (!nout)
		return;
	i = o->b % nout;
	(discard ? ringbuf_discard : ringbuf_submit)(outs[i].p, flags);
	if (trusted) {
		memcpy(&len, R->pdata + outs[i].off, 4);
		FZ_CHECK(len == ((uint32_t)outs[i].size | (discard ? RINGBUF_DISCARD_BIT : 0)),
			 "committed header %x for size %llu", len,
			 (unsigned long long)outs[i].size);
	}
	FZ_CHECK(rd_prod() == prod_b && rd_pend() == pend_b, "commit moved positions");
	outs[i] = outs[--nout];
}

static void do_commit_ptr(const struct fz_op *o)
{
	uint64_t prod_b = rd_prod(), pend_b = rd_pend(), cons_b = rd_cons();
	uint64_t span = 2 * R->size + 4 * R->page + 128, flags = fz_flags(o->b & 0xff);
	unsigned char *p;
	int kind = (o->a >> 1) & 3;

	switch (kind) {
	case 0: /* anywhere in and around the library's mapping */
		p = R->ldata + ((int64_t)(o->c % span) - 4 * (int64_t)R->page - 64);
		break;
	case 1:
		p = (unsigned char *)canary + 8 + (o->c % 480);
		break;
	case 2: /* NULL, or just past the second data copy (a guard page) */
		p = (o->c & 1) ? NULL : R->ldata + 2 * R->size + 8 + (o->c & 0xff8);
		break;
	default: /* the meta, consumer and producer pages of the mapping */
		p = R->ldata - 3 * R->page + ((o->c % (3 * R->page)) & ~7u) + 8;
		break;
	}
	{
		uintptr_t hp = (uintptr_t)p - RINGBUF_HDR_SZ, lo = (uintptr_t)R->ldata;

		if (p && hp >= lo && hp - lo < 2 * R->size && !((hp - lo) & 7))
			forget_at((hp - lo) & R->mask);
	}
	(o->a & 1 ? ringbuf_discard : ringbuf_submit)(p, flags);
	for (size_t i = 0; i < 64; i++)
		FZ_CHECK(canary[i] == CANARY_WORD, "canary word %zu overwritten", i);
	FZ_CHECK(rd_prod() == prod_b && rd_pend() == pend_b && rd_cons() == cons_b,
		 "commit of %p moved positions", (void *)p);
}

static void do_query(const struct fz_op *o)
{
	uint64_t what = o->a & 7, v, want;

	if (o->a & 8)
		what = (uint64_t)o->c << 3;
	want = what == RINGBUF_AVAIL_DATA ? rd_prod() - rd_cons()
	     : what == RINGBUF_RING_SIZE  ? R->size
	     : what == RINGBUF_CONS_POS   ? rd_cons()
	     : what == RINGBUF_PROD_POS   ? rd_prod() : 0;
	v = ringbuf_query(R->rb, what);
	FZ_CHECK(v == want, "query(%llu) = %llx, want %llx", (unsigned long long)what,
		 (unsigned long long)v, (unsigned long long)want);
}

static void do_consume(const struct fz_op *o)
{
	uint64_t cons_b = rd_cons(), prod_b = rd_prod(), cons_a;
	int r = o->a ? ringbuf_consume_n(R->rb, consume_cb, NULL, o->a)
		     : ringbuf_consume(R->rb, consume_cb, NULL);

	FZ_CHECK(r >= 0 || r == -EBADMSG, "consume returned %d", r);
	cons_a = rd_cons();
	if (corrupt(prod_b, cons_b))
		FZ_CHECK(cons_a == cons_b, "consume moved a corrupt consumer_pos");
	else
		FZ_CHECK(cons_a - cons_b <= prod_b - cons_b && !(cons_a & 7),
			 "consumer_pos %llx -> %llx, producer_pos %llx",
			 (unsigned long long)cons_b, (unsigned long long)cons_a,
			 (unsigned long long)prod_b);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct fz_prod_hdr h;
	uint64_t cons, prod, pend;
	size_t nops;

	if (len < sizeof(h))
		return 0;
	if (!rings_ready) {
		fz_ring_init(&rings[0], 4096);
		fz_ring_init(&rings[1], 8192);
		for (size_t i = 0; i < sizeof(src_buf); i++)
			src_buf[i] = (unsigned char)(i * 131 + 7);
		for (size_t i = 0; i < 64; i++)
			canary[i] = CANARY_WORD;
		trace = getenv("FZ_TRACE") != NULL;
		rings_ready = 1;
	}
	memcpy(&h, buf, sizeof(h));
	buf += sizeof(h);
	len -= sizeof(h);
	nops = len / sizeof(struct fz_op);
	if (nops > FZ_MAX_OPS)
		nops = FZ_MAX_OPS;

	R = &rings[h.flags & FZ_F_BIG_RING ? 1 : 0];
	fz_ring_reset(R);
	fz_positions(h.flags, h.cons, h.prod, h.pend, &cons, &prod, &pend);
	*R->cons_pos = cons;
	R->prod->producer_pos = prod;
	R->prod->pending_pos = pend;
	nout = 0;
	trusted = 1;
	/* Zeroed data between the positions reads as committed empty records:
	 * an honest ring, if the positions are ordered and the reservation
	 * cache (0) is not ahead of consumer_pos. */
	honest = !((cons | prod | pend) & 7) && pend - cons <= prod - cons &&
		 prod - cons <= R->mask && cons < (1ull << 63);

	for (size_t k = 0; k < nops; k++) {
		struct fz_op o;
		uint64_t cons_b = rd_cons(), prod_b = rd_prod(), pend_b = rd_pend(), v;
		int cons_may_move = 0;

		memcpy(&o, buf + k * sizeof(o), sizeof(o));
		if (trace)
			fprintf(stderr, "op %2u a=%02x b=%04x c=%08x | cons %llx prod %llx pend %llx "
				"out %zu%s%s\n", o.op % FZ_OP_NKINDS, o.a, o.b, o.c,
				(unsigned long long)cons_b, (unsigned long long)prod_b,
				(unsigned long long)pend_b, nout, trusted ? " trusted" : "",
				honest ? " honest" : "");
		switch (o.op % FZ_OP_NKINDS) {
		case FZ_OP_OUTPUT:
			do_output(&o);
			break;
		case FZ_OP_RESERVE:
			do_reserve(&o, 0);
			break;
		case FZ_OP_RESERVE_WAIT:
			do_reserve(&o, 1);
			break;
		case FZ_OP_SUBMIT:
			do_commit(&o, 0);
			break;
		case FZ_OP_DISCARD:
			do_commit(&o, 1);
			break;
		case FZ_OP_COMMIT_PTR:
			do_commit_ptr(&o);
			break;
		case FZ_OP_QUERY:
			do_query(&o);
			break;
		case FZ_OP_SET_CONS:
			v = op_pos(&o);
			if ((v & 7) || v - cons_b > prod_b - cons_b)
				honest = 0;
			*R->cons_pos = v;
			cons_may_move = 1;
			break;
		case FZ_OP_CATCH_UP:
			*R->cons_pos = prod_b;
			cons_may_move = 1;
			break;
		case FZ_OP_SET_PROD:
			*fz_v64(&R->prod->producer_pos) = op_pos(&o);
			trusted = honest = 0;
			break;
		case FZ_OP_SET_PEND:
			*fz_v64(&R->prod->pending_pos) = op_pos(&o);
			trusted = honest = 0;
			break;
		case FZ_OP_SET_HDR: {
			uint64_t off = ((uint64_t)o.b * 8) & R->mask;
			uint32_t pg = ((uint32_t)o.a << 24) | o.b;

			if (in_ring_range(off, pend_b, prod_b) || corrupt(prod_b, pend_b))
				trusted = honest = 0;
			memcpy(R->pdata + off, &o.c, 4);
			memcpy(R->pdata + off + 4, &pg, 4);
			/* a sample whose header the peer rewrote may no longer be
			 * BUSY: committing it is then ignored, fine */
			break;
		}
		case FZ_OP_SET_CACHE:
			*fz_v64(&R->meta->cons_cache) = op_pos(&o);
			honest = 0;
			break;
		case FZ_OP_CONSUME:
			do_consume(&o);
			cons_may_move = 1;
			break;
		case FZ_OP_NOTIFY:
		{
			struct ringbuf_shm_consumer *cp = (void *)R->cons_pos;

			/* the consumer's half, as a hostile consumer writes it */
			*fz_v32(&cp->consumer_waiting) = o.a & 3;
			*fz_v32(&cp->wait_seq) = *fz_v32(&R->meta->notify_seq) + ((o.a >> 2) & 1);
			*fz_v32(&cp->force_taken) = *fz_v32(&R->meta->force_seq) + ((o.a >> 3) & 1);
		}
			break;
		}
		if (!cons_may_move)
			FZ_CHECK(rd_cons() == cons_b, "op %u wrote consumer_pos", o.op % FZ_OP_NKINDS);
		fz_check_meta(R);
		fz_check_pages(R);
	}
	return 0;
}
