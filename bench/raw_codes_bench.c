/* Raw data as b-bit codes (knowhere_minhash_lsh_set_raw_bits): memory per
 * signature and search time against full values.
 *
 * Workload: n signatures of 128 values of 4 bytes (the library's
 * signature shape) in families of FAMILY near copies of a random base
 * (each value kept with probability 0.8, else random), so that a query
 * (a near copy of a family's base) has about FAMILY candidates to verify
 * and rank.
 *
 *   raw_codes_bench [n ...]      (default: 100000 1000000)
 *
 * Memory: knowhere_minhash_lsh_memory_usage / n for no raw data, full
 * values, 16-bit and 8-bit codes, at several band counts (17: the choice
 * for threshold 0.8 at 128 values; 16: minhash_lsh_bench's). Time: the
 * median of 7 batch searches (k = 10) of 2000 queries on one thread, each
 * form against full values measured in the same run (ratio). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

enum { LEN = 128, ES = 4, NQ = 2000, K = 10, RUNS = 7, FAMILY = 50 };

/* dst = src with each value kept with probability 0.8, else random. */
static uint64_t next_random(void);
static void near_copy(const uint8_t *src, uint8_t *dst) {
    memcpy(dst, src, LEN * ES);
    for (size_t v = 0; v < LEN; ++v)
        if (next_random() % 5 == 0) {
            uint32_t x = (uint32_t)next_random();
            memcpy(dst + v * ES, &x, ES);
        }
}

static uint64_t rng_state = 42;
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static knowhere_minhash_lsh *build(const uint8_t *data, size_t n, size_t bands, bool raw,
                                   uint32_t bits) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    knowhere_error *err = NULL;
    if (index == NULL || knowhere_minhash_lsh_set_raw_bits(index, bits, &err) != KNOWHERE_OK ||
        knowhere_minhash_lsh_build(index, data, n * LEN * ES, LEN, ES, bands, raw, &err) !=
            KNOWHERE_OK) {
        fprintf(stderr, "build failed: %s\n", knowhere_error_message(err));
        exit(1);
    }
    return index;
}

static double search_ms(const knowhere_minhash_lsh *index, const uint8_t *queries, int64_t *ids,
                        float *distances) {
    double t0 = now_ms();
    if (knowhere_minhash_lsh_batch_search(index, queries, (size_t)NQ * LEN * ES, NQ, K, NULL, 0,
                                          ids, distances, NULL) != KNOWHERE_OK) {
        fprintf(stderr, "search failed\n");
        exit(1);
    }
    return now_ms() - t0;
}

static void run(size_t n) {
    uint8_t *data = malloc(n * LEN * ES), *queries = malloc((size_t)NQ * LEN * ES);
    int64_t *ids = malloc(sizeof *ids * NQ * K);
    float *distances = malloc(sizeof *distances * NQ * K);
    if (!data || !queries || !ids || !distances) exit(1);
    size_t families = (n + FAMILY - 1) / FAMILY;
    uint8_t *bases = malloc(families * LEN * ES);
    if (!bases) exit(1);
    for (size_t i = 0; i < families * LEN * ES; i += 4) {
        uint32_t v = (uint32_t)next_random();
        memcpy(bases + i, &v, 4);
    }
    for (size_t i = 0; i < n; ++i) near_copy(bases + (i / FAMILY) * LEN * ES, data + i * LEN * ES);
    for (size_t q = 0; q < NQ; ++q)
        near_copy(bases + (next_random() % families) * LEN * ES, queries + q * LEN * ES);
    free(bases);
    double load[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(f);
    }
    printf("\n== n = %zu (128 x 4 bytes, families of %d), load average %.2f %.2f %.2f\n", n,
           FAMILY, load[0], load[1], load[2]);
    printf("memory_usage / n, bytes per signature:\n");
    printf("  bands  no raw   full    16-bit  8-bit\n");
    const size_t band_counts[] = {17, 16, 15, 14, 12, 8};
    for (size_t b = 0; b < sizeof band_counts / sizeof band_counts[0]; ++b) {
        double per[4];
        const bool raw[4] = {false, true, true, true};
        const uint32_t bits[4] = {0, 0, 16, 8};
        for (int form = 0; form < 4; ++form) {
            knowhere_minhash_lsh *index = build(data, n, band_counts[b], raw[form], bits[form]);
            per[form] = (double)knowhere_minhash_lsh_memory_usage(index) / (double)n;
            knowhere_minhash_lsh_free(index);
        }
        printf("  %5zu  %6.1f  %6.1f  %6.1f  %6.1f%s\n", band_counts[b], per[0], per[1], per[2],
               per[3], per[3] <= 256.0 ? "  (8-bit <= 256)" : "");
    }
    /* Search time, 16 bands, one thread: each form against full values. */
    knowhere_minhash_lsh *forms[3] = {build(data, n, 16, true, 0), build(data, n, 16, true, 16),
                                      build(data, n, 16, true, 8)};
    for (int i = 0; i < 3; ++i) knowhere_minhash_lsh_set_num_threads(forms[i], 1);
    double times[3][RUNS];
    for (int r = 0; r < RUNS; ++r) /* interleaved, so that load hits all alike */
        for (int i = 0; i < 3; ++i) times[i][r] = search_ms(forms[i], queries, ids, distances);
    for (int i = 0; i < 3; ++i) qsort(times[i], RUNS, sizeof times[i][0], by_value);
    const char *names[3] = {"full", "16-bit", "8-bit"};
    printf("batch search of %d queries (k %d, 16 bands, 1 thread), median of %d:\n", NQ, K, RUNS);
    for (int i = 0; i < 3; ++i)
        printf("  %-7s %8.2f ms  %.3f x full\n", names[i], times[i][RUNS / 2],
               times[i][RUNS / 2] / times[0][RUNS / 2]);
    for (int i = 0; i < 3; ++i) knowhere_minhash_lsh_free(forms[i]);
    free(data);
    free(queries);
    free(ids);
    free(distances);
}

int main(int argc, char **argv) {
    if (argc > 1)
        for (int i = 1; i < argc; ++i) run((size_t)strtoull(argv[i], NULL, 10));
    else {
        run(100000);
        run(1000000);
    }
    return 0;
}
