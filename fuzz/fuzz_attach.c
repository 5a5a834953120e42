/* SPDX-License-Identifier: MIT */
/*
 * fuzz_attach.c -- libFuzzer target: ringbuf_from_fd() on a file a hostile
 * peer built.
 *
 * The input describes a memfd: its size, its seals and the metadata page
 * (magic, version, page_size, data_size, flags).  ringbuf_from_fd() must
 * accept exactly the files the documentation allows -- right magic and
 * version, this system's page size, a valid data size that matches the file
 * size, sealed against shrinking -- and refuse everything else with EPROTO
 * (EPROTONOSUPPORT for another layout version, EBADF for a bad fd).  An
 * accepted ring must work: one record out, the same record in.
 */
#define FZ_NO_RING
#include "fuzz_common.h"

#include <fcntl.h>
#include <sys/stat.h>

static int got;
static unsigned char rec[16];

static int cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	FZ_CHECK(size == sizeof(rec) && !memcmp(data, rec, size), "record mangled");
	got++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	const uint64_t P = (uint64_t)sysconf(_SC_PAGESIZE);
	struct ringbuf_shm_meta meta;
	struct fz_attach in;
	uint64_t fsize = 0;
	struct ringbuf *rb;
	int fd = -1, seals = 0, want = 0, e;

	if (len < sizeof(in))
		return 0;
	memcpy(&in, buf, sizeof(in));

	memset(&meta, 0, sizeof(meta));
	meta.magic = in.magic_mode ? in.magic : RINGBUF_MAGIC;
	meta.version = in.version;
	meta.page_size = in.page_size ? in.page_size : (uint32_t)P;
	/* data sizes up to 2^31 are valid; keep most inputs small */
	meta.data_size = in.data_size;
	meta.flags = in.flags;
	switch (in.size_mode % 3) {
	case 0: fsize = 3 * P + meta.data_size; break;
	case 1: fsize = 3 * P + meta.data_size + (uint64_t)(int64_t)in.delta; break;
	default: fsize = (uint64_t)(uint32_t)in.delta * P / 4096; break;
	}
	if (fsize > 3 * P + (1ull << 31) + P)
		fsize = (uint64_t)in.delta & 0xffffff; /* no bigger files than the largest ring */

	switch (in.kind & 7) {
	case 4: {
		int pfd[2];

		FZ_CHECK(pipe(pfd) == 0, "pipe");
		close(pfd[1]);
		fd = pfd[0];
		want = EPROTO;
		break;
	}
	case 5:
		fd = -1;
		want = EBADF;
		break;
	case 6:
		fd = open("/dev/null", O_RDONLY);
		close(fd); /* now closed */
		want = EBADF;
		break;
	case 7:
		fd = open("/", O_RDONLY | O_DIRECTORY);
		want = EPROTO;
		break;
	default:
		fd = memfd_create("fuzz-attach", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		FZ_CHECK(fd >= 0, "memfd_create");
		FZ_CHECK(ftruncate(fd, (off_t)fsize) == 0, "ftruncate %llu",
			 (unsigned long long)fsize);
		if (fsize)
			FZ_CHECK(pwrite(fd, &meta, fsize < sizeof(meta) ? fsize : sizeof(meta), 0) >= 0,
				 "pwrite");
		if (in.seals & 1)
			seals |= F_SEAL_SHRINK;
		if (in.seals & 2)
			seals |= F_SEAL_GROW;
		if (in.seals & 8)
			seals |= F_SEAL_SEAL;
		if (seals)
			FZ_CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0, "seal");
		if (fsize < 3 * P || meta.magic != RINGBUF_MAGIC)
			want = EPROTO;
		else if (meta.version != RINGBUF_LAYOUT_VERSION)
			want = EPROTONOSUPPORT;
		else if (meta.page_size != P || meta.data_size < P ||
			 meta.data_size > RINGBUF_MAX_DATA_SIZE ||
			 (meta.data_size & (meta.data_size - 1)) || fsize != 3 * P + meta.data_size ||
			 /* unknown flags, or a split ring's `ring` file alone */
			 (meta.flags & ~(uint64_t)(RINGBUF_F_OVERWRITE | RINGBUF_F_SINGLE_PRODUCER)) ||
			 !(seals & F_SEAL_SHRINK))
			want = EPROTO;
		break;
	}

	errno = 0;
	rb = ringbuf_from_fd(fd, NULL);
	e = errno;
	if (want) {
		FZ_CHECK(!rb && e == want, "from_fd gave %p errno %d, want errno %d", (void *)rb, e,
			 want);
	} else {
		FZ_CHECK(rb, "valid ring refused: errno %d", e);
		FZ_CHECK(ringbuf_query(rb, RINGBUF_RING_SIZE) == meta.data_size, "ring size");
		for (size_t i = 0; i < sizeof(rec); i++)
			rec[i] = (unsigned char)(i + buf[0]);
		got = 0;
		FZ_CHECK(ringbuf_output(rb, rec, sizeof(rec), RINGBUF_NO_WAKEUP) == 0, "output");
		FZ_CHECK(ringbuf_consume(rb, cb, NULL) == 1 && got == 1, "consume");
		ringbuf_free(rb);
	}
	if (fd >= 0 && (in.kind & 7) != 6)
		close(fd);
	return 0;
}
