/* SPDX-License-Identifier: MIT */
/*
 * make_seeds.c -- writes the seed corpora of the two fuzz targets:
 *
 *   make_seeds OUTDIR     -> OUTDIR/{consumer,producer,attach}/NN-name
 *
 * (make fuzz-seeds runs it on fuzz/corpus).  The formats are described in
 * fuzz_common.h.  Seeds are valid rings with several records, wrapped
 * records, records near 2^64, discarded and BUSY records, a few corrupt
 * rings, and producer scenarios (fill and wrap, the CVE-2024-41009 consumer
 * jump, hostile headers and positions, commits of stray pointers).
 */
#define FZ_NO_RING
#include "fuzz_common.h"

#include <sys/stat.h>

static const char *outdir;
static unsigned char buf[65536];
static size_t blen;

static void put(const void *p, size_t n)
{
	if (blen + n > sizeof(buf)) {
		fprintf(stderr, "seed too large\n");
		exit(1);
	}
	memcpy(buf + blen, p, n);
	blen += n;
}

static void save(const char *sub, const char *name)
{
	static int seq[3];
	int which = sub[0] == 'p' ? 1 : sub[0] == 'a' ? 2 : 0;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%02d-%s", outdir, sub, seq[which]++, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, blen, f) != blen || fclose(f)) {
		perror(path);
		exit(1);
	}
	blen = 0;
}

/* ---- consumer seeds ------------------------------------------------------ */

/* A ring image under construction: records laid out from consumer_pos. */
static unsigned char img[8192];
static size_t ilen;

static void rec(uint32_t len_bits, uint32_t payload_len)
{
	uint32_t pg = 0;
	size_t r = (payload_len + 8 + 7) & ~(size_t)7;

	memcpy(img + ilen, &len_bits, 4);
	memcpy(img + ilen + 4, &pg, 4);
	for (uint32_t i = 0; i < payload_len; i++)
		img[ilen + 8 + i] = (unsigned char)('a' + i % 26);
	ilen += r;
}

static void cons_seed(const char *name, uint8_t flags, uint8_t calls, uint8_t n,
		      uint8_t notify, uint64_t cons, int64_t prod_delta, int64_t pend_delta,
		      const struct fz_action *acts, size_t nacts)
{
	struct fz_cons_hdr h = {
		.flags = flags | FZ_F_RELATIVE, .calls = calls, .n = n,
		.script_len = (uint8_t)nacts, .meta_notify = notify,
		.cons = cons, .prod = (uint64_t)prod_delta, .pend = (uint64_t)pend_delta,
	};

	put(&h, sizeof(h));
	put(acts, nacts * sizeof(*acts));
	put(img, ilen);
	save("consumer", name);
	ilen = 0;
	memset(img, 0, sizeof(img));
}

static void consumer_seeds(void)
{
	const uint8_t all3 = FZ_CALL_CONSUME_N | FZ_CALL_CONSUME << 2 | FZ_CALL_POLL0 << 4;
	struct fz_action a[4];

	cons_seed("empty", 0, 0, 0, 0, 0, 0, 0, NULL, 0);

	rec(5, 5);
	rec(16, 16);
	rec(0, 0);
	rec(100, 100);
	cons_seed("four-records", 0, 0, 0, 0, 0, (int64_t)ilen, (int64_t)ilen, NULL, 0);

	rec(3, 3);
	rec(40, 40);
	rec(7, 7);
	cons_seed("wrapped", 0, 0, 0, 0, 4096 - 16, (int64_t)ilen, 0, NULL, 0);

	rec(24, 24);
	rec(200, 200);
	cons_seed("wrapped-big-ring", FZ_F_BIG_RING, FZ_CALL_POLL0, 0, 0, 8192 - 8,
		  (int64_t)ilen, 0, NULL, 0);

	rec(8, 8);
	rec(RINGBUF_DISCARD_BIT | 12, 12);
	rec(9, 9);
	rec(RINGBUF_BUSY_BIT | 30, 30);
	rec(4, 4);
	cons_seed("discard-busy", 0, all3, 1, 0, 64, (int64_t)ilen, 0, NULL, 0);

	rec(1, 1);
	rec(2, 2);
	rec(3, 3);
	cons_seed("near-2p64", 0, 0, 0, 0, (uint64_t)-32, (int64_t)ilen, 0, NULL, 0);

	for (int i = 0; i < 40; i++)
		rec((uint32_t)(i % 13), (uint32_t)(i % 13));
	cons_seed("many-n", 0, all3, 7, 0, 0, (int64_t)ilen, 0, NULL, 0);

	for (int i = 0; i < 500; i++)
		rec(i % 5 == 4 ? RINGBUF_DISCARD_BIT | 4 : 4, 4);
	cons_seed("many-small-big-ring", FZ_F_BIG_RING, 0, 0, 0, 0, (int64_t)ilen, 0, NULL, 0);

	rec(10, 10);
	rec(500, 40); /* runs past producer_pos */
	cons_seed("corrupt-len", 0, 0, 0, 0, 0, (int64_t)ilen, 0, NULL, 0);

	rec(10, 10);
	cons_seed("corrupt-misaligned", 0, FZ_CALL_POLL0, 0, 0, 4, (int64_t)ilen, 0, NULL, 0);

	rec(10, 10);
	cons_seed("corrupt-too-far", 0, 0, 0, 0, 0, 4096 + 8, 0, NULL, 0);

	rec(10, 10);
	rec(20, 20);
	cons_seed("notify-poll", 0, FZ_CALL_POLL0 | FZ_CALL_POLL0 << 2, 0, 3, 0, (int64_t)ilen,
		  0, NULL, 0);

	/* Peer writes in the middle of a consume: the producer publishes one
	 * more record, then a header is rewritten, then the callback stops. */
	rec(16, 16);
	rec(16, 16);
	rec(16, 16);
	rec(RINGBUF_BUSY_BIT | 16, 16);
	memset(a, 0, sizeof(a));
	a[0] = (struct fz_action){ .at = 0, .kind = FZ_A_PROD_REL, .val = 24 };
	a[1] = (struct fz_action){ .at = 1, .kind = FZ_A_HDR_NEXT, .val = 4000 };
	a[2] = (struct fz_action){ .at = 2, .kind = FZ_A_STOP };
	a[3] = (struct fz_action){ .at = 3, .kind = FZ_A_CONS, .val = 12345 };
	cons_seed("mid-consume-peer", 0, FZ_CALL_CONSUME | FZ_CALL_CONSUME << 2, 0, 0, 0,
		  3 * 24, 0, a, 4);

	/* A producer that keeps publishing during the consume: every callback
	 * moves producer_pos on by one more empty record (the ring is zero). */
	for (int i = 0; i < 4; i++)
		a[i] = (struct fz_action){ .at = (uint8_t)i, .kind = FZ_A_PROD_REL, .val = 8 };
	cons_seed("endless-producer", 0, 0, 0, 0, 0, 8, 0, a, 4);
}

/* ---- producer seeds ------------------------------------------------------ */

static struct fz_op ops[FZ_MAX_OPS];
static size_t nops;

static void op(uint8_t kind, uint8_t a, uint16_t b, uint32_t c)
{
	ops[nops++] = (struct fz_op){ .op = kind, .a = a, .b = b, .c = c };
}

static void prod_seed(const char *name, uint8_t flags, uint64_t cons, int64_t prod_delta,
		      int64_t pend_delta)
{
	struct fz_prod_hdr h = {
		.flags = flags | FZ_F_RELATIVE,
		.cons = cons, .prod = (uint64_t)prod_delta, .pend = (uint64_t)pend_delta,
	};

	put(&h, sizeof(h));
	put(ops, nops * sizeof(ops[0]));
	save("producer", name);
	nops = 0;
}

static void producer_seeds(void)
{
	/* basic API use */
	op(FZ_OP_OUTPUT, 0, 0, 10);
	op(FZ_OP_RESERVE, 0, 0, 20);
	op(FZ_OP_RESERVE, 0, 0, 5);
	op(FZ_OP_SUBMIT, 0, 0, 0);
	op(FZ_OP_DISCARD, 1, 0, 0);
	for (uint8_t w = 0; w < 5; w++)
		op(FZ_OP_QUERY, w, 0, 0);
	op(FZ_OP_CONSUME, 0, 0, 0);
	op(FZ_OP_OUTPUT, 2, 0, 0);
	op(FZ_OP_CONSUME, 1, 0, 0);
	prod_seed("basic", 0, 0, 0, 0);

	/* fill the ring, drain, wrap */
	for (int i = 0; i < 6; i++)
		op(FZ_OP_OUTPUT, 1, 0, 1000);
	op(FZ_OP_CONSUME, 2, 0, 0);
	for (int i = 0; i < 4; i++)
		op(FZ_OP_OUTPUT, 1, 0, 700);
	op(FZ_OP_CATCH_UP, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		op(FZ_OP_RESERVE_WAIT, 0, 0, 900);
	for (int i = 0; i < 4; i++)
		op(FZ_OP_SUBMIT, 2, 0, 0);
	op(FZ_OP_CONSUME, 0, 0, 0);
	prod_seed("fill-wrap", 0, 0, 0, 0);

	/* same near 2^64, big ring */
	for (int i = 0; i < 10; i++)
		op(FZ_OP_RESERVE, 0, 0, (uint32_t)(300 * i));
	for (int i = 0; i < 10; i++)
		op(FZ_OP_SUBMIT, 0, 0, 0);
	op(FZ_OP_CONSUME, 0, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 4000);
	prod_seed("near-2p64", FZ_F_BIG_RING, (uint64_t)-4096, 0, 0);

	/* CVE-2024-41009: a BUSY record, the consumer jumps past it, a big
	 * reservation must not land on it */
	op(FZ_OP_RESERVE, 0, 0, 100);
	op(FZ_OP_OUTPUT, 0, 0, 50);
	op(FZ_OP_SET_CONS, 1, 0, 0);     /* consumer_pos = producer_pos */
	op(FZ_OP_RESERVE, 0, 0, 3900);
	op(FZ_OP_RESERVE, 0, 0, 3000);
	op(FZ_OP_SET_CACHE, 1, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 3800);
	op(FZ_OP_SUBMIT, 0, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 3800);
	prod_seed("cve-2024-41009", 0, 0, 0, 0);

	/* hostile positions and headers */
	op(FZ_OP_OUTPUT, 0, 0, 16);
	op(FZ_OP_SET_HDR, 0, 0, 4000);   /* huge len at the first record */
	op(FZ_OP_SET_PEND, 3, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 4000);
	op(FZ_OP_SET_PROD, 1, 0, 4);     /* misaligned */
	op(FZ_OP_OUTPUT, 0, 0, 8);
	op(FZ_OP_SET_PROD, 2, 0, 8192);  /* too far ahead of pending */
	op(FZ_OP_RESERVE, 0, 0, 8);
	op(FZ_OP_SET_PROD, 2, 0, 64);
	op(FZ_OP_SET_HDR, 0, 4, 0x80000008u);
	op(FZ_OP_SET_HDR, 0, 2, 0x40000000u);
	op(FZ_OP_OUTPUT, 0, 0, 4000);
	op(FZ_OP_CONSUME, 0, 0, 0);
	prod_seed("hostile-positions", 0, 0, 0, 0);

	/* commits of things that are not samples */
	op(FZ_OP_RESERVE, 0, 0, 32);
	op(FZ_OP_COMMIT_PTR, 0, 0, 4 * 4096 + 64 + 16);           /* data + 16 */
	op(FZ_OP_COMMIT_PTR, 0, 0, 4 * 4096 + 64 + 4096 + 8);     /* second copy */
	op(FZ_OP_COMMIT_PTR, 1, 0, 4 * 4096 + 64 + 3);            /* misaligned */
	op(FZ_OP_COMMIT_PTR, 2, 0, 0);                            /* canary */
	op(FZ_OP_COMMIT_PTR, 4, 0, 0);                            /* past the end */
	op(FZ_OP_COMMIT_PTR, 4, 0, 1);                            /* NULL */
	op(FZ_OP_COMMIT_PTR, 6, 0, 128);                          /* meta page */
	op(FZ_OP_COMMIT_PTR, 6, 0, 4096);                         /* consumer page */
	op(FZ_OP_COMMIT_PTR, 7, 0, 8192);                         /* producer page */
	op(FZ_OP_SUBMIT, 0, 0, 0);                                /* twice */
	prod_seed("stray-pointers", 0, 0, 0, 0);

	/* error order and flags */
	op(FZ_OP_OUTPUT, 8, 0, 1);        /* undefined flag bit */
	op(FZ_OP_OUTPUT, 0x80, 0, 5);     /* NULL data */
	op(FZ_OP_OUTPUT, 0x80, 0, 0);     /* NULL data, size 0: fine */
	op(FZ_OP_OUTPUT, 0, 0, 4088);     /* round_up(4096) >= size */
	op(FZ_OP_OUTPUT, 0, 0, 4080);
	op(FZ_OP_RESERVE, 0x81, 0, 1);    /* flags */
	op(FZ_OP_RESERVE, 0, 0x8000 | 32, 1); /* 2^32 */
	op(FZ_OP_RESERVE, 0, 0x8000 | 62, 3); /* 3 << 62 */
	op(FZ_OP_RESERVE_WAIT, 0, 0, 0x40000000u);
	op(FZ_OP_OUTPUT, 0, 0, 0x3fffffffu);
	prod_seed("errors", 0, 0, 0, 0);

	/* notifications */
	op(FZ_OP_NOTIFY, 1, 0, 0);
	op(FZ_OP_OUTPUT, 2, 0, 8);
	op(FZ_OP_NOTIFY, 3, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 8);
	op(FZ_OP_RESERVE, 0, 0, 8);
	op(FZ_OP_NOTIFY, 1, 0, 0);
	op(FZ_OP_DISCARD, 2, 0, 0);
	op(FZ_OP_CONSUME, 0, 0, 0);
	prod_seed("notify", 0, 0, 0, 0);

	/* a lap of small records so pending_pos must be walked */
	for (int i = 0; i < 200; i++)
		op(FZ_OP_OUTPUT, 1, 0, (uint32_t)(i % 9));
	op(FZ_OP_CATCH_UP, 0, 0, 0);
	op(FZ_OP_RESERVE, 0, 0, 3000);
	op(FZ_OP_OUTPUT, 0, 0, 1000);
	op(FZ_OP_SUBMIT, 0, 0, 0);
	op(FZ_OP_CATCH_UP, 0, 0, 0);
	op(FZ_OP_OUTPUT, 0, 0, 4000);
	prod_seed("pending-walk", 0, 0, 0, 0);
}

/* ---- attach seeds -------------------------------------------------------- */

static void att(const char *name, uint8_t kind, uint8_t seals, uint8_t size_mode,
		uint32_t version, uint32_t page_size, int32_t delta, uint64_t data_size,
		int bad_magic)
{
	struct fz_attach a = {
		.kind = kind, .seals = seals, .size_mode = size_mode,
		.magic_mode = (uint8_t)bad_magic, .version = version, .page_size = page_size,
		.delta = delta, .magic = bad_magic ? RINGBUF_MAGIC ^ 1 : 0,
		.data_size = data_size,
	};

	put(&a, sizeof(a));
	save("attach", name);
}

static void attach_seeds(void)
{
	att("valid-4k", 0, 1 | 2 | 8, 0, 1, 0, 0, 4096, 0);
	att("valid-64k", 0, 1, 0, 1, 0, 0, 65536, 0);
	att("valid-2g", 0, 1, 0, 1, 0, 0, 1ull << 31, 0);
	att("too-big-4g", 0, 1, 0, 1, 0, 0, 1ull << 32, 0);
	att("bad-magic", 0, 1, 0, 1, 0, 0, 4096, 1);
	att("version-2", 0, 1, 0, 2, 0, 0, 4096, 0);
	att("page-size", 0, 1, 0, 1, 8192, 0, 8192, 0);
	att("not-pow2", 0, 1, 0, 1, 0, 0, 12288, 0);
	att("size-mismatch", 0, 1, 1, 1, 0, 4096, 4096, 0);
	att("short-file", 0, 1, 2, 1, 0, 8192, 4096, 0);
	att("unsealed", 0, 2, 0, 1, 0, 0, 4096, 0);
	att("pipe", 4, 0, 0, 1, 0, 0, 4096, 0);
	att("fd-minus-1", 5, 0, 0, 1, 0, 0, 4096, 0);
	att("closed-fd", 6, 0, 0, 1, 0, 0, 4096, 0);
	att("directory", 7, 0, 0, 1, 0, 0, 4096, 0);
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	snprintf(path, sizeof(path), "%s/consumer", outdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/producer", outdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/attach", outdir);
	mkdir(path, 0755);
	consumer_seeds();
	producer_seeds();
	attach_seeds();
	return 0;
}
