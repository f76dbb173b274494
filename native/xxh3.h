/* XXH3-64 (xxHash 0.8 "XXH3_64bits"), seed 0 and the default secret.
 *
 * Our own implementation, written from the XXH3 description in the xxHash
 * specification (doc/xxhash_spec.md). Internal to the library: not part of
 * the public API, nothing here is exported. The result equals what
 * `xxhsum -H3` prints for the same bytes, on any host (little- or big-endian,
 * any alignment of `input`). */
#ifndef KNOWHERE_XXH3_H
#define KNOWHERE_XXH3_H

#include <stddef.h>
#include <stdint.h>

/* The XXH3 64-bit hash of the `len` bytes at `input` (which may be NULL when
 * len is 0). Pure function: thread-safe, no allocation. */
uint64_t kh_xxh3_64(const void *input, size_t len);

/* out[i] = kh_xxh3_64(inputs[i], lens[i]) for i < n: one call for many
 * short inputs, so the hashes inline into one loop and overlap. */
void kh_xxh3_64_many(const unsigned char *const *inputs, const size_t *lens, size_t n,
                     uint64_t *out);

/* out[i] = kh_xxh3_64(base + i * stride, len) for i < n: the band keys of
 * one signature (stride = len), or one band of many rows (stride = a
 * signature's bytes). */
void kh_xxh3_64_strided(const unsigned char *base, size_t stride, size_t len, size_t n,
                        uint64_t *out);

#endif
