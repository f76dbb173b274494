/* Thresholds: the LSH S-curve and the choice of bands for a similarity
 * threshold.
 *
 * The choice aims at recall: a pair exactly at the threshold must be a
 * candidate with probability >= target (datasketch instead minimises the
 * false-positive plus false-negative areas, which at K = 128, T = 0.8 picks
 * 9 x 13 and finds such a pair 40 % of the time). Among the configurations
 * reaching the target it takes the longest bands (fewest false candidates),
 * then the fewest bands. Only configurations the index can build count: it
 * uses rows = floor(num_hashes / bands), so for each rows value r the bands
 * are those b with floor(K / b) == r, a contiguous range. There are
 * O(sqrt(K)) such ranges; each is checked at its largest b (P grows with b)
 * and the smallest b reaching the target is found by bisection, so the
 * result is exactly what enumerating every b in 1..K would give. */
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

    size_t best_b = 0, best_r = 0;
    double best_p = -1.0;
    /* b_lo .. b_hi: the bands giving rows r = K / b_lo, r descending. */
    for (size_t b_lo = 1; b_lo <= num_hashes;) {
        size_t r = num_hashes / b_lo, b_hi = num_hashes / r;
        double p_hi = knowhere_lsh_candidate_probability(threshold, b_hi, r);
        if (p_hi >= target) {
            size_t lo = b_lo, hi = b_hi; /* smallest b in lo..hi with P >= target */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (knowhere_lsh_candidate_probability(threshold, mid, r) >= target) hi = mid;
                else lo = mid + 1;
            }
            if (bands) *bands = lo;
            if (rows) *rows = r;
            if (probability) *probability = knowhere_lsh_candidate_probability(threshold, lo, r);
            return KNOWHERE_OK;
        }
        if (p_hi > best_p) {
            best_p = p_hi;
            best_b = b_hi;
            best_r = r;
        }
        if (b_hi == num_hashes) break;
        b_lo = b_hi + 1;
    }
    if (bands) *bands = best_b;
    if (rows) *rows = best_r;
    if (probability) *probability = best_p;
    return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                     "no bands x rows within %zu hashes reaches P(candidate | %g) >= %g; "
                     "the best is %zu bands x %zu rows with P = %.4f",
                     num_hashes, threshold, target, best_b, best_r, best_p);
}
