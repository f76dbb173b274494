/* minhash_lsh_bench: the C-level benchmark of the MinHash-LSH index.
 *
 * Workload: n random signatures of 128 values of 4 bytes, 16 bands of 8.
 * Queries are copies of random stored rows with each value kept with
 * probability 0.8 (otherwise replaced): a pair at J = 0.8, found with
 * probability 1 - (1 - 0.8^8)^16 = 0.947 by banding.
 *
 * For each n (100k and 1M; --quick: 100k; --n: the sizes given), with one
 * thread and then with all cores (--threads, default 0 = one per online
 * processor):
 *   build time per signature (with and without raw data), median of 3-5
 *   (after one untimed build);
 *   add time per added signature (10 % of n added to a built index);
 *   batch search time per query (one call, all queries), with / without raw;
 * and once per n: single search (one call per query, with raw data: the
 * verification is included), index memory per signature (the library's own
 * count and the RSS delta), recall (source row among the 10 results), the
 * cost of passing a never-set interrupt instead of NULL (interleaved pairs,
 * wall and CPU time), and at the largest n the interrupt latency: a thread
 * sleeps a random time within the uninterrupted duration, calls
 * knowhere_interrupt_interrupt and takes a CLOCK_MONOTONIC stamp; the latency
 * is the moment the call returned minus that stamp. Each point is followed by
 * one of a control loop (same threads, polling the flag every ~100 ns), the
 * floor that the machine's scheduling allows.
 *
 * The machine may be shared: each section reports how many CPUs other
 * processes kept busy meanwhile (from /proc/stat).
 *
 * Prints a table; --json FILE writes every number. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "knowhere_rs.h"

enum { LENGTH = 128, ELEMENT = 4, BANDS = 16, SIG = LENGTH * ELEMENT, K = 10 };
#define AGREEMENT 0.8
/* 1 - (1 - 0.8^8)^16: the chance that banding finds the source row. */
#define THEORY_RECALL 0.9470

/* ---- small tools ------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

static void random_signatures(rng *r, uint32_t *out, size_t n) {
    for (size_t i = 0; i < n * LENGTH; i += 2) {
        uint64_t v = rng_next(r);
        out[i] = (uint32_t)v;
        if (i + 1 < n * LENGTH) out[i + 1] = (uint32_t)(v >> 32);
    }
}

/* Queries: mutations of random rows of `data` (n rows); sources[q] is the row. */
static void make_queries(rng *r, const uint32_t *data, size_t n, uint32_t *queries,
                         int64_t *sources, size_t nq) {
    for (size_t q = 0; q < nq; ++q) {
        size_t src = (size_t)(rng_next(r) % n);
        sources[q] = (int64_t)src;
        const uint32_t *row = data + src * LENGTH;
        uint32_t *out = queries + q * LENGTH;
        for (size_t i = 0; i < LENGTH; ++i) {
            if (rng_unit(r) < AGREEMENT) {
                out[i] = row[i];
            } else {
                uint32_t v;
                do v = (uint32_t)rng_next(r); while (v == row[i]);
                out[i] = v;
            }
        }
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v and returns the value at quantile q (0.5 = median). */
static double quantile_u64(uint64_t *v, size_t n, double q) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i];
}

static double median_u64(uint64_t *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

static double median_double(double *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check(int status, knowhere_error *err, const char *what) {
    if (status == KNOWHERE_OK) return;
    fprintf(stderr, "%s failed: %d %s\n", what, status, knowhere_error_message(err));
    knowhere_error_free(err);
    exit(1);
}

/* Resident set size in bytes (Linux /proc/self/statm; 0 elsewhere). */
static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long size = 0, resident = 0;
    int got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return got == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static void sleep_ns(uint64_t ns) {
    struct timespec t = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* Lets the library's detached "deferred free" threads finish: waits until
 * the RSS has not changed for three readings 10 ms apart (at least 30 ms,
 * at most 2 s). */
static void settle(void) {
    size_t last = rss_bytes();
    int stable = 0;
    for (int i = 0; i < 200 && stable < 3; ++i) {
        sleep_ns(10u * 1000 * 1000);
        size_t now = rss_bytes();
        stable = now == last ? stable + 1 : 0;
        last = now;
    }
}

static uint64_t cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* CPU time used by the whole machine (all processes), from /proc/stat. */
static double machine_busy_seconds(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) return 0;
    unsigned long long v[8] = {0};
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got < 3) return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* not idle, iowait */
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

/* How many CPUs other processes kept busy, on average, over a section of
 * the benchmark: the noise it ran in. */
typedef struct {
    uint64_t wall, self;
    double machine;
} load_mark;

static load_mark load_begin(void) {
    return (load_mark){now_ns(), cpu_ns(), machine_busy_seconds()};
}

static double load_end(load_mark m) {
    double wall = (double)(now_ns() - m.wall) / 1e9;
    double self = (double)(cpu_ns() - m.self) / 1e9;
    double other = machine_busy_seconds() - m.machine - self;
    return wall > 0 && other > 0 ? other / wall : 0;
}

/* ---- operations -------------------------------------------------------------- */

static knowhere_minhash_lsh *new_index(size_t threads) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    if (index == NULL) {
        fprintf(stderr, "knowhere_minhash_lsh_create failed\n");
        exit(1);
    }
    knowhere_minhash_lsh_set_num_threads(index, threads);
    return index;
}

static uint64_t timed_build(knowhere_minhash_lsh *index, const uint32_t *data, size_t n,
                            bool raw, CInterrupt interrupt) {
    knowhere_error *err = NULL;
    uint64_t t0 = now_ns();
    int status = knowhere_minhash_lsh_build_with_interrupt(
        index, (const uint8_t *)data, n * SIG, LENGTH, ELEMENT, BANDS, raw, interrupt, &err);
    uint64_t t1 = now_ns();
    check(status, err, "build");
    return t1 - t0;
}

static uint64_t timed_batch(const knowhere_minhash_lsh *index, const uint32_t *queries,
                            size_t nq, int64_t *ids, float *dist, CInterrupt interrupt) {
    knowhere_error *err = NULL;
    uint64_t t0 = now_ns();
    int status = knowhere_minhash_lsh_batch_search_with_interrupt(
        index, (const uint8_t *)queries, nq * SIG, nq, K, NULL, 0, ids, dist, interrupt, &err);
    uint64_t t1 = now_ns();
    check(status, err, "batch search");
    return t1 - t0;
}

/* Fraction of queries whose source row is among their k results. */
static double recall(const int64_t *ids, const int64_t *sources, size_t nq) {
    size_t found = 0;
    for (size_t q = 0; q < nq; ++q)
        for (size_t j = 0; j < K; ++j)
            if (ids[q * K + j] == sources[q]) {
                found++;
                break;
            }
    return (double)found / (double)nq;
}

/* ---- interrupt latency ----------------------------------------------------------- */

typedef struct {
    CInterrupt interrupt;
    uint64_t start_ns, delay_ns;
    uint64_t set_ns; /* CLOCK_MONOTONIC after interrupt() returned */
} interrupter;

static void *interrupter_main(void *arg) {
    interrupter *it = arg;
    uint64_t wake = it->start_ns + it->delay_ns;
    struct timespec t = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
    knowhere_interrupt_interrupt(it->interrupt);
    it->set_ns = now_ns();
    return NULL;
}

typedef struct {
    size_t points, interrupted, completed;
    double uninterrupted_ms, p50_us, p90_us, max_us;
    double other_load; /* CPUs kept busy by other processes meanwhile */
} latency_result;

typedef enum { OP_BUILD, OP_BATCH, OP_CONTROL } op_kind;

typedef struct {
    op_kind kind;
    knowhere_minhash_lsh *index;
    const uint32_t *data;
    size_t rows;
    int64_t *ids;
    float *dist;
    size_t threads;       /* OP_CONTROL: threads, the caller's included */
    uint64_t duration_ns; /* OP_CONTROL: how long it runs uninterrupted */
} op_spec;

/* The control: what the machine itself allows. Like the library's parallel
 * jobs (threads started per call, the caller among them, joined at the
 * end), but each thread polls the flag about every 100 ns. Its latency is
 * the floor set by thread wake-ups and scheduling on this machine. */
typedef struct {
    CInterrupt interrupt;
    uint64_t end_ns;
} control_arg;

static void *control_main(void *arg) {
    control_arg *c = arg;
    uint64_t x = 1;
    while (!knowhere_interrupt_is_interrupted(c->interrupt)) {
        for (int i = 0; i < 32; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
        if (now_ns() >= c->end_ns) break;
    }
    return (void *)(uintptr_t)(x & 1); /* keeps the loop */
}

static int run_control(const op_spec *op, CInterrupt interrupt) {
    control_arg c = {interrupt, now_ns() + op->duration_ns};
    pthread_t handles[64];
    size_t started = 0;
    for (size_t t = 1; t < op->threads && t < 64; ++t)
        if (pthread_create(&handles[started], NULL, control_main, &c) == 0) started++;
    control_main(&c);
    for (size_t t = 0; t < started; ++t) pthread_join(handles[t], NULL);
    return knowhere_interrupt_is_interrupted(interrupt) ? KNOWHERE_ERR_INTERRUPTED
                                                        : KNOWHERE_OK;
}

static int run_op(const op_spec *op, CInterrupt interrupt) {
    if (op->kind == OP_CONTROL) return run_control(op, interrupt);
    if (op->kind == OP_BUILD)
        return knowhere_minhash_lsh_build_with_interrupt(
            op->index, (const uint8_t *)op->data, op->rows * SIG, LENGTH, ELEMENT, BANDS,
            true, interrupt, NULL);
    return knowhere_minhash_lsh_batch_search_with_interrupt(
        op->index, (const uint8_t *)op->data, op->rows * SIG, op->rows, K, NULL, 0, op->ids,
        op->dist, interrupt, NULL);
}

/* One interrupted run at a random point of [0, duration). Returns the
 * status; *latency is set when it was interrupted. */
static int interrupt_once(const op_spec *op, CInterrupt interrupt, double duration, rng *r,
                          uint64_t *latency) {
    settle();
    knowhere_interrupt_reset(interrupt);
    interrupter it = {.interrupt = interrupt, .delay_ns = (uint64_t)(rng_unit(r) * duration)};
    pthread_t thread;
    it.start_ns = now_ns();
    if (pthread_create(&thread, NULL, interrupter_main, &it) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    int status = run_op(op, interrupt);
    uint64_t returned = now_ns();
    pthread_join(thread, NULL);
    if (status == KNOWHERE_ERR_INTERRUPTED) {
        *latency = returned > it.set_ns ? returned - it.set_ns : 0;
    } else if (status != KNOWHERE_OK) {
        fprintf(stderr, "interrupted run failed: %d\n", status);
        exit(1);
    }
    return status;
}

static void summarize_latency(latency_result *res, uint64_t *lat) {
    res->p50_us = quantile_u64(lat, res->interrupted, 0.5) / 1e3;
    res->p90_us = quantile_u64(lat, res->interrupted, 0.9) / 1e3;
    res->max_us = res->interrupted ? (double)lat[res->interrupted - 1] / 1e3 : 0;
}

/* Interrupt latency of `op` at `points` random points, each followed by a
 * point of the control loop (same threads, same length), so that both see
 * the same machine. */
static void measure_latency(const op_spec *op, size_t threads, size_t points, rng *r,
                            latency_result *out, latency_result *control_out) {
    latency_result res = {.points = points};
    latency_result control = {.points = points};
    /* The uninterrupted duration: median of 3. */
    uint64_t d[3];
    for (int i = 0; i < 3; ++i) {
        settle();
        uint64_t t0 = now_ns();
        int status = run_op(op, NULL);
        d[i] = now_ns() - t0;
        if (status != KNOWHERE_OK) {
            fprintf(stderr, "uninterrupted run failed: %d\n", status);
            exit(1);
        }
    }
    double duration = median_u64(d, 3);
    res.uninterrupted_ms = duration / 1e6;
    control.uninterrupted_ms = duration / 1e6;
    op_spec control_op = {.kind = OP_CONTROL, .threads = threads,
                          .duration_ns = (uint64_t)duration};

    uint64_t *lat = xmalloc(points * sizeof *lat);
    uint64_t *control_lat = xmalloc(points * sizeof *control_lat);
    CInterrupt interrupt = knowhere_interrupt_create();
    load_mark load = load_begin();
    for (size_t p = 0; p < points; ++p) {
        uint64_t l = 0;
        /* OK: it finished before the interrupt, no latency to count. */
        if (interrupt_once(op, interrupt, duration, r, &l) == KNOWHERE_OK) res.completed++;
        else lat[res.interrupted++] = l;
        if (interrupt_once(&control_op, interrupt, duration, r, &l) == KNOWHERE_OK)
            control.completed++;
        else control_lat[control.interrupted++] = l;
    }
    res.other_load = control.other_load = load_end(load);
    knowhere_interrupt_free(interrupt);
    summarize_latency(&res, lat);
    summarize_latency(&control, control_lat);
    free(lat);
    free(control_lat);
    *out = res;
    *control_out = control;
}

/* ---- interrupt overhead ---------------------------------------------------------- */

/* A never-set interrupt versus NULL: `pairs` interleaved pairs (ABBA), each
 * timed in wall time and in process CPU time (which other processes'
 * load disturbs less). The overhead is the median of the paired ratios. */
typedef struct {
    size_t pairs;
    double wall_pct, cpu_pct;
    double wall_iqr[2], cpu_iqr[2]; /* p25 and p75 of the paired ratios, in % */
    double null_ms, interrupt_ms;   /* median wall times */
} overhead_stat;

static void ratio_stats(double *ratio, size_t m, double *pct, double iqr[2]) {
    *pct = (median_double(ratio, m) - 1) * 100; /* sorts */
    iqr[0] = (ratio[(m - 1) / 4] - 1) * 100;
    iqr[1] = (ratio[(3 * (m - 1) + 3) / 4] - 1) * 100;
}

static void overhead_run(overhead_stat *out, size_t pairs, bool build,
                         knowhere_minhash_lsh *index, const uint32_t *data, size_t n,
                         const uint32_t *queries, size_t nq, int64_t *ids, float *dist,
                         CInterrupt never) {
    uint64_t *wall[2], *cpu[2];
    for (int j = 0; j < 2; ++j) {
        wall[j] = xmalloc(pairs * sizeof *wall[j]);
        cpu[j] = xmalloc(pairs * sizeof *cpu[j]);
    }
    double *wall_ratio = xmalloc(pairs * sizeof *wall_ratio);
    double *cpu_ratio = xmalloc(pairs * sizeof *cpu_ratio);
    for (size_t p = 0; p < pairs; ++p) {
        for (int j = 0; j < 2; ++j) {
            int with = (p % 2 == 0) == (j == 1); /* 0: NULL, 1: the interrupt */
            CInterrupt interrupt = with ? never : NULL;
            if (build) settle();
            uint64_t c0 = cpu_ns();
            wall[with][p] = build ? timed_build(index, data, n, true, interrupt)
                                  : timed_batch(index, queries, nq, ids, dist, interrupt);
            cpu[with][p] = cpu_ns() - c0;
        }
        wall_ratio[p] = (double)wall[1][p] / (double)wall[0][p];
        cpu_ratio[p] = (double)cpu[1][p] / (double)cpu[0][p];
    }
    out->pairs = pairs;
    ratio_stats(wall_ratio, pairs, &out->wall_pct, out->wall_iqr);
    ratio_stats(cpu_ratio, pairs, &out->cpu_pct, out->cpu_iqr);
    out->null_ms = median_u64(wall[0], pairs) / 1e6;
    out->interrupt_ms = median_u64(wall[1], pairs) / 1e6;
    for (int j = 0; j < 2; ++j) free(wall[j]), free(cpu[j]);
    free(wall_ratio), free(cpu_ratio);
}

/* ---- one n ------------------------------------------------------------------------ */

typedef struct {
    size_t threads; /* as passed to set_num_threads (0: all) */
    size_t resolved;
    double build_raw_ns, build_noraw_ns;   /* per signature */
    double add_raw_ns, add_noraw_ns;       /* per added signature */
    double batch_raw_ns, batch_noraw_ns;   /* per query */
    double recall_batch_raw, recall_batch_noraw;
} thread_result;

typedef struct {
    size_t n, nq, build_reps;
    double single_median_ns, single_mean_ns, single_p99_ns, recall_single;
    double mem_raw_per_sig, mem_noraw_per_sig;
    double rss_raw_per_sig, rss_noraw_per_sig;
    thread_result by_threads[2];
    size_t overhead_pairs;
    overhead_stat overhead_build, overhead_batch;
    double other_load;
    bool has_latency;
    latency_result latency_build, latency_batch, control_build, control_batch;
    size_t latency_batch_nq;
} n_result;

enum {
    S_MEMORY = 1, S_BUILD = 2, S_ADD = 4, S_SEARCH = 8, S_OVERHEAD = 16, S_LATENCY = 32,
    S_ALL = 63
};
static const char *const SECTION_NAMES[] = {"memory", "build", "add", "search", "overhead",
                                            "latency"};

typedef struct {
    unsigned sections;
    size_t ns[4], n_count, nq, threads, latency_points, overhead_pairs;
    bool quick;
    const char *json;
    uint64_t seed;
} options;

/* Median build time (ns) of `reps` builds on fresh indexes, after one more
 * (untimed: the first touch of memory in a fresh VM costs extra). */
static double median_build(const uint32_t *data, size_t n, bool raw, size_t threads,
                           size_t reps) {
    uint64_t t[16];
    for (size_t i = 0; i <= reps; ++i) { /* the first is a warm-up */
        knowhere_minhash_lsh *index = new_index(threads);
        settle();
        uint64_t ns = timed_build(index, data, n, raw, NULL);
        if (i > 0) t[i - 1] = ns;
        knowhere_minhash_lsh_free(index);
    }
    return median_u64(t, reps);
}

/* Median time (ns) of adding `extra` rows to a freshly built index of n rows. */
static double median_add(const uint32_t *data, size_t n, const uint32_t *extra,
                         size_t n_extra, bool raw, size_t threads, size_t reps) {
    uint64_t t[16];
    for (size_t i = 0; i < reps; ++i) {
        knowhere_minhash_lsh *index = new_index(threads);
        timed_build(index, data, n, raw, NULL);
        settle();
        knowhere_error *err = NULL;
        uint64_t t0 = now_ns();
        int status = knowhere_minhash_lsh_add(index, (const uint8_t *)extra, n_extra * SIG, &err);
        t[i] = now_ns() - t0;
        check(status, err, "add");
        if (knowhere_minhash_lsh_count(index) != n + n_extra) {
            fprintf(stderr, "add: wrong count\n");
            exit(1);
        }
        knowhere_minhash_lsh_free(index);
    }
    return median_u64(t, reps);
}

static void run_n(const options *opt, size_t n, bool largest, rng *r, n_result *res) {
    memset(res, 0, sizeof *res);
    load_mark load = load_begin();
    res->n = n;
    res->nq = opt->nq;
    res->build_reps = n >= 500000 ? 3 : 5;
    size_t nq = opt->nq;
    fprintf(stderr, "n = %zu: generating data\n", n);
    uint32_t *data = xmalloc(n * SIG);
    random_signatures(r, data, n);
    size_t n_extra = n / 10 ? n / 10 : 1;
    uint32_t *extra = xmalloc(n_extra * SIG);
    random_signatures(r, extra, n_extra);
    uint32_t *queries = xmalloc(nq * SIG);
    int64_t *sources = xmalloc(nq * sizeof *sources);
    make_queries(r, data, n, queries, sources, nq);
    int64_t *ids = xmalloc(nq * K * sizeof *ids);
    float *dist = xmalloc(nq * K * sizeof *dist);

    /* Memory: the library's count, and the RSS delta of a build (the index
     * kept, its scratch released; without raw data first, the smaller one
     * to free before the next). */
    for (int raw = 0; raw <= 1 && (opt->sections & S_MEMORY); ++raw) {
        settle();
        size_t before = rss_bytes();
        knowhere_minhash_lsh *index = new_index(opt->threads);
        timed_build(index, data, n, raw, NULL);
        settle();
        size_t after = rss_bytes();
        double mem = (double)knowhere_minhash_lsh_memory_usage(index) / (double)n;
        /* Not positive: memory freed by an earlier call came back meanwhile. */
        double rss = after > before ? (double)(after - before) / (double)n : -1;
        if (raw) {
            res->mem_raw_per_sig = mem;
            res->rss_raw_per_sig = rss;
        } else {
            res->mem_noraw_per_sig = mem;
            res->rss_noraw_per_sig = rss;
        }
        knowhere_minhash_lsh_free(index);
    }

    size_t thread_settings[2] = {1, opt->threads};
    for (int ti = 0; ti < 2; ++ti) {
        size_t threads = thread_settings[ti];
        thread_result *tr = &res->by_threads[ti];
        tr->threads = threads;
        {
            knowhere_minhash_lsh *probe = new_index(threads);
            tr->resolved = knowhere_minhash_lsh_num_threads(probe);
            knowhere_minhash_lsh_free(probe);
        }
        if (opt->sections & S_BUILD) {
            fprintf(stderr, "n = %zu, threads = %zu: build\n", n, tr->resolved);
            tr->build_raw_ns = median_build(data, n, true, threads, res->build_reps) / (double)n;
            tr->build_noraw_ns =
                median_build(data, n, false, threads, res->build_reps) / (double)n;
        }
        if (opt->sections & S_ADD) {
            fprintf(stderr, "n = %zu, threads = %zu: add\n", n, tr->resolved);
            tr->add_raw_ns =
                median_add(data, n, extra, n_extra, true, threads, 3) / (double)n_extra;
            tr->add_noraw_ns =
                median_add(data, n, extra, n_extra, false, threads, 3) / (double)n_extra;
        }

        if (opt->sections & S_SEARCH)
            fprintf(stderr, "n = %zu, threads = %zu: search\n", n, tr->resolved);
        for (int raw = 1; raw >= 0 && (opt->sections & S_SEARCH); --raw) {
            knowhere_minhash_lsh *index = new_index(threads);
            timed_build(index, data, n, raw, NULL);
            settle();
            timed_batch(index, queries, nq, ids, dist, NULL); /* warm-up */
            uint64_t t[5];
            for (int i = 0; i < 5; ++i) t[i] = timed_batch(index, queries, nq, ids, dist, NULL);
            double per_query = median_u64(t, 5) / (double)nq;
            double rec = recall(ids, sources, nq);
            if (raw) {
                tr->batch_raw_ns = per_query;
                tr->recall_batch_raw = rec;
            } else {
                tr->batch_noraw_ns = per_query;
                tr->recall_batch_noraw = rec;
            }

            /* Single search (one thread whatever the setting): once, with raw data. */
            if (raw && ti == 0) {
                knowhere_error *err = NULL;
                for (size_t q = 0; q < nq; ++q) /* warm-up */
                    knowhere_minhash_lsh_search(index, (const uint8_t *)(queries + q * LENGTH),
                                                SIG, K, NULL, 0, ids + q * K, dist + q * K, NULL);
                uint64_t t0 = now_ns();
                for (size_t q = 0; q < nq; ++q) {
                    int status = knowhere_minhash_lsh_search(
                        index, (const uint8_t *)(queries + q * LENGTH), SIG, K, NULL, 0,
                        ids + q * K, dist + q * K, &err);
                    check(status, err, "search");
                }
                res->single_mean_ns = (double)(now_ns() - t0) / (double)nq;
                uint64_t *each = xmalloc(nq * sizeof *each);
                for (size_t q = 0; q < nq; ++q) {
                    uint64_t a = now_ns();
                    knowhere_minhash_lsh_search(index, (const uint8_t *)(queries + q * LENGTH),
                                                SIG, K, NULL, 0, ids + q * K, dist + q * K, NULL);
                    each[q] = now_ns() - a;
                }
                res->single_p99_ns = quantile_u64(each, nq, 0.99);
                res->single_median_ns = quantile_u64(each, nq, 0.5);
                free(each);
                res->recall_single = recall(ids, sources, nq);
            }
            knowhere_minhash_lsh_free(index);
        }
    }

    /* Overhead of a never-set interrupt versus NULL, all cores, interleaved
     * (ABBA order); the searches on one index. */
    if (opt->sections & S_OVERHEAD) {
        fprintf(stderr, "n = %zu: interrupt overhead\n", n);
        size_t pairs = opt->overhead_pairs;
        if (n >= 500000 && pairs > 10) pairs = 10;
        res->overhead_pairs = pairs;
        CInterrupt never = knowhere_interrupt_create();
        knowhere_minhash_lsh *index = new_index(opt->threads);
        timed_build(index, data, n, true, NULL); /* warm-up */
        overhead_run(&res->overhead_build, pairs, true, index, data, n, queries, nq, ids, dist,
                     never);
        overhead_run(&res->overhead_batch, 4 * pairs, false, index, data, n, queries, nq, ids,
                     dist, never);
        knowhere_minhash_lsh_free(index);
        knowhere_interrupt_free(never);
    }

    /* Interrupt latency at the largest n, all cores. */
    if (largest && opt->latency_points > 0 && (opt->sections & S_LATENCY)) {
        res->has_latency = true;
        fprintf(stderr, "n = %zu: interrupt latency during build (%zu points)\n", n,
                opt->latency_points);
        knowhere_minhash_lsh *index = new_index(opt->threads);
        op_spec build = {.kind = OP_BUILD, .index = index, .data = data, .rows = n};
        size_t threads = knowhere_minhash_lsh_num_threads(index);
        measure_latency(&build, threads, opt->latency_points, r, &res->latency_build,
                        &res->control_build);

        /* A batch big enough to take a while: 20 queries per 100 rows,
         * at least 50k. */
        size_t big = n / 5 > 50000 ? n / 5 : 50000;
        res->latency_batch_nq = big;
        fprintf(stderr, "n = %zu: interrupt latency during a batch of %zu queries\n", n, big);
        uint32_t *bq = xmalloc(big * SIG);
        int64_t *bsrc = xmalloc(big * sizeof *bsrc);
        make_queries(r, data, n, bq, bsrc, big);
        int64_t *bids = xmalloc(big * K * sizeof *bids);
        float *bdist = xmalloc(big * K * sizeof *bdist);
        timed_build(index, data, n, true, NULL);
        op_spec batch = {.kind = OP_BATCH, .index = index, .data = bq, .rows = big,
                         .ids = bids, .dist = bdist};
        measure_latency(&batch, threads, opt->latency_points, r, &res->latency_batch,
                        &res->control_batch);
        knowhere_minhash_lsh_free(index);
        free(bq), free(bsrc), free(bids), free(bdist);
    }

    free(data), free(extra), free(queries), free(sources), free(ids), free(dist);
    settle();
    res->other_load = load_end(load);
}

/* ---- output --------------------------------------------------------------------- */

static void print_overhead(const char *label, const char *what, const overhead_stat *o) {
    printf("%-44s %+7.2f %% CPU (IQR %+.2f..%+.2f), %+.2f %% wall (IQR %+.2f..%+.2f); "
           "%s %.2f vs %.2f ms, %zu pairs\n",
           label, o->cpu_pct, o->cpu_iqr[0], o->cpu_iqr[1], o->wall_pct, o->wall_iqr[0],
           o->wall_iqr[1], what, o->interrupt_ms, o->null_ms, o->pairs);
}

static void print_latency(const char *label, const latency_result *l, const char *what) {
    printf("%-44s p50 %5.0f us, p90 %5.0f us, max %6.0f us (%zu interrupted, %zu finished "
           "first; %s %.0f ms)\n",
           label, l->p50_us, l->p90_us, l->max_us, l->interrupted, l->completed, what,
           l->uninterrupted_ms);
}

static void print_table(const n_result *res, size_t count, unsigned sections) {
    for (size_t i = 0; i < count; ++i) {
        const n_result *r = &res[i];
        const thread_result *a = &r->by_threads[0], *b = &r->by_threads[1];
        printf("\n== n = %zu signatures (128 x 4 bytes, 16 bands of 8), %zu queries at "
               "agreement %.1f, k = %d ==\n", r->n, r->nq, AGREEMENT, K);
        printf("(other processes kept %.2f CPUs busy on average meanwhile)\n", r->other_load);
        char all[32];
        snprintf(all, sizeof all, "%zu threads", b->resolved);
        if (sections & (S_BUILD | S_ADD | S_SEARCH))
            printf("%-44s %12s %12s\n", "", "1 thread", all);
        if (sections & S_BUILD) {
            printf("%-44s %9.0f ns %9.0f ns\n", "build / signature, raw data", a->build_raw_ns,
                   b->build_raw_ns);
            printf("%-44s %9.0f ns %9.0f ns\n", "build / signature, no raw data",
                   a->build_noraw_ns, b->build_noraw_ns);
        }
        if (sections & S_ADD) {
            printf("%-44s %9.0f ns %9.0f ns\n", "add 10 % / added signature, raw data",
                   a->add_raw_ns, b->add_raw_ns);
            printf("%-44s %9.0f ns %9.0f ns\n", "add 10 % / added signature, no raw data",
                   a->add_noraw_ns, b->add_noraw_ns);
        }
        if (sections & S_SEARCH) {
            printf("%-44s %9.0f ns %9.0f ns\n", "batch search / query, raw data",
                   a->batch_raw_ns, b->batch_raw_ns);
            printf("%-44s %9.0f ns %9.0f ns\n", "batch search / query, no raw data",
                   a->batch_noraw_ns, b->batch_noraw_ns);
            printf("%-44s %9.0f ns (mean %.0f ns, p99 %.0f ns)\n",
                   "single search, raw data (median)", r->single_median_ns, r->single_mean_ns,
                   r->single_p99_ns);
        }
        if (sections & S_MEMORY) {
            printf("%-44s %9.1f B  (RSS delta %.1f B)\n", "index memory / signature, raw data",
                   r->mem_raw_per_sig, r->rss_raw_per_sig);
            printf("%-44s %9.1f B  (RSS delta %.1f B)\n",
                   "index memory / signature, no raw data", r->mem_noraw_per_sig,
                   r->rss_noraw_per_sig);
            if (r->rss_raw_per_sig < 0 || r->rss_noraw_per_sig < 0)
                printf("(RSS delta -1: memory freed earlier was returned during the build)\n");
        }
        if (sections & S_SEARCH)
            printf("%-44s %9.4f single, %.4f batch raw, %.4f batch no raw (theory %.3f)\n",
                   "recall (source row in top 10)", r->recall_single, a->recall_batch_raw,
                   a->recall_batch_noraw, THEORY_RECALL);
        if (sections & S_OVERHEAD) {
            print_overhead("never-set interrupt vs NULL, build", "build", &r->overhead_build);
            print_overhead("never-set interrupt vs NULL, batch search", "batch",
                           &r->overhead_batch);
        }
        if (r->has_latency) {
            char what[64];
            print_latency("interrupt latency, build", &r->latency_build, "a build takes");
            print_latency("  control loop, same threads and length", &r->control_build,
                          "runs");
            snprintf(what, sizeof what, "%zu queries take", r->latency_batch_nq);
            print_latency("interrupt latency, batch search", &r->latency_batch, what);
            print_latency("  control loop, same threads and length", &r->control_batch,
                          "runs");
            printf("(other processes kept %.2f and %.2f CPUs busy during these)\n",
                   r->latency_build.other_load, r->latency_batch.other_load);
        }
    }
}

static void json_overhead(FILE *f, const char *name, const overhead_stat *o) {
    fprintf(f,
            "\"%s\": {\"pairs\": %zu, \"cpu_pct\": %.3f, \"cpu_pct_iqr\": [%.3f, %.3f], "
            "\"wall_pct\": %.3f, \"wall_pct_iqr\": [%.3f, %.3f], \"null_ms\": %.3f, "
            "\"interrupt_ms\": %.3f}",
            name, o->pairs, o->cpu_pct, o->cpu_iqr[0], o->cpu_iqr[1], o->wall_pct,
            o->wall_iqr[0], o->wall_iqr[1], o->null_ms, o->interrupt_ms);
}

static void json_latency(FILE *f, const char *name, const latency_result *l, size_t nq) {
    fprintf(f,
            "        \"%s\": {\"points\": %zu, \"interrupted\": %zu, \"finished_first\": %zu, "
            "\"uninterrupted_ms\": %.3f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"max_us\": %.1f, "
            "\"other_load_cpus\": %.3f",
            name, l->points, l->interrupted, l->completed, l->uninterrupted_ms, l->p50_us,
            l->p90_us, l->max_us, l->other_load);
    if (nq) fprintf(f, ", \"queries\": %zu", nq);
    fprintf(f, "}");
}

static int write_json(const char *path, const options *opt, const n_result *res,
                      size_t count) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "{\n  \"library_version\": \"%s\",\n", knowhere_version());
    fprintf(f, "  \"online_processors\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(f, "  \"sections\": [");
    for (unsigned i = 0, first = 1; i < 6; ++i)
        if (opt->sections & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ", ", SECTION_NAMES[i]);
            first = 0;
        }
    fprintf(f, "],\n");
    fprintf(f, "  \"config\": {\"mh_vec_length\": %d, \"element_size\": %d, \"bands\": %d, "
               "\"k\": %d, \"agreement\": %.2f, \"theory_recall\": %.4f, \"queries\": %zu, "
               "\"quick\": %s, \"seed\": %llu},\n",
            LENGTH, ELEMENT, BANDS, K, AGREEMENT, THEORY_RECALL, opt->nq,
            opt->quick ? "true" : "false", (unsigned long long)opt->seed);
    fprintf(f, "  \"results\": [\n");
    for (size_t i = 0; i < count; ++i) {
        const n_result *r = &res[i];
        fprintf(f, "    {\n      \"n\": %zu, \"queries\": %zu, \"build_reps\": %zu, "
                   "\"other_load_cpus\": %.3f,\n",
                r->n, r->nq, r->build_reps, r->other_load);
        fprintf(f, "      \"single_search_ns\": {\"median\": %.1f, \"mean\": %.1f, "
                   "\"p99\": %.1f},\n",
                r->single_median_ns, r->single_mean_ns, r->single_p99_ns);
        fprintf(f, "      \"recall_single\": %.5f,\n", r->recall_single);
        fprintf(f, "      \"memory_bytes_per_signature\": {\"raw\": %.2f, \"no_raw\": %.2f, "
                   "\"rss_delta_raw\": %.2f, \"rss_delta_no_raw\": %.2f},\n",
                r->mem_raw_per_sig, r->mem_noraw_per_sig, r->rss_raw_per_sig,
                r->rss_noraw_per_sig);
        fprintf(f, "      \"by_threads\": [\n");
        for (int t = 0; t < 2; ++t) {
            const thread_result *tr = &r->by_threads[t];
            fprintf(f,
                    "        {\"threads_setting\": %zu, \"threads\": %zu, "
                    "\"build_ns_per_signature\": {\"raw\": %.2f, \"no_raw\": %.2f}, "
                    "\"add_ns_per_signature\": {\"raw\": %.2f, \"no_raw\": %.2f}, "
                    "\"batch_search_ns_per_query\": {\"raw\": %.2f, \"no_raw\": %.2f}, "
                    "\"recall_batch\": {\"raw\": %.5f, \"no_raw\": %.5f}}%s\n",
                    tr->threads, tr->resolved, tr->build_raw_ns, tr->build_noraw_ns,
                    tr->add_raw_ns, tr->add_noraw_ns, tr->batch_raw_ns, tr->batch_noraw_ns,
                    tr->recall_batch_raw, tr->recall_batch_noraw, t == 0 ? "," : "");
        }
        fprintf(f, "      ],\n      \"interrupt_overhead\": {");
        json_overhead(f, "build", &r->overhead_build);
        fprintf(f, ", ");
        json_overhead(f, "batch_search", &r->overhead_batch);
        fprintf(f, "}");
        if (r->has_latency) {
            fprintf(f, ",\n      \"interrupt_latency\": {\n");
            json_latency(f, "build", &r->latency_build, 0);
            fprintf(f, ",\n");
            json_latency(f, "control_build", &r->control_build, 0);
            fprintf(f, ",\n");
            json_latency(f, "batch_search", &r->latency_batch, r->latency_batch_nq);
            fprintf(f, ",\n");
            json_latency(f, "control_batch_search", &r->control_batch, 0);
            fprintf(f, "\n      }");
        }
        fprintf(f, "\n    }%s\n", i + 1 < count ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f) {
    fprintf(f,
            "usage: minhash_lsh_bench [--quick] [--n N] [--threads T] [--only LIST]\n"
            "                         [--queries Q]\n"
            "                         [--latency-points P] [--overhead-pairs P]\n"
            "                         [--seed S] [--json FILE]\n"
            "  --quick           n = 100k only, 20 interrupt-latency points\n"
            "  --n N             size N instead of 100k and 1M (repeatable, up to 4; 10k, 1M)\n"
            "  --threads T       the 'all cores' setting (default 0: one per processor)\n"
            "  --only LIST       run only these sections: memory,build,add,search,\n"
            "                    overhead,latency (default: all)\n"
            "  --queries Q       queries per search measurement (default 10000)\n"
            "  --latency-points  interrupt points per operation (default 100, quick 20)\n"
            "  --overhead-pairs  interleaved NULL/interrupt build pairs (default 30; at most 10\n"
            "                    at n >= 500k; 4x as many batch-search pairs)\n"
            "  --json FILE       also write the numbers as JSON\n");
}

static size_t parse_size(const char *s, const char *name) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) {
        fprintf(stderr, "bad value for %s: %s\n", name, s);
        exit(2);
    }
    if (*end == 'k' || *end == 'K') v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M') v *= 1e6, end++;
    if (*end != '\0') {
        fprintf(stderr, "bad value for %s: %s\n", name, s);
        exit(2);
    }
    return (size_t)v;
}

static unsigned parse_sections(const char *list) {
    unsigned sections = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        unsigned found = 0;
        for (unsigned i = 0; i < 6; ++i)
            if (strlen(SECTION_NAMES[i]) == len && strncmp(p, SECTION_NAMES[i], len) == 0)
                found = 1u << i;
        if (found == 0) {
            fprintf(stderr, "unknown section in --only %s (memory, build, add, search, "
                            "overhead, latency)\n", list);
            exit(2);
        }
        sections |= found;
        p += len;
        if (*p == ',') p++;
    }
    return sections;
}

int main(int argc, char **argv) {
    options opt = {.sections = S_ALL, .nq = 10000, .threads = 0, .overhead_pairs = 30,
                   .seed = 42};
    size_t latency_points = SIZE_MAX;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            opt.quick = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (v == NULL) {
            usage(stderr);
            return 2;
        } else if (strcmp(a, "--n") == 0) {
            if (opt.n_count == 4) {
                fprintf(stderr, "at most 4 --n\n");
                return 2;
            }
            opt.ns[opt.n_count++] = parse_size(v, a);
            if (opt.ns[opt.n_count - 1] == 0) {
                fprintf(stderr, "--n must be positive\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--only") == 0) {
            opt.sections = parse_sections(v);
            i++;
        } else if (strcmp(a, "--threads") == 0) {
            opt.threads = parse_size(v, a), i++;
        } else if (strcmp(a, "--queries") == 0) {
            opt.nq = parse_size(v, a), i++;
        } else if (strcmp(a, "--latency-points") == 0) {
            latency_points = parse_size(v, a), i++;
        } else if (strcmp(a, "--overhead-pairs") == 0) {
            opt.overhead_pairs = parse_size(v, a), i++;
        } else if (strcmp(a, "--seed") == 0) {
            opt.seed = parse_size(v, a), i++;
        } else if (strcmp(a, "--json") == 0) {
            opt.json = v, i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (opt.nq == 0) opt.nq = 1;
    if (opt.overhead_pairs == 0) opt.overhead_pairs = 1;
    if (opt.overhead_pairs > 64) opt.overhead_pairs = 64;
    opt.latency_points = latency_points != SIZE_MAX ? latency_points : opt.quick ? 20 : 100;
    if (opt.n_count == 0) {
        opt.ns[opt.n_count++] = 100000;
        if (!opt.quick) opt.ns[opt.n_count++] = 1000000;
    }
    if (knowhere_abi_version() != KNOWHERE_RS_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header ABI %d\n", knowhere_abi_version(),
                KNOWHERE_RS_ABI_VERSION);
        return 1;
    }

    rng r = {opt.seed};
    n_result res[4];
    size_t largest = 0;
    for (size_t i = 0; i < opt.n_count; ++i)
        if (opt.ns[i] > opt.ns[largest]) largest = i;
    for (size_t i = 0; i < opt.n_count; ++i) run_n(&opt, opt.ns[i], i == largest, &r, &res[i]);

    printf("knowhere-rs %s, %ld online processors\n", knowhere_version(),
           sysconf(_SC_NPROCESSORS_ONLN));
    print_table(res, opt.n_count, opt.sections);
    if (opt.json && write_json(opt.json, &opt, res, opt.n_count) != 0) return 1;
    return 0;
}
