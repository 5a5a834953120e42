/* SPDX-License-Identifier: MIT */
/*
 * harness.h -- what the files of ringbuf_bench share: the run's settings,
 * the row table's types, one measurement (struct sample), the record check,
 * and the calls each row family offers the driver (harness.c).
 *
 *   main.c     options, CPUs, the run loop
 *   rows.c     the table of rows and the goals
 *   harness.c  timing, CPU time, record checking, repetitions and medians
 *   streams.c  ringbuf producer alone; producers + a consumer (also the
 *              kernel-map streams: BPF producers, libbpf/ringbuf consumer)
 *   kernel.c   the BPF object and ring, its two consumers, kernel-only rows
 *   procs.c    producer processes on a named ring
 *   ipc.c      pipe, unix datagram socket, memcpy reference
 *   latency.c  wakeup latency
 *   report.c   summary, tables, goals, JSON, plot
 *
 * Only include/ringbuf.h (and libbpf, in kernel.c) is used: this is a
 * user of the library like any other.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringbuf.h"
#include "bpf/bench.h"

#define KIB (1024UL)
#define MIB (1024UL * 1024UL)

#define MAX_REPS      50
#define MAX_ROWS      128 /* rows.c checks the table fits */
#define MAX_PRODUCERS 8
#define MAX_REC       4096
#define ID_SHIFT      56
#define SEQ_MASK      ((UINT64_C(1) << ID_SHIFT) - 1)

#define ALONE_RING   (64 * MIB)
#define WARM_RING    (1 * MIB)
#define TUNED_RING   (16 * MIB)
#define KERNEL_RING  (16 * MIB) /* the BPF map's max_entries */
#define LAT_RING     (1 * MIB)
#define TUNED_NAP_NS (5 * 1000000L)
#define POLL_MS      100
#define MEMCPY_BUF   (64 * MIB)
#define MEMCPY_CHUNK (4 * KIB)
#define KB_BATCH     500 /* records per BPF_PROG_TEST_RUN */
#define IPC_BATCH    512 /* records per write() in the batched pipe row */
#define DGRAM_BATCH  64  /* datagrams per sendmmsg/recvmmsg */
#define LAT_GAP_NS   (1000 * 1000L) /* 1 ms between latency samples */
#define LAT_SAMPLES       2000
#define LAT_SAMPLES_QUICK 300

/* The run's settings and what main.c learns about the machine. */
struct bench_cfg {
	int reps;
	double seconds;
	int lat_samples; /* per latency row, over all repetitions */
	const char *json;
	const char *plot;
	const char *only; /* run only rows whose name contains this */
	int cpus[2];    /* producer CPU, consumer CPU */
	int ncpus;      /* CPUs this process may run on */
	double others;  /* CPUs' worth used by other processes during the run */
	double stolen;  /* CPUs' worth stolen by the hypervisor during the run */
	int allowed[CPU_SETSIZE];
	bool tty;
};
extern struct bench_cfg cfg;

/* ---- rows (rows.c) ---- */

enum kind {
	K_ALONE,   /* ringbuf producer alone */
	K_STREAM,  /* producers + consumer: ringbuf ring or kernel map */
	K_PROC,    /* producer processes on a named ring */
	K_KALONE,  /* BPF producer alone */
	K_KDRAIN,  /* a consumer alone, draining a full kernel ring */
	K_IPC,     /* pipe / unix datagram socket */
	K_MEMCPY,  /* memcpy bandwidth */
	K_CLAIM,   /* the floor of one shared claim: fetch-and-add + a record's stores */
	K_LAT,     /* wakeup latency */
};
enum cmode { C_POLL, C_NAP, C_SPIN, C_EPOLL };
enum ctype { CO_USER, CO_RB, CO_LIBBPF, CO_PULL }; /* ringbuf ring; kernel map read by
							  * ringbuf / libbpf / ringbuf's pull reader */
enum sub { S_NONE, S_PIPE, S_PIPE_BATCH, S_DGRAM, S_DGRAM_BATCH, S_LAT_RB, S_LAT_FUTEX,
	   S_LAT_EVENTFD, S_LAT_KRB, S_LAT_KLIBBPF };
enum unit { U_NS_REC, U_MREC_S, U_GB_S, U_US };

struct rowdef {
	const char *name;
	enum kind kind;
	int nprod;
	size_t size;      /* record payload bytes */
	size_t ring;      /* data bytes */
	uint64_t flags;   /* producer wakeup flags */
	enum cmode mode;  /* consumer form */
	enum ctype cons;  /* consumer implementation */
	enum sub sub;
	bool reserve;     /* producer uses reserve+submit instead of output */
	bool kernel;      /* needs BPF */
	const char *peer; /* kernel+libbpf row of the same form (ratio column) */
	const char *desc;
};

extern const struct rowdef rows[];
extern const int nrows;

uint64_t row_watermark(const struct rowdef *r);
uint64_t row_ring_flags(const struct rowdef *r);
unsigned row_set_rings(const struct rowdef *r);
enum unit row_unit(const struct rowdef *r);
const char *unit_name(enum unit u);
const char *section_of(int ri);

/* The goals: what each headline row is compared with, and the verdict. */
enum gres { G_MET, G_NOT_MET, G_SKIP };

struct goal {
	const char *what;
	double measured, target;
	const char *unit;
	bool le; /* measured must be <= target (else >=) */
	char note[200];
};

#define NGOALS 12
extern struct goal goals[NGOALS];
extern double tuned_ceiling_gbs;
void compute_goals(void);
enum gres goal_res(const struct goal *g);
const char *gres_name(enum gres r);

/* ---- one measurement, the record check (harness.c) ---- */

struct sample {
	double value;       /* in the row's unit */
	double bytes_s;     /* payload bytes per second */
	double prod_cpu;    /* producer CPU ns per record (all producers) */
	double cons_cpu;    /* consumer CPU ns per record */
	double wakes;       /* consumer voluntary context switches per record */
	uint64_t records;
	uint64_t drops;     /* ring-full returns that made a producer retry (see desc) */
	uint64_t timeouts;  /* poll calls that returned 0 */
};

extern struct sample samples[MAX_ROWS][MAX_REPS];

/* Records carry (producer id << 56 | sequence) in their first 8 bytes and
 * the complement of that word in their last 8 (records of 16 bytes or
 * more); verify_cb() checks size, order and tail and exits on a gap. */
struct verifier {
	uint64_t expected[KB_MAX_IDS]; /* next sequence per producer */
	uint64_t received;
	size_t size;
	const char *row;
};

void fill_record(uint64_t *buf, size_t size, uint64_t word);
int verify_cb(void *ctx, void *data, size_t size);

/* CPU time (user + system) and voluntary context switches of the calling
 * thread. */
struct tstat {
	uint64_t cpu_ns;
	uint64_t vcsw;
};

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ns(void);
struct tstat thread_stat(void);
uint64_t thread_cpu_ns(void);
void machine_cpu_ns(uint64_t *busy, uint64_t *steal);
uint64_t process_cpu_ns(void);
void pin_self(int cpu);
void nap_ns(long ns);
struct ringbuf *new_ring(size_t size, uint64_t flags);
int count_cb(void *ctx, void *data, size_t size);
uint64_t drain(struct ringbuf *rb, ringbuf_sample_fn fn, void *ctx);
void prefault2(struct ringbuf *p, struct ringbuf *c);
void prefault(struct ringbuf *rb);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* A producer that found the ring full, before its next try: spin a
 * little (room usually comes soon), then give the CPU away -- to the
 * consumer, when it shares this CPU; a producer that only spun would
 * keep it from running for the rest of its time slice.  @tries counts
 * the tries of one record from 0. */
static inline void full_wait(unsigned *tries)
{
	if ((*tries)++ < 64)
		cpu_relax();
	else
		sched_yield();
}

/* Driver and statistics over the repetitions. */
struct stat3 {
	double med, min, max;
};

#define F_VALUE offsetof(struct sample, value)
#define F_BYTES offsetof(struct sample, bytes_s)

bool row_skipped(int ri);
const char *skip_reason(int ri);
void measure(int ri, int rep, uint64_t dur_ns);
int cmp_double(const void *a, const void *b);
double pct(const double *v, int n, double q);
struct stat3 stat_of(int ri, size_t field);
uint64_t median_u64(int ri, size_t field);
uint64_t total_u64(int ri, size_t field);
int row_index(const char *name);
double med(const char *name);
double med_bytes(const char *name);

/* ---- the kernel side (kernel.c) ---- */

/* Consumer calls on either kind of consumer handle. */
struct cons_h {
	enum ctype type;
	struct ringbuf *rb;
};

void kernel_setup(void);
bool kernel_ok(void);
const char *kernel_why(void);
struct ringbuf *kernel_handle(void); /* ringbuf's consumer handle on the map */
void kb_run(struct kb_ctx *c);
uint64_t kb_fill(uint32_t id, uint32_t size, uint64_t *seq);
void ch_bind(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx);
int ch_consume(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx);
int ch_poll(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx, int ms);
uint64_t ch_drain(const struct cons_h *h, ringbuf_sample_fn fn, void *ctx);

/* ---- row families: one measurement of @row into @out ---- */

/* A row measured by one thread of its own: @fn gets the struct row_arg,
 * fills .out, and run_in_thread() copies it to @out. */
struct row_arg {
	const struct rowdef *row;
	uint64_t dur_ns;
	int cpu; /* the CPU to pin to: cfg.cpus[0] unless the row says otherwise */
	struct sample out;
};
void run_in_thread(void *(*fn)(void *), const struct rowdef *row, uint64_t dur_ns,
		   struct sample *out);

void run_alone(const struct rowdef *row, uint64_t dur_ns, struct sample *out);   /* streams.c */
void run_stream(const struct rowdef *row, uint64_t dur_ns, struct sample *out);  /* streams.c */
void run_kalone(const struct rowdef *row, uint64_t dur_ns, struct sample *out);  /* kernel.c */
void run_kdrain(const struct rowdef *row, uint64_t dur_ns, struct sample *out);  /* kernel.c */
void run_procs(const struct rowdef *row, uint64_t dur_ns, struct sample *out);   /* procs.c */
void run_ipc(const struct rowdef *row, uint64_t dur_ns, struct sample *out);     /* ipc.c */
void run_memcpy(const struct rowdef *row, uint64_t dur_ns, struct sample *out);  /* ipc.c */
void run_claim(const struct rowdef *row, uint64_t dur_ns, struct sample *out);   /* ipc.c */
void run_lat(int ri, int n, struct sample *out);                                 /* latency.c */

/* Latency samples of each row, pooled over the repetitions (latency.c). */
extern int lat_pool_n[MAX_ROWS];
extern double *lat_pool[MAX_ROWS];
double lat_p50(const char *name);

/* ---- report.c ---- */

void print_summary(void);
void print_table(void);
void print_latency(void);
void print_comparisons(void);
void print_goals(void);
void write_json(void);
bool plot_available(void);
void write_plot(void);

#endif
