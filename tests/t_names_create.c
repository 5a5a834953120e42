/* SPDX-License-Identifier: MIT */
/*
 * t_names_create -- the t_names tests of: test_create_basic, test_validation, test_not_a_ring.
 * What they share, and the whole plan, are in tests/common/names.h.
 */
#include "names.h"

static void test_create_basic(void)
{
	char name[256], other[256];
	struct stat st;

	mkname(name, sizeof(name), "basic");
	CHECK(!name_exists(name));

	/* Default mode 0600, the file is a ring's size. */
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	st = name_stat(name);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 3 * g_page + g_ds);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_RING_SIZE), g_ds);

	/* The creator's fd is the named file. */
	struct stat fst;
	CHECK_EQ(fstat(ringbuf_fd(rb), &fst), 0);
	CHECK_EQ(fst.st_ino, st.st_ino);
	CHECK_EQ(fst.st_dev, st.st_dev);

	/* Opened by name: the same ring. */
	struct ringbuf *o = ringbuf_open(name, NULL);
	CHECK(o != NULL);
	CHECK_EQ(ringbuf_query(o, RINGBUF_RING_SIZE), g_ds);
	for (uint32_t i = 0; i < 5; i++)
		CHECK_EQ(out_rec(rb, 0xA1, i, 0), 0);
	consume_expect(o, 0xA1, 0, 5);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_CONS_POS), ringbuf_query(o, RINGBUF_CONS_POS));

	/* EEXIST: any size, any opts, the existing ring untouched. */
	for (uint32_t i = 5; i < 8; i++)
		CHECK_EQ(out_rec(o, 0xA1, i, 0), 0);
	uint64_t prod = ringbuf_query(rb, RINGBUF_PROD_POS);
	struct ringbuf_opts mode0666 = { .sz = sizeof(mode0666), .mode = 0666 };
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_create_err(name, g_ds, NULL, EEXIST, "existing name");
	expect_create_err(name, 2 * g_ds, NULL, EEXIST, "existing name, other size");
	expect_create_err(name, g_ds, &mode0666, EEXIST, "existing name, mode 0666");
	expect_create_err(name, g_ds, &cons, EEXIST, "existing name, consumer role");
	st = name_stat(name);
	CHECK_EQ(st.st_ino, fst.st_ino);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 3 * g_page + g_ds);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_PROD_POS), prod);
	consume_expect(rb, 0xA1, 5, 8);
	ringbuf_free(o);

	/* A creator with the consumer role; EEXIST left the claim alone. */
	o = ringbuf_open(name, &cons);
	CHECK(o != NULL);
	ringbuf_free(o);

	/* Explicit modes, exactly (umask is 0 here). */
	static const uint32_t modes[] = { 0640, 0660, 0604, 0400, 0666 };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char sfx[32];
		snprintf(sfx, sizeof(sfx), "mode%o", modes[i]);
		mkname(other, sizeof(other), sfx);
		struct ringbuf_opts m = { .sz = sizeof(m), .mode = modes[i] };
		struct ringbuf *r = ringbuf_create(other, g_ds, &m);
		CHECK(r != NULL);
		CHECK_EQ(name_stat(other).st_mode & 07777, modes[i]);
		CHECK_EQ(out_rec(r, 0xA2, 0, 0), 0); /* the creator can use it */
		consume_expect(r, 0xA2, 0, 1);
		ringbuf_free(r);
		CHECK_EQ(ringbuf_unlink(other), 0);
	}
	/* mode 0 in opts: the default. */
	mkname(other, sizeof(other), "mode0");
	struct ringbuf_opts m0 = { .sz = sizeof(m0) };
	struct ringbuf *r = ringbuf_create(other, g_ds, &m0);
	CHECK(r != NULL);
	CHECK_EQ(name_stat(other).st_mode & 07777, 0600);
	ringbuf_free(r);
	CHECK_EQ(ringbuf_unlink(other), 0);

	/* Unlink: 0, then ENOENT everywhere; users keep the ring. */
	o = ringbuf_open(name, NULL);
	CHECK(o != NULL);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK(!name_exists(name));
	expect_unlink_err(name, ENOENT, "unlinked name");
	expect_open_err(name, NULL, ENOENT, "unlinked name");
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(out_rec(rb, 0xA3, i, 0), 0);
	consume_expect(o, 0xA3, 0, 3);
	CHECK_EQ(out_rec(o, 0xA3, 3, 0), 0);
	consume_expect(rb, 0xA3, 3, 4);

	/* The name is free again: a new, distinct ring. */
	struct ringbuf *n2 = ringbuf_create(name, 2 * g_ds, NULL);
	CHECK(n2 != NULL);
	CHECK_EQ(ringbuf_query(n2, RINGBUF_RING_SIZE), 2 * g_ds);
	CHECK_EQ(ringbuf_query(n2, RINGBUF_PROD_POS), 0);
	CHECK_EQ(out_rec(n2, 0xA4, 0, 0), 0);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0); /* the old ring saw nothing */
	struct ringbuf *n3 = ringbuf_open(name, NULL);
	CHECK(n3 != NULL);
	CHECK_EQ(ringbuf_query(n3, RINGBUF_RING_SIZE), 2 * g_ds);
	consume_expect(n3, 0xA4, 0, 1);
	ringbuf_free(n3);
	ringbuf_free(n2);
	CHECK_EQ(ringbuf_unlink(name), 0);
	ringbuf_free(o);
	ringbuf_free(rb);

	/* Opened by name in another process, which keeps producing after the
	 * unlink. */
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	struct peer p = peer_start(name);
	peer_open(&p, RINGBUF_ROLE_PRODUCER);
	CHECK_EQ(ringbuf_unlink(name), 0);
	CHECK_EQ(peer_call(&p, 'o', 0xA5, 0).ret, 0);
	CHECK_EQ(peer_call(&p, 'o', 0xA5, 1).ret, 0);
	consume_expect(rb, 0xA5, 0, 2);
	peer_end(&p);
	ringbuf_free(rb);
	CHECK_EQ(our_files(false), 0);
	printf("create/open/unlink: ok\n");
}

static void test_validation(void)
{
	char name[256], buf[512];
	struct ringbuf_opts o;

	/* Bad names. */
	expect_bad_name("", "empty");
	expect_bad_name(".x", "leading dot");
	expect_bad_name(".", "dot");
	expect_bad_name("..", "dot dot");
	expect_bad_name("a/b", "slash");
	expect_bad_name("../x", "dot dot slash");
	expect_bad_name("/x", "leading slash");
	snprintf(buf, sizeof(buf), "%sa b", g_prefix);
	expect_bad_name(buf, "space");
	snprintf(buf, sizeof(buf), "%s ", g_prefix);
	expect_bad_name(buf, "trailing space");
	snprintf(buf, sizeof(buf), "%scaf\xc3\xa9", g_prefix);
	expect_bad_name(buf, "UTF-8");
	snprintf(buf, sizeof(buf), "%s\xff", g_prefix);
	expect_bad_name(buf, "byte 0xff");
	snprintf(buf, sizeof(buf), "%sa\nb", g_prefix);
	expect_bad_name(buf, "newline");
	snprintf(buf, sizeof(buf), "%sa*", g_prefix);
	expect_bad_name(buf, "star");
	snprintf(buf, sizeof(buf), "%sa:b", g_prefix);
	expect_bad_name(buf, "colon");
	expect_bad_name(NULL, "NULL");

	/* 200 characters work, 201 do not. */
	size_t plen = strlen(g_prefix);
	memcpy(buf, g_prefix, plen);
	memset(buf + plen, 'x', 201 - plen);
	buf[201] = 0;
	expect_bad_name(buf, "201 characters");
	buf[200] = 0;
	CHECK_EQ(strlen(buf), 200);
	struct ringbuf *rb = ringbuf_create(buf, g_ds, NULL);
	CHECK(rb != NULL);
	CHECK(name_exists(buf));
	struct ringbuf *o2 = ringbuf_open(buf, NULL);
	CHECK(o2 != NULL);
	CHECK_EQ(out_rec(rb, 0xB0, 0, 0), 0);
	consume_expect(o2, 0xB0, 0, 1);
	ringbuf_free(o2);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(buf), 0);
	CHECK(!name_exists(buf));

	/* Every allowed character class, dots after the first. */
	snprintf(buf, sizeof(buf), "%sAZaz09._-.", g_prefix);
	rb = ringbuf_create(buf, g_ds, NULL);
	CHECK(rb != NULL);
	CHECK(name_exists(buf));
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(buf), 0);

	/* Bad sizes: EINVAL, no file. */
	mkname(name, sizeof(name), "size");
	const size_t bad_sizes[] = { 0, 1, g_page / 2, g_page - 1, g_page + 1, 3 * g_page,
				     g_ds + 8, (size_t)RINGBUF_MAX_DATA_SIZE * 2, SIZE_MAX };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		expect_create_err(name, bad_sizes[i], NULL, EINVAL, "bad size");
		CHECK(!name_exists(name));
	}

	/* Bad opts: EINVAL, no file; open refuses them too. */
	const struct {
		struct ringbuf_opts o;
		const char *what;
	} bad[] = {
		{ { .sz = sizeof(o), .mode = 010000 }, "mode 010000" },
		{ { .sz = sizeof(o), .mode = 0xffffffff }, "mode ~0" },
		{ { .sz = sizeof(o), .role = 8 }, "role 8" },
		{ { .sz = sizeof(o), .role = 5 }, "role 5 (the observer with another)" },
		{ { .sz = sizeof(o), .role = 0x80000000u }, "role 1<<31" },
		{ { .sz = sizeof(o), .flags = 1 }, "flags 1" },
		{ { .sz = sizeof(o), .flags = 1ull << 63 }, "flags 1<<63" },
		{ { .sz = 0 }, "sz 0" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_create_err(name, g_ds, &bad[i].o, EINVAL, bad[i].what);
		CHECK(!name_exists(name));
	}
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bad[i].o.mode == 0) /* mode is create's only */
			expect_open_err(name, &bad[i].o, EINVAL, bad[i].what);
	/* A larger struct with a nonzero byte past the known fields. */
	struct {
		struct ringbuf_opts o;
		uint64_t more;
	} big;
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.more = 1;
	expect_open_err(name, &big.o, EINVAL, "unknown nonzero field");
	char n2[256];
	mkname(n2, sizeof(n2), "size2");
	expect_create_err(n2, g_ds, &big.o, EINVAL, "unknown nonzero field");
	CHECK(!name_exists(n2));
	big.more = 0;
	struct ringbuf *ok = ringbuf_open(name, &big.o);
	CHECK(ok != NULL);
	ringbuf_free(ok);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* ENOENT */
	mkname(name, sizeof(name), "missing");
	expect_open_err(name, NULL, ENOENT, "missing");
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &cons, ENOENT, "missing, consumer");
	expect_unlink_err(name, ENOENT, "missing");

	CHECK_EQ(our_files(false), 0);
	printf("validation: ok\n");
}

/* Files under a ring's name that are not rings of this layout. */
static void test_not_a_ring(void)
{
	char name[256], src[256];
	size_t fsize = 3 * g_page + g_ds;
	uint8_t *img = malloc(fsize);
	CHECK(img != NULL);

	mkname(name, sizeof(name), "notring");

	write_file(name, NULL, 0, 0);
	expect_open_err(name, NULL, EPROTO, "empty file");
	CHECK_EQ(ringbuf_unlink(name), 0); /* unlink removes any file of the name */

	write_file(name, "garbage!", 8, 8);
	expect_open_err(name, NULL, EPROTO, "8 bytes of garbage");
	CHECK_EQ(ringbuf_unlink(name), 0);

	uint64_t st = 0x1234567;
	for (size_t i = 0; i < fsize; i++)
		img[i] = (uint8_t)t_rand(&st);
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTO, "a ring's size of garbage");
	CHECK_EQ(ringbuf_unlink(name), 0);

	write_file(name, NULL, 0, fsize);
	expect_open_err(name, NULL, EPROTO, "a ring's size of zeros");
	CHECK_EQ(ringbuf_unlink(name), 0);

	char path[512];
	shm_path(path, sizeof(path), name);
	CHECK_EQ(mkfifo(path, 0600), 0);
	expect_open_err(name, NULL, EPROTO, "a FIFO");
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* A copy of a real ring's bytes: opens (and carries its records);
	 * edited, it does not. */
	mkname(src, sizeof(src), "src");
	struct ringbuf *rb = ringbuf_create(src, g_ds, NULL);
	CHECK(rb != NULL);
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(out_rec(rb, 0xC1, i, 0), 0);
	CHECK_EQ(pread(ringbuf_fd(rb), img, fsize, 0), (ssize_t)fsize);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(src), 0);
	uint32_t v;
	memcpy(&v, img + 8, 4);
	CHECK_EQ(v, RINGBUF_LAYOUT_VERSION);

	write_file(name, img, fsize, fsize);
	rb = ringbuf_open(name, NULL);
	CHECK(rb != NULL);
	consume_expect(rb, 0xC1, 0, 3);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	v = RINGBUF_LAYOUT_VERSION + 1;
	memcpy(img + 8, &v, 4);
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTONOSUPPORT, "version + 1");
	struct ringbuf_opts cons = opts_role(RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &cons, EPROTONOSUPPORT, "version + 1, consumer");
	CHECK_EQ(ringbuf_unlink(name), 0);
	v = RINGBUF_LAYOUT_VERSION;
	memcpy(img + 8, &v, 4);

	img[0] ^= 1; /* magic */
	write_file(name, img, fsize, fsize);
	expect_open_err(name, NULL, EPROTO, "wrong magic");
	CHECK_EQ(ringbuf_unlink(name), 0);
	img[0] ^= 1;

	write_file(name, img, fsize, fsize - g_page); /* a truncated ring */
	expect_open_err(name, NULL, EPROTO, "a page short");
	CHECK_EQ(ringbuf_unlink(name), 0);

	write_file(name, img, fsize, 3 * g_page - 1); /* shorter than the header */
	expect_open_err(name, NULL, EPROTO, "shorter than 3 pages");
	CHECK_EQ(ringbuf_unlink(name), 0);

	free(img);
	CHECK_EQ(our_files(false), 0);
	printf("not a ring: ok\n");
}

int main(void)
{
	names_begin();

	test_create_basic();
	test_validation();
	test_not_a_ring();
	CHECK_EQ(our_files(false), 0);
	return T_PASS;
}
