/* SPDX-License-Identifier: MIT */
/*
 * fuzz_consumer.c -- libFuzzer target: the consumer against a hostile ring.
 *
 * Each input is a ring image (positions, data, notification words) that a
 * peer wrote into shared memory, plus a script of further peer writes done
 * from inside the sample callback (the middle of a consume).  The library's
 * consume/consume_n/poll(0) must:
 *   - return >= 0, -EBADMSG, or the callback's own negative value;
 *   - deliver only (data, size) lying inside its own data mapping, with the
 *     header 8-byte aligned in the first copy;
 *   - deliver at most (bytes available) / 8 records per pass, and at most
 *     2 * size / 8 in any one call (so it always ends);
 *   - never write the data area, the producer page or the meta identity;
 *   - when the peer does not rewrite the ring during the call, behave
 *     exactly like a reference walk of the records (same records, same
 *     return value, same final consumer_pos).
 */
#include "fuzz_common.h"

#include <limits.h>

static struct fz_ring rings[2];
static int rings_ready;
static int trace; /* FZ_TRACE=1 in the environment: print every call */

/* per-input state, for the callback */
static struct fz_ring *R;
static const struct fz_action *acts;
static size_t nacts;
static unsigned cb_global;   /* callbacks so far in this input */
static unsigned cb_call;     /* callbacks in the current call */
static int call_mutated;     /* a peer write that invalidates the model */
static int call_cons_written;
static unsigned char expect_data[8192];
static uint64_t expect_prod, expect_pend;

#define MAX_DELIV (2 * 8192 / 8 + 1)
static struct { uint64_t off; size_t size; } deliv[MAX_DELIV];

static void peer_data_write(uint64_t off, uint64_t val)
{
	for (int i = 0; i < 8; i++) {
		uint64_t o = (off + (uint64_t)i) & R->mask;

		R->pdata[o] = (unsigned char)(val >> (8 * i));
		expect_data[o] = (unsigned char)(val >> (8 * i));
	}
}

static int sample_cb(void *ctx, void *data, size_t size)
{
	uintptr_t off = (uintptr_t)data - (uintptr_t)R->ldata;
	volatile unsigned char *d = data;
	unsigned sum = 0;
	int ret = 0;

	(void)ctx;
	FZ_CHECK(fz_in_ldata(R, data, size), "sample %p+%zu outside data %p+%llu", data, size,
		 (void *)R->ldata, (unsigned long long)(2 * R->size));
	FZ_CHECK(off >= RINGBUF_HDR_SZ && off - RINGBUF_HDR_SZ < R->size && (off & 7) == 0,
		 "sample header at data offset %lld", (long long)off - 8);
	FZ_CHECK(size <= (RINGBUF_MAX_DATA_SIZE - 1) && size + RINGBUF_HDR_SZ < R->size,
		 "sample size %zu", size);
	FZ_CHECK(cb_call < MAX_DELIV, "%u callbacks in one call (ring %llu)", cb_call + 1,
		 (unsigned long long)R->size);
	/* Touch every byte: a bad mapping would fault here. */
	for (size_t i = 0; i < size; i++)
		sum += d[i];
	(void)sum;
	deliv[cb_call].off = off - RINGBUF_HDR_SZ;
	deliv[cb_call].size = size;

	for (size_t i = 0; i < nacts; i++) {
		const struct fz_action *a = &acts[i];
		uint64_t p;

		if (a->at != cb_global)
			continue;
		switch (a->kind % FZ_A_NKINDS) {
		case FZ_A_PROD_REL:
			p = R->prod->producer_pos + (uint64_t)(int64_t)(int32_t)(uint32_t)a->val;
			*fz_v64(&R->prod->producer_pos) = p;
			expect_prod = p;
			call_mutated = 1;
			break;
		case FZ_A_PROD_ABS:
			*fz_v64(&R->prod->producer_pos) = a->val;
			expect_prod = a->val;
			call_mutated = 1;
			break;
		case FZ_A_HDR_LEN: {
			uint64_t at = ((uint64_t)a->off * 8) & R->mask;
			uint32_t pg = *(uint32_t *)(R->pdata + at + 4);

			peer_data_write(at, (uint32_t)a->val | ((uint64_t)pg << 32));
			call_mutated = 1;
			break;
		}
		case FZ_A_DATA:
			peer_data_write(a->off, a->val);
			call_mutated = 1;
			break;
		case FZ_A_CONS:
			*R->cons_pos = a->val;
			call_cons_written = 1;
			break;
		case FZ_A_STOP:
			ret = FZ_STOP_RET;
			break;
		case FZ_A_NOTIFY:
			*fz_v32(&R->meta->force_seq) += 1; /* a forced wakeup pending */
			break;
		case FZ_A_HDR_NEXT: {
			uint64_t next = (off + ((size + 7) & ~(uint64_t)7)) & R->mask;
			uint32_t pg = *(uint32_t *)(R->pdata + next + 4);

			peer_data_write(next, (uint32_t)a->val | ((uint64_t)pg << 32));
			call_mutated = 1;
			break;
		}
		}
	}
	cb_global++;
	cb_call++;
	return ret;
}

/* The reference walk: what one call must do on a ring nobody rewrites
 * during the call.  Returns the expected return value; fills the expected
 * deliveries and final consumer_pos. */
static size_t model_n;
static struct { uint64_t off; size_t size; } model[MAX_DELIV];

static int has_stop(unsigned g)
{
	for (size_t i = 0; i < nacts; i++)
		if (acts[i].at == g && acts[i].kind % FZ_A_NKINDS == FZ_A_STOP)
			return 1;
	return 0;
}

static int model_call(size_t n, uint64_t *cons_out)
{
	uint64_t cons = *R->cons_pos, prod = R->prod->producer_pos, c;
	unsigned g = cb_global;

	model_n = 0;
	*cons_out = cons;
	if ((cons | prod) & 7 || prod - cons > R->size)
		return -EBADMSG;
	c = cons;
	while (model_n < n && c != prod) {
		uint64_t off = c & R->mask;
		uint32_t len = *(uint32_t *)(R->pdata + off);
		uint64_t rec = ((uint64_t)(len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) + 15) & ~7ull;

		if (len & RINGBUF_BUSY_BIT)
			break;
		if (rec > prod - c) {
			*cons_out = c;
			return -EBADMSG;
		}
		c += rec;
		if (!(len & RINGBUF_DISCARD_BIT)) {
			model[model_n].off = off;
			model[model_n].size = len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
			model_n++;
			if (has_stop(g++)) {
				*cons_out = c;
				return FZ_STOP_RET;
			}
		}
	}
	*cons_out = c;
	return (int)model_n;
}

static void check_unwritten(void)
{
	if (memcmp(R->pdata, expect_data, R->size))
		for (uint64_t i = 0; i < R->size; i++)
			FZ_CHECK(R->pdata[i] == expect_data[i], "consumer wrote data byte %llu",
				 (unsigned long long)i);
	FZ_CHECK(R->prod->producer_pos == expect_prod, "consumer wrote producer_pos");
	FZ_CHECK(R->prod->pending_pos == expect_pend, "consumer wrote pending_pos");
	fz_check_pages(R);
	fz_check_meta(R);
}

static void one_call(int kind, size_t n)
{
	uint64_t cons0 = *R->cons_pos, prod0 = R->prod->producer_pos, mcons, cons1;
	int mret, ret, valid = !((cons0 | prod0) & 7) && prod0 - cons0 <= R->size;

	if (kind != FZ_CALL_CONSUME_N)
		n = SIZE_MAX;
	mret = model_call(n, &mcons);
	cb_call = 0;
	call_mutated = 0;
	call_cons_written = 0;
	errno = 0;
	switch (kind) {
	case FZ_CALL_CONSUME_N:
		ret = ringbuf_consume_n(R->rb, sample_cb, NULL, n);
		break;
	case FZ_CALL_POLL0:
		ret = ringbuf_poll(R->rb, sample_cb, NULL, 0);
		break;
	default:
		ret = ringbuf_consume(R->rb, sample_cb, NULL);
		break;
	}
	cons1 = *R->cons_pos;
	if (trace)
		fprintf(stderr, "call %d n=%zu cons %llx prod %llx -> ret %d, %u callbacks, cons %llx"
			" (model %d, %zu, %llx)%s\n", kind, n, (unsigned long long)cons0,
			(unsigned long long)prod0, ret, cb_call, (unsigned long long)cons1, mret,
			model_n, (unsigned long long)mcons, call_mutated ? " mutated" : "");

	FZ_CHECK(ret >= 0 || ret == -EBADMSG || ret == FZ_STOP_RET, "call %d returned %d", kind,
		 ret);
	if (ret < 0)
		FZ_CHECK(errno == -ret, "errno %d for return %d", errno, ret);
	else
		FZ_CHECK((unsigned)ret == cb_call, "returned %d after %u callbacks", ret, cb_call);
	FZ_CHECK(cb_call <= n, "%u callbacks for consume_n(%zu)", cb_call, n);
	FZ_CHECK((uint64_t)cb_call * 8 <= 2 * R->size, "%u callbacks, ring %llu", cb_call,
		 (unsigned long long)R->size);
	if (!valid) {
		FZ_CHECK(ret == -EBADMSG && cb_call == 0, "corrupt positions gave %d, %u callbacks",
			 ret, cb_call);
	}
	if (!call_cons_written) {
		if (valid) {
			FZ_CHECK(!(cons1 & 7), "consumer_pos published misaligned: %llx",
				 (unsigned long long)cons1);
			FZ_CHECK(cons1 - cons0 < 2 * R->size, "consumer_pos moved by %llu",
				 (unsigned long long)(cons1 - cons0));
		} else
			FZ_CHECK(cons1 == cons0, "corrupt ring, consumer_pos moved");
	}
	if (!call_mutated) {
		FZ_CHECK((uint64_t)cb_call * 8 <= (valid ? prod0 - cons0 : 0),
			 "%u callbacks for %llu bytes", cb_call,
			 (unsigned long long)(prod0 - cons0));
		FZ_CHECK(ret == mret, "returned %d, model says %d", ret, mret);
		FZ_CHECK(cb_call == model_n, "%u callbacks, model says %zu", cb_call, model_n);
		for (size_t i = 0; i < model_n; i++)
			FZ_CHECK(deliv[i].off == model[i].off && deliv[i].size == model[i].size,
				 "record %zu: at %llu size %zu, model at %llu size %zu", i,
				 (unsigned long long)deliv[i].off, deliv[i].size,
				 (unsigned long long)model[i].off, model[i].size);
		if (!call_cons_written)
			FZ_CHECK(cons1 == mcons, "consumer_pos %llx, model %llx",
				 (unsigned long long)cons1, (unsigned long long)mcons);
	}
	check_unwritten();
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct fz_cons_hdr h;
	uint64_t cons, prod, pend, dlen;
	const uint8_t *data;

	if (len < sizeof(h))
		return 0;
	if (!rings_ready) {
		fz_ring_init(&rings[0], 4096);
		fz_ring_init(&rings[1], 8192);
		trace = getenv("FZ_TRACE") != NULL;
		rings_ready = 1;
	}
	memcpy(&h, buf, sizeof(h));
	buf += sizeof(h);
	len -= sizeof(h);
	nacts = h.script_len;
	if (nacts * sizeof(struct fz_action) > len)
		nacts = len / sizeof(struct fz_action);
	acts = (const struct fz_action *)buf; /* packed: byte access is fine */
	data = buf + nacts * sizeof(struct fz_action);
	dlen = len - nacts * sizeof(struct fz_action);

	R = &rings[h.flags & FZ_F_BIG_RING ? 1 : 0];
	fz_ring_reset(R);
	fz_positions(h.flags, h.cons, h.prod, h.pend, &cons, &prod, &pend);
	*R->cons_pos = cons;
	R->prod->producer_pos = prod;
	R->prod->pending_pos = pend;
	expect_prod = prod;
	expect_pend = pend;
	if (h.meta_notify & 1)
		((struct ringbuf_shm_consumer *)(void *)R->cons_pos)->consumer_waiting = 1;
	if (h.meta_notify & 2)
		R->meta->force_seq += 1;
	if (dlen > R->size)
		dlen = R->size;
	for (uint64_t i = 0; i < dlen; i++)
		R->pdata[(cons + i) & R->mask] = data[i];
	memcpy(expect_data, R->pdata, R->size);

	cb_global = 0;
	for (int i = 0; i < 4; i++) {
		int kind = (h.calls >> (2 * i)) & 3;

		if (!kind) {
			if (i == 0)
				one_call(FZ_CALL_CONSUME, 0);
			break;
		}
		one_call(kind, h.n);
	}
	return 0;
}
