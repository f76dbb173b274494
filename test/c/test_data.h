/* Deterministic test data: a splitmix64 generator and signature helpers. */
#ifndef KNOWHERE_TEST_DATA_H
#define KNOWHERE_TEST_DATA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t state;
} test_rng;

static inline uint64_t rng_next(test_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double rng_unit(test_rng *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline void rng_fill(test_rng *r, uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = rng_next(r);
        memcpy(out + i, &v, len - i < 8 ? len - i : 8);
    }
}

/* n random signatures of `sig` bytes. The caller frees. */
static inline uint8_t *random_signatures(test_rng *r, size_t n, size_t sig) {
    uint8_t *data = malloc(n * sig);
    if (data) rng_fill(r, data, n * sig);
    return data;
}

/* Copies `src` to `dst` (length values of es bytes), keeping each value with
 * probability s and replacing it by a different value otherwise. */
static inline void mutate_signature(test_rng *r, const uint8_t *src, uint8_t *dst,
                                    size_t length, size_t es, double s) {
    memcpy(dst, src, length * es);
    for (size_t i = 0; i < length; ++i) {
        if (rng_unit(r) < s) continue;
        uint8_t *v = dst + i * es;
        v[0] ^= (uint8_t)(1 + rng_next(r) % 255); /* never equal to the source */
        for (size_t b = 1; b < es; ++b) v[b] = (uint8_t)rng_next(r);
    }
}

#endif
