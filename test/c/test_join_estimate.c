/* The self-join estimate: the candidate count equals the pairs sharing each
 * band counted by brute force; the pair count equals the self-join's exactly
 * when candidates are few (with and without raw data, removed rows, after
 * adds), and is within a few percent on hot buckets, where it is sampled
 * (the same answer every run); band keys are XXH3 of each band; bad input,
 * a never-built index, interrupts. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

static uint64_t brute_candidates(const reference *ref) {
    size_t sig = ref_sig(ref), bw = ref->r * ref->es;
    uint64_t count = 0;
    for (size_t i = 0; i < ref->n; ++i)
        for (size_t j = i + 1; j < ref->n; ++j)
            for (size_t b = 0; b < ref->bands; ++b)
                count += memcmp(ref->data + i * sig + b * bw, ref->data + j * sig + b * bw, bw) == 0;
    return count;
}

static size_t join_count(knowhere_minhash_lsh *index, float threshold) {
    knowhere_pairs *pairs = NULL;
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(index, threshold, &pairs, NULL, NULL) ==
            KNOWHERE_OK);
    size_t n = knowhere_pairs_count(pairs);
    knowhere_pairs_free(pairs);
    return n;
}

static void estimate(knowhere_minhash_lsh *index, float threshold, uint64_t *pairs,
                     uint64_t *candidates) {
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_self_join_estimate_with_interrupt(index, threshold, pairs,
                                                                       candidates, NULL, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "estimate: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK);
}

enum { LENGTH = 32, ES = 4, BANDS = 8 };

static void test_exact_when_few(void) {
    test_rng rng = {1};
    size_t n = 1200, sig = LENGTH * ES;
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    for (size_t i = 0; i < n; i += 7) memcpy(data + i * sig, data + 3 * sig, sig);
    for (int raw = 1; raw >= 0; --raw) {
        reference ref = make_reference(data, n, LENGTH, ES, BANDS, raw);
        uint64_t want_candidates = brute_candidates(&ref);
        knowhere_minhash_lsh *index = build_index(data, n / 2, LENGTH, ES, BANDS, raw);
        REQUIRE(knowhere_minhash_lsh_add(index, data + n / 2 * sig, (n - n / 2) * sig, NULL) ==
                KNOWHERE_OK);
        const float thresholds[] = {0.0f, 0.5f, 0.8f, 1.0f};
        for (size_t t = 0; t < 4; ++t) {
            uint64_t pairs = 0, candidates = 0;
            estimate(index, thresholds[t], &pairs, &candidates);
            CHECK_EQ(candidates, want_candidates);
            CHECK_EQ(pairs, join_count(index, thresholds[t]));
        }
        int64_t removed[] = {3, 10, 17, 500};
        REQUIRE(knowhere_minhash_lsh_remove(index, removed, 4, NULL, NULL) == KNOWHERE_OK);
        uint64_t pairs = 0;
        estimate(index, 0.5f, &pairs, NULL);
        CHECK_EQ(pairs, join_count(index, 0.5f));
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* Hot buckets: 3000 identical rows (C(3000, 2) pairs, each sharing every
 * band), and one big cluster of chained near-duplicates. */
static void test_sampled_on_hot_buckets(void) {
    test_rng rng = {2};
    size_t n = 3000, sig = LENGTH * ES;
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(data);
    for (size_t i = 1; i < n; ++i) memcpy(data + i * sig, data, sig);
    knowhere_minhash_lsh *index = build_index(data, n, LENGTH, ES, BANDS, true);
    uint64_t pairs = 0, candidates = 0, again = 0;
    estimate(index, 0.8f, &pairs, &candidates);
    uint64_t want = (uint64_t)n * (n - 1) / 2;
    CHECK_EQ(candidates, want * BANDS);
    CHECK(pairs > want * 95 / 100 && pairs < want * 105 / 100);
    estimate(index, 0.8f, &again, NULL);
    CHECK_EQ(again, pairs); /* a fixed seed */
    printf("  %zu identical rows: %llu pairs estimated, %llu exactly\n", n,
           (unsigned long long)pairs, (unsigned long long)want);
    knowhere_minhash_lsh_free(index);
    free(data);

    data = one_big_cluster(&rng, n, LENGTH, ES, 0.6);
    for (int raw = 1; raw >= 0; --raw) {
        index = build_index(data, n, LENGTH, ES, BANDS, raw);
        estimate(index, 0.7f, &pairs, &candidates);
        size_t exact = join_count(index, 0.7f);
        CHECK(candidates > ((uint64_t)1 << 22)); /* so it was sampled */
        CHECK(pairs > exact * 95 / 100 && pairs < exact * 105 / 100);
        printf("  one big cluster of %zu rows (%s): %llu pairs estimated, %zu exactly, "
               "%llu candidates\n", n, raw ? "raw" : "no raw", (unsigned long long)pairs, exact,
               (unsigned long long)candidates);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_band_keys(void) {
    uint8_t sig[10 * 2];
    for (size_t i = 0; i < sizeof sig; ++i) sig[i] = (uint8_t)(i * 7 + 1);
    uint64_t keys[10], from_index[10];
    /* 10 values of 2 bytes in 3 bands: rows of 3 values, the last value not banded. */
    CHECK_EQ(knowhere_lsh_band_keys(sig, 20, 10, 2, 3, keys, 10, NULL), KNOWHERE_OK);
    /* The index files the signature under those keys: a search by a
     * signature equal in band b only finds it. */
    knowhere_minhash_lsh *index = build_index(sig, 1, 10, 2, 3, false);
    for (size_t b = 0; b < 3; ++b) {
        uint8_t query[20];
        memset(query, 0xEE, sizeof query);
        memcpy(query + b * 6, sig + b * 6, 6);
        uint64_t qkeys[3];
        CHECK_EQ(knowhere_lsh_band_keys(query, 20, 10, 2, 3, qkeys, 3, NULL), KNOWHERE_OK);
        CHECK(qkeys[b] == keys[b] && qkeys[(b + 1) % 3] != keys[(b + 1) % 3]);
        int64_t id = -1;
        float distance = 0;
        CHECK_EQ(knowhere_minhash_lsh_search(index, query, 20, 1, NULL, 0, &id, &distance, NULL),
                 KNOWHERE_OK);
        CHECK(id == 0 && distance > 0.3f && distance < 0.4f);
    }
    /* Bands beyond the values are clamped, as the build clamps them. */
    CHECK_EQ(knowhere_lsh_band_keys(sig, 20, 10, 2, 50, from_index, 10, NULL), KNOWHERE_OK);
    EXPECT_ERROR(knowhere_lsh_band_keys(sig, 20, 10, 2, 50, from_index, 9, &err),
                 KNOWHERE_ERR_INVALID_ARG, "10 bands need 10");
    EXPECT_ERROR(knowhere_lsh_band_keys(sig, 19, 10, 2, 3, keys, 3, &err),
                 KNOWHERE_ERR_INVALID_ARG, "signature_len 19");
    EXPECT_ERROR(knowhere_lsh_band_keys(sig, 20, 10, 0, 3, keys, 3, &err),
                 KNOWHERE_ERR_INVALID_ARG, "element_size 0");
    EXPECT_ERROR(knowhere_lsh_band_keys(sig, 20, 10, 2, 0, keys, 3, &err),
                 KNOWHERE_ERR_INVALID_ARG, "bands");
    EXPECT_ERROR(knowhere_lsh_band_keys(NULL, 20, 10, 2, 3, keys, 3, &err),
                 KNOWHERE_ERR_INVALID_ARG, "signature is NULL");
    knowhere_minhash_lsh_free(index);
}

static void test_bad_input_and_interrupts(void) {
    test_rng rng = {3};
    uint8_t *data = clustered_signatures(&rng, 100, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, 100, LENGTH, ES, BANDS, true);
    uint64_t pairs = 7, candidates = 7;
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_estimate_with_interrupt(NULL, 0.5f, &pairs, NULL,
                                                                       NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_estimate_with_interrupt(index, 0.5f, NULL, NULL,
                                                                       NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "pairs is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_estimate_with_interrupt(index, -1.0f, &pairs,
                                                                       NULL, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "threshold -1 is not in 0..1");
    CInterrupt h = knowhere_interrupt_create_with_state(true);
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_estimate_with_interrupt(index, 0.5f, &pairs,
                                                                       &candidates, h, &err),
                 KNOWHERE_ERR_INTERRUPTED, "join estimate interrupted");
    CHECK(pairs == 0 && candidates == 0);
    knowhere_interrupt_free(h);
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    pairs = candidates = 7;
    CHECK_EQ(knowhere_minhash_lsh_self_join_estimate_with_interrupt(empty, 0.5f, &pairs,
                                                                   &candidates, NULL, NULL),
             KNOWHERE_OK);
    CHECK(pairs == 0 && candidates == 0);
    knowhere_minhash_lsh_free(empty);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_exact_when_few);
    RUN(test_sampled_on_hot_buckets);
    RUN(test_band_keys);
    RUN(test_bad_input_and_interrupts);
    return CHECK_DONE();
}
