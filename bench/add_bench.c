/* Single-signature adds (`npm run bench`, bench/near-duplicate.bench.ts):
 * builds an index of n signatures (K = 128 x 4 bytes, 16 bands), then adds
 * n/2 more one at a time, which crosses a merge of the deltas, and reports
 * the amortized time per add (wall and thread CPU: the machine is shared),
 * the slowest single add (the merge), and the median single search on the
 * grown index against one built at once from the same rows.
 *
 *   add_bench [n (default 1000000)] [raw: 1 (default) or 0] [threads (0: all cores)]
 *
 * Prints one JSON object. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

enum { K = 128, SIG = K * 4, BANDS = 16, QUERIES = 20000 };

static uint64_t clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t state = 0x9E3779B97F4A7C15u;
static uint32_t next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median ns of a single search over QUERIES rows spread over the index. */
static double median_search_ns(const knowhere_minhash_lsh *index, const uint8_t *data, size_t rows) {
    static uint64_t t[QUERIES];
    int64_t ids[10];
    float similarity[10];
    for (size_t q = 0; q < QUERIES; ++q) {
        const uint8_t *query = data + (q * 7919 % rows) * SIG;
        uint64_t start = clock_ns(CLOCK_MONOTONIC);
        knowhere_minhash_lsh_search(index, query, SIG, 10, NULL, 0, ids, similarity, NULL);
        t[q] = clock_ns(CLOCK_MONOTONIC) - start;
    }
    qsort(t, QUERIES, sizeof *t, compare_u64);
    return (double)t[QUERIES / 2];
}

static knowhere_minhash_lsh *built(const uint8_t *data, size_t rows, int raw, size_t threads) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    knowhere_minhash_lsh_set_num_threads(index, threads);
    if (index == NULL || knowhere_minhash_lsh_build(index, data, rows * SIG, K, 4, BANDS, raw, NULL) != 0) {
        fprintf(stderr, "add_bench: build failed\n");
        exit(1);
    }
    return index;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int raw = argc > 2 ? atoi(argv[2]) : 1;
    size_t threads = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    size_t extra = n / 2, total = n + extra;
    uint32_t *values = malloc(total * SIG);
    if (values == NULL) return 1;
    for (size_t i = 0; i < total * K; ++i) values[i] = next_random();
    const uint8_t *data = (const uint8_t *)values;

    knowhere_minhash_lsh *grown = built(data, n, raw, threads);
    uint64_t wall = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID), worst = 0;
    for (size_t i = 0; i < extra; ++i) {
        uint64_t start = clock_ns(CLOCK_MONOTONIC);
        if (knowhere_minhash_lsh_add(grown, data + (n + i) * SIG, SIG, NULL) != 0) {
            fprintf(stderr, "add_bench: add failed\n");
            return 1;
        }
        uint64_t took = clock_ns(CLOCK_MONOTONIC) - start;
        if (took > worst) worst = took;
    }
    double add_wall = (double)(clock_ns(CLOCK_MONOTONIC) - wall) / (double)extra;
    double add_cpu = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu) / (double)extra;
    knowhere_minhash_lsh *at_once = built(data, total, raw, threads);
    double grown_search = median_search_ns(grown, data, total);
    double built_search = median_search_ns(at_once, data, total);
    printf("{\"n\": %zu, \"added\": %zu, \"raw\": %d, \"threads\": %zu, \"add_wall_ns\": %.1f, "
           "\"add_cpu_ns\": %.1f, \"slowest_add_ms\": %.2f, \"search_grown_ns\": %.1f, "
           "\"search_built_ns\": %.1f, \"memory_grown\": %zu, \"memory_built\": %zu}\n",
           n, extra, raw, knowhere_minhash_lsh_num_threads(grown), add_wall, add_cpu,
           (double)worst / 1e6, grown_search, built_search, knowhere_minhash_lsh_memory_usage(grown),
           knowhere_minhash_lsh_memory_usage(at_once));
    knowhere_minhash_lsh_free(grown);
    knowhere_minhash_lsh_free(at_once);
    free(values);
    return 0;
}
