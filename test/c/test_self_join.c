/* Self-join: the pairs equal a brute-force enumeration of all pairs (share
 * an exact band, similarity >= threshold), sorted by (i, j), each once, with
 * and without raw data, after adds, on 1, 2 and 7 threads; each pair's
 * similarity is what search reports; a never-built index; bad input;
 * interrupts (before, from another thread, by the progress callback, by a
 * deadline) free everything; timing of a 100k-signature join. */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "interrupter.h"
#include "knowhere_rs.h"
#include "progress_recorder.h"
#include "lsh_reference.h"


/* ---- the reference: every pair, scored ------------------------------------ */

typedef struct {
    size_t count;
    int64_t *left, *right;
    long *score;
} pair_list;

static pair_list reference_pairs(const reference *ref) {
    size_t sig = ref_sig(ref), capacity = 1024;
    pair_list p = {0, malloc(capacity * 8), malloc(capacity * 8), malloc(capacity * sizeof(long))};
    REQUIRE(p.left && p.right && p.score);
    for (size_t i = 0; i < ref->n; ++i)
        for (size_t j = i + 1; j < ref->n; ++j) {
            long s = ref_score(ref, ref->data + i * sig, ref->data + j * sig);
            if (s < 0) continue;
            if (p.count == capacity) {
                capacity *= 2;
                p.left = realloc(p.left, capacity * 8);
                p.right = realloc(p.right, capacity * 8);
                p.score = realloc(p.score, capacity * sizeof(long));
                REQUIRE(p.left && p.right && p.score);
            }
            p.left[p.count] = (int64_t)i;
            p.right[p.count] = (int64_t)j;
            p.score[p.count++] = s;
        }
    return p;
}

static void free_pair_list(pair_list *p) {
    free(p->left);
    free(p->right);
    free(p->score);
}

static knowhere_pairs *join(knowhere_minhash_lsh *index, float threshold) {
    knowhere_pairs *pairs = (knowhere_pairs *)1;
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_self_join_with_interrupt(index, threshold, &pairs, NULL, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "self-join: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK && pairs != NULL);
    CHECK(err == NULL);
    return pairs;
}

/* The join at `threshold` equals the reference pairs reaching it; returns
 * how many pairs. */
static size_t check_join(knowhere_minhash_lsh *index, const reference *ref,
                         const pair_list *all, float threshold) {
    knowhere_pairs *got = join(index, threshold);
    size_t n = knowhere_pairs_count(got), at = 0, mismatches = 0;
    const int64_t *left = knowhere_pairs_left(got), *right = knowhere_pairs_right(got);
    const float *sim = knowhere_pairs_similarity(got);
    REQUIRE(left && right && sim);
    for (size_t k = 0; k < all->count; ++k) {
        float want = ref_similarity(ref, all->score[k]);
        if (!(want >= threshold)) continue;
        if (at >= n || left[at] != all->left[k] || right[at] != all->right[k] || sim[at] != want) {
            if (mismatches++ < 3)
                fprintf(stderr, "T %.2f: pair %zu is (%lld, %lld, %.4f), want (%lld, %lld, %.4f)\n",
                        threshold, at, at < n ? (long long)left[at] : -1LL,
                        at < n ? (long long)right[at] : -1LL, at < n ? sim[at] : 0.0f,
                        (long long)all->left[k], (long long)all->right[k], want);
        }
        at++;
    }
    if (at != n) fprintf(stderr, "T %.2f: %zu pairs, want %zu\n", threshold, n, at);
    CHECK_EQ(n, at);
    CHECK_EQ(mismatches, 0);
    knowhere_pairs_free(got);
    return n;
}

static void check_all_thresholds(knowhere_minhash_lsh *index, const reference *ref) {
    pair_list all = reference_pairs(ref);
    const float thresholds[] = {0.0f, 0.5f, 0.8f, 0.95f, 1.0f};
    const size_t threads[] = {1, 2, 7};
    for (size_t t = 0; t < 3; ++t) {
        knowhere_minhash_lsh_set_num_threads(index, threads[t]);
        size_t last = SIZE_MAX;
        for (size_t k = 0; k < sizeof thresholds / sizeof thresholds[0]; ++k) {
            size_t count = check_join(index, ref, &all, thresholds[k]);
            CHECK(count <= last);
            last = count;
            if (k == 0) CHECK(count > ref->n / 2); /* not vacuous */
        }
    }
    free_pair_list(&all);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_matches_brute_force(void) {
    const size_t configs[][4] = {
        /* length, es, bands, n */
        {64, 4, 16, 1500}, {128, 4, 16, 1000}, {30, 1, 8, 1200},
        {50, 2, 7, 1000},  {12, 3, 5, 600},    {41, 4, 41, 500},
    };
    test_rng rng = {51};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; ++c)
        for (int raw = 0; raw <= 1; ++raw) {
            size_t length = configs[c][0], es = configs[c][1], bands = configs[c][2];
            size_t n = configs[c][3];
            uint8_t *data = clustered_signatures(&rng, n, length, es);
            knowhere_minhash_lsh *index = build_index(data, n, length, es, bands, raw);
            reference ref = make_reference(data, n, length, es, bands, raw);
            check_all_thresholds(index, &ref);
            knowhere_minhash_lsh_free(index);
            free(data);
        }
}

/* One big cluster: thousands of pairs per row, many equal band keys. */
static void test_one_big_cluster(void) {
    enum { LENGTH = 32, ES = 2, BANDS = 16, N = 2500 };
    test_rng rng = {52};
    uint8_t *data = one_big_cluster(&rng, N, LENGTH, ES, 0.5);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        pair_list all = reference_pairs(&ref);
        CHECK(all.count > (size_t)N * N / 4);
        knowhere_minhash_lsh_set_num_threads(index, 2);
        check_join(index, &ref, &all, 0.0f);
        check_join(index, &ref, &all, 0.75f);
        free_pair_list(&all);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* Built in parts (several raw segments, merged tables) = built at once. */
static void test_after_add(void) {
    enum { LENGTH = 48, ES = 2, BANDS = 12, N = 1500 };
    const size_t sig = LENGTH * ES;
    test_rng rng = {53};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, 500, LENGTH, ES, BANDS, raw);
        CHECK_EQ(knowhere_minhash_lsh_add(index, data + 500 * sig, 700 * sig, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_add(index, data + 1200 * sig, 300 * sig, NULL), KNOWHERE_OK);
        reference ref = make_reference(data, N, LENGTH, ES, BANDS, raw);
        pair_list all = reference_pairs(&ref);
        knowhere_minhash_lsh_set_num_threads(index, 2);
        check_join(index, &ref, &all, 0.0f);
        check_join(index, &ref, &all, 0.7f);
        free_pair_list(&all);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* Each pair's similarity is what a search for its left row reports for its
 * right row, and the join is symmetric: j is a candidate of i iff i is of j. */
static void test_similarity_agrees_with_search(void) {
    enum { LENGTH = 64, ES = 4, BANDS = 16, N = 3000, K = 40 };
    const size_t sig = LENGTH * ES;
    test_rng rng = {54};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, raw);
        knowhere_pairs *pairs = join(index, 0.0f);
        size_t n = knowhere_pairs_count(pairs), disagree = 0;
        CHECK(n > N / 2);
        const int64_t *left = knowhere_pairs_left(pairs), *right = knowhere_pairs_right(pairs);
        const float *sim = knowhere_pairs_similarity(pairs);
        for (size_t k = 0; k < n; ++k) {
            CHECK(left[k] < right[k]);
            if (k > 0) CHECK(left[k - 1] < left[k] || (left[k - 1] == left[k] && right[k - 1] < right[k]));
            int64_t ids[K];
            float d[K];
            for (int side = 0; side < 2; ++side) {
                int64_t from = side ? right[k] : left[k], to = side ? left[k] : right[k];
                REQUIRE(knowhere_minhash_lsh_search(index, data + (size_t)from * sig, sig, K, NULL,
                                                    0, ids, d, NULL) == KNOWHERE_OK);
                bool found = false;
                for (size_t i = 0; i < K; ++i) found |= ids[i] == to && d[i] == sim[k];
                disagree += !found;
            }
        }
        CHECK_EQ(disagree, 0);
        knowhere_pairs_free(pairs);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

static void test_never_built_and_accessors(void) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    knowhere_pairs *pairs = NULL;
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(index, 0.5f, &pairs, NULL, NULL),
             KNOWHERE_OK);
    REQUIRE(pairs != NULL);
    CHECK_EQ(knowhere_pairs_count(pairs), 0);
    CHECK(knowhere_pairs_left(pairs) && knowhere_pairs_right(pairs) &&
          knowhere_pairs_similarity(pairs));
    knowhere_pairs_free(pairs);
    CHECK_EQ(knowhere_pairs_count(NULL), 0);
    CHECK(knowhere_pairs_left(NULL) == NULL && knowhere_pairs_right(NULL) == NULL &&
          knowhere_pairs_similarity(NULL) == NULL);
    knowhere_pairs_free(NULL);
    /* One signature: no pair. */
    uint8_t one[16] = {1};
    REQUIRE(knowhere_minhash_lsh_build(index, one, 16, 16, 1, 4, false, NULL) == KNOWHERE_OK);
    pairs = join(index, 0.0f);
    CHECK_EQ(knowhere_pairs_count(pairs), 0);
    knowhere_pairs_free(pairs);
    knowhere_minhash_lsh_free(index);
}

static void test_bad_input(void) {
    test_rng rng = {55};
    uint8_t *data = random_signatures(&rng, 64, 64);
    knowhere_minhash_lsh *index = build_index(data, 64, 16, 4, 4, true);
    const int INVALID = KNOWHERE_ERR_INVALID_ARG;
    knowhere_pairs *pairs = (knowhere_pairs *)1;
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_with_interrupt(NULL, 0.5f, &pairs, NULL, &err), INVALID, "index is NULL");
    CHECK(pairs == NULL);
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_with_interrupt(index, 0.5f, NULL, NULL, &err), INVALID, "pairs is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_with_interrupt(index, NAN, &pairs, NULL, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_with_interrupt(index, -0.5f, &pairs, NULL, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_self_join_with_interrupt(index, 1.5f, &pairs, NULL, &err), INVALID, "threshold");
    knowhere_minhash_lsh_free(index);
    free(data);
}

/* ---- a large join: timing, interrupts -------------------------------------------------- */

enum { BIG_LENGTH = 128, BIG_ES = 4, BIG_SIG = BIG_LENGTH * BIG_ES, BIG_BANDS = 16, BIG_N = 100000 };

/* 100k signatures, 10 % of them near-duplicates (agreement 0.8..1) of an
 * earlier one. */
static uint8_t *big_data(void) {
    test_rng rng = {56};
    uint8_t *data = random_signatures(&rng, BIG_N, BIG_SIG);
    REQUIRE(data != NULL);
    for (size_t i = 9; i < BIG_N; i += 10) {
        size_t source = rng_next(&rng) % i;
        mutate_signature(&rng, data + source * BIG_SIG, data + i * BIG_SIG, BIG_LENGTH, BIG_ES,
                         0.8 + 0.2 * rng_unit(&rng));
    }
    return data;
}

static void test_large_join_timing_interrupts_and_progress(void) {
    uint8_t *data = big_data();
    knowhere_minhash_lsh *raw = build_index(data, BIG_N, BIG_LENGTH, BIG_ES, BIG_BANDS, true);
    knowhere_minhash_lsh *bare = build_index(data, BIG_N, BIG_LENGTH, BIG_ES, BIG_BANDS, false);
    knowhere_minhash_lsh_set_num_threads(raw, 2);
    knowhere_minhash_lsh_set_num_threads(bare, 2);

    /* Timing, with progress: phase JOIN, units = signatures. */
    CInterrupt h = knowhere_interrupt_create();
    recorder rec = recorder_new(0);
    knowhere_interrupt_set_progress(h, record, &rec);
    knowhere_pairs *pairs = NULL;
    double start = test_now_ms();
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(raw, 0.8f, &pairs, h, NULL), KNOWHERE_OK);
    double full_ms = test_now_ms() - start;
    uint64_t done = 0, total = 0;
    int phase = -1;
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == BIG_N && total == BIG_N && phase == KNOWHERE_PHASE_JOIN);
    CHECK(rec.calls >= 1 && rec.monotonic && rec.last_done == BIG_N && rec.total == BIG_N);
    size_t full_count = knowhere_pairs_count(pairs);
    /* At least the planted pairs that are candidates with J >= 0.8: most. */
    CHECK(full_count > BIG_N / 10 * 9 / 10);
    knowhere_pairs_free(pairs);
    start = test_now_ms();
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(bare, 0.8f, &pairs, NULL, NULL), KNOWHERE_OK);
    double bare_ms = test_now_ms() - start;
    printf("  self-join of %d signatures (%dx%d bytes, %d bands, 10%% near-duplicates), "
           "2 threads: %.0f ms with raw data (%zu pairs >= 0.8), %.0f ms without (%zu pairs)\n",
           BIG_N, BIG_LENGTH, BIG_ES, BIG_BANDS, full_ms, full_count, bare_ms,
           knowhere_pairs_count(pairs));
    knowhere_pairs_free(pairs);

    /* A callback returning non-zero cancels. */
    rec = recorder_new(1);
    pairs = (knowhere_pairs *)1;
    int status = knowhere_minhash_lsh_self_join_with_interrupt(raw, 0.8f, &pairs, h, NULL);
    CHECK(status == KNOWHERE_ERR_INTERRUPTED || (status == KNOWHERE_OK && rec.calls == 1));
    if (status != KNOWHERE_OK) CHECK(pairs == NULL);
    knowhere_pairs_free(status == KNOWHERE_OK ? pairs : NULL);
    knowhere_interrupt_set_progress(h, NULL, NULL);

    /* Pre-interrupted: at once, nothing made. */
    knowhere_error *err = NULL;
    knowhere_interrupt_interrupt(h);
    pairs = (knowhere_pairs *)1;
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(raw, 0.8f, &pairs, h, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(pairs == NULL && err && strstr(knowhere_error_message(err), "self-join interrupted"));
    knowhere_error_free(err);

    /* From another thread, at points inside the join, with and without raw data. */
    size_t interrupted = 0, completed = 0;
    double worst_latency = 0;
    for (int trial = 0; trial < 8; ++trial) {
        knowhere_minhash_lsh *index = trial % 2 ? bare : raw;
        double span = trial % 2 ? bare_ms : full_ms;
        knowhere_interrupt_reset(h);
        interrupter it = {.interrupt = h, .delay_ms = span * (0.05 + 0.1 * trial / 2)};
        REQUIRE(pthread_create(&it.thread, NULL, fire, &it) == 0);
        pairs = (knowhere_pairs *)1;
        status = knowhere_minhash_lsh_self_join_with_interrupt(index, 0.8f, &pairs, h, &err);
        double returned = test_now_ms();
        pthread_join(it.thread, NULL);
        if (status == KNOWHERE_ERR_INTERRUPTED) {
            interrupted++;
            CHECK(pairs == NULL && err != NULL);
            if (returned - it.fired_at_ms > worst_latency) worst_latency = returned - it.fired_at_ms;
        } else {
            CHECK_EQ(status, KNOWHERE_OK);
            completed++;
            if (status == KNOWHERE_OK) knowhere_pairs_free(pairs);
        }
        knowhere_error_free(err);
        err = NULL;
    }
    printf("  interrupted from another thread: %zu of 8 (%zu completed first), worst latency "
           "%.2f ms\n", interrupted, completed, worst_latency);
    CHECK(interrupted >= 1);

    /* A 1 ms deadline: TIMEOUT, not INTERRUPTED. */
    CInterrupt deadline = knowhere_interrupt_create_with_timeout(1);
    pairs = (knowhere_pairs *)1;
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(raw, 0.8f, &pairs, deadline, &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(pairs == NULL && err && strstr(knowhere_error_message(err), "timed out"));
    knowhere_error_free(err);
    knowhere_interrupt_set_deadline(deadline, 1);
    CHECK_EQ(knowhere_minhash_lsh_self_join_with_interrupt(bare, 0.8f, &pairs, deadline, NULL),
             KNOWHERE_ERR_TIMEOUT);

    /* After all that, the join still gives the same answer. */
    pairs = join(raw, 0.8f);
    CHECK_EQ(knowhere_pairs_count(pairs), full_count);
    knowhere_pairs_free(pairs);
    knowhere_interrupt_free(h);
    knowhere_interrupt_free(deadline);
    knowhere_minhash_lsh_free(raw);
    knowhere_minhash_lsh_free(bare);
    free(data);
}

int main(void) {
    RUN(test_matches_brute_force);
    RUN(test_one_big_cluster);
    RUN(test_after_add);
    RUN(test_similarity_agrees_with_search);
    RUN(test_never_built_and_accessors);
    RUN(test_bad_input);
    RUN(test_large_join_timing_interrupts_and_progress);
    return CHECK_DONE();
}
