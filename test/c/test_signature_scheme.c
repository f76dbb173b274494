/* The signature scheme an index records: set, read, checked against query
 * options (version and every option), kept by build and add, saved and
 * loaded (flag bit 2 and a 32-byte section), cleared by loading a file
 * without one; a file without a scheme has exactly the bytes of before;
 * a scheme section that contradicts the header is CORRUPT; bad input. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"
#include "xxh3.h"

enum { K = 16, ES = 4, BANDS = 4, N = 40 };

static knowhere_signature_options scheme_options(uint32_t kind, uint32_t size, uint64_t seed) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    o.num_hashes = K;
    o.value_bytes = ES;
    o.shingle_kind = kind;
    o.shingle_size = size;
    o.seed = seed;
    return o;
}

static uint8_t *serialize(const knowhere_minhash_lsh *index, size_t *len) {
    uint8_t *bytes = NULL;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &bytes, len, NULL) == KNOWHERE_OK);
    return bytes;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rule C of docs/format.md for inputs of at most 256 KiB. */
static uint64_t rule_c(const uint8_t *p, size_t n) {
    uint8_t h[8];
    put64(h, kh_xxh3_64(p, n));
    return kh_xxh3_64(h, 8);
}

static void test_set_get_check(void) {
    test_rng rng = {1};
    uint8_t *data = clustered_signatures(&rng, N, K, ES);
    knowhere_minhash_lsh *index = build_index(data, N, K, ES, BANDS, true);
    uint32_t version = 99;
    knowhere_signature_options got;
    knowhere_signature_options_init(&got);
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(index, &got, &version, NULL), KNOWHERE_OK);
    CHECK_EQ(version, 0);
    knowhere_signature_options words = scheme_options(KNOWHERE_SHINGLE_WORDS, 3, 7);
    /* Nothing recorded: nothing to check. */
    CHECK_EQ(knowhere_minhash_lsh_check_signature_scheme(index, &words, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_set_signature_scheme(index, &words, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(index, &got, &version, NULL), KNOWHERE_OK);
    CHECK(version == KNOWHERE_SIGNATURE_SCHEME_VERSION && got.num_hashes == K && got.seed == 7 &&
          got.shingle_size == 3 && got.size == sizeof got);
    CHECK_EQ(knowhere_minhash_lsh_check_signature_scheme(index, &words, NULL), KNOWHERE_OK);
    knowhere_signature_options chars = scheme_options(KNOWHERE_SHINGLE_CHARS, 5, 7);
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(index, &chars, &err),
                 KNOWHERE_ERR_INVALID_ARG,
                 "the index holds signatures of words:3, 16 values of 4 bytes, seed 7, lower-cased, "
                 "and the queries are chars:5, 16 values of 4 bytes, seed 7, lower-cased");
    knowhere_signature_options other = words;
    other.seed = 8;
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(index, &other, &err),
                 KNOWHERE_ERR_INVALID_ARG, "seed 8");
    other = words;
    other.flags = KNOWHERE_SIGNATURE_KEEP_CASE;
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(index, &other, &err),
                 KNOWHERE_ERR_INVALID_ARG, "case kept");
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(index, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "128 values");
    /* The shape must be the index's; invalid options are refused. */
    other = words;
    other.num_hashes = 32;
    EXPECT_ERROR(knowhere_minhash_lsh_set_signature_scheme(index, &other, &err),
                 KNOWHERE_ERR_INVALID_ARG, "32 values of 4 bytes, but the index holds 16 values");
    other = words;
    other.shingle_size = 0;
    EXPECT_ERROR(knowhere_minhash_lsh_set_signature_scheme(index, &other, &err),
                 KNOWHERE_ERR_INVALID_ARG, "shingle_size");
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(index, &other, &err),
                 KNOWHERE_ERR_INVALID_ARG, "shingle_size");
    EXPECT_ERROR(knowhere_minhash_lsh_set_signature_scheme(NULL, &words, &err),
                 KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    knowhere_signature_options small = got;
    small.size = 8;
    EXPECT_ERROR(knowhere_minhash_lsh_signature_scheme(index, &small, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "options->size is 8");
    /* Build and add keep the record; NULL clears it. */
    REQUIRE(knowhere_minhash_lsh_build(index, data, N * K * ES, K, ES, BANDS, true, NULL) ==
            KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_add(index, data, K * ES, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(index, NULL, &version, NULL), KNOWHERE_OK);
    CHECK_EQ(version, KNOWHERE_SIGNATURE_SCHEME_VERSION);
    CHECK_EQ(knowhere_minhash_lsh_set_signature_scheme(index, NULL, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(index, NULL, &version, NULL), KNOWHERE_OK);
    CHECK_EQ(version, 0);
    /* Before any build, any shape is accepted. */
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    other = words;
    other.num_hashes = 128;
    CHECK_EQ(knowhere_minhash_lsh_set_signature_scheme(empty, &other, NULL), KNOWHERE_OK);
    knowhere_minhash_lsh_free(empty);
    knowhere_minhash_lsh_free(index);
    free(data);
}

static void test_saved_and_loaded(void) {
    test_rng rng = {2};
    uint8_t *data = clustered_signatures(&rng, N, K, ES);
    knowhere_minhash_lsh *index = build_index(data, N, K, ES, BANDS, true);
    size_t plain_len = 0, with_len = 0, cleared_len = 0;
    uint8_t *plain = serialize(index, &plain_len);
    knowhere_signature_options chars = scheme_options(KNOWHERE_SHINGLE_CHARS, 5, 42);
    chars.flags = KNOWHERE_SIGNATURE_KEEP_CASE;
    REQUIRE(knowhere_minhash_lsh_set_signature_scheme(index, &chars, NULL) == KNOWHERE_OK);
    uint8_t *with = serialize(index, &with_len);
    /* Flag bit 2, one more section of 32 bytes (a length and a checksum). */
    CHECK_EQ(le32(plain + 12), 1);
    CHECK_EQ(le32(with + 12), 1 | 4);
    CHECK_EQ(le32(with + 60), le32(plain + 60) + 1);
    CHECK_EQ(with_len, plain_len + 32 + 8 + 8);
    REQUIRE(knowhere_minhash_lsh_set_signature_scheme(index, NULL, NULL) == KNOWHERE_OK);
    uint8_t *cleared = serialize(index, &cleared_len);
    CHECK(cleared_len == plain_len && memcmp(cleared, plain, plain_len) == 0);

    /* Loading restores it; loading a file without one clears it. */
    knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
    REQUIRE(knowhere_minhash_lsh_deserialize(loaded, with, with_len, NULL) == KNOWHERE_OK);
    knowhere_signature_options got;
    knowhere_signature_options_init(&got);
    uint32_t version = 0;
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(loaded, &got, &version, NULL), KNOWHERE_OK);
    CHECK(version == KNOWHERE_SIGNATURE_SCHEME_VERSION && got.shingle_kind == KNOWHERE_SHINGLE_CHARS &&
          got.shingle_size == 5 && got.seed == 42 && got.flags == KNOWHERE_SIGNATURE_KEEP_CASE);
    CHECK_EQ(knowhere_minhash_lsh_check_signature_scheme(loaded, &chars, NULL), KNOWHERE_OK);
    knowhere_signature_options words = scheme_options(KNOWHERE_SHINGLE_WORDS, 3, 42);
    EXPECT_ERROR(knowhere_minhash_lsh_check_signature_scheme(loaded, &words, &err),
                 KNOWHERE_ERR_INVALID_ARG, "they would not match");
    /* The loaded index answers like the saved one, and saves the same bytes. */
    size_t again_len = 0;
    uint8_t *again = serialize(loaded, &again_len);
    CHECK(again_len == with_len && memcmp(again, with, with_len) == 0);
    knowhere_buffer_free(again);
    REQUIRE(knowhere_minhash_lsh_deserialize(loaded, plain, plain_len, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(loaded, NULL, &version, NULL), KNOWHERE_OK);
    CHECK_EQ(version, 0);

    /* A scheme that contradicts the header, with valid checksums: CORRUPT. */
    size_t sections = le32(with + 60), header = 64 + 8 * sections;
    size_t scheme_at = with_len - 8 * sections - 8 - 32;
    with[scheme_at + 4] = K + 1; /* num_hashes */
    uint8_t *sums = with + with_len - 8 * sections - 8;
    put64(sums + 8 * (sections - 1), rule_c(with + scheme_at, 32));
    uint8_t *meta = malloc(header + 8 * sections);
    REQUIRE(meta);
    memcpy(meta, with, header);
    memcpy(meta + header, sums, 8 * sections);
    put64(sums + 8 * sections, rule_c(meta, header + 8 * sections));
    EXPECT_ERROR(knowhere_minhash_lsh_deserialize(loaded, with, with_len, &err),
                 KNOWHERE_ERR_CORRUPT, "the signature scheme makes 17 values of 4 bytes");
    with[scheme_at + 4] = K;
    memset(with + scheme_at, 0, 4); /* version 0 */
    put64(sums + 8 * (sections - 1), rule_c(with + scheme_at, 32));
    memcpy(meta + header, sums, 8 * sections);
    put64(sums + 8 * sections, rule_c(meta, header + 8 * sections));
    EXPECT_ERROR(knowhere_minhash_lsh_deserialize(loaded, with, with_len, &err),
                 KNOWHERE_ERR_CORRUPT, "version 0");
    /* The failed loads changed nothing. */
    CHECK_EQ(knowhere_minhash_lsh_signature_scheme(loaded, NULL, &version, NULL), KNOWHERE_OK);
    CHECK_EQ(version, 0);
    free(meta);
    knowhere_buffer_free(plain);
    knowhere_buffer_free(with);
    knowhere_buffer_free(cleared);
    knowhere_minhash_lsh_free(loaded);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_set_get_check);
    RUN(test_saved_and_loaded);
    return CHECK_DONE();
}
