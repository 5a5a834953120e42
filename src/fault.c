/* SPDX-License-Identifier: MIT */
/*
 * fault.c -- the fault-injection hook behind RB_FI() (src/fault.h): the
 * test variant of the library (build/libringbuf-fi.a) only.
 */
#ifndef RINGBUF_FAULT_INJECTION
#error "src/fault.c belongs to the fault-injection build only (build/libringbuf-fi.a)"
#endif

#include "fault.h"

#include <signal.h>
#include <unistd.h>

static int rb_fi_point_armed;
static long rb_fi_left;
static int rb_fi_sig = SIGKILL;

void rb_fi_arm_sig(int point, long n, int sig)
{
	__atomic_store_n(&rb_fi_left, n, __ATOMIC_RELAXED);
	__atomic_store_n(&rb_fi_sig, sig, __ATOMIC_RELAXED);
	__atomic_store_n(&rb_fi_point_armed, point, __ATOMIC_RELEASE);
}

void rb_fi_arm(int point, long n)
{
	rb_fi_arm_sig(point, n, SIGKILL);
}

void rb_fi_hit(int point)
{
	if (__atomic_load_n(&rb_fi_point_armed, __ATOMIC_ACQUIRE) != point)
		return;
	if (__atomic_sub_fetch(&rb_fi_left, 1, __ATOMIC_RELAXED) == 0)
		/* SIGKILL: every thread dies here, at once */
		kill(getpid(), __atomic_load_n(&rb_fi_sig, __ATOMIC_RELAXED));
}
