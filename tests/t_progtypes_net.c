/* SPDX-License-Identifier: MIT */
/*
 * t_progtypes_net -- bpf_ringbuf_output/reserve/submit/discard from the
 * BPF program types that sit on sockets, cgroups and the network stack,
 * each attached where only the test's own traffic reaches it: a network
 * namespace of the test's own (loopback only), a cgroup it creates with
 * one helper process in it, sockets it opens.
 *
 *   cgroup hooks (the helper process does the triggering system call):
 *     CGROUP_SKB egress, CGROUP_SOCK sock_create, CGROUP_SOCK_ADDR
 *     connect4, CGROUP_SYSCTL, CGROUP_SOCKOPT get/set, CGROUP_DEVICE,
 *     SOCK_OPS (a loopback TCP connect);
 *   sockets of the test: SK_SKB stream verdict and SK_MSG (a sockmap over
 *     a loopback TCP connection), SK_REUSEPORT (a UDP reuseport group),
 *     SK_LOOKUP attached to the namespace;
 *   the stack: NETFILTER at IPv4 LOCAL_OUT, LWT_SEG6LOCAL as the End.BPF
 *     action of an SRv6 route, STRUCT_OPS as a TCP congestion control.
 *
 * The steps and checks are t_progtypes's (tests/common/ptrun.h).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seg6.h>
#include <linux/seg6_local.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kbpf.h" /* (also marks the test as needing libbpf: mk/m32.mk) */
#include "ptrun.h"

/* ---- sockets ---------------------------------------------------------------- */

static void addr_lo(struct sockaddr_storage *ss, socklen_t *len, int family, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		*len = sizeof(*a);
	}
}

/* A socket bound to the loopback address, port @port (0: any); its port
 * into *@bound. */
static int sock_lo(int family, int type, uint16_t port, bool reuseport, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;

	CHECK(fd >= 0);
	if (reuseport)
		CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	addr_lo(&ss, &len, family, port);
	CHECK_EQ(bind(fd, (struct sockaddr *)&ss, len), 0);
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void send_lo(int fd, int family, uint16_t port, const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t len;

	addr_lo(&ss, &len, family, port);
	CHECK_EQ(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, len), (ssize_t)strlen(msg));
}

/* One message arrives on one of @fds within 3 s: read it. */
static void recv_any(const int *fds, int n)
{
	struct pollfd p[4];
	char buf[64];

	CHECK(n <= 4);
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	CHECK(poll(p, (nfds_t)n, 3000) > 0);
	for (int i = 0; i < n; i++)
		if (p[i].revents & POLLIN) {
			CHECK(recv(fds[i], buf, sizeof(buf), 0) > 0);
			return;
		}
	CHECK(!"a readable socket");
}

/* A loopback TCP connection: *@c connected to *@a (accepted).  @cc: the
 * client's congestion control, or NULL. */
static void tcp_pair(int *c, int *a, const char *cc)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = sock_lo(AF_INET, SOCK_STREAM, 0, false, &port);

	CHECK_EQ(listen(l, 4), 0);
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(*c >= 0);
	if (cc)
		CHECK_EQ(setsockopt(*c, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)), 0);
	addr_lo(&ss, &len, AF_INET, port);
	CHECK_EQ(connect(*c, (struct sockaddr *)&ss, len), 0);
	*a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(*a >= 0);
	close(l);
}

static void close_fds(struct pt_row *r)
{
	for (int i = 0; i < 4; i++)
		if (r->fd[i] >= 0) {
			close(r->fd[i]);
			r->fd[i] = -1;
		}
}

/* ---- the helper process in the test's cgroup ------------------------------------ */

enum { AG_SOCK = 1, AG_CONNECT, AG_SYSCTL, AG_GETSOCKOPT, AG_SETSOCKOPT, AG_DEV, AG_UDP, AG_TCP };

static struct {
	pid_t pid;
	int cmd, res; /* pipes: commands to it, results from it */
	int cg_fd;    /* the cgroup */
	char cg_path[PATH_MAX];
	char why[200]; /* why there is none */
} ag = { .pid = -1, .cg_fd = -1 };

/* One command, in the helper: the system call that makes a hook run. */
static void agent_do(int c)
{
	uint16_t port;
	int fd, fd2, v = 1 << 16;
	socklen_t len = sizeof(v);
	char buf[64];

	switch (c) {
	case AG_SOCK:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CHECK(fd >= 0);
		close(fd);
		break;
	case AG_CONNECT: {
		struct sockaddr_storage ss;
		socklen_t sl;

		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CHECK(fd >= 0);
		addr_lo(&ss, &sl, AF_INET, 9);
		CHECK_EQ(connect(fd, (struct sockaddr *)&ss, sl), 0);
		close(fd);
		break;
	}
	case AG_SYSCTL:
		fd = open("/proc/sys/kernel/ostype", O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		CHECK(read(fd, buf, sizeof(buf)) > 0);
		close(fd);
		break;
	case AG_GETSOCKOPT:
	case AG_SETSOCKOPT:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CHECK(fd >= 0);
		if (c == AG_GETSOCKOPT)
			CHECK_EQ(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
		else
			CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, len), 0);
		close(fd);
		break;
	case AG_DEV:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		CHECK(fd >= 0);
		close(fd);
		break;
	case AG_UDP:
		fd = sock_lo(AF_INET, SOCK_DGRAM, 0, false, &port);
		send_lo(fd, AF_INET, port, "cgroup egress");
		recv_any(&fd, 1);
		close(fd);
		break;
	case AG_TCP:
		tcp_pair(&fd, &fd2, NULL);
		close(fd);
		close(fd2);
		break;
	default:
		CHECK(!"a known command");
	}
}

static void agent_main(int cmd, int res)
{
	unsigned char c;

	/* wait for "in the cgroup" (0), then serve */
	while (read(cmd, &c, 1) == 1) {
		if (c)
			agent_do(c);
		CHECK_EQ(write(res, &c, 1), 1);
	}
	_exit(0);
}

/* Make a cgroup (cgroup v2) and a helper process in it. */
static void agent_start(void)
{
	char line[512], path[PATH_MAX], *mnt = NULL;
	int cp[2], rp[2], fd;
	unsigned char c = 0;
	FILE *f = fopen("/proc/self/mounts", "r");

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		char dev[128], dir[256], type[64];

		if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 && !strcmp(type, "cgroup2")) {
			snprintf(path, sizeof(path), "%s", dir);
			mnt = path;
			break;
		}
	}
	fclose(f);
	if (!mnt) {
		snprintf(ag.why, sizeof(ag.why), "no cgroup v2 hierarchy mounted");
		return;
	}
	snprintf(ag.cg_path, sizeof(ag.cg_path), "%.200s/ringbuf-progtypes.%d", mnt, (int)getpid());
	if (mkdir(ag.cg_path, 0755)) {
		snprintf(ag.why, sizeof(ag.why), "mkdir %.100s: %s", ag.cg_path, strerror(errno));
		ag.cg_path[0] = '\0';
		return;
	}
	ag.cg_fd = open(ag.cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(ag.cg_fd >= 0);
	CHECK_EQ(pipe2(cp, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(rp, O_CLOEXEC), 0);
	ag.pid = proc_fork_child(getpid(), 120);
	if (ag.pid == 0) {
		close(cp[1]);
		close(rp[0]);
		agent_main(cp[0], rp[1]);
	}
	close(cp[0]);
	close(rp[1]);
	ag.cmd = cp[1];
	ag.res = rp[0];
	snprintf(line, sizeof(line), "%.400s/cgroup.procs", ag.cg_path);
	fd = open(line, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	snprintf(line, sizeof(line), "%d", (int)ag.pid);
	CHECK_EQ(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
	CHECK_EQ(write(ag.cmd, &c, 1), 1);
	CHECK_EQ(read(ag.res, &c, 1), 1);
}

static void agent_stop(void)
{
	if (ag.pid > 0) {
		close(ag.cmd);
		CHECK(proc_exited_with(ag.pid, proc_wait_status(ag.pid, 10, 1000), 0));
		close(ag.res);
	}
	if (ag.cg_fd >= 0)
		close(ag.cg_fd);
	if (ag.cg_path[0])
		CHECK_EQ(rmdir(ag.cg_path), 0);
}

static void agent_cmd(unsigned char c)
{
	unsigned char r;

	CHECK_EQ(write(ag.cmd, &c, 1), 1);
	CHECK_EQ(read(ag.res, &r, 1), 1);
	CHECK_EQ(r, c);
}

static const char *attach_cgroup(struct pt_row *r)
{
	if (ag.pid <= 0)
		return pt_why(r, "no cgroup for the test: %s", ag.why);
	r->link = bpf_program__attach_cgroup(r->bprog, ag.cg_fd);
	return r->link ? NULL : pt_why(r, "attach to the cgroup: %s", strerror(errno));
}

static void fire_agent(struct pt_row *r)
{
	agent_cmd((unsigned char)r->param);
}

/* ---- sockets of the test ------------------------------------------------------- */

/* sockmap: fd[0] the client, fd[1] the accepted end; the program is
 * attached to the map (r->param: the attach type) and fd[r->arg] inserted. */
static const char *attach_sockmap(struct pt_row *r)
{
	int map = kbpf_map_fd(r->obj, "sockmap");
	uint32_t key = 0, val;

	tcp_pair(&r->fd[0], &r->fd[1], NULL);
	if (bpf_prog_attach(r->prog_fd, map, (enum bpf_attach_type)r->param, 0))
		return pt_why(r, "attach to the sockmap: %s", strerror(errno));
	val = (uint32_t)r->fd[r->arg];
	CHECK_EQ(bpf_map_update_elem(map, &key, &val, BPF_ANY), 0);
	return NULL;
}

static void detach_sockmap(struct pt_row *r)
{
	CHECK_EQ(bpf_prog_detach2(r->prog_fd, kbpf_map_fd(r->obj, "sockmap"),
				  (enum bpf_attach_type)r->param), 0);
	close_fds(r);
}

/* Client to server: the verdict runs on receive (SK_SKB) or on send (SK_MSG). */
static void fire_sockmap(struct pt_row *r)
{
	CHECK_EQ(send(r->fd[0], "m", 1, 0), 1);
	recv_any(&r->fd[1], 1);
}

static const char *attach_reuseport(struct pt_row *r)
{
	uint16_t port2;

	r->fd[0] = sock_lo(AF_INET, SOCK_DGRAM, 0, true, &r->port);
	r->fd[1] = sock_lo(AF_INET, SOCK_DGRAM, r->port, true, &port2);
	r->fd[2] = sock_lo(AF_INET, SOCK_DGRAM, 0, false, &port2);
	if (setsockopt(r->fd[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &r->prog_fd,
		       sizeof(r->prog_fd)))
		return pt_why(r, "SO_ATTACH_REUSEPORT_EBPF: %s", strerror(errno));
	return NULL;
}

/* fd[2] sends to the group (or the bound socket fd[0] alone); one of them
 * gets it. */
static void fire_udp(struct pt_row *r)
{
	send_lo(r->fd[2], AF_INET, r->port, "udp");
	recv_any(r->fd, r->fd[1] >= 0 ? 2 : 1);
}

static const char *attach_udp_pair(struct pt_row *r)
{
	uint16_t port2;

	r->fd[0] = sock_lo(AF_INET, SOCK_DGRAM, 0, false, &r->port);
	r->fd[2] = sock_lo(AF_INET, SOCK_DGRAM, 0, false, &port2);
	return NULL;
}

static const char *attach_sk_lookup(struct pt_row *r)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	CHECK(ns >= 0);
	r->link = bpf_program__attach_netns(r->bprog, ns);
	close(ns);
	if (!r->link)
		return pt_why(r, "attach to the network namespace: %s", strerror(errno));
	return attach_udp_pair(r);
}

/* ---- NETFILTER: libbpf 1.1 has neither the section nor the link ----------------- */

#define PT_PROG_TYPE_NETFILTER 32 /* BPF_PROG_TYPE_NETFILTER (6.4) */
#define PT_ATTACH_NETFILTER    45 /* BPF_NETFILTER */

static const char *prepare_netfilter(struct pt_row *r)
{
	CHECK_EQ(bpf_program__set_type(r->bprog, (enum bpf_prog_type)PT_PROG_TYPE_NETFILTER), 0);
	CHECK_EQ(bpf_program__set_expected_attach_type(r->bprog,
						       (enum bpf_attach_type)PT_ATTACH_NETFILTER), 0);
	return NULL;
}

static const char *attach_netfilter(struct pt_row *r)
{
	union bpf_attr attr;
	/* link_create.netfilter, after prog_fd, target_fd, attach_type, flags */
	struct { uint32_t pf, hooknum; int32_t priority; uint32_t flags; } nf = {
		.pf = 2 /* NFPROTO_IPV4 */, .hooknum = 3 /* NF_INET_LOCAL_OUT */, .priority = 10,
	};

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)r->prog_fd;
	attr.link_create.attach_type = PT_ATTACH_NETFILTER;
	CHECK(sizeof(attr.link_create) >= 16 + sizeof(nf));
	memcpy((char *)&attr.link_create + 16, &nf, sizeof(nf));
	r->fd[3] = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (r->fd[3] < 0)
		return pt_why(r, "BPF_LINK_CREATE netfilter: %s", strerror(errno));
	return attach_udp_pair(r);
}

/* ---- LWT_SEG6LOCAL: an SRv6 End.BPF route, an IPv6 packet with an SRH ------------ */

#define PT_SEG6_SID "fc00::5e6" /* the route's segment id */

struct nlreq {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[256];
};

static struct rtattr *nl_attr(struct nlreq *q, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->nh.nlmsg_len));

	CHECK(NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_SPACE(len) <= sizeof(*q));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_SPACE(len);
	return a;
}

static void nl_nest_end(struct nlreq *q, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)q + q->nh.nlmsg_len - (char *)a);
}

/* RTM_NEWROUTE (with the End.BPF action of program @prog_fd) or
 * RTM_DELROUTE of PT_SEG6_SID/128 on lo.  Returns 0 or -errno. */
static int nl_seg6_route(int type, int prog_fd)
{
	struct nlreq q;
	struct in6_addr sid;
	uint32_t oif = if_nametoindex("lo"), action = SEG6_LOCAL_ACTION_END_BPF;
	uint32_t fd = (uint32_t)prog_fd;
	uint16_t encap = LWTUNNEL_ENCAP_SEG6_LOCAL;
	char buf[512];
	int s, err;

	CHECK(oif > 0);
	CHECK_EQ(inet_pton(AF_INET6, PT_SEG6_SID, &sid), 1);
	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	q.nh.nlmsg_type = (unsigned short)type;
	q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	/* a local route: IPv6 turns a unicast route via lo into a reject
	 * route, which never reaches its lwtunnel input */
	q.rt = (struct rtmsg){ .rtm_family = AF_INET6, .rtm_dst_len = 128,
			       .rtm_table = RT_TABLE_LOCAL, .rtm_protocol = RTPROT_STATIC,
			       .rtm_scope = RT_SCOPE_HOST, .rtm_type = RTN_LOCAL };
	nl_attr(&q, RTA_DST, &sid, sizeof(sid));
	nl_attr(&q, RTA_OIF, &oif, sizeof(oif));
	if (type == RTM_NEWROUTE) {
		struct rtattr *enc, *bpf;

		nl_attr(&q, RTA_ENCAP_TYPE, &encap, sizeof(encap));
		enc = nl_attr(&q, RTA_ENCAP | NLA_F_NESTED, NULL, 0);
		nl_attr(&q, SEG6_LOCAL_ACTION, &action, sizeof(action));
		bpf = nl_attr(&q, SEG6_LOCAL_BPF | NLA_F_NESTED, NULL, 0);
		nl_attr(&q, SEG6_LOCAL_BPF_PROG, &fd, sizeof(fd));
		nl_attr(&q, SEG6_LOCAL_BPF_PROG_NAME, "pt_lwt_seg6", sizeof("pt_lwt_seg6"));
		nl_nest_end(&q, bpf);
		nl_nest_end(&q, enc);
	}
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(s >= 0);
	CHECK_EQ(send(s, &q, q.nh.nlmsg_len, 0), (ssize_t)q.nh.nlmsg_len);
	CHECK(recv(s, buf, sizeof(buf), 0) >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	close(s);
	CHECK_EQ(((struct nlmsghdr *)buf)->nlmsg_type, NLMSG_ERROR);
	err = ((struct nlmsgerr *)NLMSG_DATA(buf))->error;
	return err;
}

/* fd[2]: a sender whose packets carry an SRH with the segments {::1
 * (final), PT_SEG6_SID (next)}: they go to the route's SID, where End.BPF
 * runs the program (which drops them: see pt_lwt_seg6). */
static const char *attach_seg6(struct pt_row *r)
{
	unsigned char srh[8 + 2 * 16];
	struct ipv6_sr_hdr *h = (struct ipv6_sr_hdr *)srh;
	uint16_t port;
	int err = nl_seg6_route(RTM_NEWROUTE, r->prog_fd);

	if (err)
		return pt_why(r, "adding the seg6local End.BPF route: %s", strerror(-err));
	r->fd[2] = sock_lo(AF_INET6, SOCK_DGRAM, 0, false, &port);
	memset(srh, 0, sizeof(srh));
	h->hdrlen = 4; /* in 8-byte units past the first 8 bytes: two segments */
	h->type = 4;   /* IPV6_SRCRT_TYPE_4 */
	h->segments_left = 1;
	h->first_segment = 1;
	CHECK_EQ(inet_pton(AF_INET6, PT_SEG6_SID, &h->segments[1]), 1);
	h->segments[0] = in6addr_loopback; /* the kernel puts the destination here */
	CHECK_EQ(setsockopt(r->fd[2], IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof(srh)), 0);
	return NULL;
}

static void detach_seg6(struct pt_row *r)
{
	CHECK_EQ(nl_seg6_route(RTM_DELROUTE, -1), 0);
	close_fds(r);
}

/* The runner waits for the program to have run. */
static void fire_udp6(struct pt_row *r)
{
	send_lo(r->fd[2], AF_INET6, 9, "srv6");
}

/* ---- STRUCT_OPS: a TCP congestion control ---------------------------------------- */

static char ca_name[16];

/* The object with its congestion control renamed to ca_name (same length). */
static struct bpf_object *open_ca(struct pt_row *r)
{
	const char *path = kbpf_object_path(r->object);
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;

	CHECK(fd >= 0);
	CHECK_EQ(fstat(fd, &st), 0);
	r->mem = malloc((size_t)st.st_size);
	CHECK(r->mem != NULL);
	CHECK_EQ(read(fd, r->mem, (size_t)st.st_size), st.st_size);
	close(fd);
	snprintf(ca_name, sizeof(ca_name), "ptca_%010u", (unsigned)getpid());
	CHECK_EQ(strlen(ca_name), strlen(PT_CA_NAME));
	p = r->mem;
	while ((p = memmem(p, (size_t)((unsigned char *)r->mem + st.st_size - p), PT_CA_NAME,
			   sizeof(PT_CA_NAME)))) {
		memcpy(p, ca_name, sizeof(PT_CA_NAME));
		n++;
	}
	CHECK(n >= 1);
	return bpf_object__open_mem(r->mem, (size_t)st.st_size, NULL);
}

static const char *attach_ca(struct pt_row *r)
{
	r->link = bpf_map__attach_struct_ops(bpf_object__find_map_by_name(r->obj, "pt_ca"));
	return r->link ? NULL : pt_why(r, "registering the congestion control: %s", strerror(errno));
}

static void fire_ca(struct pt_row *r)
{
	char got[16] = "";
	socklen_t len = sizeof(got);
	int c, a;

	(void)r;
	tcp_pair(&c, &a, ca_name);
	CHECK_EQ(getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, got, &len), 0);
	CHECK(!strncmp(got, ca_name, sizeof(got)));
	close(c);
	close(a);
}

/* ---- the rows -------------------------------------------------------------------- */

#define ROW(type_, how_, prog_, id_, ...)                                           \
	{ .type = type_, .how = how_, .object = "progtypes", .prog = prog_, .prog_id = id_, \
	  __VA_ARGS__ }
#define CG(type_, how_, prog_, id_, cmd_, ...)                                              \
	ROW(type_, how_, prog_, id_, .param = cmd_, .attach = attach_cgroup, .fire = fire_agent, \
	    __VA_ARGS__)

static struct pt_row rows[] = {
	CG("CGROUP_SKB", "egress on the test cgroup, a UDP send to 127.0.0.1",
	   "pt_cgroup_skb", PT_P_CGROUP_SKB, AG_UDP),
	CG("CGROUP_SOCK", "sock_create on the test cgroup, socket()", "pt_sock_create",
	   PT_P_SOCK_CREATE, AG_SOCK),
	CG("CGROUP_SOCK_ADDR", "connect4 on the test cgroup, UDP connect()", "pt_connect4",
	   PT_P_CONNECT4, AG_CONNECT),
	CG("CGROUP_SYSCTL", "sysctl on the test cgroup, read kernel.ostype", "pt_sysctl",
	   PT_P_SYSCTL, AG_SYSCTL),
	CG("CGROUP_SOCKOPT get", "getsockopt on the test cgroup, SO_RCVBUF", "pt_getsockopt",
	   PT_P_GETSOCKOPT, AG_GETSOCKOPT),
	CG("CGROUP_SOCKOPT set", "setsockopt on the test cgroup, SO_RCVBUF", "pt_setsockopt",
	   PT_P_SETSOCKOPT, AG_SETSOCKOPT),
	CG("CGROUP_DEVICE", "device on the test cgroup, open(/dev/null)", "pt_device",
	   PT_P_DEVICE, AG_DEV, .arg = 1 << 16 | 3),
	CG("SOCK_OPS", "sockops on the test cgroup, TCP connect (CONNECT_CB)", "pt_sock_ops",
	   PT_P_SOCK_OPS, AG_TCP),
	ROW("SK_SKB", "sockmap stream verdict, a loopback TCP receive", "pt_sk_skb", PT_P_SK_SKB,
	    .param = BPF_SK_SKB_STREAM_VERDICT, .arg = 1, .attach = attach_sockmap,
	    .fire = fire_sockmap, .detach = detach_sockmap),
	ROW("SK_MSG", "sockmap msg verdict, a loopback TCP send", "pt_sk_msg", PT_P_SK_MSG,
	    .param = BPF_SK_MSG_VERDICT, .arg = 0, .attach = attach_sockmap,
	    .fire = fire_sockmap, .detach = detach_sockmap),
	ROW("SK_REUSEPORT", "a UDP reuseport group, a datagram to it", "pt_reuseport",
	    PT_P_REUSEPORT, .attach = attach_reuseport, .fire = fire_udp, .detach = close_fds),
	ROW("SK_LOOKUP", "attached to the netns, a UDP datagram's lookup", "pt_sk_lookup",
	    PT_P_SK_LOOKUP, .attach = attach_sk_lookup, .fire = fire_udp, .detach = close_fds),
	ROW("NETFILTER", "IPv4 LOCAL_OUT hook, a UDP send to 127.0.0.1", "pt_netfilter",
	    PT_P_NETFILTER, .prepare = prepare_netfilter, .attach = attach_netfilter,
	    .fire = fire_udp, .detach = close_fds),
	ROW("LWT_SEG6LOCAL", "SRv6 End.BPF route, a UDP/IPv6 packet with an SRH",
	    "pt_lwt_seg6", PT_P_LWT_SEG6, .attach = attach_seg6, .fire = fire_udp6,
	    .detach = detach_seg6),
	{ .type = "STRUCT_OPS", .how = "tcp_congestion_ops init, a loopback TCP connect",
	  .object = "progtypes_ca", .prog = "pt_ca_init", .load_all = true,
	  .prog_id = PT_P_STRUCT_OPS, .open = open_ca, .attach = attach_ca, .fire = fire_ca },
};

/* A network namespace of our own with its loopback up: nothing but the
 * test's own packets reaches the hooks, and nothing leaves the machine. */
static void private_netns(void)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET))
		SKIP("cannot make a network namespace of our own: %s", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	CHECK_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

int main(void)
{
	pt_begin("t_progtypes_net: bpf_ringbuf_* from socket, cgroup and stack program types");
	private_netns();
	agent_start();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		pt_run_row(&rows[i], (uint32_t)i + 100);
	agent_stop();
	return pt_end();
}
