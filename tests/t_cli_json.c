/* SPDX-License-Identifier: MIT */
/*
 * t_cli_json -- the command's machine-readable and everyday edges.
 *
 *   - stat --json / -j: one JSON object with the counters; -w: two cells a
 *     line, a refresh within 24 lines, rates in SI units
 *   - ls --json / -j: an array with the ring; a long name widens the NAME
 *     column instead of shifting the others
 *   - ls counts only writers as producers: a stat --watch and a tail
 *     --peek of the ring are not counted, a producer handle is
 *   - short options (-n, -f); help of an unknown command: usage error (2)
 */
#include <signal.h>

#include "test.h"
#include "proc.h"
#include "cli_run.h"

/* Column of the end of @word in @line (up to its newline), or -1. */
static int col_end(const char *line, const char *word)
{
	const char *nl = strchr(line, '\n'), *p = strstr(line, word);

	if (!p || (nl && p > nl))
		return -1;
	return (int)(p - line + (long)strlen(word));
}

static const char *line_of(const char *out, const char *name)
{
	const char *p = strstr(out, name);

	CHECK(p != NULL);
	while (p > out && p[-1] != '\n')
		p--;
	return p;
}

int main(void)
{
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct buf out = { 0 };
	char longname[80], want[64];
	const char *name, *l;
	struct ringbuf *rb, *pr;
	struct child w, pk;

	find_cli();
	name = mkname("json");
	ringbuf_unlink(name);
	rb = ringbuf_create(name, 4096, NULL);
	CHECK(rb);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(ringbuf_output(rb, "abc", 3, 0), 0);

	/* stat --json and -j */
	CHECK_EQ(RUN(&out, "stat", (char *)name, "--json"), XC_OK);
	CHECK(out.p[0] == '{' && strstr(out.p, "}\n") == out.p + out.n - 2);
	CHECK(strstr(out.p, "\"reserved\":3,") != NULL);
	CHECK(strstr(out.p, "\"avail_data\":48,") != NULL);
	CHECK(strstr(out.p, "\"opened_as\":\"observer\"") != NULL);
	snprintf(want, sizeof(want), "\"target\":\"%s\"", name);
	CHECK(strstr(out.p, want) != NULL);
	buf_free(&out);
	CHECK_EQ(RUN(&out, "stat", (char *)name, "-j"), XC_OK);
	CHECK(strstr(out.p, "\"reserved\":3,") != NULL);
	buf_free(&out);

	/* ls --json: the ring, its numbers */
	CHECK_EQ(RUN(&out, "ls", "--json"), XC_OK);
	CHECK(out.p[0] == '[');
	snprintf(want, sizeof(want), "{\"name\":\"%s\",\"size\":4096,", name);
	CHECK(strstr(out.p, want) != NULL);
	CHECK(strstr(strstr(out.p, want), "\"reserved\":3,") != NULL);
	buf_free(&out);

	/* a long name widens the NAME column: SIZE stays aligned */
	snprintf(longname, sizeof(longname), "%s-and-a-name-longer-than-the-column", name);
	ringbuf_unlink(longname);
	pr = ringbuf_create(longname, 4096, NULL);
	CHECK(pr);
	ringbuf_free(pr);
	CHECK_EQ(RUN(&out, "ls"), XC_OK);
	l = line_of(out.p, longname);
	CHECK_EQ(col_end(out.p, "SIZE"), col_end(l, "4K"));
	CHECK_EQ(col_end(out.p, "SIZE"), col_end(line_of(out.p, name), "4K"));
	buf_free(&out);
	CHECK_EQ(ringbuf_unlink(longname), 0);

	/* readers are no producers; a producer handle is one */
	pr = ringbuf_open(name, &po);
	CHECK(pr);
	{
		char *const wargv[] = { "stat", (char *)name, "-w", "0.2", NULL };
		char *const pargv[] = { "tail", (char *)name, "--peek", "--timeout", "3", NULL };

		w = spawn(wargv, -1, -1, -1);
		pk = spawn(pargv, -1, -1, -1);
	}
	t_sleep_ms(500);
	CHECK_EQ(RUN(&out, "ls", "-j"), XC_OK);
	snprintf(want, sizeof(want), "{\"name\":\"%s\",", name);
	CHECK(strstr(out.p, want) != NULL);
	/* this process maps it twice (creator and producer): one process */
	if (!strstr(strstr(out.p, want), "\"producers\":1,"))
		fprintf(stderr, "ls -j: %s", out.p);
	CHECK(strstr(strstr(out.p, want), "\"producers\":1,") != NULL);
	buf_free(&out);
	CHECK_EQ(kill(w.pid, SIGINT), 0);
	CHECK_EQ(finish(&w, NULL, 0, &out, NULL, 10), 0);
	{
		/* blocks of at most 24 lines, rates in SI units */
		const char *p = out.p;
		int lines = 0;

		for (; *p && !(p[0] == '\n' && p[1] == '\n'); p++)
			lines += *p == '\n';
		CHECK(lines > 0 && lines <= 24);
		CHECK(strstr(out.p, "produced_rate:") != NULL);
		CHECK(strstr(out.p, " B/s") != NULL);
	}
	buf_free(&out);
	CHECK_EQ(finish(&pk, NULL, 0, NULL, NULL, 10), 0);
	ringbuf_free(pr);

	/* short options */
	CHECK_EQ(RUN(&out, "tail", (char *)name, "-n", "2", "-f", "text"), XC_OK);
	CHECK(!strcmp(out.p, "abc\nabc\n"));
	buf_free(&out);
	EXPECT_EXIT(XC_USAGE, "help", "nosuch");
	CHECK_EQ(RUN(&out, "help", "tail"), XC_OK);
	CHECK(strstr(out.p, "--peek") != NULL);
	buf_free(&out);

	ringbuf_free(rb);
	CHECK_EQ(ringbuf_unlink(name), 0);
	printf("t_cli_json: ok\n");
	return 0;
}
