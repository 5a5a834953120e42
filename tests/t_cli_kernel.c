/* SPDX-License-Identifier: MIT */
/*
 * t_cli_kernel -- the t_cli tests of: test_kernel.
 * What they share, and the whole plan, are in tests/common/cli_run.h.
 */
#include "cli_run.h"

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(long *)ctx)++;
	return 0;
}

static void test_kernel(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct kobj k;
	struct buf out = { 0 };
	char idarg[32], aidarg[32], uidarg[32];
	uint32_t id, aid, uid;
	int array_fd, user_fd;
	const uint32_t sz[5] = { 1, 40, 0, 333, 4000 }, off[5] = { 0, 100, 7, 1000, 5000 };
	const char *recs[5];
	size_t sizes[5];
	uint64_t pos = 0;

	memset(&k, 0, sizeof(k));
	k.obj = kbpf_load("kmap");
	k.prog_fd = kbpf_prog_fd(k.obj, "produce");
	k.rb_fd = kbpf_map_fd(k.obj, "rb");
	k.plan_len = (sizeof(struct km_plan) + page - 1) & ~(page - 1);
	k.pat_len = (KM_PAT_SIZE + page - 1) & ~(page - 1);
	k.plan = kbpf_map_mmap(kbpf_map_fd(k.obj, "plan"), k.plan_len);
	k.pat = kbpf_map_mmap(kbpf_map_fd(k.obj, "pat"), k.pat_len);
	for (size_t i = 0; i < KM_PAT_SIZE; i++)
		k.pat[i] = (uint8_t)(t_rand(&seed) >> 56);
	for (int i = 0; i < 5; i++) {
		recs[i] = (const char *)k.pat + off[i];
		sizes[i] = sz[i];
	}
	id = kbpf_map_id(k.rb_fd, NULL, NULL);
	snprintf(idarg, sizeof(idarg), "id:%u", id);

	/* two records before tail starts, three while it waits */
	produce(&k, sz, off, 2);
	{
		char *const targv[] = { "tail", idarg, "--count", "5", "--format", "jsonl",
					"--timeout", "8", NULL };
		struct child t = spawn(targv, -1, -1, -1);

		t_sleep_ms(200);
		produce(&k, sz + 2, off + 2, 3);
		CHECK_EQ(finish(&t, NULL, 0, &out, NULL, 10), 0);
	}
	check_jsonl(out.p, recs, sizes, 5);
	buf_free(&out);
	for (int i = 0; i < 5; i++)
		pos += rec_size(sz[i]);
	CHECK_EQ(stat_of(idarg, "ring_size"), KM_RING_SIZE);
	CHECK_EQ(stat_of(idarg, "producer_pos"), pos);
	CHECK_EQ(stat_of(idarg, "consumer_pos"), pos);
	EXPECT_EXIT(XC_UNSUPP, "write", idarg); /* BPF programs produce into it */

	/* another consumer of the map: tail says so; --peek takes nothing */
	{
		struct ringbuf *app = ringbuf_map_open(k.rb_fd, NULL);
		char *const targv[] = { "tail", idarg, "--count", "1000", "--timeout", "1.5", NULL };
		char *const pargv[] = { "tail", idarg, "--peek", "--count", "2", "--format", "jsonl",
					"--timeout", "8", NULL };
		struct buf err = { 0 };
		struct child t = spawn(targv, -1, -1, -1);
		long n = 0;

		CHECK(app);
		t_sleep_ms(300);
		for (int i = 0; i < 20; i++) {
			produce(&k, sz, off, 1);
			(void)ringbuf_consume(app, count_cb, &n);
			t_sleep_ms(20);
		}
		CHECK_EQ(finish(&t, NULL, 0, NULL, &err, 10), XC_TIMEOUT);
		CHECK(n > 0 && err.p && strstr(err.p, "another process is consuming") != NULL);
		buf_free(&err);

		t = spawn(pargv, -1, -1, -1);
		t_sleep_ms(300);
		produce(&k, sz, off, 2);
		n = 0;
		CHECK_EQ(ringbuf_consume(app, count_cb, &n), 2); /* the application got both */
		CHECK_EQ(finish(&t, NULL, 0, &out, NULL, 10), 0);
		check_jsonl(out.p, recs, sizes, 2); /* and so did the peeker */
		buf_free(&out);
		ringbuf_free(app);
	}
	EXPECT_EXIT(XC_NOENT, "stat", "id:4294967295");

	/* wrong map type, by id: 4 */
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL);
	CHECK(array_fd >= 0);
	aid = kbpf_map_id(array_fd, NULL, NULL);
	snprintf(aidarg, sizeof(aidarg), "id:%u", aid);
	EXPECT_EXIT(XC_NOTRING, "stat", aidarg);
	EXPECT_EXIT(XC_NOTRING, "tail", aidarg, "--count", "1");

	/* a USER_RINGBUF map: write works, tail is unsupported (10) */
	user_fd = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, NULL, 0, 0, 4096, NULL);
	CHECK(user_fd >= 0);
	uid = kbpf_map_id(user_fd, NULL, NULL);
	snprintf(uidarg, sizeof(uidarg), "id:%u", uid);
	EXPECT_EXIT(XC_UNSUPP, "tail", uidarg, "--count", "1");
	CHECK_EQ(RUN_IN("abc\n", 4, NULL, "write", uidarg), 0);
	CHECK_EQ(stat_of(uidarg, "producer_pos"), rec_size(3));
	CHECK_EQ(RUN(&out, "stat", uidarg), 0);
	CHECK(strstr(out.p, "USER_RINGBUF") != NULL);
	buf_free(&out);

	/* BPF not permitted: 6 (map ids need CAP_SYS_ADMIN) */
	if (geteuid() == 0) {
		char *const argv[] = { "stat", idarg, NULL };
		struct child c = spawn(argv, -1, -1, 65534);
		int rc = finish(&c, NULL, 0, NULL, NULL, 10);

		if (rc == 126 || rc == 127)
			fprintf(stderr, "note: BPF-permission sub-case skipped: cannot run as nobody\n");
		else
			CHECK_EQ(rc, XC_BPFPERM);
	}

	/* pinned in bpffs: tail and stat by path; an ARRAY map there: 4 */
	{
		char dir[64] = "/sys/fs/bpf", path[128], apath[128], missing[128];
		int mounted = kbpf_bpffs_get(dir, sizeof(dir), "/tmp/t_cli.XXXXXX");

		if (mounted >= 0) {
			const uint32_t s1[1] = { 64 }, o1[1] = { 9 };

			snprintf(path, sizeof(path), "%s/t_cli_rb_%d", dir, (int)getpid());
			snprintf(apath, sizeof(apath), "%s/t_cli_array_%d", dir, (int)getpid());
			snprintf(missing, sizeof(missing), "%s/t_cli_missing_%d", dir, (int)getpid());
			CHECK_EQ(bpf_obj_pin(k.rb_fd, path), 0);
			CHECK_EQ(bpf_obj_pin(array_fd, apath), 0);
			EXPECT_EXIT(XC_NOTRING, "stat", apath);
			EXPECT_EXIT(XC_NOENT, "stat", missing);
			EXPECT_EXIT(XC_NOENT, "tail", missing, "--count", "1");
			produce(&k, s1, o1, 1);
			CHECK_EQ(stat_of(path, "avail_data"), rec_size(64));
			CHECK_EQ(RUN(&out, "tail", path, "--format", "raw", "--count", "1",
				     "--timeout", "5"), 0);
			CHECK_EQ(out.n, 4 + 64);
			CHECK_EQ(out.p[0], 64);
			CHECK(memcmp(out.p + 4, k.pat + 9, 64) == 0);
			buf_free(&out);
			CHECK_EQ(stat_of(path, "avail_data"), 0);
			CHECK_EQ(unlink(path), 0);
			CHECK_EQ(unlink(apath), 0);
			kbpf_bpffs_put(dir, mounted);
		}
	}

	close(user_fd);
	close(array_fd);
	munmap(k.plan, k.plan_len);
	munmap(k.pat, k.pat_len);
	bpf_object__close(k.obj);
	printf("kernel maps: ok\n");
}

int main(void)
{
	uint64_t t0 = t_now_ns();

	signal(SIGPIPE, SIG_IGN);
	find_cli();
	atexit(cleanup);
	fprintf(stderr, "note: user-space parts passed; now the kernel maps\n");
	kbpf_require();
	test_kernel();
	printf("t_cli_kernel: ok (%.1f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return T_PASS;
}
