// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * progtypes_ca.bpf.c -- BPF_PROG_TYPE_STRUCT_OPS for t_progtypes: a TCP
 * congestion control (struct tcp_congestion_ops) whose init() runs the plan
 * of progtypes.h.  The test registers it, sets it on a loopback TCP socket
 * (TCP_CONGESTION) and connects: the kernel calls init() when the
 * connection is established.  The other operations are the least the
 * kernel accepts (ssthresh, undo_cwnd, cong_avoid) and keep the window as
 * it is.  A separate object: a struct_ops map is registered as a whole.
 */
#include "ptemit.h"

char LICENSE[] SEC("license") = "GPL";

struct sock;

/* The members libbpf matches by name against the kernel's type. */
struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	char name[16];
};

SEC("struct_ops/pt_ca_init")
void pt_ca_init(unsigned long long *ctx)
{
	pt_emit(PT_P_STRUCT_OPS, 0);
}

SEC("struct_ops/pt_ca_ssthresh")
__u32 pt_ca_ssthresh(unsigned long long *ctx)
{
	return 10;
}

SEC("struct_ops/pt_ca_undo_cwnd")
__u32 pt_ca_undo_cwnd(unsigned long long *ctx)
{
	return 10;
}

SEC("struct_ops/pt_ca_cong_avoid")
void pt_ca_cong_avoid(unsigned long long *ctx)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops pt_ca = {
	.init = (void *)pt_ca_init,
	.ssthresh = (void *)pt_ca_ssthresh,
	.undo_cwnd = (void *)pt_ca_undo_cwnd,
	.cong_avoid = (void *)pt_ca_cong_avoid,
	.name = PT_CA_NAME,
};
