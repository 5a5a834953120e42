/* SPDX-License-Identifier: MIT */
/*
 * kbpf.h -- shared by the tests that use the kernel's BPF: find a compiled
 * BPF object, and skip (exit 77, with the reason) where BPF is not
 * permitted, never fail or pass silently; its maps (fd, mmap, id), a bpffs
 * to pin in, and a check that attaching fails with the right errno.
 */
#ifndef RINGBUF_TEST_KBPF_H
#define RINGBUF_TEST_KBPF_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ringbuf.h"
#include "test.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

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

/* gcc -O2 flags the snprintf below into a PATH_MAX buffer from a PATH_MAX
 * one (-Wformat-truncation) once kbpf_object_path() is specialised for a
 * constant name; the truncation cannot happen for our names. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
/* Path of build/tests/bpf/NAME.bpf.o, found next to the test binary. */
static inline const char *kbpf_object_path(const char *name)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];

	t_exe_dir(exe);
	CHECK(strlen(name) < 32);
	CHECK(snprintf(path, sizeof(path), "%s/bpf/%.32s.bpf.o", exe, name) < (int)sizeof(path));
	CHECK(access(path, R_OK) == 0);
	return path;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
	if (err)
		fprintf(stderr, "loading %s.bpf.o: %s (EACCES: the verifier refused it)\n", name,
			strerror(-err));
	CHECK_EQ(err, 0);
	return obj;
}

/* The fd of @obj's program @name. */
static inline int kbpf_prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	CHECK(prog != NULL);
	CHECK(bpf_program__fd(prog) >= 0);
	return bpf_program__fd(prog);
}

/* The fd of @obj's map @name. */
static inline int kbpf_map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	CHECK(m != NULL);
	CHECK(bpf_map__fd(m) >= 0);
	return bpf_map__fd(m);
}

/* mmap @len bytes of the (mmapable) map @fd, read-write. */
static inline void *kbpf_map_mmap(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* The id of map @fd; its type and max_entries too where asked for. */
static inline uint32_t kbpf_map_id(int fd, uint32_t *type, uint32_t *max_entries)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	CHECK_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	if (type)
		*type = info.type;
	if (max_entries)
		*max_entries = info.max_entries;
	return info.id;
}

/* CHECK_OPEN_ERR(expr, e): the ringbuf constructor call @expr fails with
 * errno @e (a handle it returns all the same is freed, and fails the test). */
#define CHECK_OPEN_ERR(expr, e)                                                  \
	do {                                                                     \
		struct ringbuf *_rb;                                             \
		errno = 0;                                                       \
		_rb = (expr);                                                    \
		if (_rb) {                                                       \
			fprintf(stderr, "%s succeeded\n", #expr);                \
			ringbuf_free(_rb);                                       \
		}                                                                \
		CHECK(_rb == NULL);                                              \
		CHECK_EQ(errno, (e));                                            \
	} while (0)

/* Mount namespace of our own, so that a bpffs we mount disappears with us
 * even if we are killed; without one, we mount and unmount in the current
 * namespace.  Single-threaded callers only (unshare(CLONE_NEWNS)). */
static inline void kbpf_private_mount_ns(void)
{
	if (unshare(CLONE_NEWNS) == 0)
		(void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static inline bool kbpf_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (uint64_t)st.f_type == (uint64_t)BPF_FS_MAGIC;
}

/* A bpffs directory to pin in, into @dir (@len bytes, which holds
 * "/sys/fs/bpf" on entry): that one if it is a bpffs (returns 0), else a
 * bpffs mounted on a new directory made from the mkdtemp() template @tmpl
 * in a mount namespace of our own (returns 1: kbpf_bpffs_put() unmounts
 * it).  If mounting is refused, says so and returns -1: the caller skips
 * its pinned sub-case. */
static inline int kbpf_bpffs_get(char *dir, size_t len, const char *tmpl)
{
	if (kbpf_is_bpffs(dir))
		return 0;
	kbpf_private_mount_ns();
	snprintf(dir, len, "%s", tmpl);
	CHECK(mkdtemp(dir) != NULL);
	if (mount("bpf", dir, "bpf", 0, NULL)) {
		fprintf(stderr, "note: pinned sub-case skipped: mount -t bpf: %s\n", strerror(errno));
		rmdir(dir);
		return -1;
	}
	return 1;
}

/* Undo kbpf_bpffs_get() that returned @mounted. */
static inline void kbpf_bpffs_put(const char *dir, int mounted)
{
	if (mounted == 1) {
		CHECK_EQ(umount2(dir, 0), 0);
		CHECK_EQ(rmdir(dir), 0);
	}
}

#endif
