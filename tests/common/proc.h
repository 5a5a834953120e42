/* SPDX-License-Identifier: MIT */
/*
 * proc.h -- process helpers for the tests that fork: children that die with
 * their parent, waiting for a child with a time limit, a process's state
 * from /proc, a consumer asleep in ringbuf_poll(), a message read with a
 * timeout, this process's open descriptors.
 */
#ifndef RINGBUF_TEST_PROC_H
#define RINGBUF_TEST_PROC_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"

/* fork(); the child dies with its parent (@parent: it _exit(3)s if that
 * is already gone) and never outlives a hung test (alarm(@alarm_secs)). */
static inline pid_t proc_fork_child(pid_t parent, unsigned alarm_secs)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(3);
		alarm(alarm_secs);
	}
	return pid;
}

/* Reap @pid, polling every @poll_us; after @secs it is killed and the
 * test fails.  Returns its wait status. */
static inline int proc_wait_status(pid_t pid, int secs, unsigned poll_us)
{
	uint64_t t0 = t_now_ns();
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		CHECK(r >= 0);
		if (r == pid)
			break;
		if (t_now_ns() - t0 > (uint64_t)secs * 1000000000ull) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			CHECK(!"child finished in time");
		}
		usleep(poll_us);
	}
	return status;
}

/* Did @pid (wait status @status) exit with @code?  If not, says how it
 * ended on stderr. */
static inline bool proc_exited_with(pid_t pid, int status, int code)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == code)
		return true;
	fprintf(stderr, "child %d: %s %d\n", (int)pid, WIFEXITED(status) ? "exit" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return false;
}

/* Process state letter from /proc/PID/stat, or 0. */
static inline char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return (p && p[1] == ' ') ? p[2] : 0;
}

/* Wait until the consumer @pid is asleep: interruptibly sleeping for 10
 * looks in a row, @poll_us apart, with consumer_waiting set in the shared
 * consumer page.  @meta maps the ring file's first two pages (the metadata
 * and the consumer page).  5 s at most, else the test fails. */
static inline void proc_wait_asleep(pid_t pid, const struct ringbuf_shm_meta *meta,
				    unsigned poll_us)
{
	const struct ringbuf_shm_consumer *cons =
		(const void *)((const char *)meta + RINGBUF_SHM_CONSUMER_PAGE * meta->page_size);
	uint64_t t0 = t_now_ns();
	int streak = 0;

	while (streak < 10) {
		uint32_t waiting = __atomic_load_n(&cons->consumer_waiting, __ATOMIC_ACQUIRE);
		streak = (proc_state(pid) == 'S' && waiting == 1) ? streak + 1 : 0;
		if (t_now_ns() - t0 > 5000000000ull) {
			fprintf(stderr, "consumer %d: state %c, consumer_waiting %u\n", (int)pid,
				proc_state(pid), waiting);
			CHECK(!"consumer goes to sleep in ringbuf_poll");
		}
		usleep(poll_us);
	}
}

/* Read one message of exactly @len bytes from @fd within @ms, or return
 * false if none comes. */
static inline bool proc_read_msg(int fd, void *msg, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, ms);
	CHECK(r >= 0);
	if (r == 0)
		return false;
	CHECK_EQ(read(fd, msg, len), len);
	return true;
}

/* Descriptors open in this process. */
static inline int proc_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

#endif
