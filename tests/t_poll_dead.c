/* SPDX-License-Identifier: MIT */
/*
 * t_poll_dead -- a consumer asleep in ringbuf_poll(-1) gets the records
 * committed behind a producer that died holding the head.
 *
 * The consumer sleeps on an empty ring.  A producer process reserves (the
 * head is now BUSY with its pid), then commits records behind it with
 * adaptive wakeups -- which wake nobody, since the consumer does not wait
 * at them -- and dies.  Nothing will ever notify the consumer again; it
 * must find the dead head by itself within about twice recover_ms and
 * deliver every record.  In futex mode and in fd mode; a watchdog fails a
 * consumer that sleeps on.
 */
#include "test.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "proc.h"
#include "ringbuf.h"

static int count_cb(void *ctx, void *data, size_t size)
{
	CHECK_EQ(size, 6);
	CHECK(!memcmp(data, "behind", 6));
	(*(int *)ctx)++;
	return 0;
}

static void one(bool fd_mode)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .recover_ms = 100 };
	struct ringbuf *rb = ringbuf_new(4096, &o);
	long page = sysconf(_SC_PAGESIZE);
	struct ringbuf_shm_meta *meta;
	pid_t cons, prod;
	int st;

	CHECK(rb);
	meta = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, ringbuf_fd(rb), 0);
	CHECK(meta != MAP_FAILED);
	cons = fork();
	CHECK(cons >= 0);
	if (cons == 0) {
		int got = 0;

		alarm(10); /* sleeping on past the records fails */
		if (fd_mode && ringbuf_epoll_fd(rb) < 0)
			_exit(2);
		while (got < 3) {
			int r = ringbuf_poll(rb, count_cb, &got, -1);

			if (r < 0)
				_exit(3);
		}
		struct ringbuf_stats s = { .sz = sizeof(s) };
		if (ringbuf_stats(rb, &s) || s.recovered != 1)
			_exit(4);
		_exit(0);
	}
	if (fd_mode)
		usleep(200000); /* fd mode: the child arms in ringbuf_poll */
	else
		proc_wait_asleep(cons, meta, 1000);
	prod = fork();
	CHECK(prod >= 0);
	if (prod == 0) {
		if (!ringbuf_reserve(rb, 8, 0))
			_exit(1);
		for (int i = 0; i < 3; i++)
			if (ringbuf_output(rb, "behind", 6, 0))
				_exit(1);
		_exit(0); /* dies holding the head */
	}
	CHECK(waitpid(prod, &st, 0) == prod);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(waitpid(cons, &st, 0) == cons);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "consumer (%s mode): %s %d\n", fd_mode ? "fd" : "futex",
			WIFEXITED(st) ? "exit" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		CHECK(!"the consumer got every record behind the dead producer");
	}
	munmap(meta, 2 * (size_t)page);
	ringbuf_free(rb);
}

int main(void)
{
	one(false);
	one(true);
	return T_PASS;
}
