/* MinHash-LSH index semantics: self-recall, ranking against a brute-force
 * reference, filters, batch = single, add = build, accessors, raw vectors,
 * (bad input: test_bad_input.c). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"
#include "test_data.h"

/* ---- the brute-force reference (lsh_reference.h) as a top-k search ----- */

/* The expected row: every row sharing a band, scored, sorted by score
 * descending then id ascending, padded with -1 / 0. */
static void reference_search(const reference *ref, const uint8_t *query, size_t k,
                             const uint8_t *bitset, size_t bits, int64_t *ids,
                             float *distances) {
    size_t denominator = ref->raw ? ref->length : ref->bands;
    for (size_t slot = 0; slot < k; ++slot) {
        ids[slot] = -1;
        distances[slot] = 0.0f;
    }
    long *score = malloc(ref->n * sizeof *score);
    REQUIRE(score != NULL);
    for (size_t id = 0; id < ref->n; ++id)
        score[id] = ref_filtered_out(bitset, bits, id)
                        ? -1
                        : ref_score(ref, query, ref->data + id * ref_sig(ref));
    size_t filled = 0;
    for (long s = (long)denominator; s >= 0 && filled < k; --s)
        for (size_t id = 0; id < ref->n && filled < k; ++id)
            if (score[id] == s) {
                ids[filled] = (int64_t)id;
                distances[filled] = ref_similarity(ref, s);
                filled++;
            }
    free(score);
}

static bool rows_equal(const int64_t *a_ids, const float *a_d, const int64_t *b_ids,
                       const float *b_d, size_t k) {
    for (size_t i = 0; i < k; ++i)
        if (a_ids[i] != b_ids[i] || a_d[i] != b_d[i]) return false;
    return true;
}

/* Checks every query of `queries` against the reference. */
static void check_against_reference(knowhere_minhash_lsh *index, const reference *ref,
                                    const uint8_t *queries, size_t nq, size_t k,
                                    const uint8_t *bitset, size_t bits) {
    size_t sig = ref->length * ref->es;
    int64_t *ids = malloc(k * sizeof *ids), *want_ids = malloc(k * sizeof *want_ids);
    float *d = malloc(k * sizeof *d), *want_d = malloc(k * sizeof *want_d);
    REQUIRE(ids && want_ids && d && want_d);
    size_t mismatches = 0;
    for (size_t q = 0; q < nq; ++q) {
        CHECK_EQ(knowhere_minhash_lsh_search(index, queries + q * sig, sig, k, bitset, bits,
                                             ids, d, NULL),
                 KNOWHERE_OK);
        reference_search(ref, queries + q * sig, k, bitset, bits, want_ids, want_d);
        if (!rows_equal(ids, d, want_ids, want_d, k)) {
            if (mismatches++ < 3)
                fprintf(stderr, "query %zu: got id %lld (%.3f), want %lld (%.3f)\n", q,
                        (long long)ids[0], d[0], (long long)want_ids[0], want_d[0]);
        }
    }
    CHECK_EQ(mismatches, 0);
    free(ids);
    free(want_ids);
    free(d);
    free(want_d);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_self_recall_all_element_sizes(void) {
    const size_t sizes[] = {1, 2, 4, 8, 16};
    const size_t shapes[][2] = {{32, 8}, {30, 8}, {64, 16}, {20, 3}}; /* length, bands */
    test_rng rng = {1};
    for (size_t si = 0; si < 5; ++si)
        for (size_t shape = 0; shape < 4; ++shape)
            for (int raw = 0; raw <= 1; ++raw) {
                size_t es = sizes[si], length = shapes[shape][0], bands = shapes[shape][1];
                size_t n = 1500, sig = length * es;
                uint8_t *data = random_signatures(&rng, n, sig);
                REQUIRE(data != NULL);
                knowhere_minhash_lsh *index = build_index(data, n, length, es, bands, raw);
                size_t found = 0;
                int64_t ids[3];
                float d[3];
                for (size_t q = 0; q < n; ++q) {
                    CHECK_EQ(knowhere_minhash_lsh_search(index, data + q * sig, sig, 3, NULL,
                                                         0, ids, d, NULL),
                             KNOWHERE_OK);
                    found += ids[0] == (int64_t)q && d[0] == 1.0f;
                }
                if (found != n)
                    fprintf(stderr, "es %zu length %zu bands %zu raw %d: %zu / %zu\n", es,
                            length, bands, raw, found, n);
                CHECK_EQ(found, n);
                knowhere_minhash_lsh_free(index);
                free(data);
            }
}

static void test_ranking_matches_brute_force(void) {
    const size_t configs[][4] = {
        /* length, es, bands, n */
        {64, 4, 16, 3000}, {128, 4, 16, 2000}, {30, 1, 8, 2000},
        {50, 2, 7, 1500},  {16, 8, 4, 1000},   {12, 3, 5, 1000},
    };
    test_rng rng = {2};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; ++c)
        for (int raw = 0; raw <= 1; ++raw) {
            size_t length = configs[c][0], es = configs[c][1], bands = configs[c][2];
            size_t n = configs[c][3], sig = length * es;
            uint8_t *data = clustered_signatures(&rng, n, length, es);
            knowhere_minhash_lsh *index = build_index(data, n, length, es, bands, raw);
            reference ref = make_reference(data, n, length, es, bands, raw);
            /* Queries: stored rows, and fresh mutations of them. */
            size_t nq = 200;
            uint8_t *queries = malloc(nq * sig);
            REQUIRE(queries != NULL);
            for (size_t q = 0; q < nq; ++q) {
                size_t source = (q * 37) % n;
                if (q % 2) mutate_signature(&rng, data + source * sig, queries + q * sig, length, es, 0.7);
                else memcpy(queries + q * sig, data + source * sig, sig);
            }
            check_against_reference(index, &ref, queries, nq, 5, NULL, 0);
            check_against_reference(index, &ref, queries, 20, 25, NULL, 0); /* k > cluster */
            free(queries);
            knowhere_minhash_lsh_free(index);
            free(data);
        }
}

/* One big cluster, so that queries have hundreds of candidates (the
 * counting-sort placement) and many ties. */
static void test_ranking_with_many_candidates(void) {
    enum { LENGTH = 32, ES = 1, BANDS = 16, N = 1500 };
    test_rng rng = {11};
    uint8_t *data = one_big_cluster(&rng, N, LENGTH, ES, 0.3);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        check_against_reference(index, &ref, data, 40, 10, NULL, 0);
        check_against_reference(index, &ref, data, 10, N + 5, NULL, 0);
        uint8_t bitset[N / 8];
        rng_fill(&rng, bitset, sizeof bitset);
        check_against_reference(index, &ref, data, 20, 200, bitset, N - 40);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_similarity_is_exact_fraction(void) {
    /* One base and copies agreeing in exactly 0..length positions. */
    enum { LENGTH = 40, ES = 4, BANDS = 40 };
    test_rng rng = {3};
    uint8_t data[(LENGTH + 1) * LENGTH * ES];
    rng_fill(&rng, data, LENGTH * ES);
    for (size_t agree = 1; agree <= LENGTH; ++agree) {
        uint8_t *row = data + agree * LENGTH * ES;
        memcpy(row, data, LENGTH * ES);
        for (size_t i = agree; i < LENGTH; ++i) row[i * ES] ^= 0x5a;
    }
    knowhere_minhash_lsh *index = build_index(data, LENGTH + 1, LENGTH, ES, BANDS, true);
    int64_t ids[LENGTH + 2];
    float d[LENGTH + 2];
    CHECK_EQ(knowhere_minhash_lsh_search(index, data, LENGTH * ES, LENGTH + 2, NULL, 0, ids, d,
                                         NULL),
             KNOWHERE_OK);
    /* Row 0 and row LENGTH are identical (similarity 1): tie broken by id. */
    CHECK_EQ(ids[0], 0);
    CHECK_EQ(ids[1], LENGTH);
    CHECK(d[0] == 1.0f && d[1] == 1.0f);
    for (size_t rank = 2; rank <= LENGTH; ++rank) {
        size_t agree = LENGTH + 1 - rank;
        CHECK_EQ(ids[rank], (int64_t)agree);
        CHECK(fabsf(d[rank] - (float)agree / LENGTH) < 1e-6f);
    }
    /* Row 1 agrees with row 0 only in its first band: still a candidate. */
    CHECK_EQ(ids[LENGTH], 1);
    CHECK_EQ(ids[LENGTH + 1], -1); /* each row counted once */
    knowhere_minhash_lsh_free(index);
}

static void test_filter_excludes_set_bits_and_ids_beyond(void) {
    enum { LENGTH = 32, ES = 4, BANDS = 8, N = 1200 };
    test_rng rng = {4};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        uint8_t bitset[N / 8];
        rng_fill(&rng, bitset, sizeof bitset);
        check_against_reference(index, &ref, data, 300, 10, bitset, N);
        check_against_reference(index, &ref, data, 300, 10, bitset, N - 123); /* short */
        uint8_t none[N / 8] = {0};
        check_against_reference(index, &ref, data, 100, 10, none, N);
        check_against_reference(index, &ref, data, 50, 10, none, 0); /* all excluded */

        /* Excluding a row removes exactly that row from its own results. */
        int64_t ids[10];
        float d[10];
        none[5 >> 3] |= 1 << (5 & 7);
        CHECK_EQ(knowhere_minhash_lsh_search(index, data + 5 * LENGTH * ES, LENGTH * ES, 10,
                                             none, N, ids, d, NULL),
                 KNOWHERE_OK);
        for (int i = 0; i < 10; ++i) CHECK(ids[i] != 5);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_batch_equals_single(void) {
    enum { LENGTH = 64, ES = 4, BANDS = 16, N = 4000, NQ = 333, K = 7 };
    test_rng rng = {5};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    const size_t threads[] = {1, 2, 3, 8};
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        uint8_t bitset[N / 8];
        memset(bitset, 0, sizeof bitset);
        for (size_t i = 0; i < N; i += 3) bitset[i >> 3] |= (uint8_t)(1 << (i & 7));
        static int64_t ids[NQ * K], single_ids[K];
        static float d[NQ * K], single_d[K];
        for (size_t t = 0; t < 4; ++t) {
            CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index, threads[t]), KNOWHERE_OK);
            CHECK_EQ(knowhere_minhash_lsh_num_threads(index), threads[t]);
            for (int filtered = 0; filtered <= 1; ++filtered) {
                const uint8_t *filter = filtered ? bitset : NULL;
                CHECK_EQ(knowhere_minhash_lsh_batch_search(index, data, NQ * LENGTH * ES, NQ, K,
                                                           filter, N, ids, d, NULL),
                         KNOWHERE_OK);
                size_t differ = 0;
                for (size_t q = 0; q < NQ; ++q) {
                    knowhere_minhash_lsh_search(index, data + q * LENGTH * ES, LENGTH * ES, K,
                                                filter, N, single_ids, single_d, NULL);
                    differ += !rows_equal(ids + q * K, d + q * K, single_ids, single_d, K);
                }
                CHECK_EQ(differ, 0);
            }
        }
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_add_continues_ids_and_equals_build(void) {
    enum { LENGTH = 48, ES = 2, BANDS = 12, N = 3000 };
    const size_t sig = LENGTH * ES;
    test_rng rng = {6};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *whole = build_index(data, N, LENGTH, ES, BANDS, raw);
        knowhere_minhash_lsh *parts = build_index(data, 1000, LENGTH, ES, BANDS, raw);
        CHECK_EQ(knowhere_minhash_lsh_add(parts, data + 1000 * sig, 1500 * sig, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_count(parts), 2500);
        CHECK_EQ(knowhere_minhash_lsh_add(parts, data + 2500 * sig, 500 * sig, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_count(parts), N);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        check_against_reference(parts, &ref, data, N, 6, NULL, 0);
        check_against_reference(whole, &ref, data, 300, 6, NULL, 0);
        if (raw) { /* raw rows of every segment come back */
            int64_t ids[3] = {2999, 0, 1700};
            uint8_t out[3 * LENGTH * ES];
            CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(parts, ids, 3, out, sizeof out, NULL),
                     KNOWHERE_OK);
            for (int i = 0; i < 3; ++i)
                CHECK(memcmp(out + i * sig, data + (size_t)ids[i] * sig, sig) == 0);
        }
        knowhere_minhash_lsh_free(whole);
        knowhere_minhash_lsh_free(parts);
    }
    free(data);
}

static void test_empty_and_never_built_index(void) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    int64_t ids[4] = {7, 7, 7, 7};
    float d[4] = {9, 9, 9, 9};
    uint8_t query[16] = {0};
    CHECK_EQ(knowhere_minhash_lsh_search(index, query, 16, 4, NULL, 0, ids, d, NULL), KNOWHERE_OK);
    for (int i = 0; i < 4; ++i) CHECK(ids[i] == -1 && d[i] == 0.0f);
    ids[0] = 7;
    CHECK_EQ(knowhere_minhash_lsh_batch_search(index, query, 16, 2, 2, NULL, 0, ids, d, NULL),
             KNOWHERE_OK);
    CHECK_EQ(ids[0], -1);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 0);
    CHECK_EQ(knowhere_minhash_lsh_bands(index), 0);
    CHECK(!knowhere_minhash_lsh_has_raw_data(index));
    CHECK(knowhere_minhash_lsh_memory_usage(index) > 0);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_add(index, query, 16, &err), KNOWHERE_ERR_EMPTY_INDEX);
    CHECK(err != NULL && strstr(knowhere_error_message(err), "build") != NULL);
    knowhere_error_free(err);
    int64_t one = 0;
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, &one, 1, query, 16, NULL),
             KNOWHERE_ERR_EMPTY_INDEX);
    knowhere_minhash_lsh_free(index);
    knowhere_minhash_lsh_free(NULL);
}

static void test_accessors_and_band_clamping(void) {
    test_rng rng = {7};
    uint8_t *data = random_signatures(&rng, 100, 10 * 4);
    knowhere_minhash_lsh *index = build_index(data, 100, 10, 4, 3, true);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 100);
    CHECK_EQ(knowhere_minhash_lsh_mh_vec_length(index), 10);
    CHECK_EQ(knowhere_minhash_lsh_element_size(index), 4);
    CHECK_EQ(knowhere_minhash_lsh_bands(index), 3);
    CHECK_EQ(knowhere_minhash_lsh_rows_per_band(index), 3);
    CHECK(knowhere_minhash_lsh_has_raw_data(index));
    size_t with_raw = knowhere_minhash_lsh_memory_usage(index);
    CHECK(with_raw >= 100 * 10 * 4);
    /* More bands than values: bands of one value (knowhere's rule). */
    CHECK_EQ(knowhere_minhash_lsh_build(index, data, 100 * 40, 10, 4, 50, false, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_bands(index), 10);
    CHECK_EQ(knowhere_minhash_lsh_rows_per_band(index), 1);
    CHECK(!knowhere_minhash_lsh_has_raw_data(index));
    CHECK(knowhere_minhash_lsh_memory_usage(index) < with_raw + 100 * 10 * 9);
    CHECK_EQ(knowhere_minhash_lsh_count(NULL), 0);
    CHECK_EQ(knowhere_minhash_lsh_memory_usage(NULL), 0);
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(NULL, 2), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_num_threads(NULL), 0);
    CHECK(knowhere_minhash_lsh_num_threads(index) >= 1);
    knowhere_minhash_lsh_free(index);
    free(data);
}

static void test_get_vector_by_ids(void) {
    test_rng rng = {8};
    uint8_t *data = random_signatures(&rng, 50, 8 * 3);
    knowhere_minhash_lsh *index = build_index(data, 50, 8, 3, 4, true);
    int64_t ids[4] = {49, 0, 17, 17};
    uint8_t out[4 * 24];
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 4, out, sizeof out, NULL), KNOWHERE_OK);
    for (int i = 0; i < 4; ++i) CHECK(memcmp(out + i * 24, data + ids[i] * 24, 24) == 0);

    knowhere_error *err = NULL;
    memset(out, 0xEE, sizeof out);
    int64_t bad[3] = {1, 50, 2};
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, bad, 3, out, sizeof out, &err),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK(err && strstr(knowhere_error_message(err), "id 50") != NULL);
    knowhere_error_free(err);
    CHECK(out[0] == 0xEE); /* nothing copied */
    int64_t negative = -1;
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, &negative, 1, out, sizeof out, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 4, out, 4 * 24 - 1, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, NULL, 1, out, sizeof out, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 0, NULL, 0, NULL), KNOWHERE_OK);

    knowhere_minhash_lsh_build(index, data, 50 * 24, 8, 3, 4, false, NULL);
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 1, out, sizeof out, &err),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK(err && strstr(knowhere_error_message(err), "raw data") != NULL);
    knowhere_error_free(err);
    knowhere_minhash_lsh_free(index);
    free(data);
}

static void test_rebuild_replaces_contents(void) {
    test_rng rng = {10};
    uint8_t *a = random_signatures(&rng, 100, 64), *b = random_signatures(&rng, 30, 32);
    knowhere_minhash_lsh *index = build_index(a, 100, 16, 4, 4, true);
    CHECK_EQ(knowhere_minhash_lsh_build(index, b, 30 * 32, 8, 4, 2, true, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 30);
    int64_t ids[2];
    float d[2];
    CHECK_EQ(knowhere_minhash_lsh_search(index, b + 29 * 32, 32, 2, NULL, 0, ids, d, NULL), KNOWHERE_OK);
    CHECK_EQ(ids[0], 29);
    CHECK_EQ(knowhere_minhash_lsh_search(index, a, 64, 2, NULL, 0, ids, d, NULL), KNOWHERE_ERR_INVALID_ARG);
    knowhere_minhash_lsh_free(index);
    free(a);
    free(b);
}

int main(void) {
    RUN(test_self_recall_all_element_sizes);
    RUN(test_ranking_matches_brute_force);
    RUN(test_ranking_with_many_candidates);
    RUN(test_similarity_is_exact_fraction);
    RUN(test_filter_excludes_set_bits_and_ids_beyond);
    RUN(test_batch_equals_single);
    RUN(test_add_continues_ids_and_equals_build);
    RUN(test_empty_and_never_built_index);
    RUN(test_accessors_and_band_clamping);
    RUN(test_get_vector_by_ids);
    RUN(test_rebuild_replaces_contents);
    return CHECK_DONE();
}
