// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * progtypes.bpf.c -- one program per BPF program type that may call
 * bpf_ringbuf_output/reserve/submit/discard, each running the plan of
 * progtypes.h (pt_emit) from its own hook.  tests/t_progtypes*.c load one
 * program at a time (autoload), trigger it by BPF_PROG_TEST_RUN or by
 * attaching it, and consume the ring with ringbuf.
 *
 * No vmlinux.h: the context structures come from <linux/bpf.h>; tracing
 * programs read their arguments as the u64 array the kernel passes.
 */
#include "ptemit.h"

char LICENSE[] SEC("license") = "GPL"; /* tracing, LSM, struct_ops, netfilter */

#define PT_SK_PASS 1

/* A program @name of section @sec (context type @ctx_t) that runs the plan
 * (thread id @tid, see pt_emit()) and returns @ret. */
#define PT_PROG(sec, name, ctx_t, id, tid, ret) \
	SEC(sec) int name(ctx_t ctx)             \
	{                                        \
		pt_emit(id, tid);                \
		return ret;                      \
	}

/* ---- BPF_PROG_TEST_RUN ---------------------------------------------------- */

PT_PROG("syscall", pt_syscall, void *, PT_P_SYSCALL, 0, 0)

PT_PROG("socket", pt_socket, struct __sk_buff *, PT_P_SOCKET, 0, 0)

/* A socket filter that does nothing: the row of raw_tp.w/bpf_test_finish
 * test-runs it to reach that tracepoint. */
SEC("socket")
int pt_nop(struct __sk_buff *skb)
{
	return 0;
}

PT_PROG("classifier", pt_sched_cls, struct __sk_buff *, PT_P_SCHED_CLS, 0, 0 /* TC_ACT_OK */)

PT_PROG("action", pt_sched_act, struct __sk_buff *, PT_P_SCHED_ACT, 0, 0)

PT_PROG("xdp", pt_xdp, struct xdp_md *, PT_P_XDP, 0, XDP_PASS)

PT_PROG("lwt_in", pt_lwt_in, struct __sk_buff *, PT_P_LWT_IN, 0, BPF_OK)

PT_PROG("lwt_out", pt_lwt_out, struct __sk_buff *, PT_P_LWT_OUT, 0, BPF_OK)

PT_PROG("lwt_xmit", pt_lwt_xmit, struct __sk_buff *, PT_P_LWT_XMIT, 0, BPF_OK)

/* Test-runs are not supported for this type: t_progtypes_net makes it the
 * End.BPF action of an SRv6 route and sends it a packet.  Its next segment
 * is a local address, where seg6 may not deliver after End: the program
 * drops the packet itself (else the kernel would, with an ICMP error). */
PT_PROG("lwt_seg6local", pt_lwt_seg6, struct __sk_buff *, PT_P_LWT_SEG6, 0, BPF_DROP)

/* Test-run, and attached to the test's cgroup (egress) by another row. */
PT_PROG("cgroup_skb/egress", pt_cgroup_skb, struct __sk_buff *, PT_P_CGROUP_SKB, 0, 1)

PT_PROG("flow_dissector", pt_flow_dissector, struct __sk_buff *, PT_P_FLOW_DISSECTOR, 0,
	BPF_OK)

PT_PROG("sk_lookup", pt_sk_lookup, struct bpf_sk_lookup *, PT_P_SK_LOOKUP, 0, PT_SK_PASS)

/* Test-run with args {0, getppid}, and attached to sys_enter by another
 * row: the syscall number is args[1] of raw_syscalls:sys_enter, the row's
 * is cfg.arg. */
SEC("raw_tp/sys_enter")
int pt_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_cfg *c = pt_cfg_get();

	if (c && ctx->args[1] == c->arg)
		pt_emit(PT_P_RAW_TP, pt_tid());
	return 0;
}

/* Writable raw tracepoint: bpf_test_finish, which every skb/xdp test run
 * passes (the row test-runs pt_nop).  The program does not write the
 * buffer (it may, up to the tracepoint's writable size). */
PT_PROG("raw_tp.w/bpf_test_finish", pt_raw_tp_w, struct bpf_raw_tracepoint_args *,
	PT_P_RAW_TP_W, pt_tid(), 0)

/* ---- TRACING and EXT ------------------------------------------------------ */

/* bpf_fentry_test1 and bpf_modify_return_test are what a test run of these
 * programs calls. */
PT_PROG("fentry/bpf_fentry_test1", pt_fentry, unsigned long long *, PT_P_FENTRY, pt_tid(), 0)

PT_PROG("fexit/bpf_fentry_test1", pt_fexit, unsigned long long *, PT_P_FEXIT, pt_tid(), 0)

/* fmod_ret returning 0: the function runs and returns its own value */
PT_PROG("fmod_ret/bpf_modify_return_test", pt_fmod_ret, unsigned long long *, PT_P_FMOD_RET,
	pt_tid(), 0)

/* BTF tracepoint sys_enter(struct pt_regs *regs, long id). */
SEC("tp_btf/sys_enter")
int pt_tp_btf(unsigned long long *ctx)
{
	struct pt_cfg *c = pt_cfg_get();

	if (c && ctx[1] == c->arg)
		pt_emit(PT_P_TP_BTF, pt_tid());
	return 0;
}

/* Task iterator: called per task (and once more with task NULL) in the
 * read() of the iterator's fd. */
PT_PROG("iter/task", pt_iter, void *, PT_P_ITER, pt_tid(), 0)

/* The freplace target: a global function of a SEC("syscall") host. */
__attribute__((noinline)) int pt_ext_slot(int x)
{
	/* something the compiler cannot fold into the caller */
	volatile int y = x;

	return y + 1;
}

SEC("syscall")
int pt_ext_host(void *ctx)
{
	return pt_ext_slot(41) == 42 ? 0 : 1;
}

SEC("freplace/pt_ext_slot")
int pt_ext(int x)
{
	pt_emit(PT_P_EXT, 0);
	return x + 1;
}

/* ---- attached to kernel events -------------------------------------------- */

PT_PROG("tracepoint/syscalls/sys_enter_getppid", pt_tracepoint, void *, PT_P_TRACEPOINT,
	pt_tid(), 0)

/* KPROBE programs: a kprobe where the kernel has kprobes, and uprobes /
 * uretprobes (the same program type) on a function of the test. */
PT_PROG("kprobe", pt_kprobe, void *, PT_P_KPROBE, pt_tid(), 0)

PT_PROG("uprobe", pt_uprobe, void *, PT_P_UPROBE, pt_tid(), 0)

PT_PROG("uretprobe", pt_uretprobe, void *, PT_P_URETPROBE, pt_tid(), 0)

/* Sampling perf events: hrtimer interrupt for the software clocks, NMI for
 * hardware events. */
PT_PROG("perf_event", pt_perf_event, void *, PT_P_PERF_EVENT, pt_tid(), 0)

SEC("lsm/socket_create")
int pt_lsm(unsigned long long *ctx)
{
	/* socket_create(int family, int type, int protocol, int kern) */
	if ((int)ctx[0] == 1 /* AF_UNIX */ && (int)ctx[1] == 5 /* SOCK_SEQPACKET */)
		pt_emit(PT_P_LSM, pt_tid());
	return 0;
}

/* BPF_PROG_TYPE_NETFILTER (6.4): libbpf 1.1 does not know the section, so
 * the test sets the type and the expected attach type before loading. */
PT_PROG("netfilter", pt_netfilter, void *, PT_P_NETFILTER, 0, 1 /* NF_ACCEPT */)

PT_PROG("lirc_mode2", pt_lirc, unsigned int *, PT_P_LIRC, 0, 0)

/* ---- cgroup hooks (the test's own cgroup) ----------------------------------- */

PT_PROG("cgroup/sock_create", pt_sock_create, struct bpf_sock *, PT_P_SOCK_CREATE, 0, 1)

PT_PROG("cgroup/connect4", pt_connect4, struct bpf_sock_addr *, PT_P_CONNECT4, 0, 1)

SEC("cgroup/sysctl")
int pt_sysctl(struct bpf_sysctl *ctx)
{
	if (!ctx->write)
		pt_emit(PT_P_SYSCTL, 0);
	return 1;
}

PT_PROG("cgroup/getsockopt", pt_getsockopt, struct bpf_sockopt *, PT_P_GETSOCKOPT, 0, 1)

PT_PROG("cgroup/setsockopt", pt_setsockopt, struct bpf_sockopt *, PT_P_SETSOCKOPT, 0, 1)

SEC("cgroup/dev")
int pt_device(struct bpf_cgroup_dev_ctx *ctx)
{
	struct pt_cfg *c = pt_cfg_get();

	/* cfg.arg: major << 16 | minor of the device the row opens */
	if (c && ctx->major == (c->arg >> 16) && ctx->minor == (c->arg & 0xffff))
		pt_emit(PT_P_DEVICE, 0);
	return 1;
}

SEC("sockops")
int pt_sock_ops(struct bpf_sock_ops *ctx)
{
	if (ctx->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		pt_emit(PT_P_SOCK_OPS, 0);
	return 1;
}

/* ---- sockets of the test ---------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} sockmap SEC(".maps");

PT_PROG("sk_skb/stream_verdict", pt_sk_skb, struct __sk_buff *, PT_P_SK_SKB, 0, PT_SK_PASS)

PT_PROG("sk_msg", pt_sk_msg, struct sk_msg_md *, PT_P_SK_MSG, 0, PT_SK_PASS)

/* SK_PASS with no socket selected: the kernel's hash picks one */
PT_PROG("sk_reuseport", pt_reuseport, struct sk_reuseport_md *, PT_P_REUSEPORT, 0, PT_SK_PASS)
