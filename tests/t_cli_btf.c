/* SPDX-License-Identifier: MIT */
/*
 * t_cli_btf -- `ringbuf tail --btf FILE --type NAME` decodes records as the
 * C struct they are (tests/bpf/btfrec.h, whose BTF is in
 * build/tests/bpf/btfrec.bpf.o): integers signed and unsigned, an enum by
 * name, a char array as a string, an int array, a nested struct, bitfields;
 * in text and in jsonl; a record shorter than the type is reported, not
 * read past; bad --btf/--type use is refused.  Skips (77) when the command
 * was built without libbpf.
 */
#include "test.h"
#include "proc.h"
#include "cli_run.h"

#include "bpf/btfrec.h"

int main(void)
{
	struct btfrec r = { .ts = 1234567890123ull, .pid = -42, .kind = KIND_EXEC,
			    .comm = "true", .vals = { 1, 2, 4000000000u },
			    .in = { .delta = -3, .flags = 0x81 }, .low = 9, .high = 0xabc };
	struct btfrec r2 = r;
	struct buf out = { 0 }, err = { 0 };
	char obj[PATH_MAX + 64], dir[PATH_MAX];
	const char *name;
	struct ringbuf *rb;
	int rc;

	find_cli();
	{
		char *const argv[] = { "tail", "--help", NULL };
		struct child c = spawn(argv, -1, -1, -1);

		CHECK_EQ(finish(&c, NULL, 0, &out, NULL, 10), 0);
		if (!strstr(out.p, "--btf"))
			SKIP("this ringbuf was built without libbpf: no --btf");
		buf_free(&out);
	}
	t_exe_dir(dir);
	snprintf(obj, sizeof(obj), "%s/bpf/btfrec.bpf.o", dir);
	CHECK(access(obj, R_OK) == 0);
	name = mkname("btf");
	ringbuf_unlink(name);
	rb = ringbuf_create(name, 64 * 1024, NULL);
	CHECK(rb);
	r2.kind = 5; /* no name: the number */
	r2.comm[0] = '\n';
	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), 0);
	CHECK_EQ(ringbuf_output(rb, &r2, sizeof(r2), 0), 0);
	CHECK_EQ(ringbuf_output(rb, &r, 20, 0), 0); /* too short */

	CHECK_EQ(RUN(&out, "tail", (char *)name, "--btf", obj, "--type", "btfrec", "-n", "3"), XC_OK);
	printf("%s", out.p);
	CHECK(!strcmp(out.p,
		      "ts=1234567890123 pid=-42 kind=KIND_EXEC comm=\"true\" vals=[1,2,4000000000] "
		      "in={delta=-3 flags=129} low=9 high=2748\n"
		      "ts=1234567890123 pid=-42 kind=5 comm=\"\\nrue\" vals=[1,2,4000000000] "
		      "in={delta=-3 flags=129} low=9 high=2748\n"
		      "record 2: error: 20 bytes, shorter than btfrec (48 bytes)\n"));
	buf_free(&out);

	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), 0);
	CHECK_EQ(ringbuf_output(rb, &r, 20, 0), 0);
	CHECK_EQ(RUN(&out, "tail", (char *)name, "--btf", obj, "--type", "btfrec", "-f", "jsonl",
		     "-n", "2"),
		 XC_OK);
	printf("%s", out.p);
	CHECK(strstr(out.p, ",\"btfrec\":{\"ts\":1234567890123,\"pid\":-42,\"kind\":\"KIND_EXEC\","
			    "\"comm\":\"true\",\"vals\":[1,2,4000000000],\"in\":{\"delta\":-3,"
			    "\"flags\":129},\"low\":9,\"high\":2748}}\n") != NULL);
	CHECK(strstr(out.p, "{\"seq\":0,\"size\":48,") == out.p);
	CHECK(strstr(out.p, "\"error\":\"20 bytes, shorter than btfrec (48 bytes)\"}\n") != NULL);
	buf_free(&out);

	/* bad use */
	EXPECT_EXIT(XC_USAGE, "tail", (char *)name, "--btf", obj);
	EXPECT_EXIT(XC_USAGE, "tail", (char *)name, "--btf", obj, "--type", "nosuch");
	EXPECT_EXIT(XC_USAGE, "tail", (char *)name, "--btf", obj, "--type", "btfrec", "-f", "hex");
	rc = RUN_AS(-1, NULL, 0, NULL, &err, "tail", (char *)name, "--btf", "/nonexistent.o",
		    "--type", "btfrec");
	CHECK_EQ(rc, XC_NOENT);
	buf_free(&err);
	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("t_cli_btf: ok\n");
	return 0;
}
