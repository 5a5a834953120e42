/* SPDX-License-Identifier: MIT */
/*
 * t_names_roles -- the t_names tests of: test_roles, test_claim.
 * What they share, and the whole plan, are in tests/common/names.h.
 */
#include <sys/wait.h>
#include "names.h"

static void test_roles(void)
{
	char name[256];
	uintptr_t before[MAX_VMAS];

	mkname(name, sizeof(name), "roles");
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	struct stat st = name_stat(name);

	/* The role-0 creator: everything writable. */
	int nb = handle_bases(&st, before);
	CHECK_EQ(nb, 1);
	check_layout(&st, before[0], 0);
	uintptr_t creator = before[0];

	/* Producer handle. */
	struct ringbuf_opts o = opts_role(RINGBUF_ROLE_PRODUCER);
	struct ringbuf *p = ringbuf_open(name, &o);
	CHECK(p != NULL);
	uintptr_t pbase = new_base(&st, before, nb);
	check_layout(&st, pbase, RINGBUF_ROLE_PRODUCER);
	expect_consume_err(p, EOPNOTSUPP);
	CHECK_EQ(out_rec(p, 0xE1, 0, 0), 0);
	void *s = ringbuf_reserve(p, rec_size(1), 0);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 1);
	ringbuf_submit(s, 0);
	s = ringbuf_reserve_wait(p, rec_size(2), 10);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 2);
	ringbuf_submit(s, 0);
	s = ringbuf_reserve(p, 16, 0);
	CHECK(s != NULL);
	ringbuf_discard(s, 0);
	CHECK_EQ(ringbuf_query(p, RINGBUF_RING_SIZE), g_ds);
	expect_consume_err(p, EOPNOTSUPP); /* records waiting change nothing */
	consume_expect(rb, 0xE1, 0, 3);
	CHECK_EQ(ringbuf_query(p, RINGBUF_CONS_POS), ringbuf_query(rb, RINGBUF_CONS_POS));

	/* Consumer handle. */
	nb = handle_bases(&st, before);
	CHECK_EQ(nb, 2);
	o = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *c = ringbuf_open(name, &o);
	CHECK(c != NULL);
	uintptr_t cbase = new_base(&st, before, nb);
	check_layout(&st, cbase, RINGBUF_ROLE_CONSUMER);
	expect_produce_err(c, EOPNOTSUPP);
	CHECK_EQ(ringbuf_query(c, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(ringbuf_consume(c, never_cb, NULL), 0);
	CHECK_EQ(ringbuf_poll(c, never_cb, NULL, 0), 0);

	/* submit/discard of a pointer into the consumer handle's data: a BUSY
	 * record reserved through the producer handle, seen through c. */
	s = ringbuf_reserve(p, rec_size(3), 0);
	CHECK(s != NULL);
	rec_fill(s, 0xE1, 3);
	uintptr_t off = (uintptr_t)s - (pbase + 3 * g_page);
	CHECK(off < g_ds);
	CHECK_EQ(memcmp((void *)(cbase + 3 * g_page + off), s, rec_size(3)), 0);
	uint32_t hdr;
	memcpy(&hdr, (void *)(cbase + 3 * g_page + off - 8), 4);
	CHECK(hdr & RINGBUF_BUSY_BIT);
	void *alias[] = { (void *)(cbase + 3 * g_page + off),
			  (void *)(cbase + 3 * g_page + g_ds + off) };
	for (int i = 0; i < 2; i++) {
		errno = 0;
		ringbuf_submit(alias[i], 0);
		CHECK_EQ(errno, EINVAL);
		errno = 0;
		ringbuf_discard(alias[i], RINGBUF_FORCE_WAKEUP);
		CHECK_EQ(errno, EINVAL);
	}
	memcpy(&hdr, (void *)(cbase + 3 * g_page + off - 8), 4);
	CHECK(hdr & RINGBUF_BUSY_BIT);
	CHECK(ringbuf_query(c, RINGBUF_AVAIL_DATA) > 0);
	CHECK_EQ(ringbuf_consume(c, never_cb, NULL), 0); /* still BUSY */
	/* the same record through the creator's (writable) alias is real */
	ringbuf_submit((void *)(creator + 3 * g_page + off), 0);
	struct col col = { .tag = 0xE1, .next = 3, .ordered = true };
	CHECK_EQ(ringbuf_consume(c, col_cb, &col), 1);
	CHECK_EQ(col.next, 4);

	/* The role-0 creator cannot consume while c's claim stands (checked
	 * across processes in the claim test); after c is freed it can. */
	ringbuf_free(c);
	CHECK_EQ(out_rec(p, 0xE1, 4, 0), 0);
	consume_expect(rb, 0xE1, 4, 5);

	ringbuf_free(p);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);

	/* ringbuf_new with roles. */
	o = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf *nc = ringbuf_new(g_ds, &o);
	CHECK(nc != NULL);
	expect_produce_err(nc, EOPNOTSUPP);
	CHECK_EQ(ringbuf_consume(nc, never_cb, NULL), 0);
	/* its claim holds for from_fd too */
	CHECK_NULL_ERR(ringbuf_from_fd(ringbuf_fd(nc), &o), EBUSY);
	struct ringbuf_opts po = opts_role(RINGBUF_ROLE_PRODUCER);
	struct ringbuf *np = ringbuf_from_fd(ringbuf_fd(nc), &po);
	CHECK(np != NULL);
	expect_consume_err(np, EOPNOTSUPP);
	CHECK_EQ(out_rec(np, 0xE2, 0, 0), 0);
	struct col col2 = { .tag = 0xE2, .ordered = true };
	CHECK_EQ(ringbuf_consume(nc, col_cb, &col2), 1);
	ringbuf_free(nc);
	struct ringbuf *nc2 = ringbuf_from_fd(ringbuf_fd(np), &o); /* claim released */
	CHECK(nc2 != NULL);
	ringbuf_free(nc2);
	ringbuf_free(np);

	o = opts_role(RINGBUF_ROLE_PRODUCER);
	np = ringbuf_new(g_ds, &o);
	CHECK(np != NULL);
	expect_consume_err(np, EOPNOTSUPP);
	CHECK_EQ(out_rec(np, 0xE3, 0, 0), 0);
	ringbuf_free(np);

	/* from_fd of a named ring's fd: EPROTO (not size-sealed), whichever
	 * handle's fd it is. */
	rb = ringbuf_create(name, g_ds, NULL);
	CHECK(rb != NULL);
	CHECK_NULL_ERR(ringbuf_from_fd(ringbuf_fd(rb), NULL), EPROTO);
	struct ringbuf *op = ringbuf_open(name, NULL);
	CHECK(op != NULL);
	CHECK_NULL_ERR(ringbuf_from_fd(ringbuf_fd(op), NULL), EPROTO);
	char path[512];
	shm_path(path, sizeof(path), name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_NULL_ERR(ringbuf_from_fd(fd, NULL), EPROTO);
	close(fd);
	ringbuf_free(op);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("roles: ok\n");
}

static void test_claim(void)
{
	char name[256];
	struct ringbuf_opts co = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf_opts po = opts_role(RINGBUF_ROLE_PRODUCER);
	struct reply r;

	mkname(name, sizeof(name), "claim");
	struct ringbuf *rb = ringbuf_create(name, g_ds, NULL); /* role 0 */
	CHECK(rb != NULL);
	struct ringbuf *prod = ringbuf_open(name, &po);
	CHECK(prod != NULL);

	/* e1: a live consumer in another process. */
	struct peer a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "second consumer, other process holds");
	struct peer b = peer_start(name);
	r = peer_call(&b, 'n', 0, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EBUSY); /* a third process too */
	peer_open(&b, 0);       /* role 0 opens, but cannot consume */
	CHECK_EQ(out_rec(prod, 0xF1, 0, 0), 0);
	r = peer_call(&b, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, -EBUSY);
	CHECK_EQ(r.err, EBUSY);
	expect_consume_err(rb, EBUSY); /* the role-0 creator */
	struct ringbuf *p2 = ringbuf_open(name, &po); /* producers are not refused */
	CHECK(p2 != NULL);
	ringbuf_free(p2);
	r = peer_call(&a, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, 1);
	CHECK_EQ(r.c.seq[0], 0);

	/* released by ringbuf_free() while the process lives on */
	peer_call(&a, 'f', 0, 0);
	CHECK_EQ(out_rec(prod, 0xF1, 1, 0), 0);
	r = peer_call(&b, 'c', 0xF1, 100);
	CHECK_EQ(r.ret, 1);
	CHECK_EQ(r.c.seq[0], 1);
	peer_end(&b);
	struct ringbuf *c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	expect_open_err(name, &co, EBUSY, "second consumer, same process");
	r = peer_call(&a, 'n', 0, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EBUSY); /* now we hold it */
	ringbuf_free(c1);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	ringbuf_free(c1);
	peer_end(&a);
	consume_expect(rb, 0xF1, 2, 2); /* the role-0 handle works again */

	/* e2: the claimant is killed, then reaped. */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "consumer alive");
	peer_kill(&a, true);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	ringbuf_free(c1);

	/* e3: the claimant is killed and still a zombie (our child). */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	expect_open_err(name, &co, EBUSY, "consumer alive");
	peer_kill(&a, false);
	CHECK_EQ(proc_state(a.pid), 'Z');
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	CHECK_EQ(proc_state(a.pid), 'Z'); /* taken over before the reaping */
	expect_open_err(name, &co, EBUSY, "taken over");
	ringbuf_free(c1);
	int status;
	CHECK_EQ(waitpid(a.pid, &status, 0), a.pid);

	/* e4: a role-0 handle is refused while the claimant lives and
	 * consumes again once it was killed (zombie, then reaped). */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	CHECK_EQ(out_rec(prod, 0xF2, 0, 0), 0);
	expect_consume_err(rb, EBUSY);
	peer_kill(&a, false);
	consume_expect(rb, 0xF2, 0, 1);
	CHECK_EQ(waitpid(a.pid, &status, 0), a.pid);
	c1 = ringbuf_open(name, &co); /* the role-0 consume left nothing behind */
	CHECK(c1 != NULL);
	ringbuf_free(c1);

	/* e5: a consumer re-attaching resumes from consumer_pos: the first
	 * consumer takes 4 of 10 and is killed; the next one gets the rest
	 * and the later ones, nothing twice. */
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(out_rec(prod, 0xF3, i, 0), 0);
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	r = peer_call(&a, 'c', 0xF3, 4);
	CHECK_EQ(r.ret, 4);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_EQ(r.c.seq[i], i);
	uint64_t cpos = ringbuf_query(prod, RINGBUF_CONS_POS);
	CHECK(cpos > 0);
	peer_kill(&a, true);
	for (uint32_t i = 10; i < 15; i++)
		CHECK_EQ(out_rec(prod, 0xF3, i, 0), 0);
	c1 = ringbuf_open(name, &co);
	CHECK(c1 != NULL);
	CHECK_EQ(ringbuf_query(c1, RINGBUF_CONS_POS), cpos);
	struct col col = { .tag = 0xF3, .next = 4, .ordered = true };
	CHECK_EQ(ringbuf_consume_n(c1, col_cb, &col, 3), 3);
	ringbuf_free(c1);
	/* ... and again through a consumer in another process, freed cleanly */
	a = peer_start(name);
	peer_open(&a, RINGBUF_ROLE_CONSUMER);
	r = peer_call(&a, 'c', 0xF3, 100);
	CHECK_EQ(r.ret, 8);
	for (uint32_t i = 0; i < 8; i++)
		CHECK_EQ(r.c.seq[i], 7 + i);
	peer_call(&a, 'f', 0, 0);
	peer_end(&a);
	CHECK_EQ(ringbuf_query(rb, RINGBUF_AVAIL_DATA), 0);
	CHECK_EQ(out_rec(prod, 0xF3, 15, 0), 0);
	consume_expect(rb, 0xF3, 15, 16);

	ringbuf_free(prod);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("consumer claim: ok\n");
}

static int never(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	CHECK(!"an observer consumes nothing");
	return 0;
}

/* The observer: read-only everything, no claim, no write; read access is
 * all it needs (a user that may only read the file opens it). */
static void test_observer(void)
{
	struct ringbuf_opts oo = opts_role(RINGBUF_ROLE_OBSERVER);
	struct ringbuf_opts co = opts_role(RINGBUF_ROLE_CONSUMER);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct ringbuf *rb, *ob, *cons;
	char name[256], buf[16];
	uint64_t pos = 0;
	uint32_t size;
	pid_t pid;
	int status;

	mkname(name, sizeof(name), "observer");
	CHECK_NULL_ERR(ringbuf_create(name, g_ds, &oo), EINVAL); /* a new ring is written */
	rb = ringbuf_create(name, g_ds, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							       .mode = 0644 });
	CHECK(rb != NULL);
	CHECK_EQ(ringbuf_output(rb, "seen", 4, 0), 0);
	ob = ringbuf_open(name, &oo);
	CHECK(ob != NULL);
	CHECK_EQ(ringbuf_stats(ob, &st), 0);
	CHECK_EQ(st.reserved, 1);
	CHECK_EQ(ringbuf_output(ob, "x", 1, 0), -EOPNOTSUPP);
	CHECK_NULL_ERR(ringbuf_reserve(ob, 8, 0), EOPNOTSUPP);
	CHECK_ERR(ringbuf_consume(ob, never, NULL), EOPNOTSUPP);
	CHECK_ERR(ringbuf_poll(ob, never, NULL, 0), EOPNOTSUPP);
	CHECK_EQ(ringbuf_peek(ob, &pos, buf, sizeof(buf), &size, NULL), 1);
	CHECK(size == 4 && !memcmp(buf, "seen", 4));
	/* it claims nothing: a consumer opens beside it */
	cons = ringbuf_open(name, &co);
	CHECK(cons != NULL);
	ringbuf_free(cons);
	ringbuf_free(ob);
	/* a user that may only read the ring: an observer, nothing more */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct ringbuf_opts po = opts_role(RINGBUF_ROLE_PRODUCER);
		struct ringbuf *h;

		if (geteuid() != 0 || t_become(65534))
			_exit(77);
		errno = 0;
		if (ringbuf_open(name, &po) || errno != EACCES)
			_exit(2);
		h = ringbuf_open(name, &oo);
		if (!h || ringbuf_query(h, RINGBUF_PROD_POS) != 16)
			_exit(3);
		ringbuf_free(h);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77));
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("observer: ok%s\n", WEXITSTATUS(status) == 77 ? " (the read-only user part needs root)" : "");
}

int main(void)
{
	names_begin();

	test_roles();
	test_claim();
	test_observer();
	CHECK_EQ(our_files(false), 0);
	return T_PASS;
}
