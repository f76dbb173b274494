/* Search options: defaults and checks (the searches read the resolved
 * kh_search_params). */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "search_options.h"

/* A 64-bit count as a size_t: beyond SIZE_MAX means "all", as SIZE_MAX does. */
static size_t clamp_to_size(uint64_t v) {
#if SIZE_MAX < UINT64_MAX
    if (v > SIZE_MAX) return SIZE_MAX;
#endif
    return (size_t)v;
}

void knowhere_search_options_init(knowhere_search_options *options) {
    if (options == NULL) return;
    memset(options, 0, sizeof *options);
    options->size = (uint32_t)sizeof *options;
    options->mode = KNOWHERE_SEARCH_RANKED;
}

int kh_search_params_resolve(const knowhere_search_options *options, const uint8_t *bitset,
                             size_t bitset_bits, kh_search_params *p, knowhere_error **err) {
    knowhere_search_options defaults;
    if (options == NULL) {
        knowhere_search_options_init(&defaults);
        options = &defaults;
    }
    /* The fields of this version; a larger size comes from a newer header
     * whose extra fields this library does not know and ignores. */
    const size_t needed =
        offsetof(knowhere_search_options, filter_user) + sizeof options->filter_user;
    if (options->size < needed)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->size is %u, less than the %zu bytes of this version's "
                         "fields (call knowhere_search_options_init first)",
                         (unsigned)options->size, needed);
    if (options->mode != KNOWHERE_SEARCH_RANKED && options->mode != KNOWHERE_SEARCH_HITS)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->mode is %u; it must be KNOWHERE_SEARCH_RANKED (0) or "
                         "KNOWHERE_SEARCH_HITS (1)",
                         (unsigned)options->mode);
    p->mode = options->mode;
    p->refine_k = clamp_to_size(options->refine_k);
    p->threads = clamp_to_size(options->threads);
    p->filter = kh_filter_bitset(bitset, bitset_bits);
    p->filter.bitset_offset = options->bitset_id_offset;
    p->filter.fn = options->filter;
    p->filter.user = options->filter_user;
    return KNOWHERE_OK;
}
