/* The LSH S-curve and the choice of bands: the probability against the
 * formula, and knowhere_lsh_choose_bands against a brute-force enumeration
 * of every buildable configuration (bands in 1..K, rows = K / bands), with
 * the failure case and bad arguments. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

static double formula(double s, size_t b, size_t r) {
    return 1.0 - pow(1.0 - pow(s, (double)r), (double)b);
}

static void test_candidate_probability(void) {
    const double s[] = {0.05, 0.3, 0.5, 0.8, 0.9, 0.99};
    const size_t br[][2] = {{1, 1}, {9, 13}, {16, 8}, {20, 6}, {128, 1}, {1, 128}, {3, 40}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; ++i)
        for (size_t j = 0; j < sizeof br / sizeof br[0]; ++j) {
            double got = knowhere_lsh_candidate_probability(s[i], br[j][0], br[j][1]);
            double want = formula(s[i], br[j][0], br[j][1]);
            if (fabs(got - want) > 1e-12) {
                fprintf(stderr, "P(%g, %zu, %zu) = %.15f, want %.15f\n", s[i], br[j][0],
                        br[j][1], got, want);
                check_failures++;
            }
        }
    /* Edges: clamped s, zero bands or rows. */
    CHECK(knowhere_lsh_candidate_probability(1.0, 4, 4) == 1.0);
    CHECK(knowhere_lsh_candidate_probability(1.5, 4, 4) == 1.0);
    CHECK(knowhere_lsh_candidate_probability(0.0, 4, 4) == 0.0);
    CHECK(knowhere_lsh_candidate_probability(-0.5, 4, 4) == 0.0);
    CHECK(knowhere_lsh_candidate_probability(NAN, 4, 4) == 0.0);
    CHECK(knowhere_lsh_candidate_probability(0.9, 0, 4) == 0.0);
    CHECK(knowhere_lsh_candidate_probability(0.9, 4, 0) == 0.0);
    /* Monotone in s and in bands. */
    double last = 0.0;
    for (int i = 1; i <= 100; ++i) {
        double p = knowhere_lsh_candidate_probability(i / 100.0, 16, 8);
        CHECK(p >= last);
        last = p;
    }
    /* Tiny probabilities keep their precision: b * s^r when s^r is small. */
    double tiny = knowhere_lsh_candidate_probability(0.1, 10, 20);
    CHECK(fabs(tiny - 10 * 1e-20) < 1e-30);
}

/* The specification, by enumeration: every bands value 1..K with rows =
 * K / bands (what a build with `bands` uses); among those reaching the
 * target the largest rows, then the fewest bands; if none does, the best
 * probability (ties: the larger rows). */
static bool brute_force(size_t k, double t, double target, size_t *bands, size_t *rows,
                        double *p) {
    size_t found_b = 0, found_r = 0, best_b = 0, best_r = 0;
    double best_p = -1.0;
    for (size_t b = 1; b <= k; ++b) {
        size_t r = k / b;
        double pb = knowhere_lsh_candidate_probability(t, b, r);
        if (pb >= target && (found_b == 0 || r > found_r || (r == found_r && b < found_b))) {
            found_b = b;
            found_r = r;
        }
        if (pb > best_p || (pb == best_p && r > best_r)) {
            best_p = pb;
            best_b = b;
            best_r = r;
        }
    }
    if (found_b) {
        *bands = found_b;
        *rows = found_r;
        *p = knowhere_lsh_candidate_probability(t, found_b, found_r);
        return true;
    }
    *bands = best_b;
    *rows = best_r;
    *p = best_p;
    return false;
}

static void test_choose_bands_matches_enumeration(void) {
    const size_t ks[] = {1, 2, 3, 7, 16, 32, 50, 64, 100, 128, 200, 256, 500, 1000};
    const double ts[] = {0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99};
    const double targets[] = {0.5, 0.8, 0.9, 0.95, 0.99, 0.999};
    size_t cases = 0, failures_expected = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ++ki)
        for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ++ti)
            for (size_t gi = 0; gi < sizeof targets / sizeof targets[0]; ++gi) {
                size_t k = ks[ki], want_b, want_r, b = 77, r = 77;
                double t = ts[ti], target = targets[gi], want_p, p = -1;
                bool ok = brute_force(k, t, target, &want_b, &want_r, &want_p);
                knowhere_error *err = NULL;
                int status = knowhere_lsh_choose_bands(k, t, target, &b, &r, &p, &err);
                cases++;
                failures_expected += !ok;
                if (status != (ok ? KNOWHERE_OK : KNOWHERE_ERR_INVALID_ARG) || b != want_b ||
                    r != want_r || p != want_p) {
                    fprintf(stderr, "K %zu T %g target %g: got %d %zu x %zu P %.6f, want %s %zu x %zu P %.6f\n",
                            k, t, target, status, b, r, p, ok ? "ok" : "fail", want_b, want_r,
                            want_p);
                    check_failures++;
                }
                /* What the caller passes to build gives exactly these rows. */
                CHECK(b >= 1 && r == k / b && b * r <= k);
                if (ok) CHECK(p >= target && err == NULL);
                else CHECK(p < target && err != NULL && knowhere_error_code(err) == KNOWHERE_ERR_INVALID_ARG);
                knowhere_error_free(err);
            }
    /* Every K up to 600 at a few thresholds (the bisection relies on P
     * never shrinking as bands grow; any K where it did would show here). */
    for (size_t k = 1; k <= 600; ++k)
        for (size_t ti = 3; ti < 8; ++ti) {
            size_t want_b, want_r, b = 0, r = 0;
            double want_p, p = -1;
            bool ok = brute_force(k, ts[ti], 0.95, &want_b, &want_r, &want_p);
            int status = knowhere_lsh_choose_bands(k, ts[ti], 0.95, &b, &r, &p, NULL);
            cases++;
            if (status != (ok ? KNOWHERE_OK : KNOWHERE_ERR_INVALID_ARG) || b != want_b ||
                r != want_r || p != want_p) {
                fprintf(stderr, "K %zu T %g: got %zu x %zu, want %zu x %zu\n", k, ts[ti], b, r,
                        want_b, want_r);
                check_failures++;
            }
        }
    printf("  %zu cases, %zu without a configuration reaching the target\n", cases,
           failures_expected);
    CHECK(failures_expected > 0); /* the failure path was exercised */
}

static void test_choose_bands_at_128_and_datasketch(void) {
    size_t b = 0, r = 0;
    double p = 0;
    CHECK_EQ(knowhere_lsh_choose_bands(128, 0.8, 0.95, &b, &r, &p, NULL), KNOWHERE_OK);
    double datasketch = knowhere_lsh_candidate_probability(0.8, 9, 13);
    printf("  K 128, T 0.8, target 0.95: %zu bands x %zu rows, P(T) = %.4f "
           "(datasketch 9 x 13: P(T) = %.4f)\n", b, r, p, datasketch);
    /* 16 x 8 falls just short (0.947); 7 rows need 17 bands, since 13..16
     * bands would give 128 / b = 8..9 rows. */
    CHECK(knowhere_lsh_candidate_probability(0.8, 16, 8) < 0.95);
    CHECK_EQ(b, 17);
    CHECK_EQ(r, 7);
    CHECK_EQ(128 / b, r);
    CHECK(p >= 0.95 && p < 0.99);
    CHECK(fabs(datasketch - 0.40) < 0.01);
    /* All out-pointers may be NULL. */
    CHECK_EQ(knowhere_lsh_choose_bands(128, 0.8, 0.95, NULL, NULL, NULL, NULL), KNOWHERE_OK);
}

static void test_choose_bands_failure_returns_the_best(void) {
    size_t b = 0, r = 0;
    double p = 0;
    knowhere_error *err = NULL;
    /* Four hashes cannot find a pair at T = 0.1 with probability 0.95. */
    CHECK_EQ(knowhere_lsh_choose_bands(4, 0.1, 0.95, &b, &r, &p, &err), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(b, 4);
    CHECK_EQ(r, 1);
    CHECK(fabs(p - (1 - pow(0.9, 4))) < 1e-12);
    CHECK(err && strstr(knowhere_error_message(err), "4 bands x 1 rows") != NULL);
    knowhere_error_free(err);
}

static void watchdog_fired(int sig) {
    (void)sig;
    static const char message[] = "knowhere_lsh_choose_bands did not return within 60 s\n";
    (void)!write(2, message, sizeof message - 1);
    _exit(1);
}

/* Any size_t is a valid num_hashes, and the answer comes at once: the
 * search is a bisection over the bands (P(T | b bands of K / b rows) grows
 * with b), O(log K) probabilities. It used to walk the O(sqrt(K)) distinct
 * rows values: 2^48 took 0.9 s, SIZE_MAX minutes (blocking a Node event
 * loop). Checked against the specification directly: b is the fewest
 * bands reaching the target, so b - 1 bands (with K / (b - 1) rows) fail
 * it. The watchdog is only a fail-safe, far above the microseconds this
 * takes. */
static void test_choose_bands_for_any_num_hashes(void) {
    signal(SIGALRM, watchdog_fired);
    alarm(60);
    const size_t ks[] = {(size_t)1 << 48, ((size_t)1 << 62) + 12345, SIZE_MAX - 1, SIZE_MAX};
    const double ts[] = {0.5, 0.8, 0.99};
    const double targets[] = {0.5, 0.95, 0.999};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ++ki)
        for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ++ti)
            for (size_t gi = 0; gi < sizeof targets / sizeof targets[0]; ++gi) {
                size_t k = ks[ki], b = 0, r = 0;
                double t = ts[ti], target = targets[gi], p = 0;
                knowhere_error *err = NULL;
                CHECK_EQ(knowhere_lsh_choose_bands(k, t, target, &b, &r, &p, &err), KNOWHERE_OK);
                CHECK(err == NULL);
                knowhere_error_free(err);
                CHECK(b >= 1 && r == k / b && p >= target);
                CHECK(p == knowhere_lsh_candidate_probability(t, b, r));
                if (b > 1) CHECK(knowhere_lsh_candidate_probability(t, b - 1, k / (b - 1)) < target);
            }
    /* No configuration reaches the target: the best one, the fewest bands
     * with the highest probability. */
    size_t b = 0, r = 0;
    double p = 0;
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_lsh_choose_bands(SIZE_MAX, 1e-30, 0.5, &b, &r, &p, &err),
             KNOWHERE_ERR_INVALID_ARG);
    CHECK(err != NULL && strstr(knowhere_error_message(err), "the best is") != NULL);
    knowhere_error_free(err);
    double best = knowhere_lsh_candidate_probability(1e-30, SIZE_MAX, 1);
    CHECK(r == 1 && p == best && p < 0.5);
    CHECK(knowhere_lsh_candidate_probability(1e-30, b - 1, SIZE_MAX / (b - 1)) < best);
    alarm(0);
}

static void test_choose_bands_bad_arguments(void) {
    const int INVALID = KNOWHERE_ERR_INVALID_ARG;
    size_t b = 5, r = 5;
    double p = 5;
    EXPECT_ERROR(knowhere_lsh_choose_bands(0, 0.8, 0.95, &b, &r, &p, &err), INVALID, "num_hashes");
    CHECK(b == 0 && r == 0 && p == 0.0);
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, 0.0, 0.95, &b, &r, &p, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, 1.0, 0.95, &b, &r, &p, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, NAN, 0.95, &b, &r, &p, &err), INVALID, "threshold");
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, 0.8, 0.0, &b, &r, &p, &err), INVALID, "target");
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, 0.8, 1.0, &b, &r, &p, &err), INVALID, "target");
    EXPECT_ERROR(knowhere_lsh_choose_bands(128, 0.8, NAN, &b, &r, &p, &err), INVALID, "target");
}

/* The choice really finds pairs at the threshold about `target` of the
 * time: plant pairs agreeing in each position with probability T, build
 * with the chosen bands, and count how often the partner is a candidate. */
static void test_chosen_bands_reach_the_target(void) {
    enum { LENGTH = 128, ES = 4, SIG = LENGTH * ES, PAIRS = 2000 };
    size_t b = 0, r = 0;
    double p = 0;
    REQUIRE(knowhere_lsh_choose_bands(LENGTH, 0.8, 0.95, &b, &r, &p, NULL) == KNOWHERE_OK);
    test_rng rng = {21};
    uint8_t *data = random_signatures(&rng, 2 * PAIRS, SIG);
    REQUIRE(data != NULL);
    for (size_t i = 0; i < PAIRS; ++i)
        mutate_signature(&rng, data + 2 * i * SIG, data + (2 * i + 1) * SIG, LENGTH, ES, 0.8);
    knowhere_minhash_lsh *index = build_index(data, 2 * PAIRS, LENGTH, ES, b, true);
    CHECK_EQ(knowhere_minhash_lsh_rows_per_band(index), r);
    size_t found = 0;
    for (size_t i = 0; i < PAIRS; ++i) {
        int64_t ids[2];
        float d[2];
        REQUIRE(knowhere_minhash_lsh_search(index, data + 2 * i * SIG, SIG, 2, NULL, 0, ids, d,
                                            NULL) == KNOWHERE_OK);
        found += ids[0] == (int64_t)(2 * i + 1) || ids[1] == (int64_t)(2 * i + 1);
    }
    double rate = (double)found / PAIRS, sd = sqrt(p * (1 - p) / PAIRS);
    printf("  planted pairs at J = 0.8 found: %.4f (predicted %.4f)\n", rate, p);
    CHECK(fabs(rate - p) < 5 * sd);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_candidate_probability);
    RUN(test_choose_bands_matches_enumeration);
    RUN(test_choose_bands_at_128_and_datasketch);
    RUN(test_choose_bands_failure_returns_the_best);
    RUN(test_choose_bands_for_any_num_hashes);
    RUN(test_choose_bands_bad_arguments);
    RUN(test_chosen_bands_reach_the_target);
    return CHECK_DONE();
}
