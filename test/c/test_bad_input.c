/* The bad-input matrix of the C API: for every public function, NULL for
 * each pointer, zero and huge sizes, lengths that do not divide or whose
 * products overflow, k = 0 and k > n, short bitsets, element sizes 0 and
 * 33, bands 0 and more than the length, and files that are missing, empty,
 * a directory, truncated or of another format. Each case has an exact
 * status and a message fragment, and after every case the index answers
 * exactly as it did before. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "knowhere_rs.h"
#include "test_data.h"

enum { LENGTH = 16, ES = 4, SIG = LENGTH * ES, N = 64, BANDS = 4, K = 4 };
enum { INVALID = KNOWHERE_ERR_INVALID_ARG };

static uint8_t *data;
static knowhere_minhash_lsh *index_;
static int64_t ids[N + 8];
static float d[N + 8];
static char dir[64];

/* ---- what the index answers, before and after every case ------------------- */

static int64_t before_ids[N * K];
static float before_d[N * K];

static void snapshot(int64_t *out_ids, float *out_d) {
    REQUIRE(knowhere_minhash_lsh_batch_search(index_, data, N * SIG, N, K, NULL, 0, out_ids, out_d,
                                              NULL) == KNOWHERE_OK);
}

static void check_unchanged(int line) {
    static int64_t now_ids[N * K];
    static float now_d[N * K];
    snapshot(now_ids, now_d);
    if (knowhere_minhash_lsh_count(index_) != N ||
        memcmp(now_ids, before_ids, sizeof now_ids) != 0 ||
        memcmp(now_d, before_d, sizeof now_d) != 0) {
        fprintf(stderr, "line %d: the index changed\n", line);
        check_failures++;
    }
}

static void expect(int got, knowhere_error *err, int status, const char *fragment, int line) {
    bool ok = got == status;
    if (status == KNOWHERE_OK) ok = ok && err == NULL;
    else ok = ok && err != NULL && knowhere_error_code(err) == status &&
              strstr(knowhere_error_message(err), fragment) != NULL;
    if (!ok) {
        fprintf(stderr, "line %d: got %d '%s', want %d with '%s'\n", line, got,
                knowhere_error_message(err), status, fragment);
        check_failures++;
    }
    knowhere_error_free(err);
    check_unchanged(line);
}

/* `call` is evaluated with a fresh `err` in scope. */
#define CASE(call, status, fragment)                                           \
    do {                                                                       \
        knowhere_error *err = NULL;                                            \
        int got_ = (call);                                                     \
        expect(got_, err, status, fragment, __LINE__);                         \
    } while (0)

/* ---- the matrix -------------------------------------------------------------------- */

static void test_build_and_add(void) {
    const uint8_t *x = data;
    CASE(knowhere_minhash_lsh_build(NULL, x, N * SIG, LENGTH, ES, BANDS, true, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_build(index_, NULL, N * SIG, LENGTH, ES, BANDS, true, &err), INVALID, "data is NULL");
    CASE(knowhere_minhash_lsh_build(index_, NULL, 0, LENGTH, ES, BANDS, true, &err), INVALID, "data_len 0 is not a positive multiple");
    CASE(knowhere_minhash_lsh_build(index_, x, 0, LENGTH, ES, BANDS, true, &err), INVALID, "data_len 0 is not a positive multiple");
    CASE(knowhere_minhash_lsh_build(index_, x, SIG - 1, LENGTH, ES, BANDS, true, &err), INVALID, "signature size 64");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG + 3, LENGTH, ES, BANDS, true, &err), INVALID, "data_len 4099");
    CASE(knowhere_minhash_lsh_build(index_, x, SIZE_MAX, LENGTH, ES, BANDS, true, &err), INVALID, "not a positive multiple");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, 0, ES, BANDS, true, &err), INVALID, "mh_vec_length must be at least 1");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, LENGTH, 0, BANDS, true, &err), INVALID, "mh_vec_element_size 0 is not in 1..32");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, LENGTH, 33, BANDS, true, &err), INVALID, "mh_vec_element_size 33 is not in 1..32");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, LENGTH, SIZE_MAX, BANDS, true, &err), INVALID, "is not in 1..32");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, LENGTH, ES, 0, true, &err), INVALID, "bands must be at least 1");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, SIZE_MAX, 2, BANDS, true, &err), INVALID, "signature size overflows");
    CASE(knowhere_minhash_lsh_build(index_, x, N * SIG, SIZE_MAX / 16 + 1, 32, BANDS, true, &err), INVALID, "overflows");

    CASE(knowhere_minhash_lsh_add(NULL, x, SIG, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_add(index_, NULL, SIG, &err), INVALID, "data is NULL");
    CASE(knowhere_minhash_lsh_add(index_, x, 0, &err), INVALID, "data_len 0");
    CASE(knowhere_minhash_lsh_add(index_, x, SIG + 1, &err), INVALID, "signature size 64");
    CASE(knowhere_minhash_lsh_add(index_, x, SIZE_MAX, &err), INVALID, "not a positive multiple");
    CASE(knowhere_minhash_lsh_add(index_, x, SIZE_MAX - SIZE_MAX % SIG, &err), INVALID, "too many signatures");

    /* A never-built index: add is EMPTY_INDEX, the built one is untouched. */
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    REQUIRE(empty != NULL);
    CASE(knowhere_minhash_lsh_add(empty, x, SIG, &err), KNOWHERE_ERR_EMPTY_INDEX, "build it first");
    knowhere_minhash_lsh_free(empty);
}

static void test_search(void) {
    const uint8_t *q = data;
    CASE(knowhere_minhash_lsh_search(NULL, q, SIG, K, NULL, 0, ids, d, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_search(index_, NULL, SIG, K, NULL, 0, ids, d, &err), INVALID, "query is NULL");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, 0, NULL, 0, ids, d, &err), INVALID, "k must be at least 1");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, K, NULL, 0, NULL, d, &err), INVALID, "ids or distances is NULL");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, K, NULL, 0, ids, NULL, &err), INVALID, "ids or distances is NULL");
    CASE(knowhere_minhash_lsh_search(index_, q, 0, K, NULL, 0, ids, d, &err), INVALID, "query length 0");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG - 1, K, NULL, 0, ids, d, &err), INVALID, "query length 63");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG + 1, K, NULL, 0, ids, d, &err), INVALID, "query length 65");
    CASE(knowhere_minhash_lsh_search(index_, q, SIZE_MAX, K, NULL, 0, ids, d, &err), INVALID, "query length");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, SIZE_MAX, NULL, 0, ids, d, &err), INVALID, "overflow");
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, SIZE_MAX / 8 + 1, NULL, 0, ids, d, &err), INVALID, "overflow");
    /* Valid edge cases: k > n pads with -1; a short bitset excludes the rest. */
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, N + 8, NULL, 0, ids, d, &err), KNOWHERE_OK, "");
    CHECK(ids[0] == 0 && ids[N + 7] == -1 && d[N + 7] == 0.0f);
    uint8_t bitset[1] = {0x01}; /* excludes id 0, and ids >= 3 */
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, K, bitset, 3, ids, d, &err), KNOWHERE_OK, "");
    for (int i = 0; i < K; ++i) CHECK(ids[i] == -1 || (ids[i] >= 1 && ids[i] < 3));
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, K, bitset, 0, ids, d, &err), KNOWHERE_OK, "");
    CHECK(ids[0] == -1);
    CASE(knowhere_minhash_lsh_search(index_, q, SIG, K, NULL, 12345, ids, d, &err), KNOWHERE_OK, "");
    CHECK(ids[0] == 0); /* NULL bitset: no filter whatever the bit count */
}

static void test_batch_search(void) {
    const uint8_t *q = data;
    CASE(knowhere_minhash_lsh_batch_search(NULL, q, 2 * SIG, 2, K, NULL, 0, ids, d, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_batch_search(index_, NULL, 2 * SIG, 2, K, NULL, 0, ids, d, &err), INVALID, "query is NULL");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, 0, K, NULL, 0, ids, d, &err), INVALID, "nq must be at least 1");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, 2, 0, NULL, 0, ids, d, &err), INVALID, "k must be at least 1");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, 2, K, NULL, 0, NULL, d, &err), INVALID, "ids or distances");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, 3, K, NULL, 0, ids, d, &err), INVALID, "query length 128 is not 3 queries");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG + 1, 2, K, NULL, 0, ids, d, &err), INVALID, "query length 129");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, SIZE_MAX / 4, 4, NULL, 0, ids, d, &err), INVALID, "overflow");
    CASE(knowhere_minhash_lsh_batch_search(index_, q, 2 * SIG, SIZE_MAX / 16, 1, NULL, 0, ids, d, &err), INVALID, "query length");
}

static void test_get_vector_by_ids(void) {
    uint8_t out[2 * SIG];
    int64_t good[2] = {0, N - 1}, bad[] = {-1, N, INT64_MAX, INT64_MIN};
    CASE(knowhere_minhash_lsh_get_vector_by_ids(NULL, good, 2, out, sizeof out, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, NULL, 2, out, sizeof out, &err), INVALID, "ids or out is NULL");
    CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, good, 2, NULL, sizeof out, &err), INVALID, "ids or out is NULL");
    CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, good, 2, out, sizeof out - 1, &err), INVALID, "out_len 127 is smaller");
    CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, good, SIZE_MAX, out, sizeof out, &err), INVALID, "is smaller");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        char fragment[64];
        snprintf(fragment, sizeof fragment, "id %lld (at position 0)", (long long)bad[i]);
        CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, &bad[i], 1, out, sizeof out, &err), INVALID, fragment);
    }
    CASE(knowhere_minhash_lsh_get_vector_by_ids(index_, good, 0, NULL, 0, &err), KNOWHERE_OK, "");
}

static void test_save_and_serialize(void) {
    char path[128], missing_dir[128];
    snprintf(path, sizeof path, "%s/index.bin", dir);
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir/index.bin", dir);
    CASE(knowhere_minhash_lsh_save(NULL, path, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_save(index_, NULL, &err), INVALID, "path is NULL or empty");
    CASE(knowhere_minhash_lsh_save(index_, "", &err), INVALID, "path is NULL or empty");
    CASE(knowhere_minhash_lsh_save(index_, missing_dir, &err), KNOWHERE_ERR_FILE, "no/such/dir");
    CASE(knowhere_minhash_lsh_save(index_, dir, &err), KNOWHERE_ERR_FILE, dir);
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    CASE(knowhere_minhash_lsh_save(empty, path, &err), KNOWHERE_ERR_EMPTY_INDEX, "");
    CHECK(access(path, F_OK) != 0); /* nothing written by any of them */

    uint8_t *bytes = (uint8_t *)1;
    size_t len = 7;
    CASE(knowhere_minhash_lsh_serialize(NULL, &bytes, &len, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_serialize(index_, NULL, &len, &err), INVALID, "out or out_len is NULL");
    CASE(knowhere_minhash_lsh_serialize(index_, &bytes, NULL, &err), INVALID, "out or out_len is NULL");
    CASE(knowhere_minhash_lsh_serialize(empty, &bytes, &len, &err), KNOWHERE_ERR_EMPTY_INDEX, "");
    CHECK(bytes == NULL && len == 0);
    knowhere_minhash_lsh_free(empty);
    knowhere_buffer_free(NULL);
}

static void write_file(const char *path, const void *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    if (len) REQUIRE(fwrite(bytes, 1, len, f) == len);
    fclose(f);
}

static void test_load_and_deserialize(void) {
    char path[128], empty[128], other[128], truncated[128];
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    snprintf(empty, sizeof empty, "%s/empty.bin", dir);
    snprintf(other, sizeof other, "%s/other.txt", dir);
    snprintf(truncated, sizeof truncated, "%s/truncated.bin", dir);
    write_file(empty, "", 0);
    const char text[] = "this is a text file, not an index\n";
    write_file(other, text, sizeof text - 1);
    uint8_t *bytes = NULL;
    size_t len = 0;
    REQUIRE(knowhere_minhash_lsh_serialize(index_, &bytes, &len, NULL) == KNOWHERE_OK);
    write_file(truncated, bytes, len / 2);

    CASE(knowhere_minhash_lsh_load(NULL, path, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_load(index_, NULL, &err), INVALID, "path is NULL or empty");
    CASE(knowhere_minhash_lsh_load(index_, "", &err), INVALID, "path is NULL or empty");
    CASE(knowhere_minhash_lsh_load(index_, path, &err), KNOWHERE_ERR_FILE, "missing.bin");
    CASE(knowhere_minhash_lsh_load(index_, dir, &err), KNOWHERE_ERR_FILE, "cannot load");
    CASE(knowhere_minhash_lsh_load(index_, empty, &err), KNOWHERE_ERR_CORRUPT, "");
    CASE(knowhere_minhash_lsh_load(index_, other, &err), KNOWHERE_ERR_CORRUPT, "magic");
    CASE(knowhere_minhash_lsh_load(index_, truncated, &err), KNOWHERE_ERR_CORRUPT, "");

    CASE(knowhere_minhash_lsh_deserialize(NULL, bytes, len, &err), INVALID, "index is NULL");
    CASE(knowhere_minhash_lsh_deserialize(index_, NULL, len, &err), INVALID, "data is NULL");
    CASE(knowhere_minhash_lsh_deserialize(index_, bytes, 0, &err), KNOWHERE_ERR_CORRUPT, "");
    CASE(knowhere_minhash_lsh_deserialize(index_, bytes, len - 1, &err), KNOWHERE_ERR_CORRUPT, "");
    CASE(knowhere_minhash_lsh_deserialize(index_, (const uint8_t *)text, sizeof text, &err), KNOWHERE_ERR_CORRUPT, "magic");
    bytes[len / 3] ^= 0x40;
    CASE(knowhere_minhash_lsh_deserialize(index_, bytes, len, &err), KNOWHERE_ERR_CORRUPT, "");
    knowhere_buffer_free(bytes);
    unlink(empty);
    unlink(other);
    unlink(truncated);
}

static void test_handles_and_threads(void) {
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(NULL, 4), INVALID);
    /* Absurd thread counts are capped once, where they are resolved: every
     * operation then sizes its per-thread scratch for the threads that run
     * (it once asked for 2^40 of them and failed with "out of memory"). */
    const size_t huge[] = {SIZE_MAX, (size_t)1 << 40, KNOWHERE_MAX_THREADS + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; ++i) {
        CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index_, huge[i]), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_num_threads(index_), KNOWHERE_MAX_THREADS);
        check_unchanged(__LINE__); /* a batch search */
        CASE(knowhere_minhash_lsh_build(index_, data, N * SIG, LENGTH, ES, BANDS, true, &err),
             KNOWHERE_OK, "");
        knowhere_pairs *pairs = NULL;
        CASE(knowhere_minhash_lsh_self_join_with_interrupt(index_, 0.5f, &pairs, NULL, &err),
             KNOWHERE_OK, "");
        knowhere_pairs_free(pairs);
        knowhere_range_result *result = NULL;
        CASE(knowhere_minhash_lsh_range_search_with_interrupt(index_, data, 2 * SIG, 2, 0.5f, NULL,
                                                              0, &result, NULL, &err),
             KNOWHERE_OK, "");
        knowhere_range_result_free(result);
    }
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index_, KNOWHERE_MAX_THREADS), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_num_threads(index_), KNOWHERE_MAX_THREADS);
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index_, 3), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_num_threads(index_), 3);
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index_, 0), KNOWHERE_OK);
    CHECK(knowhere_minhash_lsh_num_threads(index_) >= 1 &&
          knowhere_minhash_lsh_num_threads(index_) <= KNOWHERE_MAX_THREADS);
    CHECK_EQ(knowhere_interrupt_interrupt(NULL), INVALID);
    CHECK_EQ(knowhere_interrupt_reset(NULL), INVALID);
    CHECK_EQ(knowhere_interrupt_set_deadline(NULL, 1), INVALID);
    CHECK_EQ(knowhere_interrupt_set_progress(NULL, NULL, NULL), INVALID);
    CHECK_EQ(knowhere_interrupt_progress(NULL, NULL, NULL, NULL), INVALID);
    CHECK(knowhere_interrupt_clone(NULL) == NULL);
    knowhere_interrupt_free(NULL);
    knowhere_minhash_lsh_free(NULL);
    knowhere_error_free(NULL);
    CHECK_EQ(knowhere_error_set(NULL, KNOWHERE_ERR_FILE, NULL), KNOWHERE_ERR_FILE);
    CHECK_EQ(knowhere_minhash_lsh_count(NULL) + knowhere_minhash_lsh_bands(NULL) +
                 knowhere_minhash_lsh_mh_vec_length(NULL) + knowhere_minhash_lsh_element_size(NULL) +
                 knowhere_minhash_lsh_rows_per_band(NULL) + knowhere_minhash_lsh_memory_usage(NULL),
             0);
}

int main(void) {
    test_rng rng = {31};
    data = random_signatures(&rng, N, SIG);
    index_ = knowhere_minhash_lsh_create();
    REQUIRE(data && index_);
    REQUIRE(knowhere_minhash_lsh_build(index_, data, N * SIG, LENGTH, ES, BANDS, true, NULL) ==
            KNOWHERE_OK);
    snapshot(before_ids, before_d);
    snprintf(dir, sizeof dir, "/tmp/knowhere-bad-input-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_build_and_add);
    RUN(test_search);
    RUN(test_batch_search);
    RUN(test_get_vector_by_ids);
    RUN(test_save_and_serialize);
    RUN(test_load_and_deserialize);
    RUN(test_handles_and_threads);
    rmdir(dir);
    knowhere_minhash_lsh_free(index_);
    free(data);
    return CHECK_DONE();
}
