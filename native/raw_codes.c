/* b-bit codes of the raw data: storing and the corrected similarity
 * (raw_codes.h). */
#include <string.h>

#include "raw_codes.h"

void kh_raw_form_init(kh_lsh_state *s, uint32_t bits) {
    s->raw_bits = bits;
    s->raw_value_bytes = bits ? bits / 8 : s->element_size;
    s->raw_row_bytes = s->length * s->raw_value_bytes;
    s->raw_band_bytes = s->rows_per_band * s->raw_value_bytes;
}

/* The codes of one signature: the first `code` bytes of each of its `n`
 * values of `element` bytes. Fixed-size copies for the usual widths, so
 * the compiler turns each into one load and one store. */
static void encode_row(const uint8_t *values, size_t n, size_t element, size_t code,
                       uint8_t *out) {
    if (code == 1) {
        for (size_t i = 0; i < n; ++i) out[i] = values[i * element];
    } else {
        for (size_t i = 0; i < n; ++i) memcpy(out + 2 * i, values + i * element, 2);
    }
}

void kh_raw_store(const kh_lsh_state *s, const uint8_t *values, size_t rows, uint8_t *out) {
    if (s->raw_bits == 0) {
        memcpy(out, values, rows * s->signature_bytes);
        return;
    }
    for (size_t r = 0; r < rows; ++r)
        encode_row(values + r * s->signature_bytes, s->length, s->element_size,
                   s->raw_value_bytes, out + r * s->raw_row_bytes);
}

float kh_code_similarity(uint32_t equal, size_t length, uint32_t bits) {
    if (equal >= length) return 1.0f; /* exactly, whatever the rounding */
    double chance = bits >= 16 ? 1.0 / 65536.0 : 1.0 / 256.0;
    double j = ((double)equal / (double)length - chance) / (1.0 - chance);
    return j <= 0.0 ? 0.0f : (float)j;
}
