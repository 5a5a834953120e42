/* SPDX-License-Identifier: MIT */
/*
 * kmap.c -- kernel BPF ring buffer maps behind the same handle.
 *
 * A BPF_MAP_TYPE_RINGBUF map is mapped as libbpf maps it: the consumer page
 * read-write at offset 0, then the producer page and the data read-only at
 * offset P (the kernel maps the data twice itself, so P + 2 * size bytes
 * cover both copies).  From there the consumer code path of src/ring.c
 * serves it unchanged: the layout from the consumer page on is the one
 * ringbuf rings share.  What differs is sleeping: the kernel wakes an epoll
 * waiter on the map fd (irq_work after a commit), so ringbuf_poll() waits in
 * epoll_wait() on the epoll instance made here (src/poll.c waits, and says
 * how that is ordered against the kernel's commit).
 *
 * A BPF_MAP_TYPE_USER_RINGBUF map is the reverse: user space produces, a BPF
 * program drains with bpf_user_ringbuf_drain().  The consumer page is
 * read-only to us, the producer page and data read-write.  The kernel
 * trusts nothing user space writes (docs/protocol.md, section 9), and has
 * no lock for user space: two producers that reserve at once write the
 * same bytes and one record is lost.  So ringbuf's producers -- threads,
 * handles, processes -- take a lock of their own in the producer page,
 * user_lock at offset 128 (the kernel reads only producer_pos there): the
 * holder's pid, taken and waited for like a ringbuf ring's reservation
 * lock (rb_lock_slow(), src/proc.c: a dead holder is robbed, a live one
 * waited for at most a second, then -EAGAIN).  Producers that do not take
 * it (libbpf's user_ring_buffer) must not share a map with ringbuf's.
 *
 * Ordering on a USER_RINGBUF: our store_release(producer_pos) pairs with
 * the kernel's smp_load_acquire(producer_pos) in its peek; our
 * store_release(hdr->len) at commit with its smp_load_acquire(hdr->len);
 * the kernel's smp_store_release(consumer_pos) after a drain with our
 * smp_load_acquire(consumer_pos) in rb_kuser_reserve().
 */
#include "internal.h"
#include "barrier.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Kernel 6.19's overwrite mode flag; this library does not read such maps yet. */
#ifndef BPF_F_RB_OVERWRITE
#define BPF_F_RB_OVERWRITE (1U << 19)
#endif

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Is @fd a BPF map?  BPF_OBJ_GET_INFO_BY_FD answers for programs and links
 * too, with another struct, so ask the anon inode's name instead. */
static bool rb_fd_is_bpf_map(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "anon_inode:bpf-map") == 0;
}

static int rb_map_info(int fd, struct bpf_map_info *info)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	memset(info, 0, sizeof(*info));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = (uint64_t)(uintptr_t)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) ? -errno : 0;
}

/* Map a kernel ring of @kind into @rb (its fd already set). */
static int rb_kmap_map(struct ringbuf *rb)
{
	size_t page = (size_t)1 << rb->page_shift;
	bool consumer = rb->kind == RB_KERNEL_RINGBUF;
	void *cons, *rest;

	cons = mmap(NULL, page, consumer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
		    rb->fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	rb->map[0] = cons;
	rb->map_len[0] = page;
	rest = mmap(NULL, page + 2 * rb->size, consumer ? PROT_READ : PROT_READ | PROT_WRITE,
		    MAP_SHARED, rb->fd, (off_t)page);
	if (rest == MAP_FAILED)
		return -errno;
	rb->map[1] = rest;
	rb->map_len[1] = page + 2 * rb->size;
	rb->cons = (struct ringbuf_shm_consumer *)cons; /* the kernel's page: consumer_pos only */
	rb->prod = rest;
	rb->data = (unsigned char *)rest + page;
	return 0;
}

static int rb_kmap_epoll(struct ringbuf *rb)
{
	struct epoll_event ev = {
		.events = (rb->kind == RB_KERNEL_RINGBUF ? EPOLLIN : EPOLLOUT) | EPOLLET,
	};

	rb->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rb->epoll_fd < 0)
		return -errno;
	if (epoll_ctl(rb->epoll_fd, EPOLL_CTL_ADD, rb->fd, &ev))
		return -errno;
	if (rb->kind != RB_KERNEL_RINGBUF)
		return 0;
	/* ringbuf_interrupt() wakes ringbuf_poll() through this eventfd. */
	rb->intr_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rb->intr_fd < 0)
		return -errno;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 1 }; /* the map: 0 */
	if (epoll_ctl(rb->epoll_fd, EPOLL_CTL_ADD, rb->intr_fd, &ev))
		return -errno;
	return 0;
}

/* Attach to the kernel map behind @fd, which the new handle owns (it is
 * closed on failure). */
static struct ringbuf *rb_kmap_attach(int fd, const struct ringbuf_opts *opts)
{
	uint32_t shift = rb_page_shift();
	struct bpf_map_info info;
	struct ringbuf *rb = NULL;
	enum rb_kind kind;
	int err;

	rb_init_once();
	if (!rb_opts_valid(opts)) {
		err = -EINVAL;
		goto fail;
	}
	if (!rb_fd_is_bpf_map(fd)) {
		err = -EMEDIUMTYPE;
		goto fail;
	}
	err = rb_map_info(fd, &info);
	if (err)
		goto fail;
	if (info.type == BPF_MAP_TYPE_RINGBUF) {
		kind = RB_KERNEL_RINGBUF;
	} else if (info.type == BPF_MAP_TYPE_USER_RINGBUF) {
		kind = RB_KERNEL_USER_RINGBUF;
	} else {
		err = -EMEDIUMTYPE;
		goto fail;
	}
	if (info.map_flags & BPF_F_RB_OVERWRITE) {
		err = -EOPNOTSUPP;
		goto fail;
	}
	if (!rb_size_valid(info.max_entries, shift)) {
		err = -EPROTO;
		goto fail;
	}
	if (!rb_fits_address_space(info.max_entries, shift)) {
		err = -ENOMEM;
		goto fail;
	}
	rb = rb_alloc(kind, info.max_entries, shift);
	if (!rb) {
		err = -ENOMEM;
		goto fail;
	}
	rb->fd = fd;
	rb->map_id = info.id;
	err = rb_kmap_map(rb);
	if (!err)
		err = rb_kmap_epoll(rb);
	if (!err)
		err = -rb_register(rb);
	if (err) {
		rb_release(rb); /* closes fd */
		errno = -err;
		return NULL;
	}
	return rb;
fail:
	close(fd);
	errno = -err;
	return NULL;
}

struct ringbuf *ringbuf_map_open(int map_fd, const struct ringbuf_opts *opts)
{
	int fd;

	if (map_fd < 0) {
		errno = EBADF;
		return NULL;
	}
	fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	return rb_kmap_attach(fd, opts);
}

/* A descriptor (close-on-exec) of the BPF object pinned at @path, or -1
 * with errno. */
int rb_bpf_fd_pinned(const char *path)
{
	union bpf_attr attr;

	if (!path) {
		errno = EINVAL;
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)path;
	attr.file_flags = 0;
	return (int)sys_bpf(BPF_OBJ_GET, &attr);
}

/* A descriptor of the BPF map with id @map_id, or -1 with errno. */
int rb_bpf_fd_id(uint32_t map_id)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_id = map_id;
	return (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &attr);
}

struct ringbuf *ringbuf_map_open_pinned(const char *path, const struct ringbuf_opts *opts)
{
	int fd = rb_bpf_fd_pinned(path);

	return fd < 0 ? NULL : rb_kmap_attach(fd, opts);
}

struct ringbuf *ringbuf_map_open_id(uint32_t map_id, const struct ringbuf_opts *opts)
{
	int fd = rb_bpf_fd_id(map_id);

	return fd < 0 ? NULL : rb_kmap_attach(fd, opts);
}

/* ------------------------------------------------------------------------
 * Maps of ring buffers (BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS)
 * ------------------------------------------------------------------------ */

/* Is @fd a map of maps whose values are ring buffers?  0 with its key size
 * in *@key_size, or -EMEDIUMTYPE (not a map of maps, or its inner maps are
 * of another type), or the errno of the query. */
int rb_outer_check(int fd, uint32_t *key_size)
{
	struct bpf_map_info info;
	int err, inner;

	if (!rb_fd_is_bpf_map(fd))
		return -EMEDIUMTYPE;
	err = rb_map_info(fd, &info);
	if (err)
		return err;
	if ((info.type != BPF_MAP_TYPE_ARRAY_OF_MAPS && info.type != BPF_MAP_TYPE_HASH_OF_MAPS) ||
	    info.value_size != sizeof(uint32_t) || !info.key_size || info.key_size > 64)
		return -EMEDIUMTYPE;
	*key_size = info.key_size;
	/* the inner maps' type: the first present inner map tells (the
	 * template is not visible from user space); none yet is fine */
	{
		uint32_t ids[1];
		int n = rb_outer_ids(fd, info.key_size, ids, 1);

		if (n < 0)
			return n;
		if (n == 0)
			return 0;
		inner = rb_bpf_fd_id(ids[0]);
		if (inner < 0)
			return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
		err = rb_map_info(inner, &info);
		close(inner);
		if (err)
			return err;
		if (info.type != BPF_MAP_TYPE_RINGBUF)
			return -EMEDIUMTYPE;
	}
	return 0;
}

/* The ids of the inner maps of @fd, in key order (up to @cap of them):
 * their number, or a negative errno. */
int rb_outer_ids(int fd, uint32_t key_size, uint32_t *ids, size_t cap)
{
	unsigned char key[64], next[64];
	union bpf_attr attr;
	size_t n = 0;
	bool first = true;

	for (;;) {
		uint32_t id;

		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)fd;
		attr.key = first ? 0 : (uint64_t)(uintptr_t)key;
		attr.next_key = (uint64_t)(uintptr_t)next;
		if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr)) {
			if (errno == ENOENT)
				return (int)n; /* the last key */
			return -errno;
		}
		first = false;
		memcpy(key, next, key_size);
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)fd;
		attr.key = (uint64_t)(uintptr_t)key;
		attr.value = (uint64_t)(uintptr_t)&id;
		if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr)) {
			if (errno == ENOENT)
				continue; /* an empty array slot, or deleted meanwhile */
			return -errno;
		}
		if (n < cap)
			ids[n] = id;
		n++;
		if (n >= INT_MAX)
			return -E2BIG;
	}
}

/* ------------------------------------------------------------------------
 * Producer into a kernel USER_RINGBUF
 * ------------------------------------------------------------------------ */

/*
 * The kernel's rules for what it will drain (kernel/bpf/ringbuf.c,
 * __bpf_user_ringbuf_peek): producer_pos 8-aligned, a record no longer than
 * producer_pos - consumer_pos, none larger than the ring; the ring may be
 * filled completely (no "size - 1" rule on this side).  The header's second
 * word is written 0, as libbpf does.
 */
struct ringbuf_hdr *rb_kuser_reserve(struct ringbuf *rb, uint64_t size, long *err)
{
	uint64_t total, cons, prod;
	struct ringbuf_hdr *hdr;

	if (size > UINT32_MAX / 4) {
		*err = -E2BIG;
		return NULL;
	}
	total = (size + RINGBUF_HDR_SZ + 7) & ~7ull;
	if (total > rb->size) {
		*err = -E2BIG;
		return NULL;
	}
	uint32_t me = rb_self(), free_ = 0, *lock = &rb->prod->user_lock;

	/* A4' (the R4/A4 pair of src/ring.c, on user_lock): the previous
	 * holder's producer_pos and header stores are visible to us. */
	if (!atomic_compare_exchange_strong_explicit(RB_ATOMIC(lock), &free_, me, memory_order_acquire,
						     memory_order_relaxed) &&
	    !rb_lock_slow(lock, me, &rb->steals)) {
		*err = -EAGAIN; /* held for over a second by a live process */
		return NULL;
	}
	/* Pairs with the kernel's smp_store_release(consumer_pos) in its drain. */
	cons = smp_load_acquire(&rb->cons->consumer_pos);
	prod = READ_ONCE(rb->prod->producer_pos);
	if ((cons | prod) & 7 || prod - cons > rb->size) {
		*err = -EBADMSG;
		hdr = NULL;
	} else if (rb->size - (prod - cons) < total) {
		*err = -EAGAIN;
		hdr = NULL;
	} else {
		hdr = (void *)(rb->data + (prod & rb->mask));
		WRITE_ONCE(hdr->len, (uint32_t)size | RINGBUF_BUSY_BIT);
		WRITE_ONCE(hdr->pg_off, 0);
		/* Pairs with the kernel's smp_load_acquire(producer_pos). */
		smp_store_release(&rb->prod->producer_pos, prod + total);
	}
	smp_store_release(lock, 0); /* R4' */
	return hdr;
}
