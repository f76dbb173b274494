/* A brute-force model of the index's documented semantics, for the range
 * search and self-join tests (the same model as test_minhash_lsh.c's
 * `reference`): a row is a candidate of a query when some band is equal
 * byte for byte; its score is the number of equal values with raw data,
 * else the number of equal bands; its similarity is what search reports,
 * score * (1 / denominator) in float. */
#ifndef KNOWHERE_TEST_LSH_REFERENCE_H
#define KNOWHERE_TEST_LSH_REFERENCE_H

#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "test_data.h"

typedef struct {
    const uint8_t *data;
    size_t n, length, es, bands, r;
    bool raw;
} reference;

static inline reference make_reference(const uint8_t *data, size_t n, size_t length, size_t es,
                                       size_t bands, bool raw) {
    if (bands > length) bands = length;
    reference ref = {data, n, length, es, bands, length / bands, raw};
    return ref;
}

static inline size_t ref_sig(const reference *ref) { return ref->length * ref->es; }

static inline size_t ref_equal_values(const reference *ref, const uint8_t *a, const uint8_t *b) {
    size_t eq = 0;
    for (size_t i = 0; i < ref->length; ++i)
        eq += memcmp(a + i * ref->es, b + i * ref->es, ref->es) == 0;
    return eq;
}

static inline size_t ref_equal_bands(const reference *ref, const uint8_t *a, const uint8_t *b) {
    size_t bw = ref->r * ref->es, eq = 0;
    for (size_t j = 0; j < ref->bands; ++j) eq += memcmp(a + j * bw, b + j * bw, bw) == 0;
    return eq;
}

static inline bool ref_filtered_out(const uint8_t *bitset, size_t bits, size_t id) {
    return bitset && (id >= bits || ((bitset[id >> 3] >> (id & 7)) & 1));
}

/* The score of `row` as a candidate of `query`, or -1 if it is none. */
static inline long ref_score(const reference *ref, const uint8_t *query, const uint8_t *row) {
    size_t bands = ref_equal_bands(ref, query, row);
    if (bands == 0) return -1;
    return (long)(ref->raw ? ref_equal_values(ref, query, row) : bands);
}

static inline float ref_similarity(const reference *ref, long score) {
    size_t denominator = ref->raw ? ref->length : ref->bands;
    return (float)score / (float)denominator; /* the fraction, rounded once */
}

/* n signatures in clusters of ten: a random base and mutations of it at
 * several agreement rates (one an exact copy), so rows have ranked
 * candidates and ties. */
static inline uint8_t *clustered_signatures(test_rng *rng, size_t n, size_t length, size_t es) {
    size_t sig = length * es;
    uint8_t *data = random_signatures(rng, n, sig);
    REQUIRE(data != NULL);
    for (size_t i = 0; i < n; ++i) {
        if (i % 10 == 0) continue; /* a base */
        const double agreement[] = {0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 1.0, 0.85};
        mutate_signature(rng, data + (i - i % 10) * sig, data + i * sig, length, es,
                         agreement[i % 10 - 1]);
    }
    return data;
}

/* n signatures that are all mutations of the first, each agreeing with it
 * at a rate drawn uniformly from [min_agreement, 1]: one big cluster, so
 * queries have hundreds of candidates and many ties. */
static inline uint8_t *one_big_cluster(test_rng *rng, size_t n, size_t length, size_t es,
                                       double min_agreement) {
    uint8_t *data = random_signatures(rng, n, length * es);
    REQUIRE(data != NULL);
    for (size_t i = 1; i < n; ++i)
        mutate_signature(rng, data, data + i * length * es, length, es,
                         min_agreement + (1 - min_agreement) * rng_unit(rng));
    return data;
}

static inline knowhere_minhash_lsh *build_index(const uint8_t *data, size_t n, size_t length,
                                                size_t es, size_t bands, bool raw) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_build(index, data, n * length * es, length, es, bands,
                                            raw, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "build: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK);
    knowhere_error_free(err);
    return index;
}

/* Each bad call returns `status`, sets an error of that code with
 * `fragment` in its message. */
static inline void expect_error(int got, knowhere_error *err, int status, const char *fragment,
                                int line) {
    if (got != status || err == NULL || knowhere_error_code(err) != status ||
        strstr(knowhere_error_message(err), fragment) == NULL) {
        fprintf(stderr, "line %d: got %d '%s', want %d with '%s'\n", line, got,
                knowhere_error_message(err), status, fragment);
        check_failures++;
    }
    knowhere_error_free(err);
}

#define EXPECT_ERROR(call, status, fragment)                                   \
    do {                                                                       \
        knowhere_error *err = NULL;                                            \
        int got = (call);                                                      \
        expect_error(got, err, status, fragment, __LINE__);                    \
    } while (0)

#endif
