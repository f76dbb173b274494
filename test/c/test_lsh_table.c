/* A band table's order (native/lsh_table.c): kh_lsh_table_build must leave
 * its entries sorted by (bucket, fingerprint, id) with the directory of
 * each bucket's first entry, whatever the bucket sizes (the small-bucket
 * and the big-bucket sorts) and however many rows share a fingerprint,
 * and the same when the entries' memory is given. Checked against qsort
 * of the same rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lsh_table.h"
#include "test_data.h"

typedef struct {
    uint32_t bucket;
    kh_lsh_entry entry;
} placed;

static int placed_compare(const void *a, const void *b) {
    const placed *x = a, *y = b;
    if (x->bucket != y->bucket) return x->bucket < y->bucket ? -1 : 1;
    if (x->entry.fingerprint != y->entry.fingerprint)
        return x->entry.fingerprint < y->entry.fingerprint ? -1 : 1;
    return x->entry.id < y->entry.id ? -1 : x->entry.id > y->entry.id;
}

/* The job the library's parallel runner would pass: never stopped. */
bool kh_job_should_stop(kh_job *job) {
    (void)job;
    return false;
}
void kh_job_advance(kh_job *job, uint64_t units) { (void)job, (void)units; }

typedef struct {
    const uint64_t *keys;
    size_t m;
    uint32_t first_id;
    kh_lsh_layout layout;
    kh_lsh_entry *entries; /* given memory, or NULL */
    kh_lsh_table table;
} build_case;

/* Builds the table of keys[0..m-1] and compares it with the reference. */
static void check_table(const uint64_t *keys, size_t m, bool give_entries) {
    build_case c = {keys, m, 7, kh_lsh_build_layout(m), NULL, {0}};
    if (give_entries) REQUIRE((c.entries = malloc(m * sizeof *c.entries)) != NULL);
    kh_lsh_scratch scratch = {0};
    CHECK_EQ(kh_lsh_table_build(&c.table, keys, m, c.first_id, c.layout, c.entries, &scratch,
                                NULL),
             KNOWHERE_OK);
    kh_lsh_scratch_free(&scratch);
    placed *want = malloc(m * sizeof *want);
    REQUIRE(want != NULL);
    for (size_t i = 0; i < m; ++i)
        want[i] = (placed){kh_lsh_bucket(keys[i], c.layout),
                           {(uint32_t)keys[i], c.first_id + (uint32_t)i}};
    qsort(want, m, sizeof *want, placed_compare);
    size_t buckets = (size_t)1 << c.layout.prefix_bits, wrong = 0;
    CHECK_EQ(kh_lsh_table_rows(&c.table), m);
    CHECK_EQ(c.table.dir[0], 0);
    for (size_t b = 0; b < buckets; ++b)
        for (size_t i = c.table.dir[b]; i < c.table.dir[b + 1] && i < m; ++i)
            wrong += want[i].bucket != b ||
                     want[i].entry.fingerprint != c.table.entries[i].fingerprint ||
                     want[i].entry.id != c.table.entries[i].id;
    CHECK_EQ(wrong, 0);
    free(want);
    kh_lsh_table_free(&c.table);
}

/* m keys drawn from `distinct` random keys, so that about m / distinct
 * rows share each key (fingerprint and bucket). */
static uint64_t *repeated_keys(test_rng *rng, size_t m, size_t distinct) {
    uint64_t *pool = malloc(distinct * sizeof *pool), *keys = malloc(m * sizeof *keys);
    REQUIRE(pool && keys);
    for (size_t i = 0; i < distinct; ++i) pool[i] = rng_next(rng);
    for (size_t i = 0; i < m; ++i) keys[i] = pool[rng_next(rng) % distinct];
    free(pool);
    return keys;
}

static void test_random_and_repeated_keys(void) {
    test_rng rng = {5};
    const size_t sizes[][2] = {
        /* rows, distinct keys */
        {1, 1},       {15, 15},    {100, 100},   {5000, 5000}, {40000, 40000},
        {5000, 2000}, {5000, 300}, {20000, 20},  {3000, 1},
    };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        uint64_t *keys = repeated_keys(&rng, sizes[s][0], sizes[s][1]);
        check_table(keys, sizes[s][0], false);
        check_table(keys, sizes[s][0], true);
        free(keys);
    }
}

/* Equal fingerprints with different buckets, and the reverse. */
static void test_fingerprint_and_bucket_apart(void) {
    test_rng rng = {9};
    enum { M = 6000 };
    uint64_t *keys = malloc(M * sizeof *keys);
    REQUIRE(keys != NULL);
    for (size_t i = 0; i < M; ++i) {
        uint64_t high = rng_next(&rng) % 50, low = rng_next(&rng) % 40;
        keys[i] = (high << 58) ^ (high << 40) ^ (low * 0x9e3779b9u % 0xfffffffbu);
    }
    check_table(keys, M, false);
    free(keys);
}

int main(void) {
    RUN(test_random_and_repeated_keys);
    RUN(test_fingerprint_and_bucket_apart);
    return CHECK_DONE();
}
