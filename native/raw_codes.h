/* b-bit codes of the raw data (b-bit MinHash, Li and König 2010): an index
 * may keep, instead of each signature's full values, the low b bits of
 * each value (b = 8 or 16), for candidate verification and ranking at a
 * fraction of the memory. Internal. */
#ifndef KNOWHERE_RAW_CODES_H
#define KNOWHERE_RAW_CODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "minhash_lsh_internal.h"

/* Whether `bits` is a raw form an index can keep: 0 (full values), 8, 16. */
static inline bool kh_raw_bits_valid(uint32_t bits) {
    return bits == 0 || bits == 8 || bits == 16;
}

/* Sets the raw_* sizes of a state whose length, element_size,
 * rows_per_band, signature_bytes and band_bytes are set, for raw form
 * `bits` (valid, and with codes narrower than the values). */
void kh_raw_form_init(kh_lsh_state *s, uint32_t bits);

/* Whether the raw data holds full values (so a raw row can be hashed into
 * band keys, and copied out), as opposed to codes or nothing. */
static inline bool kh_has_full_raw(const kh_lsh_state *s) {
    return s->raw != NULL && s->raw_bits == 0;
}

/* Whether the raw data holds codes. */
static inline bool kh_has_codes(const kh_lsh_state *s) {
    return s->raw != NULL && s->raw_bits != 0;
}

/* `rows` signatures of full values into their raw form at out (rows *
 * raw_row_bytes bytes): a copy with full values, else each value's code,
 * its first raw_value_bytes bytes. Signatures store values little-endian
 * (docs/signatures.md), so those are its low bits: for MinHash values,
 * which are minima of hashes, the low bits are close to uniform while the
 * high bits lean to 0, so no mixing is needed. */
void kh_raw_store(const kh_lsh_state *s, const uint8_t *values, size_t rows, uint8_t *out);

/* The similarity of two signatures with `equal` of `length` codes of
 * `bits` bits equal: the fraction of equal codes corrected for accidental
 * equality, J = (equal / length - 2^-bits) / (1 - 2^-bits), clamped to
 * [0, 1], rounded once to float (all equal gives exactly 1). Two codes of
 * unequal values are equal with probability 2^-bits, so E[equal / length]
 * = J + (1 - J) 2^-bits, and this J is unbiased (before the clamp). */
float kh_code_similarity(uint32_t equal, size_t length, uint32_t bits);

#endif
