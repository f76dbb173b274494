/* The bulk build alone, against another build of the library in the same
 * process (issue 14's build target).
 *
 *   build_bench [--n N] [--rounds R] [--threads T] [--no-raw]
 *               [--baseline LIB] [--baseline-threads T]
 *
 * Random signatures of 128 values of 4 bytes, 16 bands (as minhash_lsh_bench).
 * Each round builds a fresh index with this build and, with --baseline, with
 * LIB (loaded with dlopen), in alternating order (ABBA); after one untimed
 * round. Reported per library: the median wall and process CPU time per
 * signature, and the median of the paired ratios (this / baseline), which
 * the shared machine's load disturbs less than either median. The CPU time
 * includes the page faults of the new index's memory. With the baseline set
 * to this very library and --baseline-threads 2, the ratio is the 2-thread
 * speedup. The load average is printed with the figures. */
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

enum { LENGTH = 128, ELEMENT = 4, BANDS = 16, SIG = LENGTH * ELEMENT, MAX_ROUNDS = 1000 };

typedef struct {
    const char *name;
    size_t threads;
    knowhere_minhash_lsh *(*create)(void);
    void (*destroy)(knowhere_minhash_lsh *);
    int (*set_threads)(knowhere_minhash_lsh *, size_t);
    int (*build)(knowhere_minhash_lsh *, const uint8_t *, size_t, size_t, size_t, size_t, bool,
                 knowhere_error **);
    double wall[MAX_ROUNDS], cpu[MAX_ROUNDS]; /* ns per signature */
} library;

/* dlsym's object pointer to a function pointer (POSIX guarantees it works). */
#define LOOKUP(handle, field, symbol) \
    memcpy(&(field), &(void *){dlsym(handle, symbol)}, sizeof(field))

static void load_library(library *l, const char *path) {
    /* DEEPBIND: the baseline's own calls between its exported functions
     * (build -> build_with_interrupt) must not go to this build's. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == NULL) {
        fprintf(stderr, "--baseline: %s\n", dlerror());
        exit(2);
    }
    l->name = path;
    LOOKUP(handle, l->create, "knowhere_minhash_lsh_create");
    LOOKUP(handle, l->destroy, "knowhere_minhash_lsh_free");
    LOOKUP(handle, l->set_threads, "knowhere_minhash_lsh_set_num_threads");
    LOOKUP(handle, l->build, "knowhere_minhash_lsh_build");
    if (!l->create || !l->destroy || !l->set_threads || !l->build) {
        fprintf(stderr, "--baseline: %s lacks a minhash_lsh function\n", path);
        exit(2);
    }
}

static double now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *values, size_t n) {
    double v[MAX_ROUNDS];
    memcpy(v, values, n * sizeof *v);
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_load(const char *when) {
    double load[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3)
        printf("load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
    if (f) fclose(f);
}

/* One timed build on a fresh index; the index is freed before the next
 * (and its memory given back off the timed path, as the library does). */
static void timed_build(library *l, const uint8_t *data, size_t n, bool raw, size_t round,
                        bool keep) {
    knowhere_minhash_lsh *index = l->create();
    if (index == NULL) exit(1);
    l->set_threads(index, l->threads);
    knowhere_error *err = NULL;
    double cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), wall0 = now_ns(CLOCK_MONOTONIC);
    int status = l->build(index, data, n * SIG, LENGTH, ELEMENT, BANDS, raw, &err);
    double wall1 = now_ns(CLOCK_MONOTONIC), cpu1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (status != KNOWHERE_OK) {
        fprintf(stderr, "%s: build failed (%d)\n", l->name, status);
        exit(1);
    }
    l->destroy(index);
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL); /* the deferred frees */
    if (keep) {
        l->wall[round] = (wall1 - wall0) / (double)n;
        l->cpu[round] = (cpu1 - cpu0) / (double)n;
    }
}

static uint8_t *random_signatures(size_t n) {
    uint32_t *data = malloc(n * SIG);
    if (data == NULL) exit(1);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n * LENGTH; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint32_t)x;
    }
    return (uint8_t *)data;
}

static size_t parse_size(const char *s) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end && (*end == 'k' || *end == 'K')) v *= 1e3;
    if (end && (*end == 'm' || *end == 'M')) v *= 1e6;
    return (size_t)v;
}

int main(int argc, char **argv) {
    size_t n = 100000, rounds = 11;
    bool raw = true;
    library libs[2] = {{.name = "this build", .threads = 1,
                        .create = knowhere_minhash_lsh_create,
                        .destroy = knowhere_minhash_lsh_free,
                        .set_threads = knowhere_minhash_lsh_set_num_threads,
                        .build = knowhere_minhash_lsh_build},
                       {.threads = 1}};
    size_t count = 1;
    for (int i = 1; i < argc; ++i) {
        bool more = i + 1 < argc;
        if (!strcmp(argv[i], "--n") && more) n = parse_size(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && more) rounds = parse_size(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && more) libs[0].threads = parse_size(argv[++i]);
        else if (!strcmp(argv[i], "--baseline-threads") && more)
            libs[1].threads = parse_size(argv[++i]);
        else if (!strcmp(argv[i], "--no-raw")) raw = false;
        else if (!strcmp(argv[i], "--baseline") && more) {
            load_library(&libs[1], argv[++i]);
            count = 2;
        } else {
            fprintf(stderr, "usage: build_bench [--n N] [--rounds R] [--threads T] [--no-raw] "
                            "[--baseline LIB] [--baseline-threads T]\n");
            return 2;
        }
    }
    if (n == 0 || rounds == 0 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "--n must be positive and --rounds in 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    uint8_t *data = random_signatures(n);
    printf("build of %zu signatures (128 x 4 bytes, 16 bands), %s raw data, %zu rounds\n", n,
           raw ? "with" : "without", rounds);
    print_load("before");
    for (size_t r = 0; r <= rounds; ++r) /* round 0: untimed */
        for (size_t k = 0; k < count; ++k) {
            size_t which = (r % 2 == 0) ? k : count - 1 - k; /* ABBA */
            timed_build(&libs[which], data, n, raw, r ? r - 1 : 0, r > 0);
        }
    for (size_t k = 0; k < count; ++k)
        printf("%-40s %zu thread(s): wall %6.0f ns, CPU %6.0f ns per signature (medians)\n",
               libs[k].name, libs[k].threads, median(libs[k].wall, rounds),
               median(libs[k].cpu, rounds));
    if (count == 2) {
        double wall[MAX_ROUNDS], cpu[MAX_ROUNDS];
        for (size_t r = 0; r < rounds; ++r) {
            wall[r] = libs[0].wall[r] / libs[1].wall[r];
            cpu[r] = libs[0].cpu[r] / libs[1].cpu[r];
        }
        printf("this / baseline, median of the paired ratios: wall %.3f, CPU %.3f\n",
               median(wall, rounds), median(cpu, rounds));
    }
    print_load("after");
    free(data);
    return 0;
}
