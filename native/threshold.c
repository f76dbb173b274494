/* Thresholds: the LSH S-curve and the choice of bands for a similarity
 * threshold.
 *
 * The choice aims at recall: a pair exactly at the threshold must be a
 * candidate with probability >= target (datasketch instead minimises the
 * false-positive plus false-negative areas, which at K = 128, T = 0.8 picks
 * 9 x 13 and finds such a pair 40 % of the time). Among the configurations
 * reaching the target it takes the longest bands (fewest false candidates),
 * then the fewest bands. Only configurations the index can build count: it
 * uses rows = floor(K / bands), so the candidates are b = 1..K with
 * r(b) = K / b. As b grows, r(b) never grows, so P(T | b, r(b)) never
 * shrinks (also as computed: pow, log1p, expm1 and the product are
 * monotone). The configurations reaching the target are therefore the b
 * from some b* up, the longest bands among them are r(b*), and the fewest
 * bands with those rows is b* itself: a bisection finds it with O(log K)
 * probabilities, so any size_t K answers at once. When even b = K (rows of
 * one value) misses the target, the best is the fewest bands reaching
 * P(T | K, 1), found by the same bisection; the result is exactly what
 * enumerating every b in 1..K would give. */
#include <math.h>

#include "internal.h"

double knowhere_lsh_candidate_probability(double s, size_t bands, size_t rows) {
    if (bands == 0 || rows == 0 || !(s > 0.0)) return 0.0; /* NaN counts as 0 */
    if (s >= 1.0) return 1.0;
    double all_rows = pow(s, (double)rows); /* P(one band equal) */
    if (all_rows >= 1.0) return 1.0;
    /* 1 - (1 - p)^b, accurate when p is tiny or b large. */
    return -expm1((double)bands * log1p(-all_rows));
}

/* The smallest b in 1..k with P(t | b bands, k / b rows) >= goal, which b = k
 * reaches (the caller makes sure). */
static size_t fewest_bands_reaching(size_t k, double t, double goal) {
    size_t lo = 1, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (knowhere_lsh_candidate_probability(t, mid, k / mid) >= goal) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

int knowhere_lsh_choose_bands(size_t num_hashes, double threshold, double target,
                              size_t *bands, size_t *rows, double *probability,
                              knowhere_error **err) {
    kh_clear_error(err);
    if (bands) *bands = 0;
    if (rows) *rows = 0;
    if (probability) *probability = 0.0;
    if (num_hashes == 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "num_hashes must be at least 1");
    if (!(threshold > 0.0 && threshold < 1.0))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "threshold %g is not strictly between 0 and 1", threshold);
    if (!(target > 0.0 && target < 1.0))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "target %g is not strictly between 0 and 1", target);

    double best_p = knowhere_lsh_candidate_probability(threshold, num_hashes, 1);
    bool reached = best_p >= target;
    size_t b = fewest_bands_reaching(num_hashes, threshold, reached ? target : best_p);
    size_t r = num_hashes / b;
    double p = knowhere_lsh_candidate_probability(threshold, b, r);
    if (bands) *bands = b;
    if (rows) *rows = r;
    if (probability) *probability = p;
    if (reached) return KNOWHERE_OK;
    return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                     "no bands x rows within %zu hashes reaches P(candidate | %g) >= %g; "
                     "the best is %zu bands x %zu rows with P = %.4f",
                     num_hashes, threshold, target, b, r, p);
}
