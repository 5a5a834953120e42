/* SPDX-License-Identifier: MIT */
/*
 * procs.c -- producer processes on a named ring (ringbuf_create in the
 * consumer, ringbuf_open in each forked producer) or on a named ring set
 * (ringbuf_set_create / ringbuf_set_open), the tuned form: the
 * cross-process case threads do not show.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

struct proc_result {
	int id, err;
	uint64_t sent, drops, cpu_ns, t_start;
};

/* One record into the named ring, or into this thread's ring of the set. */
static inline long put(struct ringbuf *rb, struct ringbuf_set *set, const void *buf,
		       const struct rowdef *row)
{
	return set ? ringbuf_set_output(set, buf, row->size, row->flags)
		   : ringbuf_output(rb, buf, row->size, row->flags);
}

static void proc_child(const char *name, int id, int go_fd, int res_fd, const struct rowdef *row,
		       uint64_t dur_ns)
{
	struct ringbuf_opts o = { .sz = sizeof(o), .role = RINGBUF_ROLE_PRODUCER };
	struct proc_result res = { .id = id };
	struct ringbuf *rb = NULL;
	struct ringbuf_set *set = NULL;
	uint64_t buf[MAX_REC / 8 + 1], seq = 0, deadline, cpu0;
	const uint64_t tag = (uint64_t)id << ID_SHIFT;
	char c;

	pin_self(cfg.allowed[id % cfg.ncpus]);
	memset(buf, 0x5a, sizeof(buf));
	if (row_set_rings(row))
		set = ringbuf_set_open(name, &o);
	else
		rb = ringbuf_open(name, &o);
	if (!rb && !set)
		res.err = errno;
	/* the parent closes its end of the go pipe: every child starts at once */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	cpu0 = process_cpu_ns();
	res.t_start = now_ns();
	deadline = res.t_start + dur_ns;
	for (; rb || set; seq++) {
		long err;

		if ((seq & 255) == 0 && now_ns() >= deadline)
			break;
		fill_record(buf, row->size, tag | seq);
		if ((err = put(rb, set, buf, row)) == -EAGAIN) {
			unsigned tries = 0;

			res.drops++;
			do
				full_wait(&tries);
			while ((err = put(rb, set, buf, row)) == -EAGAIN);
		}
		if (err) {
			res.err = (int)-err;
			break;
		}
	}
	res.cpu_ns = process_cpu_ns() - cpu0;
	res.sent = seq;
	if (write(res_fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(3);
	ringbuf_free(rb);
	ringbuf_set_free(set);
	_exit(0);
}

static void *procs_main(void *p)
{
	struct row_arg *a = p;
	const struct rowdef *row = a->row;
	struct ringbuf_opts co = { .sz = sizeof(co), .role = RINGBUF_ROLE_CONSUMER };
	struct ringbuf_opts po = { .sz = sizeof(po), .role = RINGBUF_ROLE_PRODUCER };
	struct verifier v = { .size = row->size, .row = row->name };
	struct proc_result res[MAX_PRODUCERS];
	struct ringbuf *rb = NULL, *pre;
	struct ringbuf_set *set = NULL;
	pid_t pid[MAX_PRODUCERS];
	int go[2], rp[2], nres = 0;
	uint64_t sent = 0, t0 = UINT64_MAX, pcpu = 0, t_end;
	struct tstat s0, s1;
	char name[64];

	pin_self(cfg.cpus[1]);
	snprintf(name, sizeof(name), "bench.%d", (int)getpid());
	if (row_set_rings(row)) {
		set = ringbuf_set_create(name, row_set_rings(row), row->ring, &co);
		if (!set)
			die("ringbuf_set_create(%s): %s", name, strerror(errno));
		for (unsigned i = 0; i < ringbuf_set_count(set); i++) {
			char m[80];

			snprintf(m, sizeof(m), "%s.%u", name, i);
			pre = ringbuf_open(m, &po); /* allocate the pages before the children map them */
			if (!pre)
				die("ringbuf_open(%s, producer): %s", m, strerror(errno));
			prefault2(pre, ringbuf_set_ring(set, i));
			ringbuf_free(pre);
		}
	} else {
		rb = ringbuf_create(name, row->ring, &co);
		if (!rb)
			die("ringbuf_create(%s): %s", name, strerror(errno));
		pre = ringbuf_open(name, &po); /* allocate the pages before the children map them */
		if (!pre)
			die("ringbuf_open(%s, producer): %s", name, strerror(errno));
		prefault2(pre, rb);
		ringbuf_free(pre);
	}
	if (pipe(go) || pipe(rp))
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (int i = 0; i < row->nprod; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			close(go[1]);
			close(rp[0]);
			proc_child(name, i, go[0], rp[1], row, a->dur_ns);
		}
	}
	close(go[0]);
	close(rp[1]);
	nap_ns(20 * 1000000L); /* let every child open the ring */
	s0 = thread_stat();
	close(go[1]); /* start */
	while (nres < row->nprod) {
		struct pollfd pf = { .fd = rp[0], .events = POLLIN };
		int n = set ? ringbuf_set_consume(set, verify_cb, &v) : ringbuf_consume(rb, verify_cb, &v);

		if (n < 0)
			die("%s: ringbuf_consume: %s", row->name, strerror(-n));
		while (nres < row->nprod && poll(&pf, 1, 0) == 1) {
			if (read(rp[0], &res[nres], sizeof(res[0])) != (ssize_t)sizeof(res[0]))
				die("%s: a producer process died", row->name);
			if (res[nres].err)
				die("%s: producer process %d: %s", row->name, res[nres].id,
				    strerror(res[nres].err));
			nres++;
		}
		if (nres < row->nprod)
			nap_ns(TUNED_NAP_NS);
	}
	if (set)
		while (ringbuf_set_consume(set, verify_cb, &v) > 0)
			;
	else
		drain(rb, verify_cb, &v);
	t_end = now_ns();
	s1 = thread_stat();
	for (int i = 0; i < row->nprod; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		sent += res[i].sent;
		pcpu += res[i].cpu_ns;
		a->out.drops += res[i].drops;
		if (res[i].t_start < t0)
			t0 = res[i].t_start;
	}
	close(rp[0]);
	if (v.received != sent)
		die("%s: producers sent %" PRIu64 ", consumer got %" PRIu64, row->name, sent,
		    v.received);
	if (set) {
		ringbuf_set_unlink(name);
		ringbuf_set_free(set);
	} else {
		ringbuf_unlink(name);
		ringbuf_free(rb);
	}
	a->out.records = v.received;
	a->out.value = (double)v.received / ((double)(t_end - t0) / 1e9) / 1e6;
	a->out.bytes_s = a->out.value * 1e6 * (double)row->size;
	a->out.prod_cpu = (double)pcpu / (double)v.received;
	a->out.cons_cpu = (double)(s1.cpu_ns - s0.cpu_ns) / (double)v.received;
	a->out.wakes = (double)(s1.vcsw - s0.vcsw) / (double)v.received;
	return NULL;
}

void run_procs(const struct rowdef *row, uint64_t dur_ns, struct sample *out)
{
	run_in_thread(procs_main, row, dur_ns, out);
}
