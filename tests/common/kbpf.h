/* SPDX-License-Identifier: MIT */
/*
 * kbpf.h -- shared by the tests that use the kernel's BPF: find a compiled
 * BPF object, and skip (exit 77, with the reason) where BPF is not
 * permitted, never fail or pass silently.
 */
#ifndef RINGBUF_TEST_KBPF_H
#define RINGBUF_TEST_KBPF_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* Skip the test unless this process may create BPF ring buffer maps. */
static inline void kbpf_require(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);

	if (fd < 0)
		SKIP("BPF not permitted here (creating a ringbuf map: %s)", strerror(errno));
	close(fd);
	fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, 4096, NULL);
	if (fd < 0)
		SKIP("kernel without BPF_MAP_TYPE_USER_RINGBUF (%s)", strerror(errno));
	close(fd);
}

/* Path of build/tests/bpf/NAME.bpf.o, found next to the test binary. */
static inline const char *kbpf_object_path(const char *name)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	CHECK(n > 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	CHECK(slash != NULL);
	*slash = '\0';
	CHECK(strlen(name) < 32);
	CHECK(snprintf(path, sizeof(path), "%s/bpf/%.32s.bpf.o", exe, name) < (int)sizeof(path));
	CHECK(access(path, R_OK) == 0);
	return path;
}

/* Open and load a test BPF object; skip if the kernel refuses to load it
 * for lack of permission (EPERM).  The verifier's rejection is EACCES: a
 * broken program fails the test, it does not skip it. */
static inline struct bpf_object *kbpf_load(const char *name)
{
	struct bpf_object *obj = bpf_object__open_file(kbpf_object_path(name), NULL);
	int err;

	CHECK(obj != NULL);
	err = bpf_object__load(obj);
	if (err == -EPERM)
		SKIP("loading BPF programs is not permitted here (%s)", strerror(-err));
	CHECK_EQ(err, 0);
	return obj;
}

#endif
