/* SPDX-License-Identifier: MIT */
/*
 * t_kuser_writers -- many writers into one kernel BPF_MAP_TYPE_USER_RINGBUF
 * map lose nothing.  The kernel's user ring has no lock for user space;
 * ringbuf's producers take one of their own in the producer page
 * (user_lock, offset 128).  Checked without a BPF program: the map is big
 * enough for every record, and the test walks the records itself through
 * its own mapping of the map, as the kernel's drain would (headers
 * committed, sizes, each writer's sequence complete and in order).
 *
 *   - 3 processes, each with 2 handles on the map, each handle written by
 *     2 threads: 12 writers at once;
 *   - a lock left by an exited process is taken over (lock_steals);
 *   - a lock held by a live process (a forged owner) makes a reservation
 *     give up with -EAGAIN, not hang;
 *   - ringbuf write, the CLI, twice at once into one map (id:N).
 */
#include "test.h"
#include "kbpf.h"
#include "proc.h"
#include "cli_run.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAP_SZ   (8u << 20)
#define PROCS    3
#define HANDLES  2
#define THREADS  2
#define PER      10000u

struct rec {
	uint32_t writer;
	uint32_t seq;
};

struct writer {
	struct ringbuf *rb;
	uint32_t id;
};

static long g_page;

static void *write_thread(void *arg)
{
	struct writer *w = arg;

	for (uint32_t i = 0; i < PER; i++) {
		struct rec r = { .writer = w->id, .seq = i };
		long e;

		while ((e = ringbuf_output(w->rb, &r, sizeof(r), 0)) == -EAGAIN)
			sched_yield();
		if (e)
			_exit(10);
	}
	return NULL;
}

static void child(int map_fd, uint32_t proc)
{
	struct writer w[HANDLES * THREADS];
	pthread_t t[HANDLES * THREADS];
	struct ringbuf *rb[HANDLES];

	for (int h = 0; h < HANDLES; h++) {
		rb[h] = ringbuf_map_open(map_fd, NULL);
		if (!rb[h])
			_exit(11);
	}
	for (int i = 0; i < HANDLES * THREADS; i++) {
		w[i] = (struct writer){ .rb = rb[i % HANDLES],
					.id = proc * HANDLES * THREADS + (uint32_t)i };
		if (pthread_create(&t[i], NULL, write_thread, &w[i]))
			_exit(12);
	}
	for (int i = 0; i < HANDLES * THREADS; i++)
		pthread_join(t[i], NULL);
	for (int h = 0; h < HANDLES; h++)
		ringbuf_free(rb[h]);
	_exit(0);
}

/* Walk the committed records of the map @fd from consumer_pos 0 (nothing
 * drained them) and check each writer's sequence; returns the count. */
static uint64_t walk(int fd, uint32_t writers, uint32_t per)
{
	size_t len = (size_t)g_page + 2 * MAP_SZ;
	unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, g_page);
	uint32_t *next = calloc(writers, sizeof(*next));
	uint64_t prod, pos, n = 0;

	CHECK(p != MAP_FAILED && next);
	prod = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
	for (pos = 0; pos < prod;) {
		const struct ringbuf_hdr *h = (const void *)(p + g_page + (pos & (MAP_SZ - 1)));
		struct rec r;

		CHECK_EQ(h->len & (RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT), 0);
		CHECK_EQ(h->len, sizeof(r));
		memcpy(&r, h + 1, sizeof(r));
		CHECK(r.writer < writers);
		if (r.seq != next[r.writer])
			fprintf(stderr, "writer %u: record %u where %u was due\n", r.writer, r.seq,
				next[r.writer]);
		CHECK_EQ(r.seq, next[r.writer]);
		next[r.writer]++;
		pos += (RINGBUF_HDR_SZ + h->len + 7) & ~7u;
		n++;
	}
	CHECK_EQ(pos, prod);
	for (uint32_t i = 0; i < writers; i++)
		CHECK_EQ(next[i], per);
	free(next);
	munmap(p, len);
	return n;
}

static void test_processes(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, MAP_SZ, NULL);
	pid_t pid[PROCS];

	CHECK(fd >= 0);
	for (uint32_t i = 0; i < PROCS; i++) {
		pid[i] = proc_fork_child(getpid(), 60);
		if (pid[i] == 0)
			child(fd, i);
	}
	for (int i = 0; i < PROCS; i++)
		CHECK(proc_exited_with(pid[i], proc_wait_status(pid[i], 60, 1000), 0));
	CHECK_EQ(walk(fd, PROCS * HANDLES * THREADS, PER), (uint64_t)PROCS * HANDLES * THREADS * PER);
	close(fd);
}

/* The producer page's user_lock, through a mapping of our own. */
static uint32_t *lock_word(int fd, void **map)
{
	*map = mmap(NULL, (size_t)g_page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, g_page);
	CHECK(*map != MAP_FAILED);
	return (uint32_t *)((char *)*map + offsetof(struct ringbuf_shm_producer, user_lock));
}

static void test_dead_and_live_holders(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, MAP_SZ, NULL);
	struct ringbuf_stats st = { .sz = sizeof(st) };
	struct rec r = { 0 };
	struct ringbuf *rb;
	uint64_t t0, ms;
	uint32_t *lock;
	void *map;
	pid_t pid;

	CHECK(fd >= 0);
	rb = ringbuf_map_open(fd, NULL);
	CHECK(rb);
	lock = lock_word(fd, &map);
	CHECK_EQ(*lock, 0);

	/* an exited holder: robbed, counted */
	pid = proc_fork_child(getpid(), 10);
	if (pid == 0)
		_exit(0);
	CHECK(proc_exited_with(pid, proc_wait_status(pid, 10, 1000), 0));
	__atomic_store_n(lock, (uint32_t)pid, __ATOMIC_RELEASE);
	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), 0);
	CHECK_EQ(__atomic_load_n(lock, __ATOMIC_ACQUIRE), 0);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.lock_steals, 1);

	/* a live holder (a sleeping child, as a forged owner would be):
	 * the reservation gives up instead of hanging */
	pid = proc_fork_child(getpid(), 30);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	__atomic_store_n(lock, (uint32_t)pid, __ATOMIC_RELEASE);
	t0 = t_now_ns();
	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), -EAGAIN);
	CHECK_EQ(errno, EAGAIN);
	ms = (t_now_ns() - t0) / 1000000;
	printf("a live holder: gave up after %llu ms\n", (unsigned long long)ms);
	CHECK(ringbuf_reserve(rb, 8, 0) == NULL && errno == EAGAIN);
	kill(pid, SIGKILL);
	(void)proc_wait_status(pid, 10, 1000);
	/* once it is gone, the next reservation takes the lock over */
	CHECK_EQ(ringbuf_output(rb, &r, sizeof(r), 0), 0);
	CHECK_EQ(ringbuf_stats(rb, &st), 0);
	CHECK_EQ(st.lock_steals, 2);
	CHECK_EQ(st.refused_nested, 0);
	munmap(map, (size_t)g_page);
	ringbuf_free(rb);
	close(fd);
}

/* The CLI: two `ringbuf write` into one map (by id) at once, each fed
 * "W:SEQ" lines from a file of its own. */
static void test_cli_writers(void)
{
	char path[32];
	int fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, MAP_SZ, NULL);
	const uint32_t per = 20000;
	size_t len = (size_t)g_page + 2 * MAP_SZ;
	uint32_t next[2] = { 0, 0 };
	struct child w[2];
	int in[2];
	unsigned char *p;
	uint64_t prod, pos;

	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "id:%u", kbpf_map_id(fd, NULL, NULL));
	for (int i = 0; i < 2; i++) {
		FILE *f = tmpfile();

		CHECK(f);
		for (uint32_t s = 0; s < per; s++)
			fprintf(f, "%d:%u\n", i, s);
		CHECK_EQ(fflush(f), 0);
		in[i] = dup(fileno(f));
		CHECK(in[i] >= 0);
		fclose(f);
		CHECK_EQ(lseek(in[i], 0, SEEK_SET), 0);
	}
	for (int i = 0; i < 2; i++) {
		char *const argv[] = { "write", path, NULL };

		w[i] = spawn(argv, in[i], -1, -1);
	}
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(finish(&w[i], NULL, 0, NULL, NULL, 60), 0);
		close(in[i]);
	}
	/* each line one record, without its newline */
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, g_page);
	CHECK(p != MAP_FAILED);
	prod = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
	for (pos = 0; pos < prod;) {
		const struct ringbuf_hdr *h = (const void *)(p + g_page + (pos & (MAP_SZ - 1)));
		char txt[32];
		unsigned wi, seq;

		CHECK_EQ(h->len & (RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT), 0);
		CHECK(h->len < sizeof(txt));
		memcpy(txt, h + 1, h->len);
		txt[h->len] = '\0';
		CHECK_EQ(sscanf(txt, "%u:%u", &wi, &seq), 2);
		CHECK(wi < 2);
		CHECK_EQ(seq, next[wi]);
		next[wi]++;
		pos += (RINGBUF_HDR_SZ + h->len + 7) & ~7u;
	}
	printf("two ringbuf write at once: %u + %u of %u + %u lines in the map\n", next[0],
	       next[1], per, per);
	CHECK_EQ(next[0], per);
	CHECK_EQ(next[1], per);
	munmap(p, len);
	close(fd);
}

int main(void)
{
	g_page = sysconf(_SC_PAGESIZE);
	kbpf_require();
	find_cli();
	test_processes();
	test_dead_and_live_holders();
	test_cli_writers();
	printf("t_kuser_writers: ok\n");
	return 0;
}
