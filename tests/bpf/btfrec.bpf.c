// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * btfrec.bpf.c -- carries the BTF of struct btfrec (tests/bpf/btfrec.h) for
 * t_cli_btf, which decodes records with `ringbuf tail --btf` against this
 * object.  The program itself is never run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "btfrec.h"

char LICENSE[] SEC("license") = "GPL";

struct btfrec btfrec_example; /* keeps the type in the object's BTF */

SEC("syscall")
int touch(void *ctx)
{
	(void)ctx;
	btfrec_example.pid++;
	return 0;
}
