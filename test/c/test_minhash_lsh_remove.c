/* Removing signatures: after knowhere_minhash_lsh_remove, every search,
 * batch search, range search and self-join equals the same call on the
 * index without removals with the removed ids filtered out (a caller's
 * bitset, itself tested against brute force elsewhere); get_vector_by_ids
 * refuses removed ids; add keeps the removals, build clears them;
 * serialize / deserialize keeps them (and an index with none removed
 * serializes exactly as before); bad ids change nothing. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

enum { LENGTH = 32, ES = 4, BANDS = 8, N = 2000, QUERIES = 300, K = 10 };
static const size_t SIG = LENGTH * ES;

/* Every 7th row and the first 25 rows (whole clusters of ten). */
static size_t removed_ids(int64_t *ids, uint8_t *bitset) {
    size_t n = 0;
    memset(bitset, 0, (N + 7) / 8);
    for (int64_t id = 0; id < N; ++id) {
        if (id % 7 != 3 && id >= 25) continue;
        ids[n++] = id;
        bitset[id >> 3] |= (uint8_t)(1u << (id & 7));
    }
    return n;
}

static size_t removed_of(const knowhere_minhash_lsh *index, const int64_t *ids, size_t n) {
    size_t fresh = 12345;
    REQUIRE(knowhere_minhash_lsh_remove((knowhere_minhash_lsh *)index, ids, n, &fresh, NULL) ==
            KNOWHERE_OK);
    return fresh;
}

/* Batch search of `queries` on a (with removals, no filter) and on b (no
 * removals, the removed ids as a filter): equal. */
static void check_search(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b,
                         const uint8_t *queries, const uint8_t *bitset) {
    static int64_t ids_a[QUERIES * K], ids_b[QUERIES * K];
    static float d_a[QUERIES * K], d_b[QUERIES * K];
    REQUIRE(knowhere_minhash_lsh_batch_search(a, queries, QUERIES * SIG, QUERIES, K, NULL, 0, ids_a,
                                              d_a, NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_batch_search(b, queries, QUERIES * SIG, QUERIES, K, bitset, N,
                                              ids_b, d_b, NULL) == KNOWHERE_OK);
    CHECK(memcmp(ids_a, ids_b, sizeof ids_a) == 0);
    CHECK(memcmp(d_a, d_b, sizeof d_a) == 0);
    size_t found = 0;
    for (size_t i = 0; i < QUERIES * K; ++i) {
        found += ids_a[i] >= 0;
        CHECK(ids_a[i] < 0 || !ref_filtered_out(bitset, N, (size_t)ids_a[i]));
    }
    CHECK(found > QUERIES); /* the queries do find things */
    /* single search and range search agree too */
    int64_t one[K];
    float one_d[K];
    REQUIRE(knowhere_minhash_lsh_search(a, queries, SIG, K, NULL, 0, one, one_d, NULL) ==
            KNOWHERE_OK);
    CHECK(memcmp(one, ids_a, sizeof one) == 0);
    knowhere_range_result *ra = NULL, *rb = NULL;
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(a, queries, QUERIES * SIG, QUERIES,
                                                             0.3f, NULL, 0, &ra, NULL,
                                                             NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(b, queries, QUERIES * SIG, QUERIES,
                                                             0.3f, bitset, N, &rb, NULL,
                                                             NULL) == KNOWHERE_OK);
    size_t total = (size_t)knowhere_range_result_lims(ra)[QUERIES];
    CHECK(total == (size_t)knowhere_range_result_lims(rb)[QUERIES]);
    CHECK(memcmp(knowhere_range_result_lims(ra), knowhere_range_result_lims(rb),
                 (QUERIES + 1) * sizeof(uint64_t)) == 0);
    CHECK(memcmp(knowhere_range_result_ids(ra), knowhere_range_result_ids(rb),
                 total * sizeof(int64_t)) == 0);
    knowhere_range_result_free(ra);
    knowhere_range_result_free(rb);
}

/* The self-join of a (with removals) is b's (none removed) without the
 * pairs that touch a removed id. */
static void check_self_join(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b,
                            const uint8_t *bitset) {
    knowhere_pairs *pa = NULL, *pb = NULL;
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(a, 0.5f, &pa, NULL, NULL) == KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(b, 0.5f, &pb, NULL, NULL) == KNOWHERE_OK);
    size_t kept = 0, dropped = 0, na = knowhere_pairs_count(pa);
    for (size_t i = 0; i < knowhere_pairs_count(pb); ++i) {
        int64_t l = knowhere_pairs_left(pb)[i], r = knowhere_pairs_right(pb)[i];
        if (ref_filtered_out(bitset, N, (size_t)l) || ref_filtered_out(bitset, N, (size_t)r)) {
            dropped++;
            continue;
        }
        bool same = kept < na && knowhere_pairs_left(pa)[kept] == l &&
                    knowhere_pairs_right(pa)[kept] == r &&
                    knowhere_pairs_similarity(pa)[kept] == knowhere_pairs_similarity(pb)[i];
        CHECK(same);
        kept++;
    }
    CHECK_EQ(kept, na);
    CHECK(dropped > 0 && kept > 0);
    knowhere_pairs_free(pa);
    knowhere_pairs_free(pb);
}

/* QUERIES queries: rows 0, stride, 2 stride, ... of data (cyclically). */
static uint8_t *rows_as_queries(const uint8_t *data, size_t stride) {
    uint8_t *queries = malloc(QUERIES * SIG);
    REQUIRE(queries != NULL);
    for (size_t q = 0; q < QUERIES; ++q) memcpy(queries + q * SIG, data + ((q * stride) % N) * SIG, SIG);
    return queries;
}

static void test_removed_rows_are_never_found(void) {
    test_rng rng = {77};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    uint8_t *queries = rows_as_queries(data, 7); /* in clusters with removed rows */
    int64_t ids[N];
    uint8_t bitset[(N + 7) / 8];
    size_t n = removed_ids(ids, bitset);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *a = build_index(data, N, LENGTH, ES, BANDS, raw);
        knowhere_minhash_lsh *b = build_index(data, N, LENGTH, ES, BANDS, raw);
        size_t before = knowhere_minhash_lsh_memory_usage(a);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(a), 0);
        CHECK_EQ(removed_of(a, ids, n / 2), n / 2);
        CHECK_EQ(removed_of(a, ids, n), n - n / 2); /* the first half again: not counted */
        CHECK_EQ(removed_of(a, ids, n), 0);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(a), n);
        CHECK_EQ(knowhere_minhash_lsh_count(a), N); /* ids stay */
        CHECK_EQ(knowhere_minhash_lsh_memory_usage(a), before + (N + 7) / 8);
        check_search(a, b, queries, bitset);
        check_self_join(a, b, bitset);
        /* a caller's filter adds to the removals */
        int64_t got[K];
        float d[K];
        uint8_t none[(N + 7) / 8];
        memset(none, 0xFF, sizeof none);
        REQUIRE(knowhere_minhash_lsh_search(a, queries, SIG, K, none, N, got, d, NULL) ==
                KNOWHERE_OK);
        CHECK(got[0] == -1);
        knowhere_minhash_lsh_free(a);
        knowhere_minhash_lsh_free(b);
    }
    free(queries);
    free(data);
}

static void test_get_vector_by_ids(void) {
    test_rng rng = {78};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, true);
    int64_t five = 5, six = 6;
    CHECK_EQ(removed_of(index, &five, 1), 1);
    uint8_t out[SIG];
    EXPECT_ERROR(knowhere_minhash_lsh_get_vector_by_ids(index, &five, 1, out, SIG, &err),
                 KNOWHERE_ERR_INVALID_ARG, "id 5 (at position 0) was removed");
    REQUIRE(knowhere_minhash_lsh_get_vector_by_ids(index, &six, 1, out, SIG, NULL) == KNOWHERE_OK);
    CHECK(memcmp(out, data + 6 * SIG, SIG) == 0);
    knowhere_minhash_lsh_free(index);
    free(data);
}

static void test_add_keeps_and_build_clears(void) {
    test_rng rng = {79};
    uint8_t *data = clustered_signatures(&rng, 2 * N, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, N, LENGTH, ES, BANDS, true);
    int64_t ids[3] = {0, 1, N - 1};
    CHECK_EQ(removed_of(index, ids, 3), 3);
    REQUIRE(knowhere_minhash_lsh_add(index, data + N * SIG, N * SIG, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 2 * N);
    CHECK_EQ(knowhere_minhash_lsh_removed_count(index), 3);
    int64_t got[2];
    float d[2];
    for (size_t q = 0; q < 3; ++q) { /* removed: an exact copy is not found */
        REQUIRE(knowhere_minhash_lsh_search(index, data + (size_t)ids[q] * SIG, SIG, 2, NULL, 0,
                                            got, d, NULL) == KNOWHERE_OK);
        CHECK(got[0] != ids[q] && got[1] != ids[q]);
    }
    REQUIRE(knowhere_minhash_lsh_search(index, data + (N + 1) * SIG, SIG, 1, NULL, 0, got, d,
                                        NULL) == KNOWHERE_OK);
    CHECK(got[0] == N + 1 && d[0] == 1.0f); /* added rows are found */
    int64_t added = N + 1;
    CHECK_EQ(removed_of(index, &added, 1), 1); /* and can be removed */
    REQUIRE(knowhere_minhash_lsh_search(index, data + (N + 1) * SIG, SIG, 1, NULL, 0, got, d,
                                        NULL) == KNOWHERE_OK);
    CHECK(got[0] != N + 1);
    REQUIRE(knowhere_minhash_lsh_build(index, data, N * SIG, LENGTH, ES, BANDS, true, NULL) ==
            KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_removed_count(index), 0);
    REQUIRE(knowhere_minhash_lsh_search(index, data, SIG, 1, NULL, 0, got, d, NULL) ==
            KNOWHERE_OK);
    CHECK(got[0] == 0);
    knowhere_minhash_lsh_free(index);
    free(data);
}

static uint8_t *serialize(const knowhere_minhash_lsh *index, size_t *len) {
    uint8_t *bytes = NULL;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &bytes, len, NULL) == KNOWHERE_OK);
    return bytes;
}

static void test_serialize_keeps_removals(void) {
    test_rng rng = {80};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    uint8_t *queries = rows_as_queries(data, 3);
    int64_t ids[N];
    uint8_t bitset[(N + 7) / 8];
    size_t n = removed_ids(ids, bitset);
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *a = build_index(data, N, LENGTH, ES, BANDS, raw);
        knowhere_minhash_lsh *b = build_index(data, N, LENGTH, ES, BANDS, raw);
        /* none removed: the bytes of an index that never saw remove */
        CHECK_EQ(removed_of(a, ids, 0), 0);
        size_t len_a = 0, len_b = 0;
        uint8_t *bytes_a = serialize(a, &len_a), *bytes_b = serialize(b, &len_b);
        CHECK(len_a == len_b && memcmp(bytes_a, bytes_b, len_a) == 0);
        CHECK_EQ(bytes_a[12] & 2, 0); /* flags: no removed-rows section */
        knowhere_buffer_free(bytes_a);
        knowhere_buffer_free(bytes_b);

        CHECK_EQ(removed_of(a, ids, n), n);
        size_t len = 0;
        uint8_t *bytes = serialize(a, &len);
        CHECK_EQ(bytes[12] & 2, 2);
        CHECK_EQ(len, len_a + 8 + (N + 7) / 8 + 8); /* a length, the bitset, a checksum */
        knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
        REQUIRE(knowhere_minhash_lsh_deserialize(loaded, bytes, len, NULL) == KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(loaded), n);
        check_search(loaded, b, queries, bitset);
        /* and it serializes to the same bytes */
        size_t again_len = 0;
        uint8_t *again = serialize(loaded, &again_len);
        CHECK(again_len == len && memcmp(again, bytes, len) == 0);
        knowhere_buffer_free(again);
        knowhere_buffer_free(bytes);
        knowhere_minhash_lsh_free(loaded);
        knowhere_minhash_lsh_free(a);
        knowhere_minhash_lsh_free(b);
    }
    free(queries);
    free(data);
}

static void test_bad_calls_change_nothing(void) {
    int64_t id = 0;
    EXPECT_ERROR(knowhere_minhash_lsh_remove(NULL, &id, 1, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    EXPECT_ERROR(knowhere_minhash_lsh_remove(index, &id, 1, NULL, &err),
                 KNOWHERE_ERR_EMPTY_INDEX, "remove needs a built index");
    knowhere_minhash_lsh_free(index);

    test_rng rng = {81};
    uint8_t *data = clustered_signatures(&rng, N, LENGTH, ES);
    index = build_index(data, N, LENGTH, ES, BANDS, false);
    int64_t ids[3] = {4, N, 5};
    size_t removed = 99;
    EXPECT_ERROR(knowhere_minhash_lsh_remove(index, ids, 3, &removed, &err),
                 KNOWHERE_ERR_INVALID_ARG, "id 2000 (at position 1) is not in 0..1999");
    CHECK_EQ(removed, 0);
    ids[1] = -1;
    EXPECT_ERROR(knowhere_minhash_lsh_remove(index, ids, 3, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "id -1 (at position 1)");
    EXPECT_ERROR(knowhere_minhash_lsh_remove(index, NULL, 2, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "ids is NULL but n is 2");
    CHECK_EQ(knowhere_minhash_lsh_removed_count(index), 0); /* id 4 was not removed */
    int64_t got[1];
    float d[1];
    REQUIRE(knowhere_minhash_lsh_search(index, data + 4 * SIG, SIG, 1, NULL, 0, got, d, NULL) ==
            KNOWHERE_OK);
    CHECK(got[0] == 4);
    CHECK_EQ(removed_of(index, NULL, 0), 0); /* nothing to do */
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_removed_rows_are_never_found);
    RUN(test_get_vector_by_ids);
    RUN(test_add_keeps_and_build_clears);
    RUN(test_serialize_keeps_removals);
    RUN(test_bad_calls_change_nothing);
    return CHECK_DONE();
}
