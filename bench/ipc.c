/* SPDX-License-Identifier: MIT */
/*
 * ipc.c -- what a user would otherwise reach for: a pipe and a unix
 * datagram socketpair, one record per call and batched; and the memcpy
 * bandwidth the 4 KiB-record rows are compared with.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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
