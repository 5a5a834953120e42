/* SPDX-License-Identifier: MIT */
/*
 * ipc.c -- what a user would otherwise reach for: a pipe and a unix
 * datagram socketpair, one record per call and batched; and the memcpy
 * bandwidth the 4 KiB-record rows are compared with.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

struct ipc_run {
	const struct rowdef *row;
	int wfd, rfd;
	uint64_t dur_ns;
	uint64_t t_start, t_end, sent, received, pcpu, ccpu, vcsw;
};

static void *ipc_producer(void *p)
{
	struct ipc_run *r = p;
	enum sub s = r->row->sub;
	uint64_t buf[IPC_BATCH], seq = 0, deadline, cpu0;
	struct mmsghdr mm[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];

	pin_self(cfg.cpus[0]);
	for (int i = 0; i < DGRAM_BATCH; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 8;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	cpu0 = thread_cpu_ns();
	r->t_start = now_ns();
	deadline = r->t_start + r->dur_ns;
	while (now_ns() < deadline) {
		int batch = s == S_PIPE_BATCH ? IPC_BATCH : s == S_DGRAM_BATCH ? DGRAM_BATCH : 1;

		for (int k = 0; k < 64; k++) { /* check the clock every 64 calls */
			ssize_t w;

			for (int i = 0; i < batch; i++)
				buf[i] = seq + (uint64_t)i;
			if (s == S_DGRAM_BATCH) {
				int sentn = 0;

				while (sentn < batch) {
					int m = sendmmsg(r->wfd, mm + sentn,
							 (unsigned)(batch - sentn), 0);

					if (m < 0 && errno != EINTR)
						die("sendmmsg: %s", strerror(errno));
					if (m > 0)
						sentn += m;
				}
			} else {
				do
					w = write(r->wfd, buf, (size_t)batch * 8);
				while (w < 0 && errno == EINTR);
				if (w != (ssize_t)batch * 8)
					die("%s: write: %zd (%s)", r->row->name, w,
					    strerror(errno));
			}
			seq += (uint64_t)batch;
		}
	}
	r->pcpu = thread_cpu_ns() - cpu0;
	r->sent = seq;
	/* end of stream: EOF on a pipe, an empty datagram on the socket */
	if (s == S_PIPE || s == S_PIPE_BATCH)
		close(r->wfd);
	else if (send(r->wfd, buf, 0, 0) != 0)
		die("send: %s", strerror(errno));
	return NULL;
}

static void *ipc_consumer(void *p)
{
	struct ipc_run *r = p;
	enum sub s = r->row->sub;
	struct verifier v = { .size = 8, .row = r->row->name };
	static _Thread_local uint64_t buf[8192 + 1];
	struct mmsghdr mm[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	size_t have = 0; /* bytes carried over (pipe-batch) */
	struct tstat t0, t1;

	pin_self(cfg.cpus[1]);
	for (int i = 0; i < DGRAM_BATCH; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 8;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = thread_stat();
	for (;;) {
		ssize_t n;

		if (s == S_PIPE || s == S_DGRAM) {
			n = s == S_PIPE ? read(r->rfd, buf, 8) : recv(r->rfd, buf, 8, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				break;
			if (n != 8)
				die("%s: read %zd (%s)", r->row->name, n, strerror(errno));
			verify_cb(&v, buf, 8);
		} else if (s == S_PIPE_BATCH) {
			n = read(r->rfd, (char *)buf + have, sizeof(buf) - 8 - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("%s: read: %s", r->row->name, strerror(errno));
			if (n == 0)
				break;
			have += (size_t)n;
			for (size_t off = 0; off + 8 <= have; off += 8)
				verify_cb(&v, (char *)buf + off, 8);
			if (have % 8)
				memmove(buf, (char *)buf + (have & ~(size_t)7), have % 8);
			have %= 8;
		} else {
			int m = recvmmsg(r->rfd, mm, DGRAM_BATCH, MSG_WAITFORONE, NULL);
			bool end = false;

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				die("%s: recvmmsg: %s", r->row->name, strerror(errno));
			for (int i = 0; i < m; i++) {
				if (mm[i].msg_len == 0) {
					end = true;
					break;
				}
				verify_cb(&v, &buf[i], 8);
			}
			if (end)
				break;
		}
	}
	r->t_end = now_ns();
	t1 = thread_stat();
	r->ccpu = t1.cpu_ns - t0.cpu_ns;
	r->vcsw = t1.vcsw - t0.vcsw;
	r->received = v.received;
	return NULL;
}

void run_ipc(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct ipc_run r = { .row = row, .dur_ns = dur_ns };
	pthread_t tp, tc;
	int fds[2];

	if (row->sub == S_PIPE || row->sub == S_PIPE_BATCH) {
		if (pipe(fds))
			die("pipe: %s", strerror(errno));
		r.rfd = fds[0];
		r.wfd = fds[1];
	} else {
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds))
			die("socketpair: %s", strerror(errno));
		r.rfd = fds[0];
		r.wfd = fds[1];
	}
	if (pthread_create(&tc, NULL, ipc_consumer, &r) ||
	    pthread_create(&tp, NULL, ipc_producer, &r))
		die("pthread_create");
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	close(r.rfd);
	if (row->sub != S_PIPE && row->sub != S_PIPE_BATCH)
		close(r.wfd);
	if (r.received != r.sent)
		die("%s: sent %" PRIu64 ", received %" PRIu64, row->name, r.sent, r.received);
	memset(out, 0, sizeof(*out));
	out->records = r.received;
	out->value = (double)r.received / ((double)(r.t_end - r.t_start) / 1e9) / 1e6;
	out->bytes_s = out->value * 8e6;
	out->prod_cpu = (double)r.pcpu / (double)r.received;
	out->cons_cpu = (double)r.ccpu / (double)r.received;
	out->wakes = (double)r.vcsw / (double)r.received;
}

/* ------------------------------------------------------------------------
 * memcpy reference
 * ------------------------------------------------------------------------ */

static char *mc_src, *mc_dst;

static void *memcpy_main(void *p)
{
	struct row_arg *a = p;
	uint64_t t0, t1, bytes = 0;

	pin_self(cfg.cpus[0]);
	if (!mc_src) {
		mc_src = aligned_alloc(4096, MEMCPY_BUF);
		mc_dst = aligned_alloc(4096, MEMCPY_BUF);
		if (!mc_src || !mc_dst)
			die("out of memory");
		memset(mc_src, 0x33, MEMCPY_BUF);
		memset(mc_dst, 0x44, MEMCPY_BUF);
	}
	t0 = t1 = now_ns();
	while (t1 - t0 < a->dur_ns) {
		for (size_t off = 0; off < a->row->ring; off += MEMCPY_CHUNK)
			memcpy(mc_dst + off, mc_src + off, MEMCPY_CHUNK);
		__asm__ __volatile__("" ::: "memory");
		bytes += a->row->ring;
		t1 = now_ns();
	}
	a->out.value = (double)bytes / ((double)(t1 - t0) / 1e9) / 1e9;
	a->out.bytes_s = a->out.value * 1e9;
	return NULL;
}

void run_memcpy(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	run_in_thread(memcpy_main, row, dur_ns, out);
}

/* ------------------------------------------------------------------------
 * claim floor: what one shared claim costs, with no ring around it
 *
 * Each thread, pinned to its own CPU, claims 16 bytes by fetch-and-add
 * on one shared position and stores a header word and an 8-byte payload
 * there -- the least any reservation of a shared ring can do per record
 * (the kernel's layout needs more: the header before the position, a
 * space check atomic with the claim).  With 1 thread it is the bare cost;
 * with 2 on two CPUs, the position's and the data lines' round trips set
 * a ceiling for every multi-producer scheme on one ring.
 * ------------------------------------------------------------------------ */

struct claim_run {
	_Alignas(128) _Atomic uint64_t pos;
	_Alignas(128) uint64_t *buf;
	uint64_t mask, dur_ns;
	pthread_barrier_t start;
	struct claim_thr {
		_Alignas(128) struct claim_run *run;
		int cpu;
		uint64_t n, cpu_ns, t0, t1;
	} thr[2];
};

static void *claim_main(void *p)
{
	struct claim_thr *t = p;
	struct claim_run *r = t->run;
	uint64_t n = 0, c0, end;

	pin_self(t->cpu);
	pthread_barrier_wait(&r->start);
	c0 = thread_cpu_ns();
	t->t0 = now_ns();
	end = t->t0 + r->dur_ns;
	for (;; n++) {
		if ((n & 255) == 0 && now_ns() >= end)
			break;
		uint64_t at = atomic_fetch_add_explicit(&r->pos, 16, memory_order_relaxed) & r->mask;

		__atomic_store_n(&r->buf[at / 8], (uint64_t)8 | (n << 32), __ATOMIC_RELAXED);
		__atomic_store_n(&r->buf[at / 8 + 1], n, __ATOMIC_RELEASE);
	}
	t->t1 = now_ns();
	t->cpu_ns = thread_cpu_ns() - c0;
	t->n = n;
	return NULL;
}

void run_claim(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	struct claim_run *r = aligned_alloc(128, sizeof(*r));
	pthread_t th[2];
	int nt = row->nprod > 1 && cfg.ncpus > 1 ? 2 : 1;
	uint64_t n = 0, cpu = 0, t0 = UINT64_MAX, t1 = 0;

	if (!r || !(r->buf = aligned_alloc(4096, row->ring)))
		die("out of memory");
	memset(r->buf, 0, row->ring);
	atomic_init(&r->pos, 0);
	r->mask = row->ring - 1;
	r->dur_ns = dur_ns;
	pthread_barrier_init(&r->start, NULL, (unsigned)nt);
	for (int i = 0; i < nt; i++) {
		r->thr[i].run = r;
		r->thr[i].cpu = cfg.allowed[i];
		if (pthread_create(&th[i], NULL, claim_main, &r->thr[i]))
			die("pthread_create");
	}
	for (int i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		n += r->thr[i].n;
		cpu += r->thr[i].cpu_ns;
		t0 = r->thr[i].t0 < t0 ? r->thr[i].t0 : t0;
		t1 = r->thr[i].t1 > t1 ? r->thr[i].t1 : t1;
	}
	memset(out, 0, sizeof(*out));
	out->records = n;
	out->value = (double)n / ((double)(t1 - t0) / 1e9) / 1e6;
	out->bytes_s = out->value * 1e6 * 8;
	out->prod_cpu = (double)cpu / (double)n;
	pthread_barrier_destroy(&r->start);
	free(r->buf);
	free(r);
}
