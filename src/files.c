/* SPDX-License-Identifier: MIT */
/*
 * files.c -- ring files and their names: creating a ring (an anonymous
 * memfd, a named file, or a split ring's two files), checking a file
 * someone hands us, mapping it for a role, and the names under /dev/shm.
 *
 * Mapping.  A handle reserves 3 pages + 2 * size of address space and maps
 * into it, with MAP_FIXED, the metadata page, the consumer page, the
 * producer page with the data, and the data again.  The pages a role must
 * not write are mapped from a read-only file descriptor (reopened through
 * /proc/self/fd), so mprotect() cannot make them writable: a producer
 * cannot move consumer_pos, a consumer cannot write records, producer
 * positions or the metadata page (the reservation lock, the counters, the
 * producers' notification words); everything the consumer writes is in
 * its own page (consumer_pos, its sleep state, its claim).  A split ring
 * (RINGBUF_F_SPLIT) puts that page in a file of its own, so that file
 * permissions, not only this library, keep each role to its part.
 *
 * Names.  A named ring is a file /dev/shm/ringbuf.NAME.  It is created
 * unnamed (O_TMPFILE), sized, mapped and initialised, and only then linked
 * under its name, so nobody ever opens a half-made ring, and an existing
 * name is never replaced (EEXIST).  tmpfs files other than memfds cannot be
 * sealed, so a named ring is protected against truncation only by its mode.
 *
 * The consumer claim (src/handle.c) is taken here when a consumer-role
 * handle attaches.
 */
#include "internal.h"
#include "barrier.h"

#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define RB_SHM_DIR    "/dev/shm"
#define RB_NAME_PREFIX "ringbuf."
#define RB_NAME_MAX   RINGBUF_NAME_MAX

/* A field of @opts, or 0 when @opts is NULL or too short to hold it. */
#define RB_OPT(opts, field)                                                        \
	((opts) && (opts)->sz >= offsetof(struct ringbuf_opts, field) + sizeof((opts)->field) \
		 ? (opts)->field : 0)

/* struct ringbuf_opts.recover_ms as the handle keeps it: 0 = never. */
static uint64_t rb_recover_ns(uint32_t ms)
{
	if (ms == RINGBUF_RECOVER_NEVER)
		return 0;
	return (uint64_t)(ms ? ms : RINGBUF_RECOVER_DEFAULT_MS) * 1000000ull;
}

/* ------------------------------------------------------------------------
 * Mapping for a role
 * ------------------------------------------------------------------------ */

/* A read-only descriptor of the same file. */
static int rb_reopen_ro(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int rb_map_at(void *addr, size_t len, bool writable, int fd, off_t off)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);

	return mmap(addr, len, prot, MAP_SHARED | MAP_FIXED, fd, off) == MAP_FAILED ? -errno : 0;
}

/* Map [meta | consumer | producer | data] and the data again, each part
 * writable only if the handle's role writes it.  A split ring's consumer
 * page comes from its own file; its descriptors were opened read-only for
 * the parts the role does not write, so nothing needs reopening. */
static int rb_map(struct ringbuf *rb)
{
	size_t page = (size_t)1 << rb->page_shift;
	size_t head = RINGBUF_SHM_DATA_PAGE * page, len;
	bool producer = !rb->role || (rb->role & RINGBUF_ROLE_PRODUCER);
	bool consumer = !rb->role || (rb->role & RINGBUF_ROLE_CONSUMER); /* observer: neither */
	bool split = rb->cons_fd >= 0;
	int ro_fd = -1, err = 0, pfd, cfd;
	off_t coff = split ? 0 : (off_t)page;
	unsigned char *base;

	/* The length must not wrap: MAP_FIXED would then map over whatever
	 * lies past a too-small reservation. */
	if (!rb_fits_address_space(rb->size, rb->page_shift))
		return -ENOMEM;
	len = head + 2 * (size_t)rb->size;
	if (!split && (!producer || !consumer)) {
		ro_fd = rb_reopen_ro(rb->fd);
		if (ro_fd < 0)
			return -errno;
	}
	pfd = producer || split ? rb->fd : ro_fd;
	cfd = split ? rb->cons_fd : consumer ? rb->fd : ro_fd;
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	/* The metadata page: only producers write it. */
	err = rb_map_at(base, page, producer, pfd, 0);
	if (!err)
		err = rb_map_at(base + page, page, consumer, cfd, coff);
	if (!err)
		err = rb_map_at(base + 2 * page, page + (size_t)rb->size, producer, pfd,
				(off_t)(2 * page));
	if (!err)
		err = rb_map_at(base + head + rb->size, (size_t)rb->size, producer, pfd,
				(off_t)head);
	if (err) {
		munmap(base, len);
		goto out;
	}
	rb->map[0] = base;
	rb->map_len[0] = len;
	rb->meta = (struct ringbuf_shm_meta *)base;
	rb->cons = (struct ringbuf_shm_consumer *)(base + RINGBUF_SHM_CONSUMER_PAGE * page);
	rb->prod = (struct ringbuf_shm_producer *)(base + RINGBUF_SHM_PRODUCER_PAGE * page);
	rb->data = base + head;
out:
	if (ro_fd >= 0)
		close(ro_fd);
	return err;
}

/* ------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------ */

/* A ring's id: random, so that a split ring's two files can be matched. */
static uint64_t rb_random_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id) || !id)
		id = rb_now_ns() ^ ((uint64_t)rb_self() << 32) ^ (uint64_t)(uintptr_t)&id;
	return id;
}

/* Write a new ring's identity through its (still private, read-write)
 * descriptors, before mapping: the creator's own mapping may be read-only
 * where its role does not write. */
static int rb_init_file(struct ringbuf *rb, uint64_t flags, const struct rb_set_ident *set)
{
	struct ringbuf_shm_meta m = {
		.magic = RINGBUF_MAGIC,
		.version = RINGBUF_LAYOUT_VERSION,
		.page_size = (uint32_t)1 << rb->page_shift,
		.data_size = rb->size,
		.flags = flags,
		.ring_id = rb_random_id(),
		.set_id = set ? set->id : 0,
		.set_n = set ? set->n : 0,
		.set_idx = set ? set->idx : 0,
		.clean_to = RB_SP_NONE, /* matches no position */
	};
	off_t id_off = offsetof(struct ringbuf_shm_consumer, ring_id);
	int cfd = rb->cons_fd;

	if (cfd < 0) {
		cfd = rb->fd;
		id_off += (off_t)RINGBUF_SHM_CONSUMER_PAGE << rb->page_shift;
	}
	errno = 0;
	if (pwrite(cfd, &m.ring_id, sizeof(m.ring_id), id_off) != (ssize_t)sizeof(m.ring_id) ||
	    pwrite(rb->fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return errno ? -errno : -EIO;
	return 0;
}

/* Map @fd (owned) as a ring of @size for @opts's role, register it, claim
 * the consumer role if asked; on failure free everything, return NULL with
 * errno set. */
static struct ringbuf *rb_attach(int fd, int cons_fd, uint64_t size, uint64_t flags,
				 const struct ringbuf_opts *opts, bool fresh,
				 const struct rb_set_ident *set)
{
	struct ringbuf *rb = rb_alloc(RB_USER, size, rb_page_shift());
	int err, seals;

	if (!rb) {
		close(fd);
		if (cons_fd >= 0)
			close(cons_fd);
		errno = ENOMEM;
		return NULL;
	}
	rb->fd = fd;
	rb->cons_fd = cons_fd;
	rb->role = RB_OPT(opts, role);
	rb->overwrite = flags & RINGBUF_F_OVERWRITE;
	rb->single = flags & RINGBUF_F_SINGLE_PRODUCER;
	rb->recover_ns = rb_recover_ns(RB_OPT(opts, recover_ms));
	err = fresh ? rb_init_file(rb, flags, set) : 0;
	/* A file that can shrink under us (any but a sealed memfd): the
	 * SIGBUS guard must be in place before the first access. */
	seals = fcntl(fd, F_GET_SEALS);
	if (!err && (cons_fd >= 0 || seals < 0 || !(seals & F_SEAL_SHRINK)))
		rb_bus_guard();
	if (!err)
		err = rb_map(rb);
	if (!err && rb->role == RINGBUF_ROLE_CONSUMER)
		err = rb_claim_consumer(rb);
	if (!err)
		err = -rb_register(rb);
	if (err) {
		if (rb->meta)
			rb_release_claim(rb);
		rb_release(rb);
		errno = -err;
		return NULL;
	}
	return rb;
}

/* A new, sized file for a ring of @size: a sealed memfd when @dir is NULL,
 * else an unnamed file in @dir (to be linked later) with @mode. */
static int rb_new_file(uint64_t size, const char *dir, uint32_t mode)
{
	size_t page = (size_t)1 << rb_page_shift();
	int fd, err;

	if (dir)
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	else
		fd = memfd_create("ringbuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(RINGBUF_SHM_DATA_PAGE * page + size)) ||
	    (dir && fchmod(fd, mode)) ||
	    (!dir && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int rb_check_new(size_t data_size, const struct ringbuf_opts *opts, uint64_t flags_allowed)
{
	uint32_t shift = rb_page_shift();

	rb_init_once();
	if (!rb_opts_check(opts, flags_allowed) || !rb_size_valid(data_size, shift) ||
	    RB_OPT(opts, role) == RINGBUF_ROLE_OBSERVER) /* a new ring is written */
		return -EINVAL;
	if (!rb_fits_address_space(data_size, shift))
		return -ENOMEM;
	return 0;
}

struct ringbuf *ringbuf_new(size_t data_size, const struct ringbuf_opts *opts)
{
	int fd = rb_check_new(data_size, opts, RINGBUF_F_OVERWRITE | RINGBUF_F_SINGLE_PRODUCER);

	if (!fd)
		fd = rb_new_file(data_size, NULL, 0);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return rb_attach(fd, -1, data_size, RB_OPT(opts, flags), opts, true, NULL);
}

/* Check that @fd holds a ring of this layout; return its data size or a
 * negative errno, and its creation flags in *@flags (unknown flags:
 * -EPROTO).  Reads the metadata once, with pread: never mapped, so a file
 * truncated meanwhile is a short read, not a SIGBUS.
 * @need_seal: a handed-over fd must be size-sealed (a file that can shrink
 * lets a peer turn our accesses into SIGBUS); a named file cannot be.
 * @cons_fd: a split ring's consumer file, which must carry the ring's id;
 * -1 for a ring in one file (then a split ring's `ring` file is refused). */
static int64_t rb_check_file(int fd, bool need_seal, int cons_fd, uint64_t *flags)
{
	size_t page = (size_t)1 << rb_page_shift();
	struct ringbuf_shm_meta m;
	struct stat st;
	int seals;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < RINGBUF_SHM_DATA_PAGE * page)
		return -EPROTO;
	/* read, not mapped: a file truncated meanwhile gives a short read */
	if (pread(fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return -EPROTO;
	if (m.magic != RINGBUF_MAGIC)
		return -EPROTO;
	if (m.version != RINGBUF_LAYOUT_VERSION)
		return -EPROTONOSUPPORT;
	if (m.page_size != page || !rb_size_valid(m.data_size, rb_page_shift()) ||
	    (uint64_t)st.st_size != RINGBUF_SHM_DATA_PAGE * page + m.data_size ||
	    (m.flags & ~(uint64_t)(RINGBUF_F_OVERWRITE | RINGBUF_F_SPLIT | RINGBUF_F_SINGLE_PRODUCER)) ||
	    !(m.flags & RINGBUF_F_SPLIT) != (cons_fd < 0))
		return -EPROTO;
	if (cons_fd >= 0) {
		ringbuf_u64 id;

		if (fstat(cons_fd, &st))
			return -errno;
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != page ||
		    pread(cons_fd, &id, sizeof(id), offsetof(struct ringbuf_shm_consumer, ring_id)) !=
			    (ssize_t)sizeof(id) ||
		    id != m.ring_id)
			return -EPROTO;
	}
	*flags = m.flags;
	if (need_seal) {
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || !(seals & F_SEAL_SHRINK))
			return -EPROTO;
	}
	if (!rb_fits_address_space(m.data_size, rb_page_shift()))
		return -ENOMEM;
	return (int64_t)m.data_size;
}

struct ringbuf *ringbuf_from_fd(int fd, const struct ringbuf_opts *opts)
{
	uint64_t flags = 0;
	int64_t size;
	int dup_fd;

	rb_init_once();
	if (!rb_opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}
	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	size = rb_check_file(fd, true, -1, &flags);
	if (size < 0) {
		errno = (int)-size;
		return NULL;
	}
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return NULL;
	return rb_attach(dup_fd, -1, (uint64_t)size, flags, opts, false, NULL);
}

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

/* /dev/shm/ringbuf.NAME into @path, or -EINVAL for a name we refuse: it
 * becomes part of a path, so no '/', no leading '.', nothing exotic. */
static int rb_name_path(const char *name, char *path, size_t len)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > RB_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	snprintf(path, len, "%s/%s%s", RB_SHM_DIR, RB_NAME_PREFIX, name);
	return 0;
}

/* The files of a split ring, in its directory. */
#define RB_SPLIT_RING "ring"
#define RB_SPLIT_CONS "consumer"

_Static_assert(sizeof(RB_SHM_DIR "/" RB_NAME_PREFIX "/" RB_SPLIT_CONS) + RB_NAME_MAX <=
	       sizeof(((struct ringbuf_name_info *)0)->ring_path), "ring_path holds every path");

int ringbuf_name_info(const char *name, struct ringbuf_name_info *info)
{
	struct stat st;
	int err;

	if (!info || info->sz < offsetof(struct ringbuf_name_info, ring_path) +
				    sizeof(info->ring_path))
		return (int)rb_err(EINVAL);
	err = rb_name_path(name, info->path, sizeof(info->path));
	if (err)
		return (int)rb_err(-err);
	info->kind = 0;
	snprintf(info->ring_path, sizeof(info->ring_path), "%s", info->path);
	if (lstat(info->path, &st))
		return (int)rb_err(errno);
	if (S_ISDIR(st.st_mode)) {
		info->kind = RINGBUF_NAME_SPLIT;
		/* a valid name's path leaves room: 9 + 8 + RB_NAME_MAX + 5 < 256 */
		memcpy(info->ring_path + strlen(info->path), "/" RB_SPLIT_RING,
		       sizeof("/" RB_SPLIT_RING));
	} else if (S_ISREG(st.st_mode)) {
		info->kind = RINGBUF_NAME_FILE;
	} else {
		return (int)rb_err(EPROTO);
	}
	return 0;
}

/* scandir() filter: "ringbuf." and at least one more byte. */
static int rb_list_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, RB_NAME_PREFIX, strlen(RB_NAME_PREFIX)) &&
	       d->d_name[strlen(RB_NAME_PREFIX)] != '\0';
}

/* Byte order, whatever the locale (alphasort() follows LC_COLLATE). */
static int rb_list_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int ringbuf_list(ringbuf_name_fn fn, void *ctx)
{
	char path[sizeof(RB_SHM_DIR) + sizeof(RB_NAME_PREFIX) + RB_NAME_MAX + 2];
	struct dirent **ents;
	int n, ret = 0;

	if (!fn)
		return (int)rb_err(EINVAL);
	n = scandir(RB_SHM_DIR, &ents, rb_list_filter, rb_list_cmp);
	if (n < 0)
		return (int)rb_err(errno);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name + strlen(RB_NAME_PREFIX);

		if (!ret)
			ret = fn(ctx, name, rb_name_path(name, path, sizeof(path)));
		free(ents[i]);
	}
	free(ents);
	return ret;
}

/* A new file @fname of @size bytes and @mode in the directory @dfd. */
static int rb_new_file_at(int dfd, const char *fname, uint64_t size, uint32_t mode)
{
	int fd = openat(dfd, fname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) || fchmod(fd, mode)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Remove a split ring's directory @path (which must be one we may
 * remove): its two files, then itself.  A consumer's leftovers are not
 * ours to know; anything else in it makes rmdir fail, and so do we. */
/* Does the split ring's directory at @path hold nothing but its two
 * files?  0, -ENOTEMPTY, or the error of opening or reading it. */
static int rb_split_dir_only_ours(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		return err;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, RB_SPLIT_RING) && strcmp(de->d_name, RB_SPLIT_CONS))
			err = -ENOTEMPTY;
	closedir(d);
	return err;
}

static int rb_remove_split_dir(int dfd, const char *path)
{
	int err = 0;

	if (unlinkat(dfd, RB_SPLIT_RING, 0) && errno != ENOENT)
		err = -errno;
	if (unlinkat(dfd, RB_SPLIT_CONS, 0) && errno != ENOENT && !err)
		err = -errno;
	if (rmdir(path) && !err)
		err = -errno;
	return err;
}

/* ringbuf_create() for a split ring: both files are made in a private
 * directory, initialised through the handle, and the directory is renamed
 * to the ring's name, never over an existing one (RENAME_NOREPLACE). */
static struct ringbuf *rb_create_split(const char *path, size_t data_size,
				       const struct ringbuf_opts *opts)
{
	size_t page = (size_t)1 << rb_page_shift();
	uint32_t mode = RB_OPT(opts, mode), cmode = RB_OPT(opts, consumer_mode);
	char tmp[sizeof(RB_SHM_DIR) + 32];
	struct ringbuf *rb = NULL;
	int dfd, fd, cfd, err;

	mode = mode ? mode : 0600;
	cmode = cmode ? cmode : mode;
	snprintf(tmp, sizeof(tmp), "%s/.ringbuf-new.XXXXXX", RB_SHM_DIR);
	if (!mkdtemp(tmp))
		return NULL;
	dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		err = -errno;
		rmdir(tmp);
		errno = -err;
		return NULL;
	}
	fd = rb_new_file_at(dfd, RB_SPLIT_RING, RINGBUF_SHM_DATA_PAGE * page + data_size, mode);
	cfd = fd < 0 ? fd : rb_new_file_at(dfd, RB_SPLIT_CONS, page, cmode);
	if (cfd < 0) {
		err = cfd;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	rb = rb_attach(fd, cfd, data_size, RB_OPT(opts, flags), opts, true, NULL);
	if (!rb) {
		err = -errno;
		goto fail;
	}
	/* Reachable by anyone the files' modes let in; listable by nobody
	 * but the owner. */
	if (fchmod(dfd, 0711) || renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) {
		err = -errno;
		ringbuf_free(rb);
		rb = NULL;
		goto fail;
	}
	close(dfd);
	return rb;
fail:
	rb_remove_split_dir(dfd, tmp);
	close(dfd);
	errno = -err;
	return NULL;
}

/* ringbuf_create(), for a named set's member when @set is not NULL (its
 * identity written with the rest, before the name appears; not split). */
struct ringbuf *rb_create_ident(const char *name, size_t data_size,
				const struct ringbuf_opts *opts, const struct rb_set_ident *set)
{
	char path[sizeof(RB_SHM_DIR) + sizeof(RB_NAME_PREFIX) + RB_NAME_MAX + 2], proc[64];
	uint32_t mode = RB_OPT(opts, mode);
	struct ringbuf *rb;
	int fd, err;

	err = rb_name_path(name, path, sizeof(path));
	if (!err)
		err = rb_check_new(data_size, opts,
				   RINGBUF_F_OVERWRITE | RINGBUF_F_SPLIT | RINGBUF_F_SINGLE_PRODUCER);
	if (!err && (RB_OPT(opts, flags) & RINGBUF_F_SPLIT)) {
		if (set) {
			errno = EINVAL;
			return NULL;
		}
		return rb_create_split(path, data_size, opts);
	}
	fd = err ? err : rb_new_file(data_size, RB_SHM_DIR, mode ? mode : 0600);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	rb = rb_attach(fd, -1, data_size, RB_OPT(opts, flags), opts, true, set);
	if (!rb)
		return NULL;
	/* Publish the finished ring under its name; never replace one. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rb->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW)) {
		err = errno;
		ringbuf_free(rb);
		errno = err;
		return NULL;
	}
	return rb;
}

struct ringbuf *ringbuf_create(const char *name, size_t data_size,
			       const struct ringbuf_opts *opts)
{
	return rb_create_ident(name, data_size, opts, NULL);
}

/* An open of a split ring's file failed with @e because what is there
 * is no file of ours: missing, a socket, a device, a directory. */
static bool rb_not_a_ring_errno(int e)
{
	return e == ENOENT || e == ENXIO || e == ENODEV || e == EISDIR;
}

/* Open a split ring's two files in @dfd, each read-write only for the role
 * that writes it. */
static int rb_open_split(int dfd, uint32_t role, int *fd, int *cfd)
{
	int pflags = role && !(role & RINGBUF_ROLE_PRODUCER) ? O_RDONLY : O_RDWR;
	int cflags = role && !(role & RINGBUF_ROLE_CONSUMER) ? O_RDONLY : O_RDWR;

	*fd = openat(dfd, RB_SPLIT_RING, pflags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return rb_not_a_ring_errno(errno) ? -EPROTO : -errno;
	*cfd = openat(dfd, RB_SPLIT_CONS, cflags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (*cfd < 0) {
		int err = rb_not_a_ring_errno(errno) ? -EPROTO : -errno;

		close(*fd);
		return err;
	}
	return 0;
}

struct ringbuf *ringbuf_open(const char *name, const struct ringbuf_opts *opts)
{
	char path[sizeof(RB_SHM_DIR) + sizeof(RB_NAME_PREFIX) + RB_NAME_MAX + 2];
	uint64_t flags = 0;
	int64_t size;
	int fd, cfd = -1, dfd, err;

	rb_init_once();
	err = rb_name_path(name, path, sizeof(path));
	if (!err && !rb_opts_valid(opts))
		err = -EINVAL;
	if (err) {
		errno = -err;
		return NULL;
	}
	/* A directory under the name is a split ring (O_PATH: its mode gives
	 * others search permission only). */
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd >= 0) {
		err = rb_open_split(dfd, RB_OPT(opts, role), &fd, &cfd);
		close(dfd);
		if (err) {
			errno = -err;
			return NULL;
		}
	} else if (errno == ENOTDIR) {
		fd = open(path,
			  (RB_OPT(opts, role) == RINGBUF_ROLE_OBSERVER ? O_RDONLY : O_RDWR) |
				  O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENXIO || errno == ENODEV)
				errno = EPROTO; /* a socket, a device: not a ring */
			return NULL;
		}
	} else {
		return NULL;
	}
	size = rb_check_file(fd, false, cfd, &flags);
	if (size < 0) {
		close(fd);
		if (cfd >= 0)
			close(cfd);
		errno = (int)-size;
		return NULL;
	}
	return rb_attach(fd, cfd, (uint64_t)size, flags, opts, false, NULL);
}

int ringbuf_unlink(const char *name)
{
	char path[sizeof(RB_SHM_DIR) + sizeof(RB_NAME_PREFIX) + RB_NAME_MAX + 2];
	char tmp[sizeof(RB_SHM_DIR) + 32];
	int err = rb_name_path(name, path, sizeof(path)), dfd;

	if (err)
		return (int)rb_err(-err);
	if (!unlink(path))
		return 0;
	if (errno != EISDIR)
		return (int)rb_err(errno);
	/* A split ring holding anything but its two files is not removed at
	 * all (-ENOTEMPTY): never half. */
	err = rb_split_dir_only_ours(path);
	if (err)
		return (int)rb_err(-err);
	/* Take the name away first, in one step (a rename over an empty
	 * directory of our own), then empty and remove the directory under
	 * that private name. */
	snprintf(tmp, sizeof(tmp), "%s/.ringbuf-old.XXXXXX", RB_SHM_DIR);
	if (!mkdtemp(tmp))
		return (int)rb_err(errno);
	if (rename(path, tmp)) {
		err = errno;
		rmdir(tmp);
		return (int)rb_err(err);
	}
	dfd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return (int)rb_err(errno);
	err = rb_remove_split_dir(dfd, tmp);
	close(dfd);
	if (err) {
		/* Something appeared in it meanwhile: give the directory its
		 * name back, so that nothing hidden stays behind. */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE))
			rmdir(tmp);
		return (int)rb_err(-err);
	}
	return 0;
}
