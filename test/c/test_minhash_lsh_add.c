/* Adding signatures (knowhere_minhash_lsh_add): an index grown by many
 * adds, of one row up to many thousands, across several merges of its
 * deltas, answers every search, batch search, range search and self-join
 * exactly as an index built at once from the same rows, with and without
 * raw data, and keeps its tables as wide as a build would (so lookups stay
 * as short); an add interrupted half-way, in the delta path and in a
 * merge, leaves the index as it was; removals survive adds; a save of a
 * grown index loads into the same answers.
 *
 * The internals are read (native/minhash_lsh_internal.h) only to check
 * the structure: the table layout and the share of rows in deltas. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"
#include "minhash_lsh_internal.h"

enum { LENGTH = 32, ES = 4, BANDS = 8, QUERIES = 400, K = 10 };
static const size_t SIG = LENGTH * ES;

/* Batch search, single search, range search and (with `join`) self-join
 * of a and b agree exactly on `queries`. */
static void check_same_answers(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b,
                               const uint8_t *queries, size_t nq, bool join) {
    static int64_t ids_a[QUERIES * K], ids_b[QUERIES * K];
    static float d_a[QUERIES * K], d_b[QUERIES * K];
    REQUIRE(nq <= QUERIES);
    REQUIRE(knowhere_minhash_lsh_batch_search(a, queries, nq * SIG, nq, K, NULL, 0, ids_a, d_a,
                                              NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_batch_search(b, queries, nq * SIG, nq, K, NULL, 0, ids_b, d_b,
                                              NULL) == KNOWHERE_OK);
    CHECK(memcmp(ids_a, ids_b, nq * K * sizeof *ids_a) == 0);
    CHECK(memcmp(d_a, d_b, nq * K * sizeof *d_a) == 0);
    size_t found = 0;
    for (size_t i = 0; i < nq * K; ++i) found += ids_a[i] >= 0;
    CHECK(found >= nq); /* not vacuous: every query finds itself at least */

    int64_t one[K];
    float one_d[K];
    REQUIRE(knowhere_minhash_lsh_search(a, queries + SIG, SIG, K, NULL, 0, one, one_d, NULL) ==
            KNOWHERE_OK);
    CHECK(memcmp(one, ids_a + K, sizeof one) == 0);

    knowhere_range_result *ra = NULL, *rb = NULL;
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(a, queries, nq * SIG, nq, 0.3f, NULL,
                                                             0, &ra, NULL, NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(b, queries, nq * SIG, nq, 0.3f, NULL,
                                                             0, &rb, NULL, NULL) == KNOWHERE_OK);
    size_t na = knowhere_range_result_lims(ra)[nq], nb = knowhere_range_result_lims(rb)[nq];
    CHECK_EQ(na, nb);
    if (na == nb) {
        CHECK(memcmp(knowhere_range_result_ids(ra), knowhere_range_result_ids(rb),
                     na * sizeof(int64_t)) == 0);
        CHECK(memcmp(knowhere_range_result_distances(ra), knowhere_range_result_distances(rb),
                     na * sizeof(float)) == 0);
    }
    knowhere_range_result_free(ra);
    knowhere_range_result_free(rb);
    if (!join) return;

    knowhere_pairs *pa = NULL, *pb = NULL;
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(a, 0.5f, &pa, NULL, NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(b, 0.5f, &pb, NULL, NULL) == KNOWHERE_OK);
    size_t ca = knowhere_pairs_count(pa), cb = knowhere_pairs_count(pb);
    CHECK_EQ(ca, cb);
    CHECK(ca > 0);
    if (ca == cb) {
        CHECK(memcmp(knowhere_pairs_left(pa), knowhere_pairs_left(pb), ca * sizeof(int64_t)) == 0);
        CHECK(memcmp(knowhere_pairs_right(pa), knowhere_pairs_right(pb), ca * sizeof(int64_t)) == 0);
        CHECK(memcmp(knowhere_pairs_similarity(pa), knowhere_pairs_similarity(pb),
                     ca * sizeof(float)) == 0);
    }
    knowhere_pairs_free(pa);
    knowhere_pairs_free(pb);
}

/* The structure a grown index keeps: a directory as wide as a build of the
 * tables' rows makes (fewer than 16 rows per bucket on average, as
 * lsh_table.h promises), and at most a quarter of the rows (or a few
 * thousand) in deltas. */
static void check_structure(const knowhere_minhash_lsh *index) {
    const kh_lsh_state *s = index->state;
    for (size_t b = 0; b < s->bands; ++b) {
        unsigned bits = s->tables[b].layout.prefix_bits;
        CHECK(bits == 28 || ((size_t)16 << bits) > kh_lsh_table_rows(&s->tables[b]));
    }
    size_t in_deltas = s->count - kh_lsh_state_min_table_rows(s);
    CHECK(in_deltas <= 4096 || in_deltas <= s->count / 4);
}

static int add_rows(knowhere_minhash_lsh *index, const uint8_t *data, size_t rows) {
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_add(index, data, rows * SIG, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "add: %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    return status;
}

/* Grows an index from `first` rows to n by adds of the given sizes (in a
 * cycle), checking the structure after each, then compares it with an index
 * built at once; returns the grown index. */
static knowhere_minhash_lsh *grow(const uint8_t *data, size_t first, size_t n, bool raw,
                                  const size_t *sizes, size_t n_sizes, size_t *merges) {
    knowhere_minhash_lsh *grown = build_index(data, first, LENGTH, ES, BANDS, raw);
    size_t at = first, step = 0;
    *merges = 0;
    while (at < n) {
        size_t rows = sizes[step++ % n_sizes];
        if (rows > n - at) rows = n - at;
        size_t tables_before = kh_lsh_state_min_table_rows(grown->state);
        REQUIRE(add_rows(grown, data + at * SIG, rows) == KNOWHERE_OK);
        at += rows;
        *merges += kh_lsh_state_min_table_rows(grown->state) != tables_before;
        CHECK_EQ(knowhere_minhash_lsh_count(grown), at);
        check_structure(grown);
    }
    return grown;
}

static void test_grown_equals_built(void) {
    const size_t n = 60000;
    const size_t sizes[] = {1, 1, 7, 1, 130, 1, 2500, 1, 33, 9000};
    test_rng rng = {11};
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) /* rows from every part of the growth */
        memcpy(queries + q * SIG, data + (q * 149 % n) * SIG, SIG);
    for (int raw = 0; raw < 2; ++raw) {
        for (size_t first = 10; first <= 20000; first += 19990) {
            size_t merges = 0;
            knowhere_minhash_lsh *grown = grow(data, first, n, raw, sizes, 10, &merges);
            knowhere_minhash_lsh *built = build_index(data, n, LENGTH, ES, BANDS, raw);
            CHECK(merges >= 2); /* the deltas were merged, more than once */
            CHECK(knowhere_minhash_lsh_count(grown) == n);
            check_same_answers(grown, built, queries, QUERIES, true);
            printf("  raw %d, from %zu rows: %zu merges, %zu rows in deltas at the end\n", raw,
                   first, merges, grown->state->count - kh_lsh_state_min_table_rows(grown->state));
            knowhere_minhash_lsh_free(grown);
            knowhere_minhash_lsh_free(built);
        }
    }
    free(queries);
    free(data);
}

/* Interrupts `stop` as soon as the operation on it has reported progress
 * (so the add is stopped half-way, not before it starts). */
typedef struct {
    CInterrupt stop;
    atomic_bool quit;
} watcher;

static void *watch(void *arg) {
    watcher *w = arg;
    while (!atomic_load(&w->quit)) {
        uint64_t done = 0, total = 0;
        int phase = 0;
        if (knowhere_interrupt_progress(w->stop, &done, &total, &phase) == KNOWHERE_OK &&
            phase == KNOWHERE_PHASE_ADD && done > 0) {
            knowhere_interrupt_interrupt(w->stop);
            break;
        }
    }
    return NULL;
}

/* The index of the test: `built` rows built, then 5000 added (in deltas). */
static knowhere_minhash_lsh *half_grown(const uint8_t *data, size_t built, bool raw) {
    knowhere_minhash_lsh *index = build_index(data, built, LENGTH, ES, BANDS, raw);
    REQUIRE(add_rows(index, data + built * SIG, 5000) == KNOWHERE_OK);
    return index;
}

static void test_interrupted_add_changes_nothing(void) {
    const size_t n = 250000, built = 150000;
    test_rng rng = {12};
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) memcpy(queries + q * SIG, data + (q * 997 % n) * SIG, SIG);
    for (int raw = 0; raw < 2; ++raw) {
        knowhere_minhash_lsh *reference = half_grown(data, built, raw);
        knowhere_minhash_lsh *index = half_grown(data, built, raw);
        /* 40k rows go to the deltas; 95k make a merge. */
        const size_t attempts[] = {40000, 95000};
        for (size_t a = 0; a < 2; ++a) {
            int status = KNOWHERE_OK;
            for (int tries = 0; tries < 20 && status != KNOWHERE_ERR_INTERRUPTED; ++tries) {
                if (status == KNOWHERE_OK && tries > 0) { /* it finished first: start again */
                    knowhere_minhash_lsh_free(index);
                    index = half_grown(data, built, raw);
                }
                watcher w = {.stop = knowhere_interrupt_create()};
                atomic_init(&w.quit, false);
                pthread_t thread;
                REQUIRE(pthread_create(&thread, NULL, watch, &w) == 0);
                status = knowhere_minhash_lsh_add_with_interrupt(index, data + (built + 5000) * SIG,
                                                                 attempts[a] * SIG, w.stop, NULL);
                atomic_store(&w.quit, true);
                pthread_join(thread, NULL);
                knowhere_interrupt_free(w.stop);
            }
            CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
            CHECK_EQ(knowhere_minhash_lsh_count(index), built + 5000);
            /* The rows of the earlier add are still in the deltas, or (the
             * add merged them before its own rows went in) in the tables. */
            size_t in_deltas = index->state->count - kh_lsh_state_min_table_rows(index->state);
            CHECK(in_deltas == 5000 || in_deltas == 0);
            check_same_answers(index, reference, queries, QUERIES, false);
        }
        /* And the same rows then go in. */
        REQUIRE(add_rows(index, data + (built + 5000) * SIG, n - built - 5000) == KNOWHERE_OK);
        knowhere_minhash_lsh *all = build_index(data, n, LENGTH, ES, BANDS, raw);
        check_same_answers(index, all, queries, QUERIES, false);
        knowhere_minhash_lsh_free(all);
        knowhere_minhash_lsh_free(reference);
        knowhere_minhash_lsh_free(index);
    }
    free(queries);
    free(data);
}

static void test_removals_and_saves_of_a_grown_index(void) {
    const size_t n = 30000;
    test_rng rng = {13};
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) memcpy(queries + q * SIG, data + (q * 61 % n) * SIG, SIG);
    int64_t removed[] = {0, 5, 9999, 10000, 10001, 12345};
    const size_t n_removed = sizeof removed / sizeof removed[0];
    for (int raw = 0; raw < 2; ++raw) {
        knowhere_minhash_lsh *grown = build_index(data, 10000, LENGTH, ES, BANDS, raw);
        REQUIRE(knowhere_minhash_lsh_remove(grown, removed, 3, NULL, NULL) == KNOWHERE_OK);
        for (size_t at = 10000; at < n; at += 250) REQUIRE(add_rows(grown, data + at * SIG, 250) == KNOWHERE_OK);
        REQUIRE(knowhere_minhash_lsh_remove(grown, removed + 3, n_removed - 3, NULL, NULL) ==
                KNOWHERE_OK);
        for (int tail = 0; tail < 3; ++tail) /* rows in deltas at the save */
            REQUIRE(knowhere_minhash_lsh_add(grown, data + tail * SIG, SIG, NULL) == KNOWHERE_OK);
        CHECK(grown->state->count > kh_lsh_state_min_table_rows(grown->state));

        knowhere_minhash_lsh *built = knowhere_minhash_lsh_create();
        REQUIRE(built != NULL);
        REQUIRE(knowhere_minhash_lsh_build(built, data, n * SIG, LENGTH, ES, BANDS, raw, NULL) ==
                KNOWHERE_OK);
        REQUIRE(knowhere_minhash_lsh_add(built, data, 3 * SIG, NULL) == KNOWHERE_OK);
        REQUIRE(knowhere_minhash_lsh_remove(built, removed, n_removed, NULL, NULL) == KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(grown), n_removed);
        check_same_answers(grown, built, queries, QUERIES, true);

        uint8_t *bytes = NULL;
        size_t len = 0;
        REQUIRE(knowhere_minhash_lsh_serialize(grown, &bytes, &len, NULL) == KNOWHERE_OK);
        knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
        REQUIRE(loaded != NULL);
        knowhere_error *err = NULL;
        CHECK_EQ(knowhere_minhash_lsh_deserialize(loaded, bytes, len, &err), KNOWHERE_OK);
        if (err) fprintf(stderr, "deserialize: %s\n", knowhere_error_message(err));
        knowhere_error_free(err);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(loaded), n_removed);
        check_same_answers(loaded, built, queries, QUERIES, true);
        /* The loaded index has no deltas and the grown one's layout. */
        CHECK(kh_lsh_state_is_flat(loaded->state));
        CHECK_EQ(loaded->state->tables[0].layout.key_bits, grown->state->tables[0].layout.key_bits);
        knowhere_buffer_free(bytes);
        knowhere_minhash_lsh_free(loaded);
        knowhere_minhash_lsh_free(built);
        knowhere_minhash_lsh_free(grown);
    }
    free(queries);
    free(data);
}

/* The bytes of a serialized index (freed by the caller). */
static uint8_t *serialized(const knowhere_minhash_lsh *index, size_t *len) {
    uint8_t *bytes = NULL;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &bytes, len, NULL) == KNOWHERE_OK);
    return bytes;
}

static void check_same_bytes(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b) {
    size_t len_a = 0, len_b = 0;
    uint8_t *bytes_a = serialized(a, &len_a), *bytes_b = serialized(b, &len_b);
    CHECK_EQ(len_a, len_b);
    CHECK(len_a == len_b && memcmp(bytes_a, bytes_b, len_a) == 0);
    knowhere_buffer_free(bytes_a);
    knowhere_buffer_free(bytes_b);
}

/* The clustering (cover, with similarities) of a and b agree exactly. */
static void check_same_clusters(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b) {
    size_t n = knowhere_minhash_lsh_count(a);
    int64_t *rep_a = malloc(n * sizeof *rep_a), *rep_b = malloc(n * sizeof *rep_b);
    double *sim_a = malloc(n * sizeof *sim_a), *sim_b = malloc(n * sizeof *sim_b);
    REQUIRE(rep_a && rep_b && sim_a && sim_b);
    REQUIRE(knowhere_minhash_lsh_cluster_with_interrupt(a, 0.5f, KNOWHERE_CLUSTER_COVER, rep_a, sim_a,
                                                        n, NULL, NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_cluster_with_interrupt(b, 0.5f, KNOWHERE_CLUSTER_COVER, rep_b, sim_b,
                                                        n, NULL, NULL) == KNOWHERE_OK);
    CHECK(memcmp(rep_a, rep_b, n * sizeof *rep_a) == 0);
    CHECK(memcmp(sim_a, sim_b, n * sizeof *sim_a) == 0);
    size_t clustered = 0;
    for (size_t i = 0; i < n; ++i) clustered += rep_a[i] != (int64_t)i;
    CHECK(clustered > 0); /* not vacuous */
    free(rep_a);
    free(rep_b);
    free(sim_a);
    free(sim_b);
}

/* An index of `first` rows grown by adds of `step` rows to n, with a few
 * removals: rows in deltas, tables narrower than a build of n would make. */
static knowhere_minhash_lsh *grown_with_deltas(const uint8_t *data, size_t first, size_t n,
                                               size_t step, bool raw) {
    knowhere_minhash_lsh *index = build_index(data, first, LENGTH, ES, BANDS, raw);
    const int64_t removed[] = {1, 77, 3000, (int64_t)n - 2};
    for (size_t at = first; at < n; at += step)
        REQUIRE(add_rows(index, data + at * SIG, step < n - at ? step : n - at) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_remove(index, removed, 4, NULL, NULL) == KNOWHERE_OK);
    CHECK(kh_lsh_state_has_delta(index->state));
    return index;
}

static void test_compact_changes_no_answer(void) {
    const size_t n = 50000;
    test_rng rng = {14};
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) memcpy(queries + q * SIG, data + (q * 113 % n) * SIG, SIG);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_compact_with_interrupt(NULL, NULL, NULL), KNOWHERE_ERR_INVALID_ARG);
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    CHECK_EQ(knowhere_minhash_lsh_compact_with_interrupt(empty, NULL, &err), KNOWHERE_ERR_EMPTY_INDEX);
    CHECK(err != NULL);
    knowhere_error_free(err);
    knowhere_minhash_lsh_free(empty);
    for (int raw = 0; raw < 2; ++raw) {
        knowhere_minhash_lsh *reference = grown_with_deltas(data, 3000, n, 1700, raw);
        knowhere_minhash_lsh *index = grown_with_deltas(data, 3000, n, 1700, raw);
        REQUIRE(knowhere_minhash_lsh_compact_with_interrupt(index, NULL, NULL) == KNOWHERE_OK);
        const kh_lsh_state *s = index->state;
        CHECK(kh_lsh_state_is_flat(s));
        CHECK_EQ(kh_lsh_state_min_table_rows(s), n);
        CHECK(((size_t)16 << s->tables[0].layout.prefix_bits) > n); /* as wide as a build */
        CHECK(knowhere_minhash_lsh_memory_usage(index) < knowhere_minhash_lsh_memory_usage(reference));
        /* A grown index built at once, with the same removals. */
        knowhere_minhash_lsh *built = grown_with_deltas(data, n - 1, n, 1, raw);
        REQUIRE(knowhere_minhash_lsh_compact_with_interrupt(built, NULL, NULL) == KNOWHERE_OK);
        check_same_answers(index, reference, queries, QUERIES, true);
        check_same_answers(index, built, queries, QUERIES, true);
        check_same_clusters(index, reference);
        check_same_bytes(index, reference); /* a save merges the same way */
        REQUIRE(knowhere_minhash_lsh_compact_with_interrupt(index, NULL, NULL) == KNOWHERE_OK);
        CHECK(index->state == s);
        knowhere_minhash_lsh_free(built);
        knowhere_minhash_lsh_free(reference);
        knowhere_minhash_lsh_free(index);
    }
    free(queries);
    free(data);
}

/* Bands compacted and bands not, in different layouts (an interrupted
 * compaction): every answer and the saved bytes stay those of the index
 * before, adds go on from there, and a later compaction finishes. */
static void test_interrupted_compaction_leaves_mixed_bands(void) {
    /* Merged last at 60000 rows: the compaction widens the directories. */
    const size_t n = 130000, grown = 80000;
    test_rng rng = {15};
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) memcpy(queries + q * SIG, data + (q * 307 % n) * SIG, SIG);
    for (int raw = 0; raw < 2; ++raw) {
        knowhere_minhash_lsh *reference = grown_with_deltas(data, 3000, grown, 1000, raw);
        knowhere_minhash_lsh *index = NULL;
        int status = KNOWHERE_OK;
        size_t merged = 0;
        for (int tries = 0; tries < 20 && (merged == 0 || merged == BANDS); ++tries) {
            knowhere_minhash_lsh_free(index);
            index = grown_with_deltas(data, 3000, grown, 1000, raw);
            knowhere_minhash_lsh_set_num_threads(index, 1); /* one band after the other */
            watcher w = {.stop = knowhere_interrupt_create()};
            atomic_init(&w.quit, false);
            pthread_t thread;
            REQUIRE(pthread_create(&thread, NULL, watch, &w) == 0);
            status = knowhere_minhash_lsh_compact_with_interrupt(index, w.stop, NULL);
            atomic_store(&w.quit, true);
            pthread_join(thread, NULL);
            knowhere_interrupt_free(w.stop);
            merged = 0;
            for (size_t b = 0; b < BANDS; ++b) merged += kh_lsh_band_delta(index->state, b) == NULL;
        }
        CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
        CHECK(merged > 0 && merged < BANDS);
        const kh_lsh_state *s = index->state;
        bool mixed = false;
        for (size_t b = 1; b < BANDS; ++b)
            mixed |= s->tables[b].layout.prefix_bits != s->tables[0].layout.prefix_bits;
        CHECK(mixed);
        printf("  raw %d: %zu of %d bands merged when interrupted\n", raw, merged, BANDS);
        check_same_answers(index, reference, queries, QUERIES, true);
        check_same_clusters(index, reference);
        check_same_bytes(index, reference);

        /* Adds go on from the mixed state: to the deltas, and (more than a
         * quarter of the rows at once) through a compaction and a merge. */
        for (size_t at = grown; at < grown + 3000; at += 1500) {
            REQUIRE(add_rows(index, data + at * SIG, 1500) == KNOWHERE_OK);
            REQUIRE(add_rows(reference, data + at * SIG, 1500) == KNOWHERE_OK);
        }
        check_same_answers(index, reference, queries, QUERIES, true);
        check_same_bytes(index, reference);
        REQUIRE(add_rows(index, data + (grown + 3000) * SIG, n - grown - 3000) == KNOWHERE_OK);
        REQUIRE(add_rows(reference, data + (grown + 3000) * SIG, n - grown - 3000) == KNOWHERE_OK);
        check_same_answers(index, reference, queries, QUERIES, true);
        REQUIRE(knowhere_minhash_lsh_compact_with_interrupt(index, NULL, NULL) == KNOWHERE_OK);
        CHECK(kh_lsh_state_is_flat(index->state));
        check_same_answers(index, reference, queries, QUERIES, true);
        check_same_clusters(index, reference);
        check_same_bytes(index, reference);
        knowhere_minhash_lsh_free(reference);
        knowhere_minhash_lsh_free(index);
    }
    free(queries);
    free(data);
}

int main(void) {
    RUN(test_grown_equals_built);
    RUN(test_interrupted_add_changes_nothing);
    RUN(test_removals_and_saves_of_a_grown_index);
    RUN(test_compact_changes_no_answer);
    RUN(test_interrupted_compaction_leaves_mixed_bands);
    return CHECK_DONE();
}
