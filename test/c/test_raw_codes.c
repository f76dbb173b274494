/* Raw data as b-bit codes (knowhere_minhash_lsh_set_raw_bits): exact
 * answers against a brute-force reference on codes, ranking quality
 * against full raw data with bounds from the binomial model of accidental
 * code equality, the unbiasedness of the corrected estimate, error codes,
 * memory, and save / load of the codes section. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "test_data.h"

/* For re-sealing edited files (the checksums of docs/format.md). */
#include "../../native/xxh3.c"
#include "format_checksum.h"

/* ---- the model ---------------------------------------------------------------- */

/* The similarity of `equal` of `length` codes of `bits` bits, as the header
 * defines it: (m / K - 2^-b) / (1 - 2^-b) clamped to [0, 1], in float. */
static float code_similarity(size_t equal, size_t length, unsigned bits) {
    if (equal >= length) return 1.0f;
    double chance = bits == 16 ? 1.0 / 65536 : 1.0 / 256;
    double j = ((double)equal / (double)length - chance) / (1.0 - chance);
    return j <= 0 ? 0.0f : (float)j;
}

/* The code of value i: its first bits / 8 bytes (its low bits). */
static size_t equal_codes(const uint8_t *a, const uint8_t *b, size_t length, size_t es,
                          unsigned bits) {
    size_t n = 0, c = bits / 8;
    for (size_t i = 0; i < length; ++i) n += memcmp(a + i * es, b + i * es, c) == 0;
    return n;
}

static size_t equal_values(const uint8_t *a, const uint8_t *b, size_t length, size_t es) {
    size_t n = 0;
    for (size_t i = 0; i < length; ++i) n += memcmp(a + i * es, b + i * es, es) == 0;
    return n;
}

/* Whether a and b share some band byte for byte (full values): a band key
 * match, and then their codes match too. A key collision of different
 * bands (2^-32 and less) is left out of the reference. */
static bool share_band(const uint8_t *a, const uint8_t *b, size_t length, size_t es,
                       size_t bands) {
    size_t r = length / bands, w = r * es;
    for (size_t band = 0; band < bands; ++band)
        if (memcmp(a + band * w, b + band * w, w) == 0) return true;
    return false;
}

/* Copies src to dst keeping each value with probability s and replacing it
 * by a fresh random value otherwise: codes of a replaced value equal the
 * original's with probability 2^-b, the model's accidental equality
 * (mutate_signature of test_data.h always changes the first byte, so it
 * would never collide). */
static void plant(test_rng *rng, const uint8_t *src, uint8_t *dst, size_t length, size_t es,
                  double s) {
    memcpy(dst, src, length * es);
    for (size_t i = 0; i < length; ++i)
        if (rng_unit(rng) >= s) rng_fill(rng, dst + i * es, es);
}

static knowhere_minhash_lsh *build(const uint8_t *data, size_t n, size_t length, size_t es,
                                   size_t bands, unsigned bits) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    REQUIRE(knowhere_minhash_lsh_set_raw_bits(index, bits, NULL) == KNOWHERE_OK);
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_build(index, data, n * length * es, length, es, bands,
                                            true, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "  build: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK);
    knowhere_error_free(err);
    return index;
}

/* ---- errors -------------------------------------------------------------------- */

/* `expr` sets err (in scope): its status is taken before err is read. */
#define EXPECT_ERROR(expr, code, part)                                         \
    do {                                                                       \
        int status_ = (expr);                                                  \
        expect_error(status_, err, (code), (part));                            \
        err = NULL;                                                            \
    } while (0)

static void expect_error(int status, knowhere_error *err, int code, const char *part) {
    CHECK_EQ(status, code);
    CHECK_EQ(knowhere_error_code(err), code);
    if (part && strstr(knowhere_error_message(err), part) == NULL) {
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", part, knowhere_error_message(err));
        CHECK(false);
    }
    knowhere_error_free(err);
}

static void test_errors(void) {
    knowhere_error *err = NULL;
    EXPECT_ERROR(knowhere_minhash_lsh_set_raw_bits(NULL, 8, &err),
                 KNOWHERE_ERR_INVALID_ARG, "NULL");
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(NULL), 0);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 0); /* never built */
    const uint32_t bad[] = {1, 4, 7, 9, 12, 24, 32, 64, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i)
        EXPECT_ERROR(knowhere_minhash_lsh_set_raw_bits(index, bad[i], &err),
                     KNOWHERE_ERR_INVALID_ARG, "is not 0 (full values), 8 or 16");

    test_rng rng = {5};
    uint8_t *data = random_signatures(&rng, 50, 16 * 4);
    REQUIRE(data != NULL);
    /* Codes as wide as the values: refused before anything changes. */
    CHECK_EQ(knowhere_minhash_lsh_set_raw_bits(index, 8, &err), KNOWHERE_OK);
    CHECK(err == NULL);
    EXPECT_ERROR(knowhere_minhash_lsh_build(index, data, 50 * 16, 16, 1, 4, true, &err),
                 KNOWHERE_ERR_INVALID_ARG, "mh_vec_element_size is 1");
    CHECK_EQ(knowhere_minhash_lsh_count(index), 0);
    CHECK_EQ(knowhere_minhash_lsh_set_raw_bits(index, 16, NULL), KNOWHERE_OK);
    EXPECT_ERROR(knowhere_minhash_lsh_build(index, data, 50 * 32, 16, 2, 4, true, &err),
                 KNOWHERE_ERR_INVALID_ARG, "raw bits 16");
    CHECK_EQ(knowhere_minhash_lsh_count(index), 0);
    /* Without raw data the setting does not matter. */
    CHECK_EQ(knowhere_minhash_lsh_build(index, data, 50 * 32, 16, 2, 4, false, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 0);
    CHECK(!knowhere_minhash_lsh_has_raw_data(index));
    /* 16-bit codes of 4-byte values. */
    CHECK_EQ(knowhere_minhash_lsh_build(index, data, 50 * 64, 16, 4, 4, true, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 16);
    CHECK(!knowhere_minhash_lsh_has_raw_data(index)); /* not the full values */
    int64_t ids[2] = {0, 1};
    uint8_t out[128];
    EXPECT_ERROR(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 2, out, sizeof out, &err),
                 KNOWHERE_ERR_INVALID_ARG, "16-bit codes");
    /* A refused setting keeps the last one; the contents keep their form. */
    CHECK_EQ(knowhere_minhash_lsh_set_raw_bits(index, 3, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_set_raw_bits(index, 0, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 16);
    /* Adds keep the contents' form, not the setting. */
    CHECK_EQ(knowhere_minhash_lsh_add(index, data, 64, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 16);
    /* The next build takes the setting: full values again. */
    CHECK_EQ(knowhere_minhash_lsh_build(index, data, 50 * 64, 16, 4, 4, true, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 0);
    CHECK(knowhere_minhash_lsh_has_raw_data(index));
    CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(index, ids, 2, out, sizeof out, NULL),
             KNOWHERE_OK);
    CHECK(memcmp(out, data, 128) == 0);
    /* An interrupted build with codes leaves the index as it was. */
    CHECK_EQ(knowhere_minhash_lsh_set_raw_bits(index, 8, NULL), KNOWHERE_OK);
    CInterrupt stop = knowhere_interrupt_create_with_state(true);
    REQUIRE(stop != NULL);
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, 40 * 64, 16, 4, 4, true, stop,
                                                       NULL),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 50);
    CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), 0);
    CHECK(knowhere_minhash_lsh_has_raw_data(index));
    knowhere_interrupt_free(stop);
    free(data);
    knowhere_minhash_lsh_free(index);
}

/* ---- exact answers against a brute-force reference ---------------------------- */

enum { EX_N = 700, EX_LEN = 16, EX_ES = 4, EX_BANDS = 4, EX_HALF = 400 };

/* Rows: random ones, near copies of earlier rows at several similarities,
 * and rows whose values differ from an earlier row's only above the code
 * bits (equal codes, unequal values: codes rank them as identical). */
static uint8_t *exact_data(test_rng *rng, unsigned bits) {
    size_t sig = EX_LEN * EX_ES;
    uint8_t *data = random_signatures(rng, EX_N, sig);
    REQUIRE(data != NULL);
    for (size_t i = 100; i < EX_N; ++i) {
        const uint8_t *src = data + (rng_next(rng) % 100) * sig;
        uint8_t *dst = data + i * sig;
        switch (i % 5) {
        case 0: plant(rng, src, dst, EX_LEN, EX_ES, 0.9); break;
        case 1: plant(rng, src, dst, EX_LEN, EX_ES, 0.7); break;
        case 2: plant(rng, src, dst, EX_LEN, EX_ES, 0.5); break;
        case 3:
            memcpy(dst, src, sig);
            for (size_t v = 4; v < EX_LEN; ++v) /* bands 1.. differ above the codes */
                dst[v * EX_ES + EX_ES - 1] ^= (uint8_t)(1 + rng_next(rng) % 255);
            (void)bits;
            break;
        default:
            if (i % 10 == 9) break; /* random */
            /* Band 0's codes equal but one value not: they share bands 1..
             * only (a join estimate must not take band 0 as shared). */
            memcpy(dst, src, sig);
            dst[EX_ES - 1] ^= (uint8_t)(1 + rng_next(rng) % 255);
            break;
        }
    }
    return data;
}

typedef struct {
    int64_t id;
    size_t score;
} ref_hit;

static int by_score_then_id(const void *pa, const void *pb) {
    const ref_hit *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The reference candidates of a query among rows 0..n-1 (removed: skip). */
static size_t reference(const uint8_t *data, size_t n, const uint8_t *query, unsigned bits,
                        const bool *removed, ref_hit *out) {
    size_t sig = EX_LEN * EX_ES, m = 0;
    for (size_t i = 0; i < n; ++i) {
        if (removed && removed[i]) continue;
        const uint8_t *row = data + i * sig;
        if (!share_band(query, row, EX_LEN, EX_ES, EX_BANDS)) continue;
        out[m++] = (ref_hit){(int64_t)i, equal_codes(query, row, EX_LEN, EX_ES, bits)};
    }
    qsort(out, m, sizeof *out, by_score_then_id);
    return m;
}

/* Range search with threshold t and top-k search give the reference. */
static void check_queries(const knowhere_minhash_lsh *index, const uint8_t *data, size_t n,
                          const bool *removed, unsigned bits, test_rng *rng) {
    enum { NQ = 60, K = 8 };
    size_t sig = EX_LEN * EX_ES;
    uint8_t *queries = malloc(NQ * sig);
    ref_hit *ref = malloc(n * sizeof *ref);
    REQUIRE(queries && ref);
    for (size_t q = 0; q < NQ; ++q) {
        const uint8_t *src = data + (rng_next(rng) % n) * sig;
        if (q % 3 == 0) memcpy(queries + q * sig, src, sig);
        else plant(rng, src, queries + q * sig, EX_LEN, EX_ES, q % 3 == 1 ? 0.8 : 0.5);
    }
    const float t = 0.45f;
    knowhere_range_result *range = NULL;
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(index, queries, NQ * sig, NQ, t,
                                                             NULL, 0, &range, NULL, NULL) ==
            KNOWHERE_OK);
    int64_t ids[NQ * K];
    float dist[NQ * K];
    REQUIRE(knowhere_minhash_lsh_batch_search(index, queries, NQ * sig, NQ, K, NULL, 0, ids,
                                              dist, NULL) == KNOWHERE_OK);
    knowhere_search_options opt;
    knowhere_search_options_init(&opt);
    opt.refine_k = 3 * K; /* scores the first hits: kh_row_score on codes */
    int64_t rids[K];
    float rdist[K];
    const uint64_t *lims = knowhere_range_result_lims(range);
    const int64_t *rid = knowhere_range_result_ids(range);
    const float *rd = knowhere_range_result_distances(range);
    int failures = check_failures;
    for (size_t q = 0; q < NQ && check_failures == failures; ++q) {
        const uint8_t *query = queries + q * sig;
        size_t m = reference(data, n, query, bits, removed, ref);
        /* top k */
        for (size_t j = 0; j < K; ++j) {
            CHECK_EQ(ids[q * K + j], j < m ? ref[j].id : -1);
            if (j < m) CHECK(dist[q * K + j] == code_similarity(ref[j].score, EX_LEN, bits));
        }
        /* range: every reference candidate at or above t, in the same order */
        size_t kept = 0;
        while (kept < m && code_similarity(ref[kept].score, EX_LEN, bits) >= t) kept++;
        CHECK_EQ(lims[q + 1] - lims[q], kept);
        for (size_t j = 0; j < kept && j < lims[q + 1] - lims[q]; ++j) {
            CHECK_EQ(rid[lims[q] + j], ref[j].id);
            CHECK(rd[lims[q] + j] == code_similarity(ref[j].score, EX_LEN, bits));
        }
        /* refine_k: its hits are reference candidates, scored on codes */
        REQUIRE(knowhere_minhash_lsh_search_with_options(index, query, sig, K, NULL, 0, &opt,
                                                         rids, rdist, NULL, NULL) == KNOWHERE_OK);
        for (size_t j = 0; j < K && rids[j] >= 0; ++j) {
            const uint8_t *row = data + (size_t)rids[j] * sig;
            CHECK(share_band(query, row, EX_LEN, EX_ES, EX_BANDS));
            CHECK(rdist[j] ==
                  code_similarity(equal_codes(query, row, EX_LEN, EX_ES, bits), EX_LEN, bits));
        }
        if (check_failures != failures) fprintf(stderr, "  query %zu (%u bits)\n", q, bits);
    }
    knowhere_range_result_free(range);
    free(ref);
    free(queries);
}

/* The self-join gives every reference pair; clustering and the join
 * estimate agree with it. */
static void check_join(const knowhere_minhash_lsh *index, const uint8_t *data, size_t n,
                       const bool *removed, unsigned bits) {
    const float t = 0.5f;
    size_t sig = EX_LEN * EX_ES, expected = 0;
    knowhere_pairs *pairs = NULL;
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(index, t, &pairs, NULL, NULL) ==
            KNOWHERE_OK);
    size_t count = knowhere_pairs_count(pairs), at = 0;
    const int64_t *left = knowhere_pairs_left(pairs), *right = knowhere_pairs_right(pairs);
    const float *sim = knowhere_pairs_similarity(pairs);
    int failures = check_failures;
    for (size_t i = 0; i < n && check_failures == failures; ++i)
        for (size_t j = i + 1; j < n && check_failures == failures; ++j) {
            if (removed && (removed[i] || removed[j])) continue;
            const uint8_t *a = data + i * sig, *b = data + j * sig;
            if (!share_band(a, b, EX_LEN, EX_ES, EX_BANDS)) continue;
            float s = code_similarity(equal_codes(a, b, EX_LEN, EX_ES, bits), EX_LEN, bits);
            if (s < t) continue;
            expected++;
            CHECK(at < count);
            if (at >= count) break;
            CHECK_EQ(left[at], i);
            CHECK_EQ(right[at], j);
            CHECK(sim[at] == s);
            at++;
        }
    CHECK_EQ(count, expected);
    printf("  %u bits: %zu pairs at %.2f\n", bits, count, (double)t);
    uint64_t estimated = 0;
    CHECK_EQ(knowhere_minhash_lsh_self_join_estimate_with_interrupt(index, t, &estimated, NULL,
                                                                    NULL, NULL),
             KNOWHERE_OK);
    CHECK_EQ(estimated, count); /* exact for so few candidates */
    int64_t *from_pairs = malloc(n * sizeof *from_pairs), *direct = malloc(n * sizeof *direct);
    REQUIRE(from_pairs && direct);
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(n, left, right, count, from_pairs, NULL, NULL),
             KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_cluster_with_interrupt(index, t, KNOWHERE_CLUSTER_COMPONENTS,
                                                         direct, NULL, n, NULL, NULL),
             KNOWHERE_OK);
    CHECK(memcmp(from_pairs, direct, n * sizeof *direct) == 0);
    free(from_pairs);
    free(direct);
    knowhere_pairs_free(pairs);
}

static void test_exact_against_reference(void) {
    const unsigned widths[] = {8, 16};
    for (size_t w = 0; w < 2; ++w) {
        unsigned bits = widths[w];
        test_rng rng = {100 + bits};
        uint8_t *data = exact_data(&rng, bits);
        size_t sig = EX_LEN * EX_ES;
        /* Built at once. */
        knowhere_minhash_lsh *index = build(data, EX_N, EX_LEN, EX_ES, EX_BANDS, bits);
        CHECK_EQ(knowhere_minhash_lsh_raw_bits(index), bits);
        check_queries(index, data, EX_N, NULL, bits, &rng);
        check_join(index, data, EX_N, NULL, bits);
        knowhere_minhash_lsh_free(index);
        /* Built from a part, the rest added (in the deltas, and merged). */
        index = build(data, EX_HALF, EX_LEN, EX_ES, EX_BANDS, bits);
        REQUIRE(knowhere_minhash_lsh_add(index, data + EX_HALF * sig, 5 * sig, NULL) ==
                KNOWHERE_OK);
        REQUIRE(knowhere_minhash_lsh_add(index, data + (EX_HALF + 5) * sig,
                                         (EX_N - EX_HALF - 5) * sig, NULL) == KNOWHERE_OK);
        check_queries(index, data, EX_N, NULL, bits, &rng);
        check_join(index, data, EX_N, NULL, bits);
        /* Some removed. */
        bool removed[EX_N] = {false};
        int64_t gone[40];
        for (size_t i = 0; i < 40; ++i) {
            gone[i] = (int64_t)(rng_next(&rng) % EX_N);
            removed[gone[i]] = true;
        }
        REQUIRE(knowhere_minhash_lsh_remove(index, gone, 40, NULL, NULL) == KNOWHERE_OK);
        check_queries(index, data, EX_N, removed, bits, &rng);
        check_join(index, data, EX_N, removed, bits);
        knowhere_minhash_lsh_free(index);
        free(data);
    }
}

/* ---- ranking quality against full raw data ------------------------------------- */

/* Binomial(n, p) probabilities 0..n into pmf. */
static void binomial_pmf(size_t n, double p, double *pmf) {
    double q = 1 - p;
    pmf[0] = pow(q, (double)n);
    for (size_t x = 1; x <= n; ++x) pmf[x] = pmf[x - 1] * (double)(n - x + 1) / (double)x * p / q;
}

/* With m_full of K values equal, the codes agree in m_full + X places, X ~
 * Binomial(K - m_full, 2^-b): the probability that the codes' similarity
 * is below t (a pair at or above t by full values is missed). */
static double miss_probability(size_t m_full, size_t length, unsigned bits, float t) {
    double pmf[257];
    double p = bits == 16 ? 1.0 / 65536 : 1.0 / 256;
    binomial_pmf(length - m_full, p, pmf);
    double miss = 0;
    for (size_t x = 0; x <= length - m_full; ++x)
        if (code_similarity(m_full + x, length, bits) < t) miss += pmf[x];
    return miss;
}

/* The probability that codes order a pair (m_a > m_b equal values) the
 * other way or tie it: m_a + X_a <= m_b + X_b. Ties count as
 * disagreements, so the bound is the strict one. */
static double discord_probability(size_t m_a, size_t m_b, size_t length, unsigned bits) {
    double pa[257], pb[257];
    double p = bits == 16 ? 1.0 / 65536 : 1.0 / 256;
    binomial_pmf(length - m_a, p, pa);
    binomial_pmf(length - m_b, p, pb);
    double d = 0;
    for (size_t xa = 0; xa <= length - m_a; ++xa)
        for (size_t xb = 0; xb <= length - m_b; ++xb)
            if (m_a + xa <= m_b + xb) d += pa[xa] * pb[xb];
    return d;
}

enum { RQ_LEN = 128, RQ_ES = 4, RQ_BANDS = 32, RQ_NQ = 80, RQ_PLANTED = 30, RQ_NOISE = 1000 };

typedef struct {
    int64_t id;
    float full, codes;
    size_t m_full;
} ranked;

static int by_full_desc(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->full != b->full) return a->full > b->full ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int by_codes_desc(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->codes != b->codes) return a->codes > b->codes ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static void ranking_quality(unsigned bits) {
    size_t sig = RQ_LEN * RQ_ES, n = RQ_NQ * RQ_PLANTED + RQ_NOISE;
    test_rng rng = {7000 + bits};
    uint8_t *queries = random_signatures(&rng, RQ_NQ, sig);
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(queries && data);
    /* Each query has RQ_PLANTED rows at similarities spread over 0.2..1. */
    for (size_t q = 0; q < RQ_NQ; ++q)
        for (size_t j = 0; j < RQ_PLANTED; ++j)
            plant(&rng, queries + q * sig, data + (q * RQ_PLANTED + j) * sig, RQ_LEN, RQ_ES,
                  0.2 + 0.8 * rng_unit(&rng));
    knowhere_minhash_lsh *full = build(data, n, RQ_LEN, RQ_ES, RQ_BANDS, 0);
    knowhere_minhash_lsh *codes = build(data, n, RQ_LEN, RQ_ES, RQ_BANDS, bits);
    knowhere_range_result *rf = NULL, *rc = NULL;
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(full, queries, RQ_NQ * sig, RQ_NQ,
                                                             0.0f, NULL, 0, &rf, NULL, NULL) ==
            KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_range_search_with_interrupt(codes, queries, RQ_NQ * sig, RQ_NQ,
                                                             0.0f, NULL, 0, &rc, NULL, NULL) ==
            KNOWHERE_OK);
    const uint64_t *lf = knowhere_range_result_lims(rf), *lc = knowhere_range_result_lims(rc);
    const int64_t *idf = knowhere_range_result_ids(rf), *idc = knowhere_range_result_ids(rc);
    const float *df = knowhere_range_result_distances(rf);
    const float *dc = knowhere_range_result_distances(rc);

    const float thresholds[] = {0.5f, 0.7f, 0.9f};
    double relevant[3] = {0}, found[3] = {0}, miss_mean[3] = {0}, miss_var[3] = {0};
    double false_add[3] = {0};
    double err_sum = 0, err_var = 0, raw_err_sum = 0, discord = 0, discord_mean = 0,
           discord_var = 0, top_overlap = 0, spearman = 0;
    size_t pairs = 0, adjacent = 0, queries_ranked = 0;
    ranked *list = malloc(n * sizeof *list);
    ranked *by_codes = malloc(n * sizeof *by_codes);
    REQUIRE(list && by_codes);
    double chance = bits == 16 ? 1.0 / 65536 : 1.0 / 256;
    for (size_t q = 0; q < RQ_NQ; ++q) {
        /* The same candidates: codes verify a band exactly when the values
         * do, barring a band key collision (2^-32). */
        size_t m = (size_t)(lf[q + 1] - lf[q]);
        CHECK_EQ(lc[q + 1] - lc[q], m);
        for (size_t j = 0; j < m; ++j) {
            int64_t id = idf[lf[q] + j];
            list[j] = (ranked){id, df[lf[q] + j], -1.0f, 0};
            const uint8_t *row = data + (size_t)id * sig, *query = queries + q * sig;
            list[j].m_full = equal_values(query, row, RQ_LEN, RQ_ES);
            CHECK(df[lf[q] + j] == (float)list[j].m_full / RQ_LEN);
            for (size_t k = 0; k < m; ++k)
                if (idc[lc[q] + k] == id) list[j].codes = dc[lc[q] + k];
            CHECK(list[j].codes >= 0.0f); /* found by both */
        }
        for (size_t j = 0; j < m; ++j) {
            const ranked *c = &list[j];
            double f = (double)c->m_full / RQ_LEN;
            /* unbiasedness: E[J_codes] = f, Var = (1 - f) p / (K (1 - p)) */
            err_sum += (double)c->codes - f;
            err_var += (1 - f) * chance / (RQ_LEN * (1 - chance));
            raw_err_sum += (double)c->codes * (1 - chance) + chance - f; /* uncorrected m / K */
            pairs++;
            for (size_t t = 0; t < 3; ++t) {
                bool rel = c->full >= thresholds[t], got = c->codes >= thresholds[t];
                if (rel) {
                    double pm = miss_probability(c->m_full, RQ_LEN, bits, thresholds[t]);
                    relevant[t] += 1;
                    found[t] += got;
                    miss_mean[t] += pm;
                    miss_var[t] += pm * (1 - pm);
                } else {
                    false_add[t] += got;
                }
            }
        }
        if (m < 2) continue;
        /* Rank agreement on disjoint neighbours in the full order (the
         * hardest pairs, and independent of each other): each is
         * discordant with the probability discord_probability gives. */
        qsort(list, m, sizeof *list, by_full_desc);
        for (size_t j = 0; j + 1 < m; j += 2) {
            if (list[j].m_full == list[j + 1].m_full) continue;
            double pd = discord_probability(list[j].m_full, list[j + 1].m_full, RQ_LEN, bits);
            discord += !(list[j].codes > list[j + 1].codes);
            discord_mean += pd;
            discord_var += pd * (1 - pd);
            adjacent++;
        }
        /* Top-10 overlap and Spearman's rho, for the report. */
        memcpy(by_codes, list, m * sizeof *list);
        qsort(by_codes, m, sizeof *by_codes, by_codes_desc);
        size_t top = m < 10 ? m : 10, overlap = 0;
        for (size_t a = 0; a < top; ++a)
            for (size_t b = 0; b < top; ++b) overlap += list[a].id == by_codes[b].id;
        top_overlap += (double)overlap / (double)top;
        double d2 = 0;
        for (size_t a = 0; a < m; ++a)
            for (size_t b = 0; b < m; ++b)
                if (by_codes[b].id == list[a].id) d2 += ((double)a - b) * ((double)a - b);
        spearman += 1 - 6 * d2 / ((double)m * ((double)m * m - 1));
        queries_ranked++;
    }
    printf("  %u bits: %zu candidate pairs of %d queries\n", bits, pairs, RQ_NQ);
    for (size_t t = 0; t < 3; ++t) {
        double misses = relevant[t] - found[t];
        double bound = miss_mean[t] + 4 * sqrt(miss_var[t]) + 1;
        printf("  recall at %.1f: %.4f (%g of %g; misses %g, expected %.2f, bound %.2f; "
               "added below t: %g)\n",
               (double)thresholds[t], found[t] / relevant[t], found[t], relevant[t], misses,
               miss_mean[t], bound, false_add[t]);
        CHECK(relevant[t] > 100);
        CHECK(misses <= bound);
    }
    double discord_bound = discord_mean + 4 * sqrt(discord_var) + 1;
    printf("  neighbour pairs ordered the same: %.4f (%g of %zu discordant, expected %.2f, "
           "bound %.2f); top-10 overlap %.4f; Spearman %.4f\n",
           1 - discord / (double)adjacent, discord, adjacent, discord_mean, discord_bound,
           top_overlap / (double)queries_ranked, spearman / (double)queries_ranked);
    CHECK(adjacent > 500);
    CHECK(discord <= discord_bound);
    /* The correction makes the estimate unbiased (mean error within 4
     * standard errors), where the plain fraction of equal codes is biased
     * by (1 - f) 2^-b, far more than that for 8 bits. */
    double se = sqrt(err_var) / (double)pairs;
    double mean_err = err_sum / (double)pairs, raw_mean_err = raw_err_sum / (double)pairs;
    printf("  mean error of the estimate: %.2e (standard error %.2e); uncorrected %.2e\n",
           mean_err, se, raw_mean_err);
    CHECK(fabs(mean_err) <= 4 * se);
    if (bits == 8) CHECK(raw_mean_err > 4 * se);
    free(list);
    free(by_codes);
    knowhere_range_result_free(rf);
    knowhere_range_result_free(rc);
    knowhere_minhash_lsh_free(full);
    knowhere_minhash_lsh_free(codes);
    free(data);
    free(queries);
}

static void test_ranking_quality_8(void) { ranking_quality(8); }
static void test_ranking_quality_16(void) { ranking_quality(16); }

/* ---- memory -------------------------------------------------------------------------- */

/* Codes take length * b / 8 bytes a row, the values length * element_size. */
static void test_memory(void) {
    enum { N = 20000, LEN = 128, ES = 4 };
    test_rng rng = {77};
    uint8_t *data = random_signatures(&rng, N, LEN * ES);
    REQUIRE(data != NULL);
    size_t bands = 14;
    knowhere_minhash_lsh *none = knowhere_minhash_lsh_create();
    REQUIRE(none != NULL);
    REQUIRE(knowhere_minhash_lsh_build(none, data, (size_t)N * LEN * ES, LEN, ES, bands, false,
                                       NULL) == KNOWHERE_OK);
    knowhere_minhash_lsh *full = build(data, N, LEN, ES, bands, 0);
    knowhere_minhash_lsh *c8 = build(data, N, LEN, ES, bands, 8);
    knowhere_minhash_lsh *c16 = build(data, N, LEN, ES, bands, 16);
    size_t tables = knowhere_minhash_lsh_memory_usage(none);
    size_t raw_full = knowhere_minhash_lsh_memory_usage(full) - tables;
    size_t raw8 = knowhere_minhash_lsh_memory_usage(c8) - tables;
    size_t raw16 = knowhere_minhash_lsh_memory_usage(c16) - tables;
    printf("  %d rows, %zu bands: tables %.1f B/row; raw full %.1f, 16-bit %.1f, 8-bit %.1f "
           "B/row; total with 8-bit codes %.1f B/row\n",
           N, bands, (double)tables / N, (double)raw_full / N, (double)raw16 / N,
           (double)raw8 / N, (double)knowhere_minhash_lsh_memory_usage(c8) / N);
    /* The raw part is the rows' bytes plus one segment record. */
    CHECK(raw_full >= (size_t)N * LEN * ES && raw_full < (size_t)N * LEN * ES + 256);
    CHECK(raw16 >= (size_t)N * LEN * 2 && raw16 < (size_t)N * LEN * 2 + 256);
    CHECK(raw8 >= (size_t)N * LEN && raw8 < (size_t)N * LEN + 256);
    /* 14 bands of 9 rows: at most 256 B per signature, tables included. */
    CHECK(knowhere_minhash_lsh_memory_usage(c8) <= (size_t)256 * N);
    knowhere_minhash_lsh_free(none);
    knowhere_minhash_lsh_free(full);
    knowhere_minhash_lsh_free(c8);
    knowhere_minhash_lsh_free(c16);
    free(data);
}

/* ---- save and load ------------------------------------------------------------------- */

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}


/* Where section i starts, and the trailer. */
static size_t section_offset(const uint8_t *buf, size_t i) {
    size_t sections = buf[60] | (size_t)buf[61] << 8, off = 64 + 8 * sections;
    for (size_t k = 0; k < i; ++k) off += (size_t)le64(buf + 64 + 8 * k);
    return off;
}

/* Recomputes every checksum after an edit (docs/format.md). */
static void reseal(uint8_t *buf) {
    size_t sections = buf[60] | (size_t)buf[61] << 8, header = 64 + 8 * sections;
    size_t trailer = section_offset(buf, sections);
    for (size_t i = 0; i < sections; ++i)
        put64(buf + trailer + 8 * i,
              chunked_checksum(buf + section_offset(buf, i), (size_t)le64(buf + 64 + 8 * i)));
    uint8_t *meta = malloc(header + 8 * sections);
    REQUIRE(meta != NULL);
    memcpy(meta, buf, header);
    memcpy(meta + header, buf + trailer, 8 * sections);
    put64(buf + trailer + 8 * sections, chunked_checksum(meta, header + 8 * sections));
    free(meta);
}

static void expect_corrupt(knowhere_minhash_lsh *index, const uint8_t *buf, size_t len,
                           const char *part) {
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_deserialize(index, buf, len, &err);
    CHECK_EQ(status, KNOWHERE_ERR_CORRUPT);
    if (part && strstr(knowhere_error_message(err), part) == NULL) {
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", part, knowhere_error_message(err));
        CHECK(false);
    }
    knowhere_error_free(err);
}

static void test_save_load(void) {
    enum { N = 300, LEN = 12, ES = 4, BANDS = 3 };
    size_t sig = LEN * ES;
    const unsigned widths[] = {8, 16};
    for (size_t w = 0; w < 2; ++w) {
        unsigned bits = widths[w];
        test_rng rng = {900 + bits};
        uint8_t *data = random_signatures(&rng, N, sig);
        REQUIRE(data != NULL);
        for (size_t i = 150; i < N; ++i)
            plant(&rng, data + (i - 150) * sig, data + i * sig, LEN, ES, 0.7);
        knowhere_minhash_lsh *index = build(data, 200, LEN, ES, BANDS, bits);
        REQUIRE(knowhere_minhash_lsh_add(index, data + 200 * sig, (N - 200) * sig, NULL) ==
                KNOWHERE_OK); /* two raw segments, rows in the deltas */
        int64_t gone[2] = {3, 250};
        REQUIRE(knowhere_minhash_lsh_remove(index, gone, 2, NULL, NULL) == KNOWHERE_OK);
        uint8_t *buf = NULL;
        size_t len = 0;
        REQUIRE(knowhere_minhash_lsh_serialize(index, &buf, &len, NULL) == KNOWHERE_OK);
        /* flags: codes of this width, removed rows; no full raw data */
        CHECK_EQ(buf[12], (bits == 8 ? 0x10 : 0x20) | 0x2);
        size_t sections = buf[60];
        CHECK_EQ(sections, 2 * BANDS + 2);
        CHECK_EQ(le64(buf + 64 + 8 * (2 * BANDS)), (uint64_t)N * LEN * bits / 8);
        /* The codes section holds each value's low bytes, in id order. */
        const uint8_t *codes = buf + section_offset(buf, 2 * BANDS);
        int failures = check_failures;
        for (size_t i = 0; i < N && check_failures == failures; ++i)
            for (size_t v = 0; v < LEN; ++v)
                CHECK(memcmp(codes + (i * LEN + v) * (bits / 8), data + i * sig + v * ES,
                             bits / 8) == 0);

        /* Round trip, byte for byte; the same answers. */
        knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
        REQUIRE(loaded != NULL);
        CHECK_EQ(knowhere_minhash_lsh_deserialize(loaded, buf, len, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_raw_bits(loaded), bits);
        CHECK(!knowhere_minhash_lsh_has_raw_data(loaded));
        CHECK_EQ(knowhere_minhash_lsh_count(loaded), N);
        CHECK_EQ(knowhere_minhash_lsh_removed_count(loaded), 2);
        uint8_t *again = NULL;
        size_t again_len = 0;
        REQUIRE(knowhere_minhash_lsh_serialize(loaded, &again, &again_len, NULL) == KNOWHERE_OK);
        CHECK_EQ(again_len, len);
        CHECK(again_len == len && memcmp(again, buf, len) == 0);
        enum { K = 6 };
        int64_t ia[N * K], ib[N * K];
        float da[N * K], db[N * K];
        CHECK_EQ(knowhere_minhash_lsh_batch_search(index, data, N * sig, N, K, NULL, 0, ia, da,
                                                   NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_batch_search(loaded, data, N * sig, N, K, NULL, 0, ib, db,
                                                   NULL), KNOWHERE_OK);
        CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(da, db, sizeof da) == 0);
        /* A loaded index takes adds as codes too. */
        CHECK_EQ(knowhere_minhash_lsh_add(loaded, data, sig, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_search(loaded, data, sig, 2, NULL, 0, ia, da, NULL),
                 KNOWHERE_OK);
        CHECK(ia[0] == 0 && ia[1] == N && da[0] == 1.0f && da[1] == 1.0f);

        /* Damage: a flipped byte of the codes, every truncation of the tail. */
        uint8_t *copy = malloc(len + 1);
        REQUIRE(copy != NULL);
        size_t at = section_offset(buf, 2 * BANDS);
        memcpy(copy, buf, len);
        copy[at + 5] ^= 1;
        expect_corrupt(loaded, copy, len, "checksum mismatch in section 'raw codes'");
        for (size_t cut = at; cut < len; cut += 7) expect_corrupt(loaded, buf, cut, "truncated");
        /* Sealed edits that only the structural checks can catch. */
        memcpy(copy, buf, len);
        copy[12] |= 0x01; /* full values as well as codes */
        reseal(copy);
        expect_corrupt(loaded, copy, len, "more than one form");
        memcpy(copy, buf, len);
        copy[12] |= 0x30; /* both code widths */
        reseal(copy);
        expect_corrupt(loaded, copy, len, "more than one form");
        memcpy(copy, buf, len);
        copy[12] ^= 0x30; /* the other width: the section length no longer fits */
        reseal(copy);
        expect_corrupt(loaded, copy, len, "section 'raw codes' is");
        memcpy(copy, buf, len);
        put64(copy + 32, bits / 8); /* element size: codes as wide as the values */
        reseal(copy);
        expect_corrupt(loaded, copy, len, bits == 8 ? "8-bit codes of 1-byte values"
                                                    : "16-bit codes of 2-byte values");
        /* Unchanged by every refusal. */
        CHECK_EQ(knowhere_minhash_lsh_count(loaded), N + 1);
        CHECK_EQ(knowhere_minhash_lsh_raw_bits(loaded), bits);
        /* A file saved with full values still loads as such. */
        knowhere_minhash_lsh *plain = build(data, N, LEN, ES, BANDS, 0);
        uint8_t *pbuf = NULL;
        size_t plen = 0;
        REQUIRE(knowhere_minhash_lsh_serialize(plain, &pbuf, &plen, NULL) == KNOWHERE_OK);
        CHECK_EQ(pbuf[12], 0x1);
        CHECK_EQ(knowhere_minhash_lsh_deserialize(loaded, pbuf, plen, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_raw_bits(loaded), 0);
        CHECK(knowhere_minhash_lsh_has_raw_data(loaded));
        knowhere_buffer_free(pbuf);
        knowhere_minhash_lsh_free(plain);
        free(copy);
        knowhere_buffer_free(again);
        knowhere_buffer_free(buf);
        knowhere_minhash_lsh_free(loaded);
        knowhere_minhash_lsh_free(index);
        free(data);
    }
}

int main(void) {
    RUN(test_errors);
    RUN(test_exact_against_reference);
    RUN(test_ranking_quality_8);
    RUN(test_ranking_quality_16);
    RUN(test_memory);
    RUN(test_save_load);
    return CHECK_DONE();
}
