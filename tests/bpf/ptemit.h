/* SPDX-License-Identifier: MIT */
/*
 * ptemit.h -- the BPF side of progtypes.h, included by the progtypes*.bpf.c
 * objects: the "rb" ring, the "cfg" map and pt_emit(), which every program
 * calls from its hook.  Built with -mcpu=v3 (mk/progtypes.mk) for the
 * compare-and-swap that takes the arming.
 */
#ifndef RINGBUF_TEST_BPF_PTEMIT_H
#define RINGBUF_TEST_BPF_PTEMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "progtypes.h"

#define PT_EAGAIN 11

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PT_RING_SIZE);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pt_cfg);
} cfg SEC(".maps");

static __always_inline void pt_rec_make(struct pt_rec *r, const struct pt_cfg *c, __u32 prog,
					__u32 idx, const struct pt_op *op)
{
	r->magic = PT_MAGIC;
	r->prog = prog;
	r->row = c->row;
	r->trigger = c->trigger;
	r->idx = idx;
	r->kind = op->kind;
	r->flags = op->flags;
	r->pad = 0;
#pragma unroll
	for (int i = 0; i < PT_FILL - 8; i++)
		r->fill[i] = PT_FILL_BYTE(r->row, r->trigger, idx, (__u32)i);
}

/*
 * Run the plan if this invocation takes the arming.  @tid: the current
 * thread id where the program type can read it, else 0 (then cfg.tid is not
 * checked: the hook is private to the test by construction -- a test run, a
 * cgroup or a socket of its own, its own network namespace).  Returns 1 if
 * it ran the plan.
 */
static __always_inline struct pt_cfg *pt_cfg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cfg, &zero);
}

static __always_inline int pt_emit(__u32 prog, __u32 tid)
{
	struct pt_cfg *c = pt_cfg_get();

	if (!c)
		return 0;
	if (tid && c->tid && tid != c->tid)
		return 0;
	__sync_fetch_and_add(&c->calls, 1);
	if (__sync_val_compare_and_swap(&c->armed, 1, 0) != 1)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < PT_MAX_OPS; i++) {
		struct pt_op op;
		struct pt_rec r;
		long ret = 0;

		if (i >= c->nops)
			break;
		op = c->ops[i];
		pt_rec_make(&r, c, prog, i, &op);
		if (op.kind == PT_OUT) {
			ret = bpf_ringbuf_output(&rb, &r, sizeof(r), op.flags);
		} else {
			struct pt_rec *p = bpf_ringbuf_reserve(&rb, sizeof(r), 0);

			if (!p) {
				ret = -PT_EAGAIN;
			} else {
				__builtin_memcpy(p, &r, sizeof(r));
				if (op.kind == PT_SUBMIT)
					bpf_ringbuf_submit(p, op.flags);
				else
					bpf_ringbuf_discard(p, op.flags);
			}
		}
		c->ret[i] = ret;
	}
	__sync_fetch_and_add(&c->fired, 1);
	return 1;
}

/* The current thread id, for the program types that have the helper. */
static __always_inline __u32 pt_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

#endif
