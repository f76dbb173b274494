/* The band keys of a signature (knowhere_lsh_band_keys): what an index
 * built with the same parameters files it under, for golden tests and for
 * callers that shard by band. */
#include "internal.h"
#include "xxh3.h"

int knowhere_lsh_band_keys(const uint8_t *signature, size_t signature_len, size_t mh_vec_length,
                           size_t element_size, size_t bands, uint64_t *keys, size_t keys_len,
                           knowhere_error **err) {
    kh_clear_error(err);
    if (mh_vec_length == 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "mh_vec_length must be at least 1");
    if (element_size < 1 || element_size > 32)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "element_size %zu is not in 1..32",
                         element_size);
    if (bands == 0) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "bands must be at least 1");
    if (mh_vec_length > SIZE_MAX / element_size || signature_len != mh_vec_length * element_size)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "signature_len %zu is not mh_vec_length * element_size (%zu * %zu)",
                         signature_len, mh_vec_length, element_size);
    if (signature == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "signature is NULL");
    if (bands > mh_vec_length) bands = mh_vec_length; /* as the build clamps */
    if (keys == NULL || keys_len < bands)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "keys has room for %zu keys, %zu bands "
                         "need %zu", keys ? keys_len : 0, bands, bands);
    size_t band_bytes = mh_vec_length / bands * element_size;
    for (size_t b = 0; b < bands; ++b) keys[b] = kh_xxh3_64(signature + b * band_bytes, band_bytes);
    return KNOWHERE_OK;
}
