/* Range search: results equal a brute-force reference (every row sharing an
 * exact band whose similarity reaches the threshold, sorted by similarity
 * descending then id ascending) for several thresholds, with and without
 * raw data, with filters; batch equals single on 1..8 threads; the lims
 * layout; a never-built index; bad input; interrupts, deadlines, progress. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

/* The expected results of one query into ids/d (room for ref->n); returns
 * how many. */
static size_t reference_range(const reference *ref, const uint8_t *query, float threshold,
                              const uint8_t *bitset, size_t bits, int64_t *ids, float *d) {
    size_t sig = ref_sig(ref), denominator = ref->raw ? ref->length : ref->bands;
    long *score = malloc(ref->n * sizeof *score);
    REQUIRE(score != NULL);
    for (size_t id = 0; id < ref->n; ++id) {
        score[id] = ref_filtered_out(bitset, bits, id) ? -1 : ref_score(ref, query, ref->data + id * sig);
        if (score[id] >= 0 && !(ref_similarity(ref, score[id]) >= threshold)) score[id] = -1;
    }
    size_t m = 0;
    for (long s = (long)denominator; s >= 0; --s)
        for (size_t id = 0; id < ref->n; ++id)
            if (score[id] == s) {
                ids[m] = (int64_t)id;
                d[m++] = ref_similarity(ref, s);
            }
    free(score);
    return m;
}

static knowhere_range_result *range(knowhere_minhash_lsh *index, const uint8_t *queries,
                                    size_t nq, size_t sig, float threshold,
                                    const uint8_t *bitset, size_t bits) {
    knowhere_range_result *result = (knowhere_range_result *)1;
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_range_search_with_interrupt(
        index, queries, nq * sig, nq, threshold, bitset, bits, &result, NULL, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "range search: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK && result != NULL);
    CHECK(err == NULL);
    return result;
}

/* Checks every query of a range result against the reference; returns the
 * number of results. */
static size_t check_against_reference(knowhere_minhash_lsh *index, const reference *ref,
                                      const uint8_t *queries, size_t nq, float threshold,
                                      const uint8_t *bitset, size_t bits) {
    size_t sig = ref_sig(ref);
    knowhere_range_result *r = range(index, queries, nq, sig, threshold, bitset, bits);
    const uint64_t *lims = knowhere_range_result_lims(r);
    const int64_t *ids = knowhere_range_result_ids(r);
    const float *d = knowhere_range_result_distances(r);
    CHECK_EQ(knowhere_range_result_nq(r), nq);
    REQUIRE(lims && ids && d);
    CHECK_EQ(lims[0], 0);
    int64_t *want_ids = malloc(ref->n * sizeof *want_ids);
    float *want_d = malloc(ref->n * sizeof *want_d);
    REQUIRE(want_ids && want_d);
    size_t mismatches = 0;
    for (size_t q = 0; q < nq; ++q) {
        size_t m = reference_range(ref, queries + q * sig, threshold, bitset, bits, want_ids, want_d);
        bool same = lims[q + 1] >= lims[q] && lims[q + 1] - lims[q] == m;
        for (size_t i = 0; same && i < m; ++i)
            same = ids[lims[q] + i] == want_ids[i] && d[lims[q] + i] == want_d[i];
        if (!same && mismatches++ < 3)
            fprintf(stderr, "T %.2f query %zu: %llu results, want %zu (first want %lld %.3f)\n",
                    threshold, q, (unsigned long long)(lims[q + 1] - lims[q]), m,
                    m ? (long long)want_ids[0] : -1LL, m ? want_d[0] : 0.0f);
    }
    CHECK_EQ(mismatches, 0);
    size_t total = (size_t)lims[nq];
    free(want_ids);
    free(want_d);
    knowhere_range_result_free(r);
    return total;
}

static uint8_t *make_queries(test_rng *rng, const uint8_t *data, size_t n, size_t nq,
                             size_t length, size_t es) {
    size_t sig = length * es;
    uint8_t *queries = malloc(nq * sig);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < nq; ++q) {
        size_t source = (q * 37) % n;
        if (q % 3 == 1) mutate_signature(rng, data + source * sig, queries + q * sig, length, es, 0.8);
        else if (q % 3 == 2) rng_fill(rng, queries + q * sig, sig); /* likely no candidate */
        else memcpy(queries + q * sig, data + source * sig, sig);
    }
    return queries;
}

static void test_matches_brute_force(void) {
    const size_t configs[][4] = {
        /* length, es, bands, n */
        {64, 4, 16, 2000}, {128, 4, 16, 1500}, {30, 1, 8, 1500},
        {50, 2, 7, 1200},  {12, 3, 5, 800},    {41, 4, 41, 600},
    };
    const float thresholds[] = {0.0f, 0.3f, 0.5f, 0.7f, 0.8f, 0.9f, 1.0f};
    test_rng rng = {31};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; ++c)
        for (int raw = 0; raw <= 1; ++raw) {
            size_t length = configs[c][0], es = configs[c][1], bands = configs[c][2];
            size_t n = configs[c][3], nq = 120;
            uint8_t *data = clustered_signatures(&rng, n, length, es);
            knowhere_minhash_lsh *index = build_index(data, n, length, es, bands, raw);
            reference ref = make_reference(data, n, length, es, bands, raw);
            uint8_t *queries = make_queries(&rng, data, n, nq, length, es);
            size_t bits = n - 17;
            uint8_t *bitset = malloc((n + 7) / 8);
            REQUIRE(bitset != NULL);
            rng_fill(&rng, bitset, (n + 7) / 8);
            size_t last = SIZE_MAX;
            for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; ++t) {
                size_t total = check_against_reference(index, &ref, queries, nq, thresholds[t], NULL, 0);
                CHECK(total <= last); /* a higher threshold keeps fewer */
                last = total;
                if (t == 0) CHECK(total > nq); /* not vacuous */
                check_against_reference(index, &ref, queries, nq, thresholds[t], bitset, bits);
            }
            free(bitset);
            free(queries);
            knowhere_minhash_lsh_free(index);
            free(data);
        }
}

/* One big cluster: hundreds of results per query (the counting sort), ties. */
static void test_many_results_per_query(void) {
    enum { LENGTH = 32, ES = 1, BANDS = 16, N = 1500 };
    test_rng rng = {32};
    uint8_t *data = one_big_cluster(&rng, N, LENGTH, ES, 0.3);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        size_t total = check_against_reference(index, &ref, data, 40, 0.0f, NULL, 0);
        CHECK(total > 40 * 200);
        check_against_reference(index, &ref, data, 40, 0.6f, NULL, 0);
        uint8_t bitset[N / 8];
        rng_fill(&rng, bitset, sizeof bitset);
        check_against_reference(index, &ref, data, 40, 0.5f, bitset, N - 40);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_batch_equals_single_on_any_threads(void) {
    enum { LENGTH = 64, ES = 4, BANDS = 16, N = 4000, NQ = 333 };
    const size_t sig = LENGTH * ES;
    test_rng rng = {33};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    const size_t threads[] = {1, 2, 3, 8};
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        uint8_t bitset[N / 8];
        memset(bitset, 0, sizeof bitset);
        for (size_t i = 0; i < N; i += 3) bitset[i >> 3] |= (uint8_t)(1 << (i & 7));
        /* Singles, once. */
        knowhere_range_result *single[NQ];
        for (size_t q = 0; q < NQ; ++q) single[q] = range(index, data + q * sig, 1, sig, 0.5f, bitset, N);
        for (size_t t = 0; t < 4; ++t) {
            knowhere_minhash_lsh_set_num_threads(index, threads[t]);
            knowhere_range_result *batch = range(index, data, NQ, sig, 0.5f, bitset, N);
            const uint64_t *lims = knowhere_range_result_lims(batch);
            size_t differ = 0;
            for (size_t q = 0; q < NQ; ++q) {
                const uint64_t *one = knowhere_range_result_lims(single[q]);
                size_t m = (size_t)one[1];
                bool same = lims[q + 1] - lims[q] == m;
                for (size_t i = 0; same && i < m; ++i)
                    same = knowhere_range_result_ids(batch)[lims[q] + i] ==
                               knowhere_range_result_ids(single[q])[i] &&
                           knowhere_range_result_distances(batch)[lims[q] + i] ==
                               knowhere_range_result_distances(single[q])[i];
                differ += !same;
            }
            CHECK_EQ(differ, 0);
            CHECK(lims[NQ] > NQ); /* every query finds itself, except the filtered ones */
            knowhere_range_result_free(batch);
        }
        for (size_t q = 0; q < NQ; ++q) knowhere_range_result_free(single[q]);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* Range results are a superset of the top-k results, in the same order. */
static void test_agrees_with_search(void) {
    enum { LENGTH = 64, ES = 4, BANDS = 16, N = 3000, K = 8 };
    const size_t sig = LENGTH * ES;
    test_rng rng = {34};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        knowhere_range_result *r = range(index, data, 200, sig, 0.0f, NULL, 0);
        const uint64_t *lims = knowhere_range_result_lims(r);
        size_t differ = 0;
        for (size_t q = 0; q < 200; ++q) {
            int64_t ids[K];
            float d[K];
            REQUIRE(knowhere_minhash_lsh_search(index, data + q * sig, sig, K, NULL, 0, ids, d,
                                                NULL) == KNOWHERE_OK);
            for (size_t i = 0; i < K; ++i) {
                bool have = lims[q] + i < lims[q + 1];
                if (have != (ids[i] != -1) ||
                    (have && (knowhere_range_result_ids(r)[lims[q] + i] != ids[i] ||
                              knowhere_range_result_distances(r)[lims[q] + i] != d[i])))
                    differ++;
            }
        }
        CHECK_EQ(differ, 0);
        knowhere_range_result_free(r);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* Identical signatures have similarity exactly 1 for any length (41 * (1 /
 * 41) would be 0.99999994 in float), so threshold 1 selects exact
 * duplicates in search, range search and self-join. */
static void test_identical_is_exactly_one(void) {
    const size_t lengths[] = {41, 49, 97, 100, 127};
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; ++t) {
        const size_t length = lengths[t], sig = length * 4, n = 200;
        test_rng rng = {length};
        uint8_t *data = clustered_signatures(&rng, n, length, 4);
        memcpy(data + 7 * sig, data + 3 * sig, sig); /* row 7 = row 3 */
        knowhere_minhash_lsh *index = build_index(data, n, length, 4, 8, true);
        int64_t ids[2];
        float d[2];
        REQUIRE(knowhere_minhash_lsh_search(index, data + 3 * sig, sig, 2, NULL, 0, ids, d, NULL) ==
                KNOWHERE_OK);
        CHECK(ids[0] == 3 && ids[1] == 7 && d[0] == 1.0f && d[1] == 1.0f);
        knowhere_range_result *r = range(index, data + 3 * sig, 1, sig, 1.0f, NULL, 0);
        const uint64_t *lims = knowhere_range_result_lims(r);
        bool pair_found = false;
        for (uint64_t i = lims[0]; i < lims[1]; ++i) pair_found |= knowhere_range_result_ids(r)[i] == 7;
        CHECK(pair_found);
        knowhere_range_result_free(r);
        knowhere_pairs *pairs = NULL;
        REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(index, 1.0f, &pairs, NULL, NULL) ==
                KNOWHERE_OK);
        pair_found = false;
        for (size_t i = 0; i < knowhere_pairs_count(pairs); ++i) {
            pair_found |= knowhere_pairs_left(pairs)[i] == 3 && knowhere_pairs_right(pairs)[i] == 7;
            CHECK(knowhere_pairs_similarity(pairs)[i] == 1.0f);
        }
        CHECK(pair_found);
        knowhere_pairs_free(pairs);
        knowhere_minhash_lsh_free(index);
        free(data);
    }
}

static void test_never_built_and_accessors(void) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    uint8_t query[3 * 16] = {0};
    knowhere_range_result *r = NULL;
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_interrupt(index, query, sizeof query, 3, 0.5f,
                                                              NULL, 0, &r, NULL, NULL),
             KNOWHERE_OK);
    REQUIRE(r != NULL);
    CHECK_EQ(knowhere_range_result_nq(r), 3);
    const uint64_t *lims = knowhere_range_result_lims(r);
    REQUIRE(lims != NULL);
    for (int q = 0; q <= 3; ++q) CHECK_EQ(lims[q], 0);
    CHECK(knowhere_range_result_ids(r) != NULL && knowhere_range_result_distances(r) != NULL);
    knowhere_range_result_free(r);
    CHECK_EQ(knowhere_range_result_nq(NULL), 0);
    CHECK(knowhere_range_result_lims(NULL) == NULL);
    CHECK(knowhere_range_result_ids(NULL) == NULL);
    CHECK(knowhere_range_result_distances(NULL) == NULL);
    knowhere_range_result_free(NULL);
    knowhere_minhash_lsh_free(index);
}

static void test_bad_input(void) {
    enum { LENGTH = 16, ES = 4, SIG = LENGTH * ES, N = 64 };
    test_rng rng = {35};
    uint8_t *data = random_signatures(&rng, N, SIG);
    knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, 4, true);
    const int INVALID = KNOWHERE_ERR_INVALID_ARG;
    knowhere_range_result *r = (knowhere_range_result *)1;
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(NULL, data, SIG, 1, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "index is NULL");
    CHECK(r == NULL); /* NULL on error */
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, NULL, SIG, 1, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "query is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG, 1, 0.5f, NULL, 0, NULL, NULL, &err), INVALID, "result is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG, 0, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "nq must be");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG, 1, NAN, NULL, 0, &r, NULL, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG, 1, -0.01f, NULL, 0, &r, NULL, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG, 1, 1.01f, NULL, 0, &r, NULL, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, SIG - 1, 1, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "query length 63");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, 2 * SIG, 3, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "query length");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, 2 * SIG, SIZE_MAX / 2, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "overflow");
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_interrupt(index, data, 2 * SIG, SIZE_MAX / 64, 0.5f, NULL, 0, &r, NULL, &err), INVALID, "query length");
    CHECK(r == NULL);
    /* The index still answers. */
    r = range(index, data + 9 * SIG, 1, SIG, 1.0f, NULL, 0);
    CHECK_EQ(knowhere_range_result_lims(r)[1], 1);
    CHECK_EQ(knowhere_range_result_ids(r)[0], 9);
    CHECK(knowhere_range_result_distances(r)[0] == 1.0f);
    knowhere_range_result_free(r);
    knowhere_minhash_lsh_free(index);
    free(data);
}

typedef struct {
    uint64_t last_done, total;
    int calls;
    bool monotonic;
} recorder;

static int record(void *user, uint64_t done, uint64_t total) {
    recorder *r = user;
    r->monotonic &= r->calls == 0 || done >= r->last_done;
    r->last_done = done;
    r->total = total;
    r->calls++;
    return 0;
}

static void test_interrupts_deadline_and_progress(void) {
    enum { LENGTH = 128, ES = 4, SIG = LENGTH * ES, BANDS = 32, N = 60000, NQ = 60000 };
    test_rng rng = {36};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, true);
    knowhere_minhash_lsh_set_num_threads(index, 2);
    knowhere_range_result *r = (knowhere_range_result *)1;
    knowhere_error *err = NULL;

    CInterrupt stop = knowhere_interrupt_create_with_state(true);
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_interrupt(index, data, (size_t)NQ * SIG, NQ,
                                                              0.5f, NULL, 0, &r, stop, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(r == NULL && err && strstr(knowhere_error_message(err), "range search interrupted"));
    knowhere_error_free(err);

    /* A deadline that passes during the search: TIMEOUT, no result. */
    CInterrupt deadline = knowhere_interrupt_create_with_timeout(1);
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_interrupt(index, data, (size_t)NQ * SIG, NQ,
                                                              0.5f, NULL, 0, &r, deadline, &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(r == NULL && err && knowhere_error_code(err) == KNOWHERE_ERR_TIMEOUT);
    knowhere_error_free(err);

    /* Progress: phase SEARCH, units = queries, ending at the total. */
    knowhere_interrupt_reset(stop);
    recorder rec = {.monotonic = true};
    knowhere_interrupt_set_progress(stop, record, &rec);
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_interrupt(index, data, (size_t)NQ * SIG, NQ,
                                                              0.5f, NULL, 0, &r, stop, NULL),
             KNOWHERE_OK);
    uint64_t done = 0, total = 0;
    int phase = -1;
    knowhere_interrupt_progress(stop, &done, &total, &phase);
    CHECK(done == NQ && total == NQ && phase == KNOWHERE_PHASE_SEARCH);
    CHECK(rec.calls >= 1 && rec.monotonic && rec.last_done == NQ && rec.total == NQ);
    CHECK(knowhere_range_result_lims(r)[NQ] >= NQ);
    knowhere_range_result_free(r);

    knowhere_interrupt_free(stop);
    knowhere_interrupt_free(deadline);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_matches_brute_force);
    RUN(test_many_results_per_query);
    RUN(test_batch_equals_single_on_any_threads);
    RUN(test_agrees_with_search);
    RUN(test_identical_is_exactly_one);
    RUN(test_never_built_and_accessors);
    RUN(test_bad_input);
    RUN(test_interrupts_deadline_and_progress);
    return CHECK_DONE();
}
