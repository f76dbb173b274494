/* The inner loop of one-permutation hashing (docs/signatures.md, section
 * 4), with a kernel per SIMD level (oph_hash.c). */
#ifndef KNOWHERE_OPH_HASH_H
#define KNOWHERE_OPH_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* splitmix64's finaliser (Stafford's Mix13): the token mixer, and the
 * generator of the seeds and the densification rounds. */
static inline uint64_t kh_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Takes tokens x[0..n-1] into the bin minima mins[0..k-1], 1 <= k <= 2^32:
 * for each, h = kh_mix64(x ^ k_token), bin = (h * k) >> 64 (the high half
 * of the 128-bit product, so bin < k), mins[bin] = min(mins[bin], h).
 * Returns whether some h was UINT64_MAX (the value that marks an empty
 * bin). */
typedef bool kh_oph_update_fn(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                              uint64_t *mins);

/* The kernel for a level (each gives the same result, bit for bit). */
kh_oph_update_fn *kh_oph_update_kernel(kh_cpu_level level);

#endif
