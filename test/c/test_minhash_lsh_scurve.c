/* Banding against theory: a pair whose positions agree independently with
 * probability s shares at least one of b bands of r values with probability
 * P(s) = 1 - (1 - s^r)^b. Plant such pairs, count how often the index finds
 * them, and require the rate within a 99.9 % binomial interval of P(s). */
#include <math.h>

#include "check.h"
#include "knowhere_rs.h"
#include "test_data.h"

enum { PAIRS = 4000, K = 4 };
static const double Z_999 = 3.2905; /* two-sided 99.9 % normal quantile */

typedef struct {
    size_t length, element_size, bands;
    double s;
} curve_point;

static double expected_rate(size_t r, size_t b, double s) {
    return 1.0 - pow(1.0 - pow(s, (double)r), (double)b);
}

static void check_point(const curve_point *p, bool raw, uint64_t seed) {
    test_rng rng = {seed};
    size_t sig = p->length * p->element_size;
    uint8_t *bases = random_signatures(&rng, PAIRS, sig);
    uint8_t *partners = malloc(PAIRS * sig);
    REQUIRE(bases && partners);
    for (size_t i = 0; i < PAIRS; ++i)
        mutate_signature(&rng, bases + i * sig, partners + i * sig, p->length,
                         p->element_size, p->s);

    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    REQUIRE(knowhere_minhash_lsh_build(index, bases, PAIRS * sig, p->length, p->element_size,
                                       p->bands, raw, NULL) == KNOWHERE_OK);
    int64_t *ids = malloc(PAIRS * K * sizeof *ids);
    float *d = malloc(PAIRS * K * sizeof *d);
    REQUIRE(ids && d);
    CHECK_EQ(knowhere_minhash_lsh_batch_search(index, partners, PAIRS * sig, PAIRS, K, NULL, 0,
                                               ids, d, NULL),
             KNOWHERE_OK);
    size_t found = 0;
    for (size_t i = 0; i < PAIRS; ++i)
        for (size_t j = 0; j < K; ++j) found += ids[i * K + j] == (int64_t)i;

    size_t r = p->length / p->bands;
    double want = expected_rate(r, p->bands, p->s), got = (double)found / PAIRS;
    double bound = Z_999 * sqrt(want * (1 - want) / PAIRS) + 0.5 / PAIRS;
    printf("  b=%2zu r=%2zu s=%.2f raw=%d: measured %.4f, theory %.4f, bound +-%.4f\n",
           p->bands, r, p->s, raw, got, want, bound);
    CHECK(fabs(got - want) <= bound);
    knowhere_minhash_lsh_free(index);
    free(ids);
    free(d);
    free(bases);
    free(partners);
}

static void test_candidate_rate_follows_the_s_curve(void) {
    const curve_point points[] = {
        {128, 4, 16, 0.50}, {128, 4, 16, 0.60}, {128, 4, 16, 0.70}, {128, 4, 16, 0.85},
        {128, 4, 9, 0.80},  /* datasketch's choice at T = 0.8: r = 14 here */
        {130, 4, 16, 0.75}, /* two trailing values, not banded */
        {120, 8, 20, 0.55}, {64, 2, 32, 0.30}, {32, 1, 8, 0.65}, {100, 16, 10, 0.70},
    };
    for (size_t i = 0; i < sizeof points / sizeof points[0]; ++i)
        check_point(&points[i], i % 2 == 0, 1000 + i);
}

int main(void) {
    RUN(test_candidate_rate_follows_the_s_curve);
    return CHECK_DONE();
}
