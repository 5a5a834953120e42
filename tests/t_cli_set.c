/* SPDX-License-Identifier: MIT */
/*
 * t_cli_set -- the command on ring sets (create --set N).
 *
 *   - create --set 3 makes NAME.0 .. NAME.2, each saying it is ring K of 3;
 *     again: exists (9); --set 0, --set with --split: usage (2)
 *   - records put into each ring (and lines from `write`) all come out of
 *     one `tail NAME --count N`, each once, in order per ring
 *   - stat NAME sums the rings (rings: 3, reserved, avail_data) and shows
 *     a line per ring; stat NAME.1 says it is ring 1 of 3
 *   - a second consumer of the set: busy (8)
 *   - rm NAME removes every ring; then no such ring (3)
 */
#include "test.h"
#include "proc.h"
#include "cli_run.h"

#define PER_RING 40u

static void text_lines(const char *out, unsigned *next, unsigned *write_next, unsigned *n)
{
	const char *p = out;

	while (p && *p) {
		unsigned ring, i;

		if (sscanf(p, "r%u:%u", &ring, &i) == 2) {
			CHECK(ring < 3);
			CHECK_EQ(i, next[ring]); /* in order per ring */
			next[ring]++;
		} else {
			CHECK_EQ(strtoul(p, NULL, 10), *write_next);
			(*write_next)++;
		}
		(*n)++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

int main(void)
{
	struct buf out = { 0 };
	const char *name;
	char member[128], rec[32];
	unsigned next[3] = { 0 }, write_next = 1, n = 0;
	struct ringbuf_set *s;

	find_cli();
	name = mkname("set");
	ringbuf_set_unlink(name);

	CHECK_EQ(RUN(NULL, "create", (char *)name, "--size", "64K", "--set", "3"), XC_OK);
	for (unsigned i = 0; i < 3; i++) {
		struct ringbuf *r;

		snprintf(member, sizeof(member), "%s.%u", name, i);
		r = ringbuf_open(member, NULL);
		CHECK(r != NULL);
		CHECK_EQ(ringbuf_query(r, RINGBUF_SET_COUNT), 3);
		CHECK_EQ(ringbuf_query(r, RINGBUF_SET_INDEX), i);
		ringbuf_free(r);
	}
	EXPECT_EXIT(XC_EXIST, "create", (char *)name, "--size", "64K", "--set", "3");
	EXPECT_EXIT(XC_USAGE, "create", (char *)name, "--size", "64K", "--set", "0");
	EXPECT_EXIT(XC_USAGE, "create", (char *)name, "--size", "64K", "--set", "2", "--split");

	/* records in every ring, and lines from `write` */
	s = ringbuf_set_open(name, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							    .role = RINGBUF_ROLE_PRODUCER });
	CHECK(s != NULL);
	for (unsigned k = 0; k < PER_RING; k++)
		for (unsigned r = 0; r < 3; r++) {
			int len = snprintf(rec, sizeof(rec), "r%u:%u", r, k);

			CHECK_EQ(ringbuf_output(ringbuf_set_ring(s, r), rec, (size_t)len, 0), 0);
		}
	ringbuf_set_free(s);
	CHECK_EQ(RUN_IN("1\n2\n3\n4\n5\n", 10, NULL, "write", (char *)name), XC_OK);

	CHECK_EQ(RUN(&out, "stat", (char *)name), XC_OK);
	CHECK_EQ(stat_value(out.p, "rings"), 3);
	CHECK_EQ(stat_value(out.p, "reserved"), 3 * PER_RING + 5);
	CHECK(strstr(out.p, "\nring.2:") != NULL);
	buf_free(&out);
	snprintf(member, sizeof(member), "%s.1", name);
	CHECK_EQ(RUN(&out, "stat", member), XC_OK);
	CHECK(strstr(out.p, "ring 1 of a set of 3") != NULL);
	buf_free(&out);

	/* one tail takes them all */
	CHECK_EQ(RUN(&out, "tail", (char *)name, "--count", "125", "--format", "text",
		     "--timeout", "5"),
		 XC_OK);
	text_lines(out.p, next, &write_next, &n);
	CHECK_EQ(n, 3 * PER_RING + 5);
	for (unsigned r = 0; r < 3; r++)
		CHECK_EQ(next[r], PER_RING);
	CHECK_EQ(write_next, 6);
	buf_free(&out);
	CHECK_EQ(RUN(&out, "stat", (char *)name), XC_OK);
	CHECK_EQ(stat_value(out.p, "avail_data"), 0);
	buf_free(&out);

	/* a consumer holds the set: a second one is refused */
	s = ringbuf_set_open(name, &(struct ringbuf_opts){ .sz = sizeof(struct ringbuf_opts),
							    .role = RINGBUF_ROLE_CONSUMER });
	CHECK(s != NULL);
	EXPECT_EXIT(XC_BUSY, "tail", (char *)name, "--count", "1");
	ringbuf_set_free(s);

	CHECK_EQ(RUN(NULL, "rm", (char *)name), XC_OK);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(member, sizeof(member), "%s.%u", name, i);
		CHECK(ringbuf_open(member, NULL) == NULL && errno == ENOENT);
	}
	EXPECT_EXIT(XC_NOENT, "rm", (char *)name);
	EXPECT_EXIT(XC_NOENT, "tail", (char *)name, "--count", "1");
	printf("t_cli_set: ok\n");
	return 0;
}
