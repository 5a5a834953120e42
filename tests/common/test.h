/* SPDX-License-Identifier: MIT */
/*
 * test.h -- shared helpers for ringbuf's test programs.
 *
 * Each test is one program: exit 0 = pass, 1 = fail, 77 = skip (with a
 * reason on stderr).  CHECK() reports file:line and the failed expression
 * and exits 1; unlike assert() it is not removed by NDEBUG.
 */
#ifndef RINGBUF_TEST_H
#define RINGBUF_TEST_H

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
			exit(T_FAIL);                                            \
		}                                                                \
	} while (0)

/* CHECK_EQ(a, b): both printed as signed 64-bit on failure. */
#define CHECK_EQ(a, b)                                                           \
	do {                                                                     \
		long long _a = (long long)(a), _b = (long long)(b);              \
		if (_a != _b) {                                                  \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);             \
			exit(T_FAIL);                                            \
		}                                                                \
	} while (0)

/* CHECK_ERR(call, E): the call returns -E and leaves E in errno (the
 * API's error model); CHECK_NULL_ERR(call, E): it returns NULL with E. */
#define CHECK_ERR(expr, e)                                                       \
	do {                                                                     \
		errno = 0;                                                       \
		CHECK_EQ((expr), -(e));                                          \
		CHECK_EQ(errno, (e));                                            \
	} while (0)

#define CHECK_NULL_ERR(expr, e)                                                  \
	do {                                                                     \
		errno = 0;                                                       \
		CHECK((expr) == NULL);                                           \
		CHECK_EQ(errno, (e));                                            \
	} while (0)

#define SKIP(...)                                                                \
	do {                                                                     \
		fprintf(stderr, "skip: " __VA_ARGS__);                           \
		fputc('\n', stderr);                                             \
		exit(T_SKIP);                                                    \
	} while (0)

/* T_TSAN: 1 in ThreadSanitizer builds (gcc or clang), else 0. */
#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif

/* The directory of this test's executable, into @dir (PATH_MAX bytes). */
static inline void t_exe_dir(char *dir)
{
	ssize_t n = readlink("/proc/self/exe", dir, PATH_MAX - 1);
	char *slash;

	CHECK(n > 0);
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	CHECK(slash != NULL);
	*slash = '\0';
}

/* Become @uid (group @uid too, no supplementary groups) for good: 0, or
 * -1 with errno (not root).  Capabilities go with the uid change. */
static inline int t_become(unsigned uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	return 0;
}

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep @ms milliseconds, resumed after a signal. */
static inline void t_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* xorshift64*: a per-thread PRNG; seed must be nonzero. */
static inline uint64_t t_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* FNV-1a over a buffer: the record checksum used by stress tests. */
static inline uint32_t t_fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

#endif
