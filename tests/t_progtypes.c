/* SPDX-License-Identifier: MIT */
/*
 * t_progtypes -- bpf_ringbuf_output/reserve/submit/discard from every BPF
 * program type this kernel lets the test run without a network or a
 * device: those that BPF_PROG_TEST_RUN runs, the tracing family (fentry,
 * fexit, fmod_ret, tp_btf, iterators, freplace), and those attached to
 * kernel events (tracepoints, raw tracepoints, uprobes, kprobes, perf
 * events from timer interrupts or NMI, LSM hooks).  t_progtypes_net does
 * the cgroup, socket, netfilter and struct_ops types.
 *
 * Each row is one program (tests/bpf/progtypes.bpf.c) consumed with
 * ringbuf's kernel map consumer through the steps of tests/common/ptrun.h:
 * output, reserve+submit and reserve+discard with each wakeup flag, every
 * record in order and byte for byte, and the wakeups of the kernel's rules
 * (a consumer blocked in ringbuf_poll() or in poll() on ringbuf_epoll_fd()
 * stays asleep after NO_WAKEUP records and adaptive ones behind them, and
 * wakes for FORCE_WAKEUP and for adaptive commits at its position).  A row
 * that cannot run here is skipped with the reason; stdout has the table.
 */
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kbpf.h" /* (also marks the test as needing libbpf: mk/m32.mk) */
#include "ptrun.h"

/* ---- fire: BPF_PROG_TEST_RUN ------------------------------------------------ */

static void fire_test_run(struct pt_row *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	CHECK_EQ(bpf_prog_test_run_opts(r->prog_fd, &o), 0);
}

static void fire_test_run_pkt(struct pt_row *r)
{
	pt_test_run_pkt(r->prog_fd);
}

static void fire_test_run_sk_lookup(struct pt_row *r)
{
	struct bpf_sk_lookup ctx = {
		.family = AF_INET,
		.protocol = IPPROTO_TCP,
		.remote_ip4 = htonl(0x7f000001),
		.remote_port = htons(12345),
		.local_ip4 = htonl(0x7f000001),
		.local_port = 80,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	CHECK_EQ(bpf_prog_test_run_opts(r->prog_fd, &o), 0);
	CHECK_EQ(o.retval, 1); /* SK_PASS */
}

static void fire_test_run_raw_tp(struct pt_row *r)
{
	uint64_t args[2] = { 0, SYS_getppid };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));

	CHECK_EQ(bpf_prog_test_run_opts(r->prog_fd, &o), 0);
}

/* raw_tp.w/bpf_test_finish: a test run of another (skb) program. */
static void fire_test_run_extra(struct pt_row *r)
{
	pt_test_run_pkt(r->extra_fd);
}

/* ---- fire: system calls and functions of the test ----------------------------- */

static void fire_getppid(struct pt_row *r)
{
	(void)r;
	CHECK_EQ(syscall(SYS_getppid), getppid());
}

/* The uprobe target: called through a volatile pointer, so the compiler
 * calls the symbol libbpf resolves, not an inlined or cloned copy. */
int pt_uprobe_target(int x);
__attribute__((noinline)) int pt_uprobe_target(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

static void fire_uprobe(struct pt_row *r)
{
	int (*volatile fn)(int) = pt_uprobe_target;

	(void)r;
	CHECK_EQ(fn(41), 42);
}

static void fire_iter(struct pt_row *r)
{
	char buf[4096];
	int fd = bpf_iter_create(bpf_link__fd(r->link));
	ssize_t n;

	CHECK(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	CHECK_EQ(n, 0);
	close(fd);
}

static void fire_socket(struct pt_row *r)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	(void)r;
	CHECK(fd >= 0);
	close(fd);
}

/* The event counts this thread's time: spin until the program ran (it
 * may have, between the arming and this call). */
static void fire_spin(struct pt_row *r)
{
	uint64_t t0 = t_now_ns();

	while (__atomic_load_n(&r->cfg->fired, __ATOMIC_ACQUIRE) == r->fired &&
	       t_now_ns() - t0 < 3000000000ull)
		for (int i = 0; i < 10000; i++)
			__asm__ volatile("" ::: "memory");
}

/* ---- attach ------------------------------------------------------------------- */

static const char *attach_raw_tp(struct pt_row *r)
{
	r->link = bpf_program__attach_raw_tracepoint(r->bprog, "sys_enter");
	return r->link ? NULL : pt_why(r, "attach to sys_enter: %s", strerror(errno));
}

static const char *attach_iter(struct pt_row *r)
{
	r->link = bpf_program__attach_iter(r->bprog, NULL);
	return r->link ? NULL : pt_why(r, "attach iter: %s", strerror(errno));
}

static const char *attach_tracepoint(struct pt_row *r)
{
	if (access("/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id", R_OK) &&
	    access("/sys/kernel/debug/tracing/events/syscalls/sys_enter_getppid/id", R_OK))
		return pt_why(r, "no tracefs with syscalls:sys_enter_getppid (mount -t tracefs: %s)",
			      r->why[0] ? r->why : "not tried");
	return pt_attach_auto(r);
}

static const char *attach_kprobe(struct pt_row *r)
{
	int err;

	pt_quiet = true;
	r->link = bpf_program__attach_kprobe(r->bprog, false, "__x64_sys_getppid");
	err = errno;
	pt_quiet = false;
	if (r->link)
		return NULL;
	if (access("/sys/bus/event_source/devices/kprobe", F_OK))
		return pt_why(r, "no kprobe PMU in /sys/bus/event_source/devices: this kernel is "
				 "built without kprobes (attach: %s)", strerror(err));
	return pt_why(r, "attach kprobe __x64_sys_getppid: %s", strerror(err));
}

static const char *attach_uprobe(struct pt_row *r, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "pt_uprobe_target", .retprobe = ret);

	r->link = bpf_program__attach_uprobe_opts(r->bprog, 0, "/proc/self/exe", 0, &o);
	return r->link ? NULL : pt_why(r, "attach uprobe: %s", strerror(errno));
}

static const char *attach_uprobe_entry(struct pt_row *r)
{
	return attach_uprobe(r, false);
}

static const char *attach_uretprobe(struct pt_row *r)
{
	return attach_uprobe(r, true);
}

/* A sampling event on this thread: type r->param, config r->arg. */
static const char *attach_perf(struct pt_row *r)
{
	struct perf_event_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = r->param;
	a.config = r->arg;
	/* cpu-clock/task-clock: every 50 us of this thread's time; cycles:
	 * every 200000 (about 0.1 ms) */
	a.sample_period = a.type == PERF_TYPE_SOFTWARE ? 50000 : 200000;
	fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		if (a.type == PERF_TYPE_HARDWARE)
			return pt_why(r, "no hardware PMU event here (perf_event_open cycles: %s; "
					 "PMUs: %s): the NMI path is not reachable",
				      strerror(errno),
				      access("/sys/bus/event_source/devices/cpu", F_OK)
					      ? "no cpu PMU in /sys/bus/event_source/devices"
					      : "a cpu PMU exists");
		return pt_why(r, "perf_event_open: %s", strerror(errno));
	}
	r->link = bpf_program__attach_perf_event(r->bprog, fd);
	if (!r->link) {
		int err = errno;

		close(fd);
		return pt_why(r, "attach to the perf event: %s", strerror(err));
	}
	return NULL; /* the link owns fd now */
}

static const char *attach_lsm(struct pt_row *r)
{
	char buf[512] = "";
	int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return pt_why(r, "cannot read /sys/kernel/security/lsm (securityfs)");
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strstr(buf, "bpf"))
		return pt_why(r, "the bpf LSM is not enabled (lsm: %s)", buf);
	return pt_attach_auto(r);
}

/* ---- prepare ------------------------------------------------------------------ */

/* freplace: load the host (a SEC("syscall") program with the global
 * function pt_ext_slot) from a second instance of the object first. */
static const char *prepare_ext(struct pt_row *r)
{
	struct bpf_program *p;

	r->aux_obj = bpf_object__open_file(kbpf_object_path(r->object), NULL);
	CHECK(r->aux_obj != NULL);
	bpf_object__for_each_program(p, r->aux_obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "pt_ext_host"));
	CHECK_EQ(bpf_object__load(r->aux_obj), 0);
	r->fd[0] = kbpf_prog_fd(r->aux_obj, "pt_ext_host");
	CHECK_EQ(bpf_program__set_attach_target(r->bprog, r->fd[0], "pt_ext_slot"), 0);
	return NULL;
}

static const char *attach_ext(struct pt_row *r)
{
	r->link = bpf_program__attach_freplace(r->bprog, r->fd[0], "pt_ext_slot");
	return r->link ? NULL : pt_why(r, "attach freplace: %s", strerror(errno));
}

static void fire_ext_host(struct pt_row *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	CHECK_EQ(bpf_prog_test_run_opts(r->fd[0], &o), 0);
	CHECK_EQ(o.retval, 0); /* the replacement returned x + 1 too */
}

static const char *prepare_lirc(struct pt_row *r)
{
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LIRC_MODE2, NULL) != 1)
		return pt_why(r, "this kernel has no LIRC_MODE2 programs (no CONFIG_BPF_LIRC_MODE2"
				 " / RC_CORE)");
	if (access("/dev/lirc0", F_OK))
		return pt_why(r, "no /dev/lirc0 to attach to");
	return pt_why(r, "no way to inject infrared samples into /dev/lirc0 from here");
}

/* ---- the rows ------------------------------------------------------------------- */

#define TR "BPF_PROG_TEST_RUN"
#define TRP "BPF_PROG_TEST_RUN, an eth/IPv4/TCP packet"

#define ROW(type_, how_, prog_, id_, ...)                                           \
	{ .type = type_, .how = how_, .object = "progtypes", .prog = prog_, .prog_id = id_, \
	  __VA_ARGS__ }
#define TR  "BPF_PROG_TEST_RUN"
#define TRP "BPF_PROG_TEST_RUN, an eth/IPv4/TCP packet"

static struct pt_row rows[] = {
	ROW("SYSCALL", TR, "pt_syscall", PT_P_SYSCALL, .fire = fire_test_run),
	ROW("SOCKET_FILTER", TRP, "pt_socket", PT_P_SOCKET, .fire = fire_test_run_pkt),
	ROW("SCHED_CLS", TRP, "pt_sched_cls", PT_P_SCHED_CLS, .fire = fire_test_run_pkt),
	ROW("SCHED_ACT", TRP, "pt_sched_act", PT_P_SCHED_ACT, .fire = fire_test_run_pkt),
	ROW("XDP", TRP, "pt_xdp", PT_P_XDP, .fire = fire_test_run_pkt),
	ROW("LWT_IN", TRP, "pt_lwt_in", PT_P_LWT_IN, .fire = fire_test_run_pkt),
	ROW("LWT_OUT", TRP, "pt_lwt_out", PT_P_LWT_OUT, .fire = fire_test_run_pkt),
	ROW("LWT_XMIT", TRP, "pt_lwt_xmit", PT_P_LWT_XMIT, .fire = fire_test_run_pkt),
	ROW("CGROUP_SKB", TRP, "pt_cgroup_skb", PT_P_CGROUP_SKB, .fire = fire_test_run_pkt),
	ROW("FLOW_DISSECTOR", TRP, "pt_flow_dissector", PT_P_FLOW_DISSECTOR,
	    .fire = fire_test_run_pkt),
	ROW("SK_LOOKUP", TR ", a TCP 127.0.0.1 lookup", "pt_sk_lookup", PT_P_SK_LOOKUP,
	    .fire = fire_test_run_sk_lookup),
	ROW("RAW_TRACEPOINT", TR ", args {0, getppid}", "pt_raw_tp", PT_P_RAW_TP,
	    .tid_filter = true, .arg = SYS_getppid, .fire = fire_test_run_raw_tp),
	ROW("RAW_TRACEPOINT", "raw_tp sys_enter attached, getppid()", "pt_raw_tp", PT_P_RAW_TP,
	    .tid_filter = true, .arg = SYS_getppid, .attach = attach_raw_tp,
	    .fire = fire_getppid),
	ROW("RAW_TRACEPOINT_WRITABLE", "raw_tp.w bpf_test_finish, test run of an skb prog",
	    "pt_raw_tp_w", PT_P_RAW_TP_W, .extra = "pt_nop", .tid_filter = true,
	    .attach = pt_attach_auto, .fire = fire_test_run_extra),
	ROW("TRACING fentry", "fentry bpf_fentry_test1, " TR, "pt_fentry", PT_P_FENTRY,
	    .tid_filter = true, .attach = pt_attach_auto, .fire = fire_test_run),
	ROW("TRACING fexit", "fexit bpf_fentry_test1, " TR, "pt_fexit", PT_P_FEXIT,
	    .tid_filter = true, .attach = pt_attach_auto, .fire = fire_test_run),
	ROW("TRACING fmod_ret", "fmod_ret bpf_modify_return_test, " TR, "pt_fmod_ret",
	    PT_P_FMOD_RET, .tid_filter = true, .attach = pt_attach_auto, .fire = fire_test_run),
	ROW("TRACING tp_btf", "tp_btf sys_enter, getppid()", "pt_tp_btf", PT_P_TP_BTF,
	    .tid_filter = true, .arg = SYS_getppid, .attach = pt_attach_auto,
	    .fire = fire_getppid),
	ROW("TRACING iter", "iter/task, read() of the iterator", "pt_iter", PT_P_ITER,
	    .tid_filter = true, .attach = attach_iter, .fire = fire_iter),
	ROW("EXT", "freplace of a syscall prog's global func, " TR, "pt_ext", PT_P_EXT,
	    .prepare = prepare_ext, .attach = attach_ext, .fire = fire_ext_host),
	ROW("TRACEPOINT", "syscalls:sys_enter_getppid, getppid()", "pt_tracepoint",
	    PT_P_TRACEPOINT, .tid_filter = true, .attach = attach_tracepoint,
	    .fire = fire_getppid),
	ROW("KPROBE kprobe", "kprobe __x64_sys_getppid, getppid()", "pt_kprobe", PT_P_KPROBE,
	    .tid_filter = true, .attach = attach_kprobe, .fire = fire_getppid),
	ROW("KPROBE uprobe", "uprobe on a function of the test, called", "pt_uprobe",
	    PT_P_UPROBE, .tid_filter = true, .attach = attach_uprobe_entry, .fire = fire_uprobe),
	ROW("KPROBE uretprobe", "uretprobe on that function, called", "pt_uretprobe",
	    PT_P_URETPROBE, .tid_filter = true, .attach = attach_uretprobe, .fire = fire_uprobe),
	ROW("PERF_EVENT cpu-clock", "sw cpu-clock, every 50us of this thread (hrtimer irq)",
	    "pt_perf_event", PT_P_PERF_EVENT, .tid_filter = true, .param = PERF_TYPE_SOFTWARE,
	    .arg = PERF_COUNT_SW_CPU_CLOCK, .attach = attach_perf, .fire = fire_spin),
	ROW("PERF_EVENT task-clock", "sw task-clock, every 50us of this thread (hrtimer irq)",
	    "pt_perf_event", PT_P_PERF_EVENT, .tid_filter = true, .param = PERF_TYPE_SOFTWARE,
	    .arg = PERF_COUNT_SW_TASK_CLOCK, .attach = attach_perf, .fire = fire_spin),
	ROW("PERF_EVENT cycles (NMI)", "hw cpu-cycles sampling of this thread (NMI)",
	    "pt_perf_event", PT_P_PERF_EVENT, .tid_filter = true, .param = PERF_TYPE_HARDWARE,
	    .arg = PERF_COUNT_HW_CPU_CYCLES, .attach = attach_perf, .fire = fire_spin),
	ROW("LSM", "lsm/socket_create, socket(AF_UNIX, SOCK_SEQPACKET)", "pt_lsm", PT_P_LSM,
	    .tid_filter = true, .attach = attach_lsm, .fire = fire_socket),
	ROW("LIRC_MODE2", "an IR device's decoder", "pt_lirc", PT_P_LIRC,
	    .prepare = prepare_lirc),
};

/* tracefs (tracepoint ids) and securityfs (the LSM list) where they are
 * not mounted: in a mount namespace of our own. */
static void mount_pseudo_fs(char *why, size_t len)
{
	bool tracefs = !access("/sys/kernel/tracing/events", F_OK) ||
		       !access("/sys/kernel/debug/tracing/events", F_OK);
	bool secfs = !access("/sys/kernel/security/lsm", F_OK);

	if (tracefs && secfs)
		return;
	kbpf_private_mount_ns();
	if (!tracefs && mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		snprintf(why, len, "%s", strerror(errno));
	if (!secfs)
		(void)mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
}

int main(void)
{
	char tracefs_err[64] = "";

	pt_begin("t_progtypes: bpf_ringbuf_* from each program type, consumed by ringbuf");
	mount_pseudo_fs(tracefs_err, sizeof(tracefs_err));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!strcmp(rows[i].type, "TRACEPOINT"))
			snprintf(rows[i].why, sizeof(rows[i].why), "%s", tracefs_err);
		pt_run_row(&rows[i], (uint32_t)i + 1);
	}
	return pt_end();
}
